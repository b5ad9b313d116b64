// Every layer against its naive reference implementation (ppghr::reference) over many shapes,
// strides, dilations, paddings and groups, with seeded random weights and inputs.
// Tolerance: the reference accumulates in double for conv and linear; the layers accumulate in
// float, so the allowed max abs difference is 1e-6 * (fan_in + 1) (fan_in = terms per output,
// each of magnitude <= 1).
#include <doctest/doctest.h>

#include <ppghr/ppghr.hpp>

#include <limits>
#include <memory>
#include <vector>

#include "test_util.hpp"

using namespace ppghr;
using ppghr_test::max_abs_diff;
using ppghr_test::random_vector;

namespace {

template <int CIn, int COut, int LIn, int K, int S, int D, int PL, int PR, int G, Act A>
void check_conv(std::uint32_t seed) {
  using L = Conv1d<float, CIn, COut, LIn, K, S, D, PL, PR, G, A>;
  auto layer = std::make_unique<L>();
  const auto w = random_vector(L::weight_count, seed);
  const auto b = random_vector(COut, seed + 1);
  const auto x = random_vector(L::in_size, seed + 2);
  layer->set_weight(w);
  layer->set_bias(b);
  std::vector<double> wd(w.begin(), w.end()), bd(b.begin(), b.end()), xd(x.begin(), x.end());
  std::vector<double> ref(L::out_size);
  reference::conv1d<double>(xd.data(), CIn, LIn, wd.data(), bd.data(), COut, K, S, D, PL, PR, G, A, ref.data());
  std::vector<float> reff(ref.begin(), ref.end());
  std::vector<float> y(L::out_size, std::numeric_limits<float>::quiet_NaN());
  std::vector<float> ys(L::out_size, std::numeric_limits<float>::quiet_NaN());
  layer->forward(x.data(), y.data());
  layer->forward_scalar(x.data(), ys.data());
  const double tol = 1e-6 * (CIn / G * K + 1);
  INFO("conv cin=" << CIn << " cout=" << COut << " lin=" << LIn << " k=" << K << " s=" << S << " d=" << D
                   << " pad=" << PL << "," << PR << " g=" << G << " lout=" << L::out_length);
  CHECK(max_abs_diff(y.data(), reff.data(), y.size()) <= tol);
  CHECK(max_abs_diff(ys.data(), reff.data(), ys.size()) <= tol);
  // The PyTorch-order view of the packed weights is the weights we set.
  for (int o = 0; o < COut; o += 3)
    for (int c = 0; c < CIn / G; c += 2)
      for (int j = 0; j < K; ++j) REQUIRE(layer->torch_weight(o, c, j) == w[(std::size_t(o) * (CIn / G) + c) * K + j]);
}

}  // namespace

TEST_CASE("Conv1d matches the reference over shapes, strides, dilations, paddings and groups") {
  std::uint32_t s = 100;
  // cin, cout, lin, k, stride, dilation, pad_l, pad_r, groups, act
  check_conv<1, 32, 200, 5, 1, 1, 2, 2, 1, Act::relu>(s += 3);   // ResNet stem
  check_conv<32, 32, 200, 5, 2, 1, 1, 2, 1, Act::relu>(s += 3);  // strided, asymmetric pad
  check_conv<32, 64, 50, 5, 1, 1, 2, 2, 1, Act::none>(s += 3);
  check_conv<64, 64, 25, 5, 2, 1, 2, 2, 1, Act::relu>(s += 3);
  check_conv<128, 128, 7, 5, 2, 1, 2, 2, 1, Act::none>(s += 3);
  check_conv<128, 128, 4, 5, 1, 1, 2, 2, 1, Act::none>(s += 3);  // kernel longer than input
  check_conv<16, 16, 256, 3, 1, 2, 2, 2, 1, Act::relu>(s += 3);  // PULSE student, dilation 2
  check_conv<24, 24, 64, 3, 1, 3, 3, 3, 1, Act::relu>(s += 3);   // dilation 3
  check_conv<32, 32, 16, 3, 1, 4, 4, 4, 1, Act::relu>(s += 3);   // dilation 4
  check_conv<32, 48, 64, 5, 1, 2, 4, 4, 1, Act::relu>(s += 3);   // PULSE teacher
  check_conv<3, 5, 17, 3, 1, 1, 0, 0, 1, Act::none>(s += 3);     // odd channels, no padding
  check_conv<7, 9, 31, 4, 3, 2, 1, 3, 1, Act::relu>(s += 3);     // even kernel, stride 3
  check_conv<8, 8, 9, 1, 1, 1, 0, 0, 1, Act::none>(s += 3);      // 1x1
  check_conv<8, 16, 10, 3, 2, 1, 0, 1, 1, Act::none>(s += 3);
  check_conv<16, 16, 40, 5, 1, 1, 2, 2, 16, Act::relu>(s += 3);  // depthwise
  check_conv<16, 32, 40, 3, 1, 2, 2, 2, 4, Act::none>(s += 3);   // grouped
  check_conv<6, 12, 11, 3, 2, 1, 1, 1, 3, Act::relu>(s += 3);    // grouped, strided
  check_conv<4, 4, 5, 5, 1, 1, 0, 0, 1, Act::none>(s += 3);      // output length 1
  check_conv<12, 20, 33, 2, 2, 3, 0, 0, 1, Act::none>(s += 3);
  check_conv<64, 128, 13, 5, 1, 1, 2, 2, 1, Act::none>(s += 3);
}

TEST_CASE("SamePadding follows networks.md") {
  constexpr auto p200 = SamePadding::of(200, 5, 2);
  CHECK(p200.out == 100);
  CHECK(p200.left == 1);
  CHECK(p200.right == 2);
  constexpr auto p25 = SamePadding::of(25, 5, 2);
  CHECK(p25.out == 13);
  CHECK(p25.left == 2);
  CHECK(p25.right == 2);
  constexpr auto p7 = SamePadding::of(7, 5, 2);
  CHECK(p7.out == 4);
  constexpr auto p1 = SamePadding::of(50, 5, 1);
  CHECK((p1.left == 2 && p1.right == 2 && p1.out == 50));
}

TEST_CASE("BatchNorm: affine and folding match the reference BatchNorm") {
  constexpr int C = 24, L = 13;
  const auto x = random_vector(C * L, 1);
  const auto gamma = random_vector(C, 2, 0.5f, 1.5f), beta = random_vector(C, 3);
  const auto mean = random_vector(C, 4), var = random_vector(C, 5, 0.1f, 2.f);
  std::vector<float> ref(C * L), y(C * L);
  for (Act act : {Act::none, Act::relu}) {
    reference::batchnorm(x.data(), C, L, gamma.data(), beta.data(), mean.data(), var.data(), act, ref.data());
    BatchNormAffine<float, C, L, Act::none> bn;
    BatchNormAffine<float, C, L, Act::relu> bnr;
    batchnorm_to_affine(C, gamma.data(), beta.data(), mean.data(), var.data(), bn.scale.data(), bn.shift.data());
    bnr.scale = bn.scale;
    bnr.shift = bn.shift;
    if (act == Act::none) bn.forward(x.data(), y.data()); else bnr.forward(x.data(), y.data());
    CHECK(max_abs_diff(y.data(), ref.data(), y.size()) <= 1e-5);
  }
  // In place works.
  std::vector<float> inplace = x;
  BatchNormAffine<float, C, L> bn;
  batchnorm_to_affine(C, gamma.data(), beta.data(), mean.data(), var.data(), bn.scale.data(), bn.shift.data());
  bn.forward(inplace.data(), inplace.data());
  reference::batchnorm(x.data(), C, L, gamma.data(), beta.data(), mean.data(), var.data(), Act::none, ref.data());
  CHECK(max_abs_diff(inplace.data(), ref.data(), ref.size()) <= 1e-5);

  // Folding conv -> BN into the conv equals running them in sequence.
  constexpr int CIn = 5, K = 3;
  auto w = random_vector(C * CIn * K, 6), b = random_vector(C, 7);
  const auto xin = random_vector(CIn * L, 8);
  std::vector<float> conv_out(C * L), seq(C * L), folded(C * L);
  reference::conv1d(xin.data(), CIn, L, w.data(), b.data(), C, K, 1, 1, 1, 1, 1, Act::none, conv_out.data());
  reference::batchnorm(conv_out.data(), C, L, gamma.data(), beta.data(), mean.data(), var.data(), Act::none, seq.data());
  fold_batchnorm(w.data(), b.data(), C, CIn * K, gamma.data(), beta.data(), mean.data(), var.data());
  Conv1d<float, CIn, C, L, K, 1, 1, 1, 1> conv;
  conv.set_weight(w);
  conv.set_bias(b);
  conv.forward(xin.data(), folded.data());
  CHECK(max_abs_diff(folded.data(), seq.data(), seq.size()) <= 1e-5);
}

TEST_CASE("ReLU keeps positives, zeroes negatives, propagates NaN like torch.relu") {
  const float x[5] = {-1.f, 0.f, 2.5f, -0.f, std::numeric_limits<float>::quiet_NaN()};
  float y[5], r[5];
  ReLU<float, 5>{}.forward(x, y);
  reference::relu(x, 5, r);
  CHECK(y[0] == 0.f);
  CHECK(y[2] == 2.5f);
  CHECK(std::isnan(y[4]));
  CHECK(std::isnan(r[4]));
  CHECK(max_abs_diff(y, r, 4) == 0.0);
}

namespace {
template <int C, int L, int K, int S, int PL, int PR, PadValue P>
void check_maxpool(std::uint32_t seed) {
  using M = MaxPool1d<float, C, L, K, S, PL, PR, P>;
  const auto x = random_vector(C * L, seed, -2.f, 1.f);  // mostly negative: zero padding matters
  std::vector<float> y(C * M::out_length), ref(C * M::out_length);
  M{}.forward(x.data(), y.data());
  reference::maxpool1d(x.data(), C, L, K, S, PL, PR, P, ref.data());
  INFO("maxpool c=" << C << " l=" << L << " k=" << K << " s=" << S << " pad=" << PL << "," << PR);
  CHECK(max_abs_diff(y.data(), ref.data(), y.size()) == 0.0);
}
template <int C, int L, int K, int S>
void check_avgpool(std::uint32_t seed) {
  using M = AvgPool1d<float, C, L, K, S>;
  const auto x = random_vector(C * L, seed);
  std::vector<float> y(C * M::out_length), ref(C * M::out_length);
  M{}.forward(x.data(), y.data());
  reference::avgpool1d(x.data(), C, L, K, S, ref.data());
  CHECK(max_abs_diff(y.data(), ref.data(), y.size()) <= 1e-6);
}
}  // namespace

TEST_CASE("MaxPool1d, AvgPool1d and GlobalAvgPool match the reference") {
  check_maxpool<32, 200, 2, 2, 0, 1, PadValue::zero>(1);  // ResNet shortcut, even length
  check_maxpool<64, 25, 2, 2, 0, 1, PadValue::zero>(2);   // odd length: last = max(x, 0)
  check_maxpool<128, 7, 2, 2, 0, 1, PadValue::zero>(3);
  check_maxpool<5, 17, 3, 2, 1, 1, PadValue::neg_inf>(4);
  check_maxpool<3, 10, 4, 3, 0, 2, PadValue::neg_inf>(5);
  check_avgpool<32, 256, 4, 4>(6);
  check_avgpool<48, 64, 2, 2>(7);
  check_avgpool<7, 33, 5, 3>(8);
  // The one-zero right pad: an all-negative odd-length input ends with max(x, 0) = 0.
  {
    using M = MaxPool1d<float, 1, 3, 2, 2, 0, 1, PadValue::zero>;
    const float x[3] = {-3.f, -1.f, -2.f};
    float y[2];
    M{}.forward(x, y);
    CHECK(y[0] == -1.f);
    CHECK(y[1] == 0.f);
  }
  {
    constexpr int C = 17, L = 23;
    const auto x = random_vector(C * L, 9);
    float y[C], ref[C];
    GlobalAvgPool<float, C, L>{}.forward(x.data(), y);
    reference::global_avg_pool(x.data(), C, L, ref);
    CHECK(max_abs_diff(y, ref, C) <= 1e-6);
  }
}

TEST_CASE("ChannelPad places the input at (cout - cin) / 2 and zero-fills the rest") {
  constexpr int CIn = 32, COut = 64, L = 9;
  const auto x = random_vector(CIn * L, 10);
  std::vector<float> y(COut * L, 7.f), ref(COut * L);
  ChannelPad<float, CIn, COut, L>{}.forward(x.data(), y.data());
  reference::channel_pad(x.data(), CIn, L, COut, (COut - CIn) / 2, ref.data());
  CHECK(max_abs_diff(y.data(), ref.data(), y.size()) == 0.0);
  CHECK(y[15] == 0.f);
  CHECK(y[16] == x[0]);
  CHECK(y[48] == 0.f);
  ChannelPad<float, 3, 8, 2, 1> odd;
  const float xo[6] = {1, 2, 3, 4, 5, 6};
  float yo[16];
  odd.forward(xo, yo);
  CHECK(yo[0] == 0.f);
  CHECK(yo[1] == 1.f);
  CHECK(yo[3] == 3.f);
  CHECK(yo[4] == 0.f);
  CHECK(yo[9] == 4.f);
}

namespace {
template <int In, int Out, Act A>
void check_linear(std::uint32_t seed) {
  auto l = std::make_unique<Linear<float, In, Out, A>>();
  const auto w = random_vector(std::size_t(In) * Out, seed), b = random_vector(Out, seed + 1),
             x = random_vector(In, seed + 2);
  std::copy(w.begin(), w.end(), l->weight.begin());
  std::copy(b.begin(), b.end(), l->bias.begin());
  std::vector<double> wd(w.begin(), w.end()), bd(b.begin(), b.end()), xd(x.begin(), x.end()), rd(Out);
  reference::linear<double>(xd.data(), In, wd.data(), bd.data(), Out, A, rd.data());
  std::vector<float> ref(rd.begin(), rd.end()), y(Out);
  l->forward(x.data(), y.data());
  INFO("linear " << In << " -> " << Out);
  CHECK(max_abs_diff(y.data(), ref.data(), Out) <= 1e-6 * (In + 1));
}
}  // namespace

TEST_CASE("Linear matches the reference") {
  check_linear<32, 180, Act::none>(1);
  check_linear<128, 180, Act::none>(2);
  check_linear<200, 64, Act::relu>(3);
  check_linear<1024, 32, Act::none>(4);
  check_linear<32, 1, Act::none>(5);
  check_linear<1, 7, Act::relu>(6);
  check_linear<13, 5, Act::relu>(7);
}

TEST_CASE("Softmax is safe for large and equal logits; argmax takes the first maximum") {
  float x[kNumClasses], y[kNumClasses], ref[kNumClasses];
  for (int i = 0; i < kNumClasses; ++i) x[i] = 1000.f + static_cast<float>(i % 7);
  Softmax<float, kNumClasses>{}.forward(x, y);
  reference::softmax(x, kNumClasses, ref);
  double sum = 0;
  for (float v : y) {
    REQUIRE(std::isfinite(v));
    sum += v;
  }
  CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
  CHECK(max_abs_diff(y, ref, kNumClasses) <= 1e-6);
  for (float& v : x) v = -3.f;
  Softmax<float, kNumClasses>{}.forward(x, y);
  CHECK(y[0] == doctest::Approx(1.0 / kNumClasses));
  CHECK(argmax(x, kNumClasses) == 0);
  x[42] = 5.f;
  x[43] = 5.f;
  CHECK(argmax(x, kNumClasses) == 42);
}

TEST_CASE("Layer descriptors carry their shapes") {
  using C = Conv1d<float, 32, 64, 50, 5, 2, 1, 1, 2, 1, Act::relu>;
  constexpr auto d = C::descriptor();
  static_assert(d.size() == 12);
  CHECK(d[0] == static_cast<std::uint32_t>(Op::conv1d));
  CHECK(d[4] == 25u);
  CHECK(d[11] == 1u);
  static_assert(C::out_length == 25);
  static_assert(C::macs == 25u * 64 * 32 * 5);
}
