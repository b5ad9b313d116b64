// predict() of the 1D-ResNet for N = 1, 2, 6, 10, 12: one 8 s window per iteration, fixed-seed
// weights.
// Reports windows per second (items/s), GFLOP/s (2 x MACs / time), %peak (against the FMA probe of
// bench_common.hpp, measured on the same machine) and the network's memory as counters.
// Run: build/benchmarks/ppghr_bench --benchmark_out=bench.json --benchmark_out_format=json
#include <benchmark/benchmark.h>

#include <ppghr/ppghr.hpp>

#include <memory>
#include <random>
#include <vector>

#include "bench_common.hpp"

namespace {

struct Fill {
  std::mt19937 rng{1234};
  std::uniform_real_distribution<float> u{-0.1f, 0.1f};
  float operator()(const ppghr::TensorSpec&, std::size_t, std::uint32_t) { return u(rng); }
};

template <int N>
void BM_ResNet1d_predict(benchmark::State& state) {
  ppghr_bench::predict_benchmark<ppghr::ResNet1d<N>>(state, Fill{});
}

BENCHMARK_TEMPLATE(BM_ResNet1d_predict, 1);
BENCHMARK_TEMPLATE(BM_ResNet1d_predict, 2);
BENCHMARK_TEMPLATE(BM_ResNet1d_predict, 6);
BENCHMARK_TEMPLATE(BM_ResNet1d_predict, 10);
BENCHMARK_TEMPLATE(BM_ResNet1d_predict, 12);

}  // namespace

BENCHMARK_MAIN();
