// The machinery under the plan's decoder (plan.gen.cc, generated from
// addon/message/plan.def): the message's records and their typed items, every read
// bounds-checked. Strings point into the one buffer read from the sync socket.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

namespace plan {

enum : uint32_t {
  MAGIC = 0x50545242,  // "BRTP" little-endian
  HEADER_BYTES = 16,
};

struct Bytes {
  const uint8_t* data;
  uint32_t len;
};

// A list of strings, NULL-terminated (as execve takes it).
struct Strs {
  char* const* v;
  uint32_t n;
};

// The records of one type, in message order.
template <class T>
struct List {
  T* items = nullptr;
  uint32_t n = 0;
  const T* begin() const { return items; }
  const T* end() const { return items + n; }
  bool empty() const { return n == 0; }
  // Room for the n counted; add() then fills them again from 0.
  bool reserve(const char** why) {
    if (n && !(items = (T*)calloc(n, sizeof(T)))) return (*why = "out of memory"), false;
    cap_ = n, n = 0;
    return true;
  }
  T* add() { return n < cap_ ? &items[n++] : nullptr; }

 private:
  uint32_t cap_ = 0;
};

// Reads the items of one record or sync message. Any mismatch (wrong kind, out of
// bounds) makes ok false and returns 0 / "" from then on, so callers check once.
struct Reader {
  const uint8_t* p;
  const uint8_t* end;
  bool ok = true;
  uint64_t u64();
  bool boolean();  // a u64 that must be 0 or 1
  const char* str(uint32_t* len = nullptr);
  Bytes bytes();
  Strs strs();  // a u64 count, then that many strings
  bool done() const { return p == end; }
  template <class T>
  T* make() {
    T* t = (T*)calloc(1, sizeof(T));
    if (!t) ok = false;
    static T spare;  // a place to write to when out of memory (ok is false then)
    return t ? t : &spare;
  }
  // The record is well-formed: every item read, nothing left.
  bool finish(const char** why, const char* what) { return ok && done() ? true : ((*why = what), false); }
};

// Checks the header and calls f(type, Reader&) for each record, which returns
// false (having set *why) to stop. False on any malformed framing.
bool check_header(const uint8_t* buf, uint32_t size, const char** why);
template <class F>
bool each_record(const uint8_t* buf, uint32_t size, const char** why, F f) {
  if (!check_header(buf, size, why)) return false;
  uint32_t count;
  __builtin_memcpy(&count, buf + 12, 4);
  const uint8_t* p = buf + HEADER_BYTES;
  const uint8_t* end = buf + size;
  for (uint32_t i = 0; i < count; i++) {
    if (end - p < 8) return (*why = "truncated record header"), false;
    uint16_t type, reserved;
    uint32_t len;
    __builtin_memcpy(&type, p, 2);
    __builtin_memcpy(&reserved, p + 2, 2);
    __builtin_memcpy(&len, p + 4, 4);
    if (reserved != 0) return (*why = "bad record header"), false;
    if ((uint64_t)(end - p - 8) < len) return (*why = "record overruns message"), false;
    Reader rd{p + 8, p + 8 + len};
    if (!f(type, rd)) return false;
    p += 8 + len;
  }
  if (p != end) return (*why = "trailing bytes"), false;
  return true;
}

}  // namespace plan

#include "berth-init/plan.gen.h"
