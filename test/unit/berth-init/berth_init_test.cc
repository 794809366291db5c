// berth-init-test STEP < plan: decodes a plan (as berth-init does) and runs one of
// berth-init's steps against the fake system calls (fake_sys.cc), printing each
// call. Driven by test/unit/berth-init.test.ts; built by scripts/build.mjs.
//   decode    the decoded struct Plan as JSON (plan_dump.gen.cc), or the decoder's error
//   fuzz N    N mutations of the plan (bit flips, truncations) through the decoder
//   rootfs    setup_rootfs: propagation, the rootfs bind, every mount in order
//   devices   setup_rootfs, then setup_devices
//   pivot     setup_rootfs, enter_rootfs, finish_rootfs
//   identity  setup_process_limits, enter_cwd, finalize_identity
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth-init/berth_init.h"

void use_fake_sys();
void dump_plan(const plan::Plan& p);

// Built with AddressSanitizer and UBSan (scripts/build.mjs): a read past the
// message, which sits in a buffer of its exact size, aborts. The decoded plans are
// never freed (nor are they in berth-init, which execs): no leak reports.
extern "C" const char* __asan_default_options() { return "detect_leaks=0"; }

static uint8_t g_buf[plan::MAX_BYTES];

// N corrupted copies of the plan: 1 to 3 bits flipped, or cut short; every third
// with its length field made right again, so the records are reached. Prints how
// many the decoder refused; a crash is the sanitizers'.
static int fuzz(const uint8_t* good, size_t n, long count) {
  uint32_t seed = 1;
  auto rnd = [&](uint32_t m) { return (seed = seed * 1103515245 + 12345) % m; };
  long refused = 0;
  for (long i = 0; i < count; i++) {
    size_t len = i % 10 == 0 ? rnd((uint32_t)n) : n;
    uint8_t* b = (uint8_t*)malloc(len ? len : 1);
    memcpy(b, good, len);
    for (uint32_t k = 0, flips = 1 + rnd(3); len && i % 10 && k < flips; k++) b[rnd((uint32_t)len)] ^= (uint8_t)(1 << rnd(8));
    if (i % 3 == 0 && len >= 16) memcpy(b + 8, &len, 4);
    plan::Plan p;
    const char* why;
    refused += !plan::decode(b, (uint32_t)len, &p, &why);
    free(b);
  }
  printf("%ld of %ld refused\n", refused, count);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) return fprintf(stderr, "usage: berth-init-test STEP < plan\n"), 2;
  setvbuf(stdout, nullptr, _IOLBF, 0);
  size_t n = 0;
  for (ssize_t r; n < sizeof g_buf && (r = read(0, g_buf + n, sizeof g_buf - n)) > 0;) n += (size_t)r;
  const char* step = argv[1];
  if (strcmp(step, "fuzz") == 0) return fuzz(g_buf, n, argc > 2 ? atol(argv[2]) : 100000);
  uint8_t* msg = (uint8_t*)malloc(n ? n : 1);  // its exact size: the sanitizer sees any overread
  memcpy(msg, g_buf, n);
  static plan::Plan p;
  const char* why = "";
  if (!plan::decode(msg, (uint32_t)n, &p, &why)) return printf("error: %s\n", why), 1;
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
