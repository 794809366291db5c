// Pipes between the caller's stdio and a container process (foreground run and
// exec, as runc): the container never holds the caller's terminal or files. Each
// direction is copied by a thread of its own, so a blocked writer on one side
// never stalls the other, and the copying goes on while JS is busy in
// synchronous work (create talks to berth-init synchronously).
#include <errno.h>
#include <fcntl.h>
#include <napi.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <thread>

#include "napi/errors.h"

namespace {

// Writes everything, waiting on a destination someone else made non-blocking.
bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EAGAIN) {
      struct pollfd pf = {fd, POLLOUT, 0};
      if (poll(&pf, 1, -1) < 0 && errno != EINTR) return false;
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

// Copies until `from` ends (EOF or an error), writing to `to` fails, or `to`
// reports an error or hangup: a pipe whose readers are all gone (the container's
// stdin once the process exited), checked before each read so nothing more is
// taken from the caller then.
void Copy(int from, int to) {
  char buf[65536];
  for (;;) {
    struct pollfd p[2] = {{from, POLLIN, 0}, {to, 0, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[1].revents) return;
    ssize_t n = read(from, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0 || !WriteAll(to, buf, (size_t)n)) return;
  }
}

// pipe() -> [read end, write end], both close-on-exec.
Napi::Value Pipe(const Napi::CallbackInfo& info) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) return ThrowErrno(info.Env(), "pipe2", errno);
  Napi::Array a = Napi::Array::New(info.Env(), 2);
  a.Set(0u, fds[0]);
  a.Set(1u, fds[1]);
  return a;
}

// relay(from, to, closeAtEnd, wait): copies from -> to on a thread of its own
// (see Copy), then closes closeAtEnd (the relay's own pipe end). With wait, the
// result is a promise that keeps Node running until then; without, nothing
// (a thread that may still block when Node exits must never call into it).
Napi::Value Relay(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int from = info[0].As<Napi::Number>().Int32Value();
  int to = info[1].As<Napi::Number>().Int32Value();
  int own = info[2].As<Napi::Number>().Int32Value();
  if (!info[3].ToBoolean()) {
    std::thread([=]() {
      Copy(from, to);
      close(own);
    }).detach();
    return env.Undefined();
  }
  auto* done = new Napi::Promise::Deferred(env);
  Napi::Promise promise = done->Promise();
  auto tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "berth-relay", 0, 1);
  std::thread([=]() mutable {
    Copy(from, to);
    close(own);
    tsfn.BlockingCall([done](Napi::Env e, Napi::Function) {
      done->Resolve(e.Undefined());
      delete done;
    });
    tsfn.Release();
  }).detach();
  return promise;
}

}  // namespace

void RegisterRelay(Napi::Env env, Napi::Object exports) {
  exports.Set("pipe", Napi::Function::New(env, Pipe));
  exports.Set("relay", Napi::Function::New(env, Relay));
}
