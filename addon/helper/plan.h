// Decoder of the plan message (format and record numbers: addon/message/plan.def).
// Nothing is copied: records and strings point into the one buffer read from the
// sync socket, and every read is bounds-checked.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace plan {

enum : uint32_t {
#define PLAN_VERSION(v) VERSION = v,
#define PLAN_MAX_BYTES(v) MAX_BYTES = v,
#define REC(n, id) REC_##n = id,
#define FLAG(n, v) n = v,
#define MSG(n, v) n = v,
#include "message/plan.def"
#undef PLAN_VERSION
#undef PLAN_MAX_BYTES
#undef REC
#undef FLAG
#undef MSG
  MAGIC = 0x50545242,  // "BRTP" little-endian
  HEADER_BYTES = 16,
};

// Reads the items of one record. Any mismatch (wrong kind, out of bounds) makes
// ok false and returns 0 / "" from then on, so callers check ok once at the end.
struct Reader {
  const uint8_t* p;
  const uint8_t* end;
  bool ok = true;
  uint64_t u64();
  const char* str(uint32_t* len = nullptr);
  const uint8_t* bytes(uint32_t* len);
  bool done() const { return p == end; }
};

struct Record {
  uint16_t type;
  const uint8_t* data;
  uint32_t len;
  Reader reader() const { return Reader{data, data + len}; }
};

class Plan {
 public:
  // Checks the header and that every record is a well-formed item sequence.
  bool parse(const uint8_t* buf, uint32_t size, const char** why);
  // Calls f(Record) for each record of the type, in message order.
  template <class F>
  void each(uint16_t type, F f) const {
    const uint8_t* p = buf_ + HEADER_BYTES;
    for (uint32_t i = 0; i < count_; i++) {
      Record r = at(p);
      if (r.type == type) f(r);
      p = r.data + r.len;
    }
  }
  bool first(uint16_t type, Record* out) const;
  uint32_t count(uint16_t type) const;

 private:
  static Record at(const uint8_t* p);
  const uint8_t* buf_ = nullptr;
  uint32_t size_ = 0, count_ = 0;
};

}  // namespace plan
