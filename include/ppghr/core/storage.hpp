// ppghr/core/storage.hpp - where a layer's weights live: in the object (Owned, the default) or in
// the blob the network was loaded from (InPlace: weights read from flash / read-only memory).
//
// Every layer with weights declares each weight tensor as a Param<T, N, S>:
//   - Param<T, N, Owned> is a 64-byte-aligned std::array<T, N>; load() validates the blob, then
//     copies (and repacks) each tensor into it. The blob can be freed afterwards.
//   - Param<T, N, InPlace> is one pointer; load() validates the blob, then points each Param at its
//     tensor's data inside the blob, copying nothing. The blob must hold the tensors in the layers'
//     own order (dtype 3, "float32 in the kernels' order": docs/blob-format.md; write one with
//     ppghr::write_packed_blob(), or `ppghr-estimate --write-in-place`), start at a multiple of 64
//     bytes (kAlign) and outlive the network: it is the network's weights.
// A network takes the storage as its last template parameter (SpecNet<2, 16, float, InPlace>);
// in_place_t<Net> names a network's in-place twin. Both load all-or-nothing: a blob that fails
// validation leaves the previous weights (copies or pointers) as they were.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "ppghr/core/config.hpp"
#include "ppghr/core/tensor.hpp"

namespace ppghr {

/// The weights are copies inside the network object (RAM). The default.
struct Owned {};
/// The weights are read where they lie, inside the blob the network was loaded from (flash).
struct InPlace {};

template <class S>
inline constexpr bool is_in_place_v = std::is_same_v<S, InPlace>;

template <class T, std::size_t N, class S>
class Param;

/// A weight tensor the layer owns: a 64-byte-aligned std::array (its whole interface).
template <class T, std::size_t N>
class alignas(kAlign) Param<T, N, Owned> : public std::array<T, N> {
 public:
  static constexpr bool owning = true;
};

/// A weight tensor read in place: a pointer to its first element inside a loaded dtype-3 blob,
/// null until a load succeeds. Read-only.
template <class T, std::size_t N>
class Param<T, N, InPlace> {
  // The blob's bytes are the values: IEEE-754 binary32, little-endian (docs/blob-format.md).
  static_assert(std::is_same_v<T, float>, "InPlace weights: the blob holds float32, so T must be float");
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "InPlace weights need a little-endian target");
#endif

 public:
  static constexpr bool owning = false;
  using value_type = T;
  [[nodiscard]] static constexpr std::size_t size() noexcept { return N; }
  [[nodiscard]] const T* data() const noexcept { return p_; }
  [[nodiscard]] const T& operator[](std::size_t i) const noexcept { return p_[i]; }
  [[nodiscard]] const T* begin() const noexcept { return p_; }
  [[nodiscard]] const T* end() const noexcept { return p_ + N; }
  /// Points at the tensor's data in the blob (the loader has checked its size and alignment).
  void bind(const TensorSource& s) noexcept { p_ = reinterpret_cast<const T*>(s.bytes()); }

 private:
  const T* p_ = nullptr;
};

namespace detail {

template <class V, class P, class F, class = void>
struct takes_param : std::false_type {};
template <class V, class P, class F>
struct takes_param<V, P, F,
                   std::void_t<decltype(std::declval<V&>()(std::declval<const TensorSpec&>(), std::declval<F&>(),
                                                          std::declval<const P&>()))>> : std::true_type {};

}  // namespace detail

/// What a layer's visit_tensors() calls for each weight tensor: v(spec, setter), where the setter
/// is `set` (copy / repack the blob tensor into the layer's own Param; a generic lambda, so it is
/// never instantiated for in-place storage) or, for an InPlace Param, a bind to the blob's data.
/// A visitor that also takes the Param (v(spec, setter, param): write_packed_blob's) gets it, to
/// read the layer's weights in the layer's own order.
template <class V, class P, class F>
void visit_param(V& v, const TensorSpec& spec, P& param, F&& set) noexcept {
  if constexpr (P::owning) {
    if constexpr (detail::takes_param<V, P, F>::value) v(spec, set, static_cast<const P&>(param));
    else v(spec, set);
  } else {
    auto bind = [&param](const TensorSource& s) { param.bind(s); };
    if constexpr (detail::takes_param<V, P, decltype(bind)>::value) v(spec, bind, static_cast<const P&>(param));
    else v(spec, bind);
  }
}

/// visit_param with a plain copy (the tensor's blob order is the layer's order).
template <class V, class P>
void visit_param(V& v, const TensorSpec& spec, P& param) noexcept {
  visit_param(v, spec, param, [&param](const auto& s) { copy_tensor(s, param.data()); });
}

}  // namespace ppghr
