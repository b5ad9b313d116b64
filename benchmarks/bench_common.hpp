// Shared by the benchmarks: the machine's measured FMA peak and the FLOP counters.
//
// The peak is measured, not assumed: fma_peak_gflops() runs independent FMA chains on xsimd's
// default batch (the instruction set this binary was compiled for: SSE2 by default, AVX-512 with
// -DPPGHR_NATIVE=ON on a machine that has it), with enough accumulators to cover the FMA latency
// on every common core, and keeps the best of several trials. It is timed in thread CPU time, as
// Google Benchmark's own rates are, so "% of peak" compares like with like on a shared machine.
#pragma once

#include <benchmark/benchmark.h>

#include <ppghr/ppghr.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace ppghr_bench {

inline double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

#if PPGHR_HAS_SIMD
using ProbeBatch = ppghr::detail::simd_batch<float>;
#else
struct ProbeBatch {  // scalar stand-in with the same interface
  static constexpr std::size_t size = 1;
  float v;
  ProbeBatch() = default;
  explicit ProbeBatch(float x) : v(x) {}
};
inline ProbeBatch fma(ProbeBatch a, ProbeBatch b, ProbeBatch c) { return ProbeBatch(a.v * b.v + c.v); }
#endif

/// Runs `iters` rounds of A independent FMA chains (acc = acc * m + a); returns a sum so that
/// nothing is optimised away (floating-point FMA chains cannot be reassociated or folded without
/// -ffast-math). The accumulators are a fold over an index sequence, so they live in registers
/// whatever the optimiser's unrolling heuristics; nothing inside the loop touches memory.
template <std::size_t... I>
float fma_chains(long iters, float seed, std::index_sequence<I...>) {
  std::array<ProbeBatch, sizeof...(I)> acc{ProbeBatch(seed + float(I))...};
  const ProbeBatch m(0.9999999f), a(1e-7f);
  for (long n = 0; n < iters; ++n) {
#if PPGHR_HAS_SIMD
    ((acc[I] = xsimd::fma(acc[I], m, a)), ...);
#else
    ((acc[I] = fma(acc[I], m, a)), ...);
#endif
  }
  float s = 0;
#if PPGHR_HAS_SIMD
  ((s += xsimd::hadd(acc[I])), ...);
#else
  ((s += acc[I].v), ...);
#endif
  return s;
}

/// Floating-point operations per iteration of fma_chains with A accumulators.
template <std::size_t A>
constexpr double probe_flop() {
  return 2.0 * double(A) * double(ProbeBatch::size);
}

/// Best GFLOP/s of A chains over `trials` runs of `iters` rounds (thread CPU time).
template <std::size_t A>
double probe_gflops(long iters, int trials) {
  double best = 0;
  for (int r = 0; r < trials; ++r) {
    const double t0 = thread_cpu_seconds();
    benchmark::DoNotOptimize(fma_chains(iters, 1.0f, std::make_index_sequence<A>{}));
    const double dt = thread_cpu_seconds() - t0;
    const double g = probe_flop<A>() * double(iters) / dt * 1e-9;
    if (g > best) best = g;
  }
  return best;
}

/// The single-core FP32 peak of this machine for this binary's instruction set, in GFLOP/s
/// (measured once, ~0.3 s, on first use). 8, 12 and 16 chains: FMA latency x FMA pipes is 8 on
/// current x86 and ARM cores; more chains than registers would spill, so the best is kept.
inline double fma_peak_gflops() {
  static const double peak = [] {
    double best = 0;
    for (double g : {probe_gflops<8>(4000000, 5), probe_gflops<12>(3000000, 5), probe_gflops<16>(2000000, 5)})
      best = g > best ? g : best;
    return best;
  }();
  return peak;
}

/// Thread CPU time since construction: the clock of Google Benchmark's CPU time (its default) and
/// of the FMA probe. Started just before a benchmark's `for (auto _ : state)` loop, read just after.
class CpuStopwatch {
 public:
  double seconds() const { return thread_cpu_seconds() - t0_; }

 private:
  double t0_ = thread_cpu_seconds();
};

/// Per-window counters: items/s = windows/s; GFLOP/s = 2 x MACs / time; %peak = GFLOP/s against
/// fma_peak_gflops(); the MAC count itself. Only GFLOP/s is a rate (kIsRate: divided by the CPU
/// time and printed with "/s"); %peak is a plain percentage, so it is computed here from
/// `cpu_seconds`, the thread CPU time of the timed loop (CpuStopwatch).
inline void set_flop_counters(benchmark::State& state, std::size_t macs, double cpu_seconds) {
  const double flop = 2.0 * double(macs) * double(state.iterations());
  state.SetItemsProcessed(state.iterations());
  state.counters["MACs"] = double(macs);
  state.counters["GFLOP/s"] = benchmark::Counter(flop * 1e-9, benchmark::Counter::kIsRate);
  if (cpu_seconds > 0) state.counters["%peak"] = flop * 1e-9 / cpu_seconds / fma_peak_gflops() * 100.0;
}

/// Fixed-seed weights, uniform in [-0.1, 0.1]: the `fill` of predict_benchmark for networks
/// without input normalisation (ResNet, MLP).
struct UniformFill {
  std::mt19937 rng{1234};
  std::uniform_real_distribution<float> u{-0.1f, 0.1f};
  float operator()(const ppghr::TensorSpec&, std::size_t, std::uint32_t) { return u(rng); }
};

/// Fixed-seed weights for the PULSE networks: uniform in [-0.1, 0.1], and the input_norm tensor
/// (the published front end; absent in the per-window _wn variants) as (mean 0, std 1) per row.
struct PulseFill {
  std::mt19937 rng{4321};
  std::uniform_real_distribution<float> u{-0.1f, 0.1f};
  float operator()(const ppghr::TensorSpec& spec, std::size_t k, std::uint32_t) {
    if (spec.name.equals("input_norm", 16)) return k % 2 == 0 ? 0.f : 1.f;
    return u(rng);
  }
};

/// The body of every network benchmark: weights from `fill(spec, k, tensor_index)` written to a
/// blob and loaded, one fixed-seed window, predict() per iteration; windows/s, GFLOP/s, %peak and
/// the network's memory as counters: memory_bytes = sizeof(Net) (weights, scratch, result,
/// alignment: the RAM one network object needs), weight_bytes and scratch_bytes as the class
/// declares them.
template <class Net, class Fill>
void predict_benchmark(benchmark::State& state, Fill fill) {
  auto net = std::make_unique<Net>();
  std::vector<unsigned char> blob(ppghr::blob::blob_size(*net));
  std::size_t written = 0;
  if (ppghr::blob::write_blob(*net, fill, blob.data(), blob.size(), &written) != ppghr::Status::ok ||
      !net->load(blob.data(), blob.size()).ok()) {
    state.SkipWithError("could not load weights");
    return;
  }
  std::mt19937 rng(99);
  std::normal_distribution<float> g;
  std::vector<float> window(Net::input_size);
  for (auto& v : window) v = g(rng);
  const CpuStopwatch clock;
  for (auto _ : state) {
    const auto& p = net->predict(window.data());
    benchmark::DoNotOptimize(p.bpm);
    benchmark::ClobberMemory();
  }
  set_flop_counters(state, Net::macs, clock.seconds());
  state.counters["memory_bytes"] = static_cast<double>(Net::memory_bytes);
  state.counters["weight_bytes"] = static_cast<double>(Net::weight_bytes);
  state.counters["scratch_bytes"] = static_cast<double>(Net::scratch_bytes);
}

/// Registers predict_benchmark<Net> as "BM_predict/<arch>", where <arch> is the network's name in
/// the registry (models/registry.hpp) and tools/ppghr_tools/archs.py: a model card's "arch" names
/// its benchmark, which is how tools/ppghr_tools/bench_shipped.py finds the shipped networks'
/// latency. bench_predict.cpp registers every network of the registry.
template <class Net, class Fill>
benchmark::internal::Benchmark* register_predict(const std::string& arch, Fill fill) {
  return benchmark::RegisterBenchmark(("BM_predict/" + arch).c_str(),
                                     [fill](benchmark::State& state) { predict_benchmark<Net>(state, fill); });
}

}  // namespace ppghr_bench
