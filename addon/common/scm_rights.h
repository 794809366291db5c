// File descriptors over a unix socket (SCM_RIGHTS), shared by berth-init (the pty
// master to the console socket, bind sources from the opener) and the N-API module
// (the seccomp listener, a pty master from berth-init). Header-only: berth-init
// and the addon are separate products.
#pragma once
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

// Sends len bytes of data with nfds fds (at most 253, SCM_MAX_FD) attached, in one
// sendmsg (EINTR retried, no SIGPIPE). The bytes sent, or -1 with errno.
inline ssize_t send_fds(int sock, const void* data, size_t len, const int* fds, size_t nfds) {
  if (nfds > 253) return errno = EINVAL, -1;
  alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * 253)];
  struct iovec iov = {(void*)data, len};
  struct msghdr m = {};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  if (nfds) {
    memset(cbuf, 0, sizeof cbuf);
    m.msg_control = cbuf;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  ssize_t n;
  do n = sendmsg(sock, &m, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n;
}

// Receives one message into data (at most len bytes) and the fds that came with it
// (close-on-exec; at most max, up to 8) into fds, their number in *nfds. With
// truncated: whether data or fds did not fit. The bytes received, or -1 with errno.
inline ssize_t recv_fds(int sock, void* data, size_t len, int* fds, size_t max, size_t* nfds, bool* truncated = nullptr) {
  alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * 8)];
  if (max > 8) max = 8;
  struct iovec iov = {data, len};
  struct msghdr m = {};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = cbuf;
  m.msg_controllen = CMSG_SPACE(sizeof(int) * max);
  ssize_t n;
  do n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  *nfds = 0;
  if (n < 0) return n;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) && *nfds < max; i++)
      memcpy(&fds[(*nfds)++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
  }
  if (truncated) *truncated = m.msg_flags & (MSG_TRUNC | MSG_CTRUNC);
  return n;
}

// One message and the one fd that came with it in *fd, or -1 when none did.
inline ssize_t recv_fd(int sock, void* data, size_t len, int* fd) {
  size_t k;
  ssize_t n = recv_fds(sock, data, len, fd, 1, &k);
  if (k == 0) *fd = -1;
  return n;
}
