// The streaming monitor: signal-quality statuses (flat, NaN/Inf, clipping, gap, too short), no
// heart rate and no NaN for bad windows, chunk-size invariance, window bookkeeping, zero heap
// allocations in push(); decoding (Tracking::hmm / lag against post/decode.hpp) and calibrated
// confidence; PULSE networks (4 channels, the regression head).
#include <doctest/doctest.h>

#include <ppghr/ppghr.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "alloc_counter.hpp"
#include "blob_fixture.hpp"
#include "test_util.hpp"

using namespace ppghr;
using namespace ppghr_test;

namespace {

using Net = ResNet1d<1>;
using Mon = Monitor<Net>;

struct Collected {
  std::vector<WindowResult> results;
  std::vector<std::vector<float>> probs;
};

std::unique_ptr<Net> make_net() {
  auto net = std::make_unique<Net>();
  const auto b = make_blob(*net, random_tensors(*net, 77));
  REQUIRE(net->load(b.data(), b.size()).ok());
  return net;
}

// A PPG-like signal: 1.4 Hz pulse with a harmonic on a DC level, in ADC counts.
std::vector<float> pulse_signal(double fs, double seconds, double dc = 2000.0, double amp = 300.0) {
  std::vector<float> x(static_cast<std::size_t>(fs * seconds));
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double t = double(i) / fs;
    x[i] = static_cast<float>(dc + amp * (std::sin(2 * M_PI * 1.4 * t) + 0.4 * std::sin(2 * M_PI * 2.8 * t + 1.0)) +
                              20.0 * std::sin(2 * M_PI * 0.25 * t));
  }
  return x;
}

// Runs the monitor over x in chunks; lag and cal only for Tracking::lag / a calibration table.
template <int MaxLag = 0>
Collected run(Net& net, const std::vector<float>& x, double fs, std::size_t chunk, Tracking track = Tracking::none,
              float adc_min = 0, float adc_max = 0, std::size_t gap_at = 0, std::size_t gap_len = 0, int lag = 0,
              const Calibration& cal = Calibration{}) {
  using M = Monitor<Net, ResNetPreprocessor, MaxLag>;
  auto mon = std::make_unique<M>();
  typename M::Config cfg;
  cfg.preprocessing = ResNetPreprocessor::zscore_config(fs);
  cfg.tracking = track;
  cfg.adc_min = adc_min;
  cfg.adc_max = adc_max;
  cfg.lag = lag;
  cfg.calibration = cal;
  REQUIRE(mon->init(net, cfg) == DspStatus::ok);
  Collected c;
  auto sink = [&](const WindowResult& r) {
    c.results.push_back(r);
    c.probs.emplace_back(r.probabilities ? std::vector<float>(r.probabilities, r.probabilities + kNumClasses)
                                         : std::vector<float>());
    c.results.back().probabilities = nullptr;  // only valid during the call
  };
  for (std::size_t i = 0; i < x.size();) {
    if (gap_len > 0 && i == gap_at) {
      REQUIRE(mon->push_gap(gap_len, sink) == DspStatus::ok);
      i += gap_len;
      continue;
    }
    std::size_t n = std::min(chunk, x.size() - i);
    if (gap_len > 0 && i < gap_at) n = std::min(n, gap_at - i);
    REQUIRE(mon->push(x.data() + i, n, sink) == DspStatus::ok);
    i += n;
  }
  REQUIRE(mon->finish(sink) == DspStatus::ok);
  return c;
}

void check_no_heart_rate_if_bad(const Collected& c) {
  for (std::size_t i = 0; i < c.results.size(); ++i) {
    const auto& r = c.results[i];
    REQUIRE(std::isfinite(r.bpm));
    REQUIRE(std::isfinite(r.confidence));
    REQUIRE(std::isfinite(r.bpm_tracked));
    if (!r.ok()) {
      CHECK(r.bpm == 0.f);
      CHECK(r.bpm_tracked == 0.f);
      CHECK(r.confidence == 0.f);
      CHECK(c.probs[i].empty());
    } else {
      REQUIRE(c.probs[i].size() == std::size_t(kNumClasses));
      for (float p : c.probs[i]) REQUIRE(std::isfinite(p));
      CHECK(r.bpm >= 30.f);
      CHECK(r.bpm <= 209.f);
      CHECK(r.confidence > 0.f);
      CHECK(r.confidence <= 1.0001f);
    }
  }
}

}  // namespace

TEST_CASE("monitor: one estimate per 2 s once 8 s are in, windows at [2k, 2k + 8)") {
  auto net = make_net();
  for (int fs : {25, 50, 64, 128}) {
    const auto x = pulse_signal(fs, 31.0);
    const auto c = run(*net, x, fs, 100);
    INFO("fs = " << fs);
    REQUIRE(c.results.size() == 12);  // (31 - 8) / 2 + 1
    for (std::size_t k = 0; k < c.results.size(); ++k) {
      CHECK(c.results[k].index == k);
      CHECK(c.results[k].start_s == doctest::Approx(2.0 * k));
      CHECK(c.results[k].end_s == doctest::Approx(2.0 * k + 8));
      CHECK(c.results[k].status == SignalStatus::ok);
    }
    check_no_heart_rate_if_bad(c);
  }
}

TEST_CASE("monitor: non-integer and high sensor rates (16..1024 Hz): windows, segments, gaps") {
  auto net = make_net();
  for (double fs : {25.6, 33.3, 102.4, 256.0, 1000.0}) {
    INFO("fs = " << fs);
    const auto x = pulse_signal(fs, 31.0);
    const auto c = run(*net, x, fs, 97);
    REQUIRE(c.results.size() == 12);  // (31 - 8) / 2 + 1
    for (std::size_t k = 0; k < c.results.size(); ++k) {
      CHECK(c.results[k].index == k);
      CHECK(c.results[k].status == SignalStatus::ok);
    }
    // Seconds [12, 15) missing (the samples with 12 <= i / fs < 15): the raw-sample segments of
    // 2 s follow the non-integer rate, so exactly the windows touching the gap (or within the
    // resampler's reach of it) say gap.
    const std::size_t g0 = std::size_t(std::ceil(12 * fs)), g1 = std::size_t(std::ceil(15 * fs));
    const auto g = run(*net, x, fs, 50, Tracking::none, 0, 0, g0, g1 - g0);
    REQUIRE(g.results.size() == 12);
    for (std::size_t k = 0; k < g.results.size(); ++k) {
      const bool touches = 2.0 * k < 15 && 12 < 2.0 * k + 8;
      const bool near = 2.0 * k < 16 && 11 < 2.0 * k + 8;
      INFO("window " << k);
      if (touches) CHECK(g.results[k].status == SignalStatus::gap);
      else if (near) CHECK((g.results[k].status == SignalStatus::gap || g.results[k].status == SignalStatus::ok));
      else CHECK(g.results[k].status == SignalStatus::ok);
    }
    check_no_heart_rate_if_bad(g);
  }
}

TEST_CASE("monitor: chunk size does not change any estimate") {
  auto net = make_net();
  const auto x = pulse_signal(50, 40.0);
  const auto a = run(*net, x, 50, 1, Tracking::hmm);
  const auto b = run(*net, x, 50, 1000, Tracking::hmm);
  const auto c = run(*net, x, 50, 37, Tracking::hmm);
  REQUIRE(a.results.size() == b.results.size());
  REQUIRE(a.results.size() == c.results.size());
  for (std::size_t k = 0; k < a.results.size(); ++k) {
    CHECK(a.results[k].bpm == b.results[k].bpm);
    CHECK(a.results[k].bpm_tracked == c.results[k].bpm_tracked);
    CHECK(a.results[k].confidence == c.results[k].confidence);
    CHECK(a.probs[k] == b.probs[k]);
  }
}

TEST_CASE("monitor: a flat signal is reported flat, never a heart rate") {
  auto net = make_net();
  const std::vector<float> x(50 * 20, 1234.f);
  const auto c = run(*net, x, 50, 64, Tracking::hmm);
  REQUIRE(c.results.size() == 7);
  for (const auto& r : c.results) CHECK(r.status == SignalStatus::flat);
  check_no_heart_rate_if_bad(c);
}

TEST_CASE("monitor: NaN / Inf samples mark the windows that contain them") {
  auto net = make_net();
  auto x = pulse_signal(50, 30.0);
  x[50 * 15] = std::numeric_limits<float>::quiet_NaN();       // second 15: windows 4..7
  x[50 * 27 + 3] = std::numeric_limits<float>::infinity();    // second 27: windows 10, 11
  const auto c = run(*net, x, 50, 128);
  REQUIRE(c.results.size() == 12);
  for (std::size_t k = 0; k < c.results.size(); ++k) {
    const bool covers_nan = 2.0 * k <= 15 && 15 < 2.0 * k + 8;
    const bool covers_inf = 2.0 * k <= 27.06 && 27.06 < 2.0 * k + 8;
    INFO("window " << k);
    CHECK(c.results[k].status == ((covers_nan || covers_inf) ? SignalStatus::non_finite : SignalStatus::ok));
  }
  check_no_heart_rate_if_bad(c);
}

TEST_CASE("monitor: a gap marks the windows it touches and keeps the clock") {
  auto net = make_net();
  const auto x = pulse_signal(50, 30.0);
  const auto c = run(*net, x, 50, 50, Tracking::none, 0, 0, 50 * 12, 50 * 3);  // seconds [12, 15) missing
  REQUIRE(c.results.size() == 12);
  for (std::size_t k = 0; k < c.results.size(); ++k) {
    const bool touches = 2.0 * k < 15 && 12 < 2.0 * k + 8;
    // Within 1 s of the gap the resampler's filter reaches into it: gap there is right too.
    const bool near = 2.0 * k < 16 && 11 < 2.0 * k + 8;
    INFO("window " << k);
    if (touches) CHECK(c.results[k].status == SignalStatus::gap);
    else if (near) CHECK((c.results[k].status == SignalStatus::gap || c.results[k].status == SignalStatus::ok));
    else CHECK(c.results[k].status == SignalStatus::ok);
  }
  check_no_heart_rate_if_bad(c);
}

TEST_CASE("monitor: heavy clipping is reported, with given rails and with plateau detection") {
  auto net = make_net();
  auto x = pulse_signal(50, 20.0, 2000.0, 1500.0);
  for (auto& v : x) v = std::min(std::max(v, 1000.f), 3000.f);  // rails cut the pulse hard
  const auto given = run(*net, x, 50, 100, Tracking::none, 1000.f, 3000.f);
  const auto detected = run(*net, x, 50, 100);
  REQUIRE(given.results.size() == 7);
  for (std::size_t k = 0; k < given.results.size(); ++k) {
    CHECK(given.results[k].status == SignalStatus::clipped);
    CHECK(given.results[k].clipped_fraction > 0.1f);
  }
  for (std::size_t k = 1; k < detected.results.size(); ++k) CHECK(detected.results[k].status == SignalStatus::clipped);
  check_no_heart_rate_if_bad(given);
  // An unclipped signal inside the same rails is fine.
  const auto clean = run(*net, pulse_signal(50, 20.0), 50, 100, Tracking::none, 0.f, 4095.f);
  for (const auto& r : clean.results) CHECK(r.status == SignalStatus::ok);
}

// The one per-window status type (core/status.hpp, PPGHR_SIGNAL_STATUS_TABLE): every code has the
// documented value and a distinct non-empty name; the table has no code this list lacks. The
// names of codes 0-6 are the monitor's output (the CLI's status column), so they must not change.
TEST_CASE("status: SignalStatus values and names are the documented ones, complete and distinct") {
  struct Row {
    SignalStatus code;
    int value;
    const char* name;
  };
  const Row rows[] = {
      {SignalStatus::ok, 0, "ok"},
      {SignalStatus::flat, 1, "flat"},
      {SignalStatus::non_finite, 2, "non_finite"},
      {SignalStatus::clipped, 3, "clipped"},
      {SignalStatus::gap, 4, "gap"},
      {SignalStatus::too_short, 5, "too_short"},
      {SignalStatus::not_loaded, 6, "not_loaded"},
      {SignalStatus::unsupported_rate, 7, "unsupported_rate"},
      {SignalStatus::capacity_exceeded, 8, "capacity_exceeded"},
      {SignalStatus::bad_config, 9, "bad_config"},
      {SignalStatus::not_initialized, 10, "not_initialized"},
      {SignalStatus::finished, 11, "finished"},
  };
  REQUIRE(std::size(rows) == kSignalStatusCount);
  for (std::size_t i = 0; i < std::size(rows); ++i) {
    INFO("code " << rows[i].name);
    CHECK(static_cast<int>(rows[i].code) == rows[i].value);
    CHECK(static_cast<int>(rows[i].code) == int(i));  // so kSignalStatusCount sizes an array of codes
    CHECK(std::string(status_name(rows[i].code)) == rows[i].name);
    for (std::size_t j = i + 1; j < std::size(rows); ++j)
      CHECK(std::string(status_name(rows[i].code)) != status_name(rows[j].code));
  }
  CHECK(std::string(status_name(static_cast<SignalStatus>(kSignalStatusCount))) == "unknown");
  // The old names are the same type, their name functions the same texts.
  static_assert(std::is_same_v<InputStatus, SignalStatus> && std::is_same_v<DspStatus, SignalStatus> &&
                std::is_same_v<WindowStatus, SignalStatus>);
  for (const Row& r : rows) {
    CHECK(signal_status_name(r.code) == status_name(r.code));
    CHECK(input_status_name(r.code) == status_name(r.code));
    CHECK(window_status_name(r.code) == status_name(r.code));
    CHECK(dsp_status_name(r.code) == status_name(r.code));
  }
}

TEST_CASE("monitor: a recording shorter than one window gives too_short") {
  auto net = make_net();
  const auto c = run(*net, pulse_signal(50, 5.0), 50, 10);
  REQUIRE(c.results.size() == 1);
  CHECK(c.results[0].status == SignalStatus::too_short);
  check_no_heart_rate_if_bad(c);
}

TEST_CASE("monitor: a network without weights is reported, not run") {
  auto net = std::make_unique<Net>();
  const auto c = run(*net, pulse_signal(50, 12.0), 50, 100);
  REQUIRE(c.results.size() == 3);
  for (const auto& r : c.results) CHECK(r.status == SignalStatus::not_loaded);
}

TEST_CASE("monitor: unsupported sensor rate is refused at init") {
  auto net = make_net();
  auto mon = std::make_unique<Mon>();
  Mon::Config cfg;
  cfg.preprocessing = ResNetPreprocessor::zscore_config(0);
  CHECK(mon->init(*net, cfg) != DspStatus::ok);
  std::vector<float> x(100, 1.f);
  int calls = 0;
  CHECK(mon->push(x.data(), x.size(), [&](const WindowResult&) { ++calls; }) == DspStatus::not_initialized);
  CHECK(calls == 0);
}

TEST_CASE("monitor: push() makes no heap allocation") {
  auto net = make_net();
  auto mon = std::make_unique<Mon>();
  Mon::Config cfg;
  cfg.preprocessing = ResNetPreprocessor::zscore_config(64);
  cfg.tracking = Tracking::hmm;
  REQUIRE(mon->init(*net, cfg) == DspStatus::ok);
  const auto x = pulse_signal(64, 60.0);
  int windows = 0;
  float sum = 0;
  auto sink = [&](const WindowResult& r) {
    ++windows;
    sum += r.bpm;
  };
  const AllocationScope scope;
  for (std::size_t i = 0; i < x.size(); i += 17) (void)mon->push(x.data() + i, std::min<std::size_t>(17, x.size() - i), sink);
  (void)mon->push_gap(64, sink);
  (void)mon->finish(sink);
  CHECK(scope.count() == 0);
  CHECK(windows == 27);
  CHECK(std::isfinite(sum));
}

// A pulse whose rate sweeps 70 -> 140 BPM, with a gap: the decoders have something to follow.
std::vector<float> sweeping_pulse(double fs, double seconds) {
  std::vector<float> x(std::size_t(fs * seconds));
  double phase = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double t = double(i) / fs;
    phase += 2 * M_PI * (70.0 + 70.0 * t / seconds) / 60.0 / fs;
    x[i] = static_cast<float>(2000 + 300 * std::sin(phase) + 20 * std::sin(2 * M_PI * 0.25 * t));
  }
  return x;
}

TEST_CASE("monitor: Tracking::hmm is the forward filter of post/decode.hpp over the windows' probabilities") {
  auto net = make_net();
  const auto x = sweeping_pulse(50, 60.0);
  const auto raw = run(*net, x, 50, 50, Tracking::none, 0, 0, 50 * 20, 50 * 5);
  const auto hmm = run(*net, x, 50, 50, Tracking::hmm, 0, 0, 50 * 20, 50 * 5);
  REQUIRE(raw.results.size() == hmm.results.size());
  ForwardFilter f;
  REQUIRE(f.configure(TransitionPrior::bami1(), LikelihoodModel{}) == DecodeStatus::ok);
  int bad = 0;
  for (std::size_t k = 0; k < raw.results.size(); ++k) {
    INFO("window " << k);
    const auto& r = hmm.results[k];
    CHECK(r.index == k);
    CHECK(r.status == raw.results[k].status);
    CHECK(r.bpm == raw.results[k].bpm);
    CHECK(hmm.probs[k] == raw.probs[k]);
    f.update(raw.results[k].ok() ? raw.probs[k].data() : nullptr);
    if (!r.ok()) {
      ++bad;
      CHECK(r.bpm_tracked == 0.f);
      CHECK(r.confidence == 0.f);
      continue;
    }
    CHECK(r.bpm_tracked == f.argmax_bpm());
    CHECK(r.confidence_raw == doctest::Approx(posterior_mass_within(f.belief().data(), f.argmax_bpm())).epsilon(1e-6));
    CHECK(r.confidence == r.confidence_raw);  // no calibration table
  }
  CHECK(bad > 0);  // the gap's windows
  check_no_heart_rate_if_bad(hmm);
}

TEST_CASE("monitor: Tracking::lag delivers window k after window k + L, equal to the fixed-lag smoother") {
  auto net = make_net();
  const auto x = sweeping_pulse(50, 60.0);
  const auto raw = run(*net, x, 50, 50, Tracking::none, 0, 0, 50 * 20, 50 * 5);
  for (int lag : {1, 3, 8}) {
    INFO("lag " << lag);
    const auto got = run<8>(*net, x, 50, 50, Tracking::lag, 0, 0, 50 * 20, 50 * 5, lag);
    REQUIRE(got.results.size() == raw.results.size());
    LagSmoother<8> ref;
    REQUIRE(ref.configure(TransitionPrior::bami1(), LikelihoodModel{}, lag) == DecodeStatus::ok);
    std::vector<std::vector<float>> post(raw.results.size());
    for (std::size_t k = 0; k < raw.results.size(); ++k)
      if (ref.push(raw.results[k].ok() ? raw.probs[k].data() : nullptr))
        post[std::size_t(ref.output_index())].assign(ref.posterior().begin(), ref.posterior().end());
    ref.flush([&](long t, const float* p) { post[std::size_t(t)].assign(p, p + kNumClasses); });
    for (std::size_t k = 0; k < got.results.size(); ++k) {
      const auto& r = got.results[k];
      CHECK(r.index == k);  // in order
      CHECK(r.status == raw.results[k].status);
      CHECK(r.bpm == raw.results[k].bpm);
      CHECK(got.probs[k] == raw.probs[k]);  // the held copy of the window's own probabilities
      if (!r.ok()) continue;
      CHECK(r.bpm_tracked == posterior_argmax_bpm(post[k].data()));
      CHECK(r.confidence_raw == doctest::Approx(posterior_mass_within(post[k].data(), r.bpm_tracked)).epsilon(1e-6));
    }
    check_no_heart_rate_if_bad(got);
  }
}

TEST_CASE("monitor: the lag's delay, and the smoother beats the filter on a sweep") {
  auto net = make_net();
  auto mon = std::make_unique<Monitor<Net, ResNetPreprocessor, 4>>();
  Monitor<Net, ResNetPreprocessor, 4>::Config cfg;
  cfg.preprocessing = ResNetPreprocessor::zscore_config(50);
  cfg.tracking = Tracking::lag;
  cfg.lag = 4;
  REQUIRE(mon->init(*net, cfg) == DspStatus::ok);
  const auto x = sweeping_pulse(50, 40.0);
  std::vector<std::uint64_t> delivered_at;  // windows computed when each result arrived
  auto sink = [&](const WindowResult& r) {
    CHECK(r.index == delivered_at.size());
    delivered_at.push_back(mon->windows());
  };
  REQUIRE(mon->push(x.data(), x.size(), sink) == DspStatus::ok);
  const std::size_t before_finish = delivered_at.size();
  REQUIRE(mon->finish(sink) == DspStatus::ok);
  REQUIRE(delivered_at.size() == 17);  // (40 - 8) / 2 + 1
  CHECK(before_finish <= 17 - 4);
  for (std::size_t k = 0; k < before_finish; ++k) CHECK(delivered_at[k] == k + 5);  // window k + 4 computed
}

TEST_CASE("monitor: a calibration table maps the raw confidence; bad configurations are refused") {
  auto net = make_net();
  const auto x = sweeping_pulse(50, 40.0);
  Calibration cal;
  cal.knots = 3;
  cal.x = {0.1f, 0.5f, 0.9f};
  cal.y = {0.2f, 0.4f, 0.95f};
  const auto got = run(*net, x, 50, 50, Tracking::hmm, 0, 0, 0, 0, 0, cal);
  int ok = 0;
  for (const auto& r : got.results) {
    if (!r.ok()) continue;
    ++ok;
    CHECK(r.confidence == cal.apply(r.confidence_raw));
  }
  CHECK(ok > 10);
  auto mon = std::make_unique<Monitor<Net, ResNetPreprocessor, 2>>();
  Monitor<Net, ResNetPreprocessor, 2>::Config cfg;
  cfg.preprocessing = ResNetPreprocessor::zscore_config(50);
  cfg.tracking = Tracking::lag;
  cfg.lag = 3;  // > MaxLag
  CHECK(mon->init(*net, cfg) == DspStatus::bad_config);
  cfg.lag = 0;
  CHECK(mon->init(*net, cfg) == DspStatus::bad_config);
  cfg.lag = 2;
  CHECK(mon->init(*net, cfg) == DspStatus::ok);
  cfg.calibration.knots = 2;
  cfg.calibration.x = {0.5f, 0.4f};  // not increasing
  CHECK(mon->init(*net, cfg) == DspStatus::bad_config);
  cfg.calibration = Calibration{};
  cfg.prior.floor = 1.5f;  // the decoders refuse it
  CHECK(mon->init(*net, cfg) == DspStatus::bad_config);
}

TEST_CASE("monitor: the published clamp as tracking follows post/clamp.hpp on the ok windows") {
  auto net = make_net();
  const auto x = pulse_signal(50, 60.0);
  const auto raw = run(*net, x, 50, 100, Tracking::none);
  const auto clamped = run(*net, x, 50, 100, Tracking::recent_mean_clamp);
  REQUIRE(raw.results.size() == clamped.results.size());
  RecentMeanClamp<float> expect;
  for (std::size_t k = 0; k < raw.results.size(); ++k) {
    REQUIRE(raw.results[k].ok());
    CHECK(clamped.results[k].bpm == raw.results[k].bpm);
    CHECK(clamped.results[k].bpm_tracked == expect.update(raw.results[k].bpm));
  }
}

// ---------------------------------------------------------------------------------------------
// PULSE: 4 channels (PPG, ACC x, y, z) through PulsePreprocessor::raw_config; the regression head.

namespace {

using PulseReg = PulseStudent<pulse::Head::regression>;
using PulseCls = PulseStudent<pulse::Head::classes>;

// Random weights; input_norm set to the scale of pulse_frames() (PPG around 2000 +- 300 counts,
// ACC around 0 +- 0.5 g) so the network sees O(1) inputs.
template <class PulseNet>
std::unique_ptr<PulseNet> make_pulse_net(std::uint32_t seed) {
  auto net = std::make_unique<PulseNet>();
  auto ts = random_tensors(*net, seed);
  REQUIRE(ts.at(0).name == "input_norm");
  ts[0].data = {2000.f, 300.f, 0.f, 0.5f, 0.f, 0.5f, 0.f, 0.5f};
  const auto b = make_blob(*net, ts);
  REQUIRE(net->load(b.data(), b.size()).ok());
  return net;
}

// n frames of PPG (pulse_signal) and a 2.5 Hz arm swing on the three ACC axes, interleaved.
std::vector<float> pulse_frames(int fs, double seconds) {
  const auto ppg = pulse_signal(fs, seconds);
  std::vector<float> f(4 * ppg.size());
  for (std::size_t i = 0; i < ppg.size(); ++i) {
    const double t = double(i) / fs;
    f[4 * i] = ppg[i];
    for (int a = 0; a < 3; ++a) f[4 * i + 1 + a] = static_cast<float>(0.4 * std::sin(2 * M_PI * 2.5 * t + a) + 0.1 * a);
  }
  return f;
}

template <class PulseNet>
std::vector<WindowResult> run_pulse(PulseNet& net, const std::vector<float>& frames, int fs, Tracking track) {
  using M = Monitor<PulseNet, PulsePreprocessor>;
  auto mon = std::make_unique<M>();
  typename M::Config cfg;
  cfg.preprocessing = PulsePreprocessor::raw_config(fs);
  cfg.tracking = track;
  REQUIRE(mon->init(net, cfg) == DspStatus::ok);
  std::vector<WindowResult> out;  // probabilities: dangling after the call, only compared with null
  out.reserve(64);
  auto sink = [&](const WindowResult& r) { out.push_back(r); };
  const std::size_t n = frames.size() / 4;
  bool ok = true;
  const AllocationScope scope;
  for (std::size_t i = 0; i < n; i += 50)
    ok = ok && mon->push(frames.data() + 4 * i, std::min<std::size_t>(50, n - i), sink) == DspStatus::ok;
  ok = ok && mon->finish(sink) == DspStatus::ok;
  const long allocations = scope.count();
  REQUIRE(ok);
  CHECK(allocations == 0);
  return out;
}

}  // namespace

TEST_CASE("monitor: a PULSE regression head gives predict()'s BPM, no probabilities, NaN confidence") {
  auto net = make_pulse_net<PulseReg>(91);
  const int fs = 50;
  const auto frames = pulse_frames(fs, 30.0);
  const auto got = run_pulse(*net, frames, fs, Tracking::none);
  // The same windows straight from the preprocessor, through predict().
  auto pre = std::make_unique<PulsePreprocessor>();
  REQUIRE(pre->init(PulsePreprocessor::raw_config(fs)) == DspStatus::ok);
  std::vector<float> want;
  auto psink = [&](const PulsePreprocessor::Window& w) {
    REQUIRE(w.ok());
    const auto& e = net->predict(w.data);
    REQUIRE(e.ok());
    want.push_back(e.bpm);
  };
  REQUIRE(pre->push(frames.data(), frames.size() / 4, psink) == DspStatus::ok);
  REQUIRE(pre->finish(psink) == DspStatus::ok);
  REQUIRE(got.size() == 12);
  REQUIRE(want.size() == got.size());
  static_assert(!Monitor<PulseReg, PulsePreprocessor>::has_probabilities, "regression head: no probabilities");
  for (std::size_t k = 0; k < got.size(); ++k) {
    INFO("window " << k);
    REQUIRE(got[k].ok());
    CHECK(got[k].bpm == want[k]);
    CHECK(got[k].bpm_tracked == want[k]);
    CHECK(got[k].probabilities == nullptr);
    CHECK(std::isnan(got[k].confidence));
  }
  // The published clamp works on the BPM values.
  const auto clamped = run_pulse(*net, frames, fs, Tracking::recent_mean_clamp);
  RecentMeanClamp<float> expect;
  REQUIRE(clamped.size() == got.size());
  for (std::size_t k = 0; k < got.size(); ++k) CHECK(clamped[k].bpm_tracked == expect.update(got[k].bpm));
}

TEST_CASE("monitor: a stopped accelerometer sets acc_flat on the windows inside the stop, status kept") {
  static_assert(Monitor<PulseReg, PulsePreprocessor>::acc_channels == 3, "PULSE: PPG, then ACC x, y, z");
  static_assert(Mon::acc_channels == 0, "a PPG-only stream has no accelerometer");
  auto net = make_pulse_net<PulseReg>(94);
  const int fs = 50;
  const auto clean = pulse_frames(fs, 40.0);
  const auto base = run_pulse(*net, clean, fs, Tracking::none);
  REQUIRE(base.size() == 17);
  for (const auto& w : base) CHECK_FALSE(w.acc_flat);  // a moving accelerometer
  // Samples [a, b) stopped: holding frame a - 1's values (flat from a - 1), or zeros (flat from a).
  // Window k is samples [100 k, 100 k + 400): flat when its samples and the one before are equal.
  const std::size_t a = 615, b = 1505;
  for (const bool zeros : {false, true}) {
    auto frames = clean;
    for (std::size_t i = a; i < b; ++i)
      for (int c = 1; c < 4; ++c) frames[4 * i + c] = zeros ? 0.f : clean[4 * (a - 1) + c];
    const auto got = run_pulse(*net, frames, fs, Tracking::none);
    REQUIRE(got.size() == base.size());
    for (std::size_t k = 0; k < got.size(); ++k) {
      INFO((zeros ? "zeros" : "hold") << ", window " << k);
      const std::size_t c0 = 100 * k, c1 = c0 + 400;
      const bool flat = (zeros ? a + 1 <= c0 : a <= c0) && c1 <= b;  // k = 7..11 either way
      CHECK(got[k].acc_flat == flat);
      CHECK(got[k].status == base[k].status);  // the PPG decides the status, not the accelerometer
      CHECK(got[k].ok());
    }
    CHECK(std::count_if(got.begin(), got.end(), [](const WindowResult& w) { return w.acc_flat; }) == 5);
  }
  // A gap inside the stop: the windows it touches are gap, never acc_flat.
  auto frames = clean;
  for (std::size_t i = a; i < b; ++i)
    for (int c = 1; c < 4; ++c) frames[4 * i + c] = clean[4 * (a - 1) + c];
  using M = Monitor<PulseReg, PulsePreprocessor>;
  auto mon = std::make_unique<M>();
  M::Config cfg;
  cfg.preprocessing = PulsePreprocessor::raw_config(fs);
  REQUIRE(mon->init(*net, cfg) == DspStatus::ok);
  std::vector<WindowResult> out;
  auto sink = [&](const WindowResult& r) { out.push_back(r); };
  REQUIRE(mon->push(frames.data(), 1000, sink) == DspStatus::ok);
  REQUIRE(mon->push_gap(10, sink) == DspStatus::ok);
  REQUIRE(mon->push(frames.data() + 4 * 1010, frames.size() / 4 - 1010, sink) == DspStatus::ok);
  REQUIRE(mon->finish(sink) == DspStatus::ok);
  REQUIRE(out.size() == base.size());
  for (std::size_t k = 0; k < out.size(); ++k) {
    INFO("gap, window " << k);
    const std::size_t c0 = 100 * k, c1 = c0 + 400;
    if (c0 < 1010 && c1 > 1000) {
      CHECK(out[k].status == SignalStatus::gap);
      CHECK_FALSE(out[k].acc_flat);
    } else {
      CHECK(out[k].acc_flat == (a <= c0 && c1 <= b));
    }
  }
}

TEST_CASE("monitor: Tracking::hmm needs a probability vector: refused for a regression head") {
  auto net = make_pulse_net<PulseReg>(92);
  auto mon = std::make_unique<Monitor<PulseReg, PulsePreprocessor>>();
  Monitor<PulseReg, PulsePreprocessor>::Config cfg;
  cfg.preprocessing = PulsePreprocessor::raw_config(64);
  cfg.tracking = Tracking::hmm;
  CHECK(mon->init(*net, cfg) == DspStatus::bad_config);
  const auto frames = pulse_frames(64, 10.0);
  int calls = 0;
  auto sink = [&](const WindowResult&) { ++calls; };
  CHECK(mon->push(frames.data(), frames.size() / 4, sink) == DspStatus::not_initialized);
  CHECK(mon->finish(sink) == DspStatus::not_initialized);
  CHECK(calls == 0);
  cfg.tracking = Tracking::recent_mean_clamp;
  CHECK(mon->init(*net, cfg) == DspStatus::ok);
}

TEST_CASE("monitor: a PULSE 180-class head keeps probabilities, confidence and HMM tracking") {
  auto net = make_pulse_net<PulseCls>(93);
  const auto got = run_pulse(*net, pulse_frames(50, 30.0), 50, Tracking::hmm);
  REQUIRE(got.size() == 12);
  for (const auto& r : got) {
    REQUIRE(r.ok());
    CHECK(r.probabilities != nullptr);
    CHECK(r.confidence > 0.f);
    CHECK(r.confidence <= 1.0001f);
    CHECK(r.bpm >= 30.f);
    CHECK(r.bpm_tracked >= 30.f);
  }
}
