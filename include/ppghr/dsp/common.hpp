// ppghr/dsp/common.hpp - what the preprocessing stages share: the window geometry
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
#include "ppghr/core/status.hpp"  // SignalStatus: the stages' status (the old DspStatus, WindowStatus)

namespace ppghr {

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
