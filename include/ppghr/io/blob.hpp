// ppghr/io/blob.hpp - reading the weight blob (docs/blob-format.md) into a network.
//
// load_blob(net, data, size) validates the whole blob against the network (header, checksum,
// fingerprint, every tensor's name, shape, offset and values, and each value's domain where the
// network declares one with check_tensor) before it copies anything, so a failed load leaves the
// network's previous weights untouched. No allocation, no exceptions. Networks call this from
// their load() member.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "ppghr/core/config.hpp"
#include "ppghr/core/crc32.hpp"
#include "ppghr/core/status.hpp"
#include "ppghr/core/tensor.hpp"

namespace ppghr {

namespace detail {
// Whether Net declares `static long check_tensor(std::uint32_t index, const TensorSource& s)`:
// the first element of blob tensor `index` outside the weight's domain, or -1 (models/network.hpp).
template <class Net, class = void>
struct has_check_tensor : std::false_type {};
template <class Net>
struct has_check_tensor<
    Net, std::void_t<decltype(Net::check_tensor(std::uint32_t{}, std::declval<const TensorSource&>()))>>
    : std::true_type {};
}  // namespace detail

namespace blob {
inline constexpr unsigned char kMagic[4] = {'P', 'P', 'G', 'W'};
inline constexpr std::uint16_t kVersionMajor = 1;
inline constexpr std::uint16_t kVersionMinor = 0;
/// The minor version of dtype-3 blobs (format 1.1 added dtype 3; dtype-1 blobs stay 1.0).
inline constexpr std::uint16_t kVersionMinorPacked = 1;
inline constexpr std::uint32_t kByteOrderMark = 0x01020304u;
inline constexpr std::uint32_t kDtypeFloat32 = 1;
/// float32 in the kernels' own order (each tensor as the layer stores it), for in-place weights.
inline constexpr std::uint32_t kDtypeFloat32Packed = 3;
/// An int8 network, compact (format 1.2, docs/blob-format.md): no tensor table, the tensors at
/// 4-byte-aligned offsets that follow from the architecture. (dtype 2, the int8 network with a
/// table, is ppghr/int8/network.hpp's kDtypeInt8.)
inline constexpr std::uint32_t kDtypeInt8Compact = 4;
inline constexpr std::uint16_t kVersionMinorCompact = 2;
inline constexpr std::size_t kCompactAlign = 4;
inline constexpr std::size_t kHeaderSize = 64;
inline constexpr std::size_t kEntrySize = 96;
inline constexpr std::size_t kNameSize = 48;
inline constexpr std::size_t kDataAlign = 64;

// Header field offsets.
inline constexpr std::size_t kOffVersionMajor = 4, kOffVersionMinor = 6, kOffBom = 8, kOffDtype = 12,
                             kOffFingerprint = 16, kOffTensorCount = 24, kOffHeaderSize = 28,
                             kOffTotalSize = 32, kOffPayload = 40;
// Tensor entry field offsets.
inline constexpr std::size_t kEntNdim = 48, kEntDims = 52, kEntOffset = 72, kEntCount = 80;

[[nodiscard]] inline std::uint16_t read_u16(const unsigned char* p) noexcept {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
[[nodiscard]] inline std::uint32_t read_u32(const unsigned char* p) noexcept {
  return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
         (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}
[[nodiscard]] inline std::uint64_t read_u64(const unsigned char* p) noexcept {
  return static_cast<std::uint64_t>(read_u32(p)) | (static_cast<std::uint64_t>(read_u32(p + 4)) << 32);
}

/// The validated header of a blob (after check_header).
struct Header {
  std::uint16_t version_major = 0, version_minor = 0;
  std::uint64_t fingerprint = 0;
  std::uint32_t tensor_count = 0;
  std::uint64_t total_size = 0;
  std::uint64_t payload_offset = 0;
};

namespace detail {
inline LoadReport fail(Status s, std::uint64_t expected = 0, std::uint64_t found = 0, std::uint64_t offset = 0) noexcept {
  LoadReport r;
  r.status = s;
  r.expected = expected;
  r.found = found;
  r.offset = offset;
  return r;
}
inline void set_name(LoadReport& r, const char* name, std::size_t max_len) noexcept {
  std::size_t i = 0;
  for (; i < max_len && i + 1 < sizeof r.tensor_name && name[i] != '\0'; ++i) r.tensor_name[i] = name[i];
  r.tensor_name[i] = '\0';
}
}  // namespace detail

/// Steps 1-7 of docs/blob-format.md: size, magic, byte order, version, dtype, CRC, fingerprint.
/// expected_dtype: kDtypeFloat32 for a network that owns its weights, kDtypeFloat32Packed for
/// one that reads them in place; an int8 network's 2 or kDtypeInt8Compact (no table: the payload
/// offset must be 64).
[[nodiscard]] inline LoadReport check_header(const unsigned char* data, std::size_t size,
                                             std::uint64_t expected_fingerprint, Header& h,
                                             std::uint32_t expected_dtype = kDtypeFloat32) noexcept {
  using detail::fail;
  if (data == nullptr || size < kHeaderSize + 4) return fail(Status::truncated, kHeaderSize + 4, size);
  if (std::memcmp(data, kMagic, 4) != 0) return fail(Status::bad_magic, read_u32(kMagic), read_u32(data), 0);
  const std::uint32_t bom = read_u32(data + kOffBom);
  if (bom != kByteOrderMark) {
    const bool swapped = bom == 0x04030201u;
    return fail(swapped ? Status::wrong_byte_order : Status::bad_magic, kByteOrderMark, bom, kOffBom);
  }
  h.version_major = read_u16(data + kOffVersionMajor);
  h.version_minor = read_u16(data + kOffVersionMinor);
  if (h.version_major != kVersionMajor)
    return fail(Status::unsupported_version, kVersionMajor, h.version_major, kOffVersionMajor);
  const std::uint32_t dtype = read_u32(data + kOffDtype);
  if (dtype != expected_dtype) return fail(Status::wrong_dtype, expected_dtype, dtype, kOffDtype);
  h.total_size = read_u64(data + kOffTotalSize);
  if (h.total_size < kHeaderSize + 4) return fail(Status::bad_table, kHeaderSize + 4, h.total_size, kOffTotalSize);
  if (h.total_size > size) return fail(Status::truncated, h.total_size, size);
  const std::size_t body = static_cast<std::size_t>(h.total_size) - 4;
  const std::uint32_t stored_crc = read_u32(data + body);
  const std::uint32_t crc = crc32(data, body);
  if (crc != stored_crc) return fail(Status::checksum_mismatch, stored_crc, crc, body);
  h.fingerprint = read_u64(data + kOffFingerprint);
  if (h.fingerprint != expected_fingerprint)
    return fail(Status::arch_mismatch, expected_fingerprint, h.fingerprint, kOffFingerprint);
  h.tensor_count = read_u32(data + kOffTensorCount);
  const std::uint32_t header_size = read_u32(data + kOffHeaderSize);
  if (header_size != kHeaderSize) return fail(Status::bad_table, kHeaderSize, header_size, kOffHeaderSize);
  h.payload_offset = read_u64(data + kOffPayload);
  // a compact blob (dtype 4) has no table: its payload starts right after the header
  const bool tabled = expected_dtype != kDtypeInt8Compact;
  const std::uint64_t table_end = kHeaderSize + (tabled ? std::uint64_t(h.tensor_count) * kEntrySize : 0);
  if (h.payload_offset % kDataAlign != 0 || h.payload_offset < table_end || h.payload_offset > body ||
      (!tabled && h.payload_offset != kHeaderSize))
    return fail(Status::bad_table, table_end, h.payload_offset, kOffPayload);
  return LoadReport{};
}

namespace detail {

// Pass 1 of a load: checks each tensor the network expects against the table, in order: name,
// dims, count, offsets, every value finite, then (Net::check_tensor, where Net has one) every value
// inside its domain. A domain failure is kept apart in `domain` and reported only when the whole
// walk and the tensor count found nothing else: steps 8-9 of docs/blob-format.md come before step
// 10 whichever tensors they concern.
template <class Net>
struct Validator {
  const unsigned char* data;
  const Header& h;
  std::uint32_t index = 0;
  LoadReport report{};  // the first failure of steps 8-9
  LoadReport domain{};  // the first failure of step 10

  template <class Setter>
  void operator()(const TensorSpec& spec, Setter&&) noexcept {
    if (!report.ok()) return;
    const std::uint32_t i = index++;
    if (i >= h.tensor_count) {
      report = fail(Status::size_mismatch, i + 1, h.tensor_count, kOffTensorCount);
      report.tensor_index = static_cast<std::int32_t>(i);
      set_name(report, spec.name.text, kNameSize);
      return;
    }
    const std::size_t eoff = kHeaderSize + std::size_t(i) * kEntrySize;
    const unsigned char* e = data + eoff;
    auto at = [&](LoadReport& r, Status s, std::uint64_t expected, std::uint64_t found, std::uint64_t off) {
      r = fail(s, expected, found, off);
      r.tensor_index = static_cast<std::int32_t>(i);
      set_name(r, spec.name.text, kNameSize);
    };
    const char* found_name = reinterpret_cast<const char*>(e);
    if (!spec.name.equals(found_name, kNameSize)) {
      // The name is reported as the one the network expected; expected/found hold the entry offset.
      at(report, Status::size_mismatch, 0, 0, eoff);
      return;
    }
    const std::uint32_t ndim = read_u32(e + kEntNdim);
    if (ndim != spec.ndim) return at(report, Status::size_mismatch, spec.ndim, ndim, eoff + kEntNdim);
    for (std::uint32_t d = 0; d < ndim; ++d) {
      const std::uint32_t dim = read_u32(e + kEntDims + 4 * d);
      if (dim != spec.dims[d]) return at(report, Status::size_mismatch, spec.dims[d], dim, eoff + kEntDims + 4 * d);
    }
    const std::uint64_t count = read_u64(e + kEntCount);
    if (count != spec.count()) return at(report, Status::size_mismatch, spec.count(), count, eoff + kEntCount);
    const std::uint64_t off = read_u64(e + kEntOffset);
    const std::uint64_t body = h.total_size - 4;
    if (off % kDataAlign != 0 || off < h.payload_offset || off > body || count * 4 > body - off)
      return at(report, Status::bad_table, h.payload_offset, off, eoff + kEntOffset);
    const TensorSource src(data + off, static_cast<std::size_t>(count));
    for (std::size_t k = 0; k < src.size(); ++k) {
      if (!std::isfinite(src[k])) return at(report, Status::non_finite_weight, k, k, off + 4 * k);
    }
    if constexpr (ppghr::detail::has_check_tensor<Net>::value) {
      if (!domain.ok()) return;
      const long bad = Net::check_tensor(i, src);
      // expected = found = the element index (as for non_finite_weight); offset: that element.
      if (bad >= 0) {
        const auto k = static_cast<std::uint64_t>(bad);
        at(domain, Status::invalid_weight, k, k, off + 4 * k);
      }
    }
  }
};

// Pass 2: copies every tensor in (only after pass 1 found nothing wrong).
struct Committer {
  const unsigned char* data;
  std::uint32_t index = 0;
  template <class Setter>
  void operator()(const TensorSpec& spec, Setter&& set) noexcept {
    const unsigned char* e = data + kHeaderSize + std::size_t(index++) * kEntrySize;
    set(TensorSource(data + read_u64(e + kEntOffset), static_cast<std::size_t>(spec.count())));
  }
};

}  // namespace detail
}  // namespace blob

namespace blob::detail {
template <class Net, class = void>
struct reads_in_place : std::false_type {};
template <class Net>
struct reads_in_place<Net, std::void_t<decltype(Net::weights_in_place)>>
    : std::integral_constant<bool, Net::weights_in_place> {};
}  // namespace blob::detail

/// Loads a blob into `net` (any network with `fingerprint` and visit_tensors()). All-or-nothing.
/// A network with in-place weights (Net::weights_in_place) takes a dtype-3 blob starting at a
/// multiple of 64 bytes (else Status::misaligned; expected 0, found the address modulo 64) and
/// points at it: the blob must outlive its use.
template <class Net>
[[nodiscard]] LoadReport load_blob(Net& net, const void* data, std::size_t size) noexcept {
  const auto* bytes = static_cast<const unsigned char*>(data);
  constexpr bool in_place = blob::detail::reads_in_place<Net>::value;
  if constexpr (in_place) {
    const auto misalign = reinterpret_cast<std::uintptr_t>(data) % kAlign;
    if (data != nullptr && misalign != 0) return blob::detail::fail(Status::misaligned, 0, misalign, 0);
  }
  blob::Header h;
  LoadReport r = blob::check_header(bytes, size, Net::fingerprint, h,
                                    in_place ? blob::kDtypeFloat32Packed : blob::kDtypeFloat32);
  if (!r.ok()) return r;
  blob::detail::Validator<Net> v{bytes, h};
  net.visit_tensors(v);
  if (!v.report.ok()) return v.report;
  if (v.index != h.tensor_count) return blob::detail::fail(Status::size_mismatch, v.index, h.tensor_count, blob::kOffTensorCount);
  if (!v.domain.ok()) return v.domain;
  blob::detail::Committer c{bytes};
  net.visit_tensors(c);
  return LoadReport{};
}

}  // namespace ppghr
