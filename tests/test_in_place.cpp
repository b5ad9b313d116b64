// Weights read in place (core/storage.hpp): every network of the registry, loaded from its dtype-3
// blob without copying, gives bit-identical outputs to its owning twin (the golden-tested network)
// loaded from the same weights; the blob errors of an in-place load and their all-or-nothing
// behaviour; no allocation; the memory the in-place twin saves.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "alloc_counter.hpp"
#include "ppghr/io/blob_writer.hpp"
#include "ppghr/models/registry.hpp"
#include "test_util.hpp"

using namespace ppghr;
using ppghr_test::AlignedBytes;

namespace {

/// Seeded weights of a plausible scale (uniform +-1/sqrt(fan-in)); a PULSE input_norm [rows][2]
/// gets mean 0.1 and std 0.5 + row / 4 (a std must be > 0).
struct SeededFill {
  std::uint32_t seed;
  float operator()(const TensorSpec& spec, std::size_t k, std::uint32_t index) const {
    if (std::strcmp(spec.name.text, "input_norm") == 0) return k % 2 == 0 ? 0.1f : 0.5f + float(k / 2) / 4.f;
    std::mt19937 rng(seed * 7919u + index * 104729u + static_cast<std::uint32_t>(k));
    const double fan_in = spec.ndim > 1 ? double(spec.count()) / spec.dims[0] : 16.0;
    std::uniform_real_distribution<float> d(-1.f, 1.f);
    return d(rng) / static_cast<float>(std::sqrt(fan_in));
  }
};

template <class Net>
std::vector<unsigned char> plain_blob(std::uint32_t seed) {
  auto net = std::make_unique<Net>();
  std::vector<unsigned char> b(blob::blob_size(*net));
  std::size_t n = 0;
  REQUIRE(blob::write_blob(*net, SeededFill{seed}, b.data(), b.size(), &n) == Status::ok);
  return b;
}

/// The dtype-3 blob of `owning` (loaded), in a 64-byte-aligned buffer.
template <class Net>
AlignedBytes packed_blob(Net& owning, std::size_t shift = 0) {
  AlignedBytes b(blob::blob_size(owning), shift);
  std::size_t n = 0;
  REQUIRE(blob::write_packed_blob(owning, b.data(), b.size(), &n) == Status::ok);
  CHECK(n == b.size());
  return b;
}

template <class Net>
std::vector<float> input_for(std::uint32_t seed) {
  // Spectral features are >= 0; the windows are centred signals.
  if constexpr (Net::input_size == specnet::kInputSize) return ppghr_test::random_vector(Net::input_size, seed, 0.f, 1.f);
  else return ppghr_test::random_vector(Net::input_size, seed, -2.f, 2.f);
}

template <class Result>
std::vector<float> outputs_of(const Result& r) {
  using Traits = detail::ResultTraits<Result>;
  const float* p = Traits::raw(const_cast<Result&>(r));
  return std::vector<float>(p, p + Traits::outputs);
}

template <class Net>
void check_network(const char* name) {
  using InPlaceNet = in_place_t<Net>;
  const std::string net_name = name;
  INFO("network " << net_name);
  static_assert(!Net::weights_in_place && InPlaceNet::weights_in_place);
  static_assert(InPlaceNet::fingerprint == Net::fingerprint, "the storage does not change the architecture");
  static_assert(std::is_same_v<typename InPlaceNet::template with_storage<Owned>, Net>);

  const auto plain = plain_blob<Net>(11);
  auto owning = std::make_unique<Net>();
  {
    const LoadReport r = owning->load(plain.data(), plain.size());
    const std::string found_name =
        r.tensor_index >= 0 ? std::string(reinterpret_cast<const char*>(plain.data()) + 64 + 96 * r.tensor_index) : "";
    INFO("owning load: " << std::string(status_name(r.status)) << " tensor " << r.tensor_index << " "
                         << std::string(r.tensor_name) << " (the blob's: " << found_name << ")");
    REQUIRE(r.ok());
  }
  AlignedBytes packed = packed_blob(*owning);
  CHECK(blob::read_u32(packed.data() + blob::kOffDtype) == blob::kDtypeFloat32Packed);
  CHECK(blob::read_u16(packed.data() + blob::kOffVersionMinor) == blob::kVersionMinorPacked);
  CHECK(packed.size() == plain.size());

  auto in_place = std::make_unique<InPlaceNet>();
  {
    LoadReport r;
    [[maybe_unused]] long allocations = 0;
    {
      ppghr_test::AllocationScope scope;
      r = in_place->load(packed.data(), packed.size());
      allocations = scope.count();
    }
    INFO("load: " << std::string(status_name(r.status)) << " tensor " << r.tensor_name);
    REQUIRE(r.ok());
#if PPGHR_TEST_WRAP_MALLOC
    CHECK(allocations == 0);
#endif
  }
  // Re-packing the in-place network gives the same bytes: it reads exactly the blob's values.
  AlignedBytes again = packed_blob(*in_place);
  CHECK(std::memcmp(again.data(), packed.data(), packed.size()) == 0);

  for (std::uint32_t w = 0; w < 3; ++w) {
    const std::vector<float> x = input_for<Net>(100 + w);
    const std::vector<float> a = outputs_of(owning->predict(x.data()));
    const typename InPlaceNet::result_type* res = nullptr;
    [[maybe_unused]] long allocations = 0;
    {
      ppghr_test::AllocationScope scope;
      res = &in_place->predict(x.data());
      allocations = scope.count();
    }
#if PPGHR_TEST_WRAP_MALLOC
    CHECK(allocations == 0);
#endif
    const std::vector<float> b = outputs_of(*res);
    REQUIRE(in_place->last().ok());
    // The same kernels on the same values in the same order: equal to the bit.
    CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  }

  // RAM: the in-place twin holds no weights (one pointer per tensor instead).
  const std::size_t saved = sizeof(Net) - sizeof(InPlaceNet);
  MESSAGE(net_name << ": RAM owning " << sizeof(Net) << " B, in place " << sizeof(InPlaceNet) << " B (weights "
               << Net::weight_bytes << " B stay in the blob, " << packed.size() << " B)");
  CHECK(sizeof(InPlaceNet) < sizeof(Net));
  CHECK(saved >= Net::weight_bytes - Net::weight_bytes / 64);  // less only by pointers and padding
  CHECK(InPlaceNet::memory_bytes == sizeof(InPlaceNet));
}

template <std::size_t I>
void check_entry() {
  check_network<registry::network_t<I>>(std::get<I>(registry::networks).name);
}

}  // namespace

// One network of every family, input kind and layer type (the layers, not the sizes, are what the
// storage changes): block 0 (no pre-activation) and the BatchNorm / stride-2 blocks of a ResNet,
// the MLP, TinyCnn, the PULSE teacher (input_norm, attention, LayerNorm) and student (row convs,
// modality conv, flatten-linear) with both inputs and heads, SpecNet at both widths. Instantiating
// all 49 twice costs minutes of compile time under the sanitizers for no other layer.
TEST_CASE("in place: a network of every family and layer type equals its owning twin to the bit, without a copy") {
  check_entry<registry::index_of("resnet1")>();
  check_entry<registry::index_of("resnet3")>();
  check_entry<registry::index_of("resnet11")>();
  check_entry<registry::index_of("mlp2")>();
  check_entry<registry::index_of("tinycnn")>();
  check_entry<registry::index_of("pulse_teacher")>();
  check_entry<registry::index_of("pulse_teacher_wn_cls")>();
  check_entry<registry::index_of("pulse_student")>();
  check_entry<registry::index_of("pulse_student_wn_cls")>();
  check_entry<registry::index_of("specnet2")>();
  check_entry<registry::index_of("specnet1w32")>();
}

TEST_CASE("in place: blob errors have their own codes and leave the previous weights") {
  using Net = SpecNet<2>;
  using InPlaceNet = in_place_t<Net>;
  const auto plain_a = plain_blob<Net>(21), plain_b = plain_blob<Net>(22);
  auto owning = std::make_unique<Net>();
  REQUIRE(owning->load(plain_a.data(), plain_a.size()).ok());
  AlignedBytes packed_a = packed_blob(*owning);
  REQUIRE(owning->load(plain_b.data(), plain_b.size()).ok());
  AlignedBytes packed_b = packed_blob(*owning);
  const std::vector<float> x = input_for<Net>(5);
  const std::vector<float> out_b = outputs_of(owning->predict(x.data()));

  auto net = std::make_unique<InPlaceNet>();
  CHECK(net->predict(x.data()).status == SignalStatus::not_loaded);
  REQUIRE(net->load(packed_a.data(), packed_a.size()).ok());
  const std::vector<float> out_a = outputs_of(net->predict(x.data()));
  CHECK(out_a != out_b);
  auto still_a = [&] {
    CHECK(net->loaded());
    CHECK(outputs_of(net->predict(x.data())) == out_a);
  };

  // A dtype-1 (PyTorch order) blob: the in-place network needs the kernels' order.
  AlignedBytes plain_aligned(plain_b.size());
  std::memcpy(plain_aligned.data(), plain_b.data(), plain_b.size());
  LoadReport r = net->load(plain_aligned.data(), plain_aligned.size());
  CHECK(r.status == Status::wrong_dtype);
  CHECK(r.expected == blob::kDtypeFloat32Packed);
  CHECK(r.found == blob::kDtypeFloat32);
  still_a();
  // ... and an owning network refuses a dtype-3 blob.
  auto other = std::make_unique<Net>();
  r = other->load(packed_b.data(), packed_b.size());
  CHECK(r.status == Status::wrong_dtype);
  CHECK(r.expected == blob::kDtypeFloat32);
  CHECK(r.found == blob::kDtypeFloat32Packed);

  // Not at a multiple of 64 bytes: misaligned, whatever the content.
  for (std::size_t shift : {std::size_t(4), std::size_t(32)}) {
    AlignedBytes off = packed_blob(*owning, shift);
    r = net->load(off.data(), off.size());
    CHECK(r.status == Status::misaligned);
    CHECK(r.found == shift);
    still_a();
  }

  // A corrupt byte (CRC), then a NaN weight behind a valid CRC: refused, nothing pointed at.
  AlignedBytes bad = packed_blob(*owning);
  bad.data()[bad.size() / 2] ^= 0x5a;
  CHECK(net->load(bad.data(), bad.size()).status == Status::checksum_mismatch);
  still_a();
  AlignedBytes nan_blob = packed_blob(*owning);
  const std::size_t first = static_cast<std::size_t>(blob::read_u64(nan_blob.data() + blob::kHeaderSize + blob::kEntOffset));
  const float qnan = std::nanf("");
  std::memcpy(nan_blob.data() + first + 8, &qnan, 4);
  blob::reseal(nan_blob.data(), nan_blob.size());
  r = net->load(nan_blob.data(), nan_blob.size());
  CHECK(r.status == Status::non_finite_weight);
  CHECK(r.tensor_index == 0);
  still_a();
  // Another architecture's packed blob.
  auto small = std::make_unique<SpecNet<1>>();
  const auto plain_small = plain_blob<SpecNet<1>>(3);
  REQUIRE(small->load(plain_small.data(), plain_small.size()).ok());
  AlignedBytes packed_small = packed_blob(*small);
  CHECK(net->load(packed_small.data(), packed_small.size()).status == Status::arch_mismatch);
  still_a();

  // A valid blob replaces the weights: the outputs are then those of weights b.
  REQUIRE(net->load(packed_b.data(), packed_b.size()).ok());
  CHECK(outputs_of(net->predict(x.data())) == out_b);

  // The writer refuses a buffer that is too small, writing nothing.
  std::vector<unsigned char> tiny(64, 0xee);
  std::size_t n = 1;
  CHECK(blob::write_packed_blob(*owning, tiny.data(), tiny.size(), &n) == Status::buffer_too_small);
  CHECK(n == 0);
  CHECK(tiny[0] == 0xee);
}

TEST_CASE("in place: SpectralNet over an in-place SpecNet (the default model's form) equals the owning one") {
  using Owning = SpectralNet<1, SpecNet<2>>;
  using Flash = SpectralNet<1, in_place_t<SpecNet<2>>>;
  const auto plain = plain_blob<SpecNet<2>>(31);
  auto a = std::make_unique<Owning>();
  REQUIRE(a->load(plain.data(), plain.size()).ok());
  AlignedBytes packed = packed_blob(a->net());
  auto b = std::make_unique<Flash>();
  REQUIRE(b->load(packed.data(), packed.size()).ok());
  // A 25 Hz window: a 1.5 Hz pulse (90 BPM) with noise, and a quiet accelerometer.
  std::vector<float> w(Owning::input_size);
  std::mt19937 rng(9);
  std::normal_distribution<float> noise(0.f, 0.05f);
  for (int t = 0; t < Owning::window_length; ++t)
    for (int c = 0; c < Owning::channels; ++c)
      w[std::size_t(c) * Owning::window_length + t] =
          (c == 0 ? std::sin(2.f * 3.14159265f * 1.5f * t / 25.f) : 0.f) + noise(rng);
  const auto& pa = a->predict(w.data());
  const auto& pb = b->predict(w.data());
  REQUIRE(pa.ok());
  REQUIRE(pb.ok());
  CHECK(std::memcmp(pa.logits.data(), pb.logits.data(), sizeof(float) * kNumClasses) == 0);
  CHECK(pa.bpm == pb.bpm);
  MESSAGE("SpectralNet<1, SpecNet<2>>: RAM owning " << sizeof(Owning) << " B, in place " << sizeof(Flash) << " B");
}
