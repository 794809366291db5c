#include "helper/plan.h"

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

const uint8_t* Reader::bytes(uint32_t* len) {
  *len = 0;
  if (!ok || end - p < 5 || p[0] != 3) return ok = false, nullptr;
  uint32_t n = le32(p + 1);
  if ((uint64_t)(end - p) < 5ull + n) return ok = false, nullptr;
  const uint8_t* b = p + 5;
  p += 5 + n;
  *len = n;
  return b;
}

Record Plan::at(const uint8_t* p) {
  uint16_t type;
  memcpy(&type, p, 2);
  return Record{type, p + 8, le32(p + 4)};
}

bool Plan::parse(const uint8_t* buf, uint32_t size, const char** why) {
  if (size < HEADER_BYTES) return *why = "short header", false;
  if (le32(buf) != MAGIC) return *why = "bad magic", false;
  if (le32(buf + 4) != VERSION) return *why = "unsupported plan version", false;
  if (le32(buf + 8) != size) return *why = "length mismatch", false;
  uint32_t n = le32(buf + 12);
  const uint8_t* p = buf + HEADER_BYTES;
  const uint8_t* end = buf + size;
  for (uint32_t i = 0; i < n; i++) {
    if (end - p < 8) return *why = "truncated record header", false;
    Record r = at(p);
    if ((uint64_t)(end - r.data) < r.len) return *why = "record overruns message", false;
    Reader rd = r.reader();
    while (rd.ok && !rd.done()) {
      uint32_t n;
      if (*rd.p == 1) rd.u64();
      else if (*rd.p == 3) rd.bytes(&n);
      else rd.str();
      if (!rd.ok) return *why = "malformed item", false;
    }
    p = r.data + r.len;
  }
  if (p != end) return *why = "trailing bytes", false;
  buf_ = buf, size_ = size, count_ = n;
  return true;
}

bool Plan::first(uint16_t type, Record* out) const {
  bool found = false;
  each(type, [&](const Record& r) {
    if (!found) *out = r, found = true;
  });
  return found;
}

uint32_t Plan::count(uint16_t type) const {
  uint32_t n = 0;
  each(type, [&](const Record&) { n++; });
  return n;
}

}  // namespace plan
