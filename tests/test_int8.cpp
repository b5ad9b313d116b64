// int8 networks (include/ppghr/int8/network.hpp) against quant.py, the bit-exact Python reference
// (tools/ppghr_tools/int8_golden.py writes, per architecture, an int8 blob and windows with
// quant.py's int8 input, int32 accumulators and float32 logits; the ctest fixture int8_golden
// generates them into the build tree). Every comparison is EXACT: max abs difference 0, the
// accumulators as integers and the logits bit for bit. Also: the fixed-point primitives against
// brute-force definitions, the blob errors of an int8 load (each its own Status, the previous
// weights kept), no allocation in predict(). The compact twin of every blob (dtype 4: no table, no
// documentation-only scales; quant.to_compact / QNet.to_compact_blob) loads to the same integers.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "ppghr/core/crc32.hpp"
#include "ppghr/int8/network.hpp"
#include "ppghr/models/registry.hpp"
#include "test_util.hpp"

using namespace ppghr;
using ppghr_test::AlignedBytes;

namespace {

std::string golden_dir() { return PPGHR_INT8_GOLDEN_DIR; }

std::vector<unsigned char> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), "missing " << path << " (the ctest fixture int8_golden writes it)");
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

AlignedBytes aligned_copy(const std::vector<unsigned char>& v, std::size_t shift = 0) {
  AlignedBytes b(v.size(), shift);
  std::memcpy(b.data(), v.data(), v.size());
  return b;
}

struct Io {
  std::uint32_t n = 0, size = 0, outputs = 0;
  std::vector<float> x, logits;
  std::vector<std::int8_t> xq;
  std::vector<std::int32_t> acc;
};

Io read_io(const std::string& path) {
  const auto b = read_all(path);
  Io io;
  REQUIRE(b.size() >= 20);
  REQUIRE(std::memcmp(b.data(), "PQ8G", 4) == 0);
  std::uint32_t h[4];
  std::memcpy(h, b.data() + 4, 16);
  REQUIRE(h[0] == 1u);
  io.n = h[1], io.size = h[2], io.outputs = h[3];
  const std::size_t nx = std::size_t(io.n) * io.size, ny = std::size_t(io.n) * io.outputs;
  REQUIRE(b.size() == 20 + nx * 4 + nx + ny * 4 + ny * 4);
  io.x.resize(nx), io.xq.resize(nx), io.acc.resize(ny), io.logits.resize(ny);
  const unsigned char* p = b.data() + 20;
  std::memcpy(io.x.data(), p, nx * 4), p += nx * 4;
  std::memcpy(io.xq.data(), p, nx), p += nx;
  std::memcpy(io.acc.data(), p, ny * 4), p += ny * 4;
  std::memcpy(io.logits.data(), p, ny * 4);
  return io;
}

template <class Net>
using Q = Int8Net<Net>;
template <std::size_t I>
using NetOf = registry::network_t<I>;

/// The compact twin (dtype 4) of a golden case: its size is compact_blob_bytes, and its int8 input,
/// accumulators and logits equal quant.py's and the dtype-2 network's `ref` exactly.
template <class Net>
void check_compact(const std::string& compact_path, const Io& io, Q<Net>& ref) {
  INFO("compact blob " << compact_path);
  auto blob = aligned_copy(read_all(compact_path));
  CHECK(blob.size() == Q<Net>::compact_blob_bytes);
  CHECK(blob::read_u32(blob.data() + blob::kOffDtype) == blob::kDtypeInt8Compact);
  CHECK(blob::read_u32(blob.data() + blob::kOffTensorCount) == std::uint32_t(Q<Net>::compact_tensor_count));
  auto net = std::make_unique<Q<Net>>();
  const LoadReport r = net->load(blob.data(), blob.size());
  REQUIRE_MESSAGE(r.ok(), status_name(r.status));
  std::vector<std::int8_t> xq(io.size);
  long input_diff = 0, acc_diff = 0, logit_bits_diff = 0, vs_dtype2 = 0;
  for (std::uint32_t i = 0; i < io.n; ++i) {
    net->quantize_input(io.x.data() + std::size_t(i) * io.size, xq.data());
    for (std::uint32_t k = 0; k < io.size; ++k) input_diff += xq[k] != io.xq[std::size_t(i) * io.size + k];
    net->forward_q(io.xq.data() + std::size_t(i) * io.size);
    ref.forward_q(io.xq.data() + std::size_t(i) * io.size);
    for (std::uint32_t k = 0; k < io.outputs; ++k) {
      const std::size_t j = std::size_t(i) * io.outputs + k;
      acc_diff += net->accumulators()[k] != io.acc[j];
      vs_dtype2 += net->accumulators()[k] != ref.accumulators()[k];
      const float l = net->logit(k), l2 = ref.logit(k);
      logit_bits_diff += std::memcmp(&l, &io.logits[j], 4) != 0;
      vs_dtype2 += std::memcmp(&l, &l2, 4) != 0;
    }
    const auto& p = net->predict(io.x.data() + std::size_t(i) * io.size);
    const auto& p2 = ref.predict(io.x.data() + std::size_t(i) * io.size);
    REQUIRE(p.ok());
    using R = typename Q<Net>::result_type;
    if constexpr (std::is_same_v<R, Prediction<float>>) {
      vs_dtype2 += std::memcmp(p.logits.data(), p2.logits.data(), 4 * io.outputs) != 0;
    } else {
      vs_dtype2 += std::memcmp(&p.bpm, &p2.bpm, 4) != 0;
    }
  }
  // Exact: 0 differing values against quant.py and against the dtype-2 blob.
  CHECK(input_diff == 0);
  CHECK(acc_diff == 0);
  CHECK(logit_bits_diff == 0);
  CHECK(vs_dtype2 == 0);
}

/// The whole golden case of one architecture: load, input quantisation, integer forward pass,
/// logits, predict() (no allocation), the same result after a refused load; then its compact twin.
template <class Net>
void check_golden(const std::string& name, const std::string& blob_path, const std::string& compact_path) {
  INFO("int8 network " << name);
  auto blob = aligned_copy(read_all(blob_path));
  const Io io = read_io(golden_dir() + "/" + name + ".q8io");
  auto net = std::make_unique<Q<Net>>();
  REQUIRE(io.size == Q<Net>::input_size);
  REQUIRE(io.outputs == std::uint32_t(Q<Net>::output_size));
  const LoadReport r = net->load(blob.data(), blob.size());
  REQUIRE_MESSAGE(r.ok(), status_name(r.status));
  std::vector<std::int8_t> xq(io.size);
  long input_diff = 0, acc_diff = 0, logit_bits_diff = 0;
  for (std::uint32_t i = 0; i < io.n; ++i) {
    const float* x = io.x.data() + std::size_t(i) * io.size;
    net->quantize_input(x, xq.data());
    for (std::uint32_t k = 0; k < io.size; ++k) input_diff += xq[k] != io.xq[std::size_t(i) * io.size + k];
    net->forward_q(io.xq.data() + std::size_t(i) * io.size);  // from quant.py's int8 input
    for (std::uint32_t k = 0; k < io.outputs; ++k) {
      const std::size_t j = std::size_t(i) * io.outputs + k;
      acc_diff += net->accumulators()[k] != io.acc[j];
      const float l = net->logit(k);
      logit_bits_diff += std::memcmp(&l, &io.logits[j], 4) != 0;
    }
  }
  // Exact: 0 differing int8 inputs, accumulators and logit bit patterns.
  CHECK(input_diff == 0);
  CHECK(acc_diff == 0);
  CHECK(logit_bits_diff == 0);

  // predict() from the float window: the logits quant.py gives, the argmax of them, no allocation.
  using R = typename Q<Net>::result_type;
  for (std::uint32_t i = 0; i < io.n; ++i) {
    const float* x = io.x.data() + std::size_t(i) * io.size;
    [[maybe_unused]] const ppghr_test::AllocationScope scope;
    const R& p = net->predict(x);
#if PPGHR_TEST_WRAP_MALLOC
    CHECK(scope.count() == 0);
#endif
    REQUIRE(p.ok());
    if constexpr (std::is_same_v<R, Prediction<float>>) {
      CHECK(std::memcmp(p.logits.data(), io.logits.data() + std::size_t(i) * io.outputs, 4 * io.outputs) == 0);
      CHECK(p.class_index == argmax(io.logits.data() + std::size_t(i) * io.outputs, int(io.outputs)));
    } else {
      CHECK(std::memcmp(&p.bpm, io.logits.data() + std::size_t(i) * io.outputs, 4) == 0);
    }
  }
  check_compact<Net>(compact_path, io, *net);
}

template <class Net>
void check_golden(const char* arch) {
  check_golden<Net>(arch, golden_dir() + "/" + arch + ".q8.ppgw", golden_dir() + "/" + arch + ".q8c.ppgw");
}

// A dtype-2 blob's table entry of tensor `name`, and its data.
unsigned char* table_entry(std::vector<unsigned char>& b, const char* name) {
  const std::uint32_t count = blob::read_u32(b.data() + blob::kOffTensorCount);
  for (std::uint32_t i = 0; i < count; ++i) {
    unsigned char* e = b.data() + blob::kHeaderSize + std::size_t(i) * blob::kEntrySize;
    if (std::strcmp(reinterpret_cast<const char*>(e), name) == 0) return e;
  }
  FAIL("no tensor " << name);
  return nullptr;
}
unsigned char* table_data(std::vector<unsigned char>& b, const char* name) {
  return b.data() + blob::read_u64(table_entry(b, name) + blob::kEntOffset);
}

// Loads `blob` into `net` (it must load) and returns the logits of window 0.
template <class N>
std::vector<float> load_and_predict(N& net, AlignedBytes& blob, const Io& io) {
  REQUIRE(net.load(blob.data(), blob.size()).ok());
  const auto& p = net.predict(io.x.data());
  REQUIRE(p.ok());
  return std::vector<float>(p.logits.begin(), p.logits.begin() + io.outputs);
}

// Recomputes a blob's CRC (after an edit).
void recrc(std::vector<unsigned char>& b) {
  const std::size_t body = b.size() - 4;
  const std::uint32_t c = crc32(b.data(), body);
  std::memcpy(b.data() + body, &c, 4);
}
void put32(unsigned char* p, std::int32_t v) { std::memcpy(p, &v, 4); }

struct Forged {
  std::string what;
  Status expected;
  std::vector<unsigned char> bytes;
};
// forge(what, status, edit[, reseal]): a copy of `good` edited by edit(bytes), its CRC recomputed
// unless reseal is false, which a load must refuse with `status`.
struct Forger {
  const std::vector<unsigned char>& good;
  std::vector<Forged> cases;
  template <class Edit>
  void operator()(const char* what, Status s, Edit edit, bool reseal = true) {
    auto b = good;
    edit(b);
    if (reseal) recrc(b);
    cases.push_back({what, s, std::move(b)});
  }
};

// Every forged blob is refused with its own status, and so are `good` cut by one byte (truncated)
// and at addresses that are not a multiple of 64 (misaligned); after each, the network still
// gives `before` (the logits of window 0): the previous weights are intact.
template <class N>
void check_refused(N& net, const std::vector<Forged>& cases, const std::vector<unsigned char>& good, const Io& io,
                   const std::vector<float>& before) {
  auto same = [&] {
    const auto& p = net.predict(io.x.data());
    REQUIRE(p.ok());
    CHECK(std::memcmp(before.data(), p.logits.data(), 4 * io.outputs) == 0);
  };
  for (const auto& c : cases) {
    INFO(c.what);
    auto bad = aligned_copy(c.bytes);
    const LoadReport r = net.load(bad.data(), bad.size());
    CHECK(r.status == c.expected);
    same();
  }
  auto truncated = aligned_copy(good);
  CHECK(net.load(truncated.data(), truncated.size() - 1).status == Status::truncated);
  same();
  for (std::size_t shift : {1u, 4u, 32u}) {
    auto off = aligned_copy(good, shift);
    const LoadReport r = net.load(off.data(), off.size());
    CHECK(r.status == Status::misaligned);
    CHECK(r.found == shift);
    same();
  }
}

// A shipped int8 model (models/int8/<name>.ppgw, made by quant.py from the float model with real
// calibration windows) on the generator's windows.
template <class Net>
void check_shipped(const char* name) {
  check_golden<Net>(name, std::string(PPGHR_MODELS_DIR) + "/int8/" + name + ".ppgw",
                    golden_dir() + "/" + name + ".q8c.ppgw");
}

}  // namespace

TEST_SUITE("golden") {
  TEST_CASE("int8: the shipped int8 models equal quant.py exactly") {
    check_shipped<NetOf<registry::index_of("specnet2")>>("specnet2_bami1_int8");
    check_shipped<NetOf<registry::index_of("pulse_student_wn_cls")>>("pulse_student_wn_cls_scratch_bami1_int8");
    check_shipped<NetOf<registry::index_of("mlp2")>>("mlp2_dkd_from_resnet12_bami1_int8");
    check_shipped<NetOf<registry::index_of("resnet2")>>("resnet2_bami1_int8");
    check_shipped<NetOf<registry::index_of("specnet6")>>("specnet6_bami1_int8");
  }

  TEST_CASE("int8: SpecNet2 (the default model's network) equals quant.py exactly") {
    check_golden<NetOf<registry::index_of("specnet2")>>("specnet2");
  }
  TEST_CASE("int8: PULSE student (INPUT_NORM folded, regression head) equals quant.py exactly") {
    check_golden<NetOf<registry::index_of("pulse_student")>>("pulse_student");
  }
  TEST_CASE("int8: PULSE student with WINDOW_NORM and the 180-class head equals quant.py exactly") {
    check_golden<NetOf<registry::index_of("pulse_student_wn_cls")>>("pulse_student_wn_cls");
  }
  TEST_CASE("int8: ResNet2 (AFFINE, MAXPOOL1D shortcut, GLOBAL_AVG_POOL) equals quant.py exactly") {
    check_golden<NetOf<registry::index_of("resnet2")>>("resnet2");
  }
  TEST_CASE("int8: ResNet5 (CHANNEL_PAD) equals quant.py exactly") {
    check_golden<NetOf<registry::index_of("resnet5")>>("resnet5");
  }
  TEST_CASE("int8: MLP2 equals quant.py exactly") { check_golden<NetOf<registry::index_of("mlp2")>>("mlp2"); }
  TEST_CASE("int8: TinyCnn equals quant.py exactly") {
    check_golden<NetOf<registry::index_of("tinycnn")>>("tinycnn");
  }

  TEST_CASE("int8: a refused blob has its own status and keeps the previous weights") {
    using Net = Q<NetOf<registry::index_of("specnet2")>>;
    const auto good = read_all(golden_dir() + "/specnet2.q8.ppgw");
    const Io io = read_io(golden_dir() + "/specnet2.q8io");
    auto net = std::make_unique<Net>();
    auto ok = aligned_copy(good);
    const std::vector<float> before = load_and_predict(*net, ok, io);

    // Finds tensor `name`'s table entry or data; edits the blob; recomputes the CRC.
    auto entry = table_entry;
    auto data_of = table_data;
    Forger forge{good, {}};
    forge("a float32 blob's dtype", Status::wrong_dtype, [&](auto& b) { put32(b.data() + blob::kOffDtype, 1); });
    forge("one flipped payload bit", Status::checksum_mismatch, [&](auto& b) { data_of(b, "stem.weight")[3] ^= 4; },
          false);
    forge("a weight of -128", Status::invalid_weight,
          [&](auto& b) { data_of(b, "blocks.1.conv2.weight")[5] = static_cast<unsigned char>(-128); });
    forge("a shift of 31", Status::invalid_weight, [&](auto& b) { put32(data_of(b, "head1.shift"), 31); });
    forge("a negative multiplier", Status::invalid_weight, [&](auto& b) { put32(data_of(b, "stem.multiplier") + 8, -5); });
    forge("a zero point of 128", Status::invalid_weight, [&](auto& b) { put32(data_of(b, "blocks.0.add.out_zero_point"), 128); });
    forge("an input scale of 0", Status::invalid_weight, [&](auto& b) { put32(data_of(b, "input.scale"), 0); });
    forge("a NaN output scale", Status::non_finite_weight, [&](auto& b) {
      const float nan = std::nanf("");
      std::memcpy(data_of(b, "head2.acc_scale"), &nan, 4);
    });
    forge("a bias that could overflow the accumulator", Status::invalid_weight,
          [&](auto& b) { put32(data_of(b, "blocks.0.conv1.bias") + 4, 2147483000); });
    forge("an int8 tensor declared int32", Status::size_mismatch,
          [&](auto& b) { put32(entry(b, "head1.weight") + blob::kEntElementType, 3); });
    forge("a renamed tensor", Status::size_mismatch, [&](auto& b) { entry(b, "head1.bias")[6] = 'X'; });
    forge("another op's prefix", Status::size_mismatch, [&](auto& b) { entry(b, "head1.bias")[4] = '2'; });
    forge("a wrong dimension", Status::size_mismatch, [&](auto& b) { put32(entry(b, "stem.weight") + blob::kEntDims + 4, 6); });
    forge("an offset past the end", Status::bad_table,
          [&](auto& b) { put32(entry(b, "head2.weight") + blob::kEntOffset, std::int32_t(b.size() + 64)); });
    forge("a missing last tensor", Status::size_mismatch, [&](auto& b) {
      const std::uint32_t c = blob::read_u32(b.data() + blob::kOffTensorCount) - 1;
      put32(b.data() + blob::kOffTensorCount, std::int32_t(c));
    });
    check_refused(*net, forge.cases, good, io, before);
    // a float network's blob of another architecture: arch_mismatch
    using Other = Q<NetOf<registry::index_of("specnet6")>>;
    auto other = std::make_unique<Other>();
    CHECK(other->load(ok.data(), ok.size()).status == Status::arch_mismatch);
    CHECK_FALSE(other->loaded());
    // not loaded / NaN windows are refused
    CHECK(other->predict(io.x.data()).status == SignalStatus::not_loaded);
    std::vector<float> nan_window(io.x.begin(), io.x.begin() + io.size);
    nan_window[17] = std::nanf("");
    CHECK(net->predict(nan_window.data()).status == SignalStatus::non_finite);
  }

  TEST_CASE("int8: a refused compact blob (dtype 4) has its own status and keeps the previous weights") {
    using Net = Q<NetOf<registry::index_of("specnet2")>>;
    const auto good = read_all(golden_dir() + "/specnet2.q8c.ppgw");
    auto table = read_all(golden_dir() + "/specnet2.q8.ppgw");
    const Io io = read_io(golden_dir() + "/specnet2.q8io");
    REQUIRE(good.size() == Net::compact_blob_bytes);
    auto net = std::make_unique<Net>();
    auto ok = aligned_copy(good);
    const std::vector<float> before = load_and_predict(*net, ok, io);

    // Where the compact blob holds a tensor (docs/blob-format.md): the payload starts at 64 with
    // input.offset [6], input.scale [6] (float32), input.zero_point; then stem.weight [16][7][6]
    // (int8, 672 bytes), stem.bias, stem.multiplier, stem.shift ([16] int32 each), ...
    const std::size_t stem_weight = 64 + 4 * 6 + 4 * 6 + 4, stem_bias = stem_weight + 672,
                      stem_shift = stem_bias + 2 * 4 * 16, last_acc_scale = good.size() - 8;
    // ... the same bytes as the dtype-2 blob's tensors of those names (the offsets above are right)
    REQUIRE(std::memcmp(good.data() + stem_weight, table_data(table, "stem.weight"), 672) == 0);
    REQUIRE(std::memcmp(good.data() + stem_bias, table_data(table, "stem.bias"), 64) == 0);
    REQUIRE(std::memcmp(good.data() + stem_shift, table_data(table, "stem.shift"), 64) == 0);
    REQUIRE(std::memcmp(good.data() + last_acc_scale, table_data(table, "head2.acc_scale"), 4) == 0);

    Forger forge{good, {}};
    forge("one flipped payload bit", Status::checksum_mismatch, [&](auto& b) { b[stem_weight + 3] ^= 4; }, false);
    forge("a tensor count one short", Status::size_mismatch, [&](auto& b) {
      put32(b.data() + blob::kOffTensorCount, Net::compact_tensor_count - 1);
    });
    forge("a total size 4 bytes longer", Status::size_mismatch, [&](auto& b) {
      b.insert(b.end() - 4, 4, 0);
      put32(b.data() + blob::kOffTotalSize, std::int32_t(b.size()));
    });
    forge("a header size of 128", Status::bad_table, [&](auto& b) { put32(b.data() + blob::kOffHeaderSize, 128); });
    forge("a payload offset of 128", Status::bad_table, [&](auto& b) { put32(b.data() + blob::kOffPayload, 128); });
    forge("an int8 weight of -128", Status::invalid_weight,
          [&](auto& b) { b[stem_weight + 5] = static_cast<unsigned char>(-128); });
    forge("a shift of 31", Status::invalid_weight, [&](auto& b) { put32(b.data() + stem_shift + 8, 31); });
    forge("a shift of -32", Status::invalid_weight, [&](auto& b) { put32(b.data() + stem_shift, -32); });
    forge("a bias that could overflow the accumulator", Status::invalid_weight,
          [&](auto& b) { put32(b.data() + stem_bias + 4, 2147483000); });
    forge("a NaN acc_scale", Status::non_finite_weight, [&](auto& b) {
      const float nan = std::nanf("");
      std::memcpy(b.data() + last_acc_scale, &nan, 4);
    });
    forge("dtype 5", Status::wrong_dtype, [&](auto& b) { put32(b.data() + blob::kOffDtype, 5); });
    forge("a major version 2", Status::unsupported_version, [&](auto& b) { b[blob::kOffVersionMajor] = 2; });
    // its payload offset is not 64 (the header check comes before the count and size checks)
    forge.cases.push_back({"the dtype-2 blob declared dtype 4", Status::bad_table, table});
    put32(forge.cases.back().bytes.data() + blob::kOffDtype, std::int32_t(blob::kDtypeInt8Compact));
    recrc(forge.cases.back().bytes);
    check_refused(*net, forge.cases, good, io, before);
    {
      auto dtype5 = good;
      put32(dtype5.data() + blob::kOffDtype, 5);
      recrc(dtype5);
      auto b = aligned_copy(dtype5);
      const LoadReport r = net->load(b.data(), b.size());
      CHECK(r.status == Status::wrong_dtype);
      CHECK(r.expected == blob::kDtypeInt8);  // the dtype an int8 network takes by default
    }
    const auto& p = net->predict(io.x.data());
    REQUIRE(p.ok());
    CHECK(std::memcmp(before.data(), p.logits.data(), 4 * io.outputs) == 0);
    // Bytes flipped one at a time (the CRC recomputed; every header and input byte, then every 13th):
    // the load never reads outside the blob (the sanitizer build), and whenever it refuses, the
    // previous weights stay.
    long refused = 0, kept = 0;
    for (std::size_t k = 0; k + 4 < good.size(); k += k < 256 ? 1 : 13) {
      auto b = good;
      b[k] ^= 0x80;
      recrc(b);
      auto a = aligned_copy(b);
      if (net->load(a.data(), a.size()).ok()) {
        REQUIRE(net->load(ok.data(), ok.size()).ok());
        continue;
      }
      ++refused;
      const auto& pk = net->predict(io.x.data());
      kept += pk.ok() && std::memcmp(before.data(), pk.logits.data(), 4 * io.outputs) == 0;
    }
    CHECK(refused > 0);
    CHECK(kept == refused);
    // another architecture's compact blob
    auto other = std::make_unique<Q<NetOf<registry::index_of("specnet6")>>>();
    CHECK(other->load(ok.data(), ok.size()).status == Status::arch_mismatch);
    CHECK_FALSE(other->loaded());
  }
}

namespace {
// A test-only network whose one int8 weight has 3 values, so that its compact blob has a padding
// byte (no registry network has one: every int8 weight count is a multiple of 4).
// NET(family 99, variant 1, 1 channel, 3 samples, 1 output), LINEAR(3, 1, no ReLU)
constexpr std::array<std::uint32_t, 10> kOddDescriptor{std::uint32_t(Op::net), 99, 1, 1, 3, 1,
                                                       std::uint32_t(Op::linear), 3, 1, 0};
struct OddNet {
  using result_type = Estimate<float>;
  static constexpr std::size_t input_size = 3;
  static constexpr int output_size = 1;
  [[maybe_unused]] static constexpr std::size_t macs = 3;
  static constexpr std::array<std::uint32_t, 10> descriptor() noexcept { return kOddDescriptor; }
  static constexpr std::uint64_t fingerprint = ppghr::fingerprint(kOddDescriptor);
};

// Its compact blob, written field by field: input.offset [1], input.scale [1], input.zero_point;
// weight [1][3] int8 + 1 padding byte; bias [1]; acc_scale [1]; CRC.
std::vector<unsigned char> odd_compact_blob(std::int8_t w0, std::int32_t bias, unsigned char pad) {
  std::vector<unsigned char> b(64 + 4 * 3 + 4 + 4 + 4 + 4, 0);
  auto u16 = [&](std::size_t at, std::uint16_t v) { b[at] = std::uint8_t(v), b[at + 1] = std::uint8_t(v >> 8); };
  auto u32 = [&](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) b[at + std::size_t(i)] = std::uint8_t(v >> (8 * i));
  };
  auto u64 = [&](std::size_t at, std::uint64_t v) { u32(at, std::uint32_t(v)), u32(at + 4, std::uint32_t(v >> 32)); };
  auto f32 = [&](std::size_t at, float v) {
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    u32(at, u);
  };
  std::memcpy(b.data(), "PPGW", 4);
  u16(blob::kOffVersionMajor, 1), u16(blob::kOffVersionMinor, blob::kVersionMinorCompact);
  u32(blob::kOffBom, blob::kByteOrderMark), u32(blob::kOffDtype, blob::kDtypeInt8Compact);
  u64(blob::kOffFingerprint, OddNet::fingerprint), u32(blob::kOffTensorCount, 6);
  u32(blob::kOffHeaderSize, 64), u64(blob::kOffTotalSize, b.size()), u64(blob::kOffPayload, 64);
  f32(64, 0.0f), f32(68, 0.5f), u32(72, std::uint32_t(-3));  // input: offset 0, scale 0.5, zero point -3
  b[76] = std::uint8_t(w0), b[77] = 2, b[78] = std::uint8_t(-1), b[79] = pad;
  u32(80, std::uint32_t(bias)), f32(84, 0.25f);
  u32(88, crc32(b.data(), 88));
  return b;
}
}  // namespace

TEST_CASE("int8: a compact blob's padding byte must be zero (an int8 weight of 3 values)") {
  using Net = Q<OddNet>;
  static_assert(Net::compact_blob_bytes == 92, "64 + 3 x 4 + (3 + 1) + 4 + 4 + CRC");
  static_assert(Net::compact_tensor_count == 6);
  auto net = std::make_unique<Net>();
  auto good = aligned_copy(odd_compact_blob(7, 100, 0));
  const LoadReport r = net->load(good.data(), good.size());
  REQUIRE_MESSAGE(r.ok(), status_name(r.status));
  const std::int8_t x[3] = {1, -3, 20};  // minus the zero point -3: 4, 0, 23
  net->forward_q(x);
  CHECK(net->accumulators()[0] == 100 + 7 * 4 + 2 * 0 + (-1) * 23);
  const float window[3] = {1.0f, 2.0f, 3.0f};  // quantised: round(x / 0.5) - 3 = -1, 1, 3
  const auto& p = net->predict(window);
  REQUIRE(p.ok());
  CHECK(p.bpm == 0.25f * float(100 + 7 * 2 + 2 * 4 + (-1) * 6));
  const float before = p.bpm;
  auto padded = aligned_copy(odd_compact_blob(9, 100, 1));
  const LoadReport bad = net->load(padded.data(), padded.size());
  CHECK(bad.status == Status::bad_table);
  CHECK(bad.offset == 79);
  CHECK(net->predict(window).bpm == before);
  auto minus128 = aligned_copy(odd_compact_blob(-128, 100, 0));
  CHECK(net->load(minus128.data(), minus128.size()).status == Status::invalid_weight);
  CHECK(net->predict(window).bpm == before);
}

TEST_CASE("int8: fixed-point primitives equal their definitions") {
  std::mt19937 rng(11);
  std::uniform_int_distribution<std::int32_t> any(INT32_MIN, INT32_MAX);
  // srdhm: floor(a b / 2^31 + 1/2) (ties toward +infinity), INT32_MIN^2 saturates
  CHECK(q8::srdhm(INT32_MIN, INT32_MIN) == INT32_MAX);
  for (int i = 0; i < 20000; ++i) {
    const std::int32_t a = any(rng), b = any(rng);
    const long double exact = static_cast<long double>(a) * b / 2147483648.0L;
    const std::int64_t want = static_cast<std::int64_t>(std::floor(exact + 0.5L));
    if (a == INT32_MIN && b == INT32_MIN) continue;
    CHECK(q8::srdhm(a, b) == want);
  }
  // rdbpot: x / 2^e rounded to nearest, ties away from zero
  for (int i = 0; i < 20000; ++i) {
    const std::int32_t x = any(rng);
    const int e = i % 32;
    const long double v = static_cast<long double>(x) / std::ldexp(1.0L, e);
    const long double r = v >= 0 ? std::floor(v + 0.5L) : -std::floor(-v + 0.5L);
    CHECK(q8::rdbpot(x, e) == static_cast<std::int64_t>(r));
  }
  // requantize32 (the 32-bit hot path) == requantize for multipliers >= 0 and every shift
  std::uniform_int_distribution<std::int32_t> mult(0, INT32_MAX), sh(-31, 30);
  long differ = 0;
  for (int i = 0; i < 200000; ++i) {
    const std::int32_t acc = i % 3 ? any(rng) : any(rng) >> (i % 31), m = i % 7 ? mult(rng) : (1 << 30), s = sh(rng);
    differ += q8::requantize32(acc, m, s) != q8::requantize(acc, m, s);
  }
  for (std::int32_t acc : {INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX})
    for (std::int32_t m : {0, 1, 1 << 30, INT32_MAX})
      for (std::int32_t s = -31; s <= 30; ++s) differ += q8::requantize32(acc, m, s) != q8::requantize(acc, m, s);
  CHECK(differ == 0);
  // requantize_bounded (+ z) == requantize32 + z within its bounds: random, the extremes
  long bounded_differ = 0;
  std::uniform_int_distribution<std::int32_t> bacc(-q8::kBoundedAccMax, q8::kBoundedAccMax);
  for (int i = 0; i < 400000; ++i) {
    const std::int32_t acc = i % 5 == 0   ? (i % 10 ? q8::kBoundedAccMax : -q8::kBoundedAccMax) - (i / 10) % 3 * (i % 10 ? 1 : -1)
                             : i % 5 == 1 ? bacc(rng) >> (i % 29)
                                          : bacc(rng);
    const std::int32_t m = i % 7 ? mult(rng) : (i % 14 ? (1 << 30) : INT32_MAX);
    const std::int32_t s = -std::int32_t(i % (q8::kBoundedMaxShift + 1)), z = std::int32_t(i % 256) - 128;
    bounded_differ += q8::requantize_bounded(acc, q8::bounded_rq(m, s, z)) != q8::requantize32(acc, m, s) + z;
  }
  CHECK(bounded_differ == 0);
  // saturate8 (32-bit) == clamp8 of the int64 sum
  long sat_differ = 0;
  for (int i = 0; i < 100000; ++i) {
    const std::int32_t v = i % 2 ? any(rng) : (any(rng) >> 22), z = std::int32_t(i % 256) - 128, lo = i % 3 ? z : -128;
    sat_differ += q8::saturate8(v, z, lo) != q8::clamp8(std::int64_t(v) + z, lo);
  }
  CHECK(sat_differ == 0);
  // the average pool's division: round half away from zero
  for (std::int32_t n = 1; n <= 9; ++n)
    for (std::int32_t s = -300; s <= 300; ++s) {
      const double v = double(s) / n;
      const double r = v >= 0 ? std::floor(v + 0.5) : -std::floor(-v + 0.5);
      CHECK(q8::div_round_away(s, n) == static_cast<std::int32_t>(r));
    }
  // quantize: round half away from zero, + zero point, clamped
  CHECK(q8::quantize(2.5f, 0.f, 1.f, 0) == 3);
  CHECK(q8::quantize(-2.5f, 0.f, 1.f, 0) == -3);
  CHECK(q8::quantize(1e30f, 0.f, 1.f, 0) == 127);
  CHECK(q8::quantize(-1e30f, 0.f, 1.f, -5) == -128);
  CHECK(q8::quantize(0.f, 1.f, 0.5f, 10) == 8);
}

TEST_CASE("int8: dot() equals dot_ref() on random shapes (" PPGHR_Q8_DOT_KIND ")") {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> b8(-128, 127), w8(-127, 127);
  for (int trial = 0; trial < 300; ++trial) {
    const int npos = 1 + trial % 4, rows = 1 + (trial * 7) % 33, chunks = 1 + trial % 3, len = 1 + (trial * 13) % 70;
    const std::ptrdiff_t chunk_step = len + trial % 5, pos_step = 1 + trial % 9;
    const std::size_t xn = std::size_t(npos) * pos_step + std::size_t(chunks) * chunk_step + len;
    std::vector<std::int8_t> x(xn + 3), w(std::size_t(rows) * chunks * len + 3);
    for (auto& v : x) v = static_cast<std::int8_t>(b8(rng));
    for (auto& v : w) v = static_cast<std::int8_t>(w8(rng));
    std::vector<std::int32_t> bias(rows), a(std::size_t(npos) * rows), b(a.size());
    for (auto& v : bias) v = b8(rng) * 1000;
    const std::int32_t z = b8(rng);
    q8::Window win;
    win.chunks = chunks, win.len = len, win.chunk_step = chunk_step;
    const int off = trial % 3;  // unaligned starts
    const std::ptrdiff_t w_step = std::ptrdiff_t(chunks) * len;
    if (trial % 2) {
      q8::dot(x.data() + off, pos_step, npos, win, z, w.data() + off, w_step, rows, bias.data(), a.data());
      q8::dot_ref(x.data() + off, pos_step, npos, win, z, w.data() + off, w_step, rows, bias.data(), b.data());
    } else {  // accumulate onto the values already there
      std::fill(a.begin(), a.end(), -77), std::fill(b.begin(), b.end(), -77);
      q8::dot(x.data() + off, pos_step, npos, win, z, w.data() + off, w_step, rows, nullptr, a.data());
      q8::dot_ref(x.data() + off, pos_step, npos, win, z, w.data() + off, w_step, rows, nullptr, b.data());
    }
    CHECK(a == b);
  }
}
