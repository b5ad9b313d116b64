// predict() of the 1D-ResNet for every block count N = 1..12, registered as BM_predict/resnet<N>
// (the architecture names of tools/ppghr_tools/archs.py, so a model card names its benchmark):
// one 8 s window per iteration, fixed-seed weights.
// Reports windows per second (items/s), GFLOP/s (2 x MACs / time), %peak (against the FMA probe of
// bench_common.hpp, measured on the same machine), the MAC count and the network's memory
// (memory_bytes = sizeof, weight_bytes, scratch_bytes) as counters.
// Run: build/benchmarks/ppghr_bench --benchmark_out=bench.json --benchmark_out_format=json
#include <benchmark/benchmark.h>

#include <ppghr/ppghr.hpp>

#include <string>
#include <utility>

#include "bench_common.hpp"

namespace {

template <int... N>
int register_resnets(std::integer_sequence<int, N...>) {
  (ppghr_bench::register_predict<ppghr::ResNet1d<N>>("resnet" + std::to_string(N), ppghr_bench::UniformFill{}), ...);
  return int(sizeof...(N));
}

[[maybe_unused]] const int kResNets =
    register_resnets(std::integer_sequence<int, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12>{});

}  // namespace

BENCHMARK_MAIN();
