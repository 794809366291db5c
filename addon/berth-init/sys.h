// The system calls of berth-init's steps (rootfs, mounts, devices, limits,
// identity, capabilities), through one table, so that the steps can run against
// a fake that records the calls (test/unit/berth-init/fake_sys.cc, driven by test/unit/berth-init.test.ts)
// as well as against the kernel (sys.cc). Named as the calls they stand for.
#pragma once
#include <fcntl.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

struct open_how;

struct Sys {
  // files and paths
  int (*open)(const char* path, int flags, mode_t mode);
  int (*openat)(int dir, const char* path, int flags, mode_t mode);
  int (*openat2)(int dir, const char* path, const struct open_how* how, size_t size);
  int (*fstat)(int fd, struct stat* st);
  int (*fstatat)(int dir, const char* path, struct stat* st, int flags);
  int (*stat)(const char* path, struct stat* st);
  int (*mkdirat)(int dir, const char* path, mode_t mode);
  int (*mknodat)(int dir, const char* path, mode_t mode, dev_t dev);
  int (*symlinkat)(const char* target, int dir, const char* path);
  ssize_t (*readlinkat)(int dir, const char* path, char* buf, size_t size);
  int (*fchownat)(int dir, const char* path, uid_t uid, gid_t gid, int flags);
  int (*chmod)(const char* path, mode_t mode);
  int (*fchdir)(int fd);
  int (*chdir)(const char* path);
  long (*getcwd)(char* buf, size_t size);  // the raw syscall: a length, or -1
  // mounts
  int (*mount)(const char* source, const char* target, const char* fstype, unsigned long flags, const void* data);
  int (*umount2)(const char* target, int flags);
  int (*open_tree)(int dir, const char* path, unsigned flags);
  int (*move_mount)(int from_dir, const char* from, int to_dir, const char* to, unsigned flags);
  int (*mount_setattr)(int dir, const char* path, unsigned flags, struct mount_attr* attr, size_t size);
  int (*fsopen)(const char* fstype, unsigned flags);
  int (*fsconfig)(int fs, unsigned cmd, const char* key, const void* value, int aux);
  int (*fsmount)(int fs, unsigned flags, unsigned attrs);
  int (*pivot_root)(const char* new_root, const char* put_old);
  int (*chroot)(const char* path);
  // process
  int (*setrlimit)(int resource, const struct rlimit* lim);
  int (*personality)(unsigned long persona);
  int (*prctl)(int op, unsigned long a, unsigned long b, unsigned long c, unsigned long d);
  int (*setgroups)(size_t n, const gid_t* groups);
  int (*setresuid)(uid_t r, uid_t e, uid_t s);
  int (*setresgid)(gid_t r, gid_t e, gid_t s);
  int (*capset)(uint64_t effective, uint64_t permitted, uint64_t inheritable);
  mode_t (*umask)(mode_t mask);
};

// The kernel's (sys.cc), unless a test put its fake here.
extern const Sys* sys;
