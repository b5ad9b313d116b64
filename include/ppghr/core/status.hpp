// ppghr/core/status.hpp - status codes and the load report.
//
// The library never throws. Every operation that can fail returns a Status (or a LoadReport that
// carries one), marked [[nodiscard]].
#pragma once

#include <cstddef>
#include <cstdint>

#include "ppghr/core/config.hpp"

namespace ppghr {

/// Every failure has its own code. Values are stable (they may be logged or sent over a wire).
enum class Status : std::uint8_t {
  ok = 0,
  truncated = 1,            ///< blob shorter than its header or its declared total size
  bad_magic = 2,            ///< not a ppghr blob
  unsupported_version = 3,  ///< major format version differs from the reader's
  wrong_byte_order = 4,     ///< byte-order mark reads big-endian
  wrong_dtype = 5,          ///< payload scalar type is not the one the network uses
  checksum_mismatch = 6,    ///< CRC32 over the blob does not match its trailer
  arch_mismatch = 7,        ///< architecture fingerprint is another network's
  size_mismatch = 8,        ///< tensor count, name or shape differs from the network's
  bad_table = 9,            ///< header size, payload or tensor offsets out of range or misaligned
  non_finite_weight = 10,   ///< a weight is NaN or infinite
  file_error = 11,          ///< a file could not be opened or read (file loader only)
  buffer_too_small = 12,    ///< a caller-supplied output buffer is too small (writer only)
  invalid_weight = 13,      ///< a finite weight outside its domain (a PULSE input_norm std <= 0)
};

/// Short, stable text for a status ("" when PPGHR_NO_ERROR_STRINGS is defined).
[[nodiscard]] constexpr const char* status_name(Status s) noexcept {
#if defined(PPGHR_NO_ERROR_STRINGS)
  (void)s;
  return "";
#else
  switch (s) {
    case Status::ok: return "ok";
    case Status::truncated: return "truncated";
    case Status::bad_magic: return "bad magic";
    case Status::unsupported_version: return "unsupported version";
    case Status::wrong_byte_order: return "wrong byte order";
    case Status::wrong_dtype: return "wrong dtype";
    case Status::checksum_mismatch: return "checksum mismatch";
    case Status::arch_mismatch: return "architecture mismatch";
    case Status::size_mismatch: return "size mismatch";
    case Status::bad_table: return "bad tensor table";
    case Status::non_finite_weight: return "non-finite weight";
    case Status::file_error: return "file error";
    case Status::buffer_too_small: return "buffer too small";
    case Status::invalid_weight: return "invalid weight";
  }
  return "unknown";
#endif
}

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

/// Status of one prediction. A prediction whose status is not `ok` carries no heart rate.
enum class InputStatus : std::uint8_t {
  ok = 0,
  not_loaded = 1,   ///< no weights were ever loaded successfully
  non_finite = 2,   ///< the window holds NaN or infinity, or the outputs overflowed to them
};

[[nodiscard]] constexpr const char* input_status_name(InputStatus s) noexcept {
#if defined(PPGHR_NO_ERROR_STRINGS)
  (void)s;
  return "";
#else
  switch (s) {
    case InputStatus::ok: return "ok";
    case InputStatus::not_loaded: return "not loaded";
    case InputStatus::non_finite: return "non-finite input";
  }
  return "unknown";
#endif
}

}  // namespace ppghr
