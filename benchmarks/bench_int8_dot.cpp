// ppghr::q8::dot (the build's x86 variant, PPGHR_Q8_DOT_KIND) against ppghr::q8::dot_ref on the
// calls the int8 networks make, in one run: BM_Q8Dot/<shape>/<z>/<impl>, impl 0 = dot_ref,
// 1 = dot; z 0 = zero point -128 (a ReLU output: the VNNI path needs no sum(w) correction),
// 1 = zero point 5 (the network input; with the correction). One call per iteration (npos = 4, an
// interior call, unless the shape says otherwise); fixed-seed random int8 data.
// Counters: MAC/s (rows * npos * chunks * len multiply-accumulates per call) and the call's MACs.
// Built once per instruction set (benchmarks/CMakeLists.txt: ppghr_bench_int8_dot_<isa>).
#include <benchmark/benchmark.h>

#include <ppghr/int8/dot.hpp>

#include <cstdint>
#include <random>
#include <vector>

namespace {

using ppghr::q8::Window;

struct Shape {
  const char* name;
  int npos;
  std::ptrdiff_t pos_step;
  Window win;
  int rows;
};

const Shape kShapes[] = {
    {"specnet2_stem_len42_r16", 4, 6, {1, 42, 0}, 16},
    {"specnet2_block_len112_r16", 4, 16, {1, 112, 0}, 16},
    {"specnet2_head1_len16_r16", 4, 16, {1, 16, 0}, 16},
    {"specnet2_head2_len16_r1", 4, 16, {1, 16, 0}, 1},
    {"pulse_row_3x1_d2_r16", 4, 1, {3, 1, 2}, 16},
    {"pulse_row_3x16_d2_r24", 4, 16, {3, 16, 32}, 24},
    {"pulse_row_3x24_d3_r32", 4, 24, {3, 24, 72}, 32},
    {"pulse_row_3x32_d4_r32", 4, 32, {3, 32, 128}, 32},
    {"pulse_modality_4x32_r32", 4, 32, {4, 32, 256}, 32},
    {"pulse_linear_256_r32", 1, 0, {1, 256, 0}, 32},
    {"pulse_linear_32_r180", 1, 0, {1, 32, 0}, 180},
    {"resnet2_stem_len5_r32", 4, 1, {1, 5, 0}, 32},
    {"resnet2_conv_s2_len160_r32", 4, 64, {1, 160, 0}, 32},
};

void BM_Q8Dot(benchmark::State& state) {
  const Shape& s = kShapes[state.range(0)];
  const std::int32_t z = state.range(1) == 0 ? -128 : 5;
  const bool fast = state.range(2) != 0;
  const int K = s.win.chunks * s.win.len;
  const std::ptrdiff_t x_extent = (s.npos - 1) * s.pos_step + (s.win.chunks - 1) * s.win.chunk_step + s.win.len;
  std::mt19937 rng(16);
  std::uniform_int_distribution<int> xd(-128, 127), wd(-127, 127);
  std::vector<std::int8_t> x(std::size_t(x_extent) + 1), w(std::size_t(s.rows) * std::size_t(K) + 1);
  for (auto& v : x) v = std::int8_t(xd(rng));
  for (auto& v : w) v = std::int8_t(wd(rng));
  std::vector<std::int32_t> bias(std::size_t(s.rows)), acc(std::size_t(s.rows) * std::size_t(s.npos));
  for (auto& b : bias) b = xd(rng) * 100;
  // +1: the network's buffers need not be aligned.
  for (auto _ : state) {
    if (fast)
      ppghr::q8::dot(x.data() + 1, s.pos_step, s.npos, s.win, z, w.data() + 1, K, s.rows, bias.data(), acc.data());
    else
      ppghr::q8::dot_ref(x.data() + 1, s.pos_step, s.npos, s.win, z, w.data() + 1, K, s.rows, bias.data(), acc.data());
    benchmark::DoNotOptimize(acc.data());
    benchmark::ClobberMemory();
  }
  const double macs = double(s.rows) * s.npos * K;
  state.counters["MAC/s"] = benchmark::Counter(macs * double(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["MACs"] = macs;
  state.SetLabel(std::string(s.name) + (fast ? " dot " PPGHR_Q8_DOT_KIND : " dot_ref"));
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"shape", "z", "impl"});
  for (int i = 0; i < int(sizeof kShapes / sizeof kShapes[0]); ++i)
    for (int z = 0; z < 2; ++z)
      for (int impl = 0; impl < 2; ++impl) b->Args({i, z, impl});
}

BENCHMARK(BM_Q8Dot)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
