// ppghr/int8/arith.hpp - the fixed-point arithmetic of the int8 networks (docs/int8.md "The
// fixed-point primitives"), bit for bit as tools/ppghr_tools/quant.py computes it (TFLite /
// gemmlowp): SaturatingRoundingDoublingHighMul, RoundingDivideByPOT, MultiplyByQuantizedMultiplier,
// the average pools' rounded division and the float -> int8 input conversion.
#pragma once

#include <cmath>
#include <cstdint>
#if defined(__ARM_FEATURE_SAT)
#include <arm_acle.h>  // __ssat
#endif

#include "ppghr/core/config.hpp"

namespace ppghr::q8 {

inline constexpr std::int32_t kQMin = -128, kQMax = 127;
inline constexpr int kAddLeftShift = 20;      ///< TFLite's int8 ADD
inline constexpr float kInputClamp = 1024.0f;  ///< |x / s| is clamped to this before rounding

/// gemmlowp SaturatingRoundingDoublingHighMul: (a b + nudge) / 2^31 truncated toward zero.
[[nodiscard]] constexpr std::int32_t srdhm(std::int32_t a, std::int32_t b) noexcept {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  const std::int64_t ab = std::int64_t(a) * std::int64_t(b);
  const std::int64_t nudge = ab >= 0 ? (std::int64_t(1) << 30) : (1 - (std::int64_t(1) << 30));
  return static_cast<std::int32_t>((ab + nudge) / (std::int64_t(1) << 31));
}

/// gemmlowp RoundingDivideByPOT: x / 2^e rounded to nearest, ties away from zero; e in 0..31.
[[nodiscard]] constexpr std::int32_t rdbpot(std::int32_t x, int e) noexcept {
  const std::int64_t mask = (std::int64_t(1) << e) - 1;
  const std::int64_t rem = std::int64_t(x) & mask;
  const std::int64_t thr = (mask >> 1) + (x < 0 ? 1 : 0);
  return static_cast<std::int32_t>((std::int64_t(x) >> e) + (rem > thr ? 1 : 0));
}

/// TFLite MultiplyByQuantizedMultiplier: acc * m * 2^(shift - 31), rounded; shift in [-31, 30]
/// (acc << left saturates to int32, as quant.requantize does; |acc| < 2^32 here: an int32
/// accumulator or the sum of ADD's two scaled inputs).
[[nodiscard]] constexpr std::int32_t requantize(std::int64_t acc, std::int32_t m, std::int32_t shift) noexcept {
  const int left = shift > 0 ? int(shift) : 0, right = shift < 0 ? int(-shift) : 0;
  std::int64_t x = acc * (std::int64_t(1) << left);
  if (x > INT32_MAX) x = INT32_MAX;
  if (x < INT32_MIN) x = INT32_MIN;
  return rdbpot(srdhm(static_cast<std::int32_t>(x), m), right);
}

/// requantize() of an int32 accumulator, in 32-bit arithmetic but for the one 32 x 32 -> 64-bit
/// product (a single SMULL on a Cortex-M4): the hot path of every weighted op. Same result for
/// every acc, for m in [0, 2^31) (Int8Net's load() refuses a negative multiplier) and shift in
/// [-31, 30] (a positive shift takes requantize()).
[[nodiscard]] PPGHR_ALWAYS_INLINE constexpr std::int32_t requantize32_right(std::int32_t acc, std::int32_t m,
                                                                         int e) noexcept;
[[nodiscard]] PPGHR_ALWAYS_INLINE constexpr std::int32_t requantize32(std::int32_t acc, std::int32_t m,
                                                                   std::int32_t shift) noexcept {
  if (shift > 0) return requantize(acc, m, shift);
  return requantize32_right(acc, m, int(-shift));
}

/// requantize32() for shift = -e <= 0, e in [0, 31]: the hot path (quant.py's shifts are never > 0).
[[nodiscard]] PPGHR_ALWAYS_INLINE constexpr std::int32_t requantize32_right(std::int32_t acc, std::int32_t m,
                                                                         int e) noexcept {
  // srdhm: gemmlowp's (acc m + nudge) / 2^31 truncated toward zero is floor((acc m + 2^30) / 2^31)
  // for either sign of the product (a negative one: trunc((p + 1 - 2^30) / 2^31) =
  // floor((p + 1 - 2^30 + 2^31 - 1) / 2^31)); no saturation case, as m != INT32_MIN
  const std::int32_t q = static_cast<std::int32_t>((std::int64_t(acc) * std::int64_t(m) + (std::int64_t(1) << 30)) >> 31);
  // rdbpot(q, e) without the mask: with x = q - 1 for a negative q (q > INT32_MIN: |acc m| < 2^62),
  // (x >> e) + bit e-1 of x rounds half up for q >= 0 and half away from zero (down) for q < 0:
  // a remainder r of q is r - 1 of x when r > 0, and r = 0 borrows, making bit e-1 one and x >> e
  // one less
  if (e == 0) return q;
  const std::int32_t x = q + (q >> 31);
  return (x >> e) + ((x >> (e - 1)) & 1);
}

/// requantize32(acc, m, -e) + z for a layer whose weights bound its accumulators (Int8Net's
/// load(): |bias| + 255 sum |w| <= kBoundedAccMax for every output channel, shifts in
/// [-kBoundedMaxShift, 0], |z| <= 128): one 32 x 32 + 64 -> 64-bit multiply-add and one shift.
/// requantize32_right's q = floor((acc m + 2^30) / 2^31) and its rounding floor((q + h - [q <
/// 0]) / 2^e) (h = 2^(e-1), no sign term for e = 0), + z = floor((q + h + z 2^e - [q < 0]) / 2^e):
/// h + z 2^e folded into the 64-bit nudge (q + h + z 2^e fits an int32: |q| <= |acc| < 2^30, |h +
/// z 2^e| < 2^30), and [acc < 0] for [q < 0] (they differ only where q = 0, and there (h - 1) >> e
/// = 0 as well). The x86 vector form is conv_x86.hpp's RqB.
inline constexpr std::int32_t kBoundedAccMax = (std::int32_t(1) << 30) - 1;
inline constexpr int kBoundedMaxShift = 22;
struct BoundedRq {
  std::int64_t nudge;  ///< 2^30 + (h + z 2^e) 2^31
  std::int32_t m;      ///< the multiplier
  std::int32_t sv;     ///< -1 where e > 0 (the sign term), else 0
  int e;               ///< the right shift
};
[[nodiscard]] constexpr BoundedRq bounded_rq(std::int32_t m, std::int32_t shift, std::int32_t z) noexcept {
  const int e = int(-shift);
  const std::int32_t hz = ((std::int32_t(1) << e) >> 1) + z * (std::int32_t(1) << e);
  return {(std::int64_t(1) << 30) + std::int64_t(hz) * (std::int64_t(1) << 31), m, e > 0 ? -1 : 0, e};
}
[[nodiscard]] PPGHR_ALWAYS_INLINE constexpr std::int32_t requantize_bounded(std::int32_t acc, const BoundedRq& r) noexcept {
  const auto v = static_cast<std::int32_t>((std::int64_t(acc) * r.m + r.nudge) >> 31);  // q + h + z 2^e
  return (v + ((acc >> 31) & r.sv)) >> r.e;
}

/// A requantised value v + the output zero point z (in [-128, 127]), clamped to [lo, 127], in
/// 32-bit arithmetic (clamp8 of v + z without an int64).
[[nodiscard]] PPGHR_ALWAYS_INLINE std::int8_t saturate8(std::int32_t v, std::int32_t z, std::int32_t lo) noexcept {
#if defined(__ARM_FEATURE_SAT)
  // SSAT to [-512, 511] (any v beyond saturates the result alike: |z| <= 128), + z, SSAT to int8
  v = __ssat(__ssat(v, 10) + z, 8);
  return static_cast<std::int8_t>(v < lo ? lo : v);
#else
  v = v > 512 ? 512 : (v < -512 ? -512 : v);
  v += z;
  return static_cast<std::int8_t>(v < lo ? lo : (v > kQMax ? kQMax : v));
#endif
}

/// A value with the zero point already added (requantize_bounded), clamped to [lo, 127].
[[nodiscard]] PPGHR_ALWAYS_INLINE std::int8_t saturate8z(std::int32_t v, std::int32_t lo) noexcept {
#if defined(__ARM_FEATURE_SAT)
  v = __ssat(v, 8);
  return static_cast<std::int8_t>(v < lo ? lo : v);
#else
  return static_cast<std::int8_t>(v < lo ? lo : (v > kQMax ? kQMax : v));
#endif
}

/// v clamped to [lo, 127] as an int8 value.
[[nodiscard]] constexpr std::int8_t clamp8(std::int64_t v, std::int32_t lo) noexcept {
  return static_cast<std::int8_t>(v < lo ? lo : (v > kQMax ? kQMax : v));
}

/// TFLite's average-pool division of an int8 sum by n: (sum +- n/2) / n, truncating.
[[nodiscard]] constexpr std::int32_t div_round_away(std::int32_t sum, std::int32_t n) noexcept {
  return (sum > 0 ? sum + n / 2 : sum - n / 2) / n;
}

/// float -> int8 (TFLite AffineQuantize, quant.quantize): ONE float32 subtraction, ONE float32
/// division, clamp to +-1024, round half away from zero, + zero point, clamp to [-128, 127].
[[nodiscard]] inline std::int8_t quantize(float x, float offset, float scale, std::int32_t z) noexcept {
  float v = (x - offset) / scale;  // (a subtraction and a division: nothing to contract into an FMA)
  if (v < -kInputClamp) v = -kInputClamp;
  if (v > kInputClamp) v = kInputClamp;
  return clamp8(std::int64_t(std::lround(v)) + z, kQMin);
}

}  // namespace ppghr::q8
