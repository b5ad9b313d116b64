// ppghr/layers/channel_pad.hpp - zero-padding in channels (the ResNet shortcut when channels grow).
// [Length][CIn] -> [Length][COut]: Before zero channels, the input, then COut - CIn - Before zeros.
#pragma once

#include <cstddef>

#include "ppghr/core/fingerprint.hpp"

namespace ppghr {

namespace reference {
template <class T>
void channel_pad(const T* x, int cin, int length, int cout, int before, T* y) noexcept {
  for (int t = 0; t < length; ++t)
    for (int c = 0; c < cout; ++c) {
      const int src = c - before;
      y[t * cout + c] = (src >= 0 && src < cin) ? x[t * cin + src] : T(0);
    }
}
}  // namespace reference

template <class T, int CIn, int COut, int Length, int Before = (COut - CIn) / 2>
class ChannelPad {
  static_assert(CIn > 0 && Length > 0, "ChannelPad: channels and length must be positive");
  static_assert(COut >= CIn, "ChannelPad: output channels must be >= input channels");
  static_assert(Before >= 0 && Before + CIn <= COut, "ChannelPad: the input must fit inside the output channels");

 public:
  static constexpr int in_channels = CIn, out_channels = COut, length = Length, before = Before;
  static constexpr std::size_t param_count = 0;
  static constexpr auto descriptor() noexcept { return detail::words(Op::channel_pad, CIn, COut, Before); }
  void forward(const T* x, T* y) const noexcept {
    for (int t = 0; t < Length; ++t) {
      T* yt = y + std::size_t(t) * COut;
      const T* xt = x + std::size_t(t) * CIn;
      for (int c = 0; c < Before; ++c) yt[c] = T(0);
      for (int c = 0; c < CIn; ++c) yt[Before + c] = xt[c];
      for (int c = Before + CIn; c < COut; ++c) yt[c] = T(0);
    }
  }
};

}  // namespace ppghr
