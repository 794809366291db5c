#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "berth-init/berth_init.h"

int g_sync = -1;
int g_fail_fd = -1;

// Small builder for message payloads; messages are small and sent with one write,
// so the two writers of the socket (berth-init and the init it clones) never
// interleave within a message.
namespace {
struct Out {
  uint8_t buf[8192];
  uint32_t n = 8;
  void u64(uint64_t v) {
    if (n + 9 > sizeof buf) return;
    buf[n] = 1;
    memcpy(buf + n + 1, &v, 8);
    n += 9;
  }
  void str(const char* s) {
    uint32_t len = strlen(s);
    if (n + 6 + len > sizeof buf) len = sizeof buf - n - 6;
    buf[n] = 2;
    memcpy(buf + n + 1, &len, 4);
    memcpy(buf + n + 5, s, len);
    buf[n + 5 + len] = 0;
    n += 6 + len;
  }
  bool send(uint32_t type) {
    uint32_t len = n - 8;
    memcpy(buf, &type, 4);
    memcpy(buf + 4, &len, 4);
    return g_sync >= 0 && write_all(g_sync, buf, n) == 0;
  }
};
}  // namespace

bool send_pid(pid_t pid) {
  Out o;
  o.u64((uint64_t)pid);
  return o.send(plan::MSG_PID);
}

bool send_u64(uint32_t type, uint64_t v) {
  Out o;
  o.u64(v);
  return o.send(type);
}

bool send_empty(uint32_t type) {
  Out o;
  return o.send(type);
}

static uint8_t g_rbuf[1 << 20];

bool recv_msg(uint32_t type, plan::Reader* out) {
  uint32_t hdr[2];
  if (read_all(g_sync, hdr, 8) != 0) return false;
  if (hdr[0] != type || hdr[1] > sizeof g_rbuf) return false;
  if (read_all(g_sync, g_rbuf, hdr[1]) != 0) return false;
  *out = plan::Reader{g_rbuf, g_rbuf + hdr[1]};
  return true;
}

void fail(const char* step, const char* field, int err, const char* detail) {
  Out o;
  o.str(step);
  o.str(field ? field : "");
  o.u64((uint64_t)err);
  o.str(detail ? detail : "");
  o.str(err ? strerror(err) : "");
  if (!o.send(plan::MSG_ERROR)) {
    // No one listens any more (after create returned): say it to `berth start`
    // through the exec fifo once it has started us, else on stderr.
    const char* parts[] = {"berth-init: ", step, field && *field ? " (" : "", field ? field : "",
                           field && *field ? ")" : "", ": ", err ? strerror(err) : detail, "\n"};
    int fd = g_fail_fd >= 0 ? g_fail_fd : 2;
    for (const char* s : parts) if (fd == 2 || s != parts[0]) write_all(fd, s, strlen(s));
  }
  _exit(1);
}
