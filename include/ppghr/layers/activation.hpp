// ppghr/layers/activation.hpp - ReLU (also fused into Conv1d, BatchNormAffine and Linear).
#pragma once

#include <cstddef>

namespace ppghr {

namespace reference {
template <class T>
void relu(const T* x, std::size_t n, T* y) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] = x[i] < T(0) ? T(0) : x[i];  // NaN stays NaN, as torch.relu
}
}  // namespace reference

/// Element-wise max(x, 0) over Size values; y may equal x. NaN stays NaN.
template <class T, std::size_t Size>
struct ReLU {
  static_assert(Size > 0, "ReLU: size must be positive");
  static constexpr std::size_t size = Size;
  static constexpr std::size_t param_count = 0;
  void forward(const T* x, T* y) const noexcept {
    for (std::size_t i = 0; i < Size; ++i) y[i] = x[i] < T(0) ? T(0) : x[i];
  }
};

}  // namespace ppghr
