// Tests of the spectral estimator (include/ppghr/spectral/): the FFT against a direct DFT, the
// estimator on synthetic windows whose answer is known (a pulse alone; a pulse under a stronger
// motion artefact that the accelerometer sees; the same without the accelerometer), bad input,
// parameter validation, and streaming through the Monitor without heap allocation. The parity with
// the Python twin on real recordings is tools/tests/test_spectral.py (ctest spectral_parity_python).
#include <doctest/doctest.h>

#include <cmath>
#include <complex>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "alloc_counter.hpp"
#include "ppghr/monitor/monitor.hpp"
#include "ppghr/spectral/calibration.hpp"
#include "ppghr/spectral/estimator.hpp"

namespace {

constexpr double kPi = 3.14159265358979323846;

// A window of C PPG channels + 3 accelerometer axes at 25 Hz: PPG = pulse at hr_bpm (amplitude
// 100) + artefact at motion_bpm (amplitude art), acc x = acc_g sin(motion), others small noise.
template <int C>
std::vector<float> window(double hr_bpm, double motion_bpm, double art, double acc_g, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<float> w(std::size_t(C + 3) * 200);
  for (int n = 0; n < 200; ++n) {
    const double t = n / 25.0;
    for (int c = 0; c < C; ++c)
      w[std::size_t(c) * 200 + n] = float(100.0 * std::sin(2 * kPi * hr_bpm / 60.0 * t + 0.3 * c) +
                                          art * std::sin(2 * kPi * motion_bpm / 60.0 * t + 1.0) + 2.0 * noise(rng));
    w[std::size_t(C) * 200 + n] = float(acc_g * std::sin(2 * kPi * motion_bpm / 60.0 * t + 1.0));
    w[std::size_t(C + 1) * 200 + n] = float(0.001 * noise(rng));
    w[std::size_t(C + 2) * 200 + n] = float(0.001 * noise(rng));
  }
  return w;
}

}  // namespace

// max |FFT - DFT| / max |DFT| for random complex input (the DFT in double).
template <int N>
double fft_vs_dft() {
  ppghr::RadixTwoFft<N> fft;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  std::vector<float> re(N), im(N);
  for (int i = 0; i < N; ++i) {
    re[i] = u(rng);
    im[i] = u(rng);
  }
  std::vector<std::complex<double>> ref(N);
  for (int k = 0; k < N; ++k)
    for (int n = 0; n < N; ++n)
      ref[k] += std::complex<double>(re[n], im[n]) * std::polar(1.0, -2 * kPi * double((k * n) % N) / N);
  fft.forward(re.data(), im.data());
  double worst = 0, top = 0;
  for (int k = 0; k < N; ++k) {
    worst = std::max(worst, std::abs(std::complex<double>(re[k], im[k]) - ref[k]));
    top = std::max(top, std::abs(ref[k]));
  }
  return worst / top;
}

TEST_CASE("spectral: the radix-2 FFT equals a direct DFT") {
  // Even and odd numbers of stages (the odd ones start with a lone radix-2 stage).
  CHECK(fft_vs_dft<2>() < 1e-6);
  CHECK(fft_vs_dft<8>() < 1e-6);
  CHECK(fft_vs_dft<64>() < 1e-6);
  CHECK(fft_vs_dft<128>() < 1e-6);
  CHECK(fft_vs_dft<1024>() < 1e-6);  // measured 1.4e-7 (N = 128: 1.5e-7; float, as the plain radix-2 loop)
}

TEST_CASE("spectral: the FFT's constant twiddles (fft_tables.hpp) are the computed ones, bit for bit") {
  // RadixTwoFft<1024> reads its twiddles from fft_tables.hpp (tools/ppghr_tools/fft_tables.py);
  // every other size computes them (twiddles()): the two must be the same float32 values.
  std::vector<float> re(ppghr::fft_tables::kSize), im(ppghr::fft_tables::kSize);
  ppghr::RadixTwoFft<ppghr::fft_tables::kSize>::twiddles(re.data(), im.data());
  CHECK(std::memcmp(re.data(), ppghr::fft_tables::kRe, sizeof ppghr::fft_tables::kRe) == 0);
  CHECK(std::memcmp(im.data(), ppghr::fft_tables::kIm, sizeof ppghr::fft_tables::kIm) == 0);
  // and the table version takes no RAM for them
  CHECK(sizeof(ppghr::RadixTwoFft<1024>) < 64);
  CHECK(sizeof(ppghr::RadixTwoFft<512>) >= 2 * 512 * sizeof(float));
}

// forward_padded() on the bit-reversed input == forward() on the natural one, bit for bit.
template <int N>
bool padded_equals_forward(int len) {
  ppghr::RadixTwoFft<N> fft;
  std::mt19937 rng(11);
  std::normal_distribution<float> g;
  std::vector<float> re(N, 0.f), im(N, 0.f), pr(N, -7.f), pi(N, -7.f);  // -7: entries it must overwrite
  for (int a = 0; a < N; a += 4) pr[a] = pi[a] = 0.f;
  for (int n = 0; n < len; ++n) {
    re[n] = g(rng);
    im[n] = g(rng);
    pr[ppghr::RadixTwoFft<N>::bit_reverse(n)] = re[n];
    pi[ppghr::RadixTwoFft<N>::bit_reverse(n)] = im[n];
  }
  fft.forward(re.data(), im.data());
  fft.forward_padded(pr.data(), pi.data());
  return re == pr && im == pi;
}

TEST_CASE("spectral: forward_padded() equals forward() on a zero-padded input") {
  CHECK(ppghr::RadixTwoFft<8>::bit_reverse(1) == 4);
  CHECK(ppghr::RadixTwoFft<1024>::bit_reverse(3) == 768);
  CHECK(padded_equals_forward<4>(1));
  CHECK(padded_equals_forward<32>(8));      // an odd number of stages
  CHECK(padded_equals_forward<1024>(200));  // the estimator's case
  CHECK(padded_equals_forward<1024>(256));
}

TEST_CASE("spectral: a clean pulse is read at its class, on 1 to 4 channels") {
  for (double hr : {42.0, 75.0, 133.0, 181.0, 205.0}) {
    auto e1 = std::make_unique<ppghr::SpectralEstimator<1>>();
    auto w1 = window<1>(hr, 100.0, 0.0, 0.0);
    const auto& p1 = e1->predict(w1.data());
    REQUIRE(p1.ok());
    CHECK(std::abs(p1.bpm - float(hr)) <= 1.f);
    auto e4 = std::make_unique<ppghr::SpectralEstimator<4>>();
    auto w4 = window<4>(hr, 100.0, 0.0, 0.0);
    const auto& p4 = e4->predict(w4.data());
    REQUIRE(p4.ok());
    CHECK(std::abs(p4.bpm - float(hr)) <= 1.f);
    double sum = 0;
    for (float v : p4.probabilities) sum += v;
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
  }
}

TEST_CASE("spectral: a stronger motion artefact the accelerometer sees is removed") {
  auto est = std::make_unique<ppghr::SpectralEstimator<3>>();
  // Pulse 128 BPM, step artefact at 160 BPM three times stronger, acc 1 g at 160 BPM.
  auto w = window<3>(128.0, 160.0, 300.0, 1.0);
  const auto& p = est->predict(w.data());
  REQUIRE(p.ok());
  CHECK(est->motion() == doctest::Approx(1.0 / std::sqrt(2.0)).epsilon(0.05));
  REQUIRE(est->artefact_count() >= 1);
  CHECK(std::abs(est->artefact_bpm(0) - 160.f) <= 1.f);
  CHECK(std::abs(p.bpm - 128.f) <= 1.f);
  // Without the accelerometer the artefact wins: the estimator is only as good as its input.
  est->set_accelerometer(false);
  const auto& q = est->predict(w.data());
  REQUIRE(q.ok());
  CHECK(est->artefact_count() == 0);
  CHECK(std::abs(q.bpm - 160.f) <= 1.f);
}

TEST_CASE("spectral: the arm swing at half the step rate is removed too") {
  auto est = std::make_unique<ppghr::SpectralEstimator<1>>();
  // Step 170 BPM in the accelerometer; the PPG carries its half (85 BPM) strongly, the pulse at 140.
  auto w = window<1>(140.0, 170.0, 0.0, 1.0);
  for (int n = 0; n < 200; ++n) w[n] += float(250.0 * std::sin(2 * kPi * 85.0 / 60.0 * n / 25.0));
  const auto& p = est->predict(w.data());
  REQUIRE(p.ok());
  CHECK(std::abs(p.bpm - 140.f) <= 1.f);
}

TEST_CASE("spectral: non-finite input is refused, parameters are validated") {
  auto est = std::make_unique<ppghr::SpectralEstimator<2>>();
  auto w = window<2>(90.0, 100.0, 0.0, 0.0);
  w[333] = std::numeric_limits<float>::quiet_NaN();
  const auto& p = est->predict(w.data());
  CHECK(p.status == ppghr::InputStatus::non_finite);
  CHECK(p.class_index == -1);
  CHECK(p.bpm == 0.f);
  // A finite window so large that its power overflows float is refused too, never a heart rate
  // (fuzz_monitor / fuzz_decode's finding, fuzz/regressions/).
  auto huge = window<2>(90.0, 100.0, 0.0, 0.0);
  for (auto& v : huge) v *= 1e30f;
  const auto& q = est->predict(huge.data());
  CHECK(q.status == ppghr::InputStatus::non_finite);
  CHECK(q.bpm == 0.f);
  std::vector<float> feats(ppghr::SpectralEstimator<2>::feature_size);
  CHECK(est->features(huge.data(), feats.data()) == ppghr::InputStatus::non_finite);
  ppghr::SpectralParams bad;
  bad.floor = 0.f;
  CHECK(est->configure(bad) == ppghr::DspStatus::bad_config);
  bad = ppghr::SpectralParams{};
  bad.acc_peaks = 9;
  CHECK(est->configure(bad) == ppghr::DspStatus::bad_config);
  CHECK(est->params().floor == ppghr::SpectralParams{}.floor);  // the refused ones were not taken
  CHECK(est->configure(ppghr::SpectralParams{}) == ppghr::DspStatus::ok);
}

TEST_CASE("spectral: the Monitor streams it without heap allocation, at 50 and 256 Hz") {
  using Est = ppghr::SpectralEstimator<2>;
  using Mon = ppghr::Monitor<Est, Est::preprocessor, 8>;
  for (double fs : {50.0, 256.0}) {
    auto est = std::make_unique<Est>();
    auto mon = std::make_unique<Mon>();
    Mon::Config cfg;
    cfg.preprocessing = Est::preprocessing_config(fs);
    cfg.tracking = ppghr::Tracking::lag;  // the decoder's ring too
    cfg.lag = 3;
    REQUIRE(mon->init(*est, cfg) == ppghr::DspStatus::ok);
    const int n = int(fs * 30);
    std::vector<float> frames(std::size_t(n) * Est::channels);
    for (int i = 0; i < n; ++i) {
      const double t = i / fs;
      float* f = frames.data() + std::size_t(i) * Est::channels;
      f[0] = float(30000 + 100 * std::sin(2 * kPi * 1.9 * t));  // 114 BPM on a DC level
      f[1] = float(20000 + 80 * std::sin(2 * kPi * 1.9 * t + 0.5));
      f[2] = float(0.8 * std::sin(2 * kPi * 2.6 * t));           // steps at 156 BPM
      f[3] = float(0.1 * std::sin(2 * kPi * 1.3 * t));
      f[4] = 1.0f;                                               // gravity
    }
    std::vector<float> bpm, tracked;
    bpm.reserve(64);
    tracked.reserve(64);
    ppghr_test::AllocationScope scope;
    for (int i = 0; i < n; i += 37) {
      const int m = std::min(37, n - i);
      REQUIRE(mon->push(frames.data() + std::size_t(i) * Est::channels, std::size_t(m),
                        [&](const ppghr::WindowResult& r) {
                          bpm.push_back(r.ok() ? r.bpm : -1.f);
                          tracked.push_back(r.ok() ? r.bpm_tracked : -1.f);
                        }) == ppghr::DspStatus::ok);
    }
    REQUIRE(mon->finish([&](const ppghr::WindowResult& r) {
      bpm.push_back(r.ok() ? r.bpm : -1.f);
      tracked.push_back(r.ok() ? r.bpm_tracked : -1.f);
    }) == ppghr::DspStatus::ok);
#if PPGHR_TEST_WRAP_MALLOC
    CHECK(scope.count() == 0);
#endif
    REQUIRE(bpm.size() == 12);  // (30 - 8) / 2 + 1
    for (float b : bpm) CHECK(std::abs(b - 114.f) <= 1.f);
    for (float b : tracked) CHECK(std::abs(b - 114.f) <= 1.f);
  }
}

TEST_CASE("spectral: the calibration tables load as valid, monotone ppghr::Calibration") {
  for (bool acc : {true, false}) {
    for (auto mode : {ppghr::SpectralDecode::none, ppghr::SpectralDecode::online, ppghr::SpectralDecode::lag3,
                      ppghr::SpectralDecode::offline}) {
      const ppghr::Calibration c = ppghr::spectral_calibration(mode, acc);
      REQUIRE(c.knots >= 2);
      CHECK(c.valid());
      CHECK(c.y[0] >= 0.f);
      CHECK(c.y[c.knots - 1] <= 1.f);
      float prev = -1.f;
      for (int i = 0; i <= 20; ++i) {  // non-decreasing over [0, 1]
        const float v = c.apply(i / 20.f);
        CHECK(v >= prev);
        prev = v;
      }
    }
  }
  CHECK(ppghr::spectral_calibration(ppghr::Tracking::lag, 5, true).knots == 0);  // no table: raw
  CHECK(ppghr::spectral_calibration(ppghr::Tracking::hmm, 0, true).knots ==
        ppghr::spectral_calibration(ppghr::SpectralDecode::online, true).knots);
}

TEST_CASE("spectral: NaN, flat, clipped and gapped stretches get their status and no heart rate") {
  using Est = ppghr::SpectralEstimator<1>;
  using Mon = ppghr::Monitor<Est, Est::preprocessor, 8>;
  const double fs = 50.0;
  const int n = int(fs * 60);
  std::vector<float> frames(std::size_t(n) * Est::channels);
  for (int i = 0; i < n; ++i) {
    const double t = i / fs;
    float* f = frames.data() + std::size_t(i) * Est::channels;
    f[0] = float(2000 + 300 * std::sin(2 * kPi * 1.6 * t));  // 96 BPM
    f[1] = float(0.5 * std::sin(2 * kPi * 2.5 * t));
    f[2] = 0.f;
    f[3] = 1.f;
  }
  for (int i = int(fs * 10); i < int(fs * 11); ++i) frames[std::size_t(i) * Est::channels] = NAN;    // s 10: NaN
  for (int i = int(fs * 30); i < int(fs * 40); ++i) frames[std::size_t(i) * Est::channels] = 1234.f;  // s 30-40: flat
  for (int i = int(fs * 50); i < int(fs * 60); ++i) {                                                 // s 50-60: rails
    float& v = frames[std::size_t(i) * Est::channels];
    v = v > 2150.f ? 2300.f : v;  // stuck at the upper rail
  }
  for (ppghr::Tracking tracking : {ppghr::Tracking::none, ppghr::Tracking::hmm, ppghr::Tracking::lag}) {
    auto est = std::make_unique<Est>();
    auto mon = std::make_unique<Mon>();
    Mon::Config cfg;
    cfg.preprocessing = Est::preprocessing_config(fs);
    cfg.tracking = tracking;
    cfg.lag = 3;
    cfg.adc_min = 0.f;
    cfg.adc_max = 2300.f;
    REQUIRE(mon->init(*est, cfg) == ppghr::DspStatus::ok);
    std::vector<ppghr::WindowResult> got;
    auto sink = [&](const ppghr::WindowResult& r) {
      got.push_back(r);
      got.back().probabilities = nullptr;
    };
    const int gap_at = int(fs * 20), gap_len = int(fs * 3);  // s 20-23: samples missing
    REQUIRE(mon->push(frames.data(), std::size_t(gap_at), sink) == ppghr::DspStatus::ok);
    REQUIRE(mon->push_gap(std::size_t(gap_len), sink) == ppghr::DspStatus::ok);
    REQUIRE(mon->push(frames.data() + std::size_t(gap_at + gap_len) * Est::channels, std::size_t(n - gap_at - gap_len),
                      sink) == ppghr::DspStatus::ok);
    REQUIRE(mon->finish(sink) == ppghr::DspStatus::ok);
    REQUIRE(got.size() == 27);
    for (std::size_t k = 0; k < got.size(); ++k) {
      const double a = 2.0 * double(k), b = a + 8.0;
      const auto& r = got[k];
      INFO("window " << k << " status " << ppghr::signal_status_name(r.status));
      CHECK(r.index == k);
      // Bad stretches (s): NaN [10, 11), gap [20, 23), flat [30, 40), clipped [50, 60).
      auto inside = [&](double lo, double hi) { return a >= lo && b <= hi; };
      auto near = [&](double lo, double hi) { return a < hi + 1.0 && b > lo - 1.0; };  // resampler reach
      const bool clean = !near(10, 11) && !near(20, 23) && !near(30, 40) && !near(50, 60);
      if (clean) CHECK(r.status == ppghr::SignalStatus::ok);
      if (a < 23.0 && b > 20.0) CHECK(r.status == ppghr::SignalStatus::gap);
      if (a < 11.0 && b > 10.0) CHECK(r.status == ppghr::SignalStatus::non_finite);
      if (inside(30, 40)) CHECK(r.status == ppghr::SignalStatus::flat);
      if (inside(50, 60)) CHECK(r.status == ppghr::SignalStatus::clipped);
      if (!r.ok()) {
        CHECK(r.bpm == 0.f);
        CHECK(r.bpm_tracked == 0.f);
        CHECK(r.confidence == 0.f);
      } else if (clean) {
        CHECK(std::abs(r.bpm - 96.f) <= 1.f);
        CHECK(std::abs(r.bpm_tracked - 96.f) <= 1.f);
        CHECK(std::isfinite(r.confidence));
      }
    }
  }
}
