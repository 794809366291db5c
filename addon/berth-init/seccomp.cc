// Installs the seccomp filter berth compiled (the plan carries the BPF program).
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "berth-init/berth_init.h"

int install_seccomp(const plan::Plan& p, uint64_t when) {
  if (!p.seccomp || p.seccomp->when != when) return -1;
  plan::Bytes prog = p.seccomp->program;
  if (prog.len == 0 || prog.len % sizeof(struct sock_filter) != 0 || prog.len > BPF_MAXINSNS * sizeof(struct sock_filter))
    fail("reading the plan", "linux.seccomp", EINVAL, "malformed seccomp record");
  // A copy, aligned as struct sock_filter wants it.
  static struct sock_filter insns[BPF_MAXINSNS];
  memcpy(insns, prog.data, prog.len);
  struct sock_fprog fprog = {(unsigned short)(prog.len / sizeof(struct sock_filter)), insns};
  long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned)p.seccomp->flags, &fprog);
  if (fd < 0) fail("installing the seccomp filter", "linux.seccomp", errno);
  if (!p.seccomp->listener) return -1;
  if (!send_u64(plan::MSG_SECCOMP_FD, (uint64_t)fd)) _exit(1);
  return (int)fd;
}
