// fuzz_blob_struct: structure-aware blob fuzzing. The input is an edit script applied to a VALID
// base blob (fixed-seed weights, written in memory at start-up) of one family, after which the
// harness repairs the total-size field and the CRC32 trailer, so that the edits get past the
// header and checksum (docs/blob-format.md steps 1-6) and reach the tensor table, the offsets and
// the payload's value checks. Same checks as fuzz_blob_raw (fuzz_common.hpp, Family::check).
//
// Input: byte 0 = family (mod 7, fuzz_common.hpp kFamilyNames); byte 1 = flags (bit 0: do NOT
// rewrite the size field; bit 1: do NOT rewrite the CRC; bit 2: also load the blob shifted by one
// byte, i.e. misaligned); then edits, each an op byte followed by its operands (little-endian):
//   0 set byte         u24 offset (mod size), u8 value
//   1 set u32          u24 offset, u32 value
//   2 set u64          u24 offset, u64 value
//   3 set a float      u24 payload-relative offset (x 4), u8 kind: a special value (NaN, +-Inf,
//                      1e38, -1e38, a denormal, 0, -0, FLT_MAX, 1e-38) or, kind >= 10, the next 4 bytes
//   4 resize           u24 new size (0 .. 2 x base size)
//   5 table field      u8 entry, u8 field (0 name byte, 1 ndim, 2..5 dim d, 6 offset, 7 count,
//                      8 name: another entry's), u64 value
//   6 header field     u8 field (0 version major, 1 minor, 2 bom, 3 dtype, 4 fingerprint,
//                      5 tensor count, 6 header size, 7 payload offset), u64 value
//   7 swap two entries u8 a, u8 b
// A truncated operand ends the script.
#include "fuzz_common.hpp"

#include <cfloat>
#include <limits>

namespace {

using ppghr_fuzz::Reader;

using namespace ppghr::blob;

float special(std::uint64_t kind) {
  switch (kind % 10) {
    case 0: return std::numeric_limits<float>::quiet_NaN();
    case 1: return std::numeric_limits<float>::infinity();
    case 2: return -std::numeric_limits<float>::infinity();
    case 3: return 1e38f;
    case 4: return -1e38f;
    case 5: return std::numeric_limits<float>::denorm_min() * 7.f;
    case 6: return 0.f;
    case 7: return -0.f;
    case 8: return FLT_MAX;
    default: return 1e-38f;
  }
}

void put(std::vector<unsigned char>& b, std::size_t off, std::uint64_t v, int bytes) {
  for (int k = 0; k < bytes && off + std::size_t(k) < b.size(); ++k) b[off + std::size_t(k)] = static_cast<unsigned char>(v >> (8 * k));
}

std::vector<unsigned char> mutate(const std::vector<unsigned char>& base, const std::uint8_t* data, std::size_t size,
                                  std::uint8_t& flags) {
  std::vector<unsigned char> b = base;
  flags = size > 1 ? data[1] : 0;
  Reader r{data, size, 2};
  const std::uint32_t count = read_u32(base.data() + kOffTensorCount);
  const std::uint64_t payload = read_u64(base.data() + kOffPayload);
  for (int ops = 0; ops < 64; ++ops) {
    std::uint64_t op, a, c, v;
    if (!r.get(op, 1)) break;
    switch (op % 8) {
      case 0:
        if (!r.get(a, 3) || !r.get(v, 1)) return b;
        if (!b.empty()) b[a % b.size()] = static_cast<unsigned char>(v);
        break;
      case 1:
        if (!r.get(a, 3) || !r.get(v, 4)) return b;
        if (!b.empty()) put(b, a % b.size(), v, 4);
        break;
      case 2:
        if (!r.get(a, 3) || !r.get(v, 8)) return b;
        if (!b.empty()) put(b, a % b.size(), v, 8);
        break;
      case 3: {
        if (!r.get(a, 3) || !r.get(c, 1)) return b;
        std::uint32_t u;
        if (c >= 10) {
          if (!r.get(v, 4)) return b;
          u = static_cast<std::uint32_t>(v);
        } else {
          const float f = special(c);
          std::memcpy(&u, &f, 4);
        }
        const std::uint64_t room = b.size() > payload + 8 ? (b.size() - payload - 4) / 4 : 0;
        if (room > 0) put(b, std::size_t(payload + 4 * (a % room)), u, 4);
        break;
      }
      case 4:
        if (!r.get(a, 3)) return b;
        b.resize(std::size_t(a % (2 * base.size() + 1)), 0);
        break;
      case 5: {
        if (!r.get(a, 1) || !r.get(c, 1) || !r.get(v, 8)) return b;
        const std::size_t e = kHeaderSize + std::size_t(a % (count + 1)) * kEntrySize;  // count: one past the table
        switch (c % 9) {
          case 0: put(b, e + (v >> 8) % kNameSize, v, 1); break;
          case 1: put(b, e + kEntNdim, v, 4); break;
          case 2: case 3: case 4: case 5: put(b, e + kEntDims + 4 * (c % 9 - 2), v, 4); break;
          case 6: put(b, e + kEntOffset, v, 8); break;
          case 7: put(b, e + kEntCount, v, 8); break;
          default: {
            const std::size_t o = kHeaderSize + std::size_t(v % (count ? count : 1)) * kEntrySize;
            if (o + kNameSize <= b.size() && e + kNameSize <= b.size()) std::memcpy(&b[e], &base[o], kNameSize);
          }
        }
        break;
      }
      case 6: {
        if (!r.get(c, 1) || !r.get(v, 8)) return b;
        static constexpr std::size_t off[8] = {kOffVersionMajor, kOffVersionMinor, kOffBom, kOffDtype,
                                               kOffFingerprint, kOffTensorCount, kOffHeaderSize, kOffPayload};
        static constexpr int width[8] = {2, 2, 4, 4, 8, 4, 4, 8};
        put(b, off[c % 8], v, width[c % 8]);
        break;
      }
      default: {
        if (!r.get(a, 1) || !r.get(c, 1)) return b;
        const std::size_t ea = kHeaderSize + std::size_t(a % (count ? count : 1)) * kEntrySize;
        const std::size_t eb = kHeaderSize + std::size_t(c % (count ? count : 1)) * kEntrySize;
        if (ea + kEntrySize <= b.size() && eb + kEntrySize <= b.size())
          for (std::size_t k = 0; k < kEntrySize; ++k) std::swap(b[ea + k], b[eb + k]);
      }
    }
  }
  return b;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ppghr_fuzz::init_families(true);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const int family = data[0] % ppghr_fuzz::kFamilies;
  std::uint8_t flags = 0;
  std::vector<unsigned char> b = mutate(ppghr_fuzz::family_blob(family), data, size, flags);
  if (!(flags & 1) && b.size() >= kOffTotalSize + 8) write_u64(b.data() + kOffTotalSize, b.size());
  if (!(flags & 2) && b.size() >= kHeaderSize + 4) {
    const std::uint64_t total = read_u64(b.data() + kOffTotalSize);
    if (total >= kHeaderSize + 4 && total <= b.size()) reseal(b.data(), std::size_t(total));
  }
  (void)ppghr_fuzz::check_family(family, b.data(), b.size());
  if (flags & 4) {  // the same bytes at an odd address: the reader must not assume alignment
    std::vector<unsigned char> shifted(b.size() + 1);
    if (!b.empty()) std::memcpy(shifted.data() + 1, b.data(), b.size());
    (void)ppghr_fuzz::check_family(family, shifted.data() + 1, b.size());
  }
  return 0;
}
