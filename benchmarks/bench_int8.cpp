// The shipped int8 networks (models/int8/<model>_int8.ppgw, ppghr::Int8Net<Net>) against their
// float32 twins (models/<model>.ppgw, Net) in one run: BM_int8/<model>/float32 and
// BM_int8/<model>/int8, <model> the float model's name (specnet2_bami1, ...). Both load the real
// shipped weights (the int8 blob read in place from a 64-byte-aligned buffer) and run predict() on
// the same fixed-seed window as bench_predict.cpp (bench_common.hpp: Net::input_size normal values,
// seed 99; the cost does not depend on them). One window per iteration: items/s = windows/s; the
// counters are the network's MACs (Net::macs, the same for both), GMAC/s, and the instruction sets
// as the label ("int8 dot <kind>, float <xsimd arch>").
//
// Built once per instruction set (benchmarks/CMakeLists.txt): ppghr_bench_int8 with the project's
// default flags (int8: the portable q8::dot_ref; float: xsimd's default, SSE2 on x86-64) and
// ppghr_bench_int8_<isa> for avx2 / avxvnni / avx512vnni, the float network compiled with the same
// -m flags in the same executable. benchmarks/int8_table.py runs them and writes the table of
// docs/int8.md.
// Run: build/benchmarks/ppghr_bench_int8_avx512vnni --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <ppghr/int8/network.hpp>
#include <ppghr/ppghr.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

namespace reg = ppghr::registry;

/// A file's bytes at a 64-byte-aligned address (Int8Net reads its blob in place and requires it).
struct AlignedFile {
  struct Free {
    void operator()(unsigned char* p) const { std::free(p); }
  };
  std::unique_ptr<unsigned char[], Free> data;
  std::size_t size = 0;

  bool read(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) return false;
    std::vector<unsigned char> bytes;
    unsigned char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) bytes.insert(bytes.end(), buf, buf + n);
    std::fclose(f);
    size = bytes.size();
    data.reset(static_cast<unsigned char*>(std::aligned_alloc(64, (size + 63) / 64 * 64)));
    if (!data) return false;
    std::memcpy(data.get(), bytes.data(), size);
    return true;
  }
};

std::string model_path(const std::string& file) { return std::string(PPGHR_MODELS_DIR) + "/" + file; }

/// bench_predict's window: Net::input_size fixed-seed normal values.
std::vector<float> window(std::size_t n) {
  std::mt19937 rng(99);
  std::normal_distribution<float> g;
  std::vector<float> w(n);
  for (auto& v : w) v = g(rng);
  return w;
}

std::string isa_label() {
  std::string s = "int8 dot " PPGHR_Q8_DOT_KIND ", float ";
#if PPGHR_HAS_SIMD
  s += xsimd::default_arch::name();
#else
  s += "scalar";
#endif
  return s;
}

/// predict() of `Model` (Net or Int8Net<Net>) loaded from models/<file>, one window per iteration.
template <class Model, class Net>
void predict_bench(benchmark::State& state, const std::string& file) {
  AlignedFile blob;
  if (!blob.read(model_path(file))) {
    state.SkipWithError(("cannot read " + model_path(file)).c_str());
    return;
  }
  auto net = std::make_unique<Model>();
  const ppghr::LoadReport r = net->load(blob.data.get(), blob.size);
  if (!r.ok()) {
    state.SkipWithError(("cannot load " + file + ": " + ppghr::status_name(r.status)).c_str());
    return;
  }
  const std::vector<float> x = window(Net::input_size);
  if (!net->predict(x.data()).ok()) {
    state.SkipWithError(("predict() refused the window: " + file).c_str());
    return;
  }
  for (auto _ : state) {
    const auto& p = net->predict(x.data());
    benchmark::DoNotOptimize(p.bpm);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["MACs"] = double(Net::macs);
  state.counters["GMAC/s"] =
      benchmark::Counter(1e-9 * double(Net::macs) * double(state.iterations()), benchmark::Counter::kIsRate);
  state.SetLabel(isa_label());
}

/// BM_int8/<model>/float32 and BM_int8/<model>/int8 for the shipped pair models/<model>.ppgw,
/// models/int8/<model>_int8.ppgw.
template <class Net>
void register_pair(const char* model) {
  static_assert(ppghr::has_int8_form_v<Net>, "a shipped int8 model's network has an int8 form");
  const std::string m = model;
  benchmark::RegisterBenchmark(("BM_int8/" + m + "/float32").c_str(), [m](benchmark::State& state) {
    predict_bench<Net, Net>(state, m + ".ppgw");
  });
  benchmark::RegisterBenchmark(("BM_int8/" + m + "/int8").c_str(), [m](benchmark::State& state) {
    predict_bench<ppghr::Int8Net<Net>, Net>(state, "int8/" + m + "_int8.ppgw");
  });
}

// The shipped int8 models (models/int8/README.md) and their architectures.
[[maybe_unused]] const int kRegistered = [] {
  // When this executable was compiled (int8_table.py compares it with the headers' changes).
  benchmark::AddCustomContext("ppghr_compiled", __DATE__ " " __TIME__);
  benchmark::AddCustomContext("ppghr_int8_dot", PPGHR_Q8_DOT_KIND);
  register_pair<reg::network_t<reg::index_of("specnet2")>>("specnet2_bami1");
  register_pair<reg::network_t<reg::index_of("specnet6")>>("specnet6_bami1");
  register_pair<reg::network_t<reg::index_of("pulse_student_wn_cls")>>("pulse_student_wn_cls_scratch_bami1");
  register_pair<reg::network_t<reg::index_of("mlp2")>>("mlp2_dkd_from_resnet12_bami1");
  register_pair<reg::network_t<reg::index_of("resnet2")>>("resnet2_bami1");
  return 5;
}();

}  // namespace

BENCHMARK_MAIN();
