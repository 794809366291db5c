#include "berth-init/plan.h"

#include <string.h>

namespace plan {

static uint32_t le32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

uint64_t Reader::u64() {
  if (!ok || end - p < 9 || p[0] != 1) return ok = false, 0;
  uint64_t v;
  memcpy(&v, p + 1, 8);
  p += 9;
  return v;
}

bool Reader::boolean() {
  uint64_t v = u64();
  if (v > 1) ok = false;
  return v == 1;
}

const char* Reader::str(uint32_t* len) {
  if (!ok || end - p < 5 || p[0] != 2) return ok = false, "";
  uint32_t n = le32(p + 1);
  if ((uint64_t)(end - p) < 5ull + n + 1) return ok = false, "";
  const char* s = (const char*)p + 5;
  // Strings carry a NUL and no NUL inside: C string functions can use them as-is.
  if (s[n] != 0 || memchr(s, 0, n) != nullptr) return ok = false, "";
  p += 5 + n + 1;
  if (len) *len = n;
  return s;
}

Bytes Reader::bytes() {
  if (!ok || end - p < 5 || p[0] != 3) return ok = false, Bytes{nullptr, 0};
  uint32_t n = le32(p + 1);
  if ((uint64_t)(end - p) < 5ull + n) return ok = false, Bytes{nullptr, 0};
  Bytes b = {p + 5, n};
  p += 5 + n;
  return b;
}

Strs Reader::strs() {
  static char* const none[1] = {nullptr};
  uint64_t n = u64();
  // Each string takes at least 6 bytes: a count beyond that is a lie.
  if (!ok || n > (uint64_t)(end - p) / 6) return ok = false, Strs{none, 0};
  char** v = (char**)calloc(n + 1, sizeof(char*));
  if (!v) return ok = false, Strs{none, 0};
  for (uint64_t i = 0; i < n; i++) v[i] = (char*)str();
  return ok ? Strs{v, (uint32_t)n} : Strs{none, 0};
}

bool check_header(const uint8_t* buf, uint32_t size, const char** why) {
  if (size < HEADER_BYTES) return *why = "short header", false;
  if (le32(buf) != MAGIC) return *why = "bad magic", false;
  if (le32(buf + 4) != VERSION) return *why = "unsupported plan version", false;
  if (le32(buf + 8) != size) return *why = "length mismatch", false;
  return true;
}

}  // namespace plan
