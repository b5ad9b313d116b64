// SpecNet (models/specnet.hpp): counts, a naive reference network from the reference kernels (a
// second oracle beside the PyTorch goldens of test_golden.cpp), zero heap allocations in predict(),
// all-or-nothing loading against other networks' blobs; SpectralEstimator::features (its layout,
// that it leaves predict() bit for bit alone) and SpectralNet (front end + network, refusals,
// streaming through Monitor). The features' parity with the Python twin is
// tools/tests/test_specnet_features.py (driving tests/specnet_features_main.cpp).
#include <doctest/doctest.h>

#include <ppghr/ppghr.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "alloc_counter.hpp"
#include "blob_fixture.hpp"
#include "test_util.hpp"

using namespace ppghr;
using namespace ppghr_test;

namespace {

// tools/ppghr_tools/archs.py blob_float_count("specnet<N>[w32]").
static_assert(SpecNet<1>::param_count == 4593, "specnet1");
static_assert(SpecNet<2>::param_count == 8209, "specnet2");
static_assert(SpecNet<12>::param_count == 44369, "specnet12");
static_assert(SpecNet<10, 32>::param_count == 146465, "specnet10w32");
static_assert(SpecNet<12, 32>::param_count == 175265, "specnet12w32");
static_assert(SpecNet<2>::input_size == 1080 && SpecNet<2>::output_size == kNumClasses, "features in, logits out");

// features [180][6] -> logits [180] with the reference kernels, on the blob-order tensors.
std::vector<float> reference_specnet(int n_blocks, int width, const std::vector<TensorRecord>& ts,
                                     const std::vector<float>& x) {
  std::size_t k = 0;
  auto next = [&]() -> const std::vector<float>& { return ts.at(k++).data; };
  const int L = 180, W = width;
  std::vector<float> a(std::size_t(L) * W), mid(a.size()), y(a.size());
  {
    const auto& w = next();
    const auto& b = next();
    reference::conv1d(x.data(), 6, L, w.data(), b.data(), W, 7, 1, 1, 3, 3, 1, Act::relu, a.data());
  }
  for (int i = 0; i < n_blocks; ++i) {
    const auto& w1 = next();
    const auto& b1 = next();
    reference::conv1d(a.data(), W, L, w1.data(), b1.data(), W, 7, 1, 1, 3, 3, 1, Act::relu, mid.data());
    const auto& w2 = next();
    const auto& b2 = next();
    reference::conv1d(mid.data(), W, L, w2.data(), b2.data(), W, 7, 1, 1, 3, 3, 1, Act::none, y.data());
    for (std::size_t j = 0; j < a.size(); ++j) a[j] += y[j];
  }
  const auto& wh1 = next();
  const auto& bh1 = next();
  reference::conv1d(a.data(), W, L, wh1.data(), bh1.data(), W, 1, 1, 1, 0, 0, 1, Act::relu, mid.data());
  std::vector<float> logits(kNumClasses);
  const auto& wh2 = next();
  const auto& bh2 = next();
  reference::conv1d(mid.data(), W, L, wh2.data(), bh2.data(), 1, 1, 1, 1, 0, 0, 1, Act::none, logits.data());
  REQUIRE(k == ts.size());
  return logits;
}

template <int N, int W>
void check_against_reference(std::uint32_t seed) {
  auto net = std::make_unique<SpecNet<N, W>>();
  const auto ts = random_tensors(*net, seed);
  const auto blob = make_blob(*net, ts);
  REQUIRE(net->load(blob.data(), blob.size()).ok());
  double worst = 0;
  for (int w = 0; w < 3; ++w) {
    const auto x = random_vector(1080, seed + 100 + w, 0.f, 1.f);
    const auto ref = reference_specnet(N, W, ts, x);
    const auto& p = net->predict(x.data());
    REQUIRE(p.ok());
    INFO("N = " << N << " W = " << W << " window " << w);
    const double d = max_abs_diff(p.logits.data(), ref.data(), kNumClasses);
    worst = d > worst ? d : worst;
    CHECK(d <= 1e-4);
    CHECK(p.class_index == argmax(ref.data(), kNumClasses));
    CHECK(p.bpm == static_cast<float>(p.class_index + 30));
  }
  MESSAGE("SpecNet<" << N << ", " << W << "> vs the reference kernels: max abs logit difference " << worst);
}

// A synthetic spectral-estimator window [C + 3][200]: a pulse at hr BPM on every PPG channel, an
// arm-swing artefact at motion BPM on the PPG and on acc x.
std::vector<float> synth_window(int ppg, float hr, float motion_bpm, float art, float acc_g, std::uint32_t seed) {
  const auto noise = random_vector(std::size_t(ppg + 3) * 200, seed, -1.f, 1.f);
  std::vector<float> w(std::size_t(ppg + 3) * 200);
  for (int n = 0; n < 200; ++n) {
    const double t = n / 25.0;
    for (int c = 0; c < ppg; ++c)
      w[c * 200 + n] = float(100 * std::sin(2 * M_PI * hr / 60 * t + 0.3 * c) +
                             art * std::sin(2 * M_PI * motion_bpm / 60 * t + 1)) + 2 * noise[c * 200 + n];
    w[ppg * 200 + n] = float(acc_g * std::sin(2 * M_PI * motion_bpm / 60 * t + 1));
    w[(ppg + 1) * 200 + n] = 0.001f * noise[(ppg + 1) * 200 + n];
    w[(ppg + 2) * 200 + n] = 0.001f * noise[(ppg + 2) * 200 + n];
  }
  return w;
}

template <int C>
void check_features_leave_predict_alone() {
  auto a = std::make_unique<SpectralEstimator<C>>();
  auto b = std::make_unique<SpectralEstimator<C>>();
  std::vector<float> f(SpectralEstimator<C>::feature_size, -7.f);
  for (std::uint32_t s = 0; s < 4; ++s) {
    const auto w = synth_window(C, 70.f + 30.f * s, 150.f - 20.f * s, 200.f, 0.5f * s, s);
    const Prediction<float> pa = a->predict(w.data());
    REQUIRE(b->features(w.data(), f.data()) == InputStatus::ok);
    const Prediction<float>& pb = b->predict(w.data());
    INFO("C = " << C << " window " << s);
    CHECK(std::memcmp(pa.probabilities.data(), pb.probabilities.data(), sizeof(float) * kNumClasses) == 0);
    CHECK(std::memcmp(pa.logits.data(), pb.logits.data(), sizeof(float) * kNumClasses) == 0);
    CHECK(pa.class_index == pb.class_index);
    // the layout: [180][6], feature 5 the position, 0 and 2 normalised spectra, 1, 3 and 4 in [0, 1]
    float top0 = 0, top2 = 0;
    for (int k = 0; k < kNumClasses; ++k) {
      CHECK(f[k * 6 + 5] == doctest::Approx((30 + k - 120) / 100.0));
      CHECK((f[k * 6 + 0] >= 0.f && f[k * 6 + 0] <= 1.f + 1e-6f));
      CHECK((f[k * 6 + 1] >= 0.f && f[k * 6 + 1] <= 1.f + 1e-6f));
      CHECK((f[k * 6 + 2] >= 0.f && f[k * 6 + 2] <= f[k * 6 + 0] + 1e-6f));
      CHECK((f[k * 6 + 3] >= 0.f && f[k * 6 + 3] <= 1.f));
      CHECK((f[k * 6 + 4] >= 0.f && f[k * 6 + 4] <= 1.f));
      top0 = std::max(top0, f[k * 6 + 0]);
      top2 = std::max(top2, f[k * 6 + 2]);
    }
    if (C == 1) CHECK(top0 == doctest::Approx(1.0));
    // the mean of the channels' cleaned spectra is the likelihood before power (1) and floor
    const float floor = b->params().floor;
    double sum = 0;
    for (int k = 0; k < kNumClasses; ++k) sum += f[k * 6 + 2] + floor;
    for (int k = 0; k < kNumClasses; ++k)
      CHECK(pb.probabilities[k] == doctest::Approx((f[k * 6 + 2] + floor) / sum).epsilon(1e-5));
  }
  // NaN / Inf refused, the buffer untouched
  auto w = synth_window(C, 80.f, 100.f, 0.f, 0.f, 9);
  w[5] = std::numeric_limits<float>::infinity();
  std::vector<float> g(SpectralEstimator<C>::feature_size, -3.f);
  CHECK(b->features(w.data(), g.data()) == InputStatus::non_finite);
  CHECK(g[0] == -3.f);
  // features 3 and 4 read the spectra at twice the class frequency: a pulse at 80 BPM shows in
  // feature 3 at 40 BPM, arm swing at 130 BPM (1 g, full motion weight) in feature 4 at 65 BPM
  {
    const auto w3 = synth_window(C, 80.f, 130.f, 0.f, 1.f, 11);
    REQUIRE(b->features(w3.data(), g.data()) == InputStatus::ok);
    int best3 = 0, best4 = 0;
    for (int k = 1; k < kNumClasses; ++k) {
      best3 = g[k * 6 + 3] > g[best3 * 6 + 3] ? k : best3;
      best4 = g[k * 6 + 4] > g[best4 * 6 + 4] ? k : best4;
    }
    CHECK(std::abs(best3 - (40 - 30)) <= 1);
    CHECK(std::abs(best4 - (65 - 30)) <= 1);
    CHECK(g[best4 * 6 + 4] > 0.9f);
  }
  // without an accelerometer, features 1 and 4 are 0
  b->set_accelerometer(false);
  const auto w2 = synth_window(C, 80.f, 130.f, 100.f, 1.f, 10);
  REQUIRE(b->features(w2.data(), g.data()) == InputStatus::ok);
  for (int k = 0; k < kNumClasses; ++k) CHECK((g[k * 6 + 1] == 0.f && g[k * 6 + 4] == 0.f));
}

}  // namespace

TEST_CASE("SpecNet: counts, memory and distinct fingerprints") {
  using S = SpecNet<12, 32>;
  CHECK(S::memory_bytes == sizeof(S));
  CHECK(S::memory_bytes >= S::weight_bytes + S::scratch_bytes);
  CHECK(S::macs == 180 * (6 * 32 * 7 + 12 * 2 * 32 * 32 * 7 + 32 * 32 + 32));
  CHECK(SpecNet<2>::fingerprint != SpecNet<2, 32>::fingerprint);
  CHECK(SpecNet<2>::fingerprint != SpecNet<3>::fingerprint);
  CHECK(SpecNet<1>::descriptor()[1] == 5);  // family specnet
  CHECK(SpecNet<1>::descriptor()[2] == 1);  // variant N
}

TEST_CASE("SpecNet matches a naive reference network built from the reference kernels") {
  check_against_reference<1, 16>(11);
  check_against_reference<2, 16>(12);
  check_against_reference<6, 16>(13);
  check_against_reference<12, 16>(14);
  check_against_reference<3, 32>(15);
  check_against_reference<10, 32>(16);
}

TEST_CASE("SpecNet: refusals, zero allocations in predict(), all-or-nothing loading") {
  auto net = std::make_unique<SpecNet<2>>();
  const auto x = random_vector(1080, 3, 0.f, 1.f);
  CHECK(net->predict(x.data()).status == InputStatus::not_loaded);
  const auto blob = make_blob(*net, random_tensors(*net, 1));
  REQUIRE(net->load(blob.data(), blob.size()).ok());
  std::vector<float> bad = x;
  bad[7] = std::numeric_limits<float>::quiet_NaN();
  CHECK(net->predict(bad.data()).status == InputStatus::non_finite);
  CHECK(net->predict(bad.data()).class_index == -1);
  const Prediction<float> before = net->predict(x.data());
  REQUIRE(before.ok());
  {
    float checksum = 0;
    const AllocationScope scope;
    for (int i = 0; i < 20; ++i) {
      checksum += net->predict(x.data()).probabilities[5];
      checksum += static_cast<float>(net->predict(bad.data()).class_index);
    }
    CHECK(scope.count() == 0);
    CHECK(std::isfinite(checksum));
  }
  // Other networks' blobs, a wider SpecNet's and a corrupted one are refused; the weights stay.
  auto resnet = std::make_unique<ResNet1d<2>>();
  const auto rblob = make_blob(*resnet, random_tensors(*resnet, 2));
  CHECK(net->load(rblob.data(), rblob.size()).status == Status::arch_mismatch);
  auto wide = std::make_unique<SpecNet<2, 32>>();
  const auto wblob = make_blob(*wide, random_tensors(*wide, 3));
  CHECK(net->load(wblob.data(), wblob.size()).status == Status::arch_mismatch);
  auto other = std::make_unique<SpecNet<2>>();
  const auto oblob = make_blob(*other, random_tensors(*other, 4));
  auto corrupt = oblob;
  corrupt[corrupt.size() / 2] ^= 0x40;
  CHECK(net->load(corrupt.data(), corrupt.size()).status == Status::checksum_mismatch);
  CHECK(net->load(oblob.data(), oblob.size() - 8).status != Status::ok);
  const auto& after = net->predict(x.data());
  CHECK(std::memcmp(after.logits.data(), before.logits.data(), sizeof(float) * kNumClasses) == 0);
  // and the other way round: a SpecNet blob into a ResNet leaves the ResNet's weights
  REQUIRE(resnet->load(rblob.data(), rblob.size()).ok());
  const auto xr = random_vector(200, 5);
  const Prediction<float> rb = resnet->predict(xr.data());
  CHECK(resnet->load(blob.data(), blob.size()).status == Status::arch_mismatch);
  CHECK(std::memcmp(resnet->predict(xr.data()).logits.data(), rb.logits.data(), sizeof(float) * kNumClasses) == 0);
  // a good blob does load over the old weights
  REQUIRE(net->load(oblob.data(), oblob.size()).ok());
  CHECK(std::memcmp(net->predict(x.data()).logits.data(), before.logits.data(), sizeof(float) * kNumClasses) != 0);
}

TEST_CASE("SpectralEstimator::features: layout, refusals, and predict() unchanged bit for bit") {
  check_features_leave_predict_alone<1>();
  check_features_leave_predict_alone<3>();
}

TEST_CASE("SpectralNet: features -> network, refusals keep their status, no allocation") {
  using Net = SpecNet<2>;
  using SN = SpectralNet<3, Net>;
  static_assert(SN::input_size == 6 * 200 && SN::channels == 6 && SN::rate_hz == 25, "the estimator's window");
  static_assert(std::is_same_v<SN::preprocessor, SpectralEstimator<3>::preprocessor>, "same front end");
  auto sn = std::make_unique<SN>();
  const auto w = synth_window(3, 96.f, 150.f, 150.f, 0.6f, 1);
  CHECK(!sn->loaded());
  CHECK(sn->predict(w.data()).status == InputStatus::not_loaded);
  CHECK(sn->last().status == InputStatus::not_loaded);
  auto net = std::make_unique<Net>();
  const auto blob = make_blob(*net, random_tensors(*net, 21));
  auto resnet = std::make_unique<ResNet1d<1>>();
  const auto rblob = make_blob(*resnet, random_tensors(*resnet, 22));
  CHECK(sn->load(rblob.data(), rblob.size()).status == Status::arch_mismatch);
  CHECK(!sn->loaded());
  REQUIRE(sn->load(blob.data(), blob.size()).ok());
  REQUIRE(net->load(blob.data(), blob.size()).ok());
  CHECK(sn->loaded());
  const Prediction<float> p = sn->predict(w.data());
  REQUIRE(p.ok());
  // the same as features() then the network
  auto est = std::make_unique<SpectralEstimator<3>>();
  std::vector<float> f(1080);
  REQUIRE(est->features(w.data(), f.data()) == InputStatus::ok);
  CHECK(std::memcmp(f.data(), sn->features(), sizeof(float) * 1080) == 0);
  const auto& q = net->predict(f.data());
  CHECK(std::memcmp(p.logits.data(), q.logits.data(), sizeof(float) * kNumClasses) == 0);
  CHECK(p.class_index == q.class_index);
  // NaN refused with its own status, then a good window works again
  auto bad = w;
  bad[300] = std::numeric_limits<float>::quiet_NaN();
  CHECK(sn->predict(bad.data()).status == InputStatus::non_finite);
  CHECK(sn->predict(bad.data()).bpm == 0.f);
  CHECK(sn->predict(w.data()).class_index == p.class_index);
  // accelerometer off: feature 1 is 0
  sn->set_accelerometer(false);
  CHECK(!sn->accelerometer());
  REQUIRE(sn->predict(w.data()).ok());
  for (int k = 0; k < kNumClasses; ++k) CHECK((sn->features()[k * 6 + 1] == 0.f && sn->features()[k * 6 + 4] == 0.f));
  sn->set_accelerometer(true);
  const AllocationScope scope;
  float checksum = 0;
  for (int i = 0; i < 10; ++i) {
    checksum += sn->predict(w.data()).probabilities[3];
    checksum += float(sn->predict(bad.data()).class_index);
  }
  CHECK(scope.count() == 0);
  CHECK(std::isfinite(checksum));
}

TEST_CASE("SpectralNet streams through Monitor like the spectral estimator") {
  using SN = SpectralNet<1, SpecNet<1>>;
  using M = Monitor<SN, SN::preprocessor>;
  auto sn = std::make_unique<SN>();
  auto net = std::make_unique<SpecNet<1>>();
  const auto blob = make_blob(*net, random_tensors(*net, 31));
  auto mon = std::make_unique<M>();
  M::Config cfg;
  cfg.preprocessing = SN::preprocessing_config(64.0);
  REQUIRE(mon->init(*sn, cfg) == DspStatus::ok);
  const int fs = 64, seconds = 16;
  std::vector<float> frames(std::size_t(fs) * seconds * 4);
  for (int n = 0; n < fs * seconds; ++n) {
    const double t = double(n) / fs;
    frames[n * 4 + 0] = float(1000 + 50 * std::sin(2 * M_PI * 1.5 * t));
    frames[n * 4 + 1] = float(0.3 * std::sin(2 * M_PI * 2.2 * t));
    frames[n * 4 + 2] = 0.f;
    frames[n * 4 + 3] = 1.f;
  }
  std::vector<WindowResult> got;
  // not loaded: every window says so
  CHECK(mon->push(frames.data(), fs * seconds, [&](const WindowResult& r) { got.push_back(r); }) == DspStatus::ok);
  REQUIRE(got.size() >= 4);
  for (const auto& r : got) CHECK(r.status == SignalStatus::not_loaded);
  REQUIRE(sn->load(blob.data(), blob.size()).ok());
  mon->reset_stream();
  got.clear();
  CHECK(mon->push(frames.data(), fs * seconds, [&](const WindowResult& r) { got.push_back(r); }) == DspStatus::ok);
  REQUIRE(got.size() >= 4);
  for (const auto& r : got) {
    CHECK(r.status == SignalStatus::ok);
    CHECK((r.bpm >= 30.f && r.bpm <= 209.f));
  }
}
