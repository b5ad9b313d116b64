// examples/mcu/line.hpp - the output helpers of the MCU example programs (main.cpp,
// spectral_main.cpp): one "key=value" record per line, numbers formatted by hand into a static
// buffer. No printf: newlib's float formatting allocates (and pulls in most of stdio).
// Include it in one translation unit (it defines g_line).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "platform.hpp"

namespace {

class Line {
 public:
  Line& str(const char* s) noexcept {
    while (*s != '\0' && n_ + 1 < sizeof buf_) buf_[n_++] = *s++;
    buf_[n_] = '\0';
    return *this;
  }
  Line& u64(std::uint64_t v) noexcept {
    char d[21];
    int k = 0;
    do {
      d[k++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (k > 0 && n_ + 1 < sizeof buf_) buf_[n_++] = d[--k];
    buf_[n_] = '\0';
    return *this;
  }
  Line& i64(std::int64_t v) noexcept {
    if (v < 0) {
      str("-");
      return u64(static_cast<std::uint64_t>(-(v + 1)) + 1u);
    }
    return u64(static_cast<std::uint64_t>(v));
  }
  Line& hex32(std::uint32_t v, bool prefix = true) noexcept {
    if (prefix) str("0x");
    char d[9];
    for (int i = 0; i < 8; ++i) d[i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xFu];
    d[8] = '\0';
    return str(d);
  }
  /// v with 3 decimals (|v| < 2e6), rounded half away from zero. float only: no soft double.
  Line& fixed3(float v) noexcept {
    const float x = v * 1000.0f;
    const std::int32_t m = static_cast<std::int32_t>(x < 0.0f ? x - 0.5f : x + 0.5f);
    const std::uint32_t a = static_cast<std::uint32_t>(m < 0 ? -m : m);
    if (m < 0) str("-");
    u64(a / 1000).str(".");
    const unsigned f = a % 1000;
    char d[4] = {static_cast<char>('0' + f / 100), static_cast<char>('0' + f / 10 % 10), static_cast<char>('0' + f % 10), '\0'};
    return str(d);
  }
  void flush() noexcept {
    str("\n");
    plat::write(buf_);
    n_ = 0;
    buf_[0] = '\0';
  }

 private:
  char buf_[2048] = {};
  std::size_t n_ = 0;
};

Line g_line;  // static: the stack high-water mark is the program's, not a print buffer's

std::uint32_t bits(float f) noexcept {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

}  // namespace
