// ppghr/layers/row_pool.hpp - mean pooling along time over a multi-row tensor: PyTorch's
// F.avg_pool2d with kernel (1, k) and stride (1, s) on [channels][rows][time] (the PULSE stages).
// Layout [Rows][Length][Channels] in and out (see row_conv.hpp).
#pragma once

#include <cstddef>

#include "ppghr/core/config.hpp"
#include "ppghr/core/fingerprint.hpp"
#include "ppghr/layers/pooling.hpp"

namespace ppghr {

namespace reference {

/// Naive mean over each window of k steps of each row; x: [rows][lin][channels],
/// y: [rows][lout][channels], lout = (lin - k) / s + 1.
template <class T>
void row_avgpool1d(const T* x, int rows, int channels, int lin, int k, int s, T* y) noexcept {
  const int lout = (lin - k) / s + 1;
  for (int r = 0; r < rows; ++r)
    avgpool1d(x + std::size_t(r) * lin * channels, channels, lin, k, s, y + std::size_t(r) * lout * channels);
}

}  // namespace reference

/// AvgPool1d<T, Channels, LIn, Kernel, Stride> over each of Rows rows, no padding.
/// Input [Rows][LIn][Channels], output [Rows][out_length][Channels].
template <class T, int Rows, int Channels, int LIn, int Kernel, int Stride = Kernel>
class RowAvgPool1d {
  static_assert(Rows > 0, "RowAvgPool1d: the row count must be positive");

 public:
  using Pool = AvgPool1d<T, Channels, LIn, Kernel, Stride>;
  static constexpr int rows = Rows, channels = Channels, in_length = LIn, out_length = Pool::out_length;
  static constexpr std::size_t param_count = 0;
  static constexpr std::size_t in_size = std::size_t(Rows) * LIn * Channels;
  static constexpr std::size_t out_size = std::size_t(Rows) * out_length * Channels;
  static constexpr auto descriptor() noexcept {
    return detail::words(Op::row_avgpool, Rows, Channels, LIn, out_length, Kernel, Stride);
  }

  /// x: [Rows][LIn][Channels], y: [Rows][LOut][Channels]; must not overlap.
  void forward(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y) const noexcept {
    for (int r = 0; r < Rows; ++r)
      Pool{}.forward(x + std::size_t(r) * LIn * Channels, y + std::size_t(r) * out_length * Channels);
  }
};

}  // namespace ppghr
