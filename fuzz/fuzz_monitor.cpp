// fuzz_monitor: Monitor::push / push_gap / finish on arbitrary sample streams, for the spectral
// estimator (SpectralEstimator<1>) and the spectral network SpectralNet<1, SpecNet<2>> (fixed-seed
// weights, blob built in memory at start-up), at a sensor rate picked from the supported set.
//
// Input: byte 0 = estimator (bit 0) | accelerometer present (bit 1) | ADC rails given (bit 2) |
// tracking (bits 3-4: none, hmm, lag 1..3, recent_mean_clamp); byte 1 = rate (kRates[b % n]);
// byte 2 = lag; then ops, each an op byte and its operands, that append frames (PPG + acc x, y, z)
// to the stream, pushed in chunks of the current chunk size:
//   0 sine run       u8 length (x rate / 8 frames), u8 frequency, u8 amplitude exponent
//   1 constant run   u8 length (frames), u8 value kind (special values, see value())
//   2 raw floats     u8 count (mod 17), then count x 4 bytes (PPG; the acc gets the same bits)
//   3 NaN burst      u8 length      4 +-Inf burst   u8 length
//   5 denormals      u8 length      6 +-1e38 run    u8 length
//   7 rails          u8 length (the ADC rails alternating, or a plateau at the stream's max)
//   8 push_gap       u8 length (x rate / 16 frames)
//   9 chunk size     u8 (1 .. 256 frames; 0 = one whole second)
//  10 noise run      u8 length (x rate / 8), u8 seed
// The stream is cut at kMaxSeconds. Checks: push / push_gap / finish return ok; every ok window has
// a finite heart rate and tracked heart rate in 30..209 BPM, finite probabilities, a confidence in
// [0, 1]; no gap window has acc_flat; windows arrive in order 0, 1, 2, ...; after finish() their
// count is the number of windows [2k, 2k + 8) s that end inside the stream (or one too_short
// window when there is none).
#include "fuzz_common.hpp"

#include <ppghr/monitor/monitor.hpp>
#include <ppghr/spectral/estimator.hpp>

#include <limits>

namespace {

constexpr double kRates[] = {16, 25, 25.6, 32, 50, 64, 100, 102.4, 125, 128, 200, 256, 500, 1000, 1024};
constexpr int kNumRates = sizeof kRates / sizeof kRates[0];
constexpr double kMaxSeconds = 40;
constexpr int kMaxLag = 3;
constexpr float kAdcMin = 0.f, kAdcMax = 4095.f;

using Spectral = ppghr::SpectralEstimator<1>;
using SpecNet = ppghr::SpectralNet<1, ppghr::SpecNet<2>>;

float value(std::uint8_t k) {
  switch (k % 12) {
    case 0: return 0.f;
    case 1: return 1.f;
    case 2: return -1.f;
    case 3: return 1e38f;
    case 4: return -1e38f;
    case 5: return std::numeric_limits<float>::denorm_min();
    case 6: return std::numeric_limits<float>::max();
    case 7: return kAdcMax;
    case 8: return kAdcMin;
    case 9: return 1e-30f;
    case 10: return 123456.f;
    default: return std::numeric_limits<float>::quiet_NaN();
  }
}

struct Checker {
  const char* name;
  std::uint64_t delivered = 0;
  bool too_short = false;
  void operator()(const ppghr::WindowResult& r) {
    if (r.status == ppghr::SignalStatus::too_short) {
      if (delivered != 0 || too_short) ppghr_fuzz::fail("too_short after other windows", name, double(delivered));
      too_short = true;
      return;
    }
    if (r.index != delivered) ppghr_fuzz::fail("window out of order", name, double(r.index), double(delivered));
    ++delivered;
    if (r.acc_flat && r.status == ppghr::SignalStatus::gap) ppghr_fuzz::fail("acc_flat in a gap window", name);
    if (!r.ok()) {
      if (r.bpm != 0.f || r.probabilities != nullptr) ppghr_fuzz::fail("a window that is not ok has a heart rate", name);
      return;
    }
    if (!(r.bpm >= 30.f && r.bpm <= 209.f)) ppghr_fuzz::fail("ok window, heart rate out of 30..209", name, r.bpm);
    if (!(r.bpm_tracked >= 30.f && r.bpm_tracked <= 209.f)) ppghr_fuzz::fail("ok window, tracked heart rate out of 30..209", name, r.bpm_tracked);
    if (r.probabilities == nullptr) ppghr_fuzz::fail("ok window without probabilities", name);
    for (int c = 0; c < ppghr::kNumClasses; ++c)
      if (!std::isfinite(r.probabilities[c]) || r.probabilities[c] < 0.f) {
        if (ppghr_fuzz::allowed("nonfinite_output")) return;  // an open finding (docs/fuzzing.md)
        ppghr_fuzz::fail("ok window, non-finite or negative probability", name, c, r.probabilities[c]);
      }
    if (!(r.confidence >= 0.f && r.confidence <= 1.0001f)) ppghr_fuzz::fail("ok window, confidence out of [0, 1]", name, r.confidence);
  }
};

template <class Est>
void run(Est& est, const char* name, const std::uint8_t* data, std::size_t size) {
  using Mon = ppghr::Monitor<Est, typename Est::preprocessor, kMaxLag>;
  static Mon* mon = new Mon();
  const std::uint8_t mode = data[0];
  typename Mon::Config cfg;
  const double fs = kRates[data[1] % kNumRates];
  cfg.preprocessing = Est::preprocessing_config(fs);
  if (mode & 4) {
    cfg.adc_min = kAdcMin;
    cfg.adc_max = kAdcMax;
  }
  switch ((mode >> 3) & 3) {
    case 0: cfg.tracking = ppghr::Tracking::none; break;
    case 1: cfg.tracking = ppghr::Tracking::hmm; break;
    case 2: cfg.tracking = ppghr::Tracking::lag; cfg.lag = 1 + data[2] % kMaxLag; break;
    default: cfg.tracking = ppghr::Tracking::recent_mean_clamp;
  }
  est.set_accelerometer((mode & 2) != 0);
  if (mon->init(est, cfg) != ppghr::DspStatus::ok) ppghr_fuzz::fail("init refused a supported rate", name, fs);

  Checker sink{name};
  const std::size_t max_frames = std::size_t(kMaxSeconds * fs);
  std::size_t chunk = 64, frames = 0;
  std::vector<float> buf;  // frames waiting to be pushed, 4 floats each
  auto flush = [&] {
    for (std::size_t i = 0; i < buf.size() / 4; i += chunk) {
      const std::size_t n = std::min(chunk, buf.size() / 4 - i);
      if (mon->push(buf.data() + 4 * i, n, sink) != ppghr::DspStatus::ok) ppghr_fuzz::fail("push failed", name);
    }
    buf.clear();
  };
  auto add = [&](float ppg, float ax, float ay, float az) {
    if (frames >= max_frames) return false;
    buf.insert(buf.end(), {ppg, ax, ay, az});
    ++frames;
    if (buf.size() >= 4 * 1024) flush();
    return true;
  };
  std::size_t i = 3;
  auto byte = [&](std::uint8_t& b) {
    if (i >= size) return false;
    b = data[i++];
    return true;
  };
  std::uint32_t lcg = 12345;
  for (std::uint8_t op; byte(op) && frames < max_frames;) {
    std::uint8_t a = 0, b = 0, c = 0;
    switch (op % 11) {
      case 0: {
        if (!byte(a) || !byte(b) || !byte(c)) break;
        const std::size_t n = std::size_t((a + 1) * fs / 8);
        const double f = 0.3 + 0.02 * b, amp = std::ldexp(1.0, int(c % 64) - 20);
        for (std::size_t k = 0; k < n; ++k) {
          const double t = double(frames) / fs;
          const float s = float(amp * std::sin(6.283185307 * f * t));
          if (!add(2000.f + s, 0.01f * s, float(0.3 * std::sin(6.283185307 * 1.3 * t)), 1.f)) break;
        }
        break;
      }
      case 1:
        if (!byte(a) || !byte(b)) break;
        for (int k = 0; k <= a; ++k) add(value(b), value(b), 0.f, 1.f);
        break;
      case 2: {
        if (!byte(a)) break;
        for (int k = 0; k < a % 17; ++k) {
          std::uint8_t q[4];
          if (!byte(q[0]) || !byte(q[1]) || !byte(q[2]) || !byte(q[3])) break;
          float x;
          std::memcpy(&x, q, 4);
          add(x, x, -x, x);
        }
        break;
      }
      case 3: case 4: case 5: case 6: case 7: {
        if (!byte(a)) break;
        for (int k = 0; k <= a; ++k) {
          float x = 0.f;
          switch (op % 11) {
            case 3: x = std::numeric_limits<float>::quiet_NaN(); break;
            case 4: x = (k & 1) ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity(); break;
            case 5: x = std::numeric_limits<float>::denorm_min() * float(k % 5); break;
            case 6: x = (k & 2) ? 1e38f : -1e38f; break;
            default: x = (mode & 4) ? ((k & 1) ? kAdcMax : kAdcMin) : 5000.f;
          }
          add(x, op % 11 == 7 ? 0.f : x, 0.f, 1.f);
        }
        break;
      }
      case 8: {
        if (!byte(a)) break;
        flush();
        std::size_t n = std::size_t((a + 1) * fs / 16);
        n = std::min(n, max_frames - frames);
        if (mon->push_gap(n, sink) != ppghr::DspStatus::ok) ppghr_fuzz::fail("push_gap failed", name);
        frames += n;
        break;
      }
      case 9:
        if (!byte(a)) break;
        flush();
        chunk = a == 0 ? std::size_t(fs) : a;
        break;
      default: {
        if (!byte(a) || !byte(b)) break;
        lcg = 1u + b;
        const std::size_t n = std::size_t((a + 1) * fs / 8);
        for (std::size_t k = 0; k < n; ++k) {
          lcg = lcg * 1664525u + 1013904223u;
          const float x = float(int(lcg >> 16) - 32768) / 32768.f;
          if (!add(2000.f + 100.f * x, x, -x, 1.f + 0.1f * x)) break;
        }
      }
    }
  }
  flush();
  if (mon->finish(sink) != ppghr::DspStatus::ok) ppghr_fuzz::fail("finish failed", name);
  std::uint64_t expected = 0;
  while (double(2 * expected + ppghr::kWindowSeconds) * fs <= double(mon->samples())) ++expected;
  if (mon->samples() != frames) ppghr_fuzz::fail("samples() is not the frames pushed", name, double(mon->samples()), double(frames));
  if (sink.delivered != expected || sink.too_short != (expected == 0))
    ppghr_fuzz::fail("window count", name, double(sink.delivered), double(expected));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Spectral* spectral = new Spectral();
  static SpecNet* specnet = [] {
    auto* n = new SpecNet();
    const auto blob = ppghr_fuzz::base_blob(*n, 106);
    if (!n->load(blob.data(), blob.size()).ok()) ppghr_fuzz::fail("the SpecNet<2> blob does not load", "specnet2");
    return n;
  }();
  if (size < 3) return 0;
  if (data[0] & 1) run(*specnet, "specnet2", data, size);
  else run(*spectral, "spectral", data, size);
  return 0;
}
