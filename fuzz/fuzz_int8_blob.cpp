// fuzz_int8_blob: structure-aware fuzzing of the int8 networks' loader (ppghr::Int8Net::load,
// docs/int8.md). The input is an edit script applied to a VALID dtype-2 blob: a shipped int8 model
// (models/int8/, read at start-up), after which the harness repairs the total-size field and the
// CRC32 trailer, so that the edits reach the tensor table and the value checks (zero points,
// weights in [-127, 127], multipliers >= 0, shifts in [-31, 30], the accumulator bound, finite
// scales): a value that got past them into the integer arithmetic would be undefined behaviour
// (a shift out of range, an int32 overflow), which UBSan makes fatal. The checks are the float
// targets' (fuzz_common.hpp, Family::check): a refused load leaves the network object bit-identical;
// an accepted one predicts the fixed window with finite, in-range output or a non-ok status.
//
// Input: byte 0 = family (mod 4: specnet2, pulse_student_wn_cls, resnet2, mlp2); byte 1 = flags
// (bit 0: do NOT rewrite the size field and the CRC; bit 1: load the blob one byte off a 64-byte
// boundary, i.e. misaligned); then edits, each an op byte followed by its operands (little-endian):
//   0 set byte         u24 payload-relative offset (mod the payload size), u8 value
//   1 set u32          u24 payload-relative offset (x 4), u32 value
//   2 set byte         u24 offset in the whole blob (mod size), u8 value
//   3 resize           u24 new size (0 .. 2 x base size)
// A truncated operand ends the script. After a successful load the family reloads its base blob
// (the network points into the input buffer, which the next input overwrites).
#include "fuzz_common.hpp"

#include <ppghr/int8/network.hpp>
#include <ppghr/models/registry.hpp>

#include <fstream>
#include <iterator>
#include <string>

#ifndef PPGHR_MODELS_DIR
#error "define PPGHR_MODELS_DIR (fuzz/CMakeLists.txt: the repository's models/)"
#endif

namespace {

using ppghr_fuzz::Reader;

namespace reg = ppghr::registry;
using ppghr_fuzz::Family;
using ppghr_fuzz::fail;

template <const char* Arch>
using Q = ppghr::Int8Net<reg::network_t<reg::index_of(Arch)>>;
constexpr char kSpec[] = "specnet2", kPulse[] = "pulse_student_wn_cls", kRes[] = "resnet2", kMlp[] = "mlp2";
constexpr const char* kFiles[4] = {"specnet2_bami1_int8", "pulse_student_wn_cls_scratch_bami1_int8", "resnet2_bami1_int8",
                                   "mlp2_dkd_from_resnet12_bami1_int8"};

std::vector<unsigned char> read_model(int i) {
  const std::string path = std::string(PPGHR_MODELS_DIR) + "/int8/" + kFiles[i] + ".ppgw";
  std::ifstream f(path, std::ios::binary);
  std::vector<unsigned char> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (b.empty()) fail("cannot read the shipped int8 model", path.c_str());
  return b;
}

struct Int8Families {
  Family<Q<kSpec>> f0{"specnet2 int8", read_model(0), true};
  Family<Q<kPulse>> f1{"pulse_student_wn_cls int8", read_model(1), true};
  Family<Q<kRes>> f2{"resnet2 int8", read_model(2), true};
  Family<Q<kMlp>> f3{"mlp2 int8", read_model(3), true};
  template <class Fn>
  void with(int i, Fn&& fn) {
    switch (i) {
      case 0: fn(f0); break;
      case 1: fn(f1); break;
      case 2: fn(f2); break;
      default: fn(f3); break;
    }
  }
};
Int8Families* g_families = nullptr;

std::vector<unsigned char> mutate(const std::vector<unsigned char>& base, const std::uint8_t* data, std::size_t size) {
  using namespace ppghr::blob;
  std::vector<unsigned char> b = base;
  const std::uint64_t payload = read_u64(base.data() + kOffPayload);
  const std::uint64_t body = base.size() - 4 - payload;  // the tensors' bytes
  Reader r{data, size, 2};
  for (int ops = 0; ops < 64; ++ops) {
    std::uint64_t op, a, v;
    if (!r.get(op, 1)) break;
    switch (op % 4) {
      case 0:
        if (!r.get(a, 3) || !r.get(v, 1)) return b;
        if (payload + a % body < b.size()) b[payload + a % body] = static_cast<unsigned char>(v);
        break;
      case 1:
        if (!r.get(a, 3) || !r.get(v, 4)) return b;
        for (int k = 0; k < 4; ++k) {
          const std::uint64_t at = payload + (4 * a) % body + std::uint64_t(k);
          if (at < b.size()) b[at] = static_cast<unsigned char>(v >> (8 * k));
        }
        break;
      case 2:
        if (!r.get(a, 3) || !r.get(v, 1)) return b;
        if (!b.empty()) b[a % b.size()] = static_cast<unsigned char>(v);
        break;
      default:
        if (!r.get(a, 3)) return b;
        b.resize(a % (2 * base.size() + 1));
        break;
    }
  }
  return b;
}

// The total size and the CRC of the edited blob (docs/blob-format.md), when it is long enough.
void repair(std::vector<unsigned char>& b) {
  using namespace ppghr::blob;
  if (b.size() < kHeaderSize + 4) return;
  for (int k = 0; k < 8; ++k) b[kOffTotalSize + std::size_t(k)] = static_cast<unsigned char>(std::uint64_t(b.size()) >> (8 * k));
  const std::uint32_t crc = ppghr::crc32(b.data(), b.size() - 4);
  for (int k = 0; k < 4; ++k) b[b.size() - 4 + std::size_t(k)] = static_cast<unsigned char>(crc >> (8 * k));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_families = new Int8Families();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const int family = data[0] % 4;
  const std::uint8_t flags = data[1];
  g_families->with(family, [&](auto& f) {
    std::vector<unsigned char> b = mutate(f.blob, data, size);
    if ((flags & 1) == 0) repair(b);
    // at a 64-byte boundary (or one byte off it: misaligned must be refused)
    static std::vector<unsigned char> buf;
    buf.assign(b.size() + 128, 0);
    const auto a = reinterpret_cast<std::uintptr_t>(buf.data());
    unsigned char* at = buf.data() + (64 - a % 64) % 64 + ((flags & 2) != 0 ? 1 : 0);
    if (!b.empty()) std::memcpy(at, b.data(), b.size());
    if (f.check(at, b.size())) {
      if ((flags & 2) != 0) fail("a misaligned int8 blob loaded", f.name);
      if (!f.net->load(f.base(), f.blob.size()).ok()) fail("the base blob no longer loads", f.name);
    }
  });
  return 0;
}
