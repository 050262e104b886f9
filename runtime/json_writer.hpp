// The profile's JSON writer (profile.cpp, and the modules that add an object of their own to the
// profile, e.g. mod_hdf5.cpp's "io"): pretty-printed onto a FILE*, strings escaped, invalid UTF-8
// replaced by U+FFFD. No libstdc++ containers: the runtime writes it at exit.
#pragma once
#include <stdint.h>
#include <stdio.h>

namespace pc {

class Json {
 public:
  explicit Json(FILE* f) : f_(f) {}
  void begin(char open) {
    value_begin();
    fputc(open, f_);
    depth_++;
    first_[depth_] = true;
  }
  void end(char close) {
    const bool empty = first_[depth_];
    depth_--;
    if (!empty) newline();
    fputc(close, f_);
  }
  void key(const char* k) {
    sep();
    quoted(k);
    fputs(": ", f_);
    after_key_ = true;
  }
  void str(const char* s) {
    value_begin();
    quoted(s);
  }
  void u64(uint64_t v) {
    value_begin();
    fprintf(f_, "%llu", static_cast<unsigned long long>(v));
  }
  void num(double v) {
    value_begin();
    fprintf(f_, "%.9g", v);
  }
  void boolean(bool v) {
    value_begin();
    fputs(v ? "true" : "false", f_);
  }
  void null() {
    value_begin();
    fputs("null", f_);
  }
  void raw(const char* json) {  // an already formatted JSON value
    value_begin();
    fputs(json, f_);
  }
  void str_or_null(const char* s) {
    if (s && *s)
      str(s);
    else
      null();
  }

 private:
  // Length of the valid UTF-8 sequence at p, 1 for ASCII or an invalid byte.
  static int utf8_len(const unsigned char* p) {
    const int n = p[0] >= 0xF0 && p[0] < 0xF5   ? 4
                  : p[0] >= 0xE0 && p[0] < 0xF0 ? 3
                  : p[0] >= 0xC2 && p[0] < 0xE0 ? 2
                                                : 1;
    for (int i = 1; i < n; i++)
      if ((p[i] & 0xC0) != 0x80) return 1;
    return n;
  }
  void quoted(const char* s) {
    fputc('"', f_);
    const unsigned char* p = reinterpret_cast<const unsigned char*>(s);
    while (*p) {
      const int len = utf8_len(p);
      if (len > 1) {
        fwrite(p, 1, static_cast<size_t>(len), f_);
        p += len;
        continue;
      }
      const unsigned char c = *p++;
      if (c == '"' || c == '\\')
        fprintf(f_, "\\%c", c);
      else if (c < 0x20)
        fprintf(f_, "\\u%04x", c);
      else if (c >= 0x80)
        fputs("\\ufffd", f_);  // not valid UTF-8
      else
        fputc(c, f_);
    }
    fputc('"', f_);
  }
  void value_begin() {
    if (after_key_)
      after_key_ = false;
    else
      sep();
  }
  void sep() {
    if (depth_ == 0) return;
    if (!first_[depth_]) fputc(',', f_);
    first_[depth_] = false;
    newline();
  }
  void newline() {
    fputc('\n', f_);
    for (int i = 0; i < depth_; i++) fputc(' ', f_);
  }
  FILE* f_;
  int depth_ = 0;
  bool first_[32] = {};
  bool after_key_ = false;
};

}  // namespace pc
