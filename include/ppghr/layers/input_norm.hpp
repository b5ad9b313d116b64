// ppghr/layers/input_norm.hpp - per-row input normalisation with constants that travel in the
// blob (the PULSE networks' training-set z-score, docs/blob-format.md op INPUT_NORM):
//     y[r][t] = (x[r][t] - mean[r]) / std[r].
//
// Layout: x is the raw window [Rows][Length] (row r = sensor channel r, row-major); y is
// [Rows][Length][1], i.e. the same index order, ready for a RowConv1d with one input channel.
// The blob tensor is `input_norm` [Rows][2] holding (mean, std) per row. A std that is not > 0
// is refused at load (Status::invalid_weight, see check()); the loader's own checks already
// refuse NaN and infinity.
#pragma once

#include <array>
#include <cstddef>

#include "ppghr/core/config.hpp"
#include "ppghr/core/fingerprint.hpp"
#include "ppghr/core/storage.hpp"
#include "ppghr/core/tensor.hpp"

namespace ppghr {

namespace reference {
/// norm: [rows][2] = (mean, std) per row; x, y: [rows][length].
template <class T>
void input_norm(const T* x, int rows, int length, const T* norm, T* y) noexcept {
  for (int r = 0; r < rows; ++r)
    for (int t = 0; t < length; ++t)
      y[std::size_t(r) * length + t] = (x[std::size_t(r) * length + t] - norm[2 * r]) / norm[2 * r + 1];
}
}  // namespace reference

template <class T, int Rows, int Length, class S = Owned>
class InputNorm {
  static_assert(Rows > 0 && Length > 0, "InputNorm: the row count and the length must be positive");

 public:
  static constexpr int rows = Rows, length = Length;
  /// Floats of the blob tensor (not counted in the networks' parameter counts, see pulse.hpp).
  static constexpr std::size_t param_count = 2 * std::size_t(Rows);
  static constexpr std::size_t size = std::size_t(Rows) * Length;
  static constexpr std::size_t in_size = size, out_size = size;
  static constexpr auto descriptor() noexcept { return detail::words(Op::input_norm, Rows, Length); }

  /// The blob tensor as it is, [Rows][2]: row r's mean at 2 r, its std at 2 r + 1. An owning
  /// object never loaded has mean 0 and std 1, so it divides by nothing worse than 1.
  Param<T, 2 * std::size_t(Rows), S> norm{};

  InputNorm() noexcept {
    if constexpr (decltype(norm)::owning)
      for (int r = 0; r < Rows; ++r) norm[2 * std::size_t(r) + 1] = T(1);
  }

  [[nodiscard]] T mean(int r) const noexcept { return norm[2 * std::size_t(r)]; }
  [[nodiscard]] T stddev(int r) const noexcept { return norm[2 * std::size_t(r) + 1]; }

  /// The blob tensor's name is `input_norm` itself (no prefix).
  template <class V>
  void visit_tensors(V& v, const TensorName& name) noexcept {
    visit_param(v, TensorSpec(name, {Rows, 2}), norm);
  }

  /// Index of the first element of an `input_norm` tensor [Rows][2] outside its domain (a std
  /// that is not > 0), or -1 when all are valid. The loader has already refused NaN and infinity.
  [[nodiscard]] static long check(const TensorSource& s) noexcept {
    for (int r = 0; r < Rows; ++r)
      if (!(s[2 * std::size_t(r) + 1] > 0.0f)) return 2 * r + 1;
    return -1;
  }

  /// x: [Rows][Length] raw, y: [Rows][Length] normalised; y may equal x. A division, not a
  /// multiplication by 1/std, so the result is PyTorch's to the last bit.
  void forward(const T* x, T* y) const noexcept {
    for (int r = 0; r < Rows; ++r) {
      const T m = mean(r), s = stddev(r);
      const T* xr = x + std::size_t(r) * Length;
      T* yr = y + std::size_t(r) * Length;
      for (int t = 0; t < Length; ++t) yr[t] = (xr[t] - m) / s;
    }
  }
};

}  // namespace ppghr
