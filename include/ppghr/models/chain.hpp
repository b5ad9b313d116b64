// ppghr/models/chain.hpp - a network (or the part of one that is a chain) declared once, as a list
// of layer types. Chain<T, L0, L1, ..., Ln-1> derives from that list:
//   param_count, macs            sums over the layers (macs 0 for a layer without one);
//   descriptor()                 the layers' descriptor words, concatenated in order;
//   visit_tensors(v, name_of)    every layer with parameters, in order, named name_of(i) (i = the
//                                layer's position: "fc." + i, "blocks." + i, ...);
//   forward(x, y, ws)            layer 0 reads x, layer n-1 writes y, the layers between alternate
//                                between two buffers of the Workspace (ping-pong);
//   Workspace                    the activation memory: the two buffers, each the size of the
//                                largest activation between two layers, plus a third buffer only
//                                when some layer's scratch fits in neither (below). Its size is a
//                                compile-time constant (workspace_size).
// A layer is any type with in_size, out_size, param_count, descriptor() and
//   void forward(const T* x, T* y) const;              or, when it declares scratch_size > 0,
//   void forward(const T* x, T* y, T* scratch) const;  (scratch: scratch_size values, 64-byte aligned)
// and, when param_count > 0, `template <class V> void visit_tensors(V&, const TensorName&)`.
// A layer that writes more than out_size values into its output buffer before its result (a
// ResNet block's pre-activation) says so with out_footprint. Where the graph is not a chain, the
// layer is a hand-written composite (a residual block, attention) with the same interface.
//
// Scratch placement, decided at compile time per layer: the ping-pong buffer that holds neither the
// layer's input nor its output (the first and the last layer have one), else the free end of the
// input's buffer, else of the output's buffer, else the third buffer.
#pragma once

#include <array>
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ppghr/core/config.hpp"
#include "ppghr/core/fingerprint.hpp"
#include "ppghr/core/tensor.hpp"

namespace ppghr {

/// A list of layer types; chain_t<T, Layers<...>, Layers<...>, ...> joins lists into one Chain.
template <class... Ls>
struct Layers {};

namespace detail {

template <class L, class = void>
struct macs_of : std::integral_constant<std::size_t, 0> {};
template <class L>
struct macs_of<L, std::void_t<decltype(L::macs)>> : std::integral_constant<std::size_t, L::macs> {};

template <class L, class = void>
struct scratch_of : std::integral_constant<std::size_t, 0> {};
template <class L>
struct scratch_of<L, std::void_t<decltype(L::scratch_size)>> : std::integral_constant<std::size_t, L::scratch_size> {};

template <class L, class = void>
struct footprint_of : std::integral_constant<std::size_t, L::out_size> {};
template <class L>
struct footprint_of<L, std::void_t<decltype(L::out_footprint)>>
    : std::integral_constant<std::size_t, L::out_footprint> {};

template <class... Lists>
struct join;
template <class... A>
struct join<Layers<A...>> {
  using type = Layers<A...>;
};
template <class... A, class... B, class... Rest>
struct join<Layers<A...>, Layers<B...>, Rest...> : join<Layers<A..., B...>, Rest...> {};

template <std::size_t, class L>
using same_layer = L;
template <class L, class Seq>
struct repeat_impl;
template <class L, std::size_t... Is>
struct repeat_impl<L, std::index_sequence<Is...>> {
  using type = Layers<same_layer<Is, L>...>;
};

/// n rounded up so that the next value starts 64-byte aligned.
template <class T>
constexpr std::size_t align_values(std::size_t n) noexcept {
  constexpr std::size_t per = kAlign / sizeof(T) > 0 ? kAlign / sizeof(T) : 1;
  return (n + per - 1) / per * per;
}

}  // namespace detail

/// Where a chain puts a layer's scratch (Chain::scratch_slot).
enum class ScratchPlace : unsigned char { none, free_buffer, after_input, after_output, third };
struct ScratchSlot {
  ScratchPlace place;
  std::size_t offset;  ///< values from the start of the buffer
};

/// Layers<L, L, ..., L> (N copies).
template <class L, std::size_t N>
using repeat_t = typename detail::repeat_impl<L, std::make_index_sequence<N>>::type;

template <class T, class... Ls>
class Chain {
  static_assert(sizeof...(Ls) >= 1, "Chain: at least one layer");

 public:
  static constexpr std::size_t count = sizeof...(Ls);
  template <std::size_t I>
  using layer_t = std::tuple_element_t<I, std::tuple<Ls...>>;

  static constexpr std::size_t in_size = layer_t<0>::in_size;
  static constexpr std::size_t out_size = layer_t<count - 1>::out_size;
  static constexpr std::size_t param_count = (std::size_t(0) + ... + Ls::param_count);
  static constexpr std::size_t macs = (std::size_t(0) + ... + detail::macs_of<Ls>::value);

  static constexpr auto descriptor() noexcept { return detail::concat(Ls::descriptor()...); }

 private:
  static constexpr std::array<std::size_t, count> in_{Ls::in_size...};
  static constexpr std::array<std::size_t, count> out_{Ls::out_size...};
  static constexpr std::array<std::size_t, count> footprint_{detail::footprint_of<Ls>::value...};
  static constexpr std::array<std::size_t, count> scratch_{detail::scratch_of<Ls>::value...};

  static constexpr bool links_match() noexcept {
    for (std::size_t i = 0; i + 1 < count; ++i)
      if (out_[i] != in_[i + 1]) return false;
    return true;
  }
  static_assert(links_match(), "Chain: a layer's in_size differs from the previous layer's out_size");
  static_assert(footprint_[count - 1] == out_[count - 1],
                "Chain: the last layer may not write more than out_size values into the caller's output");

  static constexpr std::size_t buffer_size_() noexcept {
    std::size_t b = 0;
    for (std::size_t i = 0; i + 1 < count; ++i) {
      const std::size_t f = detail::align_values<T>(footprint_[i]);
      if (f > b) b = f;
    }
    return b;
  }

 public:
  /// Values of each ping-pong buffer: the largest activation between two layers (64-byte rounded).
  static constexpr std::size_t buffer_size = buffer_size_();

  using Place = ScratchPlace;
  using Slot = ScratchSlot;
  static constexpr Slot scratch_slot(std::size_t i) noexcept {
    const std::size_t s = scratch_[i];
    if (s == 0) return {Place::none, 0};
    const bool has_input_buffer = i > 0, has_output_buffer = i + 1 < count;
    if ((!has_input_buffer || !has_output_buffer) && s <= buffer_size) return {Place::free_buffer, 0};
    if (has_input_buffer) {
      const std::size_t o = detail::align_values<T>(in_[i]);
      if (o + s <= buffer_size) return {Place::after_input, o};
    }
    if (has_output_buffer) {
      const std::size_t o = detail::align_values<T>(footprint_[i]);
      if (o + s <= buffer_size) return {Place::after_output, o};
    }
    return {Place::third, 0};
  }

 private:
  static constexpr std::size_t third_size_() noexcept {
    std::size_t t = 0;
    for (std::size_t i = 0; i < count; ++i)
      if (scratch_slot(i).place == Place::third && scratch_[i] > t) t = scratch_[i];
    return t;
  }

 public:
  /// Values of the third buffer (0 when every scratch fits in the ping-pong buffers).
  static constexpr std::size_t third_size = third_size_();
  /// Values of all activation memory: 2 x buffer_size + third_size.
  static constexpr std::size_t workspace_size = 2 * buffer_size + third_size;

 private:
  static constexpr std::size_t largest_live_() noexcept {
    std::size_t m = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t live = (i > 0 ? in_[i] : 0) + (i + 1 < count ? footprint_[i] : 0) + scratch_[i];
      if (live > m) m = live;
    }
    return m;
  }
  static constexpr std::size_t activation_sum_() noexcept {
    std::size_t s = 0;
    for (std::size_t i = 0; i < count; ++i) s += (i + 1 < count ? footprint_[i] : 0) + scratch_[i];
    return s;
  }

 public:
  /// The most values live at once inside the workspace, over the layers (layer i: its input and
  /// output where they lie between layers, and its scratch): the least any plan over this chain
  /// needs. The ping-pong plan needs at most about twice that.
  static constexpr std::size_t largest_live = largest_live_();
  /// Values every activation between layers and every scratch would need, each in its own buffer.
  static constexpr std::size_t activation_sum = activation_sum_();

  /// The activation memory forward() uses; hold one per network object.
  struct Workspace {
    alignas(kAlign) std::array<T, buffer_size> a{};
    alignas(kAlign) std::array<T, buffer_size> b{};
    alignas(kAlign) std::array<T, third_size> third{};
    T* buffer(std::size_t k) noexcept { return k == 0 ? a.data() : b.data(); }
    const T* buffer(std::size_t k) const noexcept { return k == 0 ? a.data() : b.data(); }
  };

  /// x: in_size values; y: out_size values, not inside ws. No checks.
  void forward(const T* x, T* y, Workspace& ws) const noexcept { run<0>(x, y, ws); }

  /// Layer I's output after forward() (I < count - 1), valid until the next forward().
  template <std::size_t I>
  static const T* output(const Workspace& ws) noexcept {
    static_assert(I + 1 < count, "Chain::output: the last layer writes the caller's output");
    static_assert(I + 2 >= count, "Chain::output: a later layer overwrites this buffer");
    return ws.buffer(I % 2);
  }

  /// Calls v(spec, setter) for every weight tensor, layer by layer; layer i's tensors are named
  /// name_of(i) + their own suffixes (name_of: unsigned -> TensorName).
  template <class V, class NameOf>
  void visit_tensors(V& v, const NameOf& name_of) noexcept {
    visit<0>(v, name_of);
  }

  template <std::size_t I>
  layer_t<I>& get() noexcept {
    return std::get<I>(layers_);
  }
  template <std::size_t I>
  const layer_t<I>& get() const noexcept {
    return std::get<I>(layers_);
  }

 private:
  template <std::size_t I>
  static T* scratch(Workspace& ws) noexcept {
    constexpr Slot s = scratch_slot(I);
    if constexpr (s.place == Place::free_buffer) return ws.buffer(I == 0 ? 1 : I % 2);
    else if constexpr (s.place == Place::after_input) return ws.buffer((I - 1) % 2) + s.offset;
    else if constexpr (s.place == Place::after_output) return ws.buffer(I % 2) + s.offset;
    else return ws.third.data();
  }

  template <std::size_t I>
  void run(const T* x, T* y, Workspace& ws) const noexcept {
    T* out = I + 1 == count ? y : ws.buffer(I % 2);
    if constexpr (scratch_[I] > 0) std::get<I>(layers_).forward(x, out, scratch<I>(ws));
    else std::get<I>(layers_).forward(x, out);
    if constexpr (I + 1 < count) run<I + 1>(out, y, ws);
  }

  template <std::size_t I, class V, class NameOf>
  void visit(V& v, const NameOf& name_of) noexcept {
    if constexpr (layer_t<I>::param_count > 0) std::get<I>(layers_).visit_tensors(v, name_of(unsigned(I)));
    if constexpr (I + 1 < count) visit<I + 1>(v, name_of);
  }

  std::tuple<Ls...> layers_;
};

namespace detail {
template <class T, class List>
struct chain_of;
template <class T, class... Ls>
struct chain_of<T, Layers<Ls...>> {
  using type = Chain<T, Ls...>;
};
}  // namespace detail

/// The Chain of the layer lists joined in order: chain_t<T, Layers<A, B>, repeat_t<C, 3>>.
template <class T, class... Lists>
using chain_t = typename detail::chain_of<T, typename detail::join<Lists...>::type>::type;

}  // namespace ppghr
