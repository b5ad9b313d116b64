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
  /// The blob's size: header and table, padding, payload, CRC.
  [[nodiscard]] std::size_t total() const noexcept {
    return static_cast<std::size_t>(align_up(kHeaderSize + std::uint64_t(count) * kEntrySize) + payload_bytes + 4);
  }
};

// Table entry `index` (name, dims, offset, count) and its data, value k = value(k) as float32.
template <class Value>
void write_tensor(unsigned char* out, std::uint32_t index, const TensorSpec& spec, std::uint64_t offset,
                  std::size_t values, const Value& value) noexcept {
  unsigned char* e = out + kHeaderSize + std::size_t(index) * kEntrySize;
  std::memcpy(e, spec.name.text, spec.name.size);
  write_u32(e + kEntNdim, spec.ndim);
  for (std::uint32_t d = 0; d < spec.ndim; ++d) write_u32(e + kEntDims + 4 * d, spec.dims[d]);
  write_u64(e + kEntOffset, offset);
  write_u64(e + kEntCount, spec.count());
  for (std::size_t k = 0; k < values; ++k) {
    const float f = static_cast<float>(value(k));
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    write_u32(out + offset + 4 * k, u);
  }
}

template <class Fill>
struct Writer {
  unsigned char* out;
  std::uint64_t next_offset;
  std::uint32_t index = 0;
  Fill& fill;
  template <class Setter>
  void operator()(const TensorSpec& spec, Setter&&) noexcept {
    write_tensor(out, index, spec, next_offset, static_cast<std::size_t>(spec.count()),
                 [&](std::size_t k) { return fill(spec, k, index); });
    next_offset += align_up(spec.count() * 4);
    ++index;
  }
};

// The header of a blob of `count` tensors and `total` bytes (zeroed beforehand); returns the
// payload offset.
inline std::uint64_t write_header(unsigned char* out, std::uint32_t count, std::size_t total, std::uint16_t minor,
                                  std::uint32_t dtype, std::uint64_t fingerprint) noexcept {
  const std::uint64_t payload = align_up(kHeaderSize + std::uint64_t(count) * kEntrySize);
  std::memcpy(out, kMagic, 4);
  write_u16(out + kOffVersionMajor, kVersionMajor);
  write_u16(out + kOffVersionMinor, minor);
  write_u32(out + kOffBom, kByteOrderMark);
  write_u32(out + kOffDtype, dtype);
  write_u64(out + kOffFingerprint, fingerprint);
  write_u32(out + kOffTensorCount, count);
  write_u32(out + kOffHeaderSize, static_cast<std::uint32_t>(kHeaderSize));
  write_u64(out + kOffTotalSize, total);
  write_u64(out + kOffPayload, payload);
  return payload;
}

// The whole blob of `net` into out[0, capacity): header, then body(payload offset) visits the
// tensors and returns false to refuse (the buffer is zeroed again), then the CRC.
template <class Net, class Body>
Status write_whole(Net& net, unsigned char* out, std::size_t capacity, std::size_t* written, std::uint16_t minor,
                   std::uint32_t dtype, std::uint64_t fingerprint, Body&& body) noexcept {
  detail::Sizer s;
  net.visit_tensors(s);
  const std::size_t total = s.total();
  if (written) *written = 0;
  if (out == nullptr || capacity < total) return Status::buffer_too_small;
  std::memset(out, 0, total);
  if (!body(write_header(out, s.count, total, minor, dtype, fingerprint))) {
    std::memset(out, 0, total);
    return Status::size_mismatch;
  }
  write_u32(out + total - 4, crc32(out, total - 4));
  if (written) *written = total;
  return Status::ok;
}
}  // namespace detail

/// Exact size in bytes of the blob for `net`'s architecture.
template <class Net>
[[nodiscard]] std::size_t blob_size(Net& net) noexcept {
  detail::Sizer s;
  net.visit_tensors(s);
  return s.total();
}

/// Writes a blob with `net`'s tensor table into out[0, capacity). `fill(spec, k, tensor_index)`
/// returns element k of the tensor (PyTorch order). `fingerprint` defaults to the network's.
/// Returns buffer_too_small (writing nothing) when capacity < blob_size(net).
template <class Net, class Fill>
[[nodiscard]] Status write_blob(Net& net, Fill&& fill, unsigned char* out, std::size_t capacity,
                                std::size_t* written, std::uint64_t fingerprint = Net::fingerprint) noexcept {
  return detail::write_whole(net, out, capacity, written, kVersionMinor, kDtypeFloat32, fingerprint,
                             [&](std::uint64_t payload) {
                               detail::Writer<Fill> w{out, payload, 0, fill};
                               net.visit_tensors(w);
                               return true;
                             });
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
    if (param.size() != spec.count()) sizes_agree = false;
    const std::size_t n = param.size() < spec.count() ? param.size() : static_cast<std::size_t>(spec.count());
    write_tensor(out, index, spec, next_offset, n, [&](std::size_t k) { return param[k]; });
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
  return detail::write_whole(net, out, capacity, written, kVersionMinorPacked, kDtypeFloat32Packed, Net::fingerprint,
                             [&](std::uint64_t payload) {
                               detail::PackedWriter w{out, payload};
                               net.visit_tensors(w);
                               // Every layer's Param holds exactly its tensor's element count (a
                               // static fact of the layers, checked so a new layer cannot break it).
                               return w.sizes_agree;
                             });
}

/// Recomputes the CRC trailer after a blob was edited in place (tests use it to forge blobs).
inline void reseal(unsigned char* blob_bytes, std::size_t total) noexcept {
  write_u32(blob_bytes + total - 4, crc32(blob_bytes, total - 4));
}

}  // namespace blob
}  // namespace ppghr
