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
#include "ppghr/models/chain.hpp"
#include "ppghr/models/network.hpp"

namespace ppghr {

namespace mlp {
inline constexpr int kInputLength = 200;
constexpr int width(int variant) noexcept {
  return variant == 1 ? 40 : variant == 2 ? 64 : variant == 3 ? 216 : variant == 4 ? 544 : 0;
}
}  // namespace mlp

template <int Variant, class T = float, class S = Owned>
class Mlp : public Classifier<Mlp<Variant, T, S>, T, mlp::kInputLength, S> {
  static_assert(Variant >= 1 && Variant <= 4, "Mlp: the variant must be in 1..4 (widths 40, 64, 216, 544)");

 public:
  static constexpr int variant = Variant;
  static constexpr int width = mlp::width(Variant);
  static constexpr int input_length = mlp::kInputLength;
  /// The same network with its weights stored as S2 (core/storage.hpp).
  template <class S2>
  using with_storage = Mlp<Variant, T, S2>;

  using Body = chain_t<T, ppghr::Layers<Linear<T, mlp::kInputLength, width, Act::relu, S>,
                                          Linear<T, width, width, Act::relu, S>, Linear<T, width, kNumClasses, Act::none, S>>>;

  static constexpr std::size_t param_count = Body::param_count;
  static constexpr std::size_t inference_param_count = param_count;
  static constexpr std::size_t macs = Body::macs;
  static constexpr std::size_t activation_size = Body::buffer_size;
  static constexpr std::size_t weight_bytes = param_count * sizeof(T);
  static constexpr std::size_t scratch_bytes = sizeof(typename Body::Workspace) + sizeof(Prediction<T>);
  static const std::size_t memory_bytes;  ///< sizeof(Mlp): weights, scratch, result

  static constexpr auto descriptor() noexcept {
    return detail::concat(detail::words(Op::net, Family::mlp, Variant, 1, mlp::kInputLength, kNumClasses),
                          Body::descriptor());
  }
  static constexpr std::uint64_t fingerprint = ppghr::fingerprint(descriptor());

  /// window [200] -> logits [180]. No checks.
  void forward(const T* window, T* logits) noexcept { layers_.forward(window, logits, ws_); }

  template <class V>
  void visit_tensors(V& v) noexcept {
    layers_.visit_tensors(v, [](unsigned i) { return TensorName("fc.").append(i); });
  }

 private:
  Body layers_;
  typename Body::Workspace ws_;
};

template <int Variant, class T, class S>
const std::size_t Mlp<Variant, T, S>::memory_bytes = sizeof(Mlp<Variant, T, S>);

}  // namespace ppghr
