// A stream connection to a unix socket path, shared by the console socket
// (addon.cc) and the seccomp listener (seccomp.cc).
#pragma once
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>

// The connected fd (close-on-exec), or -errno.
inline int connect_unix(const std::string& path) {
  struct sockaddr_un a = {};
  a.sun_family = AF_UNIX;
  if (path.size() >= sizeof a.sun_path) return -ENAMETOOLONG;
  memcpy(a.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int rc;
  do rc = connect(fd, (struct sockaddr*)&a, sizeof a);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}
