// predict() of every network of the library's registry (include/ppghr/models/registry.hpp),
// registered as BM_predict/<name> with the registry's names (those of tools/ppghr_tools/archs.py,
// so a model card's "arch" names its benchmark: tools/ppghr_tools/bench_shipped.py): resnet1..12,
// mlp1..4, the eight PULSE networks, specnet1..12 and specnet1..12w32. One input per iteration
// (an 8 s window: 200 samples for ResNet / MLP, 4 x 256 raw samples for PULSE, the [180][6]
// spectral features for SpecNet; fixed-seed normal values: the cost does not depend on them),
// fixed-seed weights written to a blob and loaded (bench_common.hpp: UniformFill, PulseFill).
// Reports windows per second (items/s), GFLOP/s (2 x MACs / time), %peak (against the FMA probe of
// bench_common.hpp, measured on the same machine), the MAC count and the network's memory
// (memory_bytes = sizeof, weight_bytes, scratch_bytes) as counters.
// Run: build/benchmarks/ppghr_bench --benchmark_filter=BM_predict --benchmark_out=bench.json --benchmark_out_format=json
#include <benchmark/benchmark.h>

#include <ppghr/ppghr.hpp>

#include <type_traits>

#include "bench_common.hpp"

namespace {

[[maybe_unused]] const int kNetworks = [] {
  int n = 0;
  ppghr::registry::for_each([&](const auto& e) {
    using E = std::decay_t<decltype(e)>;
    if constexpr (E::input == ppghr::registry::Input::pulse)
      ppghr_bench::register_predict<typename E::type>(e.name, ppghr_bench::PulseFill{});
    else
      ppghr_bench::register_predict<typename E::type>(e.name, ppghr_bench::UniformFill{});
    ++n;
  });
  return n;
}();

}  // namespace

BENCHMARK_MAIN();
