// ppghr/models/registry.hpp - every network of the library, listed once, with its name and the
// input it takes. The names are those of tools/ppghr_tools/archs.py (ARCHS) and of
// tests/golden/fingerprints.txt; a test holds the three equal.
//
//   registry::read_fingerprint(blob, size)  the architecture fingerprint of a blob (0: not a blob)
//   registry::visit(fingerprint, f)         calls f(entry) for the network with that fingerprint
//   registry::visit(name, f)                ... with that name ("resnet2", "specnet10w32", ...)
//   registry::for_each(f)                   calls f(entry) for every network, in the list's order
//   registry::network_t<registry::index_of("specnet2")>   a network's class by name, at compile time
// Each returns whether it found the network. f receives a registry::Entry<Net, Input>: its `type`
// is the network class, `input` what it takes, `name` its name. A visitor is instantiated for every
// network of the list (that is the point: the right type is chosen at run time), so a program that
// visits compiles every network its visitor uses.
//
// Input (how a stream is turned into the network's input):
//   window    one PPG channel, band-passed and z-scored per window (ResNetPreprocessor):
//             ResNet1d, Mlp
//   pulse     PPG + ACC x, y, z as the sensor gives them (PulsePreprocessor::raw_config; the
//             network normalises its own input): PulseTeacher, PulseStudent
//   spectral  the spectral features of SpectralEstimator<C> (run as SpectralNet<C, Net>): SpecNet
//
// Adding a network: its class, one line in Networks and one in `networks` below, its PyTorch twin
// in tools/ppghr_tools/archs.py, its golden file (tools: python3 -m ppghr_tools.golden); the
// command-line tool, the benchmarks that iterate the registry and the golden test take it from here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ppghr/io/blob.hpp"
#include "ppghr/models/mlp.hpp"
#include "ppghr/models/pulse.hpp"
#include "ppghr/models/resnet1d.hpp"
#include "ppghr/models/specnet.hpp"
#include "ppghr/models/tiny_cnn.hpp"

namespace ppghr {
namespace registry {

enum class Input : std::uint8_t { window, pulse, spectral };

template <class Net, Input I>
struct Entry {
  using type = Net;
  static constexpr Input input = I;
  const char* name;
};

namespace detail {
template <int N>
using ResNet = Entry<ResNet1d<N>, Input::window>;
template <int V>
using MlpE = Entry<Mlp<V>, Input::window>;
template <template <pulse::Head, class, pulse::Input, class> class P, pulse::Head H, pulse::Input I>
using Pulse = Entry<P<H, float, I, Owned>, Input::pulse>;
template <int N, int W = 16>
using Spec = Entry<SpecNet<N, W>, Input::spectral>;
constexpr pulse::Head kReg = pulse::Head::regression, kCls = pulse::Head::classes;
constexpr pulse::Input kTrain = pulse::Input::train_set, kWin = pulse::Input::window;
}  // namespace detail

using Networks = std::tuple<
    detail::ResNet<1>, detail::ResNet<2>, detail::ResNet<3>, detail::ResNet<4>, detail::ResNet<5>, detail::ResNet<6>,
    detail::ResNet<7>, detail::ResNet<8>, detail::ResNet<9>, detail::ResNet<10>, detail::ResNet<11>, detail::ResNet<12>,
    detail::MlpE<1>, detail::MlpE<2>, detail::MlpE<3>, detail::MlpE<4>,
    detail::Pulse<PulseTeacher, detail::kReg, detail::kTrain>, detail::Pulse<PulseTeacher, detail::kCls, detail::kTrain>,
    detail::Pulse<PulseTeacher, detail::kReg, detail::kWin>, detail::Pulse<PulseTeacher, detail::kCls, detail::kWin>,
    detail::Pulse<PulseStudent, detail::kReg, detail::kTrain>, detail::Pulse<PulseStudent, detail::kCls, detail::kTrain>,
    detail::Pulse<PulseStudent, detail::kReg, detail::kWin>, detail::Pulse<PulseStudent, detail::kCls, detail::kWin>,
    detail::Spec<1>, detail::Spec<2>, detail::Spec<3>, detail::Spec<4>, detail::Spec<5>, detail::Spec<6>,
    detail::Spec<7>, detail::Spec<8>, detail::Spec<9>, detail::Spec<10>, detail::Spec<11>, detail::Spec<12>,
    detail::Spec<1, 32>, detail::Spec<2, 32>, detail::Spec<3, 32>, detail::Spec<4, 32>, detail::Spec<5, 32>,
    detail::Spec<6, 32>, detail::Spec<7, 32>, detail::Spec<8, 32>, detail::Spec<9, 32>, detail::Spec<10, 32>,
    detail::Spec<11, 32>, detail::Spec<12, 32>, Entry<TinyCnn<>, Input::window>>;

inline constexpr Networks networks{
    {"resnet1"}, {"resnet2"}, {"resnet3"}, {"resnet4"}, {"resnet5"}, {"resnet6"},
    {"resnet7"}, {"resnet8"}, {"resnet9"}, {"resnet10"}, {"resnet11"}, {"resnet12"},
    {"mlp1"}, {"mlp2"}, {"mlp3"}, {"mlp4"},
    {"pulse_teacher"}, {"pulse_teacher_cls"}, {"pulse_teacher_wn"}, {"pulse_teacher_wn_cls"},
    {"pulse_student"}, {"pulse_student_cls"}, {"pulse_student_wn"}, {"pulse_student_wn_cls"},
    {"specnet1"}, {"specnet2"}, {"specnet3"}, {"specnet4"}, {"specnet5"}, {"specnet6"},
    {"specnet7"}, {"specnet8"}, {"specnet9"}, {"specnet10"}, {"specnet11"}, {"specnet12"},
    {"specnet1w32"}, {"specnet2w32"}, {"specnet3w32"}, {"specnet4w32"}, {"specnet5w32"},
    {"specnet6w32"}, {"specnet7w32"}, {"specnet8w32"}, {"specnet9w32"}, {"specnet10w32"},
    {"specnet11w32"}, {"specnet12w32"}, {"tinycnn"}};

inline constexpr std::size_t count = std::tuple_size_v<Networks>;

namespace detail {
template <std::size_t... I>
constexpr bool distinct_fingerprints(std::index_sequence<I...>) {
  constexpr std::uint64_t fp[] = {std::tuple_element_t<I, Networks>::type::fingerprint...};
  for (std::size_t i = 0; i < sizeof...(I); ++i)
    for (std::size_t j = i + 1; j < sizeof...(I); ++j)
      if (fp[i] == fp[j]) return false;
  return true;
}
}  // namespace detail
static_assert(detail::distinct_fingerprints(std::make_index_sequence<count>{}),
              "registry: two networks share a fingerprint");

namespace detail {
// The compile-time facts the tools built on the registry read (benchmarks, the MCU example).
template <class Net, class = void>
struct has_facts : std::false_type {};
template <class Net>
struct has_facts<Net, std::void_t<decltype(Net::param_count), decltype(Net::macs), decltype(Net::weight_bytes),
                                  decltype(Net::scratch_bytes), decltype(Net::memory_bytes),
                                  decltype(Net::activation_size), decltype(Net::input_size)>> : std::true_type {};
template <std::size_t... I>
constexpr bool all_have_facts(std::index_sequence<I...>) {
  return (has_facts<typename std::tuple_element_t<I, Networks>::type>::value && ...);
}
}  // namespace detail
static_assert(detail::all_have_facts(std::make_index_sequence<count>{}),
              "registry: every network declares param_count, macs, weight_bytes, scratch_bytes, memory_bytes, "
              "activation_size");

namespace detail {
constexpr bool same_name(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) ++a, ++b;
  return *a == *b;
}
template <std::size_t... I>
constexpr std::size_t index_of(const char* name, std::index_sequence<I...>) {
  const char* const names[] = {std::get<I>(networks).name...};
  for (std::size_t i = 0; i < sizeof...(I); ++i)
    if (same_name(names[i], name)) return i;
  return sizeof...(I);
}
}  // namespace detail

/// The position of the network named `name` in Networks, or `count` when there is none; constexpr,
/// so a firmware build can pick its network by name at compile time:
///   using Net = ppghr::registry::network_t<ppghr::registry::index_of("resnet2")>;
constexpr std::size_t index_of(const char* name) { return detail::index_of(name, std::make_index_sequence<count>{}); }
/// The network class at position I of Networks.
template <std::size_t I>
using network_t = typename std::tuple_element_t<I, Networks>::type;

/// The architecture fingerprint in a blob's header; 0 when the bytes are too short for a header
/// or do not start with the blob magic (the blob is not validated: Net::load() does that).
[[nodiscard]] inline std::uint64_t read_fingerprint(const unsigned char* data, std::size_t size) noexcept {
  if (data == nullptr || size < blob::kOffFingerprint + 8 || std::memcmp(data, blob::kMagic, 4) != 0) return 0;
  return blob::read_u64(data + blob::kOffFingerprint);
}

/// Calls f(entry) for every network, in the order of Networks.
template <class F>
void for_each(F&& f) {
  std::apply([&](const auto&... e) { (f(e), ...); }, networks);
}

/// Calls f(entry) for the network whose fingerprint is `fingerprint`; false when there is none.
template <class F>
bool visit(std::uint64_t fingerprint, F&& f) {
  bool found = false;
  for_each([&](const auto& e) {
    if (!found && std::decay_t<decltype(e)>::type::fingerprint == fingerprint) {
      found = true;
      f(e);
    }
  });
  return found;
}

/// Calls f(entry) for the network named `name`; false when there is none (name may be null).
template <class F>
bool visit(const char* name, F&& f) {
  bool found = false;
  for_each([&](const auto& e) {
    if (!found && name != nullptr && std::strcmp(e.name, name) == 0) {
      found = true;
      f(e);
    }
  });
  return found;
}

}  // namespace registry
}  // namespace ppghr
