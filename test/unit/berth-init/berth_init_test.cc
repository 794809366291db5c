// berth-init-test STEP < plan: decodes a plan (as berth-init does) and runs one of
// berth-init's steps against the fake system calls (fake_sys.cc), printing each
// call. Driven by test/unit/berth-init.test.ts; built by scripts/build.mjs.
//   decode    the decoded struct Plan as JSON (plan_dump.gen.cc), or the decoder's error
//   rootfs    setup_rootfs: propagation, the rootfs bind, every mount in order
//   devices   setup_rootfs, then setup_devices
//   pivot     setup_rootfs, enter_rootfs, finish_rootfs
//   identity  setup_process_limits, enter_cwd, finalize_identity
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helper/helper.h"

void use_fake_sys();
void dump_plan(const plan::Plan& p);

static uint8_t g_buf[plan::MAX_BYTES];

int main(int argc, char** argv) {
  if (argc != 2) return fprintf(stderr, "usage: berth-init-test STEP < plan\n"), 2;
  setvbuf(stdout, nullptr, _IOLBF, 0);
  size_t n = 0;
  for (ssize_t r; n < sizeof g_buf && (r = read(0, g_buf + n, sizeof g_buf - n)) > 0;) n += (size_t)r;
  static plan::Plan p;
  const char* why = "";
  if (!plan::decode(g_buf, (uint32_t)n, &p, &why)) return printf("error: %s\n", why), 1;
  const char* step = argv[1];
  if (strcmp(step, "decode") == 0) return dump_plan(p), 0;
  use_fake_sys();
  if (strcmp(step, "identity") == 0) {
    setup_process_limits(p);
    enter_cwd(p);
    finalize_identity(p);
    return 0;
  }
  setup_rootfs(p);
  if (strcmp(step, "devices") == 0) setup_devices(p);
  if (strcmp(step, "pivot") == 0) enter_rootfs(p), finish_rootfs(p);
  return 0;
}
