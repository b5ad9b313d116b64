// ppghr/monitor/monitor.hpp - from a sensor stream to heart rate: the streaming monitor.
//
// Push PPG samples (or PPG + ACC frames for a 4-channel network) as they arrive, in chunks of any
// size, at the sensor rate given at start-up. Every 2 s of stream (once the first 8 s are in) the
// monitor hands a WindowResult to your sink: the window's heart rate, its probability vector, a
// confidence and a signal-quality status. A window whose signal is flat, holds NaN/Inf, is heavily
// clipped, or covers a gap, gets that status and no heart rate (bpm = 0), never a made-up one.
// A recording too short for a single window gets one WindowResult with status too_short at finish().
//
// Window k covers stream seconds [2k, 2k + 8) (the BAMI label convention, dsp/common.hpp).
// Signal quality is judged on the raw sensor samples of the PPG channel (channel 0) of the window:
//   gap         any sample of the window was declared missing with push_gap() (or one just
//               outside it, within the resampler's reach, spoiled the resampled window)
//   non_finite  any NaN/Inf sample
//   flat        the raw samples are all equal, or the preprocessor found no variation to scale
//   clipped     more than Config::max_clipped_fraction of the samples sit at the ADC rails
//               (Config::adc_min / adc_max when given; otherwise a sample counts as clipped when
//               it and its two predecessors are equal and at the stream's running min or max)
// The accelerometer (the last three channels of a stream with 4 or more: PPG channel(s), then
// ACC x, y, z) is not judged by the status: a window whose accelerometer held one value on all
// three axes through the window (and since the sample before it) keeps its status and heart rate (the
// PPG is fine) and has acc_flat set: a stopped or stuck sensor, so motion is not seen and a
// motion-aware estimator degrades to PPG alone. A real accelerometer at rest still moves by its
// noise, so bit-identical values mean a sensor that stopped. Never set in a window with a gap.
// Tracking (Config::tracking), reported as bpm_tracked:
//   none               bpm_tracked = bpm;
//   hmm                the forward filter of post/decode.hpp (an HMM over the 180 classes with the
//                      transition prior Config::prior, by default the one learnt from the BAMI-1
//                      labels): P(class of window k | windows 0..k), its argmax;
//   lag                the fixed-lag smoother (post/decode.hpp): P(class of window k | windows
//                      0..k + L), L = Config::lag in 1..MaxLag (the template parameter): window k's
//                      result reaches the sink L windows (2L s) later, after window k + L was
//                      computed; finish() delivers the last L;
//   recent_mean_clamp  the PULSE authors' published post-processing (post/clamp.hpp: from the 11th
//                      ok window on, clamp into [0.9, 1.1] x the mean of the previous 10 clamped
//                      estimates).
// A window that is not ok gives the HMM no evidence (its belief only spreads) and has no heart rate.
// Confidence (0..1) of the estimate the monitor reports: confidence_raw = the mass within +-5 BPM
// of bpm_tracked in the distribution it came from (hmm / lag: the decoded posterior; none / clamp:
// the window's probabilities around bpm), then confidence = Config::calibration.apply(raw): a
// table fitted so that windows reported at confidence c are within 5 BPM about c of the time (the
// spectral estimator's tables: spectral/calibration.hpp; without a table confidence = raw).
// Regression heads (a network whose predict() returns an Estimate: the published PULSE models):
// bpm is the network's value as it comes (not rounded, not clamped to 30..209); there is no
// probability vector, so probabilities stays nullptr, confidence is NaN in ok windows (there is
// none to report; 0 would read as "surely wrong"), and init() refuses Tracking::hmm with
// bad_config (recent_mean_clamp works on the BPM values).
//
// Memory is a compile-time constant, sizeof(Monitor<...>) (mostly the preprocessor's filters:
// ~40 KB in all for the ResNet, ~71 KB for PULSE with its 4-channel PulsePreprocessor, ~93 KB for
// the spectral estimator with 3 PPG channels (7 channels in the preprocessor), at any sensor rate in
// 16-1024 Hz, integer or not; MaxLag 8 adds ~17.7 KB; GCC 12, x86-64); the network or estimator is
// the caller's (held by pointer).
// push() never allocates, throws or locks.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "ppghr/core/config.hpp"
#include "ppghr/dsp/preprocessor.hpp"
#include "ppghr/models/prediction.hpp"
#include "ppghr/post/clamp.hpp"
#include "ppghr/post/decode.hpp"

namespace ppghr {

/// How bpm_tracked is made from the sequence of windows. Values are stable.
enum class Tracking : std::uint8_t { none = 0, hmm = 1, recent_mean_clamp = 2, lag = 3 };

/// One window's result, valid during the sink call.
struct WindowResult {
  std::uint64_t index = 0;           ///< window k
  double start_s = 0, end_s = 0;     ///< stream seconds [2k, 2k + 8)
  SignalStatus status = SignalStatus::ok;
  float bpm = 0;                     ///< argmax heart rate, or a regression head's value (0 unless ok)
  float bpm_tracked = 0;             ///< tracked heart rate (Config::tracking), else = bpm; 0 unless ok
  float confidence = 0;              ///< calibrated confidence of bpm_tracked (0 unless ok; NaN in
                                     ///< ok windows of a regression head: none to report)
  float confidence_raw = 0;          ///< the same before Config::calibration (see the header comment)
  float clipped_fraction = 0;        ///< of the window's PPG samples
  bool acc_flat = false;             ///< the accelerometer held one value through the window
                                     ///< (stopped or stuck; see the header comment); any status
  const float* probabilities = nullptr;  ///< 180 values when status is ok (180-class head), else nullptr
  [[nodiscard]] bool ok() const noexcept { return status == SignalStatus::ok; }
};

/// Net: a network whose input is the preprocessor's window, with a 180-class head (predict() ->
/// Prediction<float>) or a regression head (predict() -> Estimate<float>). Pre: the matching
/// preprocessor: ResNetPreprocessor for ResNet1d / Mlp (Config::preprocessing =
/// ResNetPreprocessor::zscore_config(fs)), PulsePreprocessor for PulseTeacher / PulseStudent
/// (PulsePreprocessor::raw_config(fs): the networks normalise their own input).
///
/// MaxLag: the largest Config::lag that Tracking::lag accepts (its ring costs (MaxLag + 1) x
/// (3 x 180 floats + a WindowResult)); 0 allows every mode but lag.
template <class Net, class Pre = ResNetPreprocessor, int MaxLag = 0>
class Monitor {
  static_assert(MaxLag >= 0, "Monitor: MaxLag must be >= 0");
  static_assert(Net::input_size == Pre::window_size, "Monitor: the preprocessor's window is not the network's input");
  using Result = typename Net::result_type;

 public:
  static constexpr int channels = Pre::channels;
  /// The accelerometer channels: the last three of a stream of 4 or more channels, else none.
  static constexpr int acc_channels = channels >= 4 ? 3 : 0;
  static constexpr int kConfidenceHalfWidthBpm = 5;
  static constexpr int max_lag = MaxLag;
  /// True for a 180-class head (probabilities, confidence, Tracking::hmm); false for a regression
  /// head (see the header comment).
  static constexpr bool has_probabilities = detail::ResultTraits<Result>::has_probabilities;

  struct Config {
    typename Pre::Config preprocessing{};  ///< sensor rate and normalisation (ResNet / MLP:
                                           ///< Pre::zscore_config(fs); PULSE: Pre::raw_config(fs))
    float adc_min = 0, adc_max = 0;        ///< ADC rails; adc_min >= adc_max: detect plateaus instead
    float max_clipped_fraction = 0.1f;     ///< above this a window is `clipped`
    Tracking tracking = Tracking::none;    ///< how bpm_tracked is made
    TransitionPrior prior = TransitionPrior::bami1();  ///< hmm / lag: the HMM's transition prior
    LikelihoodModel likelihood{};          ///< hmm / lag: how probabilities become its likelihood
    int lag = 0;                           ///< Tracking::lag: windows of delay, 1..MaxLag
    Calibration calibration{};             ///< raw confidence -> confidence (0 knots: identity)
  };

  /// Starts a stream. `net` must outlive the monitor. Returns the preprocessor's verdict on the
  /// configuration (unsupported rate, bad constants), or bad_config for Tracking::hmm / lag with a
  /// regression head, a lag outside 1..MaxLag, a prior or likelihood model the decoders refuse, or
  /// an invalid calibration table; on failure push() and finish() do nothing and say
  /// not_initialized.
  [[nodiscard]] SignalStatus init(Net& net, const Config& cfg) noexcept {
    net_ = &net;
    cfg_ = cfg;
    SignalStatus st = pre_.init(cfg.preprocessing);
    const bool decoding = cfg.tracking == Tracking::hmm || cfg.tracking == Tracking::lag;
    if (st == SignalStatus::ok && decoding && !has_probabilities) st = SignalStatus::bad_config;
    if (st == SignalStatus::ok && cfg.tracking == Tracking::lag && (cfg.lag < 1 || cfg.lag > MaxLag))
      st = SignalStatus::bad_config;
    if (st == SignalStatus::ok && !cfg.calibration.valid()) st = SignalStatus::bad_config;
    if (st == SignalStatus::ok && decoding &&
        smoother_.configure(cfg.prior, cfg.likelihood, cfg.tracking == Tracking::lag ? cfg.lag : 0) !=
            DecodeStatus::ok)
      st = SignalStatus::bad_config;
    ready_ = st == SignalStatus::ok;
    reset_stream();
    return st;
  }

  /// Starts a new stream with the same configuration.
  void reset_stream() noexcept {
    pre_.reset();
    smoother_.reset();
    clamp_.reset();
    for (auto& s : segments_) s = Segment{};
    samples_ = 0;
    emitted_ = 0;
    have_prev_ = 0;
    have_prev_acc_ = false;
    run_min_ = std::numeric_limits<float>::infinity();
    run_max_ = -std::numeric_limits<float>::infinity();
  }

  /// Pushes n frames of `channels` floats (channel 0 = PPG; for 4-channel networks then ACC x, y, z).
  /// Calls sink(const WindowResult&) for every window completed. No allocation.
  template <class Sink>
  [[nodiscard]] SignalStatus push(const float* frames, std::size_t n, Sink&& sink) noexcept {
    return push_impl(frames, n, false, sink);
  }

  /// Declares n samples missing (a sensor dropout): the stream's clock advances, every window
  /// touching them gets status `gap`.
  template <class Sink>
  [[nodiscard]] SignalStatus push_gap(std::size_t n, Sink&& sink) noexcept {
    return push_impl(nullptr, n, true, sink);
  }

  /// End of the stream: emits the windows still waiting for resampler look-ahead; when no window
  /// was ever emitted, emits one WindowResult with status too_short.
  template <class Sink>
  [[nodiscard]] SignalStatus finish(Sink&& sink) noexcept {
    if (!ready_) return SignalStatus::not_initialized;
    const SignalStatus st = pre_.finish([&](const typename Pre::Window& w) { on_window(w, sink); });
    if (st == SignalStatus::ok && decoding())
      (void)smoother_.flush([&](long t, const float* post) { deliver(t, post, sink); });
    if (st == SignalStatus::ok && emitted_ == 0) {
      WindowResult e;
      e.status = SignalStatus::too_short;
      e.end_s = static_cast<double>(samples_) / sensor_rate();
      sink(static_cast<const WindowResult&>(e));
    }
    return st;
  }

  /// Windows computed so far (with Tracking::lag the sink has seen Config::lag fewer until finish()).
  [[nodiscard]] std::uint64_t windows() const noexcept { return emitted_; }
  [[nodiscard]] std::uint64_t samples() const noexcept { return samples_; }
  [[nodiscard]] const Pre& preprocessor() const noexcept { return pre_; }

 private:
  // Raw-sample statistics of one 2 s segment of the PPG channel.
  struct Segment {
    std::uint64_t id = ~std::uint64_t(0);
    std::uint32_t count = 0, non_finite = 0, missing = 0, clipped = 0;
    std::uint32_t acc_moves = 0;  // samples whose accelerometer differs from the sample before
    float min = std::numeric_limits<float>::infinity();
    float max = -std::numeric_limits<float>::infinity();
  };
  static constexpr int kRing = 16;  // segments kept: a window needs 4, plus resampler latency

  double sensor_rate() const noexcept {
    return cfg_.preprocessing.input_rate_hz > 0 ? cfg_.preprocessing.input_rate_hz : 1.0;
  }

  template <class Sink>
  SignalStatus push_impl(const float* frames, std::size_t n, bool missing, Sink& sink) noexcept {
    if (!ready_) return SignalStatus::not_initialized;
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::array<float, channels> gap_frame;
    gap_frame.fill(nan);
    for (std::size_t i = 0; i < n; ++i) {
      const float* f = missing ? gap_frame.data() : frames + i * channels;
      account(f, missing);
      const SignalStatus st = pre_.push(f, 1, [&](const typename Pre::Window& w) { on_window(w, sink); });
      if (st != SignalStatus::ok) return st;
    }
    return SignalStatus::ok;
  }

  void account(const float* f, bool missing) noexcept {
    // Segment of sample i: floor(i / (2 fs)), i.e. seconds [2 id, 2 id + 2) (fs may be non-integer).
    const std::uint64_t id =
        static_cast<std::uint64_t>(static_cast<double>(samples_) / (double(kStrideSeconds) * sensor_rate()));
    Segment& s = segments_[id % kRing];
    if (s.id != id) s = Segment{id};
    ++samples_;
    ++s.count;
    if (missing) {
      ++s.missing;
      have_prev_ = 0;
      have_prev_acc_ = false;
      return;
    }
    if constexpr (acc_channels > 0) {
      // A NaN never equals anything: it counts as a move (the window is non_finite anyway).
      const float* a = f + (channels - acc_channels);
      bool moved = !have_prev_acc_;
      for (int c = 0; c < acc_channels; ++c) {
        moved = moved || !(a[c] == prev_acc_[c]);
        prev_acc_[c] = a[c];
      }
      s.acc_moves += (moved && have_prev_acc_) ? 1u : 0u;
      have_prev_acc_ = true;
    }
    const float x = f[0];
    if (!std::isfinite(x)) {
      ++s.non_finite;
      have_prev_ = 0;
      return;
    }
    s.min = x < s.min ? x : s.min;
    s.max = x > s.max ? x : s.max;
    run_min_ = x < run_min_ ? x : run_min_;
    run_max_ = x > run_max_ ? x : run_max_;
    if (cfg_.adc_min < cfg_.adc_max) {
      if (x <= cfg_.adc_min || x >= cfg_.adc_max) ++s.clipped;
    } else if (have_prev_ >= 2 && x == prev_[0] && x == prev_[1] && (x >= run_max_ || x <= run_min_)) {
      ++s.clipped;
    }
    prev_[1] = prev_[0];
    prev_[0] = x;
    have_prev_ = have_prev_ < 2 ? have_prev_ + 1 : 2;
  }

  template <class Sink>
  void on_window(const typename Pre::Window& w, Sink& sink) noexcept {
    WindowResult e;
    e.index = w.index;
    e.start_s = double(kStrideSeconds) * double(w.index);
    e.end_s = e.start_s + kWindowSeconds;
    // Combine the raw statistics of the window's 4 segments.
    std::uint32_t count = 0, non_finite = 0, missing = 0, clipped = 0, acc_moves = 0;
    float lo = std::numeric_limits<float>::infinity(), hi = -std::numeric_limits<float>::infinity();
    constexpr int kSegments = kWindowSeconds / kStrideSeconds;
    for (int j = 0; j < kSegments; ++j) {
      const std::uint64_t id = w.index + std::uint64_t(j);
      const Segment& s = segments_[id % kRing];
      if (s.id != id) continue;  // finish(): the extension past the end has no raw samples
      count += s.count;
      non_finite += s.non_finite;
      missing += s.missing;
      clipped += s.clipped;
      acc_moves += s.acc_moves;
      lo = s.min < lo ? s.min : lo;
      hi = s.max > hi ? s.max : hi;
    }
    e.clipped_fraction = count > 0 ? float(clipped) / float(count) : 0.f;
    // The resampler's filter reaches a little past the window's edges: a gap or NaN there also
    // spoils the window (the preprocessor reports it non_finite); name the cause.
    std::uint32_t near_missing = 0;
    for (const std::uint64_t id : {w.index - 1, w.index + std::uint64_t(kSegments)}) {
      const Segment& s = segments_[id % kRing];
      if (s.id == id) near_missing += s.missing;
    }
    if (missing > 0 || (w.status[0] == SignalStatus::non_finite && non_finite == 0 && near_missing > 0)) {
      e.status = SignalStatus::gap;
    } else if (non_finite > 0 || w.status[0] == SignalStatus::non_finite) {
      e.status = SignalStatus::non_finite;
    } else if (!(hi > lo) || w.status[0] == SignalStatus::flat) {
      e.status = SignalStatus::flat;
    } else if (e.clipped_fraction > cfg_.max_clipped_fraction) {
      e.status = SignalStatus::clipped;
    } else if (!w.ok()) {
      e.status = SignalStatus::non_finite;  // another channel (ACC) was unusable
    }
    // acc_flat: no accelerometer move in the window's samples, each compared with the one before
    // it (the window's first too, unless the stream or a gap began right there); never with a gap.
    e.acc_flat = acc_channels > 0 && count > 1 && acc_moves == 0 && e.status != SignalStatus::gap;
    float raw = 0.f;
    if (e.status == SignalStatus::ok) {
      const Result& p = net_->predict(w.data);
      if (!p.ok()) {
        e.status = p.status == SignalStatus::not_loaded ? SignalStatus::not_loaded : SignalStatus::non_finite;
      } else {
        raw = estimate(p, e);
      }
    }
    ++emitted_;
    if (decoding()) {
      hold(e);
      if (smoother_.push(e.probabilities)) deliver(smoother_.output_index(), smoother_.posterior().data(), sink);
      return;
    }
    if (e.status == SignalStatus::ok) {
      e.bpm_tracked = cfg_.tracking == Tracking::recent_mean_clamp ? clamp_.update(e.bpm) : e.bpm;
      set_confidence(e, raw);
    }
    sink(static_cast<const WindowResult&>(e));
  }

  [[nodiscard]] bool decoding() const noexcept {
    return has_probabilities && (cfg_.tracking == Tracking::hmm || cfg_.tracking == Tracking::lag);
  }

  void set_confidence(WindowResult& e, float raw) const noexcept {
    e.confidence_raw = raw;
    e.confidence = std::isnan(raw) ? raw : cfg_.calibration.apply(raw);
  }

  // Decoding: window `seq` (its sequence number since the stream started) waits in the ring, its
  // probabilities copied, until the smoother has its posterior.
  void hold(const WindowResult& e) noexcept {
    Held& h = held_[(emitted_ - 1) % std::uint64_t(MaxLag + 1)];
    h.result = e;
    if (e.probabilities != nullptr) {
      for (int c = 0; c < kNumClasses; ++c) h.probabilities[c] = e.probabilities[c];
      h.result.probabilities = h.probabilities.data();
    }
  }

  template <class Sink>
  void deliver(long seq, const float* posterior, Sink& sink) noexcept {
    WindowResult r = held_[std::uint64_t(seq) % std::uint64_t(MaxLag + 1)].result;
    if (r.ok()) {
      r.bpm_tracked = posterior_argmax_bpm(posterior);
      set_confidence(r, posterior_mass_within(posterior, r.bpm_tracked, float(kConfidenceHalfWidthBpm)));
    }
    sink(static_cast<const WindowResult&>(r));
  }

  // Fills e's heart rate (and, for a 180-class head, its probabilities) from an ok result; returns
  // the raw confidence of bpm: the probability mass within +-5 BPM of it (NaN for a regression head).
  float estimate(const Result& p, WindowResult& e) noexcept {
    e.bpm = p.bpm;
    if constexpr (has_probabilities) {
      e.probabilities = p.probabilities.data();
      float mass = 0.f;
      for (int d = -kConfidenceHalfWidthBpm; d <= kConfidenceHalfWidthBpm; ++d) {
        const int k = p.class_index + d;
        if (k >= 0 && k < kNumClasses) mass += p.probabilities[k];
      }
      return mass;
    } else {
      return std::numeric_limits<float>::quiet_NaN();
    }
  }

  struct Held {
    WindowResult result{};
    std::array<float, kNumClasses> probabilities{};
  };

  Net* net_ = nullptr;
  Config cfg_{};
  bool ready_ = false;
  Pre pre_{};
  LagSmoother<MaxLag> smoother_{};
  std::array<Held, MaxLag + 1> held_{};
  RecentMeanClamp<float> clamp_{};
  std::array<Segment, kRing> segments_{};
  std::uint64_t samples_ = 0, emitted_ = 0;
  float prev_[2] = {0, 0};
  int have_prev_ = 0;
  float prev_acc_[3] = {0, 0, 0};
  bool have_prev_acc_ = false;
  float run_min_ = 0, run_max_ = 0;
};

}  // namespace ppghr
