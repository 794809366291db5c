// Installs the seccomp filter berth compiled (the plan carries the BPF program).
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helper/helper.h"

using plan::Reader;
using plan::Record;

SeccompWhen seccomp_when(const plan::Plan& p) {
  Record r;
  if (!p.first(plan::REC_NO_NEW_PRIVS, &r)) return SECCOMP_BEFORE_IDENTITY;
  if (p.first(plan::REC_SECCOMP, &r)) {
    Reader rd = r.reader();
    uint32_t n;
    rd.bytes(&n);
    rd.u64();
    if (rd.u64() == 1) return SECCOMP_BEFORE_READY;
  }
  return SECCOMP_BEFORE_EXEC;
}

int install_seccomp(const plan::Plan& p, SeccompWhen when) {
  Record r;
  if (!p.first(plan::REC_SECCOMP, &r) || seccomp_when(p) != when) return -1;
  Reader rd = r.reader();
  uint32_t len = 0;
  const uint8_t* prog = rd.bytes(&len);
  uint64_t flags = rd.u64();
  bool listener = rd.u64() == 1;
  if (!rd.ok || len == 0 || len % sizeof(struct sock_filter) != 0 || len > BPF_MAXINSNS * sizeof(struct sock_filter))
    fail("reading the plan", "linux.seccomp", EINVAL, "malformed seccomp record");
  // A copy, aligned as struct sock_filter wants it.
  static struct sock_filter insns[BPF_MAXINSNS];
  memcpy(insns, prog, len);
  struct sock_fprog fprog = {(unsigned short)(len / sizeof(struct sock_filter)), insns};
  long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned)flags, &fprog);
  if (fd < 0) fail("installing the seccomp filter", "linux.seccomp", errno);
  if (!listener) return -1;
  if (!send_u64(plan::MSG_SECCOMP_FD, (uint64_t)fd)) _exit(1);
  return (int)fd;
}
