// ppghr/dsp/resampler.hpp - streaming resampler from a sensor rate (any double in
// [kMinSensorRateHz, kMaxSensorRateHz] = [16, 1024] Hz) to a network rate (integer Hz). Two paths,
// chosen by init():
//
//  * Exact polyphase FIR, for an INTEGER sensor rate whose filter fits the template capacity
//    (the default capacity fits every rate of kCommonSensorRatesHz: 25, 32, 50, 64, 100, 125, 128,
//    and a few more, e.g. 16, 20, 30, 40, 75, 80 Hz). Unchanged since the shipped models were
//    evaluated: bit-identical results.
//  * Band-limited interpolation (J. O. Smith's "resample"), for every other rate: non-integer ones
//    (25.6, 51.2, 102.4 Hz, ...) and integer ones whose polyphase table would be too big (200, 250,
//    256, 400, 500, 1000, 1024 Hz, ...: that table grows with up x fs_in).
//
// Polyphase path. Rational ratio up / down = fs_out / fs_in reduced by their gcd. One linear-phase
// low-pass prototype at the upsampled rate up * fs_in: the Kaiser-window
// design of scipy.signal.firwin(taps, cutoff = min(fs_in, fs_out) / 2, window = ('kaiser', beta),
// fs = up * fs_in), with taps and beta from Kaiser's formulas for a 65 dB stop band and a
// transition band of 0.4 x the lower Nyquist ([0.8, 1.2] x min(fs_in, fs_out) / 2). So, measured
// by tests/test_dsp.cpp for every common rate pair: a tone at 0.8 x the lower Nyquist passes with
// < 0.05 dB error (measured <= 0.0035 dB), anything at or above 1.2 x the lower Nyquist (whose
// alias or image would land below 0.8 x Nyquist, in the pass band) is attenuated by >= 60 dB
// (measured >= 63.9 dB). The prototype is split into
// `up` polyphase branches of taps_per_phase taps, and EACH BRANCH IS SCALED TO UNIT DC GAIN: without
// that, a large DC level (raw PPG: ~30000 ADC units) leaks through the branches' slightly unequal
// DC gains as a spurious tone at multiples of gcd(fs_in, fs_out) Hz, i.e. inside the heart-rate
// band (measured on DC 30000 + a 10-unit 1.5 Hz tone: errors up to 1.47 units at 64 -> 25 Hz and
// 1.44 at 50 -> 32 Hz without the scaling, <= 0.005 with it).
// Equal rates (25 -> 25, 32 -> 32) are an exact copy (one tap of 1).
//
// Interpolation path. The same filter specification (Kaiser, 65 dB, transition [0.8, 1.2] x the
// lower Nyquist) as ONE continuous kernel h(u) = sinc(u) kaiser(u / U), u in periods of the LOWER
// rate (cutoff 0.5 cycle per period), half-length U = (65 - 7.95) / (2.285 x 2 pi x 0.2) / 2 = 9.93
// periods rounded up to the table grid, stored once (half of it, h is even) at
// kInterpOversample = 128 points per period: kInterpTableSize = 1274 values whatever the rates
// (the table's linear-interpolation images sit below -90 dB). Output n is at input position
// t = n fs_in / fs_out (in input samples); it reads the 2M samples floor(t) - M + 1 .. floor(t) + M,
// M = ceil((K + 1) / step) (step = table points per input sample = 128 min(1, fs_out / fs_in),
// K = table half-length in points), weighs sample i by h(|i - t| min(1, fs_out / fs_in)) evaluated by
// linear interpolation of the table at the exact fractional offset, and DIVIDES BY THE SUM OF ITS
// WEIGHTS: every output has unit DC gain (the reason of the polyphase branch scaling: raw PPG's
// large DC level must not leak as a spurious tone). Measured by tests/test_dsp.cpp at 25.6, 33.3,
// 51.2, 102.4, 200, 250, 256, 400, 500, 1000, 1024 Hz into 25 and 32 Hz: pass-band error at
// 0.8 x the lower Nyquist <= 0.0037 dB, stop band (>= 1.2 x the lower Nyquist) >= 63.5 dB, DC 30000
// + a 10-unit 1.5 Hz tone: error <= 0.0055 units (no spurious tone from the DC level).
//
// Timing (both paths). Output n is the band-limited signal at time n / fs_out EXACTLY (the filter is
// centred, its delay compensated by looking ahead), so windows
// cut from the output line up with the sensor-time windows of common.hpp. The price is latency:
// polyphase: output n is produced once sensor sample floor((n down + delay) / up) has arrived, i.e.
// latency_frames() = ceil(delay / up) sensor samples (<= 51 for the common rates, <= 0.41 s);
// interpolation: once sample floor(n fs_in / fs_out) + M has arrived, latency_frames() = M
// (<= 0.4 s: 408 samples at 1024 -> 25 Hz, 10 samples when upsampling).
// Before the first sample the signal is taken to be constant, equal to the first sample (no
// start-up transient from a large DC level); at the end of a recording the Preprocessor extends
// it with the last sample (preprocessor.hpp, finish()). tools/ppghr_tools/preprocess.py does
// exactly the same on a whole recording.
//
// Memory, fixed at compile time: coefficients max(MaxCoefficients, kInterpTableSize) x T (the two
// paths share it: polyphase branch-major, each branch stored oldest-tap first; or the kernel table),
// history Channels x max(2 x MaxTapsPerPhase, MaxInterpHistory) x T (polyphase: a mirrored ring, so
// every dot product reads contiguous memory; interpolation: a plain ring of 2M samples).
// resampler_max_coefficients(fs_out) / resampler_max_taps_per_phase(fs_out) give the polyphase
// capacity that fits every rate in kCommonSensorRatesHz, resampler_max_interp_history(fs_out) the
// interpolator's that fits every rate up to kMaxSensorRateHz (818 at 25 Hz, 640 at 32 Hz: 2M = 816
// and 638 at 1024 Hz, plus a rounding margin).
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "ppghr/core/config.hpp"
#include "ppghr/dsp/common.hpp"

namespace ppghr {

/// Kaiser design target of the resampling low-pass (stop-band attenuation, dB).
inline constexpr double kResamplerStopbandDb = 65.0;
/// Transition width as a fraction of the lower Nyquist: pass band to 0.8, stop band from 1.2.
inline constexpr double kResamplerTransition = 0.4;
static_assert(kResamplerStopbandDb > 50.0, "resampler_design() uses Kaiser's beta formula for > 50 dB");

namespace detail {
inline constexpr double kPi = 3.14159265358979323846;

/// ceil(x) for 0 <= x < 2^31, usable in constant expressions.
constexpr int ceil_to_int(double x) noexcept {
  const int t = static_cast<int>(x);
  return static_cast<double>(t) < x ? t + 1 : t;
}
}  // namespace detail

/// The resampling filter for one rate pair. Everything but the taps themselves is a constant
/// expression, so capacities can be computed at compile time.
struct ResamplerDesign {
  int up = 1;              ///< L = fs_out / gcd(fs_in, fs_out)
  int down = 1;            ///< M = fs_in / gcd(fs_in, fs_out)
  int taps = 1;            ///< odd length of the prototype low-pass at up * fs_in
  int taps_per_phase = 1;  ///< K = ceil(taps / up): taps of each polyphase branch
  int delay = 0;           ///< (taps - 1) / 2: group delay at the upsampled rate (compensated)
  double cutoff = 1.0;     ///< cutoff / (up * fs_in / 2), as scipy.signal.firwin normalises it
  double beta = 0.0;       ///< Kaiser window parameter
  bool valid = false;      ///< both rates in [1, kMaxSensorRateHz]

  [[nodiscard]] constexpr bool identity() const noexcept { return up == 1 && down == 1; }
  [[nodiscard]] constexpr long coefficients() const noexcept { return long(up) * taps_per_phase; }
};

/// Designs (the shape of) the resampling filter fs_in -> fs_out. Mirrored by
/// preprocess.resampler_design() in tools/ppghr_tools: same formula, same operation order.
[[nodiscard]] constexpr ResamplerDesign resampler_design(int fs_in, int fs_out) noexcept {
  ResamplerDesign d;
  if (fs_in < 1 || fs_out < 1 || fs_in > kMaxSensorRateHz || fs_out > kMaxSensorRateHz) return d;
  const int g = detail::gcd(fs_in, fs_out);
  d.up = fs_out / g;
  d.down = fs_in / g;
  d.valid = true;
  if (d.identity()) return d;
  const double fs_up = static_cast<double>(d.up) * fs_in;
  const double nyq_low = 0.5 * static_cast<double>(fs_in < fs_out ? fs_in : fs_out);
  const double width = kResamplerTransition * nyq_low;
  const double n = (kResamplerStopbandDb - 7.95) / (2.285 * 2.0 * detail::kPi * width / fs_up);
  int taps = detail::ceil_to_int(n) + 1;
  if (taps % 2 == 0) ++taps;
  d.taps = taps;
  d.taps_per_phase = (taps + d.up - 1) / d.up;
  d.delay = (taps - 1) / 2;
  d.cutoff = nyq_low / (0.5 * fs_up);
  d.beta = 0.1102 * (kResamplerStopbandDb - 8.7);  // Kaiser's beta for attenuations above 50 dB
  return d;
}

/// Taps per branch that fit every sensor rate of kCommonSensorRatesHz for this network rate.
[[nodiscard]] constexpr int resampler_max_taps_per_phase(int fs_out) noexcept {
  int m = 1;
  for (int r : kCommonSensorRatesHz) {
    const ResamplerDesign d = resampler_design(r, fs_out);
    if (d.taps_per_phase > m) m = d.taps_per_phase;
  }
  return m;
}
/// Coefficients (up x taps_per_phase) that fit every sensor rate of kCommonSensorRatesHz.
[[nodiscard]] constexpr int resampler_max_coefficients(int fs_out) noexcept {
  long m = 1;
  for (int r : kCommonSensorRatesHz) {
    const ResamplerDesign d = resampler_design(r, fs_out);
    if (d.coefficients() > m) m = d.coefficients();
  }
  return static_cast<int>(m);
}

/// Band-limited interpolation: kernel table points per period of the lower rate.
inline constexpr int kInterpOversample = 128;
/// K: the kernel's half-length in table points, ceil(U x kInterpOversample) with U the Kaiser
/// half-length in lower-rate periods for the same specification as the polyphase prototype.
inline constexpr int kInterpHalfPoints = detail::ceil_to_int(
    0.5 * (kResamplerStopbandDb - 7.95) / (2.285 * 2.0 * detail::kPi * (0.5 * kResamplerTransition)) *
    kInterpOversample);
/// Table values: h(k / kInterpOversample) for k = 0..K, then one 0 (linear interpolation up to K + 1).
inline constexpr int kInterpTableSize = kInterpHalfPoints + 2;

/// The interpolator for one rate pair (band-limited interpolation path).
struct InterpDesign {
  double ratio = 1.0;  ///< fs_in / fs_out: input samples per output sample
  double step = 1.0;   ///< table points per input sample: kInterpOversample x min(1, fs_out / fs_in)
  int half = 1;        ///< M: output n reads the 2M samples floor(n ratio) - M + 1 .. floor(n ratio) + M
  bool valid = false;  ///< fs_in in [kMinSensorRateHz, kMaxSensorRateHz], fs_out in [1, kMaxSensorRateHz]
};

/// Designs the interpolator fs_in -> fs_out. Mirrored by preprocess.interp_design().
[[nodiscard]] inline InterpDesign interp_design(double fs_in, int fs_out) noexcept {
  InterpDesign d;
  if (!(fs_in >= kMinSensorRateHz && fs_in <= kMaxSensorRateHz) || fs_out < 1 || fs_out > kMaxSensorRateHz) return d;
  d.ratio = fs_in / static_cast<double>(fs_out);
  d.step = fs_in > fs_out ? static_cast<double>(kInterpOversample) * (static_cast<double>(fs_out) / fs_in)
                          : static_cast<double>(kInterpOversample);
  d.half = static_cast<int>(std::ceil(static_cast<double>(kInterpHalfPoints + 1) / d.step));
  d.valid = true;
  return d;
}

/// History (samples per channel) the interpolator needs for every sensor rate up to
/// kMaxSensorRateHz into fs_out: 2M at the highest rate, plus a margin for rounding.
[[nodiscard]] constexpr int resampler_max_interp_history(int fs_out) noexcept {
  const double step_min = static_cast<double>(kInterpOversample) * static_cast<double>(fs_out) / kMaxSensorRateHz;
  const double step = step_min < kInterpOversample ? step_min : static_cast<double>(kInterpOversample);
  return 2 * (detail::ceil_to_int(static_cast<double>(kInterpHalfPoints + 1) / step) + 1);
}

namespace detail {

/// Modified Bessel function I0 by its power series sum_k ((x/2)^k / k!)^2 (all terms positive, so
/// no cancellation: ~1e-16 relative for the |x| < 10 a Kaiser window needs).
inline double bessel_i0(double x) noexcept {
  const double q = 0.25 * x * x;
  double term = 1.0, sum = 1.0;
  for (int k = 1; k < 1000; ++k) {
    term *= q / (static_cast<double>(k) * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/// Tap j of the prototype: scipy.signal.firwin's h[j] = cutoff * sinc(cutoff * m) * kaiser(j),
/// m = j - (taps - 1) / 2, before firwin's overall scaling (the branch scaling replaces it).
inline double kaiser_lowpass_tap(const ResamplerDesign& d, int j) noexcept {
  if (d.taps == 1) return 1.0;
  const double alpha = 0.5 * (d.taps - 1);
  const double m = j - alpha;
  const double x = d.cutoff * m;
  const double y = kPi * (x == 0.0 ? 1.0e-20 : x);  // numpy.sinc's own guard
  const double h = d.cutoff * (std::sin(y) / y);
  const double r = m / alpha;
  return h * (bessel_i0(d.beta * std::sqrt(1.0 - r * r)) / bessel_i0(d.beta));
}

/// Branch p's tap q (the weight of sensor sample i0 - q for an output of phase p), scaled so the
/// branch sums to 1. Writes taps_per_phase values; taps past the prototype's end are 0.
template <class T>
void design_branch(const ResamplerDesign& d, int p, T* out) noexcept {
  double sum = 0.0;
  for (int q = 0; q < d.taps_per_phase; ++q) {
    const int j = p + q * d.up;
    if (j < d.taps) sum += kaiser_lowpass_tap(d, j);
  }
  for (int q = 0; q < d.taps_per_phase; ++q) {
    const int j = p + q * d.up;
    out[q] = static_cast<T>(j < d.taps ? kaiser_lowpass_tap(d, j) / sum : 0.0);
  }
}

/// The interpolation kernel table: kInterpTableSize values, h[k] = sinc(u) kaiser(k / K) at
/// u = k / kInterpOversample, h[K + 1] = 0 (the same Kaiser beta as the polyphase prototype).
template <class T>
void interp_table(T* out) noexcept {
  const double beta = 0.1102 * (kResamplerStopbandDb - 8.7);
  const double i0b = bessel_i0(beta);
  for (int k = 0; k <= kInterpHalfPoints; ++k) {
    const double u = static_cast<double>(k) / static_cast<double>(kInterpOversample);
    const double y = kPi * u;
    const double h = k == 0 ? 1.0 : std::sin(y) / y;
    const double r = static_cast<double>(k) / static_cast<double>(kInterpHalfPoints);
    out[k] = static_cast<T>(h * (bessel_i0(beta * std::sqrt(1.0 - r * r)) / i0b));
  }
  out[kInterpHalfPoints + 1] = T(0);
}

/// The kernel's weight of a sample `offset` input samples away from the output's position.
template <class T>
inline T interp_weight(const InterpDesign& d, const T* table, double offset) noexcept {
  const double pos = std::fabs(offset) * d.step;
  const int k = static_cast<int>(pos);
  if (k > kInterpHalfPoints) return T(0);
  const T f = static_cast<T>(pos - static_cast<double>(k));
  return table[k] + f * (table[k + 1] - table[k]);
}

}  // namespace detail

namespace reference {

/// Whole-signal resampling, the oracle for Resampler (and the twin of preprocess.resample()).
/// One channel: x[0..n_in) at fs_in, out[0..n_out) at fs_out, out[n] at time n / fs_out. x is
/// extended with x[0] before its start and with x[n_in - 1] after its end. branches: the design's
/// up x taps_per_phase branch taps (detail::design_branch order, branch-major). Sums oldest tap
/// first, like Resampler, so the two agree bit for bit.
template <class T>
void resample(const ResamplerDesign& d, const T* branches, const T* x, std::size_t n_in, T* out,
              std::size_t n_out) noexcept {
  const int k = d.taps_per_phase;
  for (std::size_t n = 0; n < n_out; ++n) {
    const std::uint64_t m0 = std::uint64_t(n) * std::uint64_t(d.down) + std::uint64_t(d.delay);
    const std::uint64_t i0 = m0 / std::uint64_t(d.up);
    const int p = static_cast<int>(m0 % std::uint64_t(d.up));
    T acc = T(0);
    for (int q = k - 1; q >= 0; --q) {
      const std::int64_t i = std::int64_t(i0) - q;
      const T v = i < 0 ? x[0] : (std::uint64_t(i) >= n_in ? x[n_in - 1] : x[i]);
      acc += branches[std::size_t(p) * k + q] * v;
    }
    out[n] = acc;
  }
}

/// Whole-signal band-limited interpolation, the oracle for the Resampler's interpolation path
/// (and the twin of preprocess.resample() on that path): same extension of x, same order of
/// operations as Resampler, so the two agree bit for bit. table: detail::interp_table().
template <class T>
void interpolate(const InterpDesign& d, const T* table, const T* x, std::size_t n_in, T* out,
                 std::size_t n_out) noexcept {
  for (std::size_t n = 0; n < n_out; ++n) {
    const double t = static_cast<double>(n) * d.ratio;
    const std::int64_t i0 = static_cast<std::int64_t>(std::floor(t));
    T acc = T(0), sw = T(0);
    for (std::int64_t i = i0 - d.half + 1; i <= i0 + d.half; ++i) {
      const T w = detail::interp_weight(d, table, static_cast<double>(i) - t);
      const T v = i < 0 ? x[0] : (std::uint64_t(i) >= n_in ? x[n_in - 1] : x[i]);
      acc += w * v;
      sw += w;
    }
    out[n] = acc / sw;
  }
}

}  // namespace reference

/// Streaming resampler of Channels interleaved channels fs_in -> fs_out.
///
/// T: arithmetic type of taps, history and outputs (double by default in the Preprocessor: the
/// Python twin computes in float64, and raw PPG's large DC level costs float32 ~1e-4 of the pulse).
/// MaxCoefficients >= up x taps_per_phase and MaxTapsPerPhase >= taps_per_phase of every integer
/// rate pair that should take the exact polyphase path; MaxInterpHistory >= 2M of every rate pair
/// that takes the interpolation path (0: no interpolation, init() says capacity_exceeded).
/// sizeof(Resampler) ~ bytes.
template <class T, int Channels, int MaxCoefficients, int MaxTapsPerPhase, int MaxInterpHistory = 0>
class Resampler {
  static_assert(Channels > 0, "Resampler: at least one channel");
  static_assert(MaxCoefficients > 0 && MaxTapsPerPhase > 0, "Resampler: capacities must be positive");
  static_assert(MaxCoefficients >= MaxTapsPerPhase,
                "Resampler: MaxCoefficients (up x taps per phase) cannot be below MaxTapsPerPhase");
  static_assert(MaxInterpHistory >= 0, "Resampler: MaxInterpHistory cannot be negative");

  static constexpr int kCoefStore =
      MaxInterpHistory > 0 && kInterpTableSize > MaxCoefficients ? kInterpTableSize : MaxCoefficients;
  static constexpr int kHistStore = MaxInterpHistory > 2 * MaxTapsPerPhase ? MaxInterpHistory : 2 * MaxTapsPerPhase;

 public:
  using value_type = T;
  static constexpr int channels = Channels;
  static constexpr int max_coefficients = MaxCoefficients;
  static constexpr int max_taps_per_phase = MaxTapsPerPhase;
  static constexpr int max_interp_history = MaxInterpHistory;
  static constexpr std::size_t bytes =
      sizeof(T) * (std::size_t(kCoefStore) + std::size_t(Channels) * std::size_t(kHistStore));

  /// Designs the filter for fs_in -> fs_out and resets the stream: the exact polyphase path for
  /// an integer fs_in whose filter fits MaxCoefficients / MaxTapsPerPhase, else band-limited
  /// interpolation. Fails (and leaves the instance uninitialised) with unsupported_rate (fs_in
  /// outside [kMinSensorRateHz, kMaxSensorRateHz] or NaN, fs_out outside [1, kMaxSensorRateHz]) or
  /// capacity_exceeded (the interpolator's history does not fit MaxInterpHistory).
  [[nodiscard]] SignalStatus init(double fs_in, int fs_out) noexcept {
    ready_ = false;
    if (!(fs_in >= kMinSensorRateHz && fs_in <= kMaxSensorRateHz) || fs_out < 1 || fs_out > kMaxSensorRateHz)
      return SignalStatus::unsupported_rate;
    fs_in_ = fs_in;
    fs_out_ = fs_out;
    d_ = ResamplerDesign{};
    interp_ = InterpDesign{};
    if (fs_in == std::floor(fs_in)) {
      const ResamplerDesign d = resampler_design(static_cast<int>(fs_in), fs_out);
      if (d.valid && d.taps_per_phase <= MaxTapsPerPhase && d.coefficients() <= MaxCoefficients) {
        d_ = d;
        // Stored per branch in reverse (oldest tap first) so that push() walks history and taps forward.
        T branch[MaxTapsPerPhase];
        const int k = d_.taps_per_phase;
        for (int p = 0; p < d_.up; ++p) {
          detail::design_branch(d_, p, branch);
          for (int q = 0; q < k; ++q) coef_[std::size_t(p) * k + (k - 1 - q)] = branch[q];
        }
        ready_ = true;
        reset();
        return SignalStatus::ok;
      }
    }
    const InterpDesign di = interp_design(fs_in, fs_out);
    if (!di.valid) return SignalStatus::unsupported_rate;
    if (MaxInterpHistory == 0 || 2 * di.half > MaxInterpHistory) return SignalStatus::capacity_exceeded;
    interp_ = di;
    detail::interp_table(coef_.data());
    ready_ = true;
    reset();
    return SignalStatus::ok;
  }

  /// Forgets the stream (keeps the design): the next push() is sample 0 of a new recording.
  void reset() noexcept {
    pos_ = 0;
    frames_ = 0;
    outputs_ = 0;
    if (interp_.valid) {
      need_ = std::uint64_t(interp_.half);
      phase_ = 0;
    } else {
      need_ = std::uint64_t(d_.delay / d_.up);
      phase_ = d_.delay % d_.up;
    }
  }

  /// Consumes one frame (Channels values, channel c at frame[c]); calls sink(const T* out) with
  /// each output frame (Channels values) it completes (about fs_out / fs_in of them per frame).
  template <class Sink>
  void push(const T* frame, Sink&& sink) noexcept {
    if (interp_.valid) {
      push_interp(frame, sink);
      return;
    }
    const int k = d_.taps_per_phase;
    if (frames_ == 0) {
      for (int c = 0; c < Channels; ++c)
        for (int q = 0; q < 2 * k; ++q) hist_[c][q] = frame[c];
    }
    for (int c = 0; c < Channels; ++c) {
      hist_[c][pos_] = frame[c];
      hist_[c][pos_ + k] = frame[c];
    }
    pos_ = pos_ + 1 == k ? 0 : pos_ + 1;
    const std::uint64_t i = frames_++;
    while (need_ == i) {
      T out[Channels];
      const T* g = &coef_[std::size_t(phase_) * k];
      for (int c = 0; c < Channels; ++c) {
        const T* h = &hist_[c][pos_];  // oldest .. newest of the last k samples
        T acc = T(0);
        for (int q = 0; q < k; ++q) acc += g[q] * h[q];
        out[c] = acc;
      }
      ++outputs_;
      phase_ += d_.down;
      need_ += std::uint64_t(phase_ / d_.up);
      phase_ %= d_.up;
      sink(static_cast<const T*>(out));
    }
  }

  [[nodiscard]] bool ready() const noexcept { return ready_; }
  /// True when init() chose the band-limited interpolation path (interp_design() applies), false
  /// for the exact polyphase path (design() applies).
  [[nodiscard]] bool interpolating() const noexcept { return interp_.valid; }
  [[nodiscard]] const ResamplerDesign& design() const noexcept { return d_; }
  [[nodiscard]] const InterpDesign& interp_design_used() const noexcept { return interp_; }
  [[nodiscard]] double input_rate() const noexcept { return fs_in_; }
  [[nodiscard]] int output_rate() const noexcept { return fs_out_; }
  /// Frames pushed since init() / reset(); outputs produced so far.
  [[nodiscard]] std::uint64_t frames() const noexcept { return frames_; }
  [[nodiscard]] std::uint64_t outputs() const noexcept { return outputs_; }
  /// Sensor samples that must follow the one nearest an output's time before that output exists.
  [[nodiscard]] int latency_frames() const noexcept {
    return interp_.valid ? interp_.half : (d_.delay + d_.up - 1) / d_.up;
  }
  /// Branch p's tap q in detail::design_branch order (weight of sample i0 - q); polyphase path.
  [[nodiscard]] T branch_tap(int p, int q) const noexcept {
    const int k = d_.taps_per_phase;
    return coef_[std::size_t(p) * k + (k - 1 - q)];
  }

 private:
  // Band-limited interpolation: hist_[c][0..2M) is a ring holding samples j - 2M + 1 .. j after
  // frame j; output n is due when frame floor(n ratio) + M arrives (need_), and reads exactly the
  // ring's 2M samples, oldest first (the same order as reference::interpolate()).
  template <class Sink>
  void push_interp(const T* frame, Sink& sink) noexcept {
    const int r = 2 * interp_.half;
    if (frames_ == 0) {
      for (int c = 0; c < Channels; ++c)
        for (int q = 0; q < r; ++q) hist_[c][q] = frame[c];
    }
    for (int c = 0; c < Channels; ++c) hist_[c][pos_] = frame[c];
    pos_ = pos_ + 1 == r ? 0 : pos_ + 1;  // now the oldest sample's slot
    const std::uint64_t j = frames_++;
    while (need_ == j) {
      const double t = static_cast<double>(outputs_) * interp_.ratio;
      const double i_first = std::floor(t) - static_cast<double>(interp_.half - 1);
      T acc[Channels];
      for (int c = 0; c < Channels; ++c) acc[c] = T(0);
      T sw = T(0);
      int slot = pos_;
      for (int q = 0; q < r; ++q) {
        const T w = detail::interp_weight(interp_, coef_.data(), (i_first + static_cast<double>(q)) - t);
        for (int c = 0; c < Channels; ++c) acc[c] += w * hist_[c][slot];
        sw += w;
        slot = slot + 1 == r ? 0 : slot + 1;
      }
      T out[Channels];
      for (int c = 0; c < Channels; ++c) out[c] = acc[c] / sw;
      ++outputs_;
      need_ = static_cast<std::uint64_t>(std::floor(static_cast<double>(outputs_) * interp_.ratio)) +
              std::uint64_t(interp_.half);
      sink(static_cast<const T*>(out));
    }
  }

  ResamplerDesign d_{};
  InterpDesign interp_{};
  double fs_in_ = 0;
  int fs_out_ = 0;
  bool ready_ = false;
  int pos_ = 0;               // next write slot of the ring
  int phase_ = 0;             // polyphase: branch of the next output, (n down + delay) mod up
  std::uint64_t need_ = 0;    // sensor sample index the next output waits for
  std::uint64_t frames_ = 0;  // frames consumed
  std::uint64_t outputs_ = 0;
  std::array<T, kCoefStore> coef_{};
  std::array<std::array<T, kHistStore>, Channels> hist_{};
};

/// The resampler sized for every common sensor rate (exact polyphase path) and every other rate in
/// [kMinSensorRateHz, kMaxSensorRateHz] (interpolation path) into network rate FsOut.
template <int FsOut, int Channels = 1, class T = double>
using ResamplerFor = Resampler<T, Channels, resampler_max_coefficients(FsOut), resampler_max_taps_per_phase(FsOut),
                               resampler_max_interp_history(FsOut)>;

}  // namespace ppghr
