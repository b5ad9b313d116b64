// Many streams at once (issue 15, item 4): N ppghr::Monitor objects on N std::threads give exactly
// (bit for bit) the results of the same recordings run one after another on one thread, for the
// default shipped model (SpectralNet<1, SpecNet<2>> from models/specnet2_bami1.ppgw) and for the
// classical spectral estimator (SpectralEstimator<3>).
//
// The thread-safety contract these tests hold (README "Thread safety"):
//  - The library has no global or static mutable state: objects on different threads never touch
//    each other, so a Monitor and its estimator per stream (or per thread) need no lock.
//  - A network / estimator object is NOT shareable across threads: predict() writes its scratch
//    buffers and its result inside the object (and the Monitor reads that result during the sink
//    call). Give every thread its own.
//  - What threads may share: the blob's bytes, read-only (load() only reads them): one const buffer
//    read from the .ppgw file once, from which every thread loads its own network, concurrently.
//  - On ONE thread, one estimator object may serve several monitors (interleaved pushes, same
//    estimator settings, e.g. set_accelerometer): predict() keeps nothing from one window to the
//    next, and the Monitor copies what it keeps (Tracking::hmm) before the next predict().
// Tested here: (1) N = 4 and 8 threads, one estimator + monitor each, every thread loading the
// network from the same const buffer at the same moment, = serial, and the buffer unchanged;
// (2) 4 threads, each with ONE estimator serving two monitors with interleaved chunks, = serial.
// A negative control (one estimator shared by all N threads, tried by hand, not committed) fails
// check (1) on a 2-core machine: the comparison does see cross-thread sharing.
//
// The recordings: 8 synthetic ones, 10 min at 50 Hz (30,000 frames of 3 PPG channels + a 3-axis
// accelerometer; 4 min under a sanitizer), from a deterministic generator (splitmix64, no <random>
// distributions): a pulse whose rate drifts (40..180 BPM), harmonics, baseline wander, noise, two
// walking bouts (arm swing on the accelerometer and as an artefact on the PPG), and faults: a NaN
// burst on the PPG, a 2-4 s gap (push_gap), a 10 s flat run, an 8 s clipped run (ADC rails
// 0..65535), a short NaN burst on the accelerometer; streams 6 and 7 have no accelerometer (zeros,
// set_accelerometer(false)). Each stream pushes in its own random chunk sizes (1..200 frames);
// tracking alternates none / hmm / recent_mean_clamp by stream; the spectral estimator gets its
// calibration tables.
// Compared per window: index, start_s, end_s, status, bpm, bpm_tracked, confidence,
// confidence_raw, clipped_fraction and the 180 probabilities, as bit patterns (so NaN = NaN).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <ppghr/ppghr.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#ifndef PPGHR_MODELS_DIR
#error "PPGHR_MODELS_DIR must name the repository's models/ directory"
#endif

namespace {

constexpr double kPi = 3.14159265358979323846;
// Under a sanitizer (scripts/test.sh's build-asan: -O1, ASan, UBSan) SpecNet runs ~20x slower: the
// recordings are 4 min there (same generator, events at the same fractions of the length), 10 min
// otherwise.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PPGHR_THREADS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PPGHR_THREADS_SANITIZED 1
#endif
#endif
#ifdef PPGHR_THREADS_SANITIZED
constexpr int kSeconds = 240;
#else
constexpr int kSeconds = 600;
#endif
constexpr double kFs = 50.0;
constexpr std::size_t kFrames = std::size_t(kFs) * kSeconds;
constexpr int kStreams = 8;
constexpr std::uint64_t kWindows = (kSeconds - ppghr::kWindowSeconds) / ppghr::kStrideSeconds + 1;  // 297 (117)
constexpr float kAdcMax = 65535.f;

// splitmix64: the same numbers on every platform and compiler.
struct SplitMix {
  std::uint64_t s;
  std::uint64_t next() noexcept {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() noexcept { return double(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  double symmetric() noexcept { return 2.0 * uniform() - 1.0; }          // [-1, 1)
  std::size_t below(std::size_t n) noexcept { return std::size_t(next() % n); }
};

// One step of a stream: push frames [first, first + n), or declare n frames missing.
struct Step {
  std::size_t first, n;
  bool gap;
};

struct Recording {
  int stream = 0;
  bool accelerometer = true;
  std::vector<float> ppg, acc;  // [kFrames][3] each
  std::vector<float> hr;        // true heart rate per frame
  std::vector<Step> plan;
};

// 0 outside [t0, t0 + len], 1 inside, 10 s ramps (a walking bout).
double envelope(double t, double t0, double len) {
  const double ramp = 10.0;
  if (t < t0 || t > t0 + len) return 0.0;
  return std::min({1.0, (t - t0) / ramp, (t0 + len - t) / ramp});
}

Recording make_recording(int stream) {
  SplitMix rng{0x5eedull * std::uint64_t(stream + 1) + 0x1234567ull};
  Recording r;
  r.stream = stream;
  r.accelerometer = stream < 6;
  r.ppg.resize(kFrames * 3);
  r.acc.resize(kFrames * 3);
  r.hr.resize(kFrames);
  const double base = 60 + 30 * rng.uniform(), swing = 15 + 20 * rng.uniform();
  const double period = 180 + 240 * rng.uniform(), phase0 = 2 * kPi * rng.uniform();
  // Events at fractions of the length T (600 s: walks from 100-200 s and 400-460 s, the NaN burst at
  // 60-90 s, the gap at 240-270 s, the flat run at 330-350 s, clipping at 520-540 s, the
  // accelerometer's NaN at 570-580 s).
  const double T = kSeconds;
  const double walk1 = T * (0.167 + 0.167 * rng.uniform()), walk1_len = T * (0.15 + 0.1 * rng.uniform());
  const double walk2 = T * (0.667 + 0.1 * rng.uniform()), walk2_len = T * (0.1 + 0.067 * rng.uniform());
  const double step1 = 95 + 40 * rng.uniform(), step2 = 95 + 40 * rng.uniform();  // steps per minute
  const std::size_t nan_at = std::size_t(T * (0.1 + 0.05 * rng.uniform()) * kFs), nan_len = 30 + rng.below(40);
  const std::size_t gap_at = std::size_t(T * (0.4 + 0.05 * rng.uniform()) * kFs), gap_len = 100 + rng.below(100);
  const std::size_t flat_at = std::size_t(T * (0.55 + 0.033 * rng.uniform()) * kFs), flat_len = 500;
  const std::size_t clip_at = std::size_t(T * (0.867 + 0.033 * rng.uniform()) * kFs), clip_len = 400;
  const std::size_t accnan_at = std::size_t(T * (0.95 + 0.017 * rng.uniform()) * kFs), accnan_len = 5;
  double phase = phase0;
  for (std::size_t i = 0; i < kFrames; ++i) {
    const double t = double(i) / kFs;
    const double e1 = envelope(t, walk1, walk1_len), e2 = envelope(t, walk2, walk2_len);
    const double walk = e1 + e2, step = e1 > 0 ? step1 : step2;
    const double hr = std::clamp(base + swing * std::sin(2 * kPi * t / period + phase0) + 25 * walk, 40.0, 180.0);
    phase += 2 * kPi * hr / 60.0 / kFs;
    r.hr[i] = float(hr);
    const double swing_f = 2 * kPi * step / 60.0 * t;
    for (int c = 0; c < 3; ++c) {
      const double amp = 400 * (1 + 0.2 * c);
      double x = 30000 + 1500 * c + amp * (std::sin(phase + 0.4 * c) + 0.35 * std::sin(2 * phase + 0.8 + 0.4 * c)) +
                 300 * std::sin(2 * kPi * 0.07 * t + c) + 25 * rng.symmetric() + 250 * walk * std::sin(swing_f / 2 + 0.5);
      if (i >= clip_at && i < clip_at + clip_len) x = std::clamp(30000 + 40000 * std::sin(phase), 0.0, double(kAdcMax));
      r.ppg[i * 3 + std::size_t(c)] = float(x);
    }
    if (r.accelerometer) {
      r.acc[i * 3 + 0] = float(0.45 * walk * std::sin(swing_f) + 0.01 * rng.symmetric());
      r.acc[i * 3 + 1] = float(0.25 * walk * std::sin(swing_f / 2 + 1) + 0.01 * rng.symmetric());
      r.acc[i * 3 + 2] = float(1 + 0.1 * walk * std::sin(swing_f + 2) + 0.01 * rng.symmetric());
    }
  }
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (std::size_t i = nan_at; i < nan_at + nan_len; ++i)
    for (int c = 0; c < 3; ++c) r.ppg[i * 3 + std::size_t(c)] = nan;
  for (std::size_t i = flat_at; i < flat_at + flat_len; ++i)
    for (int c = 0; c < 3; ++c) r.ppg[i * 3 + std::size_t(c)] = r.ppg[flat_at * 3 + std::size_t(c)];
  if (r.accelerometer)
    for (std::size_t i = accnan_at; i < accnan_at + accnan_len; ++i) r.acc[i * 3] = nan;
  // The chunk plan: mostly 1 s or 0.5 s chunks, sometimes tiny or large ones; the gap as one step.
  for (std::size_t i = 0; i < kFrames;) {
    if (i == gap_at) {
      r.plan.push_back({i, gap_len, true});
      i += gap_len;
      continue;
    }
    const std::size_t kinds[] = {50, 25, 1 + rng.below(7), 1 + rng.below(200)};
    std::size_t n = kinds[rng.below(4)];
    n = std::min({n, kFrames - i, i < gap_at ? gap_at - i : kFrames});
    r.plan.push_back({i, n, false});
    i += n;
  }
  return r;
}

// Frames [n][C + 3] for an estimator of C PPG channels (the first C of the recording's 3).
std::vector<float> frames_for(const Recording& r, int ppg_channels) {
  const std::size_t ch = std::size_t(ppg_channels) + 3;
  std::vector<float> f(kFrames * ch);
  for (std::size_t i = 0; i < kFrames; ++i) {
    for (std::size_t c = 0; c < std::size_t(ppg_channels); ++c) f[i * ch + c] = r.ppg[i * 3 + c];
    for (std::size_t a = 0; a < 3; ++a) f[i * ch + std::size_t(ppg_channels) + a] = r.acc[i * 3 + a];
  }
  return f;
}

ppghr::Tracking tracking_of(int stream) {
  const ppghr::Tracking t[] = {ppghr::Tracking::none, ppghr::Tracking::hmm, ppghr::Tracking::recent_mean_clamp};
  return t[stream % 3];
}

std::uint32_t bits(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

// One WindowResult, every field as it came (floats as bit patterns).
struct Row {
  std::uint64_t index;
  std::uint64_t start_bits, end_bits;
  int status;
  std::uint32_t bpm, bpm_tracked, confidence, confidence_raw, clipped_fraction;
  std::vector<std::uint32_t> probabilities;  // 180 or none
  bool operator==(const Row& o) const {
    return index == o.index && start_bits == o.start_bits && end_bits == o.end_bits && status == o.status &&
           bpm == o.bpm && bpm_tracked == o.bpm_tracked && confidence == o.confidence &&
           confidence_raw == o.confidence_raw && clipped_fraction == o.clipped_fraction &&
           probabilities == o.probabilities;
  }
};

Row row_of(const ppghr::WindowResult& w) {
  Row r;
  r.index = w.index;
  std::memcpy(&r.start_bits, &w.start_s, sizeof(double));
  std::memcpy(&r.end_bits, &w.end_s, sizeof(double));
  r.status = int(w.status);
  r.bpm = bits(w.bpm);
  r.bpm_tracked = bits(w.bpm_tracked);
  r.confidence = bits(w.confidence);
  r.confidence_raw = bits(w.confidence_raw);
  r.clipped_fraction = bits(w.clipped_fraction);
  if (w.probabilities)
    for (int k = 0; k < ppghr::kNumClasses; ++k) r.probabilities.push_back(bits(w.probabilities[k]));
  return r;
}

// A stream's results, and whether every library call said ok (no doctest macros off the main thread).
struct Output {
  std::vector<Row> rows;
  bool calls_ok = true;
};

// The default model: SpectralNet<1, SpecNet<2>> with the shipped weights; frames [n][4].
struct DefaultModel {
  static constexpr const char* name = "specnet2_bami1 (SpectralNet<1, SpecNet<2>>)";
  using Est = ppghr::SpectralNet<1, ppghr::SpecNet<2>>;
  static constexpr int ppg_channels = 1;
  static ppghr::Calibration calibration(ppghr::Tracking, bool) { return {}; }
};

// The classical spectral estimator on 3 PPG channels, with its calibration tables; frames [n][6].
struct Spectral {
  static constexpr const char* name = "SpectralEstimator<3>";
  using Est = ppghr::SpectralEstimator<3>;
  static constexpr int ppg_channels = 3;
  static ppghr::Calibration calibration(ppghr::Tracking t, bool acc) { return ppghr::spectral_calibration(t, 0, acc); }
};

// The blob's bytes, read once; threads share them read-only.
const std::vector<unsigned char>& shipped_blob() {
  static const std::vector<unsigned char> blob = [] {
    std::ifstream f(std::string(PPGHR_MODELS_DIR) + "/specnet2_bami1.ppgw", std::ios::binary);
    return std::vector<unsigned char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  }();
  return blob;
}

// A fresh estimator of Kind: the network loaded from `blob` (the spectral estimator has none);
// nullptr when the load fails.
template <class Kind>
std::unique_ptr<typename Kind::Est> make_estimator(const std::vector<unsigned char>* blob) {
  auto est = std::make_unique<typename Kind::Est>();
  if constexpr (std::is_same_v<Kind, DefaultModel>) {
    if (blob == nullptr || !est->load(blob->data(), blob->size()).ok()) return nullptr;
  } else {
    (void)blob;
  }
  return est;
}

// A stream in flight: its monitor on an estimator it does not own, and where it is in its plan.
template <class Kind>
class Stream {
 public:
  using Est = typename Kind::Est;
  using Mon = ppghr::Monitor<Est, typename Est::preprocessor>;

  Stream(Est& est, const Recording& r, const std::vector<float>& frames) : rec_(r), frames_(frames) {
    mon_ = std::make_unique<Mon>();
    typename Mon::Config cfg;
    cfg.preprocessing = Est::preprocessing_config(kFs);
    cfg.adc_min = 0.f;
    cfg.adc_max = kAdcMax;
    cfg.tracking = tracking_of(r.stream);
    cfg.calibration = Kind::calibration(cfg.tracking, r.accelerometer);
    out_.calls_ok = mon_->init(est, cfg) == ppghr::DspStatus::ok;
    out_.rows.reserve(kWindows + 1);
  }
  bool done() const { return step_ > rec_.plan.size(); }
  // Pushes the next step of the plan; after the last one, finish().
  void advance() {
    auto sink = [this](const ppghr::WindowResult& w) { out_.rows.push_back(row_of(w)); };
    constexpr std::size_t ch = std::size_t(Kind::ppg_channels) + 3;
    ppghr::DspStatus st;
    if (step_ == rec_.plan.size()) {
      st = mon_->finish(sink);
    } else {
      const Step& s = rec_.plan[step_];
      st = s.gap ? mon_->push_gap(s.n, sink) : mon_->push(frames_.data() + s.first * ch, s.n, sink);
    }
    out_.calls_ok = out_.calls_ok && st == ppghr::DspStatus::ok;
    ++step_;
  }
  Output take() { return std::move(out_); }

 private:
  const Recording& rec_;
  const std::vector<float>& frames_;
  std::unique_ptr<Mon> mon_;
  std::size_t step_ = 0;
  Output out_;
};

// Streams recording r through a fresh monitor on `est`, start to end.
template <class Kind>
Output run_stream(typename Kind::Est& est, const Recording& r, const std::vector<float>& frames) {
  est.set_accelerometer(r.accelerometer);
  Stream<Kind> s(est, r, frames);
  while (!s.done()) s.advance();
  return s.take();
}

// Streams a and b through two monitors on ONE estimator, alternating their steps.
template <class Kind>
std::pair<Output, Output> run_interleaved(typename Kind::Est& est, const Recording& ra, const std::vector<float>& fa,
                                          const Recording& rb, const std::vector<float>& fb) {
  est.set_accelerometer(ra.accelerometer);  // the pairs share their accelerometer setting
  Stream<Kind> a(est, ra, fa), b(est, rb, fb);
  while (!a.done() || !b.done()) {
    if (!a.done()) a.advance();
    if (!b.done()) b.advance();
  }
  return {a.take(), b.take()};
}

// All threads leave the start line together, so that their streams really overlap.
class StartLine {
 public:
  explicit StartLine(int n) : n_(n) {}
  void arrive_and_wait() {
    waiting_.fetch_add(1);
    while (waiting_.load() < n_) std::this_thread::yield();
  }

 private:
  std::atomic<int> waiting_{0};
  const int n_;
};

struct Data {
  std::vector<Recording> recordings;
  std::vector<std::vector<float>> frames;
};

template <class Kind>
const Data& data() {
  static const Data d = [] {
    Data x;
    for (int s = 0; s < kStreams; ++s) {
      x.recordings.push_back(make_recording(s));
      x.frames.push_back(frames_for(x.recordings.back(), Kind::ppg_channels));
    }
    return x;
  }();
  return d;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The serial reference, with sanity checks that the streams exercise what they should.
template <class Kind>
std::vector<Output> serial_reference() {
  const Data& d = data<Kind>();
  std::vector<Output> ref;
  const auto t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < kStreams; ++s) {
    auto est = std::make_unique<typename Kind::Est>();
    if constexpr (std::is_same_v<Kind, DefaultModel>)  // the serial run loads from the file itself
      REQUIRE(est->load_file(PPGHR_MODELS_DIR "/specnet2_bami1.ppgw").ok());
    ref.push_back(run_stream<Kind>(*est, d.recordings[std::size_t(s)], d.frames[std::size_t(s)]));
  }
  MESSAGE(std::string(Kind::name) << ": " << kStreams << " streams of " << kSeconds << " s serially in " << seconds_since(t0)
                     << " s");
  for (int s = 0; s < kStreams; ++s) {
    const Output& o = ref[std::size_t(s)];
    const Recording& r = data<Kind>().recordings[std::size_t(s)];
    INFO(std::string(Kind::name) << " stream " << s);
    CHECK(o.calls_ok);
    REQUIRE(o.rows.size() == kWindows);
    int count[8] = {};
    double err = 0;
    int ok = 0, close = 0;
    for (std::uint64_t k = 0; k < kWindows; ++k) {
      const Row& w = o.rows[k];
      CHECK(w.index == k);
      double start;
      std::memcpy(&start, &w.start_bits, sizeof start);
      CHECK(start == 2.0 * double(k));
      ++count[w.status & 7];
      if (w.status == int(ppghr::SignalStatus::ok)) {
        float bpm;
        std::memcpy(&bpm, &w.bpm, sizeof bpm);
        CHECK((bpm >= 30.f && bpm <= 209.f));
        CHECK(w.probabilities.size() == std::size_t(ppghr::kNumClasses));
        const double truth = r.hr[std::size_t((2.0 * double(k) + 4.0) * kFs)];
        err += std::abs(double(bpm) - truth);
        close += std::abs(double(bpm) - truth) <= 10.0 ? 1 : 0;
        ++ok;
      }
    }
    using S = ppghr::SignalStatus;
    CHECK(count[int(S::gap)] >= 4);
    CHECK(count[int(S::non_finite)] >= 4);  // the PPG NaN burst (and the accelerometer's, streams 0-5)
    CHECK(count[int(S::flat)] >= 1);
    CHECK(count[int(S::clipped)] >= 1);
    CHECK(ok >= int(kWindows * 7 / 10));
    // Not an accuracy test (the synthetic pulse is easy): a guard that the estimators really
    // estimate on these recordings, so that "identical" is not identical nonsense.
    CHECK(close >= ok * 7 / 10);
    MESSAGE(std::string(Kind::name) << " stream " << s << ": ok " << ok << ", gap " << count[int(S::gap)] << ", non_finite "
                       << count[int(S::non_finite)] << ", flat " << count[int(S::flat)] << ", clipped "
                       << count[int(S::clipped)] << "; ok windows: mean |bpm - truth| " << err / std::max(ok, 1)
                       << ", within 10 BPM " << close);
  }
  return ref;
}

template <class Kind>
void check_same(const std::vector<Output>& got, const std::vector<Output>& ref, const char* what) {
  for (std::size_t s = 0; s < got.size(); ++s) {
    INFO(std::string(Kind::name) << ", " << what << ", stream " << s);
    CHECK(got[s].calls_ok);
    REQUIRE(got[s].rows.size() == ref[s].rows.size());
    std::size_t differ = 0;
    for (std::size_t k = 0; k < ref[s].rows.size(); ++k) differ += got[s].rows[k] == ref[s].rows[k] ? 0 : 1;
    CHECK(differ == 0);
  }
}

// N threads, one estimator + monitor each, all loading from the one shared const blob at once.
template <class Kind>
void check_threads(const std::vector<Output>& ref, int n) {
  const Data& d = data<Kind>();
  const std::vector<unsigned char>& blob = shipped_blob();
  std::vector<Output> got(static_cast<std::size_t>(n));
  StartLine start(n);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int s = 0; s < n; ++s) {
    threads.emplace_back([&, s] {
      start.arrive_and_wait();
      auto est = make_estimator<Kind>(&blob);
      if (!est) {
        got[std::size_t(s)].calls_ok = false;
        return;
      }
      got[std::size_t(s)] = run_stream<Kind>(*est, d.recordings[std::size_t(s)], d.frames[std::size_t(s)]);
    });
  }
  for (auto& t : threads) t.join();
  MESSAGE(std::string(Kind::name) << ": " << n << " streams on " << n << " threads in " << seconds_since(t0) << " s");
  const std::vector<Output> want(ref.begin(), ref.begin() + n);
  check_same<Kind>(got, want, n == 4 ? "4 threads" : "8 threads");
}

// 4 threads, each with ONE estimator serving two monitors (streams 2t and 2t + 1), interleaved.
template <class Kind>
void check_shared_per_thread(const std::vector<Output>& ref) {
  const Data& d = data<Kind>();
  const std::vector<unsigned char>& blob = shipped_blob();
  constexpr int kThreads = kStreams / 2;
  std::vector<Output> got(kStreams);
  StartLine start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      auto est = make_estimator<Kind>(&blob);
      const std::size_t a = std::size_t(2 * t), b = a + 1;
      if (!est) {
        got[a].calls_ok = got[b].calls_ok = false;
        return;
      }
      auto pair = run_interleaved<Kind>(*est, d.recordings[a], d.frames[a], d.recordings[b], d.frames[b]);
      got[a] = std::move(pair.first);
      got[b] = std::move(pair.second);
    });
  }
  for (auto& th : threads) th.join();
  check_same<Kind>(got, ref, "one estimator per thread, two interleaved monitors");
}

template <class Kind>
void check_kind() {
  const std::vector<unsigned char>& blob = shipped_blob();
  REQUIRE(blob.size() > 24);
  const std::vector<unsigned char> copy = blob;
  const std::vector<Output> ref = serial_reference<Kind>();
  // (no SUBCASEs: doctest would rerun the serial reference for each)
  check_threads<Kind>(ref, 4);
  check_threads<Kind>(ref, 8);
  CHECK(blob == copy);  // the shared blob was only read
  check_shared_per_thread<Kind>(ref);
}

}  // namespace

TEST_CASE("threads: the default model (specnet2_bami1) on many streams at once") { check_kind<DefaultModel>(); }

TEST_CASE("threads: the spectral estimator on many streams at once") { check_kind<Spectral>(); }
