// ppghr/dsp/windower.hpp - cuts a stream of frames into overlapping windows: window k is frames
// [k x Stride, k x Stride + Length). At the network rate with Length = 8 fs_out and
// Stride = 2 fs_out that is seconds [2k, 2k + 8) (common.hpp).
//
// Memory: a ring of Channels x Length values of T (sizeof(Windower) ~ that + 16 bytes).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "ppghr/core/config.hpp"

namespace ppghr {

template <class T, int Channels, int Length, int Stride>
class Windower {
  static_assert(Channels > 0, "Windower: at least one channel");
  static_assert(Length > 0 && Stride > 0, "Windower: length and stride must be positive");

 public:
  using value_type = T;
  static constexpr int channels = Channels;
  static constexpr int length = Length;
  static constexpr int stride = Stride;

  /// Appends one frame (channel c at frame[c]). Returns true when it completes a window; that
  /// window is then available from copy_window() / window_index() until the next push().
  bool push(const T* frame) noexcept {
    for (int c = 0; c < Channels; ++c) ring_[c][pos_] = frame[c];
    pos_ = pos_ + 1 == Length ? 0 : pos_ + 1;
    ++frames_;
    return frames_ >= std::uint64_t(Length) && (frames_ - std::uint64_t(Length)) % std::uint64_t(Stride) == 0;
  }

  /// The last Length frames, channel-major: out[c * Length + j] = frame (frames() - Length + j), channel c.
  void copy_window(T* out) const noexcept {
    for (int c = 0; c < Channels; ++c) {
      T* o = out + std::size_t(c) * Length;
      int j = 0;
      for (int r = pos_; r < Length; ++r) o[j++] = ring_[c][r];
      for (int r = 0; r < pos_; ++r) o[j++] = ring_[c][r];
    }
  }

  /// Index k of the window that the last push() completed (frames() = k Stride + Length).
  [[nodiscard]] std::uint64_t window_index() const noexcept {
    return frames_ >= std::uint64_t(Length) ? (frames_ - std::uint64_t(Length)) / std::uint64_t(Stride) : 0;
  }
  /// Windows completed so far.
  [[nodiscard]] std::uint64_t windows() const noexcept {
    return frames_ >= std::uint64_t(Length) ? (frames_ - std::uint64_t(Length)) / std::uint64_t(Stride) + 1 : 0;
  }
  [[nodiscard]] std::uint64_t frames() const noexcept { return frames_; }

  void reset() noexcept {
    pos_ = 0;
    frames_ = 0;
  }

 private:
  int pos_ = 0;
  std::uint64_t frames_ = 0;
  std::array<std::array<T, Length>, Channels> ring_{};
};

}  // namespace ppghr
