// ppghr/core/fingerprint.hpp - architecture descriptors and their FNV-1a 64 fingerprint.
//
// A descriptor is a list of u32 words, one record per operation in forward order
// (docs/blob-format.md lists the op codes). Each layer exposes its record as a constexpr
// std::array; networks concatenate them at compile time. The Python exporter builds the same list.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace ppghr {

/// Op codes of the architecture descriptor (docs/blob-format.md).
enum class Op : std::uint32_t {
  net = 1,
  conv1d = 2,
  affine = 3,
  maxpool1d = 4,
  avgpool1d = 5,
  global_avg_pool = 6,
  linear = 7,
  channel_pad = 8,
  residual_begin = 9,
  shortcut = 10,
  add = 11,
  input_norm = 12,
  row_conv = 13,
  row_avgpool = 14,
  cross_attention = 15,
  layer_norm = 16,
  modality_conv = 17,
  window_norm = 18,
};

/// Activation applied after an op (descriptor word `act`).
enum class Act : std::uint32_t { none = 0, relu = 1 };

/// Network families (descriptor word after NET).
enum class Family : std::uint32_t { resnet1d = 1, pulse_teacher = 2, pulse_student = 3, mlp = 4, specnet = 5, cnn = 6 };

namespace detail {

template <class... Ws>
constexpr std::array<std::uint32_t, sizeof...(Ws)> words(Ws... ws) noexcept {
  return {{static_cast<std::uint32_t>(ws)...}};
}

template <std::size_t... Ns>
constexpr auto concat(const std::array<std::uint32_t, Ns>&... parts) noexcept {
  std::array<std::uint32_t, (Ns + ... + 0)> out{};
  std::size_t pos = 0;
  auto put = [&](const auto& p) {
    for (std::size_t i = 0; i < p.size(); ++i) out[pos + i] = p[i];
    pos += p.size();
  };
  (put(parts), ...);
  return out;
}

inline constexpr std::array<std::uint32_t, 0> kNoWords{};

}  // namespace detail

/// FNV-1a 64 over the little-endian bytes of the words.
template <std::size_t N>
[[nodiscard]] constexpr std::uint64_t fingerprint(const std::array<std::uint32_t, N>& words) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < N; ++i) {
    for (int b = 0; b < 4; ++b) {
      h ^= static_cast<std::uint64_t>((words[i] >> (8 * b)) & 0xFFu);
      h *= 0x100000001b3ull;
    }
  }
  return h;
}

}  // namespace ppghr
