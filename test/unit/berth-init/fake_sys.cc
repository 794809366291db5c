// A fake of berth-init's system calls (helper/sys.h) for unit tests: a tiny file
// tree (every path a directory unless a node was made there), fds that name paths,
// and a log of every call that changes something, one line each, on stdout.
#include <errno.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/sysmacros.h>

#include <map>
#include <string>

#include "berth-init/sys.h"

namespace {

std::map<int, std::string> fds;  // fake fd -> the path it names
std::map<std::string, struct stat> nodes;  // what mknodat and O_CREAT made
int next_fd = 1000;
std::string cwd = "/";

void log(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
}

// "/proc/self/fd/N" and fds back to the paths they name.
std::string path_of(int dir, const char* path) {
  std::string p = path ? path : "";
  if (p.rfind("/proc/self/fd/", 0) == 0) {
    auto it = fds.find(atoi(p.c_str() + 14));
    if (it != fds.end()) return it->second;
  }
  if (dir == AT_FDCWD && p == ".") return cwd;
  if (dir == AT_FDCWD || dir < 0) return p.empty() || p[0] == '/' ? p : (cwd == "/" ? "" : cwd) + "/" + p;
  std::string base = fds.count(dir) ? fds[dir] : "?";
  if (p.empty()) return base;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return p[0] == '/' ? (p == "/" ? (base.empty() ? "/" : base) : base + p) : base + "/" + p;
}

int new_fd(const std::string& path) {
  fds[next_fd] = path;
  return next_fd++;
}

int stat_path(const std::string& p, struct stat* st) {
  memset(st, 0, sizeof *st);
  auto it = nodes.find(p);
  if (it != nodes.end()) *st = it->second;
  else st->st_mode = S_IFDIR | 0755;
  return 0;
}

const char* s(const char* v) { return v ? v : "-"; }

const Sys fake = {
    [](const char* p, int, mode_t) { return new_fd(path_of(AT_FDCWD, p)); },
    [](int d, const char* p, int f, mode_t m) {
      std::string path = path_of(d, p);
      if ((f & O_CREAT) && !nodes.count(path)) {
        struct stat st = {};
        st.st_mode = S_IFREG | m;
        nodes[path] = st;
        log("create %s", path.c_str());
      }
      return new_fd(path);
    },
    [](int d, const char* p, const struct open_how*, size_t) { return new_fd(path_of(d, p)); },
    [](int fd, struct stat* st) { return stat_path(path_of(fd, ""), st); },
    [](int d, const char* p, struct stat* st, int) {
      std::string path = path_of(d, p);
      if (!nodes.count(path)) return errno = ENOENT, -1;
      return stat_path(path, st);
    },
    [](const char* p, struct stat* st) { return stat_path(path_of(AT_FDCWD, p), st); },
    [](int d, const char* p, mode_t m) { return log("mkdir %s %o", path_of(d, p).c_str(), m), 0; },
    [](int d, const char* p, mode_t m, dev_t dev) {
      struct stat st = {};
      st.st_mode = m;
      st.st_rdev = dev;
      nodes[path_of(d, p)] = st;
      log("mknod %s %o %u:%u", path_of(d, p).c_str(), m, major(dev), minor(dev));
      return 0;
    },
    [](const char* t, int d, const char* p) { return log("symlink %s -> %s", path_of(d, p).c_str(), t), 0; },
    [](int, const char*, char*, size_t) { return errno = EINVAL, (ssize_t)-1; },
    [](int d, const char* p, uid_t u, gid_t g, int) { return log("chown %s %u:%u", path_of(d, p).c_str(), u, g), 0; },
    [](const char* p, mode_t m) { return log("chmod %s %o", path_of(AT_FDCWD, p).c_str(), m), 0; },
    [](int fd) { return cwd = path_of(fd, ""), log("fchdir %s", cwd.c_str()), 0; },
    [](const char* p) { return cwd = path_of(AT_FDCWD, p), log("chdir %s", p), 0; },
    [](char* b, size_t n) { return (long)snprintf(b, n, "%s", cwd.c_str()) + 1; },
    [](const char* src, const char* tgt, const char* type, unsigned long f, const void* data) {
      return log("mount %s %s %s 0x%lx %s", s(src), path_of(AT_FDCWD, tgt).c_str(), s(type), f, s((const char*)data)), 0;
    },
    [](const char* t, int f) { return log("umount %s 0x%x", path_of(AT_FDCWD, t).c_str(), f), 0; },
    [](int d, const char* p, unsigned f) {
      std::string path = path_of(d, p);
      log("open_tree %s%s", path.c_str(), (f & AT_RECURSIVE) ? " recursive" : "");
      return new_fd("tree:" + path);
    },
    [](int fd, const char*, int to, const char*, unsigned) {
      return log("move_mount %s -> %s", path_of(fd, "").c_str(), path_of(to, "").c_str()), 0;
    },
    [](int d, const char* p, unsigned f, struct mount_attr* a, size_t) {
      return log("mount_setattr %s set=0x%llx clr=0x%llx%s", path_of(d, p).c_str(), (unsigned long long)a->attr_set,
                 (unsigned long long)a->attr_clr, (f & AT_RECURSIVE) ? " recursive" : ""), 0;
    },
    [](const char* type, unsigned) { return new_fd(std::string("fs:") + type); },
    [](int, unsigned, const char*, const void*, int) { return 0; },
    [](int fs, unsigned, unsigned attrs) { return log("fsmount %s 0x%x", path_of(fs, "").c_str(), attrs), new_fd(path_of(fs, "")); },
    [](const char* n, const char* o) { return log("pivot_root %s %s", n, o), 0; },
    [](const char* p) { return log("chroot %s", p), 0; },
    [](int r, const struct rlimit* l) { return log("setrlimit %d %llu %llu", r, (unsigned long long)l->rlim_cur, (unsigned long long)l->rlim_max), 0; },
    [](unsigned long p) { return log("personality 0x%lx", p), 0; },
    [](int op, unsigned long a, unsigned long, unsigned long, unsigned long) {
      if (op == PR_CAP_AMBIENT) log("prctl CAP_AMBIENT %lu", a);
      else if (op == PR_CAPBSET_DROP) log("prctl CAPBSET_DROP %lu", a);
      else if (op == PR_SET_KEEPCAPS) log("prctl SET_KEEPCAPS %lu", a);
      else if (op == PR_SET_NO_NEW_PRIVS) log("prctl SET_NO_NEW_PRIVS %lu", a);
      else if (op == PR_SET_DUMPABLE) log("prctl SET_DUMPABLE %lu", a);
      else log("prctl %d %lu", op, a);
      return 0;
    },
    [](size_t n, const gid_t* g) {
      std::string l = "setgroups";
      for (size_t i = 0; i < n; i++) l += " " + std::to_string(g[i]);
      return log("%s", l.c_str()), 0;
    },
    [](uid_t r, uid_t e, uid_t s) { return log("setresuid %u %u %u", r, e, s), 0; },
    [](gid_t r, gid_t e, gid_t s) { return log("setresgid %u %u %u", r, e, s), 0; },
    [](uint64_t e, uint64_t p, uint64_t i) {
      return log("capset 0x%llx 0x%llx 0x%llx", (unsigned long long)e, (unsigned long long)p, (unsigned long long)i), 0;
    },
    [](mode_t m) { return log("umask %o", m), (mode_t)022; },
};

}  // namespace

void use_fake_sys() { sys = &fake; }
