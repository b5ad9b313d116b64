// predict() of the MLP students Mlp<1..4> (hidden widths 40, 64, 216, 544), registered as
// BM_predict/mlp<k> (the architecture names of tools/ppghr_tools/archs.py): one 200-sample window
// per iteration, fixed-seed weights. The same counters as the ResNet benchmarks (bench_resnet.cpp
// holds BENCHMARK_MAIN).
#include <benchmark/benchmark.h>

#include <ppghr/ppghr.hpp>

#include <string>
#include <utility>

#include "bench_common.hpp"

namespace {

template <int... K>
int register_mlps(std::integer_sequence<int, K...>) {
  (ppghr_bench::register_predict<ppghr::Mlp<K>>("mlp" + std::to_string(K), ppghr_bench::UniformFill{}), ...);
  return int(sizeof...(K));
}

[[maybe_unused]] const int kMlps = register_mlps(std::integer_sequence<int, 1, 2, 3, 4>{});

}  // namespace
