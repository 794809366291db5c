// Id-mapped bind mounts (MOUNT_ATTR_IDMAP, Linux 5.12). The kernel wants
// CAP_SYS_ADMIN over the source's filesystem, which the root of a container's
// user namespace lacks, so the bind source opener (sources.cc), which keeps
// berth's credentials, clones the source (open_tree) and id-maps the detached
// clone; the init attaches it like any bind. The mapping's user namespace is
// made here: a child cloned into a new one waits while its maps are written and
// its namespace is opened, then goes.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth-init/berth_init.h"

// A user namespace with the maps; the fd, or -errno.
static int make_userns(const char* uid_map, const char* gid_map) {
  int hold[2];
  if (pipe2(hold, O_CLOEXEC) < 0) return -errno;
  pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, nullptr, nullptr, 0);
  if (pid == 0) {
    // Waits for the end of the pipe: its writer closes it, or dies.
    close(hold[1]);
    char c;
    while (read(hold[0], &c, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  int e = pid < 0 ? errno : 0;
  close(hold[0]);
  int fd = -1;
  if (pid > 0) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
    e = write_file(path, uid_map);
    snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
    if (!e) e = write_file(path, gid_map);
    snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
    if (!e && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) e = errno;
  }
  close(hold[1]);
  if (pid > 0)
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  return e ? -e : fd;
}

// One namespace per distinct mapping (Kubernetes gives every volume the pod's).
static struct {
  const char *uid_map, *gid_map;
  int fd;
} g_made[32];
static int g_made_count;

static int userns_for(const char* uid_map, const char* gid_map) {
  for (int i = 0; i < g_made_count; i++)
    if (strcmp(g_made[i].uid_map, uid_map) == 0 && strcmp(g_made[i].gid_map, gid_map) == 0) return dup(g_made[i].fd);
  int fd = make_userns(uid_map, gid_map);
  if (fd >= 0 && g_made_count < 32) g_made[g_made_count++] = {uid_map, gid_map, dup(fd)};
  return fd;
}

int idmapped_clone(int src, const IdmapSpec& m, SourceStep* step) {
  *step = SOURCE_CLONE;
  int tree = open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (m.rbind ? AT_RECURSIVE : 0));
  if (tree < 0) return -errno;
  *step = SOURCE_USERNS;
  int ns = *m.userns_path ? open(m.userns_path, O_RDONLY | O_CLOEXEC) : userns_for(m.uid_map, m.gid_map);
  if (ns < 0) {
    int e = *m.userns_path ? errno : -ns;
    close(tree);
    return -e;
  }
  *step = SOURCE_IDMAP;
  struct mount_attr a = {};
  a.attr_set = MOUNT_ATTR_IDMAP;
  a.userns_fd = (uint64_t)ns;
  int rc = mount_setattr(tree, "", AT_EMPTY_PATH | (m.recursive ? AT_RECURSIVE : 0), &a, sizeof a);
  int e = errno;
  close(ns);
  if (rc < 0) {
    close(tree);
    return -e;
  }
  return tree;
}
