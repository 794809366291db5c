// runHook for the N-API module: runs one OCI hook (prestart, createRuntime,
// poststart, poststop) the way Node's spawnSync did, without loading Node's
// child_process (net, streams: ~7 ms of CPU per create with a hook, and Docker
// always passes one). What a hook gets and what its result means is decided in
// src/hooks/run.ts; this file only spawns, feeds stdin, collects output and waits.
#include <errno.h>
#include <fcntl.h>
#include <napi.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "napi/errors.h"
#include "napi/spawn.h"

namespace {

// What is kept of each of stdout and stderr: berth quotes the start of it in an error.
constexpr size_t kOutputKept = 64 * 1024;

// Without a pidfd (Linux < 5.3): whether pid has exited, leaving it to be reaped.
bool Exited(pid_t pid) {
  siginfo_t si{};
  return waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid;
}

int64_t NowMs() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

// runHook(path, argv, env, cwd, input, timeoutMs): runs path with argv and only env,
// in cwd (null: berth's), input on its stdin (a hook may exit without reading it),
// stdout and stderr collected, every signal at its default and none blocked. At
// timeoutMs (0: none) it is killed with SIGKILL. Returns { status, signal, stdout,
// stderr, timedOut } once it has exited and, unless killed, closed its output;
// { spawnErrno } when it could not be run.
Napi::Value RunHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  std::vector<std::string> args = Strings(info[1]), vars = Strings(info[2]);
  std::string cwd = info[3].IsString() ? info[3].As<Napi::String>().Utf8Value() : "";
  Napi::Buffer<uint8_t> input = info[4].As<Napi::Buffer<uint8_t>>();
  int64_t timeoutMs = info[5].As<Napi::Number>().Int64Value();

  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  auto closeAll = [&] {
    for (int* p : {in, out, err})
      for (int i = 0; i < 2; i++)
        if (p[i] >= 0) close(p[i]), p[i] = -1;
  };
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
    int e = errno;
    closeAll();
    return ThrowErrno(env, "pipe2", e);
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  pid_t pid;
  int rc = SpawnClean(&pid, path, &fa, args, Pointers(vars).data());
  posix_spawn_file_actions_destroy(&fa);
  Napi::Object r = Napi::Object::New(env);
  if (rc != 0) {
    closeAll();
    r.Set("spawnErrno", rc);
    return r;
  }
  for (int* fd : {&in[0], &out[1], &err[1]}) close(*fd), *fd = -1;
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  fcntl(in[1], F_SETFL, O_NONBLOCK);

  std::string text[2];
  size_t sent = 0;
  bool exited = false, timedOut = false;
  int64_t deadline = timeoutMs > 0 ? NowMs() + timeoutMs : -1;
  if (input.Length() == 0) close(in[1]), in[1] = -1;
  // Until it has exited and its output is closed; once killed, only until it has exited.
  while (!(exited && (timedOut || (out[0] < 0 && err[0] < 0)))) {
    pollfd p[4] = {{in[1], POLLOUT, 0}, {out[0], POLLIN, 0}, {err[0], POLLIN, 0}, {pidfd, POLLIN, 0}};
    if (timedOut) p[1].fd = p[2].fd = -1;
    int ms = -1;
    if (deadline >= 0 && !timedOut) ms = (int)std::max<int64_t>(0, deadline - NowMs());
    // Without a pidfd, the child is looked for every 10 ms.
    if (pidfd < 0 && (ms < 0 || ms > 10)) ms = 10;
    int n = poll(p, 4, ms);
    if (n < 0 && errno != EINTR) break;
    if (deadline >= 0 && !timedOut && NowMs() >= deadline) {
      kill(pid, SIGKILL);
      timedOut = true;
      if (in[1] >= 0) close(in[1]), in[1] = -1;
    }
    if (n <= 0) {
      if (pidfd < 0 && Exited(pid)) exited = true;
      continue;
    }
    if (in[1] >= 0 && p[0].revents) {
      ssize_t w = write(in[1], input.Data() + sent, input.Length() - sent);
      if (w > 0) sent += (size_t)w;
      // EPIPE: the hook did not read it all, which it may (its status still counts).
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || sent == input.Length()) close(in[1]), in[1] = -1;
    }
    for (int k = 0; k < 2; k++) {
      int& fd = k == 0 ? out[0] : err[0];
      if (fd < 0 || !p[1 + k].revents) continue;
      char buf[16384];
      ssize_t got = read(fd, buf, sizeof buf);
      if (got > 0 && text[k].size() < kOutputKept) text[k].append(buf, std::min((size_t)got, kOutputKept - text[k].size()));
      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) close(fd), fd = -1;
    }
    if (pidfd >= 0 ? p[3].revents != 0 : Exited(pid)) exited = true;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (pidfd >= 0) close(pidfd);
  closeAll();
  if (WIFEXITED(status)) r.Set("status", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) r.Set("signal", WTERMSIG(status));
  r.Set("stdout", Napi::Buffer<char>::Copy(env, text[0].data(), text[0].size()));
  r.Set("stderr", Napi::Buffer<char>::Copy(env, text[1].data(), text[1].size()));
  r.Set("timedOut", timedOut);
  return r;
}

}  // namespace

void RegisterHook(Napi::Env env, Napi::Object exports) {
  exports.Set("runHook", Napi::Function::New(env, RunHook));
}
