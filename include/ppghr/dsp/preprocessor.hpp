// ppghr/dsp/preprocessor.hpp - the whole preprocessing chain, sensor stream in, network windows
// out:  sensor frames (fs_in, any chunking) -> Resampler (to NetRate) -> Windower (8 s every 2 s)
//       -> per window and channel: non-finite check -> [zero-phase band-pass] -> normalisation
//       -> float32 window [Channels][8 x NetRate] handed to your sink.
//
// tools/ppghr_tools/preprocess.py (windows_from_recording) is its twin: the same steps on a whole
// recording, float64 throughout, the same float32 windows (tools/tests/test_preprocess.py and the
// "dsp golden" test in tests/test_dsp.cpp hold them equal to 1e-5 relative).
//
// Sensor rate: any double in [kMinSensorRateHz, kMaxSensorRateHz] = [16, 1024] Hz, integer or not
// (resampler.hpp: exact polyphase for the common integer rates, band-limited interpolation for the
// others); outside it init() says unsupported_rate.
//
// Which windows: window k = seconds [2k, 2k + 8) of the stream = sensor samples i with
// 2k fs_in <= i < (2k + 8) fs_in (BAMI's label k). push() hands window k over as soon as the resampler
// has its last sample: at most latency_frames() + 1 sensor samples after sample (2k + 8) fs_in - 1. A recording
// of N samples has exactly the windows with (2k + 8) fs_in <= N, i.e. floor((N / fs_in - 8) / 2) + 1
// of them (windows_in_recording(), evaluated in double like the Python twin): call finish() at its end, which extends the signal with its last sample just far enough
// to complete them (the Python twin pads the same way), and never emits a window past the end.
//
// Numbers in T (double by default, like the Python twin; float halves the memory but the large DC
// level of raw PPG then costs ~1e-4 of the pulse and parity with Python is no longer 1e-5).
//
// Memory (no heap, ever): sizeof(Preprocessor<...>), a compile-time constant that covers every
// sensor rate in [16, 1024] Hz with the default capacity: ResNetPreprocessor (25 Hz, 1 channel)
// 33,464 B, PulsePreprocessor (32 Hz, 4 channels) 63,968 B, Preprocessor<25, 7> (4 PPG + 3 ACC
// channels) 96,872 B (GCC 12, x86-64; the resampler's coefficient store, shared by its two paths,
// is 20 KB, its history 6.5 KB per channel at 25 Hz and 5.1 KB at 32 Hz (bounded by the kernel's
// span x 1024 Hz), the rest is window buffers). Hold it in static
// storage or allocate it once at start-up; it is too big for a small thread's stack.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "ppghr/core/config.hpp"
#include "ppghr/dsp/bandpass.hpp"
#include "ppghr/dsp/common.hpp"
#include "ppghr/dsp/normalize.hpp"
#include "ppghr/dsp/resampler.hpp"
#include "ppghr/dsp/windower.hpp"

namespace ppghr {

/// NetRate: the network's input rate (Hz); Channels: channels per frame (ResNet: 1 PPG channel;
/// PULSE: 4 = PPG, ACC x, y, z); T: arithmetic type; MaxCoefficients / MaxTapsPerPhase: the
/// exact polyphase resampler's capacity (default: every rate in kCommonSensorRatesHz);
/// MaxInterpHistory: the interpolator's (default: every rate up to kMaxSensorRateHz).
template <int NetRate, int Channels, class T = double, int MaxCoefficients = resampler_max_coefficients(NetRate),
          int MaxTapsPerPhase = resampler_max_taps_per_phase(NetRate),
          int MaxInterpHistory = resampler_max_interp_history(NetRate)>
class Preprocessor {
  static_assert(NetRate > 0 && NetRate <= 1000, "Preprocessor: the network rate must be in 1..1000 Hz");
  static_assert(Channels > 0, "Preprocessor: at least one channel");

 public:
  using value_type = T;
  static constexpr int rate_hz = NetRate;
  static constexpr int channels = Channels;
  static constexpr int window_length = kWindowSeconds * NetRate;  ///< samples per channel (200 at 25 Hz)
  static constexpr int window_stride = kStrideSeconds * NetRate;  ///< samples between window starts
  static constexpr std::size_t window_size = std::size_t(Channels) * window_length;  ///< floats per window

  /// What to do; see the presets below.
  struct Config {
    double input_rate_hz = 0;  ///< sensor rate, Hz: any value in [16, 1024], integer or not
    bool bandpass = true;   ///< zero-phase Butterworth band-pass per window (bandpass.hpp)
    double bandpass_low_hz = kBandpassLowHz;
    double bandpass_high_hz = kBandpassHighHz;
    Normalization normalization = Normalization::zscore;
    std::array<double, Channels> mean{};    ///< Normalization::global only
    std::array<double, Channels> stddev{};  ///< Normalization::global only; each > 0
  };

  /// The ResNet / MLP preprocessing: band-pass 0.5-4 Hz, then per-window z-score.
  [[nodiscard]] static constexpr Config zscore_config(double fs_in) noexcept {
    Config c;
    c.input_rate_hz = fs_in;
    return c;
  }
  /// The PULSE networks' front end: no band-pass, no normalisation, the windows in sensor units
  /// (resampled): PulseTeacher / PulseStudent normalise their own input inside predict(), with the
  /// training set's constants that travel in their blob (the Python twin's net='pulse' without
  /// input_norm).
  [[nodiscard]] static constexpr Config raw_config(double fs_in) noexcept {
    Config c;
    c.input_rate_hz = fs_in;
    c.bandpass = false;
    c.normalization = Normalization::none;
    return c;
  }
  /// PULSE's normalisation done here instead: no band-pass, (x - mean_c) / stddev_c with the
  /// training set's constants (for a consumer of normalised windows; not before a PulseTeacher /
  /// PulseStudent, which would normalise twice).
  [[nodiscard]] static constexpr Config global_config(double fs_in, const std::array<double, Channels>& mean,
                                                      const std::array<double, Channels>& stddev) noexcept {
    Config c;
    c.input_rate_hz = fs_in;
    c.bandpass = false;
    c.normalization = Normalization::global;
    c.mean = mean;
    c.stddev = stddev;
    return c;
  }

  /// One finished window, valid only during the sink call.
  struct Window {
    std::uint64_t index = 0;       ///< k: seconds [2k, 2k + 8) of the stream (label k)
    const float* data = nullptr;   ///< [Channels][window_length], channel-major
    /// Per channel: ok, flat (per-window z-score: std ~0, see normalize.hpp, nothing to scale) or
    /// non_finite (the resampled channel holds NaN or infinity: it reached the sensor stream). A
    /// channel that is not ok is all zeros (never NaN); predict() would accept it.
    std::array<SignalStatus, Channels> status{};
    [[nodiscard]] bool ok() const noexcept {
      for (SignalStatus s : status)
        if (s != SignalStatus::ok) return false;
      return true;
    }
    [[nodiscard]] const float* channel(int c) const noexcept { return data + std::size_t(c) * window_length; }
  };

  /// Validates the configuration and designs the filters. On failure the instance stays unusable
  /// (push() says not_initialized). No allocation.
  [[nodiscard]] SignalStatus init(const Config& cfg) noexcept {
    ready_ = false;
    if (cfg.normalization != Normalization::none && cfg.normalization != Normalization::zscore &&
        cfg.normalization != Normalization::global)
      return SignalStatus::bad_config;
    if (cfg.normalization == Normalization::global) {
      for (int c = 0; c < Channels; ++c)
        if (!std::isfinite(cfg.mean[c]) || !std::isfinite(cfg.stddev[c]) || !(cfg.stddev[c] > 0.0))
          return SignalStatus::bad_config;
    }
    SignalStatus st = resampler_.init(cfg.input_rate_hz, NetRate);
    if (st != SignalStatus::ok) return st;
    if (cfg.bandpass) {
      st = bandpass_.init(double(NetRate), cfg.bandpass_low_hz, cfg.bandpass_high_hz);
      if (st != SignalStatus::ok) return st;
    }
    cfg_ = cfg;
    ready_ = true;
    reset();
    return SignalStatus::ok;
  }

  /// Starts a new recording (keeps the configuration).
  void reset() noexcept {
    resampler_.reset();
    windower_.reset();
    frames_in_ = 0;
    windows_out_ = 0;
    finished_ = false;
  }

  /// Pushes n frames; channel c of frame i is frames[i * frame_stride + c] (frame_stride >=
  /// Channels: e.g. 3 to take channel 0 of BAMI's interleaved 3-channel PPG). Calls
  /// sink(const Window&) for every window completed, in order. Any chunking gives the same windows
  /// bit for bit. No allocation.
  template <class In, class Sink>
  [[nodiscard]] SignalStatus push(const In* frames, std::size_t n, std::size_t frame_stride, Sink&& sink) noexcept {
    if (!ready_) return SignalStatus::not_initialized;
    if (finished_) return SignalStatus::finished;
    for (std::size_t i = 0; i < n; ++i) {
      const In* f = frames + i * frame_stride;
      for (int c = 0; c < Channels; ++c) last_[c] = static_cast<T>(f[c]);
      ++frames_in_;
      step(last_.data(), sink);
    }
    return SignalStatus::ok;
  }
  /// push() of n contiguous frames (frame_stride = Channels).
  template <class In, class Sink>
  [[nodiscard]] SignalStatus push(const In* frames, std::size_t n, Sink&& sink) noexcept {
    return push(frames, n, std::size_t(Channels), sink);
  }

  /// End of the recording: emits the windows that lie inside it but still wait for resampler
  /// look-ahead, by extending the signal with its last frame. Afterwards push() says finished
  /// until reset().
  template <class Sink>
  [[nodiscard]] SignalStatus finish(Sink&& sink) noexcept {
    if (!ready_) return SignalStatus::not_initialized;
    if (finished_) return SignalStatus::finished;
    finished_ = true;
    if (frames_in_ == 0) return SignalStatus::ok;
    // At most one window completes per frame (outputs per frame <= fs_out / fs_in < stride), so
    // checking before every frame never lets one past the end out. The bound only guards the loop.
    std::uint64_t guard =
        std::uint64_t(resampler_.latency_frames()) + 8u * std::uint64_t(std::ceil(cfg_.input_rate_hz)) + 16u;
    while (window_inside(windows_out_) && guard-- > 0) step(last_.data(), sink);
    return SignalStatus::ok;
  }

  /// Number of windows a recording of n sensor samples has: those with (2k + 8) fs_in <= n, the
  /// product in double (exact for integer rates; preprocess.n_windows() evaluates the same).
  [[nodiscard]] static std::uint64_t windows_in_recording(std::uint64_t n, double fs_in) noexcept {
    if (!(fs_in > 0.0)) return 0;
    const double x = static_cast<double>(n);
    if (double(kWindowSeconds) * fs_in > x) return 0;
    std::uint64_t k = static_cast<std::uint64_t>((x / fs_in - kWindowSeconds) / kStrideSeconds);
    while (k > 0 && window_ends_inside(k, n, fs_in) == false) --k;
    while (window_ends_inside(k + 1, n, fs_in)) ++k;
    return k + 1;
  }

  [[nodiscard]] bool ready() const noexcept { return ready_; }
  [[nodiscard]] const Config& config() const noexcept { return cfg_; }
  /// Sensor frames pushed since init() / reset() (finish()'s extension not counted).
  [[nodiscard]] std::uint64_t frames() const noexcept { return frames_in_; }
  /// Windows handed to sinks since init() / reset().
  [[nodiscard]] std::uint64_t windows() const noexcept { return windows_out_; }
  /// Sensor frames after a window's last sample before push() can hand it over.
  [[nodiscard]] int latency_frames() const noexcept { return resampler_.latency_frames(); }
  [[nodiscard]] const Resampler<T, Channels, MaxCoefficients, MaxTapsPerPhase, MaxInterpHistory>& resampler()
      const noexcept {
    return resampler_;
  }
  [[nodiscard]] const ZeroPhaseBandpass<T, window_length>& bandpass() const noexcept { return bandpass_; }

 private:
  [[nodiscard]] static bool window_ends_inside(std::uint64_t k, std::uint64_t n, double fs_in) noexcept {
    return static_cast<double>(2u * k + std::uint64_t(kWindowSeconds)) * fs_in <= static_cast<double>(n);
  }
  [[nodiscard]] bool window_inside(std::uint64_t k) const noexcept {
    return window_ends_inside(k, frames_in_, cfg_.input_rate_hz);
  }

  template <class Sink>
  void step(const T* frame, Sink& sink) noexcept {
    resampler_.push(frame, [&](const T* y) {
      if (windower_.push(y)) emit(sink);
    });
  }

  template <class Sink>
  void emit(Sink& sink) noexcept {
    Window w;
    w.index = windower_.window_index();
    w.data = out_.data();
    windower_.copy_window(raw_.data());
    for (int c = 0; c < Channels; ++c) {
      T* x = raw_.data() + std::size_t(c) * window_length;
      float* o = out_.data() + std::size_t(c) * window_length;
      double scale = 0.0;
      if (!all_finite_max_abs(x, window_length, &scale)) {
        zero_window(o, window_length);
        w.status[c] = SignalStatus::non_finite;
        continue;
      }
      if (cfg_.bandpass) bandpass_.apply(x, x);
      switch (cfg_.normalization) {
        case Normalization::zscore: w.status[c] = zscore(x, window_length, scale, o); break;
        case Normalization::global:
          w.status[c] = normalize_global(x, window_length, cfg_.mean[c], cfg_.stddev[c], o);
          break;
        case Normalization::none: w.status[c] = copy_window(x, window_length, o); break;
      }
    }
    ++windows_out_;
    sink(static_cast<const Window&>(w));
  }

  Config cfg_{};
  bool ready_ = false;
  bool finished_ = false;
  std::uint64_t frames_in_ = 0;
  std::uint64_t windows_out_ = 0;
  std::array<T, Channels> last_{};
  Resampler<T, Channels, MaxCoefficients, MaxTapsPerPhase, MaxInterpHistory> resampler_{};
  Windower<T, Channels, window_length, window_stride> windower_{};
  ZeroPhaseBandpass<T, window_length> bandpass_{};
  std::array<T, window_size> raw_{};
  std::array<float, window_size> out_{};
};

/// ResNet / MLP family: 1 channel at 25 Hz, 200-sample windows, band-pass + per-window z-score
/// (init with ResNetPreprocessor::zscore_config(fs_in)).
using ResNetPreprocessor = Preprocessor<kResNetRateHz, 1>;
/// PULSE: 4 channels (PPG, ACC x, y, z) at 32 Hz, 4 x 256 windows (init with
/// PulsePreprocessor::raw_config(fs_in) before a PulseTeacher / PulseStudent, which normalise their
/// own input; global_config(fs_in, mean, stddev) for windows normalised here).
using PulsePreprocessor = Preprocessor<kPulseRateHz, 4>;

}  // namespace ppghr
