// ppghr/models/mlp.hpp - the MLP students (networks.md section 4; widths chosen by us, see
// docs/blob-format.md): flatten the 200-sample window -> Linear(200, w) -> ReLU -> Linear(w, w)
// -> ReLU -> Linear(w, 180). Variant k = 1..4 has w = 40, 64, 216, 544, matching the parameter
// budgets of the ResNet students N = 1, 2, 6, 10 (17,060 / 28,724 / 129,348 / 503,924).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "ppghr/core/config.hpp"
#include "ppghr/core/fingerprint.hpp"
#include "ppghr/core/tensor.hpp"
#include "ppghr/layers/linear.hpp"
#include "ppghr/models/network.hpp"

namespace ppghr {

namespace mlp {
inline constexpr int kInputLength = 200;
constexpr int width(int variant) noexcept {
  return variant == 1 ? 40 : variant == 2 ? 64 : variant == 3 ? 216 : variant == 4 ? 544 : 0;
}
}  // namespace mlp

template <int Variant, class T = float>
class Mlp : public Classifier<Mlp<Variant, T>, T, mlp::kInputLength> {
  static_assert(Variant >= 1 && Variant <= 4, "Mlp: the variant must be in 1..4 (widths 40, 64, 216, 544)");

 public:
  static constexpr int variant = Variant;
  static constexpr int width = mlp::width(Variant);
  static constexpr int input_length = mlp::kInputLength;

  using Fc0 = Linear<T, mlp::kInputLength, width, Act::relu>;
  using Fc1 = Linear<T, width, width, Act::relu>;
  using Fc2 = Linear<T, width, kNumClasses>;

  static constexpr std::size_t param_count = Fc0::param_count + Fc1::param_count + Fc2::param_count;
  static constexpr std::size_t inference_param_count = param_count;
  static constexpr std::size_t macs = Fc0::macs + Fc1::macs + Fc2::macs;
  static constexpr std::size_t weight_bytes = param_count * sizeof(T);
  static constexpr std::size_t scratch_bytes = 2 * std::size_t(width) * sizeof(T) + sizeof(Prediction<T>);
  static const std::size_t memory_bytes;  ///< sizeof(Mlp): weights, scratch, result

  static constexpr auto descriptor() noexcept {
    return detail::concat(detail::words(Op::net, Family::mlp, Variant, 1, mlp::kInputLength, kNumClasses),
                          Fc0::descriptor(), Fc1::descriptor(), Fc2::descriptor());
  }
  static constexpr std::uint64_t fingerprint = ppghr::fingerprint(descriptor());

  /// window [200] -> logits [180]. No checks.
  void forward(const T* window, T* logits) noexcept {
    fc0_.forward(window, h0_.data());
    fc1_.forward(h0_.data(), h1_.data());
    fc2_.forward(h1_.data(), logits);
  }

  template <class V>
  void visit_tensors(V& v) noexcept {
    fc0_.visit_tensors(v, TensorName("fc.0"));
    fc1_.visit_tensors(v, TensorName("fc.1"));
    fc2_.visit_tensors(v, TensorName("fc.2"));
  }

 private:
  Fc0 fc0_;
  Fc1 fc1_;
  Fc2 fc2_;
  alignas(kAlign) std::array<T, width> h0_{};
  alignas(kAlign) std::array<T, width> h1_{};
};

template <int Variant, class T>
const std::size_t Mlp<Variant, T>::memory_bytes = sizeof(Mlp<Variant, T>);

}  // namespace ppghr
