// The container's filesystem: rootfs, mounts in config order, pivot_root, then the
// masked and read-only paths and sysctls. Every target inside the rootfs is reached
// through an fd resolved with RESOLVE_IN_ROOT; bind mounts use the new mount API
// (open_tree, mount_setattr, move_mount) so flags are set before the mount is
// visible and no path is looked up twice.
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "berth-init/berth_init.h"
#include "berth-init/sys.h"

static int g_root = -1;
static const char* g_rootfs = "";
static uint64_t g_readonly, g_prop, g_nopivot;
static const char* g_cgroup2_dir = "";  // the container's cgroup2 directory (host path), if it has one

int rootfs_fd() { return g_root; }

static uint64_t attrs_of(uint64_t flags) {
  uint64_t a = 0;
  if (flags & MS_RDONLY) a |= MOUNT_ATTR_RDONLY;
  if (flags & MS_NOSUID) a |= MOUNT_ATTR_NOSUID;
  if (flags & MS_NODEV) a |= MOUNT_ATTR_NODEV;
  if (flags & MS_NOEXEC) a |= MOUNT_ATTR_NOEXEC;
  if (flags & MS_NODIRATIME) a |= MOUNT_ATTR_NODIRATIME;
  if (flags & MS_NOATIME) a |= MOUNT_ATTR_NOATIME;
  else if (flags & MS_STRICTATIME) a |= MOUNT_ATTR_STRICTATIME;
  else if (flags & MS_RELATIME) a |= MOUNT_ATTR_RELATIME;
#ifdef MS_NOSYMFOLLOW
  if (flags & MS_NOSYMFOLLOW) a |= MOUNT_ATTR_NOSYMFOLLOW;
#endif
  return a;
}

// Attaches a detached mount (from open_tree or fsmount) on the target fd.
static int attach(int tree, int target) {
  return sys->move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

static int set_attrs(int tree, uint64_t set, bool recursive) {
  if (!set) return 0;
  struct mount_attr a = {};
  a.attr_set = set;
  if (set & MOUNT_ATTR__ATIME) a.attr_clr = MOUNT_ATTR__ATIME;
  return sys->mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof a);
}

// Flags apply to the top mount, as mount(8) does even for rbind; rec_set and
// rec_clr (config's rro, rnosuid, ...) to every mount of the tree.
static void bind_mount(const char* source, const char* dest, uint64_t flags, const char* field,
                       uint64_t rec_set = 0, uint64_t rec_clr = 0) {
  // With a user namespace the source was opened with berth's credentials; an
  // id-mapped one comes cloned and mapped (sources.cc).
  bool cloned;
  int src = take_bind_source(source, &cloned);
  struct stat st;
  if ((src >= 0 ? sys->fstat(src, &st) : sys->stat(source, &st)) < 0) fail("checking the bind mount source", field, errno, source);
  int tgt = open_in_root(g_root, dest, O_PATH, true, !S_ISDIR(st.st_mode));
  if (tgt < 0) fail("creating the mount destination", field, -tgt, dest);
  int how = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | ((flags & MS_REC) ? AT_RECURSIVE : 0);
  int tree = cloned ? src : src >= 0 ? sys->open_tree(src, "", how | AT_EMPTY_PATH) : sys->open_tree(AT_FDCWD, source, how);
  if (tree < 0) fail("bind-mounting", field, errno, source);
  if (src >= 0 && !cloned) close(src);
  if (set_attrs(tree, attrs_of(flags), false) < 0) fail("setting bind mount options", field, errno, dest);
  if (rec_set || rec_clr) {
    struct mount_attr a = {};
    a.attr_set = attrs_of(rec_set);
    a.attr_clr = attrs_of(rec_clr) | ((a.attr_set & MOUNT_ATTR__ATIME) ? MOUNT_ATTR__ATIME : 0);
    if (sys->mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0)
      fail("setting recursive bind mount options", field, errno, dest);
  }
  if (attach(tree, tgt) < 0) fail("bind-mounting", field, errno, dest);
  close(tree), close(tgt);
}

// Reads a whole (small, /proc) file into buf; false when it cannot.
static bool read_small(const char* path, char* buf, size_t size) {
  int fd = sys->open(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return false;
  size_t n = 0;
  for (;;) {
    ssize_t r = read(fd, buf + n, size - 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
    if (n == size - 1) break;
  }
  close(fd);
  buf[n] = 0;
  return n > 0 && n < size - 1;
}

// Undoes mountinfo's octal escapes (\040 for a space) in place.
static void unescape(char* s) {
  char* o = s;
  for (char* p = s; *p; p++) {
    if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
      *o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
      p += 3;
    } else {
      *o++ = *p;
    }
  }
  *o = 0;
}

// Calls fn(root, mountpoint, fstype) for each line of /proc/self/mountinfo, in its
// order (unescaped; the strings live until the next call). False when unreadable.
template <typename Fn>
static bool each_mount(Fn fn) {
  static char buf[1 << 20];
  if (!read_small("/proc/self/mountinfo", buf, sizeof buf)) return false;
  for (char* line = buf; *line;) {
    char* end = strchrnul(line, '\n');
    bool last = !*end;
    *end = 0;
    // id parent major:minor root mountpoint options [optional...] - fstype source super
    char* f[5];
    char* p = line;
    int n = 0;
    for (; n < 5 && p; n++) {
      f[n] = p;
      p = strchr(p, ' ');
      if (p) *p++ = 0;
    }
    char* sep = p ? strstr(p, " - ") : nullptr;  // p: options [optional fields]
    if (n == 5 && sep) {
      char* type = sep + 3;
      *strchrnul(type, ' ') = 0;
      unescape(f[3]);
      unescape(f[4]);
      fn(f[3], f[4], type);
    }
    line = last ? end : end + 1;
  }
  return true;
}

// procfs and sysfs go on a directory of the rootfs, never through a symlink (runc:
// "must be mounted on ordinary directory"). The fd returned is the one checked.
static int open_proc_sys_target(const char* dest, const char* fstype, const char* field) {
  int tgt = open_in_root(g_root, dest, O_PATH | O_NOFOLLOW, false, false);
  if (tgt == -ENOENT) {
    tgt = open_in_root(g_root, dest, O_PATH, true, false);
    if (tgt >= 0) close(tgt), tgt = open_in_root(g_root, dest, O_PATH | O_NOFOLLOW, false, false);
  }
  if (tgt < 0) fail("creating the mount destination", field, -tgt, dest);
  struct stat st;
  if (sys->fstat(tgt, &st) < 0 || !S_ISDIR(st.st_mode)) {
    char what[64];
    snprintf(what, sizeof what, "mounting %s", fstype);
    fail(what, field, ENOTDIR, "it must be mounted on an ordinary directory, not a symlink or file");
  }
  return tgt;
}

static void fs_mount(const char* source, const char* dest, const char* fstype, uint64_t flags,
                     const char* data, const char* field) {
  bool proc_sys = strcmp(fstype, "proc") == 0 || strcmp(fstype, "sysfs") == 0;
  int tgt = proc_sys ? open_proc_sys_target(dest, fstype, field) : open_in_root(g_root, dest, O_PATH, true, false);
  if (tgt < 0) fail("creating the mount destination", field, -tgt, dest);
  if (sys->mount(source, fd_path(tgt), fstype, flags, *data ? data : nullptr) < 0) {
    int e = errno;
    // sysfs cannot be mounted in a user namespace that does not own the network
    // namespace; a read-only recursive bind of the host's /sys is what runc does.
    if (e == EPERM && strcmp(fstype, "sysfs") == 0) {
      close(tgt);
      const uint64_t ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
      return bind_mount("/sys", dest, MS_BIND | MS_REC | ro, field, ro, 0);
    }
    // As runc: in a user namespace a fresh cgroup2 can be refused, EPERM without
    // a cgroup namespace of its own, EBUSY on top of the host's cgroup2 mount (a
    // rootless config's /sys is the host's, bound). The container's own cgroup2
    // directory is bound instead, or, without one, the host's hierarchy.
    if ((e == EPERM || e == EBUSY) && strcmp(fstype, "cgroup2") == 0) {
      static char host[4096];
      const char* src = g_cgroup2_dir;
      if (!*src) {
        each_mount([&](const char*, const char* point, const char* type) {
          if (!*host && strcmp(type, "cgroup2") == 0 && strlen(point) < sizeof host) strcpy(host, point);
        });
        src = host;
      }
      if (*src) {
        close(tgt);
        return bind_mount(src, dest, MS_BIND | MS_REC | (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)), field);
      }
    }
    char what[256];
    snprintf(what, sizeof what, "mounting %s (%s) at %s", source, fstype, dest);
    fail(what, field, e, data);
  }
  close(tgt);
}

static void remount(const char* dest, uint64_t flags, const char* data, const char* field) {
  int tgt = open_in_root(g_root, dest, O_PATH, false, false);
  if (tgt < 0) fail("remounting", field, -tgt, dest);
  if (sys->mount(nullptr, fd_path(tgt), nullptr, MS_REMOUNT | flags, *data ? data : nullptr) < 0)
    fail("remounting", field, errno, dest);
  close(tgt);
}

static void set_propagation(const char* dest, uint64_t prop, const char* field) {
  int tgt = open_in_root(g_root, dest, O_PATH, false, false);
  if (tgt < 0 || sys->mount(nullptr, fd_path(tgt), nullptr, prop, nullptr) < 0)
    fail("setting mount propagation", field, tgt < 0 ? -tgt : errno, dest);
  close(tgt);
}

// Sets the propagation of the mount that holds the directory fd (closed here): up
// from it to the mount's root, where mount() stops saying EINVAL. 0 or errno.
static int set_holding_mount(int fd, unsigned long prop) {
  for (;;) {
    if (fd < 0) return errno;
    if (sys->mount(nullptr, fd_path(fd), nullptr, prop, nullptr) == 0) break;
    int e = errno;
    int up = e == EINVAL ? sys->openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC, 0) : -1;
    struct stat here, there;
    if (up >= 0 && sys->fstat(fd, &here) == 0 && sys->fstat(up, &there) == 0 && here.st_dev == there.st_dev && here.st_ino == there.st_ino)
      close(up), up = -1;  // at / and still no mount root
    close(fd);
    if (up < 0) return e;
    fd = up;
  }
  close(fd);
  return 0;
}

void setup_rootfs(const plan::Plan& p) {
  if (!p.rootfs) fail("reading the plan", "root", EINVAL, "no rootfs");
  g_rootfs = p.rootfs->path;
  g_readonly = p.rootfs->readonly;
  g_prop = p.rootfs->propagation;
  g_nopivot = p.rootfs->no_pivot;
  if (p.cgroup2) g_cgroup2_dir = p.cgroup2->path;

  // The namespace gets the rootfs propagation asked for, rslave by default (runc's
  // prepareRoot): then nothing mounted from here on reaches the host, and with
  // rshared the volumes stay peers of the host's mounts. Unbindable waits until the
  // rootfs is / (finish_rootfs): it would forbid binding the rootfs and volumes.
  uint64_t ns_prop = (g_prop & (MS_SHARED | MS_SLAVE | MS_PRIVATE)) ? g_prop : MS_SLAVE | MS_REC;
  if (sys->mount(nullptr, "/", nullptr, ns_prop, nullptr) < 0)
    fail("setting the mount namespace's propagation", "linux.rootfsPropagation", errno);
  // The mount that holds the rootfs must not be shared: pivot_root refuses that, and
  // the rootfs's bind onto itself would propagate to the host. Only that mount is
  // changed (runc's rootfsParentMountPropagation).
  if (int e = set_holding_mount(sys->open(g_rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC, 0), (g_prop & MS_SLAVE) ? MS_SLAVE : MS_PRIVATE))
    fail("setting the propagation of the mount that holds the rootfs", "root.path", e, g_rootfs);
  // pivot_root needs the rootfs to be a mount point of its own.
  if (sys->mount(g_rootfs, g_rootfs, nullptr, MS_BIND | MS_REC, nullptr) < 0)
    fail("bind-mounting the rootfs", "root.path", errno, g_rootfs);
  g_root = sys->open(g_rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  if (g_root < 0) fail("opening the rootfs", "root.path", errno, g_rootfs);

  for (const plan::Mount& m : p.mounts) {
    if (m.extra & plan::MOUNT_REMOUNT) remount(m.destination, m.flags, m.data, m.field);
    else if (m.extra & plan::MOUNT_BIND) bind_mount(m.source, m.destination, m.flags, m.field, m.recursive_set, m.recursive_clear);
    else fs_mount(m.source, m.destination, m.fstype, m.flags, m.data, m.field);
    if (m.propagation) set_propagation(m.destination, m.propagation, m.field);
  }
}

// With --no-pivot the host's mounts stay in the namespace, below the chroot. A
// procfs or sysfs mounted whole among them would let the container mount a fresh,
// unmasked one (the kernel allows that while one is fully visible in the
// namespace): each outside the rootfs is detached, or covered where it cannot be
// (a user namespace's locked mounts), as runc's msMoveRoot does.
static void hide_host_proc_sys() {
  char rootfs[4096];
  ssize_t n = readlink(fd_path(g_root), rootfs, sizeof rootfs - 1);  // as mountinfo names it
  if (n < 0) fail("finding the rootfs", "root.path", errno);
  if (n == 1) n = 0;  // "/": every mount is inside
  rootfs[n] = 0;
  const char* found[256];
  size_t count = 0;
  bool too_many = false;
  bool listed = each_mount([&](const char* root, const char* point, const char* type) {
    bool inside = strncmp(point, rootfs, (size_t)n) == 0 && (point[n] == 0 || point[n] == '/');
    if (strcmp(root, "/") != 0 || (strcmp(type, "proc") != 0 && strcmp(type, "sysfs") != 0) || inside) return;
    if (count < sizeof found / sizeof *found) found[count++] = point;
    else too_many = true;
  });
  if (!listed || too_many) fail("listing the host's mounts", "--no-pivot", listed ? E2BIG : errno);
  // An unmount propagates to the peers of the mount's parent: each mount and its
  // parent become slaves first (all before any is gone: this needs /proc), so
  // nothing reaches the host.
  for (size_t i = 0; i < count; i++) {
    int fd = sys->open(found[i], O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    int e = fd < 0 ? errno : set_holding_mount(sys->openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC, 0), MS_SLAVE);
    if (fd >= 0) close(fd);
    if (e || sys->mount(nullptr, found[i], nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
      fail("detaching the host's proc and sys mounts", "--no-pivot", e ? e : errno, found[i]);
  }
  for (size_t i = 0; i < count; i++) {
    if (sys->umount2(found[i], MNT_DETACH) == 0) continue;
    // ENOENT: it was below one detached before.
    if (errno == ENOENT) continue;
    if ((errno != EINVAL && errno != EPERM) ||
        sys->mount("tmpfs", found[i], "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0)
      fail("covering the host's proc and sys mounts", "--no-pivot", errno, found[i]);
  }
}

void enter_rootfs(const plan::Plan&) {
  if (sys->fchdir(g_root) < 0) fail("entering the rootfs", "root.path", errno);
  if (g_nopivot) {
    // Moved onto a shared /, the rootfs would propagate to its peers: over the
    // host's / when rootfsPropagation is rshared.
    if (sys->mount(nullptr, "/", nullptr, MS_SLAVE, nullptr) < 0) fail("making / a slave", "linux.rootfsPropagation", errno);
    hide_host_proc_sys();
    if (sys->mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) fail("moving the rootfs to /", "root.path", errno);
    if (sys->chroot(".") < 0) fail("chroot into the rootfs", "root.path", errno);
  } else {
    // pivot_root(".", ".") stacks the old root on top of the new one, and "." stays
    // the new root: the old one is reached through an fd of it, made a slave (so its
    // unmount cannot reach the host) and detached, which leaves the rootfs.
    int old_root = sys->open("/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    if (old_root < 0) fail("opening the old root", "root.path", errno);
    if (sys->pivot_root(".", ".") < 0) fail("pivot_root", "root.path", errno);
    if (sys->fchdir(old_root) < 0) fail("entering the old root", "root.path", errno);
    if (sys->mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) fail("making the old root a slave", "root.path", errno);
    if (sys->umount2(".", MNT_DETACH) < 0) fail("detaching the old root", "root.path", errno);
    close(old_root);
  }
  if (sys->chdir("/") < 0) fail("entering the rootfs", "root.path", errno);
  close(g_root);
  g_root = sys->open("/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  if (g_root < 0) fail("opening the new root", "root.path", errno);
}

// Sysctls are written through a /proc that is verified to be procfs, so a rootfs
// that put something else at /proc cannot turn the write elsewhere.
static void write_sysctls(const plan::Plan& p) {
  if (p.sysctls.empty()) return;
  int proc = open_in_root(g_root, "/proc/sys", O_PATH | O_DIRECTORY, false, false);
  struct statfs sf;
  if (proc < 0 || fstatfs(proc, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
    fail("opening /proc/sys for sysctls", "linux.sysctl", proc < 0 ? -proc : EXDEV, "/proc is not procfs");
  for (const plan::Sysctl& s : p.sysctls) {
    const char *key = s.path, *value = s.value, *field = s.field;
    int fd = open_in_root(proc, key, O_WRONLY, false, false);
    if (fd < 0) fail("writing sysctl", field, -fd, key);
    if (write_all(fd, value, strlen(value)) < 0) fail("writing sysctl", field, errno, key);
    close(fd);
  }
  close(proc);
}

static void mask_path(const char* path) {
  int tgt = open_in_root(g_root, path, O_PATH | O_NOFOLLOW, false, false);
  if (tgt < 0) {
    if (tgt == -ENOENT) return;
    fail("masking path", "linux.maskedPaths", -tgt, path);
  }
  struct stat st;
  sys->fstat(tgt, &st);
  if (S_ISDIR(st.st_mode)) {
    int fs = sys->fsopen("tmpfs", FSOPEN_CLOEXEC);
    if (fs < 0 || sys->fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
      fail("masking path", "linux.maskedPaths", errno, path);
    int m = sys->fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    if (m < 0 || attach(m, tgt) < 0) fail("masking path", "linux.maskedPaths", errno, path);
    close(m), close(fs);
  } else {
    // Only the real null device may cover a file (a container could have put a
    // symlink or another file at /dev/null).
    int null_fd = open_in_root(g_root, "/dev/null", O_PATH | O_NOFOLLOW, false, false);
    struct stat ns;
    if (null_fd < 0 || sys->fstat(null_fd, &ns) < 0 || !S_ISCHR(ns.st_mode) || ns.st_rdev != makedev(1, 3))
      fail("masking path", "linux.maskedPaths", EPERM, "/dev/null in the container is not the null device");
    int tree = sys->open_tree(null_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    if (tree < 0 || attach(tree, tgt) < 0) fail("masking path", "linux.maskedPaths", errno, path);
    close(tree), close(null_fd);
  }
  close(tgt);
}

static void readonly_path(const char* path) {
  int tgt = open_in_root(g_root, path, O_PATH, false, false);
  if (tgt < 0) {
    if (tgt == -ENOENT) return;
    fail("making path read-only", "linux.readonlyPaths", -tgt, path);
  }
  int tree = sys->open_tree(tgt, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
  if (tree < 0 || set_attrs(tree, MOUNT_ATTR_RDONLY, true) < 0 || attach(tree, tgt) < 0)
    fail("making path read-only", "linux.readonlyPaths", errno, path);
  close(tree), close(tgt);
}

// A tmpfs or /dev asked read-only (mounted writable for its mount points and
// device nodes), made read-only now, as runc's finalizeRootfs.
static void readonly_late(const plan::Plan& p) {
  for (const plan::Mount& m : p.mounts) {
    if (!(m.extra & plan::MOUNT_READONLY_LATE)) continue;
    int tgt = open_in_root(g_root, m.destination, O_PATH, false, false);
    if (tgt < 0 || set_attrs(tgt, MOUNT_ATTR_RDONLY, false) < 0)
      fail("making the mount read-only", m.field, tgt < 0 ? -tgt : errno, m.destination);
    close(tgt);
  }
}

void finish_rootfs(const plan::Plan& p) {
  readonly_late(p);
  write_sysctls(p);
  for (const plan::Readonly& r : p.readonly) readonly_path(r.path);
  for (const plan::Mask& m : p.masked) mask_path(m.path);
  if (g_readonly) {
    struct mount_attr a = {};
    a.attr_set = MOUNT_ATTR_RDONLY;
    if (sys->mount_setattr(AT_FDCWD, "/", 0, &a, sizeof a) < 0) fail("making the rootfs read-only", "root.readonly", errno);
  }
  if (g_prop & (MS_SHARED | MS_UNBINDABLE)) {
    if (sys->mount(nullptr, "/", nullptr, g_prop, nullptr) < 0)
      fail("setting rootfs propagation", "linux.rootfsPropagation", errno);
  }
}
