// ppghr/dsp/resampler.hpp - streaming polyphase FIR resampler from an integer sensor rate to a
// network rate (rational ratio up / down = fs_out / fs_in reduced by their gcd).
//
// Filter. One linear-phase low-pass prototype at the upsampled rate up * fs_in: the Kaiser-window
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
// Timing. Output n is the band-limited signal at time n / fs_out EXACTLY (the filter is centred,
// the group delay of (taps - 1) / 2 upsampled samples is compensated by looking ahead), so windows
// cut from the output line up with the sensor-time windows of common.hpp. The price is latency:
// output n is produced once sensor sample floor((n down + delay) / up) has arrived, i.e.
// latency_frames() = ceil(delay / up) sensor samples (<= 51 for the common rates, <= 0.41 s).
// Before the first sample the signal is taken to be constant, equal to the first sample (no
// start-up transient from a large DC level); at the end of a recording the Preprocessor extends
// it with the last sample (preprocessor.hpp, finish()). tools/ppghr_tools/preprocess.py does
// exactly the same on a whole recording.
//
// Memory: coefficients MaxCoefficients x T (branch-major, each branch stored oldest-tap first),
// history Channels x 2 x MaxTapsPerPhase x T (a mirrored ring, so every dot product reads
// contiguous memory). resampler_max_coefficients(fs_out) / resampler_max_taps_per_phase(fs_out)
// give the capacity that fits every rate in kCommonSensorRatesHz.
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

}  // namespace reference

/// Streaming resampler of Channels interleaved channels fs_in -> fs_out.
///
/// T: arithmetic type of taps, history and outputs (double by default in the Preprocessor: the
/// Python twin computes in float64, and raw PPG's large DC level costs float32 ~1e-4 of the pulse).
/// MaxCoefficients >= up x taps_per_phase and MaxTapsPerPhase >= taps_per_phase of every rate
/// pair the instance will be initialised for. sizeof(Resampler) ~ bytes.
template <class T, int Channels, int MaxCoefficients, int MaxTapsPerPhase>
class Resampler {
  static_assert(Channels > 0, "Resampler: at least one channel");
  static_assert(MaxCoefficients > 0 && MaxTapsPerPhase > 0, "Resampler: capacities must be positive");
  static_assert(MaxCoefficients >= MaxTapsPerPhase,
                "Resampler: MaxCoefficients (up x taps per phase) cannot be below MaxTapsPerPhase");

 public:
  using value_type = T;
  static constexpr int channels = Channels;
  static constexpr int max_coefficients = MaxCoefficients;
  static constexpr int max_taps_per_phase = MaxTapsPerPhase;
  static constexpr std::size_t bytes =
      sizeof(T) * (std::size_t(MaxCoefficients) + std::size_t(Channels) * 2 * MaxTapsPerPhase);

  /// Designs the filter for fs_in -> fs_out and resets the stream. Fails (and leaves the
  /// instance uninitialised) with unsupported_rate or capacity_exceeded.
  [[nodiscard]] DspStatus init(int fs_in, int fs_out) noexcept {
    ready_ = false;
    const ResamplerDesign d = resampler_design(fs_in, fs_out);
    if (!d.valid) return DspStatus::unsupported_rate;
    if (d.taps_per_phase > MaxTapsPerPhase || d.coefficients() > MaxCoefficients)
      return DspStatus::capacity_exceeded;
    d_ = d;
    fs_in_ = fs_in;
    fs_out_ = fs_out;
    // Stored per branch in reverse (oldest tap first) so that push() walks history and taps forward.
    T branch[MaxTapsPerPhase];
    const int k = d_.taps_per_phase;
    for (int p = 0; p < d_.up; ++p) {
      detail::design_branch(d_, p, branch);
      for (int q = 0; q < k; ++q) coef_[std::size_t(p) * k + (k - 1 - q)] = branch[q];
    }
    ready_ = true;
    reset();
    return DspStatus::ok;
  }

  /// Forgets the stream (keeps the design): the next push() is sample 0 of a new recording.
  void reset() noexcept {
    pos_ = 0;
    frames_ = 0;
    need_ = std::uint64_t(d_.delay / d_.up);
    phase_ = d_.delay % d_.up;
    outputs_ = 0;
  }

  /// Consumes one frame (Channels values, channel c at frame[c]); calls sink(const T* out) with
  /// each output frame (Channels values) it completes: floor or ceil of up / down of them.
  template <class Sink>
  void push(const T* frame, Sink&& sink) noexcept {
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
  [[nodiscard]] const ResamplerDesign& design() const noexcept { return d_; }
  [[nodiscard]] int input_rate() const noexcept { return fs_in_; }
  [[nodiscard]] int output_rate() const noexcept { return fs_out_; }
  /// Frames pushed since init() / reset(); outputs produced so far.
  [[nodiscard]] std::uint64_t frames() const noexcept { return frames_; }
  [[nodiscard]] std::uint64_t outputs() const noexcept { return outputs_; }
  /// Sensor samples that must follow the one nearest an output's time before that output exists.
  [[nodiscard]] int latency_frames() const noexcept { return (d_.delay + d_.up - 1) / d_.up; }
  /// Branch p's tap q in detail::design_branch order (weight of sample i0 - q).
  [[nodiscard]] T branch_tap(int p, int q) const noexcept {
    const int k = d_.taps_per_phase;
    return coef_[std::size_t(p) * k + (k - 1 - q)];
  }

 private:
  ResamplerDesign d_{};
  int fs_in_ = 0, fs_out_ = 0;
  bool ready_ = false;
  int pos_ = 0;               // next write slot of the mirrored ring
  int phase_ = 0;             // branch of the next output: (n down + delay) mod up
  std::uint64_t need_ = 0;    // sensor sample index the next output waits for
  std::uint64_t frames_ = 0;  // frames consumed
  std::uint64_t outputs_ = 0;
  std::array<T, MaxCoefficients> coef_{};
  std::array<std::array<T, 2 * MaxTapsPerPhase>, Channels> hist_{};
};

/// The resampler sized for every common sensor rate into network rate FsOut.
template <int FsOut, int Channels = 1, class T = double>
using ResamplerFor = Resampler<T, Channels, resampler_max_coefficients(FsOut), resampler_max_taps_per_phase(FsOut)>;

}  // namespace ppghr
