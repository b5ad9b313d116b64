// ppghr/dsp/common.hpp - what the preprocessing stages share: status codes, the window geometry
// (8 s windows every 2 s), the networks' input rates and the sensor rates we size for.
//
// Time convention used by every dsp header: sensor sample i (0-based) is at time i / fs_in
// seconds; network-rate sample n is at time n / fs_out. Window k covers the times [2k, 2k + 8)
// seconds, i.e. sensor samples [2k fs_in, (2k + 8) fs_in) and network-rate samples
// [2k fs_out, (2k + 8) fs_out). This is the BAMI labelling (hr.f32 value k = heart rate of seconds
// [2k, 2k + 8)), so window k lines up with label k.
#pragma once

#include <cstdint>

#include "ppghr/core/config.hpp"

namespace ppghr {

/// Result of configuring or driving a preprocessing stage. Values are stable.
enum class DspStatus : std::uint8_t {
  ok = 0,
  unsupported_rate = 1,   ///< a sensor rate outside [kMinSensorRateHz, kMaxSensorRateHz] (or not a
                          ///< number), or a network rate outside [1, kMaxSensorRateHz]
  capacity_exceeded = 2,  ///< this rate pair's resampling filter does not fit the template capacity
                          ///< (never with the default capacities and a rate in the range above)
  bad_config = 3,         ///< a normalisation constant is not finite, or a std is not > 0 (Monitor:
                          ///< also Tracking::hmm with a regression head)
  not_initialized = 4,    ///< init() has not succeeded
  finished = 5,           ///< push() after finish(): reset() starts a new recording
};

[[nodiscard]] constexpr const char* dsp_status_name(DspStatus s) noexcept {
#if defined(PPGHR_NO_ERROR_STRINGS)
  (void)s;
  return "";
#else
  switch (s) {
    case DspStatus::ok: return "ok";
    case DspStatus::unsupported_rate: return "unsupported rate";
    case DspStatus::capacity_exceeded: return "resampler capacity exceeded";
    case DspStatus::bad_config: return "bad configuration";
    case DspStatus::not_initialized: return "not initialized";
    case DspStatus::finished: return "finished";
  }
  return "unknown";
#endif
}

/// What a finished window holds. A window that is not `ok` is all zeros (never NaN): hand it to a
/// network only if you want a prediction of nothing; predict() would accept it.
enum class WindowStatus : std::uint8_t {
  ok = 0,
  flat = 1,        ///< per-window z-score: the std is ~0 (see normalize.hpp), nothing to scale
  non_finite = 2,  ///< the resampled window holds NaN or infinity (it reached the sensor stream)
};

[[nodiscard]] constexpr const char* window_status_name(WindowStatus s) noexcept {
#if defined(PPGHR_NO_ERROR_STRINGS)
  (void)s;
  return "";
#else
  switch (s) {
    case WindowStatus::ok: return "ok";
    case WindowStatus::flat: return "flat";
    case WindowStatus::non_finite: return "non-finite";
  }
  return "unknown";
#endif
}

/// Window length and stride in seconds (networks.md: 8 s windows, a new one every 2 s).
inline constexpr int kWindowSeconds = 8;
inline constexpr int kStrideSeconds = 2;
/// Input rates of the networks: the ResNet / MLP family (200 samples) and PULSE (256 samples).
inline constexpr int kResNetRateHz = 25;
inline constexpr int kPulseRateHz = 32;
/// The integer sensor rates the default capacity of the exact polyphase resampler is sized for.
/// Every other rate in [kMinSensorRateHz, kMaxSensorRateHz], integer or not, is served by the
/// band-limited interpolator (resampler.hpp), whose memory does not depend on the rate.
inline constexpr int kCommonSensorRatesHz[] = {25, 32, 50, 64, 100, 125, 128};
inline constexpr int kNumCommonSensorRates = 7;
/// The sensor rates init() accepts (Hz, any double in between; common PPG front ends run at
/// 16-1024 Hz, some at non-integer rates such as 25.6 or 102.4 Hz). The upper bound sizes the
/// interpolator's history at compile time.
inline constexpr int kMinSensorRateHz = 16;
inline constexpr int kMaxSensorRateHz = 1024;

namespace detail {
constexpr int gcd(int a, int b) noexcept {
  while (b != 0) {
    const int t = a % b;
    a = b;
    b = t;
  }
  return a;
}
}  // namespace detail

}  // namespace ppghr
