// ppghr/models/tiny_cnn.hpp - TinyCnn (family cnn = 6 of docs/blob-format.md; its PyTorch twin is
// tools/ppghr_tools/models.py TinyCnn, arch "tinycnn"): the smallest network declared as a chain
// (models/chain.hpp), the example of how a network is added. Input: the ResNet's window (200
// samples at 25 Hz, band-passed and z-scored); output: the 180 logits.
//   Conv1d(1 -> 8, kernel 5, stride 2, padding 2) + ReLU      [200][1] -> [100][8]
//   Conv1d(8 -> 16, kernel 5, stride 2, padding 2) + ReLU     -> [50][16]
//   global average pool                                       -> [16]
//   Linear(16 -> 180)                                         -> the 180 logits
#pragma once

#include <cstdint>

#include "ppghr/layers/conv1d.hpp"
#include "ppghr/layers/linear.hpp"
#include "ppghr/layers/pooling.hpp"
#include "ppghr/models/chain.hpp"
#include "ppghr/models/network.hpp"

namespace ppghr {

template <class T = float, class S = Owned>
class TinyCnn : public Classifier<TinyCnn<T, S>, T, 200, S> {
 public:
  /// The same network with its weights stored as S2 (core/storage.hpp).
  template <class S2>
  using with_storage = TinyCnn<T, S2>;
  using Conv0 = Conv1d<T, 1, 8, 200, 5, 2, 1, 2, 2, 1, Act::relu, S>;
  using Conv1 = Conv1d<T, 8, 16, Conv0::out_length, 5, 2, 1, 2, 2, 1, Act::relu, S>;
  using Body = chain_t<T, Layers<Conv0, Conv1, GlobalAvgPool<T, 16, Conv1::out_length>,
                                 Linear<T, 16, kNumClasses, Act::none, S>>>;

  static constexpr std::size_t param_count = Body::param_count;  ///< 3,764
  static constexpr std::size_t macs = Body::macs;
  static constexpr std::size_t activation_size = Body::buffer_size;
  static constexpr std::size_t weight_bytes = param_count * sizeof(T);
  static constexpr std::size_t scratch_bytes = sizeof(typename Body::Workspace) + sizeof(Prediction<T>);
  static const std::size_t memory_bytes;  ///< sizeof(TinyCnn): weights, scratch, result
  static constexpr auto descriptor() noexcept {
    return detail::concat(detail::words(Op::net, Family::cnn, 1, 1, 200, kNumClasses), Body::descriptor());
  }
  static constexpr std::uint64_t fingerprint = ppghr::fingerprint(descriptor());

  void forward(const T* window, T* logits) noexcept { body_.forward(window, logits, ws_); }
  template <class V>
  void visit_tensors(V& v) noexcept {
    body_.visit_tensors(v, [](unsigned i) { return TensorName(i == 0 ? "conv0" : i == 1 ? "conv1" : "dense"); });
  }

 private:
  Body body_;
  typename Body::Workspace ws_;
};

template <class T, class S>
const std::size_t TinyCnn<T, S>::memory_bytes = sizeof(TinyCnn<T, S>);

}  // namespace ppghr
