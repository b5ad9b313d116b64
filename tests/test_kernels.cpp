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

// A Conv1d with seeded random weights, bias and input, and its output by the double reference.
template <class L>
struct ConvCase {
  std::unique_ptr<L> layer = std::make_unique<L>();
  std::vector<float> w, b, x, reff;
  ConvCase(std::uint32_t seed, Act act)
      : w(random_vector(L::weight_count, seed)), b(random_vector(L::out_channels, seed + 1)),
        x(random_vector(L::in_size, seed + 2)) {
    layer->set_weight(w);
    layer->set_bias(b);
    std::vector<double> wd(w.begin(), w.end()), bd(b.begin(), b.end()), xd(x.begin(), x.end());
    std::vector<double> ref(L::out_size);
    reference::conv1d<double>(xd.data(), L::in_channels, L::in_length, wd.data(), bd.data(), L::out_channels,
                              L::kernel, L::stride, L::dilation, L::pad_left, L::pad_right, L::groups, act,
                              ref.data());
    reff.assign(ref.begin(), ref.end());
  }
};

template <int CIn, int COut, int LIn, int K, int S, int D, int PL, int PR, Act A>
void check_conv(std::uint32_t seed) {
  using L = Conv1d<float, CIn, COut, LIn, K, S, D, PL, PR, 1, A>;
  ConvCase<L> c(seed, A);
  auto& layer = c.layer;
  const auto& x = c.x;
  const auto& reff = c.reff;
  // Guard cells around the output: the kernel must write exactly out_size values.
  constexpr std::size_t kGuard = 64;
  std::vector<float> y(L::out_size + 2 * kGuard, -7.f), ys(L::out_size + 2 * kGuard, -7.f);
  layer->forward(x.data(), y.data() + kGuard);
  layer->forward_scalar(x.data(), ys.data() + kGuard);
  const double tol = 1e-6 * (CIn * K + 1);
  INFO("conv cin=" << CIn << " cout=" << COut << " lin=" << LIn << " k=" << K << " s=" << S << " d=" << D
                   << " pad=" << PL << "," << PR << " act=" << int(A) << " lout=" << L::out_length
                   << " vector_width=" << L::vector_width);
  CHECK(max_abs_diff(y.data() + kGuard, reff.data(), L::out_size) <= tol);
  CHECK(max_abs_diff(ys.data() + kGuard, reff.data(), L::out_size) <= tol);
  bool guards_intact = true;
  for (std::size_t i = 0; i < kGuard; ++i)
    guards_intact = guards_intact && y[i] == -7.f && y[kGuard + L::out_size + i] == -7.f && ys[i] == -7.f &&
                    ys[kGuard + L::out_size + i] == -7.f;
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

// forward_scalar (the scalar register tile: TT steps x VB channels over the steps that read no
// padding, single steps of VE channels at the edges and for the remainder) with groups, guard
// cells around its output, against the double reference (tolerance as above) and against the
// plain loop it replaced (bias, then the taps in order, then the input channels in order: the
// tile keeps that summation order, so the two agree exactly).
template <int CIn, int COut, int LIn, int K, int S, int D, int PL, int PR, int G, Act A>
void check_scalar_tile(std::uint32_t seed) {
  using L = Conv1d<float, CIn, COut, LIn, K, S, D, PL, PR, G, A>;
  constexpr int lout = L::out_length, cin_g = CIn / G, cout_g = COut / G;
  ConvCase<L> c(seed, A);
  auto& layer = c.layer;
  const auto &b = c.b, &x = c.x, &reff = c.reff;
  std::vector<float> plain(L::out_size);
  for (int t = 0; t < lout; ++t)
    for (int o = 0; o < COut; ++o) {
      const int g = o / cout_g;
      float acc = b[o];
      for (int j = 0; j < K; ++j) {
        const int ti = t * S + j * D - PL;
        if (ti < 0 || ti >= LIn) continue;
        for (int c = 0; c < cin_g; ++c) acc += x[std::size_t(ti) * CIn + g * cin_g + c] * layer->torch_weight(o, c, j);
      }
      plain[std::size_t(t) * COut + o] = A == Act::relu && acc < 0.f ? 0.f : acc;
    }
  constexpr std::size_t kGuard = 64;
  std::vector<float> ys(L::out_size + 2 * kGuard, -7.f);
  layer->forward_scalar(x.data(), ys.data() + kGuard);
  constexpr auto plan = detail::scalar_tile_plan(cout_g, lout);
  INFO("scalar conv cin=" << CIn << " cout=" << COut << " lin=" << LIn << " k=" << K << " s=" << S << " d=" << D
                          << " pad=" << PL << "," << PR << " g=" << G << " lout=" << lout << " tile (at most)="
                          << plan.tt << "x" << plan.vb << " edge=1x" << plan.ve);
  CHECK(max_abs_diff(ys.data() + kGuard, reff.data(), L::out_size) <= 1e-6 * (cin_g * K + 1));
  CHECK(max_abs_diff(ys.data() + kGuard, plain.data(), L::out_size) == 0.0);
  bool guards_intact = true;
  for (std::size_t i = 0; i < kGuard; ++i)
    guards_intact = guards_intact && ys[i] == -7.f && ys[kGuard + L::out_size + i] == -7.f;
  CHECK(guards_intact);
}

}  // namespace

TEST_CASE("Conv1d's scalar register tile: tiles, remainders, padding edges, groups") {
  std::uint32_t s = 800;
  // cin, cout, lin, k, stride, dilation, pad_l, pad_r, groups, act
  check_scalar_tile<32, 32, 200, 5, 1, 1, 2, 2, 1, Act::relu>(s += 3);   // ResNet block 0
  check_scalar_tile<32, 32, 200, 5, 2, 1, 1, 2, 1, Act::relu>(s += 3);   // ResNet stride 2
  check_scalar_tile<1, 32, 200, 5, 1, 1, 2, 2, 1, Act::relu>(s += 3);    // one input channel
  check_scalar_tile<16, 16, 256, 3, 1, 2, 2, 2, 1, Act::relu>(s += 3);   // PULSE student stage 1
  check_scalar_tile<16, 24, 64, 3, 1, 3, 3, 3, 1, Act::relu>(s += 3);    // stage 2
  check_scalar_tile<24, 32, 16, 3, 1, 4, 4, 4, 1, Act::relu>(s += 3);    // stage 3: half the steps at the edges
  check_scalar_tile<16, 32, 23, 5, 1, 1, 2, 2, 1, Act::none>(s += 3);    // 19 interior steps: a remainder
  check_scalar_tile<5, 6, 3, 3, 1, 1, 0, 0, 1, Act::none>(s += 3);       // output shorter than a tile
  check_scalar_tile<5, 6, 8, 3, 1, 1, 0, 0, 1, Act::relu>(s += 3);       // 6 steps, no padding
  check_scalar_tile<7, 13, 29, 3, 2, 2, 2, 2, 1, Act::relu>(s += 3);     // odd channels, stride 2, dilation 2
  check_scalar_tile<5, 8, 40, 4, 3, 1, 1, 2, 1, Act::relu>(s += 3);      // even kernel, stride 3
  check_scalar_tile<8, 64, 30, 3, 1, 1, 1, 1, 1, Act::relu>(s += 3);     // many channel blocks
  check_scalar_tile<4, 6, 3, 3, 1, 1, 4, 4, 1, Act::none>(s += 3);       // steps wholly in the padding
  check_scalar_tile<3, 5, 1, 1, 1, 1, 0, 0, 1, Act::relu>(s += 3);       // one step, 1x1
  check_scalar_tile<12, 18, 29, 3, 1, 2, 2, 2, 3, Act::relu>(s += 3);    // grouped
  check_scalar_tile<10, 15, 17, 3, 1, 1, 1, 1, 5, Act::relu>(s += 3);    // grouped, 3 channels per group
  check_scalar_tile<8, 8, 21, 5, 2, 1, 2, 2, 8, Act::none>(s += 3);      // depthwise, strided
  check_scalar_tile<16, 32, 40, 3, 1, 2, 2, 2, 4, Act::none>(s += 3);    // grouped, dilated
}

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
