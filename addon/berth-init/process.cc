// The container process: hooks run by init, limits, identity (user, groups,
// capabilities, no_new_privs), working directory, and the final execve.
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth-init/berth_init.h"
#include "berth-init/sys.h"

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U  // Linux 6.3
#endif

static char* const g_none[1] = {nullptr};
static char* const* g_argv = g_none;
static char* const* g_envp = g_none;
static char g_exe[4096];

void run_hooks(const plan::Plan& p, uint64_t kind, const char* state, uint32_t state_len) {
  for (const plan::Hook& h : p.hooks) {
    if (h.kind != kind) continue;
    const char *path = h.path, *field = h.field;
    uint64_t timeout = h.timeout;
    char* const only_path[2] = {(char*)path, nullptr};
    char* const* argv = h.args.n ? h.args.v : only_path;

    // The state is in a memfd, not a pipe: a hook may exit without reading it, or
    // read part of it, and a state larger than a pipe's buffer still arrives whole
    // (runc ignores EPIPE; here there is none, and no SIGPIPE for the init).
    int in = (int)syscall(SYS_memfd_create, "hook-state", MFD_CLOEXEC | MFD_NOEXEC_SEAL);
    if (in < 0 && errno == EINVAL) in = (int)syscall(SYS_memfd_create, "hook-state", MFD_CLOEXEC);  // before Linux 6.3
    if (in < 0) fail("running hook", field, errno, path);
    if (write_all(in, state, state_len) != 0 || lseek(in, 0, SEEK_SET) < 0) fail("running hook", field, errno, path);
    pid_t pid = fork();
    if (pid < 0) fail("running hook", field, errno, path);
    if (pid == 0) {
      // The hook's stdin is the state; its stdout joins our stderr. createContainer
      // hooks start in the rootfs, as under runc (they touch ./lib/...); the
      // startContainer ones in process.cwd, where the init already is.
      dup2(in, 0);
      dup2(2, 1);
      if (kind == plan::HOOK_CREATE_CONTAINER && sys->fchdir(rootfs_fd()) < 0) _exit(127);
      if (reset_signals() != 0) _exit(127);
      execve(path, argv, h.env.v);
      _exit(127);
    }
    close(in);
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd >= 0 && timeout > 0) {
      struct pollfd pl = {pfd, POLLIN, 0};
      int rc;
      do rc = poll(&pl, 1, (int)(timeout * 1000));
      while (rc < 0 && errno == EINTR);
      if (rc == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        fail("running hook", field, ETIMEDOUT, path);
      }
    }
    if (pfd >= 0) close(pfd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      char detail[512];
      if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        snprintf(detail, sizeof detail, "%s: could not be executed", path);
      else if (WIFEXITED(status))
        snprintf(detail, sizeof detail, "%s: exit status %d", path, WEXITSTATUS(status));
      else
        snprintf(detail, sizeof detail, "%s: killed by signal %d", path, WTERMSIG(status));
      fail("running hook", field, 0, detail);
    }
  }
}

void setup_process_limits(const plan::Plan& p) {
  for (const plan::Rlimit& l : p.rlimits) {
    struct rlimit lim = {(rlim_t)l.soft, (rlim_t)l.hard};
    if (sys->setrlimit((int)l.resource, &lim) < 0) fail("setting rlimit", l.field, errno);
  }
  if (p.personality && sys->personality((unsigned long)p.personality->persona) < 0)
    fail("setting personality", "linux.personality", errno);
}

static bool executable(const char* path) {
  struct stat st;
  return sys->stat(path, &st) == 0 && S_ISREG(st.st_mode) && faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) == 0;
}

void resolve_executable(const plan::Plan& p) {
  if (p.args) g_argv = p.args->values.v;
  if (p.env) g_envp = p.env->values.v;
  if (!g_argv[0]) return;  // no process: start refuses to run this container
  const char* name = g_argv[0];
  if (strchr(name, '/')) {
    if (!executable(name)) fail("finding the executable", "process.args", errno ? errno : EACCES, name);
    snprintf(g_exe, sizeof g_exe, "%s", name);
    return;
  }
  const char* path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (char* const* e = g_envp; *e; e++)
    if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
  for (const char* d = path; *d;) {
    const char* end = strchrnul(d, ':');
    int n = (int)(end - d);
    snprintf(g_exe, sizeof g_exe, "%.*s%s%s", n, d, n ? "/" : "", name);
    if (executable(g_exe)) return;
    d = *end ? end + 1 : end;
  }
  char detail[512];
  snprintf(detail, sizeof detail, "\"%s\": executable file not found in $PATH", name);
  fail("finding the executable", "process.args", ENOENT, detail);
}

static const char* cwd_of(const plan::Plan& p) { return p.cwd ? p.cwd->path : "/"; }

// Whether the cwd must still be entered as the process's user (root could not).
static bool g_cwd_as_user;

// getcwd(2) answers "(unreachable)/..." for a directory outside our root (one
// reached through a host fd, CVE-2024-21626) and ENOENT for a deleted one: either
// way the process would not be in the container.
static void check_cwd_inside(const char* cwd) {
  static char buf[PATH_MAX + 1];
  long n = sys->getcwd(buf, sizeof buf);
  if (n >= 0 && buf[0] == '/') return;
  char detail[PATH_MAX + 64];
  snprintf(detail, sizeof detail, "%s is outside the container's root", cwd);
  fail("changing to the working directory", "process.cwd", n < 0 ? errno : ENOENT, detail);
}

// Changes into process.cwd as root, before the identity switch, so a directory
// only root may enter (/root, 0700) works for any user, as under runc; the user
// keeps it across setuid. Only when root itself is refused (a user namespace that
// does not own the directory) does finalize_identity try again as the user.
void enter_cwd(const plan::Plan& p) {
  const char* cwd = cwd_of(p);
  g_cwd_as_user = sys->chdir(cwd) < 0;
  if (!g_cwd_as_user) return check_cwd_inside(cwd);
  if (errno != EACCES && errno != EPERM) fail("changing to the working directory", "process.cwd", errno, cwd);
}

// Every signal at its default action and none blocked, as a process runc starts
// has them: an ignored signal stays ignored across execve, and berth-init ignores
// SIGPIPE, and posix_spawn left glibc's internal signals (32, 33) ignored. The
// raw syscall: glibc's sigaction refuses its internal signals. Returns 0 or errno.
int reset_signals() {
  struct {
    void* handler;
    unsigned long flags;
    void* restorer;
    uint64_t mask;
  } dfl = {(void*)SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig <= 64; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    if (syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof dfl.mask) < 0) return errno;
  }
  sigset_t none;
  sigemptyset(&none);
  return sigprocmask(SIG_SETMASK, &none, nullptr) < 0 ? errno : 0;
}

void finalize_identity(const plan::Plan& p) {
  uint64_t bnd = ~0ull, eff = ~0ull, perm = ~0ull, inh = 0, amb = 0;
  bool have_caps = p.caps;
  if (have_caps) bnd = p.caps->bounding, eff = p.caps->effective, perm = p.caps->permitted, inh = p.caps->inheritable, amb = p.caps->ambient;
  uint64_t uid = 0, gid = 0, umask_v = 022;
  if (p.user) {
    uid = p.user->uid, gid = p.user->gid;
    if (p.user->umask != 0xffffffffull) umask_v = p.user->umask;
  }
  static gid_t groups[65536];
  int ng = 0;
  for (const plan::AddGid& g : p.additional_gids)
    if (ng < 65536) groups[ng++] = (gid_t)g.gid;

  // The bounding set is dropped while we still hold CAP_SETPCAP.
  for (int cap = 0; cap < 64; cap++) {
    if (bnd & (1ull << cap)) continue;
    if (sys->prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      fail("dropping from the bounding set", "process.capabilities.bounding", errno);
  }
  if (sys->prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail("keeping capabilities", "process.user", errno);
  if (sys->setgroups(ng, groups) < 0) {
    // A rootless single-id mapping denies setgroups in the namespace: with no
    // groups asked for, the process keeps the (empty) list it has, as under runc.
    int e = errno;
    char deny[8] = "";
    int fd = sys->open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC, 0);
    if (fd >= 0) read(fd, deny, sizeof deny - 1), close(fd);
    bool denied = e == EPERM && strncmp(deny, "deny", 4) == 0;
    if (!denied || ng > 0)
      fail("setting additional groups", "process.user.additionalGids", e,
           denied ? "setgroups is denied in this user namespace (a rootless mapping of the user's own gid alone)" : "");
  }
  if (sys->setresgid(gid, gid, gid) < 0) fail("setting gid", "process.user.gid", errno);
  if (sys->setresuid(uid, uid, uid) < 0) fail("setting uid", "process.user.uid", errno);
  if (sys->prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail("keeping capabilities", "process.user", errno);
  if (have_caps) {
    if (sys->capset(eff, perm, inh) < 0) fail("setting capabilities", "process.capabilities", errno);
    sys->prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    for (int cap = 0; cap < 64; cap++)
      if ((amb & (1ull << cap)) && sys->prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
        fail("raising ambient capability", "process.capabilities.ambient", errno);
  }
  // A uid change resets dumpability; stay non-dumpable until execve.
  sys->prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  sys->umask((mode_t)umask_v);

  if (g_cwd_as_user) {
    const char* cwd = cwd_of(p);
    if (sys->chdir(cwd) < 0) fail("changing to the working directory", "process.cwd", errno, cwd);
    check_cwd_inside(cwd);
  }

  if (p.no_new_privs && p.no_new_privs->set && sys->prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    fail("setting no_new_privs", "process.noNewPrivileges", errno);
}

// The profile takes effect at the next execve (what aa_change_onexec does). Set
// while berth still listens, as runc does before it reports ready: a profile the
// kernel does not know fails create (or exec), not start. Written through the
// container's procfs, checked to be procfs.
void apply_apparmor(const plan::Plan& p) {
  if (!p.apparmor) return;
  const char* profile = p.apparmor->profile;
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "exec %s", profile);
  int fd = sys->open("/proc/thread-self/attr/apparmor/exec", O_WRONLY | O_CLOEXEC, 0);
  if (fd < 0 && errno == ENOENT) fd = sys->open("/proc/thread-self/attr/exec", O_WRONLY | O_CLOEXEC, 0);
  // Only procfs may take it: a rootfs without a /proc mount could offer a plain file.
  struct statfs sf;
  if (fd < 0 || fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
    fail("applying the AppArmor profile", "process.apparmorProfile", fd < 0 ? errno : EXDEV, "/proc is not procfs");
  if (write_all(fd, cmd, strlen(cmd)) < 0) fail("applying the AppArmor profile", "process.apparmorProfile", errno, profile);
  close(fd);
}

void exec_process(const plan::Plan& p) {
  unsigned keep = 3 + (p.preserve_fds ? (unsigned)p.preserve_fds->count : 0);
  if (g_sync >= (int)keep) {
    // exec: the socket stays until execve closes it, so a failing execve is still
    // reported to berth. Everything else from fd 3+N on goes.
    fcntl(g_sync, F_SETFD, FD_CLOEXEC);
    for (int fd = (int)keep; fd < g_sync; fd++) close(fd);
    close_from((unsigned)g_sync + 1);
  } else {
    close_from(keep);
  }
  if (!g_argv[0]) fail("exec", "process", EINVAL, "the config has no process");
  install_seccomp(p, plan::SECCOMP_BEFORE_EXEC);
  execve(g_exe, g_argv, g_envp);
  fail("exec", "process.args", errno, g_exe);
}
