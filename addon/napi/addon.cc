// The N-API module: the few syscalls Node lacks, each a thin wrapper. Nothing here
// forks or enters namespaces; that is berth-init's job.
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <napi.h>

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <string>
#include <vector>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/scm_rights.h"
#include "berth-init/berth_init.h"
#include "napi/errors.h"
#include "napi/spawn.h"
#include "napi/unix.h"

extern char** environ;

void RegisterSeccomp(Napi::Env env, Napi::Object exports);  // seccomp.cc
void RegisterBpf(Napi::Env env, Napi::Object exports);  // bpf.cc
void RegisterRelay(Napi::Env env, Napi::Object exports);  // relay.cc
void RegisterHook(Napi::Env env, Napi::Object exports);  // hook.cc

namespace {

int Int(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }

// flock(fd, exclusive, wait): advisory lock on a container's directory.
Napi::Value Flock(const Napi::CallbackInfo& info) {
  int op = (info[1].ToBoolean() ? LOCK_EX : LOCK_SH) | (info[2].ToBoolean() ? 0 : LOCK_NB);
  int rc;
  do rc = flock(Int(info, 0), op);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) return ThrowErrno(info.Env(), "flock", errno);
  return info.Env().Undefined();
}

// sameFile(fd, path): whether path names the file open at fd (a locked directory
// still there: not removed, nor made anew, meanwhile); false when path is gone.
Napi::Value SameFile(const Napi::CallbackInfo& info) {
  struct stat held, now;
  if (fstat(Int(info, 0), &held) < 0) return ThrowErrno(info.Env(), "fstat", errno);
  std::string path = info[1].As<Napi::String>();
  if (stat(path.c_str(), &now) < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Napi::Boolean::New(info.Env(), false);
    return ThrowErrno(info.Env(), "stat", errno);
  }
  return Napi::Boolean::New(info.Env(), held.st_dev == now.st_dev && held.st_ino == now.st_ino);
}

// pidfdOpen(pid): a handle that keeps naming this process even if its pid is reused.
Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  int fd = (int)syscall(SYS_pidfd_open, Int(info, 0), 0);
  if (fd < 0) return ThrowErrno(info.Env(), "pidfd_open", errno);
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value PidfdSendSignal(const Napi::CallbackInfo& info) {
  if (syscall(SYS_pidfd_send_signal, Int(info, 0), Int(info, 1), nullptr, 0) < 0)
    return ThrowErrno(info.Env(), "pidfd_send_signal", errno);
  return info.Env().Undefined();
}

// releaseInit(fifo): start's side of the exec fifo, in one call. A read end of its
// own first, so that the write end opens without blocking (and fails with ENXIO only
// when nobody reads: no init waits); the byte the waiting init takes; the fifo
// removed; then a wait until every write end is closed (the init holds one until its
// execve, or its death). Returns what was left to read: "" once the init took the
// byte and had nothing to report. A failed open throws with syscall "open".
Napi::Value ReleaseInit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  int rfd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (rfd < 0) return ThrowErrno(env, "open", errno);
  int wfd = open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (wfd < 0) {
    int err = errno;
    close(rfd);
    return ThrowErrno(env, "open", err);
  }
  const char* failed = write(wfd, "0", 1) != 1 ? "write" : nullptr;
  int err = errno;
  close(wfd);
  if (!failed && unlink(path.c_str()) < 0) failed = "unlink", err = errno;
  struct pollfd p = {rfd, 0, 0};
  if (!failed) {
    int rc;
    do rc = poll(&p, 1, -1);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) failed = "poll", err = errno;
  }
  char left[8192];
  ssize_t n = 0;
  if (!failed) do n = read(rfd, left, sizeof left);
    while (n < 0 && errno == EINTR);
  close(rfd);
  if (failed) return ThrowErrno(env, failed, err);
  return Napi::String::New(env, left, n > 0 ? n : 0);
}

// exitNow(code): _exit(2) at once, without Node's exit: neither V8's teardown nor its
// threads' (0.3-0.9 ms of a call here), nor the restoring of stdio modes Node's streams
// changed (src/cli/run-command.ts calls it only where there are none).
Napi::Value ExitNow(const Napi::CallbackInfo& info) {
  _exit(Int(info, 0));
}

// waitFd(fd, writable, timeoutMs): waits until fd is readable (or writable), or
// hung up; false on timeout. Nothing is read.
Napi::Value WaitFd(const Napi::CallbackInfo& info) {
  struct pollfd p = {Int(info, 0), (short)(info[1].ToBoolean() ? POLLOUT : POLLIN), 0};
  int rc;
  do rc = poll(&p, 1, Int(info, 2));
  while (rc < 0 && errno == EINTR);
  if (rc < 0) return ThrowErrno(info.Env(), "poll", errno);
  return Napi::Boolean::New(info.Env(), rc > 0);
}

// oomNotifier(dir, unified): an fd that becomes readable when the memory cgroup
// at dir has an OOM event. v2: inotify on memory.events (the kernel notifies a
// change of it); v1: an eventfd registered for memory.oom_control through
// cgroup.event_control. Non-blocking, close-on-exec.
Napi::Value OomNotifier(const Napi::CallbackInfo& info) {
  std::string dir = info[0].As<Napi::String>();
  bool unified = info[1].ToBoolean();
  if (unified) {
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) return ThrowErrno(info.Env(), "inotify_init1", errno);
    if (inotify_add_watch(fd, (dir + "/memory.events").c_str(), IN_MODIFY) < 0) {
      int e = errno;
      close(fd);
      return ThrowErrno(info.Env(), "inotify_add_watch memory.events", e);
    }
    return Napi::Number::New(info.Env(), fd);
  }
  int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) return ThrowErrno(info.Env(), "eventfd", errno);
  int ofd = open((dir + "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC);
  int cfd = ofd < 0 ? -1 : open((dir + "/cgroup.event_control").c_str(), O_WRONLY | O_CLOEXEC);
  std::string line = std::to_string(efd) + " " + std::to_string(ofd);
  int e = cfd < 0 ? errno : (write(cfd, line.data(), line.size()) < 0 ? errno : 0);
  if (ofd >= 0) close(ofd);
  if (cfd >= 0) close(cfd);
  if (e) {
    close(efd);
    return ThrowErrno(info.Env(), "registering for memory.oom_control", e);
  }
  return Napi::Number::New(info.Env(), efd);
}

// pollIn(fds, timeoutMs): which of the fds are readable (or hung up), after
// waiting up to timeoutMs for one to be; what was pending is read and dropped.
Napi::Value PollIn(const Napi::CallbackInfo& info) {
  Napi::Array in = info[0].As<Napi::Array>();
  std::vector<struct pollfd> ps(in.Length());
  for (uint32_t i = 0; i < ps.size(); i++) ps[i] = {in.Get(i).As<Napi::Number>().Int32Value(), POLLIN, 0};
  int rc;
  do rc = poll(ps.data(), ps.size(), Int(info, 1));
  while (rc < 0 && errno == EINTR);
  if (rc < 0) return ThrowErrno(info.Env(), "poll", errno);
  Napi::Array out = Napi::Array::New(info.Env(), ps.size());
  char buf[4096];
  for (uint32_t i = 0; i < ps.size(); i++) {
    bool ready = ps[i].revents != 0;
    // Drain eventfd counters and inotify records; a pidfd has nothing to read.
    if (ready) while (read(ps[i].fd, buf, sizeof buf) > 0) {}
    out.Set(i, Napi::Boolean::New(info.Env(), ready));
  }
  return out;
}

// socketpair(seqpacket = false): a connected pair of stream (or seqpacket: CRIU's
// RPC wants one message per packet) sockets, both close-on-exec.
Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  int sv[2];
  int type = info.Length() > 0 && info[0].ToBoolean() ? SOCK_SEQPACKET : SOCK_STREAM;
  if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0) return ThrowErrno(info.Env(), "socketpair", errno);
  Napi::Array a = Napi::Array::New(info.Env(), 2);
  a.Set(0u, sv[0]);
  a.Set(1u, sv[1]);
  return a;
}

// spawn(path, argv, fds): runs path with fds[i] as its fd i (nothing else open
// unless inherited without close-on-exec), as SpawnClean does (napi/spawn.h).
Napi::Value Spawn(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  std::vector<std::string> argv = Strings(info[1]);
  Napi::Array fds = info[2].As<Napi::Array>();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  for (uint32_t i = 0; i < fds.Length(); i++) {
    int fd = fds.Get(i).As<Napi::Number>().Int32Value();
    // dup2 onto itself clears close-on-exec (glibc >= 2.29).
    posix_spawn_file_actions_adddup2(&fa, fd, (int)i);
  }
  pid_t pid;
  int rc = SpawnClean(&pid, path, &fa, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return ThrowErrno(info.Env(), "posix_spawn", rc);
  return Napi::Number::New(info.Env(), pid);
}

// sealedCopy(path): a memfd holding a copy of the file, sealed against any change.
// berth-init is run from it, so no process that enters a container (and could
// reach it through /proc/PID/exe) can write to a binary on the host.
Napi::Value SealedCopy(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  int src = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (src < 0) return ThrowErrno(info.Env(), "open", errno);
  int fd = (int)syscall(SYS_memfd_create, "berth-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) {
    int e = errno;
    close(src);
    return ThrowErrno(info.Env(), "memfd_create", e);
  }
  // Copied in the kernel, not through a buffer here.
  ssize_t n;
  while ((n = sendfile(fd, src, nullptr, 1 << 30)) > 0 || (n < 0 && errno == EINTR)) {
  }
  int err = n < 0 ? errno : 0;
  close(src);
  if (!err && fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) err = errno;
  if (err) {
    close(fd);
    return ThrowErrno(info.Env(), "sealing a copy of berth-init", err);
  }
  return Napi::Number::New(info.Env(), fd);
}

// connectUnix(path): a stream socket connected to a unix socket path (close-on-exec).
Napi::Value ConnectUnix(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  int fd = connect_unix(path);
  if (fd < 0) return ThrowErrno(info.Env(), "connect", -fd);
  return Napi::Number::New(info.Env(), fd);
}

// recvFd(sock): the fd sent with SCM_RIGHTS in the next message (the pty master
// berth-init sends when berth proxies a terminal itself), close-on-exec.
Napi::Value RecvFd(const Napi::CallbackInfo& info) {
  char data[256];
  int fd;
  if (recv_fd(Int(info, 0), data, sizeof data, &fd) < 0) return ThrowErrno(info.Env(), "recvmsg", errno);
  if (fd < 0) return ThrowErrno(info.Env(), "recvmsg", EBADMSG);
  return Napi::Number::New(info.Env(), fd);
}

// recvMsg(sock, size): the next message (at most size bytes; a longer one is
// EMSGSIZE) and the fds that came with it (SCM_RIGHTS, close-on-exec); an empty
// buffer at EOF.
Napi::Value RecvMsg(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<char> data((size_t)Int(info, 1));
  int got[8];
  size_t k;
  bool truncated;
  ssize_t n = recv_fds(Int(info, 0), data.data(), data.size(), got, 8, &k, &truncated);
  if (n < 0) return ThrowErrno(env, "recvmsg", errno);
  Napi::Array fds = Napi::Array::New(env);
  for (size_t i = 0; i < k; i++) fds.Set(i, got[i]);
  if (truncated) return ThrowErrno(env, "recvmsg", EMSGSIZE);
  Napi::Object o = Napi::Object::New(env);
  o.Set("data", Napi::Buffer<char>::Copy(env, data.data(), (size_t)n));
  o.Set("fds", fds);
  return o;
}

// bindMount(source, target): a recursive bind mount (the rootfs where CRIU wants it).
Napi::Value BindMount(const Napi::CallbackInfo& info) {
  std::string src = info[0].As<Napi::String>(), dst = info[1].As<Napi::String>();
  if (mount(src.c_str(), dst.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0) return ThrowErrno(info.Env(), "mount", errno);
  return info.Env().Undefined();
}

// detachMount(target): umount2(MNT_DETACH); false when target is not a mount point.
Napi::Value DetachMount(const Napi::CallbackInfo& info) {
  std::string dst = info[0].As<Napi::String>();
  if (umount2(dst.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) return Napi::Boolean::New(info.Env(), true);
  if (errno == EINVAL || errno == ENOENT) return Napi::Boolean::New(info.Env(), false);
  return ThrowErrno(info.Env(), "umount2", errno);
}

// makeMountPoint(rootfs, destination, file): makes what is missing of destination
// inside rootfs, a directory or (file) an empty file, with berth-init's own
// open_in_root: symlinks followed inside the root (openat2 RESOLVE_IN_ROOT), so a
// rootfs's symlink never sends it outside. restore needs them before CRIU mounts.
Napi::Value MakeMountPoint(const Napi::CallbackInfo& info) {
  std::string root = info[0].As<Napi::String>(), dest = info[1].As<Napi::String>();
  int root_fd = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return ThrowErrno(info.Env(), "open " + root, errno);
  int fd = open_in_root(root_fd, dest.c_str(), O_PATH, true, info[2].ToBoolean());
  close(root_fd);
  if (fd < 0) return ThrowErrno(info.Env(), "openat2", -fd);
  close(fd);
  return info.Env().Undefined();
}

// reconfigureSuper(path, flags): the filesystem mounted at path gets exactly these
// superblock flags (fspick + fsconfig), its mounts' own flags untouched.
Napi::Value ReconfigureSuper(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>();
  Napi::Array flags = info[1].As<Napi::Array>();
  int fd = fspick(AT_FDCWD, path.c_str(), FSPICK_CLOEXEC | FSPICK_NO_AUTOMOUNT);
  if (fd < 0) return ThrowErrno(info.Env(), "fspick", errno);
  for (uint32_t i = 0; i < flags.Length(); i++) {
    std::string f = flags.Get(i).As<Napi::String>();
    if (fsconfig(fd, FSCONFIG_SET_FLAG, f.c_str(), nullptr, 0) < 0) {
      int e = errno;
      close(fd);
      return ThrowErrno(info.Env(), "fsconfig " + f, e);
    }
  }
  int rc = fsconfig(fd, FSCONFIG_CMD_RECONFIGURE, nullptr, nullptr, 0);
  int e = errno;
  close(fd);
  if (rc < 0) return ThrowErrno(info.Env(), "fsconfig reconfigure", e);
  return info.Env().Undefined();
}

// setWindowSize(fd, rows, cols): TIOCSWINSZ on a terminal.
Napi::Value SetWindowSize(const Napi::CallbackInfo& info) {
  struct winsize ws = {};
  ws.ws_row = (unsigned short)Int(info, 1);
  ws.ws_col = (unsigned short)Int(info, 2);
  if (ioctl(Int(info, 0), TIOCSWINSZ, &ws) < 0) return ThrowErrno(info.Env(), "ioctl TIOCSWINSZ", errno);
  return info.Env().Undefined();
}

Napi::Value SetChildSubreaper(const Napi::CallbackInfo& info) {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) return ThrowErrno(info.Env(), "prctl", errno);
  return info.Env().Undefined();
}

// mountSetattrSupported(): whether the kernel has mount_setattr(2) (Linux 5.12),
// and so MOUNT_ATTR_IDMAP: with no arguments it says EINVAL, without it ENOSYS.
Napi::Value MountSetattrSupported(const Napi::CallbackInfo& info) {
  long rc = syscall(SYS_mount_setattr, -1, nullptr, 0, nullptr, 0);
  return Napi::Boolean::New(info.Env(), rc == 0 || errno != ENOSYS);
}

Napi::Value Status(Napi::Env env, int pid, int status) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("pid", pid);
  if (WIFEXITED(status)) o.Set("code", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) o.Set("signal", WTERMSIG(status));
  return o;
}

// reap(pid, wait): waitpid; null while the child runs (unless wait). pid -1: any child.
Napi::Value Reap(const Napi::CallbackInfo& info) {
  int status = 0;
  int flags = (info.Length() > 1 && info[1].ToBoolean() ? 0 : WNOHANG) | __WALL;
  int pid;
  do pid = waitpid(Int(info, 0), &status, flags);
  while (pid < 0 && errno == EINTR);
  if (pid < 0) return ThrowErrno(info.Env(), "waitpid", errno);
  if (pid == 0) return info.Env().Null();
  return Status(info.Env(), pid, status);
}

// waitExit(pid) -> Promise<{pid, code?, signal?}>, waiting on a worker thread.
class WaitWorker : public Napi::AsyncWorker {
 public:
  WaitWorker(Napi::Env env, int pid) : Napi::AsyncWorker(env), pid_(pid), deferred_(env) {}
  void Execute() override {
    int rc;
    do rc = waitpid(pid_, &status_, __WALL);
    while (rc < 0 && errno == EINTR);
    err_ = rc < 0 ? errno : 0;
  }
  void OnOK() override {
    if (err_) {
      Napi::Error e = Napi::Error::New(Env(), std::string("waitpid: ") + strerror(err_));
      e.Set("errno", Napi::Number::New(Env(), err_));
      deferred_.Reject(e.Value());
    } else {
      deferred_.Resolve(Status(Env(), pid_, status_));
    }
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

 private:
  int pid_, status_ = 0, err_ = 0;
  Napi::Promise::Deferred deferred_;
};

Napi::Value WaitExit(const Napi::CallbackInfo& info) {
  auto* w = new WaitWorker(info.Env(), Int(info, 0));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("flock", Napi::Function::New(env, Flock));
  exports.Set("sameFile", Napi::Function::New(env, SameFile));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen));
  exports.Set("pidfdSendSignal", Napi::Function::New(env, PidfdSendSignal));
  exports.Set("connectUnix", Napi::Function::New(env, ConnectUnix));
  exports.Set("oomNotifier", Napi::Function::New(env, OomNotifier));
  exports.Set("pollIn", Napi::Function::New(env, PollIn));
  exports.Set("recvFd", Napi::Function::New(env, RecvFd));
  exports.Set("recvMsg", Napi::Function::New(env, RecvMsg));
  exports.Set("bindMount", Napi::Function::New(env, BindMount));
  exports.Set("detachMount", Napi::Function::New(env, DetachMount));
  exports.Set("makeMountPoint", Napi::Function::New(env, MakeMountPoint));
  exports.Set("reconfigureSuper", Napi::Function::New(env, ReconfigureSuper));
  exports.Set("setWindowSize", Napi::Function::New(env, SetWindowSize));
  exports.Set("sealedCopy", Napi::Function::New(env, SealedCopy));
  exports.Set("socketpair", Napi::Function::New(env, SocketPair));
  exports.Set("spawn", Napi::Function::New(env, Spawn));
  exports.Set("releaseInit", Napi::Function::New(env, ReleaseInit));
  exports.Set("exitNow", Napi::Function::New(env, ExitNow));
  exports.Set("waitFd", Napi::Function::New(env, WaitFd));
  exports.Set("setChildSubreaper", Napi::Function::New(env, SetChildSubreaper));
  exports.Set("reap", Napi::Function::New(env, Reap));
  exports.Set("waitExit", Napi::Function::New(env, WaitExit));
  exports.Set("mountSetattrSupported", Napi::Function::New(env, MountSetattrSupported));
  RegisterSeccomp(env, exports);
  RegisterBpf(env, exports);
  RegisterRelay(env, exports);
  RegisterHook(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(berth, Init)
