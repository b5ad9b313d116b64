// The fast convolution kernel (Conv1d's register-tiled SIMD path, its compile-time padding tiles
// and its fused epilogues) against the reference kernel over randomised shapes.
//
// Shapes are template parameters, so the random shapes are drawn at compile time: a fixed-seed
// constexpr generator picks kRandomShapes (cin, cout, lin, kernel, stride, dilation, padding,
// activation) tuples, covering output lengths from 1 to ~70, channel counts that the default
// SIMD width divides and ones it does not (narrower batches, scalar fallback), every register
// tile shape and every split of the output into head / run-time / tail tiles. Hand-picked edge
// cases follow. Tolerance as in test_layers.cpp: 1e-6 * (fan_in + 1) against a double reference.
#include <doctest/doctest.h>

#include <ppghr/ppghr.hpp>

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "test_util.hpp"

using namespace ppghr;
using ppghr_test::max_abs_diff;
using ppghr_test::random_vector;

namespace {

struct Shape {
  int cin, cout, lin, k, s, d, pl, pr, act;
};

constexpr std::uint64_t next(std::uint64_t& state) {
  state = state * 6364136223846793005ull + 1442695040888963407ull;
  return state >> 33;
}

constexpr int kRandomShapes = 40;

constexpr std::array<Shape, kRandomShapes> random_shapes() {
  std::array<Shape, kRandomShapes> out{};
  std::uint64_t st = 20260611;
  constexpr int couts[] = {4, 8, 12, 16, 20, 24, 32, 40, 48, 64, 96, 128, 3, 5, 6};
  for (auto& sh : out) {
    sh.cin = 1 + int(next(st) % 40);
    sh.cout = couts[next(st) % (sizeof(couts) / sizeof(couts[0]))];
    sh.k = 1 + int(next(st) % 7);
    sh.s = 1 + int(next(st) % 3);
    sh.d = 1 + int(next(st) % 4);
    const int span = sh.d * (sh.k - 1) + 1;
    sh.pl = int(next(st) % std::uint64_t(span));
    sh.pr = int(next(st) % std::uint64_t(span));
    sh.lin = 1 + int(next(st) % 70);
    if (sh.lin + sh.pl + sh.pr < span) sh.lin = span - sh.pl - sh.pr;
    sh.act = int(next(st) % 2);
  }
  return out;
}
constexpr auto kShapes = random_shapes();

template <int CIn, int COut, int LIn, int K, int S, int D, int PL, int PR, Act A>
void check_conv(std::uint32_t seed) {
  using L = Conv1d<float, CIn, COut, LIn, K, S, D, PL, PR, 1, A>;
  auto layer = std::make_unique<L>();
  const auto w = random_vector(L::weight_count, seed);
  const auto b = random_vector(COut, seed + 1);
  const auto x = random_vector(L::in_size, seed + 2);
  layer->set_weight(w);
  layer->set_bias(b);
  std::vector<double> wd(w.begin(), w.end()), bd(b.begin(), b.end()), xd(x.begin(), x.end());
  std::vector<double> ref(L::out_size);
  reference::conv1d<double>(xd.data(), CIn, LIn, wd.data(), bd.data(), COut, K, S, D, PL, PR, 1, A, ref.data());
  std::vector<float> reff(ref.begin(), ref.end());
  // Guard cells around the output: the kernel must write exactly out_size values.
  constexpr std::size_t kGuard = 64;
  std::vector<float> y(L::out_size + 2 * kGuard, -7.f), ys(L::out_size, std::numeric_limits<float>::quiet_NaN());
  layer->forward(x.data(), y.data() + kGuard);
  layer->forward_scalar(x.data(), ys.data());
  const double tol = 1e-6 * (CIn * K + 1);
  INFO("conv cin=" << CIn << " cout=" << COut << " lin=" << LIn << " k=" << K << " s=" << S << " d=" << D
                   << " pad=" << PL << "," << PR << " act=" << int(A) << " lout=" << L::out_length
                   << " vector_width=" << L::vector_width);
  CHECK(max_abs_diff(y.data() + kGuard, reff.data(), L::out_size) <= tol);
  CHECK(max_abs_diff(ys.data(), reff.data(), L::out_size) <= tol);
  bool guards_intact = true;
  for (std::size_t i = 0; i < kGuard; ++i)
    guards_intact = guards_intact && y[i] == -7.f && y[kGuard + L::out_size + i] == -7.f;
  CHECK(guards_intact);
}

template <std::size_t I>
void check_random_shape() {
  constexpr Shape s = kShapes[I];
  check_conv<s.cin, s.cout, s.lin, s.k, s.s, s.d, s.pl, s.pr, s.act ? Act::relu : Act::none>(
      std::uint32_t(1000 + 7 * I));
}

template <std::size_t... I>
void check_random_shapes(std::index_sequence<I...>) {
  (check_random_shape<I>(), ...);
}

// An epilogue that adds a per-(t, o) value, in both the vector and the scalar form.
struct AddTable {
  const float* table;  // [lout][cout]
  int cout;
  template <class V>
  V operator()(const V& v, int t, int o) const noexcept {
    if constexpr (std::is_same_v<V, float>) {
      return v + table[t * cout + o];
    } else {
      return v + V::load_unaligned(table + t * cout + o);
    }
  }
};

}  // namespace

TEST_CASE("Conv1d's fast kernel matches the reference over randomised shapes") {
  check_random_shapes(std::make_index_sequence<kRandomShapes>{});
}

TEST_CASE("Conv1d's fast kernel: hand-picked edge cases") {
  std::uint32_t s = 500;
  // cin, cout, lin, k, stride, dilation, pad_l, pad_r, act
  check_conv<1, 32, 200, 5, 1, 1, 2, 2, Act::relu>(s += 3);     // ResNet stem
  check_conv<1, 16, 256, 3, 1, 2, 2, 2, Act::relu>(s += 3);     // PULSE student stage 1
  check_conv<1, 32, 256, 5, 1, 2, 4, 4, Act::relu>(s += 3);     // PULSE teacher stage 1
  check_conv<16, 24, 64, 3, 1, 3, 3, 3, Act::relu>(s += 3);     // 24 channels: a narrower batch on AVX-512
  check_conv<24, 32, 16, 3, 1, 4, 4, 4, Act::relu>(s += 3);
  check_conv<48, 64, 32, 5, 1, 2, 4, 4, Act::relu>(s += 3);     // 48: three vectors per tile
  check_conv<128, 128, 4, 5, 1, 1, 2, 2, Act::none>(s += 3);    // every tap near padding
  check_conv<128, 128, 7, 5, 2, 1, 2, 2, Act::relu>(s += 3);
  check_conv<64, 128, 13, 5, 1, 1, 2, 2, Act::none>(s += 3);
  check_conv<32, 32, 200, 5, 2, 1, 1, 2, Act::relu>(s += 3);    // strided, asymmetric padding
  check_conv<8, 16, 1, 1, 1, 1, 0, 0, Act::none>(s += 3);       // one step, 1x1
  check_conv<4, 16, 3, 9, 1, 1, 4, 4, Act::none>(s += 3);       // kernel much longer than the input
  check_conv<4, 16, 40, 3, 1, 1, 20, 20, Act::relu>(s += 3);    // padding longer than a tile
  check_conv<3, 7, 29, 3, 2, 1, 1, 1, Act::relu>(s += 3);       // no SIMD width divides 7: scalar
}

TEST_CASE("Conv1d's fused epilogue sees every output once, in both paths") {
  using L = Conv1d<float, 24, 64, 37, 5, 2, 1, 2, 2, 1, Act::relu>;
  auto layer = std::make_unique<L>();
  layer->set_weight(random_vector(L::weight_count, 71));
  layer->set_bias(random_vector(64, 72));
  const auto x = random_vector(L::in_size, 73);
  const auto table = random_vector(L::out_size, 74);
  std::vector<float> plain(L::out_size), fused(L::out_size), fused_scalar(L::out_size);
  layer->forward(x.data(), plain.data());
  const AddTable epi{table.data(), 64};
  layer->forward(x.data(), fused.data(), epi);
  layer->forward_scalar(x.data(), fused_scalar.data(), epi);
  for (std::size_t i = 0; i < plain.size(); ++i) plain[i] += table[i];
  CHECK(max_abs_diff(fused.data(), plain.data(), plain.size()) <= 1e-6);
  CHECK(max_abs_diff(fused_scalar.data(), plain.data(), plain.size()) <= 1e-4);
}
