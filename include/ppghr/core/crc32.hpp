// ppghr/core/crc32.hpp - CRC-32/ISO-HDLC (the one zlib.crc32 computes), table-driven.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace ppghr {
namespace detail {

constexpr std::array<std::uint32_t, 256> make_crc32_table() noexcept {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
    t[i] = c;
  }
  return t;
}

inline constexpr std::array<std::uint32_t, 256> kCrc32Table = make_crc32_table();

}  // namespace detail

/// Continues a CRC32: crc32(b, crc32(a)) == crc32(a + b). Start with crc = 0.
[[nodiscard]] inline std::uint32_t crc32(const unsigned char* data, std::size_t n,
                                         std::uint32_t crc = 0) noexcept {
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i) crc = detail::kCrc32Table[(crc ^ data[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

}  // namespace ppghr
