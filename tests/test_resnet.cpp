// The 1D-ResNet family: parameter counts against networks.md, a naive reference network built
// from the reference kernels (a second oracle beside the PyTorch goldens), statuses, and zero
// heap allocations in predict().
#include <doctest/doctest.h>

#include <ppghr/ppghr.hpp>

#include <cmath>
#include <limits>
#include <memory>
#include <set>
#include <vector>

#include "alloc_counter.hpp"
#include "blob_fixture.hpp"
#include "test_util.hpp"

using namespace ppghr;
using namespace ppghr_test;

namespace {

// networks.md section 1, N = 1..12.
constexpr std::size_t kPaperCounts[12] = {23292, 33724, 44156, 54588, 97852, 139196,
                                          180540, 221884, 369852, 534460, 699068, 863676};
constexpr std::size_t kInferenceN1 = 16692, kInferenceN12 = 837876;
constexpr double kMacsM[12] = {2.09, 3.11, 0, 0, 0, 7.21, 0, 0, 0, 11.52, 0, 13.33};  // 0: not quoted

template <int N>
void check_counts() {
  using R = ResNet1d<N>;
  INFO("N = " << N);
  CHECK(R::paper_param_count == kPaperCounts[N - 1]);
  CHECK(R::inference_param_count + R::final_channels * 200 + 200 == kPaperCounts[N - 1]);
  if (kMacsM[N - 1] > 0) CHECK(std::round(R::macs / 1e4) / 100 == doctest::Approx(kMacsM[N - 1]));
  // Stored weights = inference count minus the folded BNs (stem, every bn2) and block 0's unused bn1.
  std::size_t folded = 2 * 32 + 2 * 32;  // stem BN, block 0 bn1 (unused)
  for (int i = 0; i < N; ++i) folded += 2 * resnet::block_out_channels(i);
  CHECK(R::param_count + folded == R::inference_param_count);
  CHECK(R::memory_bytes == sizeof(R));
  CHECK(R::memory_bytes >= R::weight_bytes + R::scratch_bytes);
  CHECK(R::memory_bytes <= R::weight_bytes + R::scratch_bytes + 64 * (8 * N + 16));  // alignment only
}

template <int... Ns>
void check_all_counts(std::integer_sequence<int, Ns...>) {
  (check_counts<Ns + 1>(), ...);
}

// A straightforward ResNet over runtime shapes with the reference kernels, on the blob-order
// tensors (PyTorch layouts, activations [length][channels]).
std::vector<float> reference_resnet(int n_blocks, const std::vector<TensorRecord>& ts, const std::vector<float>& x) {
  std::size_t k = 0;
  auto next = [&]() -> const std::vector<float>& { return ts.at(k++).data; };
  int L = 200, C = 32;
  std::vector<float> a(std::size_t(L) * C);
  {
    const auto& w = next();
    const auto& b = next();
    reference::conv1d(x.data(), 1, 200, w.data(), b.data(), 32, 5, 1, 1, 2, 2, 1, Act::relu, a.data());
  }
  for (int i = 0; i < n_blocks; ++i) {
    const int ci = resnet::block_in_channels(i), co = resnet::block_out_channels(i), s = resnet::block_stride(i);
    const auto p = SamePadding::of(L, 5, s);
    std::vector<float> in = a;
    if (i > 0) {
      const auto& sc = next();
      const auto& sh = next();
      for (int t = 0; t < L; ++t)
        for (int c = 0; c < ci; ++c) {
          const float v = a[t * ci + c] * sc[c] + sh[c];
          in[t * ci + c] = v < 0 ? 0 : v;
        }
    }
    std::vector<float> mid(std::size_t(p.out) * co), out(std::size_t(p.out) * co);
    const auto& w1 = next();
    const auto& b1 = next();
    reference::conv1d(in.data(), ci, L, w1.data(), b1.data(), co, 5, s, 1, p.left, p.right, 1, Act::relu, mid.data());
    const auto& w2 = next();
    const auto& b2 = next();
    reference::conv1d(mid.data(), co, p.out, w2.data(), b2.data(), co, 5, 1, 1, 2, 2, 1, Act::none, out.data());
    std::vector<float> shortcut = a;
    if (s == 2) {
      shortcut.assign(std::size_t(p.out) * ci, 0.f);
      reference::maxpool1d(a.data(), ci, L, 2, 2, 0, 1, PadValue::zero, shortcut.data());
    }
    std::vector<float> widened(std::size_t(p.out) * co);
    reference::channel_pad(shortcut.data(), ci, p.out, co, (co - ci) / 2, widened.data());
    for (std::size_t j = 0; j < out.size(); ++j) out[j] += widened[j];
    a = out;
    L = p.out;
    C = co;
  }
  const auto& sc = next();
  const auto& sh = next();
  for (int t = 0; t < L; ++t)
    for (int c = 0; c < C; ++c) {
      const float v = a[t * C + c] * sc[c] + sh[c];
      a[t * C + c] = v < 0 ? 0 : v;
    }
  std::vector<float> pooled(C), logits(kNumClasses);
  reference::global_avg_pool(a.data(), C, L, pooled.data());
  const auto& wd = next();
  const auto& bd = next();
  reference::linear(pooled.data(), C, wd.data(), bd.data(), kNumClasses, Act::none, logits.data());
  REQUIRE(k == ts.size());
  return logits;
}

template <int N>
void check_against_reference(std::uint32_t seed) {
  auto net = std::make_unique<ResNet1d<N>>();
  const auto ts = random_tensors(*net, seed);
  const auto blob = make_blob(*net, ts);
  REQUIRE(net->load(blob.data(), blob.size()).ok());
  for (int w = 0; w < 3; ++w) {
    const auto x = random_vector(200, seed + 100 + w, -2.f, 2.f);
    const auto ref = reference_resnet(N, ts, x);
    const auto& p = net->predict(x.data());
    REQUIRE(p.ok());
    INFO("N = " << N << " window " << w);
    // Float accumulation over up to 640 terms per output and 12 blocks: 1e-4 absolute on O(1) logits.
    CHECK(max_abs_diff(p.logits.data(), ref.data(), kNumClasses) <= 1e-4);
    CHECK(p.class_index == argmax(ref.data(), kNumClasses));
    CHECK(p.bpm == static_cast<float>(p.class_index + 30));
    double sum = 0;
    for (float v : p.probabilities) sum += v;
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
  }
}

}  // namespace

TEST_CASE("parameter counts, MACs and memory of N = 1..12 match networks.md") {
  check_all_counts(std::make_integer_sequence<int, 12>{});
  CHECK(ResNet1d<1>::inference_param_count == kInferenceN1);
  CHECK(ResNet1d<12>::inference_param_count == kInferenceN12);
  CHECK(ResNet1d<1>::param_count == 16500);
}

TEST_CASE("every N has its own fingerprint") {
  const std::set<std::uint64_t> fps = {ResNet1d<1>::fingerprint, ResNet1d<2>::fingerprint, ResNet1d<3>::fingerprint,
                                       ResNet1d<4>::fingerprint, ResNet1d<5>::fingerprint, ResNet1d<6>::fingerprint,
                                       ResNet1d<7>::fingerprint, ResNet1d<8>::fingerprint, ResNet1d<9>::fingerprint,
                                       ResNet1d<10>::fingerprint, ResNet1d<11>::fingerprint, ResNet1d<12>::fingerprint};
  CHECK(fps.size() == 12);
  // The descriptor starts with NET(resnet1d, N, 1, 200, 180).
  constexpr auto d = ResNet1d<3>::descriptor();
  CHECK(d[0] == 1u);
  CHECK(d[1] == 1u);
  CHECK(d[2] == 3u);
  CHECK(d[4] == 200u);
  CHECK(d[5] == 180u);
}

TEST_CASE("ResNet1d matches a naive reference network built from the reference kernels") {
  check_against_reference<1>(21);
  check_against_reference<2>(22);
  check_against_reference<5>(23);
  check_against_reference<8>(24);
  check_against_reference<12>(25);
}

TEST_CASE("predict refuses without weights and on NaN/Inf input, with no heart rate") {
  auto net = std::make_unique<ResNet1d<1>>();
  std::vector<float> x(200, 0.5f);
  const auto& p0 = net->predict(x.data());
  CHECK(p0.status == InputStatus::not_loaded);
  CHECK(p0.class_index == -1);
  CHECK(p0.bpm == 0.f);
  const auto ts = random_tensors(*net, 5);
  const auto blob = make_blob(*net, ts);
  REQUIRE(net->load(blob.data(), blob.size()).ok());
  CHECK(net->predict(x.data()).ok());
  x[17] = std::numeric_limits<float>::quiet_NaN();
  const auto& p1 = net->predict(x.data());
  CHECK(p1.status == InputStatus::non_finite);
  CHECK(p1.class_index == -1);
  for (float v : p1.probabilities) REQUIRE(v == 0.f);
  x[17] = std::numeric_limits<float>::infinity();
  CHECK(net->predict(x.data()).status == InputStatus::non_finite);
  // A finite window whose outputs overflow (a blob with huge finite weights loads: every weight is
  // finite) is refused the same way, never a heart rate (fuzz_blob_struct's finding,
  // fuzz/regressions/fuzz_blob_struct/).
  auto huge = ts;
  for (auto& v : huge.front().data) v = 1e38f;  // the stem's weights
  const auto hblob = make_blob(*net, huge);
  REQUIRE(net->load(hblob.data(), hblob.size()).ok());
  x[17] = 0.5f;
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = i % 2 ? 3.f : -3.f;
  const auto& p2 = net->predict(x.data());
  CHECK(p2.status == InputStatus::non_finite);
  CHECK(p2.class_index == -1);
  CHECK(p2.bpm == 0.f);
}

TEST_CASE("predict() makes no heap allocation") {
  auto net1 = std::make_unique<ResNet1d<1>>();
  auto net12 = std::make_unique<ResNet1d<12>>();
  const auto b1 = make_blob(*net1, random_tensors(*net1, 1));
  const auto b12 = make_blob(*net12, random_tensors(*net12, 2));
  REQUIRE(net1->load(b1.data(), b1.size()).ok());
  REQUIRE(net12->load(b12.data(), b12.size()).ok());
  const auto x = random_vector(200, 3);
  std::vector<float> bad = x;
  bad[0] = std::numeric_limits<float>::quiet_NaN();
  float checksum = 0;
  const AllocationScope scope;
  for (int i = 0; i < 20; ++i) {
    checksum += net1->predict(x.data()).probabilities[5];
    checksum += net12->predict(x.data()).probabilities[5];
    checksum += static_cast<float>(net12->predict(bad.data()).class_index);
  }
  const long allocations = scope.count();
  CHECK(allocations == 0);
  CHECK(std::isfinite(checksum));
  // The counter does count: an allocation in the scope is seen.
  const AllocationScope probe;
  static int* volatile sink = nullptr;  // volatile: the compiler may not elide the allocation
  sink = new int(4);
  delete sink;
  CHECK(probe.count() >= 1);
}

TEST_CASE("loading from memory makes no heap allocation") {
  auto net = std::make_unique<ResNet1d<3>>();
  const auto b = make_blob(*net, random_tensors(*net, 9));
  const AllocationScope scope;
  const bool ok = net->load(b.data(), b.size()).ok();
  CHECK(scope.count() == 0);
  CHECK(ok);
}

TEST_CASE("MLP students: parameter counts span the ResNet students' budgets") {
  CHECK(Mlp<1>::param_count == 17060);
  CHECK(Mlp<2>::param_count == 28724);
  CHECK(Mlp<3>::param_count == 129348);
  CHECK(Mlp<4>::param_count == 503924);
  CHECK(Mlp<4>::memory_bytes == sizeof(Mlp<4>));
  CHECK(Mlp<1>::macs == 200u * 40 + 40u * 40 + 40u * 180);
}

TEST_CASE("MLP predict() makes no heap allocation") {
  auto net = std::make_unique<Mlp<3>>();
  const auto b = make_blob(*net, random_tensors(*net, 4));
  REQUIRE(net->load(b.data(), b.size()).ok());
  const auto x = random_vector(200, 5);
  const AllocationScope scope;
  int sum = 0;
  for (int i = 0; i < 10; ++i) sum += net->predict(x.data()).class_index;
  CHECK(scope.count() == 0);
  CHECK(sum >= 0);
}
