// A minimal JSON writer for the unit tests' dump of a decoded plan.
#pragma once
#include <inttypes.h>
#include <stdio.h>

#include "berth-init/berth_init.h"

struct Json {
  bool first = true;
  void sep() {
    if (!first) putchar(',');
    first = false;
  }
  void open(char c) { sep(), putchar(c), first = true; }
  void close(char c) { putchar(c), first = false; }
  void key(const char* k) { sep(), printf("\"%s\":", k), first = true; }
  void text(const char* s) {
    sep();
    putchar('"');
    for (; *s; s++) {
      unsigned char c = (unsigned char)*s;
      if (c == '"' || c == '\\') printf("\\%c", c);
      else if (c < 0x20) printf("\\u%04x", c);
      else putchar(c);
    }
    putchar('"');
  }
  void num(uint64_t v) { sep(), printf("\"%" PRIu64 "\"", v); }
  void num(int64_t v) { sep(), printf("\"%" PRId64 "\"", v); }
  void boolean(bool v) { sep(), printf(v ? "true" : "false"); }
  void hex(plan::Bytes b) {
    sep(), putchar('"');
    for (uint32_t i = 0; i < b.len; i++) printf("%02x", b.data[i]);
    putchar('"');
  }
  void texts(plan::Strs v) {
    open('[');
    for (uint32_t i = 0; i < v.n; i++) text(v.v[i]);
    close(']');
  }
  void end() { putchar('\n'); }
};
