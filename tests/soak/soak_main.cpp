// ppghr_soak - the day-long stream (issue 15, item 3): a deterministic synthetic recording at 64 Hz
// (PPG in ADC counts + a 3-axis accelerometer in g), generated on the fly chunk by chunk, with
// faults injected at random (seeded) through ppghr::Monitor, for the default shipped model
// (SpectralNet<1, SpecNet<2>> from models/specnet2_bami1.ppgw) and the classical spectral
// estimator (SpectralEstimator<1>), each with Tracking::none and Tracking::hmm (the online forward
// filter).
//
//   ppghr_soak [--hours H] [--small-hours h] [--seed S] [--only specnet|spectral] [--verbose] [--plan]
//   (PPGHR_SOAK_HOURS sets the default of --hours; default 1; --small-hours 0.25; seed 15.
//    --plan prints the fault plan and exits; --verbose prints it and every stretch's recovery.)
// Prints one summary line per estimator and tracking mode; exit status 0 when every check passed.
//
// Checks, per estimator and tracking mode (exit status 1 if any fails):
//  1. timing: window k arrives exactly once, in order (k = 0, 1, 2, ...), with start_s = 2k,
//     end_s = 2k + 8, while the monitor has seen between (2k + 8) x 64 and that + latency_frames()
//     + 1 samples; the count is windows_in_recording(N, 64) (43,197 for 24 h: the first window
//     needs 8 s);
//  2. every ok window: bpm and bpm_tracked finite, integer classes in [30, 209], confidence finite
//     in [0, 1], 180 finite non-negative probabilities; every other window: bpm = bpm_tracked =
//     confidence = 0 and no probabilities;
//  3. status = the rule below, computed from the fault plan (not from the monitor);
//  4. recovery: every window whose own 8 s and the 2 s on each side hold no faulty sample is
//     compared with the same window of a monitor that saw the clean signal (no faults) from the
//     start. Status and raw bpm: equal always. Tracking::none: equal bit for bit at once (status,
//     bpm, bpm_tracked, confidence, confidence_raw; 0 windows after the fault's reach: the
//     resampler is an FIR and every window's estimate is stateless). Tracking::hmm: the forward
//     filter carries a belief across windows, and the faults' windows gave it no evidence (its
//     belief only spread), so it needs windows of evidence to forget them; from the first such
//     window of a fault-free stretch, bpm_tracked equals the clean run's within kHmmBounds.rate
//     windows, the confidences within kConfidenceTolerance within kHmmBounds.confidence, and every
//     bit within kHmmBounds.bits, to the end of the stretch (identity is reached: the belief forgets
//     its past geometrically, through the transition's uniform floor and the evidence, until float
//     rounding makes both beliefs equal; a stretch cut short by the next fault counts its length);
//  5. no heap allocation from the first push() to the end of finish() (tests/alloc_counter.hpp);
//  6. chunking: the same faulty stream pushed in chunks of 1, 7 (over the first --small-hours,
//     the windows before finish()), 64, 1000 and random sizes 1..2000 gives the same windows bit
//     for bit (a chunk is split at fault boundaries into push() and push_gap() calls);
//  7. the fault plan produced every status (ok, gap, non_finite, flat, clipped) at least once, and
//     at least one acc_flat window;
//  8. acc_flat (the accelerometer held one value through the window: monitor.hpp) is set exactly
//     on the windows inside a stopped accelerometer: samples [c0, c0 + 512) each equal to the one
//     before, i.e. the stop holds its last value from a <= c0 (or zeros from a + 1 <= c0) to
//     b >= c0 + 512; never in a gap window; not checked where a gap or an accelerometer NaN
//     touches [c0 - 1, c0 + 512).
//
// Expected status of window k (samples [128k, 128k + 512) at 64 Hz), the Monitor's documented rule
// in its order of precedence (monitor.hpp):
//   gap         a sample of the window was pushed with push_gap()
//   non_finite  a NaN / Inf PPG sample in the window
//   flat        all the window's PPG samples are equal (the window lies inside a flat run, which
//               holds the sample before it)
//   clipped     float(samples at the rails) / 512 > 0.1 (rails given: adc_min 0, adc_max 65535)
//   non_finite  a NaN accelerometer sample in the window (another channel unusable)
//   ok          otherwise: a flat run or clipping shorter than that, a rate-mismatched chunk and a
//               stopped accelerometer leave the window ok (the estimator must still give a finite,
//               in-range heart rate; a rate-mismatched chunk cannot be seen; a stopped
//               accelerometer sets acc_flat, check 8)
// A gap or NaN within 2 s outside the window (the resampler reaches <= 51 samples = 0.8 s at
// 64 -> 25 Hz) may also spoil it: then gap or non_finite is accepted besides the rule's status.
//
// Faults (seeded, one every ~8 min for a day, more often in a short stream (plan_faults), kinds
// in shuffled rounds so every kind occurs, some back to back; the last minutes are clean): gaps
// (push_gap, 1 sample to 5 min), PPG NaN / +Inf / -Inf bursts, accelerometer NaN bursts, flat runs (the sensor holds its
// last value), clipping (gain x80, clamped to the rails), a rate-mismatched chunk, an accelerometer
// that stops (holds its last value, or zeros).
// Rate mismatch: the Monitor has no notion of a chunk's rate: the sensor rate is fixed at init()
// (Config::preprocessing.input_rate_hz) and push() takes no timestamps, so the stream clock is the
// sample count. The fault injected is therefore a chunk whose content was sampled at another rate
// (32, 50, 100 or 128 Hz) but delivered as 64 Hz samples (a driver misconfigured for a few
// seconds); the clock stays on the sample count. The monitor cannot detect it: the check is that it
// stays harmless (ok windows, finite in-range heart rates, recovery afterwards). A chunk with the
// wrong number of samples is the caller's to realign with push_gap() (a gap, tested above).
//
// Memory: the monitors and estimators are allocated once before the run; the windows' records go
// to arrays reserved in advance; sizeof(Monitor) is printed.

#include <ppghr/ppghr.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

#include "../alloc_counter.hpp"

// Allocation counting: tests/alloc_hooks.cpp (linked in) defines ppghr_test::g_allocations.

#ifndef PPGHR_MODELS_DIR
#error "PPGHR_MODELS_DIR must name the repository's models/ directory"
#endif

namespace {

using namespace ppghr;

constexpr double kFs = 64.0;
constexpr std::uint64_t kSeg = 128;  // 2 s of samples: the hop
constexpr std::uint64_t kWin = 512;  // 8 s: the window
constexpr float kAdcMin = 0.f, kAdcMax = 65535.f;
constexpr int kChannels = 4;  // PPG, acc x, y, z
// Tracking::hmm: windows after the fault's reach (the first window with no faulty sample within 2 s)
// from which the output equals the clean run's: heart rates (status, bpm, bpm_tracked), confidences
// within kConfidenceTolerance, all bits. Tracking::none: 0, 0, 0. Measured over 24 h with seeds 1-6
// and 15: at most 75 / 87 / 125 windows (rates: SpecNet, whose probabilities on this signal are
// less peaked, MAE 2.2 BPM vs the spectral estimator's 0.5; bits: the spectral estimator).
struct Bounds {
  std::uint64_t rate, confidence, bits;
};
constexpr Bounds kHmmBounds{120, 150, 180};
constexpr float kConfidenceTolerance = 1e-3f;
constexpr double kPi = 3.14159265358979323846;

// ---- the clean recording -------------------------------------------------------------------------

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
// Uniform in [-1, 1), a pure function of (sample, stream).
double noise(std::uint64_t i, std::uint64_t stream) {
  return double(splitmix(i * 4 + stream) >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

// The clean frame at sensor time t (seconds); key = sample index for the noise. A pulse whose rate
// wanders 48..142 BPM (two slow sines; the phase is their closed-form integral), its harmonic,
// breathing, noise, on a DC level of 30000 counts; arm swing in bouts on the accelerometer.
std::array<float, kChannels> clean_frame(double t, std::uint64_t key) {
  const double w1 = 2 * kPi / 1800, w2 = 2 * kPi / 420;
  const double beats = (95.0 * t - 35.0 / w1 * std::cos(w1 * t) - 12.0 / w2 * std::cos(w2 * t + 1.0)) / 60.0;
  const double ph = 2 * kPi * beats;
  const double ppg = 30000.0 + 400.0 * (std::sin(ph) + 0.35 * std::sin(2 * ph + 0.8)) +
                     150.0 * std::sin(2 * kPi * 0.22 * t + 0.3 * std::sin(2 * kPi * t / 97.0)) + 15.0 * noise(key, 0);
  const double s = std::sin(2 * kPi * t / 2700.0);
  const double m = s > 0 ? 0.35 * s * s : 0.0;  // motion bouts
  const double wc = 2 * kPi / 1300;
  const double pa = 2 * kPi * (1.7 * t - 0.3 / wc * std::cos(wc * t));  // cadence 1.4..2.0 Hz
  return {static_cast<float>(ppg), static_cast<float>(0.10 + m * std::sin(pa) + 0.01 * noise(key, 1)),
          static_cast<float>(-0.30 + 0.6 * m * std::sin(pa + 1.1) + 0.01 * noise(key, 2)),
          static_cast<float>(0.95 + 0.4 * m * std::sin(2 * pa) + 0.01 * noise(key, 3))};
}
// The clean recording's heart rate (BPM) at time t: the derivative of `beats` above x 60.
double true_bpm(double t) { return 95.0 + 35.0 * std::sin(2 * kPi / 1800 * t) + 12.0 * std::sin(2 * kPi / 420 * t + 1.0); }
std::array<float, kChannels> clean_sample(std::uint64_t i) { return clean_frame(double(i) / kFs, i); }

// ---- faults --------------------------------------------------------------------------------------

enum class Kind : std::uint8_t { gap, nan_ppg, nan_acc, flat, clip, rate, acc_stop };
constexpr int kKinds = 7;
const char* const kKindNames[kKinds] = {"gap", "nan_ppg", "nan_acc", "flat", "clip", "rate", "acc_stop"};

struct Event {
  Kind kind;
  std::uint64_t a, b;  // samples [a, b)
  int variant;         // nan_ppg: 0 NaN, 1 +Inf, 2 -Inf; acc_stop: 0 hold, 1 zeros; rate: the rate index
  std::array<float, kChannels> hold;  // flat / acc_stop: the last clean frame before a
};
constexpr double kMismatchRates[] = {32.0, 50.0, 100.0, 128.0};

struct Rng {
  std::uint64_t s;
  std::uint64_t next() { return s = splitmix(s); }
  std::uint64_t below(std::uint64_t n) { return n ? next() % n : 0; }
  std::uint64_t range(std::uint64_t lo, std::uint64_t hi) { return lo + below(hi - lo + 1); }  // [lo, hi]
  double unit() { return double(next() >> 11) / 9007199254740992.0; }
};

// A fault's length in samples. scale (0..1] shortens the long ones for a short stream.
std::uint64_t fault_length(Kind k, Rng& r, double scale, bool long_one) {
  const std::uint64_t s = 64;  // one second
  const auto upto = [&](std::uint64_t lo, std::uint64_t hi) {
    return r.range(lo, std::max(lo, std::uint64_t(double(hi) * scale)));
  };
  const double u = long_one ? 0.99 : r.unit();
  switch (k) {
    case Kind::gap: return u < 0.4 ? r.range(1, 16) : u < 0.8 ? upto(s, 30 * s) : upto(30 * s, 300 * s);
    case Kind::nan_ppg: return u < 0.5 ? r.range(1, 8) : r.range(s, 10 * s);
    case Kind::nan_acc: return r.range(1, 5 * s);
    case Kind::flat: return u < 0.4 ? r.range(2 * s, 6 * s) : upto(10 * s, 120 * s);
    case Kind::clip: return u < 0.4 ? r.range(s / 4, 2 * s) : upto(2 * s, 60 * s);
    case Kind::rate: return r.range(s, 20 * s);
    case Kind::acc_stop: return upto(10 * s, 1200 * s);
  }
  return 1;
}

// The faults of an n-sample stream: sorted, disjoint, at least one clean sample between two. One
// every ~8 min (~3 min x min(1, hours) when hours <= 2), the first after 1 min, none in the last
// 5 min (2 min for a stream under 1 h, scaled below 0.4 h). The first round of kinds takes their
// long variants, so that even a short stream has flat and clipped windows.
std::vector<Event> plan_faults(std::uint64_t n, std::uint64_t seed, double hours) {
  Rng r{seed};
  const double scale = std::min(1.0, hours);
  const std::uint64_t spacing = std::uint64_t((hours <= 2.0 ? std::max(1.0 / 3.0, 3.0 * scale) : 8.0) * 60.0 * kFs);
  const std::uint64_t tail = std::uint64_t((hours < 1.0 ? 120.0 * std::min(1.0, hours / 0.4) : 300.0) * kFs);
  std::vector<Event> ev;
  std::uint64_t t = std::uint64_t(60 * kFs);
  std::array<int, kKinds> order{};
  int pos = kKinds;
  for (;;) {
    if (pos == kKinds) {  // a new shuffled round of all kinds
      for (int i = 0; i < kKinds; ++i) order[i] = i;
      for (int i = kKinds - 1; i > 0; --i) std::swap(order[i], order[r.below(std::uint64_t(i) + 1)]);
      pos = 0;
    }
    const Kind k = static_cast<Kind>(order[pos++]);
    const std::uint64_t gap_before =
        r.unit() < 0.15 ? r.range(1, 10 * 64) : r.range(spacing * 3 / 10, spacing * 17 / 10);
    Event e{};
    e.kind = k;
    e.a = t + gap_before;
    e.b = e.a + fault_length(k, r, scale, ev.size() < kKinds);  // the first round: long ones (flat windows)
    if (e.b + tail > n) break;
    e.variant = k == Kind::nan_ppg ? int(r.below(3)) : k == Kind::acc_stop ? int(r.below(2)) : k == Kind::rate ? int(r.below(4)) : 0;
    e.hold = clean_sample(e.a - 1);
    ev.push_back(e);
    t = e.b;
  }
  return ev;
}

// The faulty frame of sample i inside event e (not for gaps: push_gap() carries no frame).
std::array<float, kChannels> faulty_sample(std::uint64_t i, const Event& e) {
  std::array<float, kChannels> f = clean_sample(i);
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  switch (e.kind) {
    case Kind::gap: break;
    case Kind::nan_ppg: f[0] = e.variant == 0 ? nan : e.variant == 1 ? inf : -inf; break;
    case Kind::nan_acc: f[1 + (i % 3)] = nan; break;
    case Kind::flat: f[0] = e.hold[0]; break;
    case Kind::clip: {
      const float v = 30000.f + 80.f * (f[0] - 30000.f);
      f[0] = v < kAdcMin ? kAdcMin : v > kAdcMax ? kAdcMax : v;
      break;
    }
    case Kind::rate: {  // sample j of the chunk holds the signal at a + j x 64 / rate
      const double t = (double(e.a) + double(i - e.a) * kFs / kMismatchRates[e.variant]) / kFs;
      f = clean_frame(t, i);
      break;
    }
    case Kind::acc_stop:
      for (int c = 1; c < kChannels; ++c) f[c] = e.variant == 0 ? e.hold[c] : 0.f;
      break;
  }
  return f;
}

// The first event with b > i (events are sorted and disjoint).
std::size_t first_event_after(const std::vector<Event>& ev, std::uint64_t i) {
  return std::size_t(std::upper_bound(ev.begin(), ev.end(), i, [](std::uint64_t x, const Event& e) { return x < e.b; }) -
                     ev.begin());
}

// ---- expected statuses ---------------------------------------------------------------------------

struct Expect {
  SignalStatus status = SignalStatus::ok;
  bool near_gap = false, near_nan = false;  // a gap / NaN within 2 s outside the window
  bool touched = false;                     // any faulty sample in [start - 2 s, end + 2 s)
  bool acc_flat = false;                    // inside a stopped accelerometer (check 8)
  bool acc_known = true;                    // false: a gap / accelerometer NaN touches it
};

Expect expect_window(const std::vector<Event>& ev, std::uint64_t k, std::uint64_t n) {
  Expect x;
  const std::uint64_t c0 = k * kSeg, c1 = c0 + kWin;
  const std::uint64_t lo = c0 >= kSeg ? c0 - kSeg : 0, hi = std::min(n, c1 + kSeg);
  bool gap = false, nan_ppg = false, nan_acc = false, flat = false;
  std::uint32_t clipped = 0;
  for (std::size_t j = first_event_after(ev, lo); j < ev.size() && ev[j].a < hi; ++j) {
    const Event& e = ev[j];
    x.touched = true;
    const std::uint64_t a = std::max(e.a, c0), b = std::min(e.b, c1);  // overlap with the window
    const bool core = a < b;
    const bool near = e.a < c0 || e.b > c1;  // some of it lies outside the window
    if ((e.kind == Kind::gap || e.kind == Kind::nan_acc) && e.a < c1 && e.b + 1 > c0) x.acc_known = false;
    if (e.kind == Kind::acc_stop && e.b >= c1 && (e.variant == 0 ? e.a <= c0 : e.a + 1 <= c0)) x.acc_flat = true;
    switch (e.kind) {
      case Kind::gap:
        gap = gap || core;
        x.near_gap = x.near_gap || near;
        break;
      case Kind::nan_ppg:
        nan_ppg = nan_ppg || core;
        x.near_nan = x.near_nan || near;
        break;
      case Kind::nan_acc:
        nan_acc = nan_acc || core;
        x.near_nan = x.near_nan || near;
        break;
      // The sensor holds sample a - 1 (always clean: events are at least one sample apart), so the
      // flat stretch is [a - 1, b).
      case Kind::flat: flat = flat || (e.a - 1 <= c0 && e.b >= c1); break;
      case Kind::clip:
        for (std::uint64_t i = a; i < b; ++i) {
          const float v = faulty_sample(i, e)[0];
          clipped += (v <= kAdcMin || v >= kAdcMax) ? 1u : 0u;
        }
        break;
      case Kind::rate:
      case Kind::acc_stop: break;
    }
  }
  if (gap) x.status = SignalStatus::gap;
  else if (nan_ppg) x.status = SignalStatus::non_finite;
  else if (flat) x.status = SignalStatus::flat;
  else if (float(clipped) / float(kWin) > 0.1f) x.status = SignalStatus::clipped;
  else if (nan_acc) x.status = SignalStatus::non_finite;
  return x;
}

// ---- one run -------------------------------------------------------------------------------------

struct Rec {
  float bpm = 0, bpm_tracked = 0, confidence = 0, confidence_raw = 0;
  SignalStatus status = SignalStatus::ok;
  bool acc_flat = false;
  bool at_finish = false;
  bool seen = false;
};
bool same(const Rec& x, const Rec& y) {
  return x.status == y.status && x.acc_flat == y.acc_flat && std::memcmp(&x.bpm, &y.bpm, sizeof(float)) == 0 &&
         std::memcmp(&x.bpm_tracked, &y.bpm_tracked, sizeof(float)) == 0 &&
         std::memcmp(&x.confidence, &y.confidence, sizeof(float)) == 0 &&
         std::memcmp(&x.confidence_raw, &y.confidence_raw, sizeof(float)) == 0;
}

struct Failure {
  std::uint64_t window;
  char what[120];
};

struct Run {
  std::vector<Rec> recs;
  std::uint64_t windows = 0;   // delivered
  std::uint64_t spoiled_nearby = 0;  // gap / non_finite from a gap or NaN just outside the window
  std::array<std::uint64_t, 8> by_status{};
  std::uint64_t acc_flat = 0;  // windows with acc_flat
  long allocations = 0;
  double seconds = 0;
  std::uint64_t failures = 0;
  std::array<Failure, 16> first{};
  void fail(std::uint64_t k, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
};
void Run::fail(std::uint64_t k, const char* fmt, ...) {
  if (failures < first.size()) {
    Failure& f = first[failures];
    f.window = k;
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(f.what, sizeof f.what, fmt, ap);
    va_end(ap);
  }
  ++failures;
}

// Chunk sizes: 0 = random 1..2000 (seeded), otherwise fixed.
struct Chunker {
  std::uint64_t fixed;
  Rng r;
  std::uint64_t next() {
    if (fixed) return fixed;
    const double u = r.unit();  // mostly small, sometimes large
    return u < 0.5 ? r.range(1, 64) : u < 0.9 ? r.range(65, 500) : r.range(501, 2000);
  }
};

template <class M, class Est>
void stream(M& mon, Est& est, const typename M::Config& cfg, const std::vector<Event>& ev, bool faults,
            std::uint64_t n, std::uint64_t chunk, std::uint64_t seed, std::vector<float>& buf, Run& run) {
  (void)est;
  using Pre = std::decay_t<decltype(mon.preprocessor())>;
  const std::uint64_t expected = Pre::windows_in_recording(n, kFs);
  run.recs.assign(expected, Rec{});
  run.windows = 0;
  if (mon.init(est, cfg) != DspStatus::ok) {
    run.fail(0, "init() refused the configuration");
    return;
  }
  const std::uint64_t latency = std::uint64_t(mon.preprocessor().latency_frames());
  bool finishing = false;
  std::uint64_t next_k = 0;
  auto sink = [&](const WindowResult& w) {
    const std::uint64_t k = w.index;
    if (k != next_k) run.fail(k, "window %llu arrived, expected %llu", (unsigned long long)k, (unsigned long long)next_k);
    next_k = k + 1;
    if (k >= expected) {
      run.fail(k, "window %llu beyond the %llu expected", (unsigned long long)k, (unsigned long long)expected);
      return;
    }
    Rec& r = run.recs[k];
    if (r.seen) run.fail(k, "window delivered twice");
    r.seen = true;
    ++run.windows;
    ++run.by_status[std::size_t(w.status) & 7u];
    if (w.start_s != 2.0 * double(k) || w.end_s != 2.0 * double(k) + 8.0)
      run.fail(k, "times [%g, %g) for window %llu", w.start_s, w.end_s, (unsigned long long)k);
    const std::uint64_t end = k * kSeg + kWin, seen = mon.samples();
    if (!finishing && (seen < end || seen > end + latency + 1))
      run.fail(k, "emitted after %llu samples, its last is %llu (latency %llu)", (unsigned long long)seen,
               (unsigned long long)end, (unsigned long long)latency);
    r.status = w.status;
    r.acc_flat = w.acc_flat;
    run.acc_flat += w.acc_flat ? 1u : 0u;
    r.bpm = w.bpm;
    r.bpm_tracked = w.bpm_tracked;
    r.confidence = w.confidence;
    r.confidence_raw = w.confidence_raw;
    r.at_finish = finishing;
    if (w.ok()) {
      const auto in_grid = [](float b) { return std::isfinite(b) && b >= 30.f && b <= 209.f && b == std::floor(b); };
      if (!in_grid(w.bpm) || !in_grid(w.bpm_tracked))
        run.fail(k, "ok window with bpm %g, tracked %g", double(w.bpm), double(w.bpm_tracked));
      if (!(w.confidence >= 0.f && w.confidence <= 1.f) || !(w.confidence_raw >= 0.f && w.confidence_raw <= 1.0001f))
        run.fail(k, "ok window with confidence %g (raw %g)", double(w.confidence), double(w.confidence_raw));
      if (w.probabilities == nullptr) {
        run.fail(k, "ok window without probabilities");
      } else {
        bool good = true;
        for (int c = 0; c < kNumClasses; ++c) good = good && std::isfinite(w.probabilities[c]) && w.probabilities[c] >= 0.f;
        if (!good) run.fail(k, "ok window with a NaN / negative probability");
      }
    } else if (w.bpm != 0.f || w.bpm_tracked != 0.f || w.confidence != 0.f || w.probabilities != nullptr) {
      run.fail(k, "%s window with bpm %g, tracked %g, confidence %g", signal_status_name(w.status), double(w.bpm),
               double(w.bpm_tracked), double(w.confidence));
    }
    // The status rule.
    const Expect x = faults ? expect_window(ev, k, n) : Expect{};
    const bool allowed = w.status == x.status || (x.near_gap && w.status == SignalStatus::gap) ||
                         ((x.near_gap || x.near_nan) && w.status == SignalStatus::non_finite);
    run.spoiled_nearby += (allowed && w.status != x.status) ? 1u : 0u;
    if (w.status == SignalStatus::gap ? w.acc_flat : x.acc_known && w.acc_flat != x.acc_flat)
      run.fail(k, "acc_flat %d, expected %d (status %s)", int(w.acc_flat), w.status == SignalStatus::gap ? 0 : int(x.acc_flat),
               signal_status_name(w.status));
    if (!allowed)
      run.fail(k, "status %s, expected %s%s%s", signal_status_name(w.status), signal_status_name(x.status),
               x.near_gap ? " (or gap / non_finite: a gap nearby)" : "",
               x.near_nan ? " (or non_finite: a NaN nearby)" : "");
  };

  Chunker chunker{chunk, Rng{seed ^ 0xC0FFEEull}};
  std::size_t e = 0;  // the first event that may still lie ahead
  const ppghr_test::AllocationScope scope;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < n;) {
    const std::uint64_t end = std::min(n, i + chunker.next());
    // Split [i, end) at gap boundaries: push() the frames, push_gap() the gaps.
    while (i < end) {
      while (faults && e < ev.size() && ev[e].b <= i) ++e;
      const bool in_gap = faults && e < ev.size() && ev[e].kind == Kind::gap && ev[e].a <= i;
      std::uint64_t stop = end;
      if (faults && e < ev.size()) stop = std::min(stop, ev[e].a > i ? ev[e].a : ev[e].b);
      if (in_gap) {
        if (mon.push_gap(std::size_t(stop - i), sink) != DspStatus::ok) run.fail(i, "push_gap() failed");
        i = stop;
        continue;
      }
      // Frames [i, stop): inside one event, or clean up to the next event.
      const bool in_event = faults && e < ev.size() && ev[e].a <= i;
      float* f = buf.data();
      for (std::uint64_t j = i; j < stop; ++j, f += kChannels) {
        const auto v = in_event ? faulty_sample(j, ev[e]) : clean_sample(j);
        for (int c = 0; c < kChannels; ++c) f[c] = v[std::size_t(c)];
      }
      if (mon.push(buf.data(), std::size_t(stop - i), sink) != DspStatus::ok) run.fail(i, "push() failed");
      i = stop;
    }
  }
  finishing = true;
  if (mon.finish(sink) != DspStatus::ok) run.fail(n, "finish() failed");
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  run.allocations = scope.count();
  if (run.allocations != 0) run.fail(n, "%ld heap allocations during the run", run.allocations);
  if (run.windows != expected || next_k != expected)
    run.fail(n, "%llu windows delivered, %llu expected", (unsigned long long)run.windows, (unsigned long long)expected);
}

// ---- one estimator x tracking --------------------------------------------------------------------

struct Options {
  double hours = 1.0, small_hours = 0.25;
  std::uint64_t seed = 15;
  std::string only;
  bool verbose = false, plan_only = false;
};

void print_failures(const char* label, const Run& r) {
  for (std::uint64_t j = 0; j < r.failures && j < r.first.size(); ++j)
    std::printf("  FAIL %s: window %llu: %s\n", label, (unsigned long long)r.first[j].window, r.first[j].what);
  if (r.failures > r.first.size()) std::printf("  ... %llu failures in all\n", (unsigned long long)r.failures);
}

// A clean end for the reduced runs: n moved past any event it falls in or just after.
std::uint64_t clean_end(const std::vector<Event>& ev, std::uint64_t n) {
  for (const Event& e : ev)
    if (n >= e.a && n < e.b + 2 * kSeg) n = e.b + 2 * kSeg;
  return n;
}

template <class Est>
bool soak_one(const char* name, Est& est, Tracking tracking, const Calibration& cal, const Options& o,
              const std::vector<Event>& ev, std::uint64_t n) {
  using Pre = typename Est::preprocessor;
  using M = Monitor<Est, Pre>;
  auto mon = std::make_unique<M>();
  typename M::Config cfg;
  cfg.preprocessing = Est::preprocessing_config(kFs);
  cfg.adc_min = kAdcMin;
  cfg.adc_max = kAdcMax;
  cfg.tracking = tracking;
  cfg.calibration = cal;
  const char* track = tracking == Tracking::hmm ? "hmm" : "none";
  char label[64];
  std::snprintf(label, sizeof label, "%s tracking=%s", name, track);
  std::vector<float> buf(kChannels * 2000);
  bool pass = true;
  const auto t0 = std::chrono::steady_clock::now();

  Run ref, base;
  stream(*mon, est, cfg, ev, false, n, 64, o.seed, buf, ref);
  stream(*mon, est, cfg, ev, true, n, 64, o.seed, buf, base);
  if (ref.by_status[0] != ref.windows) ref.fail(0, "the clean run has %llu windows that are not ok",
                                                (unsigned long long)(ref.windows - ref.by_status[0]));
  for (SignalStatus st : {SignalStatus::ok, SignalStatus::gap, SignalStatus::non_finite, SignalStatus::flat,
                          SignalStatus::clipped})
    if (base.by_status[std::size_t(st)] == 0) base.fail(0, "no %s window: the fault plan missed a case", signal_status_name(st));
  if (base.acc_flat == 0) base.fail(0, "no acc_flat window: the fault plan missed a stopped accelerometer");
  if (ref.acc_flat != 0) ref.fail(0, "the clean run has %llu acc_flat windows", (unsigned long long)ref.acc_flat);
  print_failures("clean run", ref);
  print_failures("faulty run", base);
  pass = pass && ref.failures == 0 && base.failures == 0;

  // How well the estimator follows the clean recording (not a check: context for the recovery).
  double err_raw = 0, err_tracked = 0;
  for (std::uint64_t k = 0; k < ref.recs.size(); ++k) {
    const double truth = true_bpm(2.0 * double(k) + 4.0);
    err_raw += std::fabs(double(ref.recs[k].bpm) - truth);
    err_tracked += std::fabs(double(ref.recs[k].bpm_tracked) - truth);
  }
  const double denom = ref.recs.empty() ? 1.0 : double(ref.recs.size());

  // Recovery: maximal stretches of untouched windows (no faulty sample within 2 s of them); from
  // which window of a stretch on (to its end) the output equals the clean run's: the heart rates,
  // the confidences within kConfidenceTolerance, bit for bit.
  const std::uint64_t W = base.recs.size();
  const bool hmm = tracking != Tracking::none;
  const Bounds bound = hmm ? kHmmBounds : Bounds{0, 0, 0};
  std::uint64_t untouched = 0, runs = 0, never = 0, raw_differs = 0;
  Bounds worst{0, 0, 0};
  const auto rate_same = [&](std::uint64_t j) {
    const Rec &x = base.recs[j], &y = ref.recs[j];
    return x.status == y.status && x.bpm == y.bpm && x.bpm_tracked == y.bpm_tracked;
  };
  const auto conf_close = [&](std::uint64_t j) {
    const Rec &x = base.recs[j], &y = ref.recs[j];
    return rate_same(j) && std::fabs(x.confidence - y.confidence) <= kConfidenceTolerance &&
           std::fabs(x.confidence_raw - y.confidence_raw) <= kConfidenceTolerance;
  };
  const auto bit_same = [&](std::uint64_t j) { return same(base.recs[j], ref.recs[j]); };
  for (std::uint64_t k = 0; k < W;) {
    if (expect_window(ev, k, n).touched) {
      ++k;
      continue;
    }
    std::uint64_t e = k;
    while (e < W && !expect_window(ev, e, n).touched) ++e;
    untouched += e - k;
    ++runs;
    for (std::uint64_t j = k; j < e; ++j)
      raw_differs += (base.recs[j].status != ref.recs[j].status || base.recs[j].bpm != ref.recs[j].bpm) ? 1u : 0u;
    // The first window of [k, e) from which pred holds to the end; e when it fails at the end.
    const auto from = [&](const auto& pred) {
      std::uint64_t j = e;
      while (j > k && pred(j - 1)) --j;
      return j;
    };
    const std::uint64_t f[3] = {from(rate_same), from(conf_close), from(bit_same)};
    const std::uint64_t lim[3] = {bound.rate, bound.confidence, bound.bits};
    std::uint64_t* w[3] = {&worst.rate, &worst.confidence, &worst.bits};
    const char* what[3] = {"heart rates", "confidences", "bits"};
    for (int q = 0; q < 3; ++q) {
      if (f[q] == e && e - k > lim[q]) {
        ++never;
        pass = false;
        std::printf("  FAIL %s: windows %llu..%llu (no fault within 2 s): %s never equal the clean run's\n", label,
                    (unsigned long long)k, (unsigned long long)(e - 1), what[q]);
      } else {
        // A stretch that ends (at the next fault) before it equals the clean run counts its length.
        *w[q] = std::max(*w[q], f[q] - k);
        if (f[q] - k > lim[q]) {
          pass = false;
          std::printf("  FAIL %s: windows %llu..%llu (no fault within 2 s): %s equal the clean run's only from "
                      "window %llu (%llu > %llu windows)\n",
                      label, (unsigned long long)k, (unsigned long long)(e - 1), what[q], (unsigned long long)f[q],
                      (unsigned long long)(f[q] - k), (unsigned long long)lim[q]);
        }
      }
    }
    if (o.verbose && hmm)
      std::printf("  %s: stretch %llu..%llu: rates equal from +%llu, confidences +%llu, bits +%llu\n", label,
                  (unsigned long long)k, (unsigned long long)(e - 1), (unsigned long long)(f[0] - k),
                  (unsigned long long)(f[1] - k), (unsigned long long)(f[2] - k));
    k = e;
  }
  pass = pass && raw_differs == 0;
  if (raw_differs) std::printf("  FAIL %s: %llu untouched windows whose status or raw bpm differ from the clean run's\n",
                               label, (unsigned long long)raw_differs);

  // Chunkings: the same faulty stream, bit for bit.
  const std::uint64_t n_small = std::min(n, clean_end(ev, std::uint64_t(o.small_hours * 3600 * kFs)));
  struct Ch { std::uint64_t chunk; bool small; };
  const Ch chunks[] = {{1, true}, {7, true}, {1000, false}, {0, false}};
  std::string chunk_note;
  long allocations = ref.allocations + base.allocations;
  for (const Ch& c : chunks) {
    Run r;
    const std::uint64_t len = c.small ? n_small : n;
    stream(*mon, est, cfg, ev, true, len, c.chunk, o.seed + c.chunk, buf, r);
    allocations += r.allocations;
    std::uint64_t differ = 0, compared = 0;
    for (std::uint64_t k = 0; k < r.recs.size(); ++k) {
      if (r.recs[k].at_finish && len < n) continue;  // finish() extends the shorter stream
      ++compared;
      if (!same(r.recs[k], base.recs[k])) {
        if (differ < 3) r.fail(k, "differs from the chunk-64 run");
        ++differ;
      }
    }
    char lab[96];
    std::snprintf(lab, sizeof lab, "%s chunk %s", label, c.chunk ? std::to_string(c.chunk).c_str() : "random");
    print_failures(lab, r);
    pass = pass && r.failures == 0;
    chunk_note += (chunk_note.empty() ? "" : " ") + (c.chunk ? std::to_string(c.chunk) : std::string("random")) +
                  (c.small ? "(" + std::to_string(compared) + "w)" : "");
  }

  const auto& s = base.by_status;
  std::printf("soak %-9s tracking=%-4s %s: %llu windows (%.2f h), ok %llu, gap %llu, non_finite %llu, flat %llu, "
              "clipped %llu, acc_flat %llu (%llu made gap / non_finite by a fault within 2 s outside them); %llu fault-free stretches (%llu windows) equal the clean run's after at most %llu / %llu / %llu "
              "windows (rates / confidences / bits; bounds %llu / %llu / %llu); chunkings 64 %s equal; allocations %ld; "
              "clean-run MAE %.2f BPM (tracked %.2f); one faulty pass %.1f s, all %.1f s\n",
              name, track, pass ? "PASS" : "FAIL", (unsigned long long)base.windows, double(n) / kFs / 3600.0,
              (unsigned long long)s[0], (unsigned long long)s[std::size_t(SignalStatus::gap)],
              (unsigned long long)s[std::size_t(SignalStatus::non_finite)],
              (unsigned long long)s[std::size_t(SignalStatus::flat)],
              (unsigned long long)s[std::size_t(SignalStatus::clipped)], (unsigned long long)base.acc_flat,
              (unsigned long long)base.spoiled_nearby,
              (unsigned long long)runs,
              (unsigned long long)untouched, (unsigned long long)worst.rate, (unsigned long long)worst.confidence,
              (unsigned long long)worst.bits, (unsigned long long)bound.rate, (unsigned long long)bound.confidence,
              (unsigned long long)bound.bits, chunk_note.c_str(),
              allocations, err_raw / denom, err_tracked / denom, base.seconds, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  std::fflush(stdout);
  return pass;
}

bool parse(int argc, char** argv, Options& o) {
  if (const char* h = std::getenv("PPGHR_SOAK_HOURS")) o.hours = std::atof(h);
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has = i + 1 < argc;
    if (a == "--hours" && has) o.hours = std::atof(argv[++i]);
    else if (a == "--small-hours" && has) o.small_hours = std::atof(argv[++i]);
    else if (a == "--seed" && has) o.seed = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--only" && has) o.only = argv[++i];
    else if (a == "--verbose") o.verbose = true;
    else if (a == "--plan") o.plan_only = o.verbose = true;
    else {
      std::fprintf(stderr, "usage: ppghr_soak [--hours H] [--small-hours h] [--seed S] [--only specnet|spectral] [--verbose] [--plan]\n");
      return false;
    }
  }
  if (!(o.hours > 0.01 && o.hours <= 24 * 14)) {
    std::fprintf(stderr, "ppghr_soak: --hours must be in (0.01, 336]\n");
    return false;
  }
  o.small_hours = std::min(o.small_hours, o.hours);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) return 2;
  const std::uint64_t n = std::uint64_t(o.hours * 3600.0 * kFs);
  const std::vector<Event> ev = plan_faults(n, o.seed, o.hours);
  std::array<int, kKinds> kinds{};
  for (const Event& e : ev) ++kinds[std::size_t(e.kind)];
  std::printf("ppghr_soak: %.2f h at 64 Hz = %llu samples, seed %llu, %zu faults:", o.hours, (unsigned long long)n,
              (unsigned long long)o.seed, ev.size());
  for (int k = 0; k < kKinds; ++k) std::printf(" %s %d", kKindNames[k], kinds[std::size_t(k)]);
  std::printf("; chunks 1 and 7 over the first %.2f h\n", o.small_hours);
  if (o.verbose)
    for (const Event& e : ev)
      std::printf("  fault %-8s samples [%llu, %llu) = %.1f s at %.1f s, variant %d\n", kKindNames[int(e.kind)],
                  (unsigned long long)e.a, (unsigned long long)e.b, double(e.b - e.a) / kFs, double(e.a) / kFs, e.variant);
  std::fflush(stdout);
  if (o.plan_only) return 0;
  bool pass = true;
  const auto t0 = std::chrono::steady_clock::now();

  if (o.only.empty() || o.only == "specnet") {
    using Est = SpectralNet<1, SpecNet<2>>;
    auto est = std::make_unique<Est>();
    const char* path = PPGHR_MODELS_DIR "/specnet2_bami1.ppgw";
    const LoadReport rep = est->load_file(path);
    if (!rep.ok()) {
      std::printf("FAIL: cannot load %s: %s\n", path, status_name(rep.status));
      return 1;
    }
    for (Tracking t : {Tracking::none, Tracking::hmm}) pass = soak_one("specnet2", *est, t, Calibration{}, o, ev, n) && pass;
  }
  if (o.only.empty() || o.only == "spectral") {
    using Est = SpectralEstimator<1>;
    auto est = std::make_unique<Est>();
    for (Tracking t : {Tracking::none, Tracking::hmm})
      pass = soak_one("spectral", *est, t, spectral_calibration(t, 0, true), o, ev, n) && pass;
  }
  std::printf("ppghr_soak: %s in %.1f s (sizeof Monitor: specnet2 %zu B, spectral %zu B)\n", pass ? "PASS" : "FAIL",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
              sizeof(Monitor<SpectralNet<1, SpecNet<2>>, SpectralNet<1, SpecNet<2>>::preprocessor>),
              sizeof(Monitor<SpectralEstimator<1>, SpectralEstimator<1>::preprocessor>));
  return pass ? 0 : 1;
}
