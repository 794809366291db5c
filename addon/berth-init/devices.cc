// Device nodes, directories and symlinks inside the rootfs (before pivot_root).
// Where mknod is not allowed (user namespaces) the host's node is bind-mounted
// instead; a bound host node is never chown'ed or chmod'ed, so the host's /dev is
// left exactly as it was.
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "berth-init/berth_init.h"
#include "berth-init/sys.h"

// A node made by name, opened without following a link and checked to be what was
// asked for: the directory may be shared with someone hostile (a /dev that leads
// into a volume) who renames a symlink over it, and before pivot_root an absolute
// link leads to the host. Every later step works on this fd, never on the name.
static int open_made(int dir, const char* leaf, mode_t type, dev_t dev, const char* path, const char* field) {
  int fd = sys->openat(dir, leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
  struct stat st;
  if (fd < 0 || sys->fstat(fd, &st) < 0) fail("opening the device node", field, errno, path);
  if ((st.st_mode & S_IFMT) != type || (type != S_IFIFO && type != S_IFREG && st.st_rdev != dev))
    fail("creating the device node", field, EEXIST, "the node was replaced while it was made");
  return fd;
}

// With `made`, leaf is an empty file a previous run (or the bundle) left as the
// mount point; else it is made here, never opening what is there.
static void bind_host_node(int dir, const char* leaf, bool made, const char* path, const char* field) {
  if (!made && sys->mknodat(dir, leaf, S_IFREG, 0) < 0) fail("creating the device mount point", field, errno, path);
  int tgt = open_made(dir, leaf, S_IFREG, 0, path, field);
  int tree = sys->open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0 || sys->move_mount(tree, "", tgt, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    fail("bind-mounting the host device", field, errno, path);
  close(tree), close(tgt);
}

static void make_device(const plan::Device& d) {
  const char *path = d.path, *field = d.field;
  mode_t type = (mode_t)d.type;
  unsigned major = (unsigned)d.major, minor = (unsigned)d.minor;
  mode_t mode = (mode_t)d.mode & 07777;
  uid_t uid = (uid_t)d.uid;
  gid_t gid = (gid_t)d.gid;

  const char* leaf;
  int dir = open_parent_in_root(rootfs_fd(), path, true, &leaf);
  if (dir < 0) fail("creating the device's directory", field, -dir, path);
  struct stat st;
  if (sys->fstatat(dir, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    // An existing node of the same kind stays (it may be a bind from the config).
    if ((st.st_mode & S_IFMT) == type && (type == S_IFIFO || st.st_rdev == makedev(major, minor))) return (void)close(dir);
    // An empty regular file is a mount point for the host's node (what a bind of
    // one leaves in a rootfs without a /dev tmpfs): bind onto it again.
    if (S_ISREG(st.st_mode) && st.st_size == 0 && type != S_IFIFO) {
      bind_host_node(dir, leaf, true, path, field);
      return (void)close(dir);
    }
    // config-linux.md: "If a file already exists at path that does not match the
    // requested device, the runtime MUST generate an error." It is never removed:
    // it is the bundle's.
    fail("creating the device node", field, EEXIST, "a file that is not the requested device is in the way");
  }
  // Under stage 2's umask of 0 the mode is exact from mknodat.
  if (sys->mknodat(dir, leaf, type | mode, makedev(major, minor)) < 0) {
    if (errno != EPERM) fail("creating the device node", field, errno, path);
    bind_host_node(dir, leaf, false, path, field);
    return (void)close(dir);
  }
  int node = open_made(dir, leaf, type, makedev(major, minor), path, field);
  if (sys->fchownat(node, "", uid, gid, AT_EMPTY_PATH) < 0) fail("setting the device owner", field, errno, path);
  // Only where the mode is not yet exact (a default ACL on the directory, set-id
  // bits chown cleared): chmod of the fd's own inode through /proc, never a name.
  if (sys->fstat(node, &st) < 0 || ((st.st_mode & 07777) != mode && sys->chmod(fd_path(node), mode) < 0))
    fail("setting the device mode", field, errno, path);
  close(node), close(dir);
}

void setup_devices(const plan::Plan& p) {
  for (const plan::Device& d : p.devices) make_device(d);
  for (const plan::Symlink& s : p.symlinks) {
    const char *target = s.target, *path = s.path;
    const char* leaf;
    int dir = open_parent_in_root(rootfs_fd(), path, true, &leaf);
    if (dir < 0) fail("creating symlink", "linux.devices", -dir, path);
    if (sys->symlinkat(target, dir, leaf) < 0 && errno != EEXIST) fail("creating symlink", "linux.devices", errno, path);
    close(dir);
  }
}

// After pivot_root, as runc: stdio that is a null device (the host's, from the
// engine) becomes the container's own /dev/null, so the init holds nothing of the
// host's /dev (CRIU, which sees only the container's mounts, can then checkpoint
// it). Where berth made /dev's nodes the node must be the null device; with a /dev
// from the host, best effort.
void reopen_dev_null(const plan::Plan& p) {
  bool made = !p.devices.empty();
  int fd = sys->open("/dev/null", O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
  struct stat ns;
  if (fd < 0 || sys->fstat(fd, &ns) < 0 || !S_ISCHR(ns.st_mode) || ns.st_rdev != makedev(1, 3)) {
    if (made) fail("reopening /dev/null", "", fd < 0 ? errno : EPERM, "/dev/null in the container is not the null device");
    if (fd >= 0) close(fd);
    return;
  }
  for (int i = 0; i < 3; i++) {
    struct stat st;
    if (sys->fstat(i, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == ns.st_rdev && dup3(fd, i, 0) < 0)
      fail("reopening /dev/null", "", errno, "stdio");
  }
  close(fd);
}
