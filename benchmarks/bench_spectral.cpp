// The cost of the spectral estimator (include/ppghr/spectral/) and of the decoders
// (include/ppghr/post/decode.hpp), per 8-s window (one window every 2 s of stream):
//   BM_spectral_predict/<C>           SpectralEstimator<C>::predict() on one window, C = 1, 3 PPG channels
//   BM_spectral_window/<C>/<decode>   predict() + the decoding of its probabilities: none, online
//                                     (ForwardFilter::update), lag3 (LagSmoother<8> at lag 3, push)
//                                     -- issue 12's target: <= 50 us for C = 3 (Release, one core)
//   BM_spectral_monitor/<C>/<fs>Hz    the whole Monitor path: 2 s of sensor frames pushed per
//                                     iteration (= one window: resampling to 25 Hz, band-pass, the
//                                     raw-signal quality checks, predict()), at 50 Hz (BAMI) and 256 Hz (wrist)
//   BM_fft/ppghr/1024, BM_fft/eigen/1024  one complex 1024-point forward FFT: the library's
//                                     RadixTwoFft (in place; the copy of the input is timed with it)
//                                     vs Eigen's unsupported FFT module (kissfft, out of place, its
//                                     plan made by a warm-up transform before timing)
//   BM_spectral_features/<C>          SpectralEstimator<C>::features() on one window: the [180][6]
//                                     input of the spectral networks (models/specnet.hpp)
//   BM_specnet/<C>/<arch>             SpectralNet<C, SpecNet<N, W>>::predict() on one window: the
//                                     features and the network (arch = specnet2: SpecNet<2>,
//                                     specnet10w32: SpecNet<10, 32>); fixed-seed uniform weights
//                                     (bench_common.hpp UniformFill) written to a blob and loaded
//   (BM_predict/specnet<N>[w32], SpecNet<N, W>::predict() on the features alone, is registered
//   with every network of the registry in bench_predict.cpp)
//   The specnet benchmarks report MACs (the network's, per window), GFLOP/s = 2 x MACs / time and
//   %peak as the network benchmarks do; in BM_specnet the time includes the features (no MACs).
// items/s = windows (or transforms) per second; memory_bytes = sizeof of the object(s) a user
// holds: the estimator, the decoder, the Monitor (the estimator is held by pointer and counted apart).
// The windows are synthetic and fixed-seed: a pulse at 128 BPM under a stronger step artefact at
// 160 BPM, its arm swing at 80 BPM in a second axis, gravity on the third, noise; the accelerometer
// moves enough (~0.75 g) that the artefact removal runs at full weight, as in a run.
// Run: build/benchmarks/ppghr_bench --benchmark_filter='spectral|specnet|fft' --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <unsupported/Eigen/FFT>

#include <cmath>
#include <complex>
#include <cstddef>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <ppghr/models/specnet.hpp>
#include <ppghr/monitor/monitor.hpp>
#include <ppghr/post/decode.hpp>
#include <ppghr/spectral/estimator.hpp>
#include <ppghr/spectral/fft.hpp>

#include "bench_common.hpp"

namespace {

constexpr double kPi = 3.14159265358979323846;

// The synthetic signal at time t (s): C PPG channels then acc x, y, z (g), into f.
template <int C>
void frame(double t, std::mt19937& rng, float* f, double ppg_dc) {
  std::normal_distribution<double> noise(0.0, 1.0);
  const double hr = 128.0 / 60.0, step = 160.0 / 60.0;
  for (int c = 0; c < C; ++c)
    f[c] = float(ppg_dc + 100.0 * std::sin(2 * kPi * hr * t + 0.3 * c) + 250.0 * std::sin(2 * kPi * step * t + 1.0) +
                 60.0 * std::sin(2 * kPi * 0.5 * step * t) + 2.0 * noise(rng));
  f[C] = float(1.0 * std::sin(2 * kPi * step * t + 1.0) + 0.01 * noise(rng));
  f[C + 1] = float(0.4 * std::sin(2 * kPi * 0.5 * step * t) + 0.01 * noise(rng));
  f[C + 2] = float(1.0 + 0.01 * noise(rng));
}

// One estimator window (channel-major [C + 3][200] at 25 Hz), mean-free like the band-passed input.
template <int C>
std::vector<float> spectral_window() {
  using Est = ppghr::SpectralEstimator<C>;
  std::mt19937 rng(42);
  std::vector<float> w(Est::input_size);
  float f[C + 3];
  for (int n = 0; n < Est::window_length; ++n) {
    frame<C>(n / double(Est::rate_hz), rng, f, 0.0);
    for (int c = 0; c < C + 3; ++c) w[std::size_t(c) * Est::window_length + n] = f[c];
  }
  for (int n = 0; n < Est::window_length; ++n) w[std::size_t(C + 2) * Est::window_length + n] -= 1.0f;  // band-pass removes gravity
  return w;
}

enum class Decode { none, online, lag3 };

template <int C>
void BM_spectral_window(benchmark::State& state, Decode decode) {
  using Est = ppghr::SpectralEstimator<C>;
  auto est = std::make_unique<Est>();
  auto filter = std::make_unique<ppghr::ForwardFilter>();
  auto lag = std::make_unique<ppghr::LagSmoother<8>>();
  if (lag->configure(ppghr::TransitionPrior::bami1(), ppghr::LikelihoodModel{}, 3) != ppghr::DecodeStatus::ok) {
    state.SkipWithError("LagSmoother::configure");
    return;
  }
  const std::vector<float> window = spectral_window<C>();
  if (!est->predict(window.data()).ok()) {
    state.SkipWithError("window refused");
    return;
  }
  for (auto _ : state) {
    const auto& p = est->predict(window.data());
    benchmark::DoNotOptimize(p.bpm);
    if (decode == Decode::online) {
      benchmark::DoNotOptimize(filter->update(p.probabilities.data()));
    } else if (decode == Decode::lag3) {
      benchmark::DoNotOptimize(lag->push(p.probabilities.data()));
    }
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  std::size_t bytes = sizeof(Est);
  if (decode == Decode::online) bytes += sizeof(ppghr::ForwardFilter);
  if (decode == Decode::lag3) bytes += sizeof(ppghr::LagSmoother<8>);
  state.counters["memory_bytes"] = double(bytes);
  state.counters["estimator_bytes"] = double(sizeof(Est));
  state.counters["bpm"] = double(est->result().bpm);
  state.counters["artefacts"] = double(est->artefact_count());
}

template <int C>
void BM_spectral_predict(benchmark::State& state) {
  BM_spectral_window<C>(state, Decode::none);
  state.counters.erase("estimator_bytes");
}

template <int C>
void BM_spectral_monitor(benchmark::State& state, double fs) {
  using Est = ppghr::SpectralEstimator<C>;
  using Mon = ppghr::Monitor<Est, typename Est::preprocessor>;
  auto est = std::make_unique<Est>();
  auto mon = std::make_unique<Mon>();
  typename Mon::Config cfg;
  cfg.preprocessing = Est::preprocessing_config(fs);
  if (mon->init(*est, cfg) != ppghr::DspStatus::ok) {
    state.SkipWithError("Monitor::init refused the rate");
    return;
  }
  // 60 s of frames, periodic (every component has a whole number of cycles in 60 s), pushed 2 s
  // (one window's worth) per iteration and cycled.
  const std::size_t chunk = std::size_t(std::lround(2.0 * fs));
  const std::size_t n = 30 * chunk;
  std::vector<float> frames(n * Est::channels);
  std::mt19937 rng(7);
  for (std::size_t i = 0; i < n; ++i) frame<C>(double(i) / fs, rng, frames.data() + i * Est::channels, 30000.0);
  long windows = 0, ok = 0;
  auto sink = [&](const ppghr::WindowResult& r) {
    ++windows;
    ok += r.ok() ? 1 : 0;
    benchmark::DoNotOptimize(r.bpm);
  };
  std::size_t pos = 0;
  for (int k = 0; k < 8; ++k) {  // warm-up: the first window needs 8 s (+ the resampler's latency)
    if (mon->push(frames.data() + pos * Est::channels, chunk, sink) != ppghr::DspStatus::ok) {
      state.SkipWithError("push");
      return;
    }
    pos = (pos + chunk) % n;
  }
  windows = ok = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(mon->push(frames.data() + pos * Est::channels, chunk, sink));
    pos = (pos + chunk) % n;
  }
  state.SetItemsProcessed(windows);  // windows/s (one per iteration after the warm-up)
  state.counters["windows_per_push"] = double(windows) / double(state.iterations());
  state.counters["ok_fraction"] = windows > 0 ? double(ok) / double(windows) : 0.0;
  state.counters["memory_bytes"] = double(sizeof(Mon));
  state.counters["estimator_bytes"] = double(sizeof(Est));
  state.counters["bpm"] = double(est->result().bpm);
}

template <int C>
void BM_spectral_features(benchmark::State& state) {
  using Est = ppghr::SpectralEstimator<C>;
  auto est = std::make_unique<Est>();
  const std::vector<float> window = spectral_window<C>();
  std::vector<float> features(Est::feature_size);
  if (est->features(window.data(), features.data()) != ppghr::InputStatus::ok) {
    state.SkipWithError("window refused");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(est->features(window.data(), features.data()));
    benchmark::DoNotOptimize(features.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["memory_bytes"] = double(sizeof(Est));
}

// SpectralNet<C, Net>::predict() on the synthetic window: features + network, per window.
template <int C, class Net>
void BM_specnet(benchmark::State& state) {
  using Est = ppghr::SpectralNet<C, Net>;
  auto est = std::make_unique<Est>();
  std::vector<unsigned char> blob(ppghr::blob::blob_size(est->net()));
  std::size_t written = 0;
  if (ppghr::blob::write_blob(est->net(), ppghr_bench::UniformFill{}, blob.data(), blob.size(), &written) !=
          ppghr::Status::ok ||
      !est->load(blob.data(), blob.size()).ok()) {
    state.SkipWithError("could not load weights");
    return;
  }
  const std::vector<float> window = spectral_window<C>();
  if (!est->predict(window.data()).ok()) {
    state.SkipWithError("window refused");
    return;
  }
  const ppghr_bench::CpuStopwatch clock;
  for (auto _ : state) {
    const auto& p = est->predict(window.data());
    benchmark::DoNotOptimize(p.bpm);
    benchmark::ClobberMemory();
  }
  ppghr_bench::set_flop_counters(state, Net::macs, clock.seconds());
  state.counters["memory_bytes"] = double(sizeof(Est));
  state.counters["network_bytes"] = double(sizeof(Net));
  state.counters["bpm"] = double(est->last().bpm);
}

constexpr int kFftN = 1024;

std::vector<std::complex<float>> fft_input() {
  std::mt19937 rng(3);
  std::normal_distribution<float> g;
  std::vector<std::complex<float>> x(kFftN);
  for (auto& v : x) v = {g(rng), g(rng)};
  return x;
}

void BM_fft_ppghr(benchmark::State& state) {
  auto fft = std::make_unique<ppghr::RadixTwoFft<kFftN>>();
  const auto x = fft_input();
  std::vector<float> re(kFftN), im(kFftN);
  for (auto _ : state) {
    for (int i = 0; i < kFftN; ++i) {
      re[i] = x[i].real();
      im[i] = x[i].imag();
    }
    fft->forward(re.data(), im.data());
    benchmark::DoNotOptimize(re.data());
    benchmark::DoNotOptimize(im.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["memory_bytes"] = double(sizeof(ppghr::RadixTwoFft<kFftN>));
}

void BM_fft_eigen(benchmark::State& state) {
  Eigen::FFT<float> fft;
  const auto x = fft_input();
  std::vector<std::complex<float>> y(kFftN);
  fft.fwd(y, x);  // warm-up: kissfft makes (allocates) its plan for this size here
  for (auto _ : state) {
    fft.fwd(y, x);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}

[[maybe_unused]] const int kRegistered = [] {
  benchmark::RegisterBenchmark("BM_spectral_predict/1", BM_spectral_predict<1>);
  benchmark::RegisterBenchmark("BM_spectral_predict/3", BM_spectral_predict<3>);
  const std::pair<const char*, Decode> decodes[] = {{"none", Decode::none}, {"online", Decode::online}, {"lag3", Decode::lag3}};
  for (const auto& d : decodes) {
    const Decode mode = d.second;
    benchmark::RegisterBenchmark((std::string("BM_spectral_window/1/") + d.first).c_str(),
                                 [mode](benchmark::State& s) { BM_spectral_window<1>(s, mode); });
    benchmark::RegisterBenchmark((std::string("BM_spectral_window/3/") + d.first).c_str(),
                                 [mode](benchmark::State& s) { BM_spectral_window<3>(s, mode); });
  }
  for (double fs : {50.0, 256.0}) {
    const std::string hz = std::to_string(int(fs)) + "Hz";
    benchmark::RegisterBenchmark(("BM_spectral_monitor/1/" + hz).c_str(),
                                 [fs](benchmark::State& s) { BM_spectral_monitor<1>(s, fs); });
    benchmark::RegisterBenchmark(("BM_spectral_monitor/3/" + hz).c_str(),
                                 [fs](benchmark::State& s) { BM_spectral_monitor<3>(s, fs); });
  }
  benchmark::RegisterBenchmark("BM_spectral_features/1", BM_spectral_features<1>);
  benchmark::RegisterBenchmark("BM_spectral_features/3", BM_spectral_features<3>);
  benchmark::RegisterBenchmark("BM_specnet/1/specnet2", BM_specnet<1, ppghr::SpecNet<2>>);
  benchmark::RegisterBenchmark("BM_specnet/3/specnet2", BM_specnet<3, ppghr::SpecNet<2>>);
  benchmark::RegisterBenchmark("BM_specnet/3/specnet10w32", BM_specnet<3, ppghr::SpecNet<10, 32>>);
  benchmark::RegisterBenchmark("BM_fft/ppghr/1024", BM_fft_ppghr);
  benchmark::RegisterBenchmark("BM_fft/eigen/1024", BM_fft_eigen);
  return 0;
}();

}  // namespace
