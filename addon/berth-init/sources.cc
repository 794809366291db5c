// Bind mount sources opened with berth's credentials. The container's root may
// not reach a source (a host directory 0700 above a volume) that berth's user
// can, so, as runc does, a process that keeps berth's credentials (the opener,
// forked by berth-init before it joins any namespace) opens bind sources (O_PATH)
// inside the init's mount namespace before the init mounts anything, and sends
// the fds to the init, which mounts from them: every bind source with a user
// namespace, and every id-mapped one, which the opener also clones and id-maps
// (idmap.cc). Paths mean what they mean to the init at that moment: its copy of
// the host's (or the joined) mount namespace.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/scm_rights.h"
#include "berth-init/berth_init.h"

static const int MAX_SOURCES = 1024;
static int g_sock = -1;  // the init's end (berth-init writes the init's pid on it)
static pid_t g_opener = -1;
static struct {
  const char* source;  // the plan's own string: bind_mount is handed that pointer
  int fd;
  bool tree;  // an id-mapped clone
} g_sources[MAX_SOURCES];
static int g_count;
static bool g_every_bind;  // with a user namespace: every source, not only id-mapped ones

struct SourceMsg {
  int32_t index;  // of the source among those sent; -1: all failed
  int32_t err;    // 0, or errno (then no fd comes)
  SourceStep step;
};

struct Bind {
  const char *source, *field;
  uint64_t idmap;  // IDMAP_*
  IdmapSpec spec;
};

// Calls f(Bind) for each bind mount of the config whose source the opener sends
// (not the container's own cgroups, bound by path), in the same order in the
// opener and the init.
template <class F>
static void each_bind(const plan::Plan& p, F f) {
  for (const plan::Mount& m : p.mounts) {
    if (!(m.extra & plan::MOUNT_BIND) || (m.extra & plan::MOUNT_CGROUP_V1)) continue;
    Bind b = {m.source, m.field, m.idmap, {(m.flags & MS_REC) != 0, m.idmap == plan::IDMAP_RECURSIVE, m.uid_map, m.gid_map, m.userns_path}};
    if (g_every_bind || b.idmap != plan::IDMAP_NONE) f(b);
  }
}

static void send_source(int sock, int32_t index, int err, int fd, SourceStep step = SOURCE_OPEN) {
  SourceMsg msg = {index, err, step};
  if (send_fds(sock, &msg, sizeof msg, &fd, fd >= 0 ? 1 : 0) < 0) _exit(1);  // the init sees the socket end and says so
}

[[noreturn]] static void opener(const plan::Plan& p, int sock) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  // Only its socket: berth must not wait on it for the sync socket's end.
  for (int fd = 3; fd < sock; fd++) close(fd);
  close_from((unsigned)sock + 1);
  pid_t init;
  if (read_all(sock, &init, sizeof init) != 0) _exit(1);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)init);
  int ns = open(path, O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns(ns, CLONE_NEWNS) < 0) {
    send_source(sock, -1, errno, -1);
    _exit(0);
  }
  int32_t i = 0;
  each_bind(p, [&](const Bind& b) {
    int fd = open(b.source, O_PATH | O_CLOEXEC);
    SourceStep step = SOURCE_OPEN;
    if (fd >= 0 && b.idmap != plan::IDMAP_NONE) {
      int tree = idmapped_clone(fd, b.spec, &step);
      close(fd);
      fd = tree < 0 ? (errno = -tree, -1) : tree;
    }
    send_source(sock, i++, fd < 0 ? errno : 0, fd, step);
    if (fd >= 0) close(fd);
  });
  _exit(0);
}

void start_source_opener(const plan::Plan& p) {
  bool userns = p.ns_clone && (p.ns_clone->flags & CLONE_NEWUSER);
  for (const plan::NsJoin& j : p.joins) userns |= j.type == CLONE_NEWUSER;
  // Entering the init's mount namespace takes privileges a rootless berth lacks;
  // then the sources are no harder to reach for the container than for it (and
  // berth refuses id-mapped mounts).
  g_every_bind = userns && geteuid() == 0;
  int n = 0;
  each_bind(p, [&](const Bind&) { n++; });
  if (n == 0) return;
  if (n > MAX_SOURCES) fail("reading the plan", "mounts", E2BIG, "too many bind mounts");
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) fail("creating a socket pair", "mounts", errno);
  g_opener = fork();
  if (g_opener < 0) fail("forking to open the bind mount sources", "mounts", errno);
  if (g_opener == 0) {
    close(sv[1]);
    opener(p, sv[0]);
  }
  close(sv[0]);
  g_sock = sv[1];
}

void run_source_opener(pid_t init) {
  if (g_opener < 0) return;
  // The init waits for berth-init's go: its mount namespace is as cloned until
  // the opener is done.
  write_all(g_sock, &init, sizeof init);
  int status;
  while (waitpid(g_opener, &status, 0) < 0 && errno == EINTR) {
  }
  close(g_sock);
}

[[noreturn]] static void source_failed(const Bind& b, SourceStep step, int err) {
  char detail[4200];
  const char* what = "checking the bind mount source";
  snprintf(detail, sizeof detail, "%s", b.source);
  if (step == SOURCE_CLONE) {
    what = "cloning the bind mount source to id-map it";
  } else if (step == SOURCE_USERNS) {
    what = "making the user namespace of the id-mapped mount";
    snprintf(detail, sizeof detail, "%s", *b.spec.userns_path ? b.spec.userns_path : "uidMappings, gidMappings");
  } else if (step == SOURCE_IDMAP) {
    what = "id-mapping the bind mount (MOUNT_ATTR_IDMAP)";
    if (err == EINVAL) snprintf(detail, sizeof detail, "%s: its filesystem cannot be id-mapped on this kernel", b.source);
  }
  fail(what, b.field, err, detail);
}

void receive_bind_sources(const plan::Plan& p) {
  if (g_sock < 0) return;
  each_bind(p, [&](const Bind& b) {
    SourceMsg msg;
    int fd;
    ssize_t n = recv_fd(g_sock, &msg, sizeof msg, &fd);
    if (n != (ssize_t)sizeof msg) fail("receiving the bind mount sources", "mounts", n < 0 ? errno : EPIPE);
    if (msg.index < 0) fail("entering the container's mount namespace to open bind mount sources", "mounts", msg.err);
    if (msg.err) source_failed(b, msg.step, msg.err);
    if (msg.index != g_count || fd < 0) fail("receiving the bind mount sources", "mounts", EPROTO);
    g_sources[g_count].fd = fd;
    g_sources[g_count].tree = b.idmap != plan::IDMAP_NONE;
    g_sources[g_count++].source = b.source;
  });
  close(g_sock);
  g_sock = -1;
}

int take_bind_source(const char* source, bool* tree) {
  *tree = false;
  for (int i = 0; i < g_count; i++)
    if (g_sources[i].source == source && g_sources[i].fd >= 0) {
      int fd = g_sources[i].fd;
      g_sources[i].fd = -1;
      *tree = g_sources[i].tree;
      return fd;
    }
  return -1;
}
