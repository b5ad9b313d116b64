// ppghr/core/status.hpp - status codes and the load report.
//
// The library never throws. Every operation that can fail returns a status (or a LoadReport that
// carries one), marked [[nodiscard]]. There are two status types:
//   Status        why a weight blob was refused (load, load_file, read_file, the blob writer);
//   SignalStatus  everything else: one prediction (predict(), the old InputStatus), one window of
//                 the preprocessor (the old WindowStatus) or of the monitor, and configuring or
//                 driving a preprocessing stage or the monitor (the old DspStatus).
// Each is generated from one table below (code, value, name, doc): the enumerators and
// status_name() come from the same lines, so a code cannot lack a name. Values are stable (they
// may be logged or sent over a wire); status_name() gives a short stable text, or "" for every
// code when PPGHR_NO_ERROR_STRINGS is defined (no text is linked then).
#pragma once

#include <cstddef>
#include <cstdint>

#include "ppghr/core/config.hpp"

// X(code, value, name, doc) for every blob status. The names are readable texts (unchanged since
// the first release; the CLI prints them after "cannot load").
#define PPGHR_STATUS_TABLE(X)                                                                                    \
  X(ok, 0, "ok", "loaded")                                                                                       \
  X(truncated, 1, "truncated", "blob shorter than its header or its declared total size")                        \
  X(bad_magic, 2, "bad magic", "not a ppghr blob")                                                               \
  X(unsupported_version, 3, "unsupported version", "major format version differs from the reader's")            \
  X(wrong_byte_order, 4, "wrong byte order", "byte-order mark reads big-endian")                                 \
  X(wrong_dtype, 5, "wrong dtype", "payload scalar type is not the one the network uses")                        \
  X(checksum_mismatch, 6, "checksum mismatch", "CRC32 over the blob does not match its trailer")                 \
  X(arch_mismatch, 7, "architecture mismatch", "architecture fingerprint is another network's")                  \
  X(size_mismatch, 8, "size mismatch", "tensor count, name or shape differs from the network's")                 \
  X(bad_table, 9, "bad tensor table", "header size, payload or tensor offsets out of range or misaligned")       \
  X(non_finite_weight, 10, "non-finite weight", "a weight is NaN or infinite")                                   \
  X(file_error, 11, "file error", "a file could not be opened or read (file loader only)")                       \
  X(buffer_too_small, 12, "buffer too small", "a caller-supplied output buffer is too small (writer only)")      \
  X(invalid_weight, 13, "invalid weight", "a finite weight outside its domain (a PULSE input_norm std <= 0)")    \
  X(misaligned, 14, "misaligned", "an in-place blob does not start at a multiple of 64 bytes (kAlign)")

// X(code, value, name, doc) for every per-window and configuration status. The names are the
// identifiers themselves (the monitor's CSV / JSON output carries them). Codes 0-6 describe a
// window or a prediction, 7-11 a configuration or a call sequence.
#define PPGHR_SIGNAL_STATUS_TABLE(X)                                                                             \
  X(ok, 0, "ok", "a heart rate was estimated / the call succeeded")                                              \
  X(flat, 1, "flat", "no variation in the PPG (raw samples all equal, or a per-window z-score std ~0)")           \
  X(non_finite, 2, "non_finite",                                                                                  \
    "NaN or infinity in the window, or a network's outputs overflowed to them (monitor: PPG, or another "         \
    "channel such as ACC was unusable)")                                                                          \
  X(clipped, 3, "clipped", "too many PPG samples at the ADC rails (monitor)")                                    \
  X(gap, 4, "gap", "samples missing (push_gap) in or next to the window (monitor)")                              \
  X(too_short, 5, "too_short", "the recording ended before a first full window (monitor, finish())")            \
  X(not_loaded, 6, "not_loaded", "the network has no weights: none were ever loaded successfully")              \
  X(unsupported_rate, 7, "unsupported_rate",                                                                      \
    "a sensor rate outside [kMinSensorRateHz, kMaxSensorRateHz] (or not a number), or a network rate outside "    \
    "[1, kMaxSensorRateHz]")                                                                                      \
  X(capacity_exceeded, 8, "capacity_exceeded",                                                                    \
    "this rate pair's resampling filter does not fit the template capacity (never with the default "             \
    "capacities and a rate in the range above)")                                                                  \
  X(bad_config, 9, "bad_config",                                                                                  \
    "a normalisation constant is not finite, or a std is not > 0, or a filter or estimator parameter is out "     \
    "of range (monitor: also Tracking::hmm with a regression head, a bad lag or calibration)")                   \
  X(not_initialized, 10, "not_initialized", "init() has not succeeded")                                          \
  X(finished, 11, "finished", "push() after finish(): reset() starts a new recording")

namespace ppghr {

#define PPGHR_STATUS_ENUMERATOR_(code, value, name, doc) code = value,
#define PPGHR_STATUS_CASE_(code, value, name, doc) \
  case E::code:                                    \
    return name;
#define PPGHR_STATUS_COUNT_(code, value, name, doc) +1

/// Why a blob load failed (see PPGHR_STATUS_TABLE for each code's meaning). Values are stable.
enum class Status : std::uint8_t { PPGHR_STATUS_TABLE(PPGHR_STATUS_ENUMERATOR_) };

/// One window's or one call's status (see PPGHR_SIGNAL_STATUS_TABLE). Values are stable.
/// Returned by predict() (Prediction / Estimate::status), the preprocessor (Window::status per
/// channel; init / push / finish) and the monitor (WindowResult::status; init / push / finish).
enum class SignalStatus : std::uint8_t { PPGHR_SIGNAL_STATUS_TABLE(PPGHR_STATUS_ENUMERATOR_) };

/// Number of codes; the values are 0 .. count - 1 (the unit tests hold this).
inline constexpr std::size_t kStatusCount = 0 PPGHR_STATUS_TABLE(PPGHR_STATUS_COUNT_);
inline constexpr std::size_t kSignalStatusCount = 0 PPGHR_SIGNAL_STATUS_TABLE(PPGHR_STATUS_COUNT_);

// status_name(): a value given twice in a table is a compile error there (duplicate case label).
/// Short, stable text for a blob status, e.g. "bad magic" ("" when PPGHR_NO_ERROR_STRINGS is
/// defined; "unknown" for a value outside the table).
[[nodiscard]] constexpr const char* status_name(Status s) noexcept {
#if defined(PPGHR_NO_ERROR_STRINGS)
  (void)s;
  return "";
#else
  using E = Status;
  switch (s) { PPGHR_STATUS_TABLE(PPGHR_STATUS_CASE_) }
  return "unknown";
#endif
}
/// Short, stable text for a signal status: its identifier, e.g. "non_finite" ("" when
/// PPGHR_NO_ERROR_STRINGS is defined; "unknown" for a value outside the table).
[[nodiscard]] constexpr const char* status_name(SignalStatus s) noexcept {
#if defined(PPGHR_NO_ERROR_STRINGS)
  (void)s;
  return "";
#else
  using E = SignalStatus;
  switch (s) { PPGHR_SIGNAL_STATUS_TABLE(PPGHR_STATUS_CASE_) }
  return "unknown";
#endif
}

#undef PPGHR_STATUS_ENUMERATOR_
#undef PPGHR_STATUS_CASE_
#undef PPGHR_STATUS_COUNT_

/// Where a load failed. `tensor_index` is -1 when the failure is not about one tensor;
/// `expected` / `found` hold the mismatching values (a magic, a version, a CRC, a fingerprint,
/// a count or a dimension, depending on the code); `offset` is the byte offset concerned.
struct LoadReport {
  Status status = Status::ok;
  std::int32_t tensor_index = -1;
  char tensor_name[48] = {};
  std::uint64_t expected = 0;
  std::uint64_t found = 0;
  std::uint64_t offset = 0;

  [[nodiscard]] constexpr bool ok() const noexcept { return status == Status::ok; }
  constexpr explicit operator bool() const noexcept { return ok(); }
};

// The old names of SignalStatus, kept for source compatibility. They were four enums with values
// of their own until issue 14: InputStatus::not_loaded was 1 (now 6) and DspStatus's codes other
// than ok were 1-5 (now 7-11); see docs/status-codes.md.
/// Status of one prediction (predict(), SpectralEstimator::features()): ok, not_loaded, non_finite.
using InputStatus = SignalStatus;
/// Status of one preprocessed window channel: ok, flat, non_finite.
using WindowStatus = SignalStatus;
/// Result of configuring or driving a preprocessing stage, an estimator or the monitor: ok,
/// unsupported_rate, capacity_exceeded, bad_config, not_initialized, finished.
using DspStatus = SignalStatus;

/// The old per-type name functions: all status_name(SignalStatus).
[[nodiscard]] constexpr const char* input_status_name(SignalStatus s) noexcept { return status_name(s); }
[[nodiscard]] constexpr const char* window_status_name(SignalStatus s) noexcept { return status_name(s); }
[[nodiscard]] constexpr const char* dsp_status_name(SignalStatus s) noexcept { return status_name(s); }
[[nodiscard]] constexpr const char* signal_status_name(SignalStatus s) noexcept { return status_name(s); }

}  // namespace ppghr
