// The cgroup v2 device filter: a BPF_PROG_TYPE_CGROUP_DEVICE program (its
// instructions built in src/cgroups/devices-bpf.ts) loaded and attached to a
// cgroup, replacing whatever device programs were attached there before (update
// replaces, never stacks).
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <napi.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "napi/errors.h"

namespace {

long Bpf(int cmd, union bpf_attr* attr) { return syscall(SYS_bpf, cmd, attr, sizeof(*attr)); }

struct Fd {
  int fd = -1;
  ~Fd() { if (fd >= 0) close(fd); }
};

// attachDeviceFilter(cgroupDir, insns: Buffer): number of programs replaced.
Napi::Value AttachDeviceFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = info[0].As<Napi::String>().Utf8Value();
  Napi::Buffer<uint8_t> insns = info[1].As<Napi::Buffer<uint8_t>>();
  Fd cg;
  cg.fd = open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (cg.fd < 0) return ThrowErrno(env, "open " + dir, errno);

  static char log[4096];
  log[0] = 0;
  union bpf_attr load;
  memset(&load, 0, sizeof(load));
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = reinterpret_cast<uint64_t>(insns.Data());
  load.insn_cnt = insns.Length() / sizeof(struct bpf_insn);
  load.license = reinterpret_cast<uint64_t>("Apache-2.0");
  load.log_buf = reinterpret_cast<uint64_t>(log);
  load.log_size = sizeof(log);
  load.log_level = 1;
  Fd prog;
  prog.fd = Bpf(BPF_PROG_LOAD, &load);
  if (prog.fd < 0) {
    int err = errno;
    // the verifier's log only when it has something to say
    std::string what = "bpf(BPF_PROG_LOAD)";
    if (log[0]) what += std::string(" [verifier: ") + std::string(log).substr(0, 300) + "]";
    return ThrowErrno(env, what, err);
  }

  // The programs attached now, to detach once the new one is in place.
  uint32_t ids[64];
  union bpf_attr q;
  memset(&q, 0, sizeof(q));
  q.query.target_fd = cg.fd;
  q.query.attach_type = BPF_CGROUP_DEVICE;
  q.query.prog_ids = reinterpret_cast<uint64_t>(ids);
  q.query.prog_cnt = 64;
  uint32_t old = 0;
  if (Bpf(BPF_PROG_QUERY, &q) == 0) old = q.query.prog_cnt;

  union bpf_attr at;
  memset(&at, 0, sizeof(at));
  at.target_fd = cg.fd;
  at.attach_bpf_fd = prog.fd;
  at.attach_type = BPF_CGROUP_DEVICE;
  at.attach_flags = BPF_F_ALLOW_MULTI;
  if (Bpf(BPF_PROG_ATTACH, &at) < 0) return ThrowErrno(env, "bpf(BPF_PROG_ATTACH) to " + dir, errno);

  uint32_t replaced = 0;
  for (uint32_t i = 0; i < old && i < 64; i++) {
    union bpf_attr g;
    memset(&g, 0, sizeof(g));
    g.prog_id = ids[i];
    Fd o;
    o.fd = Bpf(BPF_PROG_GET_FD_BY_ID, &g);
    if (o.fd < 0) continue;
    union bpf_attr d;
    memset(&d, 0, sizeof(d));
    d.target_fd = cg.fd;
    d.attach_bpf_fd = o.fd;
    d.attach_type = BPF_CGROUP_DEVICE;
    if (Bpf(BPF_PROG_DETACH, &d) < 0) return ThrowErrno(env, "bpf(BPF_PROG_DETACH) of an older device filter on " + dir, errno);
    replaced++;
  }
  return Napi::Number::New(env, replaced);
}

}  // namespace

void RegisterBpf(Napi::Env env, Napi::Object exports) {
  exports.Set("attachDeviceFilter", Napi::Function::New(env, AttachDeviceFilter));
}
