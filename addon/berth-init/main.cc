// berth-init create <sync-fd> <berth-pid>   (berth-init exec ...: see exec_stage)
//
// Stage 1 (this process, in berth's namespaces): read the plan, make the exec
// fifo, join namespaces given by path, clone the container init with the new
// namespaces (CLONE_PARENT: berth, not us, is its parent), write its id maps,
// report its pid, release it and exit.
// Stage 2 (the init): mounts, devices, hooks, pivot_root, identity; tell berth it
// is ready, wait on the exec fifo for `berth start`, exec the user process.
// Both stages die with berth until it has saved the state (PR_SET_PDEATHSIG), so a
// killed `create` leaves no process behind.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/keyctl.h>
#include <linux/nsfs.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth-init/berth_init.h"

using plan::Reader;

static uint8_t g_plan_buf[plan::MAX_BYTES];
static pid_t g_berth;
static int g_fifo = -1;
static int g_berth_pidfd = -1;
static int g_cgroup2 = -1;  // the container's cgroup2 directory (O_PATH), or -1

// struct clone_args as far as Linux 5.7 (CLONE_ARGS_SIZE_VER2), for clone3.
struct CloneArgs {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
static const uint64_t kCloneIntoCgroup = 0x200000000ULL;

// Clones (fork-like: same stack) with CLONE_PARENT into the container's cgroup2
// directory, so the child never runs anywhere else: clone3 CLONE_INTO_CGROUP
// (Linux 5.7). Kernels without it (ENOSYS, or E2BIG for the cgroup field) get
// the older order: berth-init joins the cgroup, then a plain clone. Berth has
// already put berth-init in the v1 hierarchies, which the child inherits.
static pid_t clone_into_cgroup(uint64_t flags) {
  if (g_cgroup2 >= 0) {
    CloneArgs a = {};
    a.flags = flags | kCloneIntoCgroup;
    a.cgroup = (uint64_t)g_cgroup2;
    long pid = syscall(SYS_clone3, &a, sizeof a);
    if (pid >= 0 || (errno != ENOSYS && errno != E2BIG)) return (pid_t)pid;
    int e = write_file_at(g_cgroup2, "cgroup.procs", "0");
    if (e) fail("joining the container's cgroup", "linux.cgroupsPath", e);
  }
  return (pid_t)syscall(SYS_clone, flags, 0, nullptr, nullptr, 0);
}

// Dies with berth. The check after prctl closes the race with a berth that died
// just before; the init cannot use getppid() for it (in a new pid namespace its
// parent has no pid), so it asks a pidfd of berth opened beforehand.
static void die_with_berth() {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  if (g_berth_pidfd >= 0) {
    struct pollfd p = {g_berth_pidfd, POLLIN, 0};
    if (poll(&p, 1, 0) != 0) _exit(1);
  } else if (getppid() != g_berth) {
    _exit(1);
  }
}

static void read_plan(plan::Plan* p) {
  if (read_all(g_sync, g_plan_buf, plan::HEADER_BYTES) != 0) _exit(1);
  uint32_t total;
  memcpy(&total, g_plan_buf + 8, 4);
  if (total < plan::HEADER_BYTES || total > plan::MAX_BYTES) fail("reading the plan", "", EMSGSIZE);
  if (read_all(g_sync, g_plan_buf + plan::HEADER_BYTES, total - plan::HEADER_BYTES) != 0) _exit(1);
  const char* why = "";
  if (!plan::decode(g_plan_buf, total, p, &why)) fail("reading the plan", "", EINVAL, why);
}

static const char* ns_name(int type) {
  switch (type) {
    case CLONE_NEWNS: return "mount";
    case CLONE_NEWCGROUP: return "cgroup";
    case CLONE_NEWUTS: return "uts";
    case CLONE_NEWIPC: return "ipc";
    case CLONE_NEWUSER: return "user";
    case CLONE_NEWPID: return "pid";
    case CLONE_NEWNET: return "network";
    case CLONE_NEWTIME: return "time";
    default: return "unknown";
  }
}

static bool joins_user_namespace(const plan::Plan& p) {
  for (const plan::NsJoin& j : p.joins)
    if (j.type == CLONE_NEWUSER) return true;
  return false;
}

// With `defer_cgroup` the cgroup namespace is only opened: its fd is returned (or
// -1) for a child cloned into its cgroup to join after the clone (exec_stage).
static int join_namespaces(const plan::Plan& p, bool defer_cgroup = false) {
  int deferred = -1;
  // Open every path first: joining the mount namespace changes what paths mean.
  struct Join { int fd; int type; const char* field; } joins[16];
  int n = 0;
  for (const plan::NsJoin& j : p.joins) {
    int type = (int)j.type;
    const char *path = j.path, *field = j.field;
    if (n >= 16) fail("reading the plan", "linux.namespaces", EINVAL);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail("opening namespace path", field, errno, path);
    // config-linux.md: an error "if path is not associated with a namespace of type
    // type"; setns alone would only say EINVAL, without the path.
    int actual = ioctl(fd, NS_GET_NSTYPE);
    if (actual != type) {
      char detail[512];
      if (actual < 0)
        snprintf(detail, sizeof detail, "%s is not a namespace", path);
      else
        snprintf(detail, sizeof detail, "%s is a %s namespace, not %s", path, ns_name(actual), ns_name(type));
      fail("opening namespace path", field, actual < 0 && errno != ENOTTY ? errno : EINVAL, detail);
    }
    joins[n++] = {fd, type, field};
  }
  // The user namespace first, so the others are joined with its privileges.
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < n; i++) {
      if ((joins[i].type == CLONE_NEWUSER) != (pass == 0)) continue;
      if (defer_cgroup && joins[i].type == CLONE_NEWCGROUP) {
        deferred = joins[i].fd;
        continue;
      }
      if (setns(joins[i].fd, joins[i].type) < 0) fail("joining namespace", joins[i].field, errno);
      close(joins[i].fd);
      // setns keeps our host ids, unmapped in there: become the namespace's root
      // (as runc does), so what we make (an exec's pty) belongs to a mapped id.
      if (joins[i].type == CLONE_NEWUSER && (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
        fail("becoming root in the user namespace", joins[i].field, errno);
    }
  return deferred;
}

// First of all, into the cgroup v1 directories berth names, so all that follows
// runs (and is charged) there and the init inherits them. berth-init moves itself,
// its one thread, by writing "0" to each `tasks` file: moving a process by pid
// (cgroup.procs) takes the kernel's global threadgroup lock, whose first taking
// waits for an RCU grace period (13-19 ms per create or exec here); a thread that
// moves itself takes no such lock.
static void join_cgroups_v1(const plan::Plan& p) {
  for (const plan::Cgroup1& c : p.cgroups1) {
    int dir = open(c.path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int e = dir < 0 ? errno : write_file_at(dir, "tasks", "0");
    if (e) fail("joining cgroup", c.field, e, c.path);
    close(dir);
  }
}

[[noreturn]] static void stage2(const plan::Plan& p, uint64_t flags, uint64_t late);

// The init and an exec'd process each lead a session of their own, as under runc:
// the caller's terminal is not their controlling terminal, so /dev/tty does not
// reach it and an inherited terminal fd takes no TIOCSTI (without CAP_SYS_ADMIN).
// Before anything else, hooks included, runs in the container.
static void new_session() {
  if (setsid() < 0) fail("starting a session", "", errno);
}

// The init and an exec'd process alike, inside the container: limits, the
// cwd and executable, default signals, seccomp and identity, in runc's order
// (the plan says at which of the three moments the filter goes in). Returns the
// filter's listener fd, which berth copies out, or -1.
static int become_process(const plan::Plan& p) {
  setup_process_limits(p);
  enter_cwd(p);  // first: a relative args[0] is found from the cwd, as execve will
  resolve_executable(p);
  // Before seccomp, which could deny rt_sigaction.
  if (int e = reset_signals()) fail("resetting signal dispositions", "", e);
  apply_apparmor(p);
  int listener = install_seccomp(p, plan::SECCOMP_BEFORE_IDENTITY);
  finalize_identity(p);
  return listener >= 0 ? listener : install_seccomp(p, plan::SECCOMP_BEFORE_READY);
}

// berth-init exec: join the container's namespaces (the plan names them by
// /proc/PID/ns paths; we are in its v1 cgroups), then fork the process, with berth
// as its parent, in the container's pid namespace, and into its cgroup2 directory
// when the plan says so. It reports errors itself; on success the sync socket
// closes with its execve.
[[noreturn]] static void exec_stage(const plan::Plan& p) {
  // The clone into the cgroup2 directory is checked in our cgroup namespace: from
  // the container's, our own cgroup is out of sight (nsdelegate: ENOENT), so the
  // process joins that namespace itself, once it is in its cgroup.
  int cgroup_ns = join_namespaces(p, g_cgroup2 >= 0);
  pid_t pid = clone_into_cgroup(CLONE_PARENT);
  if (pid < 0 && g_cgroup2 >= 0) fail("forking the process into its cgroup", "", errno, p.cgroup2->path);
  if (pid < 0) fail("forking the process", "", errno);
  if (pid == 0) {
    if (cgroup_ns >= 0 && setns(cgroup_ns, CLONE_NEWCGROUP) < 0) fail("joining namespace", "container namespace cgroup", errno);
    if (cgroup_ns >= 0) close(cgroup_ns);
    new_session();
    setup_console(p, false);
    int listener = become_process(p);
    if (listener >= 0) {
      // berth copies the listener out of us (pidfd_getfd) for listenerPath: wait
      // until it has, then the fd is not the process's to keep.
      Reader st;
      if (!recv_msg(plan::MSG_COMMIT, &st)) _exit(1);
      close(listener);
    }
    exec_process(p);
  }
  if (!send_pid(pid)) {
    kill(pid, SIGKILL);
    _exit(1);
  }
  _exit(0);
}

int main(int argc, char** argv) {
  bool exec_mode = argc == 4 && strcmp(argv[1], "exec") == 0;
  if (argc != 4 || (strcmp(argv[1], "create") != 0 && !exec_mode)) {
    static const char usage[] = "berth-init is run by berth; it is not a command\n";
    write_all(2, usage, sizeof usage - 1);
    return 2;
  }
  g_sync = atoi(argv[2]);
  g_berth = (pid_t)atoi(argv[3]);
  // Only stdio, the preserved fds (3 up to the sync socket) and the socket: close
  // whatever berth's own parent let leak into it, before any hook or init sees it.
  if (g_sync < 3) _exit(2);
  close_from((unsigned)g_sync + 1);
  die_with_berth();
  g_berth_pidfd = (int)syscall(SYS_pidfd_open, g_berth, 0);
  if (g_berth_pidfd < 0 || getppid() != g_berth) _exit(1);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);

  static plan::Plan p;
  read_plan(&p);
  join_cgroups_v1(p);
  if (p.cgroup2) {
    // Opened before any namespace is joined: the path is the host's.
    g_cgroup2 = open(p.cgroup2->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (g_cgroup2 < 0) fail("opening the container's cgroup", "linux.cgroupsPath", errno, p.cgroup2->path);
  }
  if (exec_mode) exec_stage(p);

  if (p.exec_fifo) {
    const char* fifo = p.exec_fifo->path;
    if (mkfifo(fifo, 0600) < 0) fail("creating the exec fifo", "", errno, fifo);
    // Read-write, so the init's read blocks until start writes and never sees EOF.
    g_fifo = open(fifo, O_RDWR | O_CLOEXEC);
    if (g_fifo < 0) fail("opening the exec fifo", "", errno, fifo);
  }
  start_source_opener(p);  // before any namespace is joined: it keeps our credentials
  if (g_cgroup2 >= 0 && joins_user_namespace(p)) {
    // Once in a joined user namespace we are its root, who may not move a process
    // into the cgroup (clone3 says EACCES): join it now, and clone plainly.
    if (int e = write_file_at(g_cgroup2, "cgroup.procs", "0")) fail("joining the container's cgroup", "linux.cgroupsPath", e);
    close(g_cgroup2);
    g_cgroup2 = -1;
  }
  join_namespaces(p);

  uint64_t flags = p.ns_clone ? p.ns_clone->flags : 0;
  if (flags & CLONE_NEWTIME) {
    // clone(2) cannot make a time namespace; unshare makes it for our children.
    if (unshare(CLONE_NEWTIME) < 0) fail("creating the time namespace", "linux.namespaces", errno);
    if (p.time_offsets) {
      int e = write_file("/proc/self/timens_offsets", p.time_offsets->offsets);
      if (e) fail("setting time offsets", "linux.timeOffsets", e);
    }
  }

  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) fail("creating a socket pair", "", errno);
  uint64_t clone_flags = (flags & ~(uint64_t)CLONE_NEWTIME) | CLONE_PARENT;
  // Namespaces the init makes itself (unshare, as the root of its user namespace
  // and inside its cgroups) rather than the clone:
  // - the cgroup namespace with CLONE_INTO_CGROUP: namespaces are copied before
  //   clone3 places the child, so the clone's would be rooted at berth-init's cgroup;
  // - with a new user namespace, the ipc namespace: the kernel makes its mqueue
  //   filesystem with the creator's ids, which would be the unmapped host root.
  uint64_t late = 0;
  if (g_cgroup2 >= 0) late |= clone_flags & CLONE_NEWCGROUP;
  if (clone_flags & CLONE_NEWUSER) late |= clone_flags & CLONE_NEWIPC;
  clone_flags &= ~late;
  // Without root, the init's /proc files must be the user's while its maps are
  // written (the kernel's check, and newuidmap's): it is cloned dumpable and
  // turns non-dumpable at its go, before anything of the container runs.
  bool rootless_maps = (clone_flags & CLONE_NEWUSER) && geteuid() != 0;
  if (rootless_maps) prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  pid_t pid = clone_into_cgroup(clone_flags);
  if (pid < 0) fail("cloning the container init", g_cgroup2 >= 0 ? "linux.namespaces, linux.cgroupsPath" : "linux.namespaces", errno);
  if (pid == 0) {
    close(pair[0]);
    die_with_berth();
    close(g_berth_pidfd);  // checked once; the container must not hold it
    if (g_cgroup2 >= 0) close(g_cgroup2);
    char go;
    if (read_all(pair[1], &go, 1) != 0) _exit(1);
    close(pair[1]);
    if (rootless_maps) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    stage2(p, flags, late);
  }
  close(pair[1]);
  if (rootless_maps) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (flags & CLONE_NEWUSER) write_id_maps(p, pid);
  run_source_opener(pid);
  if (!send_pid(pid)) {
    kill(pid, SIGKILL);
    _exit(1);
  }
  write_all(pair[0], "g", 1);
  _exit(0);
}

static void stage2(const plan::Plan& p, uint64_t flags, uint64_t late) {
  new_session();
  if (flags & CLONE_NEWUSER || p.uid_map) {
    // Become the namespace's root so files we create belong to the mapped root.
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) fail("becoming root in the user namespace", "linux.uidMappings", errno);
  }
  if (late && unshare((int)late) < 0) fail("creating the cgroup and ipc namespaces", "linux.namespaces", errno);
  umask(0);
  if (p.hostname && sethostname(p.hostname->name, strlen(p.hostname->name)) < 0) fail("setting the hostname", "hostname", errno);
  if (p.domainname && setdomainname(p.domainname->name, strlen(p.domainname->name)) < 0)
    fail("setting the domain name", "domainname", errno);
  if (p.session_keyring) {
    // A keyring of its own, so the container cannot see the host session's keys.
    long id = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, p.session_keyring->name);
    if (id < 0 && errno != ENOSYS) fail("joining a new session keyring", "", errno);
    if (id >= 0) {
      // possessor: all; user: view, read, search (what runc grants too)
      syscall(SYS_keyctl, KEYCTL_SETPERM, id, 0x3f0b0000);
    }
  }
  if (p.oom_score_adj) {
    char v[24];
    int64_t adj = p.oom_score_adj->value;
    if (adj < 0) v[0] = '-', fmt_u64(v + 1, (uint64_t)-adj);
    else fmt_u64(v, (uint64_t)adj);
    int e = write_file("/proc/self/oom_score_adj", v);
    if (e) fail("setting oom_score_adj", "process.oomScoreAdj", e);
  }

  receive_bind_sources(p);
  setup_rootfs(p);
  setup_devices(p);

  // berth runs the prestart and createRuntime hooks now, then sends the state
  // for the createContainer hooks, which run here, in the container's namespaces.
  Reader st;
  if (!send_empty(plan::MSG_HOOKS) || !recv_msg(plan::MSG_HOOKS_DONE, &st)) _exit(1);
  uint32_t len = 0;
  const char* state = st.str(&len);
  run_hooks(p, plan::HOOK_CREATE_CONTAINER, state, len);

  enter_rootfs(p);
  reopen_dev_null(p);
  setup_console(p, true);
  finish_rootfs(p);
  int listener = become_process(p);

  if (!send_empty(plan::MSG_READY) || !recv_msg(plan::MSG_COMMIT, &st)) _exit(1);
  state = st.str(&len);
  // berth took its copy of the listener fd before it answered.
  if (listener >= 0) close(listener);
  // berth has saved the state: from now on the container outlives it.
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  close(g_sync);
  g_sync = -1;

  if (g_fifo >= 0) {
    char c;
    ssize_t n;
    do n = read(g_fifo, &c, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1) fail("waiting for start", "", errno ? errno : EIO);
    // From here `berth start` reads what is left in the fifo: a failure (a
    // startContainer hook's) is its error, not the container's output.
    g_fail_fd = g_fifo;
    // g_fifo stays open (close-on-exec): `berth start` waits for it to close, so it
    // returns only once the user process runs, after the startContainer hooks.
  }
  run_hooks(p, plan::HOOK_START_CONTAINER, state, len);
  exec_process(p);
}
