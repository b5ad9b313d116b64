// The PULSE teacher and student and their layers: every new layer against its reference kernel,
// attention's numerical safety, the networks against a naive reference network built from the
// reference kernels on the blob's own tensors, counts against networks.md, the input_norm domain
// check, zero allocations, the post-processing clamp, and (suite "golden") parity with PyTorch.
#include <doctest/doctest.h>

#include <ppghr/ppghr.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "blob_fixture.hpp"
#include "golden_file.hpp"
#include "test_util.hpp"


using namespace ppghr;
using namespace ppghr_test;

using TeacherReg = PulseTeacher<pulse::Head::regression>;
using TeacherCls = PulseTeacher<pulse::Head::classes>;
using StudentReg = PulseStudent<pulse::Head::regression>;
using StudentCls = PulseStudent<pulse::Head::classes>;
// The per-window-normalised variants (arch names *_wn, *_wn_cls).
using TeacherRegW = PulseTeacher<pulse::Head::regression, float, pulse::Input::window>;
using TeacherClsW = PulseTeacher<pulse::Head::classes, float, pulse::Input::window>;
using StudentRegW = PulseStudent<pulse::Head::regression, float, pulse::Input::window>;
using StudentClsW = PulseStudent<pulse::Head::classes, float, pulse::Input::window>;

namespace {

std::vector<double> to_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }
std::vector<float> to_float(const std::vector<double>& v) { return std::vector<float>(v.begin(), v.end()); }

// ---------------------------------------------------------------------------------------------
// Layers

template <int R, int CIn, int COut, int LIn, int K, int S, int D, int PL, int PR, int G, Act A>
void check_row_conv(std::uint32_t seed) {
  using L = RowConv1d<float, R, CIn, COut, LIn, K, S, D, PL, PR, G, A>;
  auto layer = std::make_unique<L>();
  const auto w = random_vector(L::Conv::weight_count, seed);  // PyTorch [COut][CIn/G][1][K]
  const auto b = random_vector(COut, seed + 1);
  const auto x = random_vector(L::in_size, seed + 2);
  layer->conv.set_weight(w);
  layer->conv.set_bias(b);
  std::vector<double> ref(L::out_size);
  const auto wd = to_double(w), bd = to_double(b), xd = to_double(x);
  reference::row_conv1d<double>(xd.data(), R, CIn, LIn, wd.data(), bd.data(), COut, K, S, D, PL, PR, G, A, ref.data());
  std::vector<float> y(L::out_size, std::numeric_limits<float>::quiet_NaN());
  layer->forward(x.data(), y.data());
  INFO("row conv rows=" << R << " cin=" << CIn << " cout=" << COut << " lin=" << LIn << " k=" << K << " s=" << S
                        << " d=" << D << " pad=" << PL << "," << PR << " g=" << G);
  CHECK(max_abs_diff(y.data(), to_float(ref).data(), y.size()) <= 1e-6 * (CIn / G * K + 1));
  // Rows are independent: a row's output depends on that row only.
  auto x2 = x;
  for (std::size_t i = 0; i < L::Conv::in_size; ++i) x2[i] += 1.f;  // change row 0 only
  std::vector<float> y2(L::out_size);
  layer->forward(x2.data(), y2.data());
  CHECK(max_abs_diff(y.data() + L::Conv::out_size, y2.data() + L::Conv::out_size, L::out_size - L::Conv::out_size) == 0.0);
}

template <int R, int C, int L, int K, int S>
void check_row_pool(std::uint32_t seed) {
  using P = RowAvgPool1d<float, R, C, L, K, S>;
  const auto x = random_vector(P::in_size, seed);
  std::vector<float> y(P::out_size), ref(P::out_size);
  P{}.forward(x.data(), y.data());
  reference::row_avgpool1d(x.data(), R, C, L, K, S, ref.data());
  CHECK(max_abs_diff(y.data(), ref.data(), y.size()) <= 1e-6);
}

template <int CIn, int COut, int R, int L, Act A>
void check_modality_conv(std::uint32_t seed) {
  using M = ModalityConv<float, CIn, COut, R, L, A>;
  auto layer = std::make_unique<M>();
  const auto w = random_vector(M::weight_count, seed), b = random_vector(COut, seed + 1),
             x = random_vector(M::in_size, seed + 2);
  layer->set_weight(w);
  layer->set_bias(b);
  std::vector<double> ref(M::out_size);
  const auto wd = to_double(w), bd = to_double(b), xd = to_double(x);
  reference::modality_conv<double>(xd.data(), R, CIn, L, wd.data(), bd.data(), COut, A, ref.data());
  std::vector<float> y(M::out_size);
  layer->forward(x.data(), y.data());
  INFO("modality conv cin=" << CIn << " cout=" << COut << " rows=" << R << " len=" << L);
  CHECK(max_abs_diff(y.data(), to_float(ref).data(), y.size()) <= 1e-6 * (CIn * R + 1));
  for (int o = 0; o < COut; o += 3)
    for (int c = 0; c < CIn; c += 2)
      for (int h = 0; h < R; ++h) REQUIRE(layer->torch_weight(o, c, h) == w[(std::size_t(o) * CIn + c) * R + h]);
}

struct MhaWeights {
  std::vector<float> in_w, in_b, out_w, out_b;
};

MhaWeights random_mha(int e, std::uint32_t seed, float gain = 1.f) {
  const float s = gain * std::sqrt(3.f / static_cast<float>(e));
  MhaWeights m;
  m.in_w = random_vector(3 * std::size_t(e) * e, seed, -s, s);
  m.in_b = random_vector(3 * std::size_t(e), seed + 1, -0.2f, 0.2f);
  m.out_w = random_vector(std::size_t(e) * e, seed + 2, -s, s);
  m.out_b = random_vector(e, seed + 3, -0.2f, 0.2f);
  return m;
}

template <class M>
void set_mha(M& layer, const MhaWeights& w) {
  std::copy(w.in_w.begin(), w.in_w.end(), layer.in_proj_weight.begin());
  std::copy(w.in_b.begin(), w.in_b.end(), layer.in_proj_bias.begin());
  layer.set_out_proj_weight(w.out_w);
  std::copy(w.out_b.begin(), w.out_b.end(), layer.out_proj_bias.begin());
}

std::vector<float> reference_mha(const std::vector<float>& q, int nq, const std::vector<float>& kv, int nkv, int e,
                                 int heads, const MhaWeights& w) {
  std::vector<double> y(std::size_t(nq) * e);
  const auto qd = to_double(q), kvd = to_double(kv), iw = to_double(w.in_w), ib = to_double(w.in_b),
             ow = to_double(w.out_w), ob = to_double(w.out_b);
  reference::multihead_attention<double>(qd.data(), nq, kvd.data(), nkv, e, heads, iw.data(), ib.data(), ow.data(),
                                         ob.data(), y.data());
  return to_float(y);
}

template <int E, int H, int NQ, int NKV>
void check_mha(std::uint32_t seed, float input_scale = 1.f, double tol = 1e-5) {
  using M = MultiheadAttention<float, E, H, NQ, NKV>;
  auto layer = std::make_unique<M>();
  const auto w = random_mha(E, seed);
  set_mha(*layer, w);
  for (int f = 0; f < E; f += 3)
    for (int k = 0; k < E; k += 2) REQUIRE(layer->torch_out_proj_weight(f, k) == w.out_w[std::size_t(f) * E + k]);
  const auto q = random_vector(std::size_t(NQ) * E, seed + 10, -input_scale, input_scale);
  const auto kv = random_vector(std::size_t(NKV) * E, seed + 11, -input_scale, input_scale);
  std::vector<float> scratch(M::scratch_size + 64, std::numeric_limits<float>::quiet_NaN());
  std::vector<float> y(static_cast<std::size_t>(NQ) * E, std::numeric_limits<float>::quiet_NaN());
  layer->forward(q.data(), kv.data(), y.data(), scratch.data());
  const auto ref = reference_mha(q, NQ, kv, NKV, E, H, w);
  INFO("mha e=" << E << " heads=" << H << " nq=" << NQ << " nkv=" << NKV << " input scale " << input_scale);
  for (float v : y) REQUIRE(std::isfinite(v));
  CHECK(max_abs_diff(y.data(), ref.data(), y.size()) <= tol);
}

template <int C, int R, int L, int H, int QR, int NQR, int KR, int NKR>
void check_cross_attention(std::uint32_t seed) {
  using X = CrossAttention<float, C, R, L, H, QR, NQR, KR, NKR>;
  auto layer = std::make_unique<X>();
  const auto w = random_mha(L, seed);
  set_mha(layer->attention, w);
  const auto x = random_vector(X::in_size, seed + 5, -2.f, 2.f);  // [R][L][C]
  std::vector<float> q(static_cast<std::size_t>(C) * NQR * L), kv(static_cast<std::size_t>(C) * NKR * L);
  reference::gather_row_tokens(x.data(), C, L, QR, NQR, q.data());
  reference::gather_row_tokens(x.data(), C, L, KR, NKR, kv.data());
  // The gathering is the documented one: token c * n_rows + (r - first) is x[r][.][c].
  CHECK(q[std::size_t(1) * NQR * L + 2] == x[(std::size_t(QR) * L + 2) * C + 1]);
  const auto ref = reference_mha(q, C * NQR, kv, C * NKR, L, H, w);
  std::vector<float> scratch(X::scratch_size), y(X::out_size);
  layer->forward(x.data(), y.data(), scratch.data());
  INFO("cross attention c=" << C << " rows=" << R << " len=" << L << " heads=" << H);
  CHECK(max_abs_diff(y.data(), ref.data(), y.size()) <= 1e-5);
  // Same answer as MultiheadAttention::forward on the gathered tokens.
  std::vector<float> y2(X::out_size);
  layer->attention.forward(q.data(), kv.data(), y2.data(), scratch.data());
  CHECK(max_abs_diff(y.data(), y2.data(), y.size()) == 0.0);
}

}  // namespace

TEST_CASE("RowConv1d matches the reference (1 x k) convolution over rows") {
  std::uint32_t s = 300;
  // rows, cin, cout, lin, k, stride, dilation, pad_l, pad_r, groups, act
  check_row_conv<4, 1, 32, 256, 5, 1, 2, 4, 4, 1, Act::relu>(s += 3);   // teacher conv11
  check_row_conv<4, 32, 48, 64, 5, 1, 2, 4, 4, 1, Act::relu>(s += 3);   // teacher conv21
  check_row_conv<4, 64, 64, 32, 5, 1, 2, 4, 4, 1, Act::relu>(s += 3);   // teacher conv32
  check_row_conv<4, 16, 24, 64, 3, 1, 3, 3, 3, 1, Act::relu>(s += 3);   // student conv21
  check_row_conv<4, 32, 32, 16, 3, 1, 4, 4, 4, 1, Act::relu>(s += 3);   // student conv32
  check_row_conv<3, 5, 7, 17, 3, 2, 1, 1, 2, 1, Act::none>(s += 3);     // odd channels, stride 2
  check_row_conv<2, 6, 12, 11, 3, 1, 1, 1, 1, 3, Act::relu>(s += 3);    // grouped
  check_row_conv<1, 8, 8, 9, 1, 1, 1, 0, 0, 1, Act::none>(s += 3);      // one row, 1x1
  constexpr auto d = RowConv1d<float, 4, 1, 32, 256, 5, 1, 2, 4, 4, 1, Act::relu>::descriptor();
  const std::uint32_t expected[] = {13, 4, 1, 32, 256, 256, 5, 1, 2, 4, 4, 1, 1};
  REQUIRE(d.size() == 13);
  for (std::size_t i = 0; i < d.size(); ++i) CHECK(d[i] == expected[i]);
}

TEST_CASE("RowAvgPool1d matches the reference") {
  check_row_pool<4, 32, 256, 4, 4>(1);
  check_row_pool<4, 48, 64, 2, 2>(2);
  check_row_pool<4, 24, 64, 4, 4>(3);
  check_row_pool<3, 5, 17, 3, 2>(4);
}

TEST_CASE("ModalityConv matches the reference (kernel rows x 1)") {
  check_modality_conv<32, 32, 4, 8, Act::none>(1);  // student conv4
  check_modality_conv<5, 7, 3, 11, Act::relu>(2);
  check_modality_conv<1, 9, 2, 1, Act::none>(3);
  // the scalar register tile's tiles and remainder steps
  check_modality_conv<16, 24, 4, 13, Act::relu>(4);
  check_modality_conv<7, 5, 3, 6, Act::none>(5);
  check_modality_conv<32, 64, 4, 9, Act::relu>(6);
}

TEST_CASE("MultiheadAttention matches the reference for any embedding size and head count") {
  check_mha<16, 4, 64, 192>(1);   // PULSE
  check_mha<16, 1, 3, 5>(2);
  check_mha<8, 2, 5, 7>(3);
  check_mha<12, 3, 1, 9>(4);
  check_mha<6, 6, 10, 3>(5);      // head dim 1
  check_mha<32, 8, 17, 33>(6);
  check_mha<20, 5, 4, 1>(7);      // one key: the weights are exactly 1
}

TEST_CASE("CrossAttention builds its tokens as documented and matches the reference") {
  check_cross_attention<64, 4, 16, 4, 0, 1, 1, 3>(1);  // PULSE: 64 PPG tokens, 192 ACC tokens
  check_cross_attention<5, 3, 8, 2, 2, 1, 0, 2>(2);
  check_cross_attention<3, 5, 6, 3, 1, 2, 2, 3>(3);    // several query rows, overlapping sets
  constexpr auto d = CrossAttention<float, 64, 4, 16, 4, 0, 1, 1, 3>::descriptor();
  const std::uint32_t expected[] = {15, 64, 4, 16, 4, 0, 1, 1, 3};
  for (std::size_t i = 0; i < d.size(); ++i) CHECK(d[i] == expected[i]);
}

TEST_CASE("attention stays finite: all-equal scores and large logits") {
  constexpr int E = 16, H = 4, NQ = 64, NKV = 192;
  using M = MultiheadAttention<float, E, H, NQ, NKV>;
  auto layer = std::make_unique<M>();
  std::vector<float> scratch(M::scratch_size), y(NQ * E);
  const auto q = random_vector(NQ * E, 1, -3.f, 3.f), kv = random_vector(NKV * E, 2, -3.f, 3.f);

  SUBCASE("all-equal scores give equal weights: the output is out_proj(mean of v)") {
    auto w = random_mha(E, 3);
    for (int i = 0; i < E * E; ++i) w.in_w[i] = 0.f;  // Wq = 0, bq = 0: every score is 0
    for (int i = 0; i < E; ++i) w.in_b[i] = 0.f;
    set_mha(*layer, w);
    layer->forward(q.data(), kv.data(), y.data(), scratch.data());
    std::vector<double> vmean(E, 0.0);
    for (int j = 0; j < NKV; ++j)
      for (int f = 0; f < E; ++f) {
        double v = w.in_b[2 * E + f];
        for (int k = 0; k < E; ++k) v += double(w.in_w[(2 * E + f) * E + k]) * kv[j * E + k];
        vmean[f] += v / NKV;
      }
    for (int i = 0; i < NQ; ++i)
      for (int f = 0; f < E; ++f) {
        double expected = w.out_b[f];
        for (int k = 0; k < E; ++k) expected += double(w.out_w[f * E + k]) * vmean[k];
        REQUIRE(std::isfinite(y[i * E + f]));
        CHECK(y[i * E + f] == doctest::Approx(expected).epsilon(1e-5));
      }
  }
  SUBCASE("large logits: scores of order 1e5 neither overflow nor produce NaN") {
    auto w = random_mha(E, 4, 30.f);  // q and k weights 30x: scores ~ 1e5, exp() would overflow unshifted
    set_mha(*layer, w);
    layer->forward(q.data(), kv.data(), y.data(), scratch.data());
    for (float v : y) REQUIRE(std::isfinite(v));
    const auto ref = reference_mha(q, NQ, kv, NKV, E, H, w);
    // The softmax is nearly one-hot; float rounding of scores of 1e5 moves the output by a little.
    CHECK(max_abs_diff(y.data(), ref.data(), y.size()) <= 1e-1);
    double scale = 0;
    for (float v : ref) scale = std::max(scale, std::fabs(double(v)));
    CHECK(scale > 10.0);  // the test really is in the large-logit regime
  }
  SUBCASE("huge inputs: scores of order 1e30") {
    const auto w = random_mha(E, 5);
    set_mha(*layer, w);
    const auto qb = random_vector(NQ * E, 6, -1e7f, 1e7f), kvb = random_vector(NKV * E, 7, -1e7f, 1e7f);
    layer->forward(qb.data(), kvb.data(), y.data(), scratch.data());
    for (float v : y) REQUIRE(std::isfinite(v));
  }
}

TEST_CASE("LayerNorm matches the reference, also with a large common offset") {
  constexpr int N = 64, F = 16;
  LayerNorm<float, N, F> ln;
  const auto w = random_vector(F, 1, 0.5f, 1.5f), b = random_vector(F, 2);
  std::copy(w.begin(), w.end(), ln.weight.begin());
  std::copy(b.begin(), b.end(), ln.bias.begin());
  for (float offset : {0.f, 1000.f}) {
    auto x = random_vector(N * F, 3);
    for (auto& v : x) v += offset;
    std::vector<float> y(N * F), ref(N * F);
    ln.forward(x.data(), y.data());
    reference::layer_norm(x.data(), N, F, w.data(), b.data(), ref.data());
    INFO("offset " << offset);
    CHECK(max_abs_diff(y.data(), ref.data(), y.size()) <= (offset > 0 ? 1e-3 : 1e-5));
    ln.forward(x.data(), x.data());  // in place
    CHECK(max_abs_diff(x.data(), y.data(), y.size()) == 0.0);
  }
  // A constant token normalises to the bias (variance 0, eps keeps it finite).
  std::vector<float> x(N * F, 7.f), y(N * F);
  ln.forward(x.data(), y.data());
  for (int f = 0; f < F; ++f) CHECK(y[f] == doctest::Approx(b[f]));
}

TEST_CASE("InputNorm: (x - mean) / std per row; check() finds a std that is not > 0") {
  InputNorm<float, 4, 256> n;
  const float norm[8] = {-0.0005f, 85.9549f, -0.5196f, 0.3501f, 0.1493f, 0.6334f, 0.3673f, 0.4099f};
  for (int r = 0; r < 4; ++r) {
    n.norm[2 * r] = norm[2 * r];
    n.norm[2 * r + 1] = norm[2 * r + 1];
  }
  const auto x = random_vector(1024, 1, -100.f, 100.f);
  std::vector<float> y(1024), ref(1024);
  n.forward(x.data(), y.data());
  reference::input_norm(x.data(), 4, 256, norm, ref.data());
  CHECK(max_abs_diff(y.data(), ref.data(), y.size()) == 0.0);
  auto check_of = [](std::vector<float> v) {
    std::vector<unsigned char> bytes(4 * v.size());
    std::memcpy(bytes.data(), v.data(), bytes.size());  // little-endian hosts (all we build on)
    return InputNorm<float, 4, 256>::check(TensorSource(bytes.data(), v.size()));
  };
  CHECK(check_of({0, 1, 0, 1, 0, 1, 0, 1}) == -1);
  CHECK(check_of({0, 1, 0, 0, 0, 1, 0, 1}) == 3);
  CHECK(check_of({0, 1, 0, 1, 0, 1, 5, -2}) == 7);
  CHECK(check_of({-3, 1, 0, 1, 0, 1, 0, 1}) == -1);  // a negative mean is fine
}

TEST_CASE("WindowNorm: the per-window normalisation equals its double reference, in place too") {
  using WN = WindowNorm<float, 4, 256>;
  WN n;
  CHECK(WN::param_count == 0);
  CHECK(WN::acc_floor == doctest::Approx(0.05f));
  // PPG in raw ADC units (DC 30000, pulse +-200), accelerometer in g at three motion levels: the
  // last one below the 0.05 g floor (a resting wrist), where the divisor is the floor.
  for (const float acc_amp : {1.0f, 0.2f, 0.004f}) {
    std::vector<float> x(1024);
    const auto noise = random_vector(1024, 7, -1.f, 1.f);
    for (int t = 0; t < 256; ++t) {
      x[t] = 30000.f + 200.f * std::sin(0.3f * t) + 20.f * noise[t];
      for (int r = 1; r < 4; ++r) x[r * 256 + t] = (r == 3 ? -1.f : 0.1f * r) + acc_amp * r * std::sin(0.11f * t + r) * 0.5f + 0.01f * acc_amp * noise[r * 256 + t];
    }
    std::vector<float> y(1024), ref(1024);
    n.forward(x.data(), y.data());
    reference::window_norm(x.data(), 4, 256, 0.05, ref.data());
    INFO("acc amplitude " << acc_amp);
    // float two-pass sums of 256 values against double: ~1e-5 relative on the PPG row's DC.
    CHECK(max_abs_diff(y.data(), ref.data(), y.size()) <= 2e-4);
    double m0 = 0, v0 = 0;
    for (int t = 0; t < 256; ++t) m0 += ref[t];
    for (int t = 0; t < 256; ++t) v0 += (ref[t] - m0 / 256) * (ref[t] - m0 / 256);
    CHECK(m0 / 256 == doctest::Approx(0).epsilon(1e-6).scale(1));
    CHECK(v0 / 256 == doctest::Approx(1.0).epsilon(1e-5));  // the PPG row has unit variance
    double acc_var = 0;
    for (int r = 1; r < 4; ++r)
      for (int t = 0; t < 256; ++t) acc_var += double(ref[r * 256 + t]) * ref[r * 256 + t];
    acc_var /= 3 * 256;
    if (acc_amp >= 0.2f) CHECK(acc_var == doctest::Approx(1.0).epsilon(1e-4));  // the shared divisor
    else CHECK(acc_var < 0.01);                                                 // the floor
    std::vector<float> z = x;
    n.forward(z.data(), z.data());  // in place
    CHECK(max_abs_diff(z.data(), y.data(), y.size()) == 0.0);
  }
  // A flat PPG row gives zeros (the floor), not NaN; the monitor reports flat signal upstream.
  std::vector<float> flat(1024, 512.f), y(1024);
  n.forward(flat.data(), y.data());
  for (float v : y) CHECK(v == 0.f);
}

TEST_CASE("FlattenLinear equals Linear on PyTorch's channel-major flatten") {
  constexpr int C = 32, L = 8, O = 32;
  auto fl = std::make_unique<FlattenLinear<float, C, L, O>>();
  const auto w = random_vector(std::size_t(O) * C * L, 1), b = random_vector(O, 2);
  fl->set_weight(w);
  std::copy(b.begin(), b.end(), fl->dense.bias.begin());
  const auto x = random_vector(C * L, 3);  // time-major [L][C]
  std::vector<float> flat(C * L);          // PyTorch order c * L + t
  for (int t = 0; t < L; ++t)
    for (int c = 0; c < C; ++c) flat[c * L + t] = x[t * C + c];
  std::vector<float> y(O), ref(O);
  fl->forward(x.data(), y.data());
  reference::linear(flat.data(), C * L, w.data(), b.data(), O, Act::none, ref.data());
  CHECK(max_abs_diff(y.data(), ref.data(), O) <= 1e-6 * (C * L + 1));
  CHECK(fl->torch_weight(3, 5, 7) == w[3 * C * L + 5 * L + 7]);
}

// ---------------------------------------------------------------------------------------------
// Networks

namespace {

// Random weights for a PULSE network, with valid input_norm pairs (std in [0.5, 2]); the
// per-window variants have no input_norm tensor.
template <class Net>
std::vector<TensorRecord> pulse_tensors(Net& net, std::uint32_t seed) {
  auto ts = random_tensors(net, seed);
  if constexpr (Net::input == pulse::Input::window) {
    REQUIRE(ts.at(0).name == "conv11.weight");
    return ts;
  }
  REQUIRE(ts.at(0).name == "input_norm");
  const auto mean = random_vector(4, seed + 50, -1.f, 1.f), sd = random_vector(4, seed + 51, 0.5f, 2.f);
  for (int r = 0; r < 4; ++r) {
    ts[0].data[2 * r] = mean[r];
    ts[0].data[2 * r + 1] = sd[r];
  }
  return ts;
}

struct StageGeom {
  int cin, c, l, k, d, pool;
};

// A straightforward PULSE network over runtime shapes, with the reference kernels, on the blob
// tensors (PyTorch layouts); activations in the library's [rows][length][channels].
std::vector<float> reference_pulse(bool teacher, int outputs, const std::vector<TensorRecord>& ts,
                                   const std::vector<float>& x, bool window_norm = false) {
  std::size_t k = 0;
  auto next = [&]() -> const std::vector<float>& { return ts.at(k++).data; };
  const StageGeom teacher_stages[3] = {{1, 32, 256, 5, 2, 4}, {32, 48, 64, 5, 2, 2}, {48, 64, 32, 5, 2, 2}};
  const StageGeom student_stages[3] = {{1, 16, 256, 3, 2, 4}, {16, 24, 64, 3, 3, 4}, {24, 32, 16, 3, 4, 2}};
  const StageGeom* stages = teacher ? teacher_stages : student_stages;
  std::vector<float> a(1024);
  if (window_norm)
    reference::window_norm(x.data(), 4, 256, 0.05, a.data());
  else
    reference::input_norm(x.data(), 4, 256, next().data(), a.data());
  int C = 1, L = 256;
  for (int s = 0; s < 3; ++s) {
    const StageGeom& g = stages[s];
    const int pad = g.d * (g.k - 1) / 2;
    for (int j = 0; j < 3; ++j) {
      const auto& w = next();
      const auto& b = next();
      std::vector<float> y(std::size_t(4) * L * g.c);
      reference::row_conv1d(a.data(), 4, C, L, w.data(), b.data(), g.c, g.k, 1, g.d, pad, pad, 1, Act::relu, y.data());
      a = y;
      C = g.c;
    }
    std::vector<float> p(std::size_t(4) * (L / g.pool) * C);
    reference::row_avgpool1d(a.data(), 4, C, L, g.pool, g.pool, p.data());
    a = p;
    L /= g.pool;
  }
  std::vector<float> flat;
  if (teacher) {
    std::vector<float> q(std::size_t(C) * L), kv(std::size_t(C) * 3 * L), att(std::size_t(C) * L);
    reference::gather_row_tokens(a.data(), C, L, 0, 1, q.data());
    reference::gather_row_tokens(a.data(), C, L, 1, 3, kv.data());
    const auto& iw = next();
    const auto& ib = next();
    const auto& ow = next();
    const auto& ob = next();
    reference::multihead_attention(q.data(), C, kv.data(), 3 * C, L, 4, iw.data(), ib.data(), ow.data(), ob.data(),
                                   att.data());
    const auto& lw = next();
    const auto& lb = next();
    flat.resize(att.size());
    reference::layer_norm(att.data(), C, L, lw.data(), lb.data(), flat.data());  // [token][feature] = PyTorch order
  } else {
    const auto& w = next();
    const auto& b = next();
    std::vector<float> m(std::size_t(L) * C);
    reference::modality_conv(a.data(), 4, C, L, w.data(), b.data(), C, Act::none, m.data());  // [t][c]
    flat.resize(m.size());
    for (int t = 0; t < L; ++t)
      for (int c = 0; c < C; ++c) flat[std::size_t(c) * L + t] = m[std::size_t(t) * C + c];  // PyTorch flatten
  }
  std::vector<float> hidden(32), out(outputs);
  const auto& dw = next();
  const auto& db = next();
  reference::linear(flat.data(), static_cast<int>(flat.size()), dw.data(), db.data(), 32, Act::none, hidden.data());
  const auto& ow = next();
  const auto& ob = next();
  reference::linear(hidden.data(), 32, ow.data(), ob.data(), outputs, Act::none, out.data());
  REQUIRE(k == ts.size());
  return out;
}

// Raw-unit windows: rows around the input_norm means with spreads of the stds (per-window
// variants: PPG around 2000 ADC counts, the accelerometer around 0 g with spreads of 0.3 g).
std::vector<float> raw_window(const std::vector<TensorRecord>& ts, std::uint32_t seed) {
  auto x = random_vector(1024, seed, -2.f, 2.f);
  if (ts.at(0).name != "input_norm") {
    for (int t = 0; t < 256; ++t) x[t] = 2000.f + 40.f * x[t];
    for (int t = 256; t < 1024; ++t) x[t] *= 0.3f;
    return x;
  }
  for (int r = 0; r < 4; ++r)
    for (int t = 0; t < 256; ++t) x[r * 256 + t] = x[r * 256 + t] * ts[0].data[2 * r + 1] + ts[0].data[2 * r];
  return x;
}

template <class Net>
const float* outputs_of(const Net& net) {
  if constexpr (Net::head == pulse::Head::classes) return net.last().logits.data();
  else return &net.last().bpm;
}

template <class Net>
void check_against_reference(std::uint32_t seed) {
  constexpr bool teacher = Net::fingerprint == PulseTeacher<Net::head, float, Net::input>::fingerprint;
  constexpr bool window = Net::input == pulse::Input::window;
  auto net = std::make_unique<Net>();
  const auto ts = pulse_tensors(*net, seed);
  const auto blob = make_blob(*net, ts);
  const LoadReport r = net->load(blob.data(), blob.size());
  INFO("load: " << std::string(status_name(r.status)) << " tensor " << r.tensor_index << " " << r.tensor_name);
  REQUIRE(r.ok());
  for (int w = 0; w < 3; ++w) {
    const auto x = raw_window(ts, seed + 100 + w);
    const auto ref = reference_pulse(teacher, Net::outputs, ts, x, window);
    const auto& p = net->predict(x.data());
    REQUIRE(p.ok());
    INFO((teacher ? "teacher" : "student") << " outputs " << Net::outputs << " window " << w);
    CHECK(max_abs_diff(outputs_of(*net), ref.data(), ref.size()) <= 1e-4);
    if constexpr (Net::head == pulse::Head::classes) {
      CHECK(p.class_index == argmax(ref.data(), kNumClasses));
      CHECK(p.bpm == static_cast<float>(p.class_index + 30));
    }
  }
}

std::map<std::string, std::vector<std::uint32_t>> descriptor_file() {
  std::map<std::string, std::vector<std::uint32_t>> m;
  std::ifstream f(std::string(PPGHR_GOLDEN_DIR) + "/descriptors.txt");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream ss(line);
    std::string arch;
    std::size_t n = 0;
    ss >> arch >> n;
    std::vector<std::uint32_t> words(n);
    for (auto& w : words) ss >> w;
    m[arch] = words;
  }
  return m;
}

template <class Net>
void check_descriptor(const std::string& arch) {
  static const auto file = descriptor_file();
  REQUIRE_MESSAGE(file.count(arch) == 1, "tests/golden/descriptors.txt has no line for " << arch);
  constexpr auto d = Net::descriptor();
  const auto& expected = file.at(arch);
  INFO("arch " << arch);
  REQUIRE(d.size() == expected.size());
  for (std::size_t i = 0; i < d.size(); ++i) {
    INFO("word " << i);
    CHECK(d[i] == expected[i]);
  }
}

}  // namespace

TEST_CASE("PULSE parameter counts, MACs and memory match networks.md") {
  CHECK(TeacherReg::param_count == 131825);
  CHECK(StudentReg::param_count == 27241);
  CHECK(TeacherCls::param_count == 131825 - 33 + 32 * 180 + 180);
  CHECK(StudentCls::param_count == 27241 - 33 + 32 * 180 + 180);
  CHECK(TeacherReg::blob_float_count == 131825 + 8);  // + input_norm
  CHECK(StudentReg::blob_float_count == 27241 + 8);
  // networks.md's breakdown of the teacher: convs 97,872; attention 1,088; LayerNorm 32; heads 32,833.
  CHECK(TeacherReg::Trunk::param_count == 97872);
  CHECK(TeacherReg::Attention::param_count == 1088);
  CHECK(TeacherReg::Dense::param_count + TeacherReg::Out::param_count == 32833);
  CHECK(std::round(TeacherReg::macs / 1e5) / 10 == doctest::Approx(26.3));
  CHECK(std::round(StudentReg::macs / 1e4) / 100 == doctest::Approx(3.38));
  CHECK(TeacherReg::memory_bytes == sizeof(TeacherReg));
  CHECK(StudentCls::memory_bytes == sizeof(StudentCls));
  CHECK(TeacherReg::memory_bytes >= TeacherReg::weight_bytes + TeacherReg::scratch_bytes);
  CHECK(TeacherReg::memory_bytes <= TeacherReg::weight_bytes + TeacherReg::scratch_bytes + 64 * 64);  // alignment
  CHECK(StudentReg::memory_bytes <= StudentReg::weight_bytes + StudentReg::scratch_bytes + 64 * 64);
  CHECK(TeacherCls::output_size == 180);
  CHECK(TeacherReg::output_size == 1);
  CHECK(TeacherReg::input_size == 1024);
}

TEST_CASE("PULSE descriptors equal tools/ppghr_tools' (tests/golden/descriptors.txt)") {
  check_descriptor<TeacherReg>("pulse_teacher");
  check_descriptor<TeacherCls>("pulse_teacher_cls");
  check_descriptor<StudentReg>("pulse_student");
  check_descriptor<StudentCls>("pulse_student_cls");
  check_descriptor<TeacherRegW>("pulse_teacher_wn");
  check_descriptor<TeacherClsW>("pulse_teacher_wn_cls");
  check_descriptor<StudentRegW>("pulse_student_wn");
  check_descriptor<StudentClsW>("pulse_student_wn_cls");
  // The front end is part of the fingerprint: a blob says which normalisation it needs.
  CHECK(TeacherRegW::fingerprint != TeacherReg::fingerprint);
  CHECK(StudentClsW::fingerprint != StudentCls::fingerprint);
  CHECK(StudentRegW::blob_float_count == StudentRegW::param_count);  // no input_norm tensor
  CHECK(StudentRegW::param_count == StudentReg::param_count);
}

TEST_CASE("PULSE networks match a naive reference network built from the reference kernels") {
  check_against_reference<TeacherReg>(41);
  check_against_reference<TeacherCls>(42);
  check_against_reference<StudentReg>(43);
  check_against_reference<StudentCls>(44);
  check_against_reference<TeacherRegW>(45);
  check_against_reference<TeacherClsW>(46);
  check_against_reference<StudentRegW>(47);
  check_against_reference<StudentClsW>(48);
}

TEST_CASE("PULSE per-window variants: a training-set-normalised blob is refused (arch_mismatch) and the reverse, weights intact") {
  auto w = std::make_unique<StudentClsW>();
  const auto wts = pulse_tensors(*w, 21);
  const auto wblob = make_blob(*w, wts);
  REQUIRE(w->load(wblob.data(), wblob.size()).ok());
  const auto x = raw_window(wts, 22);
  const auto before = w->predict(x.data()).probabilities;
  auto g = std::make_unique<StudentCls>();
  const auto gblob = make_blob(*g, pulse_tensors(*g, 23));
  CHECK(w->load(gblob.data(), gblob.size()).status == Status::arch_mismatch);
  CHECK(w->predict(x.data()).probabilities == before);
  REQUIRE(g->load(gblob.data(), gblob.size()).ok());
  CHECK(g->load(wblob.data(), wblob.size()).status == Status::arch_mismatch);
  CHECK(g->loaded());
  // The network's output does not change with the PPG's gain and DC level (the point of it).
  std::vector<float> scaled = x;
  for (int t = 0; t < 256; ++t) scaled[t] = 3.f * (x[t] - 2000.f) + 50000.f;
  const auto after = w->predict(scaled.data()).probabilities;
  CHECK(max_abs_diff(after.data(), before.data(), after.size()) <= 1e-5);
}

TEST_CASE("PULSE predict refuses without weights and on NaN/Inf input") {
  auto net = std::make_unique<StudentReg>();
  std::vector<float> x(1024, 0.5f);
  const auto& e0 = net->predict(x.data());
  CHECK(e0.status == InputStatus::not_loaded);
  CHECK(e0.bpm == 0.f);
  const auto ts = pulse_tensors(*net, 5);
  const auto blob = make_blob(*net, ts);
  REQUIRE(net->load(blob.data(), blob.size()).ok());
  CHECK(net->predict(x.data()).ok());
  x[700] = std::numeric_limits<float>::quiet_NaN();
  const auto& e1 = net->predict(x.data());
  CHECK(e1.status == InputStatus::non_finite);
  CHECK(e1.bpm == 0.f);
  x[700] = -std::numeric_limits<float>::infinity();
  CHECK(net->predict(x.data()).status == InputStatus::non_finite);

  auto cls = std::make_unique<TeacherCls>();
  CHECK(cls->predict(x.data()).status == InputStatus::not_loaded);
  const auto bc = make_blob(*cls, pulse_tensors(*cls, 6));
  REQUIRE(cls->load(bc.data(), bc.size()).ok());
  const auto& p = cls->predict(x.data());
  CHECK(p.status == InputStatus::non_finite);
  CHECK(p.class_index == -1);
}

TEST_CASE("a blob whose input_norm std is not > 0 is refused (invalid_weight), previous weights intact") {
  CHECK(std::strcmp(status_name(Status::invalid_weight), status_name(Status::non_finite_weight)) != 0);
  auto net = std::make_unique<TeacherReg>();
  const auto good_ts = pulse_tensors(*net, 7);
  const auto good = make_blob(*net, good_ts);
  REQUIRE(net->load(good.data(), good.size()).ok());
  const auto x = raw_window(good_ts, 8);
  const float before = net->predict(x.data()).bpm;

  for (float bad : {0.f, -1.f, -0.f, 1e-45f * 0.f}) {
    auto ts = good_ts;
    ts[0].data[5] = bad;  // std of row 2 (ACC y)
    for (auto& v : ts[1].data) v += 1.f;  // other weights differ too: a partial copy would show
    const auto blob = make_blob(*net, ts);
    const LoadReport r = net->load(blob.data(), blob.size());
    INFO("std " << bad);
    CHECK(r.status == Status::invalid_weight);
    CHECK(r.tensor_index == 0);
    CHECK(std::string(r.tensor_name) == "input_norm");
    CHECK(r.found == 5);
    CHECK(r.expected == 5);
    // offset: the byte of that element (tensor 0's data offset in the table, + 4 x 5).
    CHECK(r.offset == blob::read_u64(blob.data() + blob::kHeaderSize + blob::kEntOffset) + 4 * 5);
    CHECK(net->loaded());
    CHECK(net->predict(x.data()).bpm == before);
  }
  // The domain check comes after every tensor's structure and finiteness (docs/blob-format.md steps
  // 8-10): a bad std in tensor 0 and a NaN in tensor 1 report the NaN.
  {
    auto ts = good_ts;
    ts[0].data[5] = 0.f;
    ts[1].data[0] = std::numeric_limits<float>::quiet_NaN();
    const auto blob = make_blob(*net, ts);
    const LoadReport r = net->load(blob.data(), blob.size());
    CHECK(r.status == Status::non_finite_weight);
    CHECK(r.tensor_index == 1);
    CHECK(net->predict(x.data()).bpm == before);
  }
  // A NaN std is the loader's own non_finite_weight.
  {
    auto ts = good_ts;
    ts[0].data[1] = std::numeric_limits<float>::quiet_NaN();
    const auto blob = make_blob(*net, ts);
    CHECK(net->load(blob.data(), blob.size()).status == Status::non_finite_weight);
    CHECK(net->predict(x.data()).bpm == before);
  }
  // The file path refuses the same way, and a fresh network stays unloaded.
  {
    auto ts = good_ts;
    ts[0].data[7] = -0.5f;
    const auto blob = make_blob(*net, ts);
    char path[] = "/tmp/ppghr_pulse_XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    std::FILE* fp = fdopen(fd, "wb");
    REQUIRE(fp != nullptr);
    REQUIRE(std::fwrite(blob.data(), 1, blob.size(), fp) == blob.size());
    std::fclose(fp);
    auto fresh = std::make_unique<StudentCls>();
    CHECK(fresh->load_file(path).status == Status::arch_mismatch);  // a teacher blob
    const LoadReport r = net->load_file(path);
    CHECK(r.status == Status::invalid_weight);
    CHECK(r.found == 7);
    CHECK(net->predict(x.data()).bpm == before);
    std::remove(path);
  }
  // And a good blob still loads afterwards.
  CHECK(net->load(good.data(), good.size()).ok());
}

TEST_CASE("PULSE predict() and load from memory make no heap allocation") {
  auto tr = std::make_unique<TeacherReg>();
  auto tc = std::make_unique<TeacherCls>();
  auto sr = std::make_unique<StudentReg>();
  auto sc = std::make_unique<StudentCls>();
  auto tw = std::make_unique<TeacherClsW>();
  auto sw = std::make_unique<StudentClsW>();
  const auto btw = make_blob(*tw, pulse_tensors(*tw, 16));
  const auto bsw = make_blob(*sw, pulse_tensors(*sw, 17));
  const auto btr = make_blob(*tr, pulse_tensors(*tr, 11));
  const auto btc = make_blob(*tc, pulse_tensors(*tc, 12));
  const auto bsr = make_blob(*sr, pulse_tensors(*sr, 13));
  const auto bsc = make_blob(*sc, pulse_tensors(*sc, 14));
  bool ok = true;
  {
    const AllocationScope scope;
    ok = tr->load(btr.data(), btr.size()).ok() && tc->load(btc.data(), btc.size()).ok() &&
         sr->load(bsr.data(), bsr.size()).ok() && sc->load(bsc.data(), bsc.size()).ok() &&
         tw->load(btw.data(), btw.size()).ok() && sw->load(bsw.data(), bsw.size()).ok();
    CHECK(scope.count() == 0);
  }
  REQUIRE(ok);
  const auto x = random_vector(1024, 15, -2.f, 2.f);
  std::vector<float> bad = x;
  bad[3] = std::numeric_limits<float>::infinity();
  float checksum = 0;
  const AllocationScope scope;
  for (int i = 0; i < 5; ++i) {
    checksum += tr->predict(x.data()).bpm;
    checksum += tc->predict(x.data()).probabilities[7];
    checksum += sr->predict(x.data()).bpm;
    checksum += sc->predict(x.data()).probabilities[7];
    checksum += sc->predict(bad.data()).bpm;
    checksum += tw->predict(x.data()).probabilities[7];
    checksum += sw->predict(x.data()).probabilities[7];
  }
  CHECK(scope.count() == 0);
  CHECK(std::isfinite(checksum));
}

// ---------------------------------------------------------------------------------------------
// Post-processing

TEST_CASE("RecentMeanClamp: the published 10-window clamp on a hand-made sequence") {
  // Ten estimates of 100 (mean 100: band [90, 110]), then a jump, a drop, and a value inside.
  const float in[15] = {100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 150, 50, 95, 120, 80};
  float out[15];
  clamp_to_recent_mean(in, 15, out);
  for (int i = 0; i < 10; ++i) CHECK(out[i] == 100.f);  // the first 10 pass unchanged
  CHECK(out[10] == doctest::Approx(110.0));             // 150 -> 1.1 x 100
  // window 11: previous 10 = nine 100s and 110 -> mean 101 -> band [90.9, 111.1]
  CHECK(out[11] == doctest::Approx(90.9));
  // window 12: previous 10 = eight 100s, 110, 90.9 -> mean 100.09 -> 95 is inside
  CHECK(out[12] == doctest::Approx(95.0));
  // window 13: seven 100s, 110, 90.9, 95 -> mean 99.59 -> upper 109.549
  CHECK(out[13] == doctest::Approx(109.549));
  // window 14: six 100s, 110, 90.9, 95, 109.549 -> mean 100.5449 -> lower 90.49041
  CHECK(out[14] == doctest::Approx(90.49041));

  // Streaming equals the whole-sequence form; in place works; reset() starts over.
  RecentMeanClamp<float> c;
  for (int i = 0; i < 15; ++i) CHECK(c.update(in[i]) == out[i]);
  CHECK(c.count() == 15);
  c.reset();
  CHECK(c.count() == 0);
  CHECK(c.update(150.f) == 150.f);
  float inplace[15];
  std::memcpy(inplace, in, sizeof in);
  clamp_to_recent_mean(inplace, 15, inplace);
  for (int i = 0; i < 15; ++i) CHECK(inplace[i] == out[i]);

  // A non-finite estimate passes through and is neither remembered nor counted.
  RecentMeanClamp<double> d;
  for (int i = 0; i < 10; ++i) d.update(60.0);
  CHECK(std::isnan(d.update(std::nan(""))));
  CHECK(d.count() == 10);
  CHECK(d.update(100.0) == doctest::Approx(66.0));
  // Other factors and history lengths.
  RecentMeanClamp<float, 2> e(0.5f, 2.f);
  e.update(10.f);
  e.update(30.f);
  CHECK(e.update(100.f) == doctest::Approx(40.f));  // mean 20 -> [10, 40]
  CHECK(e.update(1.f) == doctest::Approx(17.5f));   // mean (30 + 40) / 2 = 35 -> [17.5, 70]
}

// ---------------------------------------------------------------------------------------------
// Golden parity with PyTorch (tests/golden/pulse_*.golden, blobs regenerated by ctest's
// golden_blobs fixture). Tolerance 1e-4 max abs difference on the outputs; same argmax.

namespace {

template <class Net>
void check_pulse_golden(const std::string& arch) {
  INFO("arch " << arch);
  const ppghr_test::Golden g = ppghr_test::load_golden<Net>(arch);
  REQUIRE(g.n_outputs == static_cast<std::uint32_t>(Net::outputs));
  const auto bytes = ppghr_test::load_golden_blob(arch, g);

  auto net = std::make_unique<Net>();
  const LoadReport r = net->load(bytes.data(), bytes.size());
  INFO("load: " << std::string(status_name(r.status)) << " tensor " << r.tensor_index << " " << r.tensor_name);
  REQUIRE(r.ok());
  double worst = 0, largest = 0;
  for (std::uint32_t w = 0; w < g.n_windows; ++w) {
    const float* x = g.inputs.data() + std::size_t(w) * g.input_floats;
    const float* expected = g.outputs.data() + std::size_t(w) * g.n_outputs;
    const auto& p = net->predict(x);
    REQUIRE(p.ok());
    const double d = max_abs_diff(outputs_of(*net), expected, g.n_outputs);
    worst = d > worst ? d : worst;
    for (std::uint32_t i = 0; i < g.n_outputs; ++i) largest = std::max(largest, std::fabs(double(expected[i])));
    CHECK(d <= 1e-4);
    if constexpr (Net::head == pulse::Head::classes) {
      CHECK(p.class_index == argmax(expected, kNumClasses));
      CHECK(max_abs_diff(p.probabilities.data(), g.probs.data() + std::size_t(w) * g.n_outputs, kNumClasses) <= 1e-4);
    }
  }
  MESSAGE(arch << ": max abs output difference vs PyTorch " << worst << " over " << g.n_windows
               << " windows (largest |output| " << largest << "; " << g.provenance << ")");
}

}  // namespace

TEST_SUITE("golden") {
  TEST_CASE("PULSE teacher and student, both heads, match PyTorch") {
    check_pulse_golden<TeacherReg>("pulse_teacher");
    check_pulse_golden<TeacherCls>("pulse_teacher_cls");
    check_pulse_golden<StudentReg>("pulse_student");
    check_pulse_golden<StudentCls>("pulse_student_cls");
  }
  TEST_CASE("PULSE per-window variants (*_wn), both heads, match PyTorch") {
    check_pulse_golden<TeacherRegW>("pulse_teacher_wn");
    check_pulse_golden<TeacherClsW>("pulse_teacher_wn_cls");
    check_pulse_golden<StudentRegW>("pulse_student_wn");
    check_pulse_golden<StudentClsW>("pulse_student_wn_cls");
  }
}
