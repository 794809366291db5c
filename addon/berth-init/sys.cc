#include "berth-init/sys.h"

#include <grp.h>
#include <linux/capability.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static int capset_all(uint64_t eff, uint64_t perm, uint64_t inh) {
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2] = {
      {(uint32_t)eff, (uint32_t)perm, (uint32_t)inh},
      {(uint32_t)(eff >> 32), (uint32_t)(perm >> 32), (uint32_t)(inh >> 32)},
  };
  return (int)syscall(SYS_capset, &h, d);
}

static const Sys kernel = {
    [](const char* p, int f, mode_t m) { return ::open(p, f, m); },
    [](int d, const char* p, int f, mode_t m) { return ::openat(d, p, f, m); },
    [](int d, const char* p, const struct open_how* h, size_t n) { return (int)syscall(SYS_openat2, d, p, h, n); },
    ::fstat,
    ::fstatat,
    ::stat,
    ::mkdirat,
    ::mknodat,
    ::symlinkat,
    ::readlinkat,
    ::fchownat,
    ::chmod,
    ::fchdir,
    ::chdir,
    [](char* b, size_t n) { return syscall(SYS_getcwd, b, n); },
    ::mount,
    ::umount2,
    ::open_tree,
    ::move_mount,
    ::mount_setattr,
    ::fsopen,
    ::fsconfig,
    ::fsmount,
    [](const char* n, const char* o) { return (int)syscall(SYS_pivot_root, n, o); },
    ::chroot,
    [](int r, const struct rlimit* l) { return ::setrlimit((__rlimit_resource_t)r, l); },
    [](unsigned long p) { return ::personality(p); },
    [](int op, unsigned long a, unsigned long b, unsigned long c, unsigned long d) { return ::prctl(op, a, b, c, d); },
    ::setgroups,
    ::setresuid,
    ::setresgid,
    capset_all,
    ::umask,
};

const Sys* sys = &kernel;
