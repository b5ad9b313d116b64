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
  using Net = ppghr::ResNet1d<N>;
  auto net = std::make_unique<Net>();
  std::vector<unsigned char> blob(ppghr::blob::blob_size(*net));
  std::size_t written = 0;
  Fill fill;
  if (ppghr::blob::write_blob(*net, fill, blob.data(), blob.size(), &written) != ppghr::Status::ok ||
      !net->load(blob.data(), blob.size()).ok()) {
    state.SkipWithError("could not load weights");
    return;
  }
  std::mt19937 rng(99);
  std::normal_distribution<float> g;
  std::vector<float> window(Net::input_size);
  for (auto& v : window) v = g(rng);
  for (auto _ : state) {
    const auto& p = net->predict(window.data());
    benchmark::DoNotOptimize(p.class_index);
    benchmark::ClobberMemory();
  }
  ppghr_bench::set_flop_counters(state, Net::macs);  // items/s = windows/s
  state.counters["memory_bytes"] = static_cast<double>(Net::memory_bytes);
  state.counters["weight_bytes"] = static_cast<double>(Net::weight_bytes);
}

BENCHMARK_TEMPLATE(BM_ResNet1d_predict, 1);
BENCHMARK_TEMPLATE(BM_ResNet1d_predict, 2);
BENCHMARK_TEMPLATE(BM_ResNet1d_predict, 6);
BENCHMARK_TEMPLATE(BM_ResNet1d_predict, 10);
BENCHMARK_TEMPLATE(BM_ResNet1d_predict, 12);

}  // namespace

BENCHMARK_MAIN();
