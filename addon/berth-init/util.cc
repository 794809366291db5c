#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth-init/berth_init.h"
#include "berth-init/sys.h"

// All len bytes through io (read or write), across EINTR and short counts.
template <typename Ptr, typename Io>
static int all(Io io, int fd, Ptr p, size_t len) {
  while (len > 0) {
    ssize_t n = io(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    p += n, len -= n;
  }
  return 0;
}

int write_all(int fd, const void* buf, size_t len) { return all(write, fd, (const char*)buf, len); }
int read_all(int fd, void* buf, size_t len) { return all(read, fd, (char*)buf, len); }

int write_file_at(int dirfd, const char* path, const char* s) {
  int fd = sys->openat(dirfd, path, O_WRONLY | O_CLOEXEC, 0);
  if (fd < 0) return errno;
  int rc = write_all(fd, s, strlen(s)) == 0 ? 0 : (errno ? errno : EIO);
  close(fd);
  return rc;
}

int write_file(const char* path, const char* s) { return write_file_at(AT_FDCWD, path, s); }

static int openat2_in(int dirfd, const char* path, int flags, uint64_t resolve) {
  struct open_how how = {};
  how.flags = (uint64_t)(flags | O_CLOEXEC);
  how.resolve = resolve;
  int fd = sys->openat2(dirfd, path, &how, sizeof how);
  return fd;
}

static const uint64_t IN_ROOT = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

// Makes each missing directory of `path` (relative to root_fd). Every prefix is
// resolved from the root with openat2(RESOLVE_IN_ROOT), and mkdirat works on the
// directory that resolution gave, so a symlink planted by the container can never
// send a mkdir outside the rootfs.
static int mkdir_all_in_root(int root_fd, const char* path) {
  char buf[4096];
  size_t n = strlen(path);
  if (n >= sizeof buf) return -ENAMETOOLONG;
  memcpy(buf, path, n + 1);
  int dir = openat2_in(root_fd, "/", O_PATH | O_DIRECTORY, IN_ROOT);
  if (dir < 0) return -errno;
  for (size_t i = 0; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != 0) continue;
    if (i == 0 || buf[i - 1] == '/') continue;
    char saved = buf[i];
    buf[i] = 0;
    int next = openat2_in(root_fd, buf, O_PATH | O_DIRECTORY, IN_ROOT);
    if (next < 0 && errno == ENOENT) {
      const char* leaf = strrchr(buf, '/');
      leaf = leaf ? leaf + 1 : buf;
      if (sys->mkdirat(dir, leaf, 0755) < 0 && errno != EEXIST) {
        int e = errno;
        close(dir);
        return -e;
      }
      next = openat2_in(root_fd, buf, O_PATH | O_DIRECTORY, IN_ROOT);
    }
    int e = errno;
    buf[i] = saved;
    close(dir);
    if (next < 0) return -e;
    dir = next;
  }
  return dir;
}

// Rewrites `path` (inside the tree at root_fd) into `out` so that no component of
// the part that exists is a symlink: each symlink met is read and followed as if
// root_fd were "/" (".." never climbs above it), which is where the container
// will find the path. Missing components are kept as they are. Creating what is
// missing along the result therefore happens where a (dangling) symlink planted
// in the rootfs leads, and always inside the rootfs. Returns 0 or -errno.
static int resolve_in_root(int root_fd, const char* path, char* out, size_t outsz) {
  char rem[8192];
  char target[4096];
  size_t cur = 0;  // out[0..cur) is the resolved part, "" (root) or "/a/b"
  int links = 0;
  if (strlen(path) >= sizeof rem) return -ENAMETOOLONG;
  strcpy(rem, path);
  out[0] = 0;
  size_t pos = 0;
  while (rem[pos]) {
    while (rem[pos] == '/') pos++;
    size_t start = pos;
    while (rem[pos] && rem[pos] != '/') pos++;
    size_t len = pos - start;
    if (len == 0 || (len == 1 && rem[start] == '.')) continue;
    if (len == 2 && rem[start] == '.' && rem[start + 1] == '.') {
      while (cur > 0 && out[cur - 1] != '/') cur--;
      if (cur > 0) cur--;
      out[cur] = 0;
      continue;
    }
    if (cur + 1 + len >= outsz) return -ENAMETOOLONG;
    size_t before = cur;
    out[cur++] = '/';
    memcpy(out + cur, rem + start, len);
    cur += len;
    out[cur] = 0;
    int fd = openat2_in(root_fd, out, O_PATH | O_NOFOLLOW, IN_ROOT);
    if (fd < 0) {
      if (errno == ENOENT) continue;  // missing: kept as it is
      return -errno;
    }
    struct stat st;
    if (sys->fstat(fd, &st) < 0) {
      int e = errno;
      close(fd);
      return -e;
    }
    if (!S_ISLNK(st.st_mode)) {
      close(fd);
      continue;
    }
    ssize_t n = sys->readlinkat(fd, "", target, sizeof target - 1);
    int e = errno;
    close(fd);
    if (n < 0) return -e;
    if (++links > 40) return -ELOOP;
    target[n] = 0;
    // What is left becomes target + the rest; an absolute target starts from the root.
    size_t rest = strlen(rem + pos);
    if ((size_t)n + 1 + rest >= sizeof rem) return -ENAMETOOLONG;
    memmove(rem + n + 1, rem + pos, rest + 1);
    memcpy(rem, target, (size_t)n);
    rem[n] = '/';
    pos = 0;
    cur = target[0] == '/' ? 0 : before;
    out[cur] = 0;
  }
  if (cur == 0) {
    if (outsz < 2) return -ENAMETOOLONG;
    strcpy(out, "/");
  }
  return 0;
}

int open_parent_in_root(int root_fd, const char* path, bool create, const char** leaf) {
  const char* slash = strrchr(path, '/');
  *leaf = slash ? slash + 1 : path;
  char dir[4096];
  size_t n = slash ? (size_t)(slash - path) : 0;
  if (n >= sizeof dir) return -ENAMETOOLONG;
  memcpy(dir, path, n);
  dir[n] = 0;
  if (create) {
    char resolved[4096];
    int e = resolve_in_root(root_fd, dir, resolved, sizeof resolved);
    return e < 0 ? e : mkdir_all_in_root(root_fd, resolved);
  }
  int fd = openat2_in(root_fd, n ? dir : "/", O_PATH | O_DIRECTORY, IN_ROOT);
  return fd < 0 ? -errno : fd;
}

int open_in_root(int root_fd, const char* path, int flags, bool create, bool as_file) {
  int fd = openat2_in(root_fd, path, flags, IN_ROOT);
  if (fd >= 0 || errno != ENOENT || !create) return fd < 0 ? -errno : fd;
  // Something is missing: create it where the container will see the path.
  char resolved[4096];
  int r = resolve_in_root(root_fd, path, resolved, sizeof resolved);
  if (r < 0) return r;
  path = resolved;
  const char* leaf;
  int dir = open_parent_in_root(root_fd, path, true, &leaf);
  if (dir < 0) return dir;
  if (*leaf) {
    if (as_file) {
      int f = sys->openat(dir, leaf, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (f >= 0) close(f);
      else if (errno != EEXIST) return close(dir), -errno;
    } else if (sys->mkdirat(dir, leaf, 0755) < 0 && errno != EEXIST) {
      int e = errno;
      return close(dir), -e;
    }
  }
  fd = openat2_in(root_fd, path, flags, IN_ROOT);
  int e = errno;
  close(dir);
  return fd < 0 ? -e : fd;
}

void fmt_u64(char* out, uint64_t v) {
  char tmp[24];
  int i = 0;
  do tmp[i++] = '0' + v % 10, v /= 10;
  while (v);
  while (i) *out++ = tmp[--i];
  *out = 0;
}

const char* fd_path(int fd, int slot) {
  static char bufs[2][32];
  char* b = bufs[slot & 1];
  memcpy(b, "/proc/self/fd/", 14);
  fmt_u64(b + 14, (uint64_t)fd);
  return b;
}

void close_from(unsigned first) {
  // close_range(2) exists since 5.9; fall back to a loop for older kernels.
  if (syscall(SYS_close_range, first, ~0u, 0) == 0) return;
  for (unsigned fd = first; fd < 65536; fd++) close(fd);
}
