// predict() of the PULSE teacher and student, both heads: one 8 s window (4 rows x 256 samples,
// raw units) per iteration, fixed-seed weights and input_norm pairs. Reports windows per second
// (items/s), GFLOP/s, % of the measured FMA peak (bench_common.hpp) and the network's MACs and
// memory as counters. Registered beside the ResNet benchmarks in ppghr_bench (bench_resnet.cpp
// holds BENCHMARK_MAIN).
#include <benchmark/benchmark.h>

#include <ppghr/ppghr.hpp>

#include <memory>
#include <random>
#include <vector>

#include "bench_common.hpp"

namespace {

struct PulseFill {
  std::mt19937 rng{4321};
  std::uniform_real_distribution<float> u{-0.1f, 0.1f};
  float operator()(const ppghr::TensorSpec&, std::size_t k, std::uint32_t index) {
    if (index == 0) return k % 2 == 0 ? 0.f : 1.f;  // input_norm: (mean 0, std 1) per row
    return u(rng);
  }
};

template <class Net>
void BM_Pulse_predict(benchmark::State& state) {
  ppghr_bench::predict_benchmark<Net>(state, PulseFill{});
}

using ppghr::pulse::Head;
BENCHMARK_TEMPLATE(BM_Pulse_predict, ppghr::PulseTeacher<Head::regression>)->Name("BM_PulseTeacher_predict/regression");
BENCHMARK_TEMPLATE(BM_Pulse_predict, ppghr::PulseTeacher<Head::classes>)->Name("BM_PulseTeacher_predict/classes");
BENCHMARK_TEMPLATE(BM_Pulse_predict, ppghr::PulseStudent<Head::regression>)->Name("BM_PulseStudent_predict/regression");
BENCHMARK_TEMPLATE(BM_Pulse_predict, ppghr::PulseStudent<Head::classes>)->Name("BM_PulseStudent_predict/classes");

}  // namespace
