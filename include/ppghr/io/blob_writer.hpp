// ppghr/io/blob_writer.hpp - writing a blob for a network from C++ (the Python exporter is the
// usual writer; this one serves tests and users who make weights in C++). Writes into a caller
// buffer: no allocation. Field by field, little-endian, per docs/blob-format.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ppghr/core/crc32.hpp"
#include "ppghr/core/status.hpp"
#include "ppghr/core/tensor.hpp"
#include "ppghr/io/blob.hpp"

namespace ppghr {
namespace blob {

inline void write_u16(unsigned char* p, std::uint16_t v) noexcept {
  p[0] = static_cast<unsigned char>(v);
  p[1] = static_cast<unsigned char>(v >> 8);
}
inline void write_u32(unsigned char* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
inline void write_u64(unsigned char* p, std::uint64_t v) noexcept {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
[[nodiscard]] constexpr std::uint64_t align_up(std::uint64_t v) noexcept {
  return (v + kDataAlign - 1) / kDataAlign * kDataAlign;
}

namespace detail {
struct Sizer {
  std::uint32_t count = 0;
  std::uint64_t payload_bytes = 0;
  template <class Setter>
  void operator()(const TensorSpec& spec, Setter&&) noexcept {
    ++count;
    payload_bytes += align_up(spec.count() * 4);
  }
};

template <class Fill>
struct Writer {
  unsigned char* out;
  std::uint64_t next_offset;
  std::uint32_t index = 0;
  Fill& fill;
  template <class Setter>
  void operator()(const TensorSpec& spec, Setter&&) noexcept {
    unsigned char* e = out + kHeaderSize + std::size_t(index) * kEntrySize;
    std::memcpy(e, spec.name.text, spec.name.size);
    write_u32(e + kEntNdim, spec.ndim);
    for (std::uint32_t d = 0; d < spec.ndim; ++d) write_u32(e + kEntDims + 4 * d, spec.dims[d]);
    write_u64(e + kEntOffset, next_offset);
    write_u64(e + kEntCount, spec.count());
    for (std::uint64_t k = 0; k < spec.count(); ++k) {
      const float f = static_cast<float>(fill(spec, static_cast<std::size_t>(k), index));
      std::uint32_t u;
      std::memcpy(&u, &f, 4);
      write_u32(out + next_offset + 4 * k, u);
    }
    next_offset += align_up(spec.count() * 4);
    ++index;
  }
};
}  // namespace detail

/// Exact size in bytes of the blob for `net`'s architecture.
template <class Net>
[[nodiscard]] std::size_t blob_size(Net& net) noexcept {
  detail::Sizer s;
  net.visit_tensors(s);
  return static_cast<std::size_t>(align_up(kHeaderSize + std::uint64_t(s.count) * kEntrySize) + s.payload_bytes + 4);
}

/// Writes a blob with `net`'s tensor table into out[0, capacity). `fill(spec, k, tensor_index)`
/// returns element k of the tensor (PyTorch order). `fingerprint` defaults to the network's.
/// Returns buffer_too_small (writing nothing) when capacity < blob_size(net).
template <class Net, class Fill>
[[nodiscard]] Status write_blob(Net& net, Fill&& fill, unsigned char* out, std::size_t capacity,
                                std::size_t* written, std::uint64_t fingerprint = Net::fingerprint) noexcept {
  const std::size_t total = blob_size(net);
  if (written) *written = 0;
  if (out == nullptr || capacity < total) return Status::buffer_too_small;
  std::memset(out, 0, total);
  detail::Sizer s;
  net.visit_tensors(s);
  const std::uint64_t payload = align_up(kHeaderSize + std::uint64_t(s.count) * kEntrySize);
  std::memcpy(out, kMagic, 4);
  write_u16(out + kOffVersionMajor, kVersionMajor);
  write_u16(out + kOffVersionMinor, kVersionMinor);
  write_u32(out + kOffBom, kByteOrderMark);
  write_u32(out + kOffDtype, kDtypeFloat32);
  write_u64(out + kOffFingerprint, fingerprint);
  write_u32(out + kOffTensorCount, s.count);
  write_u32(out + kOffHeaderSize, static_cast<std::uint32_t>(kHeaderSize));
  write_u64(out + kOffTotalSize, total);
  write_u64(out + kOffPayload, payload);
  detail::Writer<Fill> w{out, payload, 0, fill};
  net.visit_tensors(w);
  write_u32(out + total - 4, crc32(out, total - 4));
  if (written) *written = total;
  return Status::ok;
}

namespace detail {
// write_packed_blob's visitor: each tensor's data is the layer's own Param, as it lies in memory
// (the kernels' order); the table keeps the PyTorch names and shapes.
struct PackedWriter {
  unsigned char* out;
  std::uint64_t next_offset;
  std::uint32_t index = 0;
  bool sizes_agree = true;
  template <class Setter, class P>
  void operator()(const TensorSpec& spec, Setter&&, const P& param) noexcept {
    unsigned char* e = out + kHeaderSize + std::size_t(index) * kEntrySize;
    std::memcpy(e, spec.name.text, spec.name.size);
    write_u32(e + kEntNdim, spec.ndim);
    for (std::uint32_t d = 0; d < spec.ndim; ++d) write_u32(e + kEntDims + 4 * d, spec.dims[d]);
    write_u64(e + kEntOffset, next_offset);
    write_u64(e + kEntCount, spec.count());
    if (param.size() != spec.count()) sizes_agree = false;
    const std::size_t n = param.size() < spec.count() ? param.size() : static_cast<std::size_t>(spec.count());
    for (std::size_t k = 0; k < n; ++k) {
      const float f = static_cast<float>(param[k]);
      std::uint32_t u;
      std::memcpy(&u, &f, 4);
      write_u32(out + next_offset + 4 * k, u);
    }
    next_offset += align_up(spec.count() * 4);
    ++index;
  }
};
}  // namespace detail

/// Writes `net`'s weights as a dtype-3 blob (docs/blob-format.md, "float32 in the kernels' order"):
/// the same header, names, shapes and placement as its dtype-1 blob, each tensor's data the layer's
/// own stored order, which is what an in-place network (core/storage.hpp) reads where it lies.
/// Same size as the dtype-1 blob. `net` is a loaded network (owning or in place). Returns
/// buffer_too_small (writing nothing) when capacity < blob_size(net).
template <class Net>
[[nodiscard]] Status write_packed_blob(Net& net, unsigned char* out, std::size_t capacity,
                                       std::size_t* written) noexcept {
  const std::size_t total = blob_size(net);
  if (written) *written = 0;
  if (out == nullptr || capacity < total) return Status::buffer_too_small;
  std::memset(out, 0, total);
  detail::Sizer s;
  net.visit_tensors(s);
  const std::uint64_t payload = align_up(kHeaderSize + std::uint64_t(s.count) * kEntrySize);
  std::memcpy(out, kMagic, 4);
  write_u16(out + kOffVersionMajor, kVersionMajor);
  write_u16(out + kOffVersionMinor, kVersionMinorPacked);
  write_u32(out + kOffBom, kByteOrderMark);
  write_u32(out + kOffDtype, kDtypeFloat32Packed);
  write_u64(out + kOffFingerprint, Net::fingerprint);
  write_u32(out + kOffTensorCount, s.count);
  write_u32(out + kOffHeaderSize, static_cast<std::uint32_t>(kHeaderSize));
  write_u64(out + kOffTotalSize, total);
  write_u64(out + kOffPayload, payload);
  detail::PackedWriter w{out, payload};
  net.visit_tensors(w);
  // Every layer's Param holds exactly its tensor's element count (a static fact of the layers;
  // checked here so that a new layer that breaks it cannot write a wrong blob).
  if (!w.sizes_agree) {
    std::memset(out, 0, total);
    return Status::size_mismatch;
  }
  write_u32(out + total - 4, crc32(out, total - 4));
  if (written) *written = total;
  return Status::ok;
}

/// Recomputes the CRC trailer after a blob was edited in place (tests use it to forge blobs).
inline void reseal(unsigned char* blob_bytes, std::size_t total) noexcept {
  write_u32(blob_bytes + total - 4, crc32(blob_bytes, total - 4));
}

}  // namespace blob
}  // namespace ppghr
