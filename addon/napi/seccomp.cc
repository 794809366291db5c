// Seccomp for the N-API module: the filter is compiled here, in the CLI process,
// with libseccomp (linked statically: the addon needs no libseccomp at run time),
// and exported as a raw BPF program that the plan carries to berth-init. What to
// compile (actions, rule splitting, validation) is decided in src/seccomp/; this
// file only drives libseccomp. Also: probing the kernel's filter flags, taking a
// file descriptor from another process (pidfd_getfd), and sending fds over a unix
// socket (the seccomp notify listener).
#include <errno.h>
#include <linux/seccomp.h>
#include <napi.h>

#include <seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/scm_rights.h"
#include "napi/errors.h"
#include "napi/unix.h"

namespace {

struct Ctx {
  scmp_filter_ctx c;
  explicit Ctx(uint32_t def) : c(seccomp_init(def)) {}
  ~Ctx() {
    if (c) seccomp_release(c);
  }
};

// The -ENOSYS stub, as runc puts it before libseccomp's filter: on each of the
// filter's architectures (the native one always), a syscall number above the
// largest one the profile names returns ENOSYS instead of the default action, so
// a program on a kernel newer than the profile sees "not implemented" for calls
// the profile could not know, and falls back (glibc does, e.g. clone3 -> clone).
// Layout (all conditional jumps short; each section ends in its own returns):
//   ld [arch]; jeq A1 -> S1; jeq A2 -> S2; ...; ja FILTER
//   S: ld [nr]; (x86_64: jset X32_BIT -> x32 part) jgt MAX, 1, 0; ja FILTER; ret ENOSYS
//   FILTER: libseccomp's program (it loads the arch again).
struct Insn {
  uint16_t code;
  uint8_t jt, jf;
  uint32_t k;
};
static_assert(sizeof(Insn) == 8, "struct sock_filter");
constexpr uint16_t LD_W_ABS = 0x20, JMP_JA = 0x05, JEQ_K = 0x15, JGT_K = 0x25, JSET_K = 0x45, RET_K = 0x06;
constexpr uint32_t X32_BIT = 0x40000000, RET_ENOSYS = 0x00050000 | ENOSYS;

struct ArchMax {
  uint32_t audit;    // what seccomp_data.arch says
  int64_t max = -1;  // largest syscall number (non-x32 calls)
  int64_t max32 = -1;  // x86_64 only: largest x32 number (X32_BIT set)
};

std::vector<Insn> EnosysStub(const std::vector<uint32_t>& arches, const std::vector<std::string>& names) {
  std::vector<ArchMax> as;
  auto slot = [&](uint32_t audit) -> ArchMax& {
    for (auto& a : as)
      if (a.audit == audit) return a;
    as.push_back(ArchMax{audit});
    return as.back();
  };
  for (uint32_t arch : arches) {
    int64_t m = -1;
    for (const auto& n : names) m = std::max<int64_t>(m, seccomp_syscall_resolve_name_arch(arch, n.c_str()));
    if (m <= 0) continue;  // no syscall of the profile on this arch: no stub (runc)
    if (arch == SCMP_ARCH_X32) slot(SCMP_ARCH_X86_64).max32 = m;
    else slot(arch).max = std::max(slot(arch).max, m);
  }
  std::vector<std::vector<Insn>> sections;
  for (const auto& a : as) {
    std::vector<Insn> sec = {{LD_W_ABS, 0, 0, 0}};
    auto check = [&](int64_t max) {
      if (max < 0) {
        sec.push_back({JMP_JA, 0, 0, 0});  // to FILTER (patched below)
        return;
      }
      sec.push_back({JGT_K, 1, 0, (uint32_t)max});
      sec.push_back({JMP_JA, 0, 0, 0});
      sec.push_back({RET_K, 0, 0, RET_ENOSYS});
    };
    if (a.audit == SCMP_ARCH_X86_64) {
      size_t at = sec.size();
      sec.push_back({JSET_K, 0, 0, X32_BIT});
      check(a.max);
      sec[at].jt = (uint8_t)(sec.size() - at - 1);
      check(a.max32);
    } else {
      check(a.max);
    }
    sections.push_back(sec);
  }
  if (sections.empty()) return {};
  std::vector<Insn> out = {{LD_W_ABS, 0, 0, 4}};
  size_t heads = as.size() + 1;  // the jeq's and the ja
  size_t off = 0;                // offset of each section from the end of the heads
  for (size_t i = 0; i < as.size(); i++) {
    size_t jump = heads - 1 - i + off;  // from the instruction after this jeq to the section
    if (jump > 255) return {};           // cannot happen with the arches libseccomp knows
    out.push_back({JEQ_K, (uint8_t)jump, 0, as[i].audit});
    off += sections[i].size();
  }
  out.push_back({JMP_JA, 0, 0, (uint32_t)off});
  for (auto& sec : sections) out.insert(out.end(), sec.begin(), sec.end());
  // Every ja with k 0 inside the sections goes to the end of the stub (FILTER).
  for (size_t i = heads + 1; i < out.size(); i++)
    if (out[i].code == JMP_JA) out[i].k = (uint32_t)(out.size() - i - 1);
  return out;
}

uint64_t U64(const Napi::Value& v) {
  if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  return (uint64_t)v.As<Napi::Number>().Int64Value();
}

// seccompCompile({defaultAction, arches, optimize, rules: [{names, action, conds:
// [[index, op, a, b], ...]}]}) -> {bpf: Buffer, skipped: string[]}
// Actions and ops are libseccomp's numbers; arches are libseccomp's names ("x86_64").
// A name this libseccomp does not know is skipped (as runc does) and reported back.
Napi::Value Compile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object d = info[0].As<Napi::Object>();
  Ctx ctx(d.Get("defaultAction").As<Napi::Number>().Uint32Value());
  if (!ctx.c) return ThrowErrno(env, "invalid default action", 0);
  int rc;
  Napi::Array arches = d.Get("arches").As<Napi::Array>();
  std::vector<uint32_t> archIds = {seccomp_arch_native()};
  for (uint32_t i = 0; i < arches.Length(); i++) {
    std::string name = arches.Get(i).As<Napi::String>();
    uint32_t arch = seccomp_arch_resolve_name(name.c_str());
    if (arch == 0) return ThrowErrno(env, "architecture " + name + " is not known to libseccomp " +
                                         std::to_string(seccomp_version()->major) + "." +
                                         std::to_string(seccomp_version()->minor), 0);
    rc = seccomp_arch_add(ctx.c, arch);
    if (rc < 0 && rc != -EEXIST) return ThrowErrno(env, "adding architecture " + name, -rc);
    if (arch != archIds[0]) archIds.push_back(arch);
  }
  // berth-init sets no_new_privs itself, as the config asks.
  seccomp_attr_set(ctx.c, SCMP_FLTATR_CTL_NNP, 0);
  if (d.Get("optimize").ToBoolean()) seccomp_attr_set(ctx.c, SCMP_FLTATR_CTL_OPTIMIZE, 2);

  Napi::Array skipped = Napi::Array::New(env);
  uint32_t nskipped = 0;
  Napi::Array rules = d.Get("rules").As<Napi::Array>();
  std::vector<scmp_arg_cmp> conds;
  for (uint32_t i = 0; i < rules.Length(); i++) {
    Napi::Object r = rules.Get(i).As<Napi::Object>();
    uint32_t action = r.Get("action").As<Napi::Number>().Uint32Value();
    Napi::Array cs = r.Get("conds").As<Napi::Array>();
    conds.clear();
    for (uint32_t k = 0; k < cs.Length(); k++) {
      Napi::Array c = cs.Get(k).As<Napi::Array>();
      conds.push_back(scmp_arg_cmp{c.Get(0u).As<Napi::Number>().Uint32Value(),
                                   (scmp_compare)c.Get(1u).As<Napi::Number>().Uint32Value(), U64(c.Get(2u)),
                                   U64(c.Get(3u))});
    }
    Napi::Array names = r.Get("names").As<Napi::Array>();
    for (uint32_t k = 0; k < names.Length(); k++) {
      std::string name = names.Get(k).As<Napi::String>();
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        skipped.Set(nskipped++, name);
        continue;
      }
      rc = seccomp_rule_add_array(ctx.c, action, nr, (unsigned)conds.size(), conds.data());
      if (rc < 0) return ThrowErrno(env, "adding the rule for " + name, -rc);
    }
  }

  std::vector<Insn> stub;
  if (d.Has("enosysNames")) {
    Napi::Array ns = d.Get("enosysNames").As<Napi::Array>();
    std::vector<std::string> names;
    for (uint32_t i = 0; i < ns.Length(); i++) names.push_back(ns.Get(i).As<Napi::String>());
    if (!names.empty()) stub = EnosysStub(archIds, names);
  }

  int fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
  if (fd < 0) return ThrowErrno(env, "memfd_create", errno);
  rc = seccomp_export_bpf(ctx.c, fd);
  struct stat st;
  if (rc == 0 && fstat(fd, &st) < 0) rc = -errno;
  Napi::Buffer<uint8_t> out;
  if (rc == 0) {
    size_t pre = stub.size() * sizeof(Insn);
    out = Napi::Buffer<uint8_t>::New(env, pre + (size_t)st.st_size);
    if (pre) memcpy(out.Data(), stub.data(), pre);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
      ssize_t n = pread(fd, out.Data() + pre + got, (size_t)st.st_size - got, (off_t)got);
      if (n <= 0) {
        rc = n < 0 ? -errno : -EIO;
        break;
      }
      got += (size_t)n;
    }
  }
  close(fd);
  if (rc < 0) return ThrowErrno(env, "exporting the filter", -rc);
  Napi::Object res = Napi::Object::New(env);
  res.Set("bpf", out);
  res.Set("skipped", skipped);
  return res;
}

// seccompFlagSupported(flags): whether seccomp(SECCOMP_SET_MODE_FILTER) takes these
// filter flags. The kernel checks flags before it reads the program, so a NULL
// program answers EFAULT for known flags and EINVAL for unknown ones.
Napi::Value FlagSupported(const Napi::CallbackInfo& info) {
  unsigned flags = info[0].As<Napi::Number>().Uint32Value();
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, nullptr);
  return Napi::Boolean::New(info.Env(), rc < 0 && errno == EFAULT);
}

// seccompVersion(): "major.minor.micro" of the linked libseccomp.
Napi::Value Version(const Napi::CallbackInfo& info) {
  const scmp_version* v = seccomp_version();
  return Napi::String::New(info.Env(), std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                                           std::to_string(v->micro));
}

// seccompResolve(name): the native number of a syscall, or -1 when libseccomp
// does not know it (negative pseudo-numbers for multiplexed calls).
Napi::Value Resolve(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>();
  return Napi::Number::New(info.Env(), seccomp_syscall_resolve_name(name.c_str()));
}

// pidfdGetfd(pidfd, fd): a copy of another process's fd (close-on-exec).
Napi::Value PidfdGetfd(const Napi::CallbackInfo& info) {
  int fd = (int)syscall(SYS_pidfd_getfd, info[0].As<Napi::Number>().Int32Value(),
                        info[1].As<Napi::Number>().Int32Value(), 0);
  if (fd < 0) return ThrowErrno(info.Env(), "pidfd_getfd", errno);
  return Napi::Number::New(info.Env(), fd);
}

// sendFds(path, data, fds): connects to the unix stream socket at path, sends data
// with the fds (SCM_RIGHTS) attached to its first sendmsg, and closes the connection.
// A number instead of a path is a connected socket of the caller's, left open.
Napi::Value SendFds(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool connected = info[0].IsNumber();
  std::string path = connected ? "socket" : info[0].As<Napi::String>().Utf8Value();
  Napi::Buffer<uint8_t> data = info[1].As<Napi::Buffer<uint8_t>>();
  Napi::Array fdArr = info[2].As<Napi::Array>();
  std::vector<int> fds;
  for (uint32_t i = 0; i < fdArr.Length(); i++) fds.push_back(fdArr.Get(i).As<Napi::Number>().Int32Value());
  int s = connected ? info[0].As<Napi::Number>().Int32Value() : connect_unix(path);
  if (s < 0) return ThrowErrno(env, "connect " + path, -s);
  size_t off = 0;
  bool first = true;
  while (off < data.Length() || first) {
    // The fds go with the first part; the rest of the data follows alone.
    ssize_t n = send_fds(s, data.Data() + off, data.Length() - off, fds.data(), first ? fds.size() : 0);
    if (n < 0) {
      int e = errno;
      if (!connected) close(s);
      return ThrowErrno(env, "sendmsg " + path, e);
    }
    off += (size_t)n;
    first = false;
  }
  if (!connected) close(s);
  return env.Undefined();
}

// seccompCacheName(key): the file name of a compiled filter's cache entry, 64-bit
// FNV-1a of key in hex. Here, not in JS: an interpreted loop over a profile's
// description takes milliseconds, and node:crypto longer to load. The entry holds
// key itself, compared before use, so the name needs no strength.
Napi::Value CacheName(const Napi::CallbackInfo& info) {
  Napi::Buffer<uint8_t> key = info[0].As<Napi::Buffer<uint8_t>>();
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < key.Length(); i++) h = (h ^ key.Data()[i]) * 0x100000001b3ULL;
  char hex[17];
  snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
  return Napi::String::New(info.Env(), hex);
}

}  // namespace

void RegisterSeccomp(Napi::Env env, Napi::Object exports) {
  exports.Set("seccompCompile", Napi::Function::New(env, Compile));
  exports.Set("seccompFlagSupported", Napi::Function::New(env, FlagSupported));
  exports.Set("seccompVersion", Napi::Function::New(env, Version));
  exports.Set("seccompCacheName", Napi::Function::New(env, CacheName));
  exports.Set("seccompResolve", Napi::Function::New(env, Resolve));
  exports.Set("pidfdGetfd", Napi::Function::New(env, PidfdGetfd));
  exports.Set("sendFds", Napi::Function::New(env, SendFds));
}
