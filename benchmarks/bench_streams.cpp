// Streams per core in real time (issue 15, item 4): how many wearables, each streaming 50 Hz
// frames, one core can serve with the default model and with the spectral estimator.
//   BM_stream_realtime/<estimator>/<C>ppg[/threads:2]
//     estimator = specnet2: SpectralNet<C, SpecNet<2>> with the shipped weights
//                 (models/specnet2_bami1.ppgw, the default model; skipped when the file is absent),
//                 spectral: SpectralEstimator<C> with its calibration table;
//     C = 1 or 3 PPG channels, then the accelerometer's x, y, z: frames of 4 or 6 floats.
//   Per iteration: one minute of signal (3000 frames at 50 Hz) pushed through one Monitor in 1 s
//   chunks (a sensor driver's), Tracking::hmm (the forward filter over the 180 classes, as in the
//   README's streaming example); the stream goes on from iteration to iteration (the minute is
//   cycled), so every iteration emits 30 windows and there is no start-up cost in the timing.
//   streams_per_core = seconds of signal / CPU seconds of the thread that pushed them: the number of
//   real-time streams one core keeps up with (threads:2: each thread its own estimator and Monitor,
//   the contract of README "Thread safety"; the figure is the two threads' mean, still per core:
//   it shows what running side by side costs, e.g. a shared cache).
//   items/s = windows per CPU second; monitor_bytes, estimator_bytes = the memory one stream holds
//   (sizeof: the Monitor and its estimator).
// The signal is synthetic and fixed-seed (splitmix64): a pulse drifting 70-100 BPM with a harmonic,
// baseline wander and noise on every PPG channel, and 20 s of the minute walking (arm swing on the
// accelerometer and as an artefact on the PPG) so that the artefact removal runs.
// Run: build/benchmarks/ppghr_bench --benchmark_filter=BM_stream_realtime --benchmark_repetitions=5
//      --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <ppghr/models/specnet.hpp>
#include <ppghr/monitor/monitor.hpp>
#include <ppghr/spectral/calibration.hpp>
#include <ppghr/spectral/estimator.hpp>

#include "bench_common.hpp"

#ifndef PPGHR_MODELS_DIR
#error "PPGHR_MODELS_DIR must name the repository's models/ directory"
#endif

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kFs = 50.0;
constexpr std::size_t kChunk = 50;              // 1 s
constexpr std::size_t kMinute = 60 * kChunk;    // frames per iteration
constexpr double kSecondsPerIteration = 60.0;

struct SplitMix {
  std::uint64_t s;
  double symmetric() noexcept {  // [-1, 1)
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return 2.0 * (double(z >> 11) * 0x1.0p-53) - 1.0;
  }
};

// One minute of frames [3000][C + 3].
template <int C>
std::vector<float> minute_of_frames() {
  constexpr std::size_t ch = std::size_t(C) + 3;
  std::vector<float> f(kMinute * ch);
  SplitMix rng{42};
  double phase = 0;
  for (std::size_t i = 0; i < kMinute; ++i) {
    const double t = double(i) / kFs;
    const double hr = 85 + 15 * std::sin(2 * kPi * t / 60.0);
    phase += 2 * kPi * hr / 60.0 / kFs;
    const double walk = (t >= 30 && t < 50) ? 1.0 : 0.0, swing = 2 * kPi * 110.0 / 60.0 * t;
    for (int c = 0; c < C; ++c)
      f[i * ch + std::size_t(c)] =
          float(30000 + 1500 * c + 400 * (std::sin(phase + 0.4 * c) + 0.35 * std::sin(2 * phase + 0.8)) +
                300 * std::sin(2 * kPi * 0.07 * t + c) + 25 * rng.symmetric() + 250 * walk * std::sin(swing / 2));
    f[i * ch + std::size_t(C) + 0] = float(0.45 * walk * std::sin(swing) + 0.01 * rng.symmetric());
    f[i * ch + std::size_t(C) + 1] = float(0.25 * walk * std::sin(swing / 2 + 1) + 0.01 * rng.symmetric());
    f[i * ch + std::size_t(C) + 2] = float(1 + 0.01 * rng.symmetric());
  }
  return f;
}

template <class Est>
void BM_stream_realtime(benchmark::State& state) {
  using Mon = ppghr::Monitor<Est, typename Est::preprocessor>;
  constexpr int C = Est::ppg_channels;
  constexpr std::size_t ch = std::size_t(Est::channels);
  auto est = std::make_unique<Est>();
  typename Mon::Config cfg;
  cfg.preprocessing = Est::preprocessing_config(kFs);
  cfg.tracking = ppghr::Tracking::hmm;
  if constexpr (std::is_same_v<Est, ppghr::SpectralEstimator<C>>) {
    cfg.calibration = ppghr::spectral_calibration(cfg.tracking, 0, true);
  } else if (!est->load_file(PPGHR_MODELS_DIR "/specnet2_bami1.ppgw").ok()) {
    state.SkipWithError("cannot load " PPGHR_MODELS_DIR "/specnet2_bami1.ppgw");
    return;
  }
  auto mon = std::make_unique<Mon>();
  if (mon->init(*est, cfg) != ppghr::DspStatus::ok) {
    state.SkipWithError("Monitor::init");
    return;
  }
  const std::vector<float> frames = minute_of_frames<C>();
  long windows = 0, ok = 0;
  auto sink = [&](const ppghr::WindowResult& r) {
    ++windows;
    ok += r.ok() ? 1 : 0;
    benchmark::DoNotOptimize(r.bpm_tracked);
  };
  auto push_minute = [&] {
    for (std::size_t i = 0; i < kMinute; i += kChunk)
      if (mon->push(frames.data() + i * ch, kChunk, sink) != ppghr::DspStatus::ok) return false;
    return true;
  };
  if (!push_minute()) {  // warm-up: the first window needs 8 s (+ the resampler's latency)
    state.SkipWithError("push");
    return;
  }
  windows = ok = 0;
  const ppghr_bench::CpuStopwatch clock;  // this thread's CPU time
  for (auto _ : state) benchmark::DoNotOptimize(push_minute());
  const double cpu_s = clock.seconds();
  using benchmark::Counter;
  state.SetItemsProcessed(windows);
  // Per thread, then averaged over the threads (kAvgThreads): every figure is one stream's / one core's.
  state.counters["streams_per_core"] =
      Counter(cpu_s > 0 ? kSecondsPerIteration * double(state.iterations()) / cpu_s : 0.0, Counter::kAvgThreads);
  state.counters["ok_fraction"] = Counter(windows > 0 ? double(ok) / double(windows) : 0.0, Counter::kAvgThreads);
  state.counters["monitor_bytes"] = Counter(double(sizeof(Mon)), Counter::kAvgThreads);
  state.counters["estimator_bytes"] = Counter(double(sizeof(Est)), Counter::kAvgThreads);
}

[[maybe_unused]] const int kRegistered = [] {
  using Net = ppghr::SpecNet<2>;
  benchmark::RegisterBenchmark("BM_stream_realtime/specnet2/1ppg", BM_stream_realtime<ppghr::SpectralNet<1, Net>>)
      ->ThreadRange(1, 2);
  benchmark::RegisterBenchmark("BM_stream_realtime/specnet2/3ppg", BM_stream_realtime<ppghr::SpectralNet<3, Net>>)
      ->ThreadRange(1, 2);
  benchmark::RegisterBenchmark("BM_stream_realtime/spectral/1ppg", BM_stream_realtime<ppghr::SpectralEstimator<1>>)
      ->ThreadRange(1, 2);
  benchmark::RegisterBenchmark("BM_stream_realtime/spectral/3ppg", BM_stream_realtime<ppghr::SpectralEstimator<3>>)
      ->ThreadRange(1, 2);
  return 0;
}();

}  // namespace
