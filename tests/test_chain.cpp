// Chain (models/chain.hpp): the compile-time plan (buffer sizes, where each layer's scratch lies),
// forward() against the layers called one by one into separate buffers (the oracle), tensor
// naming, and the activation memory of every network of the registry against the least any plan
// needs (largest_live) and what no reuse would cost (activation_sum).
#include <doctest/doctest.h>

#include <ppghr/ppghr.hpp>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "test_util.hpp"

using namespace ppghr;

namespace {

// A test layer: y[j] = 0.5 x[j % In] + j + Tag. With Scratch > 0 it first fills its scratch with
// NaN, then writes x into it (wrapped) and reads it back, so a scratch that overlapped its input
// or output would corrupt y (NaN or wrong values) and the oracle comparison would fail.
template <std::size_t In, std::size_t Out, std::size_t Scratch, int Tag>
struct Probe {
  static constexpr std::size_t in_size = In, out_size = Out, param_count = 0, macs = In * Out;
  static constexpr auto descriptor() noexcept { return detail::words(100u + Tag, In, Out); }
  void compute(const float* x, float* y, const float* s) const noexcept {
    for (std::size_t j = 0; j < Out; ++j) y[j] = 0.5f * (s ? s[j % Scratch] : x[j % In]) + float(j) + float(Tag);
  }
  void forward(const float* x, float* y) const noexcept { compute(x, y, nullptr); }
  template <std::size_t S = Scratch, class = std::enable_if_t<(S > 0)>>
  void forward(const float* x, float* y, float* scratch) const noexcept {
    for (std::size_t k = 0; k < Scratch; ++k) scratch[k] = std::numeric_limits<float>::quiet_NaN();
    for (std::size_t k = 0; k < Scratch; ++k) scratch[k] = x[k % In];
    compute(x, y, Scratch >= In ? scratch : nullptr);
  }
};
template <std::size_t In, std::size_t Out, std::size_t Scratch, int Tag>
struct ProbeS : Probe<In, Out, Scratch, Tag> {
  static constexpr std::size_t scratch_size = Scratch;
};

template <class C, std::size_t... I>
std::vector<float> oracle(const C& chain, const std::vector<float>& x, std::index_sequence<I...>) {
  std::vector<float> cur = x;
  auto step = [&](const auto& layer) {
    using L = std::decay_t<decltype(layer)>;
    std::vector<float> y(L::out_size);
    layer.compute(cur.data(), y.data(), nullptr);
    cur = std::move(y);
  };
  (step(chain.template get<I>()), ...);
  return cur;
}

// A visitor that records tensor names.
struct Names {
  std::vector<std::string> names;
  template <class Setter>
  void operator()(const TensorSpec& spec, Setter&&) {
    names.emplace_back(spec.name.text);
  }
};

}  // namespace

TEST_CASE("Chain: the buffer sizes and each layer's scratch place follow the documented rules") {
  // 16 -> 64 -> 32 -> 64 -> 8 values; scratch 16, 16, 100, 0.
  using C = Chain<float, ProbeS<16, 64, 16, 1>, ProbeS<64, 32, 16, 2>, ProbeS<32, 64, 100, 3>, Probe<64, 8, 0, 4>>;
  using P = C::Place;
  static_assert(C::buffer_size == 64, "largest activation between layers");
  static_assert(C::scratch_slot(0).place == P::free_buffer, "layer 0: buffer b is free");
  static_assert(C::scratch_slot(1).place == P::after_output && C::scratch_slot(1).offset == 32,
                "layer 1: 64 + 16 > 64 beside the input, 32 + 16 <= 64 beside its output");
  static_assert(C::scratch_slot(2).place == P::third, "layer 2: 100 fits nowhere");
  static_assert(C::scratch_slot(3).place == P::none, "layer 3: no scratch");
  static_assert(C::third_size == 100 && C::workspace_size == 2 * 64 + 100, "workspace");
  static_assert(C::largest_live == 32 + 64 + 100, "layer 2: input, output and scratch");
  static_assert(C::activation_sum == 64 + 32 + 64 + 16 + 16 + 100, "no reuse");
  static_assert(C::param_count == 0 && C::macs == 16 * 64 + 64 * 32 + 32 * 64 + 64 * 8, "sums");
  static_assert(C::descriptor().size() == 12 && C::descriptor()[3] == 102 && C::descriptor()[9] == 104,
                "the layers' words in order");
  // Scratch beside the input: layer 2 reads 16 values from buffer b, its 32 scratch values go at
  // 16 (64-byte rounded) in b, 16 + 32 <= 64.
  using D = Chain<float, Probe<8, 64, 0, 1>, Probe<64, 16, 0, 2>, ProbeS<16, 16, 32, 3>, Probe<16, 4, 0, 4>>;
  static_assert(D::buffer_size == 64 && D::third_size == 0, "");
  static_assert(D::scratch_slot(2).place == P::after_input && D::scratch_slot(2).offset == 16, "");
  // The third buffer: 40 values fit beside neither the input (16 + 40 > 48) nor the output (48 + 40 > 48).
  using E = Chain<float, Probe<8, 16, 0, 1>, ProbeS<16, 48, 40, 2>, Probe<48, 4, 0, 3>>;
  static_assert(E::buffer_size == 48 && E::scratch_slot(1).place == P::third && E::third_size == 40, "");

  for (int which = 0; which < 3; ++which) {
    auto run = [&](auto tag) {
      using X = decltype(tag);
      auto chain = std::make_unique<X>();
      auto ws = std::make_unique<typename X::Workspace>();
      std::vector<float> x = ppghr_test::random_vector(X::in_size, 7u + unsigned(which));
      std::vector<float> y(X::out_size, -1.f);
      chain->forward(x.data(), y.data(), *ws);
      const auto want = oracle(*chain, x, std::make_index_sequence<X::count>{});
      for (std::size_t j = 0; j < y.size(); ++j) REQUIRE(y[j] == want[j]);
    };
    if (which == 0) run(C{});
    if (which == 1) run(D{});
    if (which == 2) run(E{});
  }
}

TEST_CASE("Chain: tensors are named by layer position, layers without parameters skipped") {
  using C = Chain<float, Conv1d<float, 1, 2, 8, 3, 1, 1, 1, 1, 1, Act::relu>, GlobalAvgPool<float, 2, 8>,
                  Linear<float, 2, 3>>;
  static_assert(C::param_count == 2 * 3 + 2 + 2 * 3 + 3, "");
  C chain;
  Names v;
  chain.visit_tensors(v, [](unsigned i) { return TensorName("fc.").append(i); });
  CHECK(v.names == std::vector<std::string>{"fc.0.weight", "fc.0.bias", "fc.2.weight", "fc.2.bias"});
}

TEST_CASE("every network of the registry: activation memory between the least any plan needs and twice it") {
  registry::for_each([](const auto& e) {
    using Net = typename std::decay_t<decltype(e)>::type;
    using B = typename Net::Body;
    const double ratio = double(B::workspace_size) / double(B::largest_live);
    MESSAGE(std::string(e.name) << ": workspace " << B::workspace_size * sizeof(float) << " B (least any plan: "
                   << B::largest_live * sizeof(float) << " B, ratio " << ratio << "; no reuse: "
                   << B::activation_sum * sizeof(float) << " B)");
    CHECK(B::workspace_size >= B::largest_live);
    // Two buffers each at most the largest live set, plus 64-byte rounding.
    CHECK(B::workspace_size <= 2 * B::largest_live + 2 * 16);
    if (B::count >= 5) CHECK(B::workspace_size < B::activation_sum);
  });
}
