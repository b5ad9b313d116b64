// examples/mcu/int8_dot_main.cpp - ppghr::q8::dot (ppghr/int8/dot.hpp) on the Cortex-M4F: exactness
// against dot_ref() on random inputs, and instructions per MAC on the shapes the int8 networks call
// it with (specnet2, the PULSE student). scripts/mcu.sh builds it as ppghr_mcu_int8_dot (network
// name int8_dot) and runs it under QEMU (-icount: the SysTick counter counts instructions).
//
// Output records (one per line):
//   ppghr-mcu platform=... kernel=<PPGHR_Q8_DOT_KIND>
//   exact cases=N mismatches=M               random shapes, z, weights, inputs, alignments, tails
//   q8dot <shape> npos= rows= chunks= len= macs= calls= dot_instructions= dot_per_mac=
//         ref_instructions= ref_per_mac= exact=yes|no     (counts 0 on the host: no counter)
//   q8layer <layer> c_in= c_out= kernel= T=180 times= macs= dot_instructions= dot_per_mac= ... exact=
//         a whole specnet2 conv layer as the engine calls dot() (npos 4 inside, 1 per edge position)
//   q8net specnet2 macs= dot_instructions= dot_per_mac= ref_instructions= ref_per_mac=  (the sum)
//   checksum crc32=...                        over every output of dot(): the host's must be equal
//   end status=ok|mismatch
// The exit code is 0 only when dot() equals dot_ref() everywhere (and the accumulators' guard
// words are untouched); 5 otherwise.
#include <ppghr/int8/arith.hpp>
#include <ppghr/int8/dot.hpp>

#include <cstddef>
#include <cstdint>

#include "line.hpp"
#include "platform.hpp"

namespace {

namespace q8 = ppghr::q8;

std::uint32_t g_rng = 0x2545F491u;
std::uint32_t rnd() noexcept {  // xorshift32
  std::uint32_t v = g_rng;
  v ^= v << 13;
  v ^= v >> 17;
  v ^= v << 5;
  g_rng = v;
  return v;
}
int rnd_in(int lo, int hi) noexcept { return lo + int(rnd() % std::uint32_t(hi - lo + 1)); }

constexpr int kX = 16384 + 8;
constexpr int kW = 8192 + 8;
constexpr int kAcc = 180 * 32 + 8;
constexpr int kGuard = 4;
std::int8_t g_x[kX];
std::int8_t g_w[kW];
std::int32_t g_bias[180];
std::int32_t g_acc[kAcc + kGuard];
std::int32_t g_ref[kAcc + kGuard];
std::int32_t g_acc2[kAcc + kGuard];
std::int32_t g_ref2[kAcc + kGuard];

struct Args {
  const std::int8_t* x;
  std::ptrdiff_t pos_step;
  int npos;
  q8::Window win;
  std::int32_t z;
  const std::int8_t* w;
  std::ptrdiff_t w_step;
  int rows;
  const std::int32_t* bias;
};

// Out of line, so that neither call is specialised on constant shapes (the engine's are runtime).
__attribute__((noinline)) void call_dot(const Args& a, std::int32_t* acc) noexcept {
  q8::dot(a.x, a.pos_step, a.npos, a.win, a.z, a.w, a.w_step, a.rows, a.bias, acc);
}
__attribute__((noinline)) void call_ref(const Args& a, std::int32_t* acc) noexcept {
  q8::dot_ref(a.x, a.pos_step, a.npos, a.win, a.z, a.w, a.w_step, a.rows, a.bias, acc);
}

std::uint32_t g_crc = 0xFFFFFFFFu;
void crc_add(const std::int32_t* v, int n) noexcept {
  for (int i = 0; i < n; ++i) {
    std::uint32_t u = std::uint32_t(v[i]);
    for (int b = 0; b < 4; ++b) {
      g_crc ^= (u >> (8 * b)) & 0xFFu;
      for (int k = 0; k < 8; ++k) g_crc = (g_crc >> 1) ^ (0xEDB88320u & (0u - (g_crc & 1u)));
    }
  }
}

void fill_random() noexcept {
  for (auto& v : g_x) v = std::int8_t(rnd_in(-128, 127));
  for (auto& v : g_w) v = std::int8_t(rnd_in(-127, 127));
  for (auto& v : g_bias) v = std::int32_t(rnd() % 2000001u) - 1000000;
}

/// dot vs dot_ref on one case (with the same initial accumulators when bias is null); true if equal.
bool check(const Args& a) noexcept {
  const int n = a.npos * a.rows;
  for (int i = 0; i < n + kGuard; ++i) g_acc[i] = g_ref[i] = std::int32_t(rnd() % 2000001u) - 1000000;
  call_ref(a, g_ref);
  call_dot(a, g_acc);
  crc_add(g_acc, n);
  for (int i = 0; i < n + kGuard; ++i)
    if (g_acc[i] != g_ref[i]) return false;
  return true;
}

/// The extent of x one call reads, and of w.
std::ptrdiff_t x_extent(const Args& a) noexcept {
  return (a.npos - 1) * a.pos_step + (a.win.chunks - 1) * a.win.chunk_step + a.win.len;
}

struct Shape {
  const char* name;
  int npos, rows, chunks, len;
  std::ptrdiff_t chunk_step, pos_step;
};

// The calls of the int8 engine (npos 4 in the interior, fewer at the edges).
const Shape kShapes[] = {
    {"specnet2_stem", 4, 16, 1, 42, 0, 6},
    {"specnet2_stem_edge", 3, 16, 1, 30, 0, 6},
    {"specnet2_block", 4, 16, 1, 112, 0, 16},
    {"specnet2_block_edge", 1, 16, 1, 64, 0, 16},
    {"specnet2_head1", 4, 16, 1, 16, 0, 16},
    {"specnet2_head2", 4, 1, 1, 16, 0, 16},
    {"pulse_row_cin1_d2", 4, 16, 3, 1, 2, 1},
    {"pulse_row_cin16_d2", 4, 16, 3, 16, 32, 16},
    {"pulse_row_cin24_d3", 4, 24, 3, 24, 72, 24},
    {"pulse_row_cin32_d4", 4, 32, 3, 32, 128, 32},
    {"pulse_row_cin32_d2_edge", 2, 32, 3, 32, 64, 32},
    {"pulse_modality", 4, 32, 4, 32, 256, 32},
    {"pulse_linear_256x32", 1, 32, 1, 256, 0, 256},
    {"pulse_linear_32x180", 1, 180, 1, 32, 0, 32},
};

int g_cases = 0;
int g_bad = 0;

void random_cases(int count) noexcept {
  for (int c = 0; c < count; ++c) {
    Args a{};
    a.npos = rnd_in(1, 4);
    a.rows = rnd_in(1, 7);
    a.win.chunks = rnd_in(1, 4);
    a.win.len = (c % 3 == 0) ? rnd_in(1, 48) : rnd_in(1, 13);
    if (c % 10 == 1) {  // long windows (the 2-position path beyond 320 values, the dot_ref fallback) and more rows
      a.win.chunks = rnd_in(1, 2);
      a.win.len = rnd_in(1, 700 / a.win.chunks);
      a.rows = rnd_in(1, 20);
    }
    const int L = a.win.chunks * a.win.len;
    a.win.chunk_step = a.win.len + rnd_in(0, 40);
    a.pos_step = rnd_in(0, 40) + (c % 10 == 1 ? rnd_in(0, 200) : 0);
    a.z = rnd_in(-128, 127);
    a.w_step = L + rnd_in(0, 5);
    a.x = g_x + rnd_in(0, 3);
    a.w = g_w + rnd_in(0, 3);
    a.bias = (rnd() & 1u) != 0 ? g_bias : nullptr;
    if (x_extent(a) + 4 > kX || a.rows * a.w_step + 4 > kW) continue;
    ++g_cases;
    if (!check(a)) ++g_bad;
  }
}

/// Windows at and around the expansion cap (640 values; longer ones run in pieces), zero length, and
/// the extreme products (x - z = -255 / +255 against w = -127 / +127).
void special_cases() noexcept {
  const int lens[] = {0, 1, 2, 3, 4, 5, 255, 256, 257, 317, 318, 319, 320, 321, 639, 640, 641, 700, 1000};
  for (int len : lens) {
    for (int chunks = 1; chunks <= 2; ++chunks) {
     for (int npos = 3; npos <= 4; ++npos) {
      Args a{};
      a.npos = npos;
      a.rows = 3;
      a.win.chunks = chunks;
      a.win.len = chunks == 1 ? len : len / 2;
      a.win.chunk_step = a.win.len + 3;
      a.pos_step = 5;
      a.z = rnd_in(-128, 127);
      a.w_step = chunks * a.win.len + 1;
      a.x = g_x + 1;
      a.w = g_w + 2;
      a.bias = len % 2 == 0 ? g_bias : nullptr;
      ++g_cases;
      if (!check(a)) ++g_bad;
     }
    }
  }
  // Extremes: saved and restored so the benchmark sees random data.
  static std::int8_t sx[1024], sw[1024];
  for (int i = 0; i < 1024; ++i) {
    sx[i] = g_x[i];
    sw[i] = g_w[i];
  }
  for (int sign = 0; sign < 4; ++sign) {
    for (int i = 0; i < 1024; ++i) {
      g_x[i] = (sign & 1) != 0 ? std::int8_t(-128) : std::int8_t(127);
      g_w[i] = (sign & 2) != 0 ? std::int8_t(-127) : std::int8_t(127);
    }
    Args a{};
    a.npos = 4;
    a.rows = 3;
    a.win.chunks = 1;
    a.win.len = 203;  // |acc| <= 203 * 127 * 255 + 1e6 < 2^31
    a.pos_step = 7;
    a.z = (sign & 1) != 0 ? 127 : -128;
    a.w_step = 203;
    a.x = g_x;
    a.w = g_w;
    a.bias = g_bias;
    ++g_cases;
    if (!check(a)) ++g_bad;
  }
  for (int i = 0; i < 1024; ++i) {
    g_x[i] = sx[i];
    g_w[i] = sw[i];
  }
}

void milli(Line& l, std::uint64_t num, std::uint64_t den) noexcept {  // num / den with 3 decimals
  const std::uint64_t m = den == 0 ? 0 : (num * 1000u + den / 2) / den;
  l.u64(m / 1000).str(".");
  const unsigned f = unsigned(m % 1000);
  char d[4] = {char('0' + f / 100), char('0' + f / 10 % 10), char('0' + f % 10), '\0'};
  l.str(d);
}

void bench(const Shape& s) noexcept {
  Line& l = g_line;
  Args a{};
  a.npos = s.npos;
  a.rows = s.rows;
  a.win.chunks = s.chunks;
  a.win.len = s.len;
  a.win.chunk_step = s.chunk_step;
  a.pos_step = s.pos_step;
  a.z = rnd_in(-128, 127);
  a.w_step = s.chunks * s.len;
  a.x = g_x + 1;  // unaligned on purpose: the engine's windows start anywhere
  a.w = g_w;
  a.bias = g_bias;
  // Exact, with bias and accumulating.
  bool exact = check(a);
  Args b = a;
  b.bias = nullptr;
  exact = check(b) && exact;
  g_cases += 2;
  if (!exact) ++g_bad;

  const std::uint64_t macs = std::uint64_t(s.npos) * s.rows * s.chunks * s.len;
  const std::uint64_t calls = macs >= 100000u ? 1u : (100000u + macs - 1) / macs;  // >= 1e5 MACs timed
  std::uint64_t t0 = plat::instructions();
  for (std::uint64_t i = 0; i < calls; ++i) call_dot(a, g_acc);
  std::uint64_t t1 = plat::instructions();
  const std::uint64_t dot_i = t1 - t0;
  t0 = plat::instructions();
  for (std::uint64_t i = 0; i < calls; ++i) call_ref(a, g_ref);
  t1 = plat::instructions();
  const std::uint64_t ref_i = t1 - t0;
  l.str("q8dot ").str(s.name).str(" npos=").u64(std::uint64_t(s.npos)).str(" rows=").u64(std::uint64_t(s.rows));
  l.str(" chunks=").u64(std::uint64_t(s.chunks)).str(" len=").u64(std::uint64_t(s.len)).str(" macs=").u64(macs);
  l.str(" calls=").u64(calls).str(" dot_instructions=").u64(dot_i).str(" dot_per_mac=");
  milli(l, dot_i, macs * calls);
  l.str(" ref_instructions=").u64(ref_i).str(" ref_per_mac=");
  milli(l, ref_i, macs * calls);
  l.str(" exact=").str(exact ? "yes" : "no").flush();
}

/// A whole conv1d layer over x[T][c_in] (kernel K, stride 1, zero padding (K - 1) / 2), called the
/// way the int8 engine calls dot(): npos = 4 over the interior, one call per edge position with
/// the kernel cut by the padding. Returns the MACs; adds the instructions of dot / dot_ref.
struct LayerCount {
  std::uint64_t macs = 0, dot_i = 0, ref_i = 0;
};
using DotFn = void (*)(const Args&, std::int32_t*);
__attribute__((noinline)) std::uint64_t run_conv(DotFn fn, int c_in, int c_out, int K, int T, std::int32_t z,
                                                 std::int32_t* out) noexcept {
  const int P = (K - 1) / 2;
  std::uint64_t macs = 0;
  Args a{};
  a.z = z;
  a.w_step = K * c_in;
  a.rows = c_out;
  a.bias = g_bias;
  a.pos_step = c_in;
  for (int t = 0; t < T;) {
    const int lo0 = t - P;
    if (lo0 < 0 || lo0 + K > T) {  // an edge position: its own call, the kernel cut
      const int lo = lo0 < 0 ? 0 : lo0;
      const int hi = lo0 + K > T ? T : lo0 + K;
      a.x = g_x + 3 + lo * c_in;
      a.npos = 1;
      a.win = q8::Window{1, (hi - lo) * c_in, 0};
      a.w = g_w + (lo - lo0) * c_in;
      fn(a, out + t * c_out);
      macs += std::uint64_t(c_out) * std::uint64_t((hi - lo) * c_in);
      ++t;
      continue;
    }
    int n = 0;
    while (n < 4 && t + n - P + K <= T) ++n;
    a.x = g_x + 3 + lo0 * c_in;
    a.npos = n;
    a.win = q8::Window{1, K * c_in, 0};
    a.w = g_w;
    fn(a, out + t * c_out);
    macs += std::uint64_t(n) * std::uint64_t(c_out) * std::uint64_t(K * c_in);
    t += n;
  }
  return macs;
}

void bench_conv(const char* name, int c_in, int c_out, int K, int times, LayerCount& total) noexcept {
  Line& l = g_line;
  constexpr int T = 180;
  const std::int32_t z = rnd_in(-128, 127);
  std::uint64_t t0 = plat::instructions();
  const std::uint64_t macs = run_conv(call_dot, c_in, c_out, K, T, z, g_acc2);
  std::uint64_t t1 = plat::instructions();
  const std::uint64_t dot_i = t1 - t0;
  t0 = plat::instructions();
  run_conv(call_ref, c_in, c_out, K, T, z, g_ref2);
  t1 = plat::instructions();
  const std::uint64_t ref_i = t1 - t0;
  bool exact = true;
  for (int i = 0; i < T * c_out; ++i) exact = exact && g_acc2[i] == g_ref2[i];
  crc_add(g_acc2, T * c_out);
  ++g_cases;
  if (!exact) ++g_bad;
  total.macs += macs * std::uint64_t(times);
  total.dot_i += dot_i * std::uint64_t(times);
  total.ref_i += ref_i * std::uint64_t(times);
  l.str("q8layer ").str(name).str(" c_in=").u64(std::uint64_t(c_in)).str(" c_out=").u64(std::uint64_t(c_out));
  l.str(" kernel=").u64(std::uint64_t(K)).str(" T=180 times=").u64(std::uint64_t(times)).str(" macs=").u64(macs);
  l.str(" dot_instructions=").u64(dot_i).str(" dot_per_mac=");
  milli(l, dot_i, macs);
  l.str(" ref_instructions=").u64(ref_i).str(" ref_per_mac=");
  milli(l, ref_i, macs);
  l.str(" exact=").str(exact ? "yes" : "no").flush();
}

}  // namespace

/// The fixed-point primitives as this build compiles them (on the M4: SMULL, SSAT) against their
/// 64-bit definitions (arith.hpp): requantize32 == requantize, saturate8 == clamp8 of the sum.
/// Returns the mismatches; `cases` gets the number of checks.
int primitives(int& cases) noexcept {
  namespace q8 = ppghr::q8;
  int bad = 0;
  cases = 0;
  auto any = [] { return static_cast<std::int32_t>(rnd()); };
  for (int i = 0; i < 20000; ++i, ++cases) {
    const std::int32_t acc = i % 3 != 0 ? any() : any() >> (i % 31);
    const std::int32_t m = i % 7 != 0 ? std::int32_t(rnd() >> 1) : (1 << 30);
    const std::int32_t sh = rnd_in(-31, 30);
    bad += q8::requantize32(acc, m, sh) != q8::requantize(acc, m, sh);
  }
  const std::int32_t accs[] = {INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX}, ms[] = {0, 1, 1 << 30, INT32_MAX};
  for (std::int32_t acc : accs)
    for (std::int32_t m : ms)
      for (std::int32_t sh = -31; sh <= 30; ++sh, ++cases) bad += q8::requantize32(acc, m, sh) != q8::requantize(acc, m, sh);
  for (int i = 0; i < 20000; ++i, ++cases) {
    const std::int32_t v = i % 2 != 0 ? any() : any() >> 22, z = std::int32_t(i % 256) - 128, lo = i % 3 != 0 ? z : -128;
    bad += q8::saturate8(v, z, lo) != q8::clamp8(std::int64_t(v) + z, lo);
  }
  const std::int32_t vs[] = {INT32_MIN, -513, -512, -511, -129, -128, 0, 127, 128, 511, 512, 513, INT32_MAX};
  for (std::int32_t v : vs)
    for (std::int32_t z = -128; z <= 127; ++z, ++cases) bad += q8::saturate8(v, z, z) != q8::clamp8(std::int64_t(v) + z, z);
  return bad;
}

int plat::app_main() noexcept {
  static_cast<void>(&bits);  // line.hpp's float helper: unused here
  Line& l = g_line;
  l.str("ppghr-mcu platform=").str(plat::name()).str(" net=int8_dot kernel=\"").str(PPGHR_Q8_DOT_KIND).str("\"").flush();
  std::uint64_t t0 = plat::instructions();
  plat::spin(100000);
  std::uint64_t t1 = plat::instructions();
  l.str("calibration spin=200000 measured=").u64(t1 - t0).flush();

  fill_random();
  random_cases(10000);
  special_cases();
  l.str("exact cases=").u64(std::uint64_t(g_cases)).str(" mismatches=").u64(std::uint64_t(g_bad)).flush();
  int prim_cases = 0;
  const int prim_bad = primitives(prim_cases);
  g_bad += prim_bad;
  l.str("primitives cases=").u64(std::uint64_t(prim_cases)).str(" mismatches=").u64(std::uint64_t(prim_bad)).flush();
  for (const Shape& s : kShapes) bench(s);
  // specnet2 (SpecNet<2>, width 16, features [180][6]) layer by layer, as the engine calls dot().
  LayerCount net;
  bench_conv("specnet2_stem", 6, 16, 7, 1, net);
  bench_conv("specnet2_block_conv", 16, 16, 7, 4, net);  // 2 blocks x 2 convs
  bench_conv("specnet2_head1", 16, 16, 1, 1, net);
  bench_conv("specnet2_head2", 16, 1, 1, 1, net);
  l.str("q8net specnet2 macs=").u64(net.macs).str(" dot_instructions=").u64(net.dot_i).str(" dot_per_mac=");
  milli(l, net.dot_i, net.macs);
  l.str(" ref_instructions=").u64(net.ref_i).str(" ref_per_mac=");
  milli(l, net.ref_i, net.macs);
  l.flush();
  l.str("exact_total cases=").u64(std::uint64_t(g_cases)).str(" mismatches=").u64(std::uint64_t(g_bad)).flush();
  l.str("checksum crc32=").hex32(~g_crc).flush();
  l.str("stack high_water=").u64(plat::stack_high_water()).str(" reserved=").u64(plat::stack_reserved()).flush();
  l.str("end status=").str(g_bad == 0 ? "ok" : "mismatch").flush();
  return g_bad == 0 ? 0 : 5;
}
