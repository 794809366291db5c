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

// Receives one message into data (at most len bytes) and the fd that came with it
// (close-on-exec) in *fd, or -1 when none did. The bytes received, or -1 with errno.
inline ssize_t recv_fd(int sock, void* data, size_t len, int* fd) {
  alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {data, len};
  struct msghdr m = {};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = cbuf;
  m.msg_controllen = sizeof cbuf;
  ssize_t n;
  do n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  *fd = -1;
  struct cmsghdr* c = n < 0 ? nullptr : CMSG_FIRSTHDR(&m);
  if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(fd, CMSG_DATA(c), sizeof *fd);
  return n;
}
