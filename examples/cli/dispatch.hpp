// examples/cli/dispatch.hpp - ppghr-estimate's estimators behind one interface: a Runner streams a
// Recording through a ppghr::Monitor and returns its windows. make_runner() picks the network of
// the library's registry (include/ppghr/models/registry.hpp) from a blob's architecture
// fingerprint, or the built-in spectral estimator for "spectral". Every failure is returned as an
// Error (never exits). The heavy template code (every registry network) lives in dispatch.cpp only.
#pragma once

#include <cstddef>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <ppghr/monitor/monitor.hpp>

#include "decode.hpp"
#include "error.hpp"
#include "recording.hpp"

namespace cli {

/// One window as the Monitor reported it (before decoding).
struct Window {
  double time = 0;  ///< window start, s
  ppghr::SignalStatus status = ppghr::SignalStatus::ok;
  float hr = 0, hr_clamped = 0, ref = std::nanf("");
};

/// A recording's windows.
struct RunOut {
  std::vector<Window> windows;
  std::vector<Probs> probs;    ///< per window when the estimator has a probability vector (zeros when not ok)
  std::vector<int> channels;   ///< PPG channels used
  bool accelerometer = false;  ///< the accelerometer went in
  std::size_t acc_flat = 0;    ///< windows whose accelerometer held one value (WindowResult::acc_flat)
};

/// How a recording is run.
struct Options {
  ppghr::Tracking tracking = ppghr::Tracking::none;  ///< none or recent_mean_clamp (--track-clamp)
  float adc_min = 0, adc_max = 0;
  bool adc_given = false;
  std::vector<int> channels;  ///< --channels (empty: all)
  std::FILE* notes = stderr;  ///< where notes go ("too short", "no accelerometer", ...); nullptr: nowhere
};

/// An estimator.
class Runner {
 public:
  virtual ~Runner() = default;
  /// The recording's windows, or why it cannot be run (channels, rate, missing accelerometer).
  virtual Expected<RunOut> run(const Recording& r, const Options& o) = 0;
  /// The recording's accelerometer is read (PULSE needs it; the spectral estimator uses it when there).
  virtual bool wants_acc() const = 0;
  /// False for a regression head: no probability vector, so no confidence and no decoding.
  virtual bool has_probabilities() const = 0;
  /// The confidence calibration for decode mode `mode` (with / without the accelerometer): the
  /// estimator's table where it has one (the spectral estimator), otherwise the identity.
  virtual ppghr::Calibration calibration(const DecodeSpec& mode, bool accelerometer) const {
    (void)mode;
    (void)accelerometer;
    return {};
  }
  /// The HMM the decoders run over this estimator's probabilities (default: the BAMI-1 prior).
  virtual DecoderModel decoder_model() const { return {}; }
};

/// A runner and its name (the registry's name of the network, or "spectral").
struct MadeRunner {
  std::unique_ptr<Runner> runner;
  std::string name;
};

/// `model` is "spectral" (the built-in estimator; `arch` empty or "spectral") or a blob path: the
/// registry's network with the blob's fingerprint, which must be `arch` when that is given; the
/// blob is loaded (and so checked) here.
Expected<MadeRunner> make_runner(const std::string& model, const std::string& arch);

/// The blob file `path` (any network of the registry, dtype 1), loaded and rewritten as the
/// dtype-3 blob an in-place network reads (ppghr::blob::write_packed_blob); `name` gets the
/// network's registry name.
Expected<std::vector<unsigned char>> in_place_blob(const std::string& path, std::string& name);

/// The registry's network names, ", "-separated (as listed in errors).
std::string network_list();

/// The channels a selection gives on recording r (empty: all, up to kMaxPpgChannels).
Expected<std::vector<int>> resolve_channels(const std::vector<int>& sel, const Recording& r);

}  // namespace cli
