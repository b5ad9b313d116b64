// Per-layer benchmarks and the FMA-throughput probe.
//
// BM_FmaPeak: the measured single-core FP32 peak for this binary's instruction set (see
// bench_common.hpp); every benchmark's %peak counter is relative to it.
// BM_Conv/<shape>: each distinct convolution shape of the 1D-ResNet (blocks 0..11, conv1 and the
// conv2 shapes that differ from every conv1), named cin_cout_lin_k_stride.
// BM_ResNetBlock/<i>: the whole residual block i (pre-activation BN-ReLU, both convs, shortcut).
// BM_Dense/<in>: the ResNet head's Linear(in -> 180).
// BM_RowConv/<T or S>_<stage, conv>_<shape>: the PULSE teacher's / student's distinct row convs;
// BM_PulseCrossAttention (teacher), BM_PulseModalityConv (student's conv4).
// Fixed-seed random weights and inputs; one call of forward() per iteration.
#include <benchmark/benchmark.h>

#include <ppghr/ppghr.hpp>

#include <memory>
#include <random>
#include <vector>

#include "bench_common.hpp"

namespace {

using ppghr_bench::set_flop_counters;

std::vector<float> random_values(std::size_t n, unsigned seed, float scale = 0.1f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

void BM_FmaPeak(benchmark::State& state) {
  constexpr std::size_t kChains = 12;
  constexpr long kRounds = 100000;
  for (auto _ : state)
    benchmark::DoNotOptimize(ppghr_bench::fma_chains(kRounds, 1.0f, std::make_index_sequence<kChains>{}));
  const double flop = ppghr_bench::probe_flop<kChains>() * double(kRounds) * double(state.iterations());
  state.counters["GFLOP/s"] = benchmark::Counter(flop * 1e-9, benchmark::Counter::kIsRate);
  state.counters["peak_GFLOP/s"] = ppghr_bench::fma_peak_gflops();
  state.counters["simd_width"] = double(ppghr_bench::ProbeBatch::size);
}
BENCHMARK(BM_FmaPeak);

template <class Conv>
void BM_Conv(benchmark::State& state) {
  auto conv = std::make_unique<Conv>();
  conv->set_weight(random_values(Conv::weight_count, 1));
  conv->set_bias(random_values(Conv::out_channels, 2));
  const auto x = random_values(Conv::in_size, 3, 1.0f);
  std::vector<float> y(Conv::out_size);
  const ppghr_bench::CpuStopwatch clock;
  for (auto _ : state) {
    conv->forward(x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_flop_counters(state, Conv::macs, clock.seconds());
}

template <int I>
using Block = ppghr::resnet::Block<float, I>;

#define PPGHR_BENCH_CONV(name, ...) BENCHMARK_TEMPLATE(BM_Conv, __VA_ARGS__)->Name("BM_Conv/" name)
using ppghr::Act;
PPGHR_BENCH_CONV("stem_1_32_200_k5_s1", ppghr::Conv1dSame<float, 1, 32, 200, 5, 1, Act::relu>);
PPGHR_BENCH_CONV("b0_32_32_200_k5_s1", Block<0>::Conv1);
PPGHR_BENCH_CONV("b1_32_32_200_k5_s2", Block<1>::Conv1);
PPGHR_BENCH_CONV("b2_32_32_100_k5_s1", Block<2>::Conv1);
PPGHR_BENCH_CONV("b3_32_32_100_k5_s2", Block<3>::Conv1);
PPGHR_BENCH_CONV("b3c2_32_32_50_k5_s1", Block<3>::Conv2);
PPGHR_BENCH_CONV("b4_32_64_50_k5_s1", Block<4>::Conv1);
PPGHR_BENCH_CONV("b4c2_64_64_50_k5_s1", Block<4>::Conv2);
PPGHR_BENCH_CONV("b5_64_64_50_k5_s2", Block<5>::Conv1);
PPGHR_BENCH_CONV("b6_64_64_25_k5_s1", Block<6>::Conv1);
PPGHR_BENCH_CONV("b7_64_64_25_k5_s2", Block<7>::Conv1);
PPGHR_BENCH_CONV("b7c2_64_64_13_k5_s1", Block<7>::Conv2);
PPGHR_BENCH_CONV("b8_64_128_13_k5_s1", Block<8>::Conv1);
PPGHR_BENCH_CONV("b8c2_128_128_13_k5_s1", Block<8>::Conv2);
PPGHR_BENCH_CONV("b9_128_128_13_k5_s2", Block<9>::Conv1);
PPGHR_BENCH_CONV("b10_128_128_7_k5_s1", Block<10>::Conv1);
PPGHR_BENCH_CONV("b11_128_128_7_k5_s2", Block<11>::Conv1);
PPGHR_BENCH_CONV("b11c2_128_128_4_k5_s1", Block<11>::Conv2);

template <int I>
void BM_ResNetBlock(benchmark::State& state) {
  using B = Block<I>;
  auto blk = std::make_unique<B>();
  if constexpr (B::has_preact) {
    const auto s = random_values(B::ci, 4, 1.0f), h = random_values(B::ci, 5);
    for (int c = 0; c < B::ci; ++c) {
      blk->bn1.scale[c] = 1.0f + 0.5f * s[c];
      blk->bn1.shift[c] = h[c];
    }
  }
  blk->conv1.set_weight(random_values(B::Conv1::weight_count, 6));
  blk->conv1.set_bias(random_values(B::co, 7));
  blk->conv2.set_weight(random_values(B::Conv2::weight_count, 8));
  blk->conv2.set_bias(random_values(B::co, 9));
  const auto x = random_values(std::size_t(B::li) * B::ci, 10, 1.0f);
  std::vector<float> tmp(B::max_activation), mid(B::max_activation), y(B::max_activation);
  const ppghr_bench::CpuStopwatch clock;
  for (auto _ : state) {
    blk->forward(x.data(), tmp.data(), mid.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_flop_counters(state, B::macs, clock.seconds());
}
BENCHMARK_TEMPLATE(BM_ResNetBlock, 0);
BENCHMARK_TEMPLATE(BM_ResNetBlock, 1);
BENCHMARK_TEMPLATE(BM_ResNetBlock, 4);
BENCHMARK_TEMPLATE(BM_ResNetBlock, 5);
BENCHMARK_TEMPLATE(BM_ResNetBlock, 8);
BENCHMARK_TEMPLATE(BM_ResNetBlock, 11);

template <int In>
void BM_Dense(benchmark::State& state) {
  using L = ppghr::Linear<float, In, ppghr::kNumClasses>;
  auto layer = std::make_unique<L>();
  const auto w = random_values(L::param_count, 11);
  std::copy(w.begin(), w.begin() + std::ptrdiff_t(layer->weight.size()), layer->weight.begin());
  const auto x = random_values(In, 12, 1.0f);
  std::vector<float> y(ppghr::kNumClasses);
  const ppghr_bench::CpuStopwatch clock;
  for (auto _ : state) {
    layer->forward(x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_flop_counters(state, L::macs, clock.seconds());
}
BENCHMARK_TEMPLATE(BM_Dense, 32);
BENCHMARK_TEMPLATE(BM_Dense, 64);
BENCHMARK_TEMPLATE(BM_Dense, 128);

}  // namespace

// PULSE layers: each distinct row conv (4 rows, shared weights) of the teacher (T) and the student
// (S) trunks, the teacher's cross-attention, the student's modality conv. Named after the stage
// and conv (s1c1 = stage 1, first conv).
namespace {

template <class Conv>
void BM_RowConv(benchmark::State& state) {
  auto layer = std::make_unique<Conv>();
  layer->conv.set_weight(random_values(Conv::Conv::weight_count, 21));
  layer->conv.set_bias(random_values(Conv::out_channels, 22));
  const auto x = random_values(Conv::in_size, 23, 1.0f);
  std::vector<float> y(Conv::out_size);
  const ppghr_bench::CpuStopwatch clock;
  for (auto _ : state) {
    layer->forward(x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_flop_counters(state, Conv::macs, clock.seconds());
}

using TeacherTrunk = ppghr::pulse::TeacherTrunk<float>;
using StudentTrunk = ppghr::pulse::StudentTrunk<float>;
template <class Trunk>
using S1 = typename Trunk::Stage1;
template <class Trunk>
using S2 = typename Trunk::Stage2;
template <class Trunk>
using S3 = typename Trunk::Stage3;

#define PPGHR_BENCH_ROWCONV(name, ...) BENCHMARK_TEMPLATE(BM_RowConv, __VA_ARGS__)->Name("BM_RowConv/" name)
PPGHR_BENCH_ROWCONV("T_s1c1_1_32_256_k5_d2", S1<TeacherTrunk>::First);
PPGHR_BENCH_ROWCONV("T_s1c2_32_32_256_k5_d2", S1<TeacherTrunk>::Next);
PPGHR_BENCH_ROWCONV("T_s2c1_32_48_64_k5_d2", S2<TeacherTrunk>::First);
PPGHR_BENCH_ROWCONV("T_s2c2_48_48_64_k5_d2", S2<TeacherTrunk>::Next);
PPGHR_BENCH_ROWCONV("T_s3c1_48_64_32_k5_d2", S3<TeacherTrunk>::First);
PPGHR_BENCH_ROWCONV("T_s3c2_64_64_32_k5_d2", S3<TeacherTrunk>::Next);
PPGHR_BENCH_ROWCONV("S_s1c1_1_16_256_k3_d2", S1<StudentTrunk>::First);
PPGHR_BENCH_ROWCONV("S_s1c2_16_16_256_k3_d2", S1<StudentTrunk>::Next);
PPGHR_BENCH_ROWCONV("S_s2c1_16_24_64_k3_d3", S2<StudentTrunk>::First);
PPGHR_BENCH_ROWCONV("S_s2c2_24_24_64_k3_d3", S2<StudentTrunk>::Next);
PPGHR_BENCH_ROWCONV("S_s3c1_24_32_16_k3_d4", S3<StudentTrunk>::First);
PPGHR_BENCH_ROWCONV("S_s3c2_32_32_16_k3_d4", S3<StudentTrunk>::Next);

void BM_PulseCrossAttention(benchmark::State& state) {
  using Net = ppghr::PulseTeacher<ppghr::pulse::Head::regression>;
  using A = Net::Attention;
  auto layer = std::make_unique<A>();
  auto& mha = layer->attention;
  const auto w = random_values(mha.in_proj_weight.size() + mha.out_weight_t.size(), 31, 0.3f);
  std::copy(w.begin(), w.begin() + std::ptrdiff_t(mha.in_proj_weight.size()), mha.in_proj_weight.begin());
  std::copy(w.begin() + std::ptrdiff_t(mha.in_proj_weight.size()), w.end(), mha.out_weight_t.begin());
  const auto x = random_values(A::in_size, 32, 1.0f);
  std::vector<float> y(A::out_size);
  alignas(64) static float scratch[A::scratch_size];
  const ppghr_bench::CpuStopwatch clock;
  for (auto _ : state) {
    layer->forward(x.data(), y.data(), scratch);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_flop_counters(state, A::macs, clock.seconds());
}
BENCHMARK(BM_PulseCrossAttention);

void BM_PulseModalityConv(benchmark::State& state) {
  using Net = ppghr::PulseStudent<ppghr::pulse::Head::regression>;
  using M = Net::Mix;
  auto layer = std::make_unique<M>();
  layer->set_weight(random_values(M::weight_count, 41));
  const auto x = random_values(M::in_size, 42, 1.0f);
  std::vector<float> y(M::out_size);
  const ppghr_bench::CpuStopwatch clock;
  for (auto _ : state) {
    layer->forward(x.data(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_flop_counters(state, M::macs, clock.seconds());
}
BENCHMARK(BM_PulseModalityConv);

}  // namespace
