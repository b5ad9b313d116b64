// ppghr::q8::dot (ppghr/int8/dot_x86.hpp) against ppghr::q8::dot_ref: EXACTLY equal (max abs
// difference 0) on random data: z in [-128, 127] (and -128 itself, the VNNI path without the
// sum(w) correction), weights in [-127, 127], x over the whole int8 range (and the extremes), every
// shape of the int8 networks (specnet2, PULSE student, resnet2) and random small ones, npos 1..6,
// bias null (accumulate) and not, unaligned pointers, and x / w ending at an unreadable page, so a
// read past the data dot_ref reads would crash the test.
//
// Built once per instruction set (tests/CMakeLists.txt: ppghr_int8_dot_tests_<isa>, each with its
// -m flags and PPGHR_EXPECT_KIND); a CPU without that instruction set skips, saying so.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <ppghr/int8/dot.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using ppghr::q8::Window;

bool cpu_has_isa() {
  __builtin_cpu_init();
#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VL__)
  return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2");
#elif defined(__AVXVNNI__)
  return __builtin_cpu_supports("avxvnni") && __builtin_cpu_supports("avx2");
#elif defined(__AVX2__)
  return __builtin_cpu_supports("avx2");
#else
  return true;
#endif
}

bool skip_without_isa() {
  if (cpu_has_isa()) return false;
  MESSAGE("SKIPPED: this CPU lacks the instruction set of this build (" PPGHR_Q8_DOT_KIND ")");
  return true;
}

// n bytes that end exactly where an unreadable page begins, or (at_start) begin exactly where one
// ends (x86 hosts: Linux mmap).
class GuardedBytes {
 public:
  GuardedBytes(std::size_t n, bool at_start) : n_(n), at_start_(at_start) {
    page_ = std::size_t(sysconf(_SC_PAGESIZE));
    pages_ = (n + page_ - 1) / page_ + 1;
    void* m = mmap(nullptr, pages_ * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(m != MAP_FAILED);
    base_ = static_cast<std::uint8_t*>(m);
    REQUIRE(mprotect(base_ + (at_start ? 0 : (pages_ - 1) * page_), page_, PROT_NONE) == 0);
  }
  ~GuardedBytes() { munmap(base_, pages_ * page_); }
  GuardedBytes(const GuardedBytes&) = delete;
  GuardedBytes& operator=(const GuardedBytes&) = delete;
  std::int8_t* data() { return reinterpret_cast<std::int8_t*>(at_start_ ? base_ + page_ : base_ + (pages_ - 1) * page_ - n_); }

 private:
  std::size_t n_;
  bool at_start_;
  std::size_t page_ = 0, pages_ = 0;
  std::uint8_t* base_ = nullptr;
};

struct Shape {
  const char* name;
  int npos;
  std::ptrdiff_t pos_step;
  Window win;
  int rows;
  std::ptrdiff_t w_extra = 0;  // w_step = chunks * len + w_extra
};

// Runs dot and dot_ref on one random case; returns the max abs difference of the accumulators.
// guarded: 0 = plain vectors at offsets x_off / w_off, 1 = x and w end at an unreadable page,
// 2 = they begin right after one.
long long run_case(const Shape& s, std::mt19937& rng, bool with_bias, int guarded, int x_off, int w_off,
                   int z_mode, std::string& what) {
  const int K = s.win.chunks * s.win.len;
  const std::ptrdiff_t w_step = K + s.w_extra;
  std::ptrdiff_t x_extent = 1;
  {
    std::ptrdiff_t lo = 0, hi = 0;
    for (int p = 0; p < s.npos; ++p)
      for (int j = 0; j < s.win.chunks; ++j) {
        const std::ptrdiff_t a = p * s.pos_step + j * s.win.chunk_step;
        if (a < lo) lo = a;
        if (a + s.win.len > hi) hi = a + s.win.len;
      }
    REQUIRE(lo == 0);
    x_extent = hi > 0 ? hi : 1;
  }
  const std::size_t w_extent = std::size_t(s.rows > 0 ? (s.rows - 1) * w_step + K : 0) + 1;
  std::uniform_int_distribution<int> xd(-128, 127), wd(-127, 127), zd(-128, 127), bd(-100000, 100000);
  std::uniform_int_distribution<int> extreme(0, 3);
  const std::int32_t z = z_mode == 0 ? -128 : z_mode == 1 ? 127 : zd(rng);

  std::vector<std::int8_t> xv(std::size_t(x_extent) + 64), wv(w_extent + 64);
  GuardedBytes xg{std::size_t(x_extent), guarded == 2}, wg{w_extent, guarded == 2};
  std::int8_t* x = guarded != 0 ? xg.data() : xv.data() + x_off;
  std::int8_t* w = guarded != 0 ? wg.data() : wv.data() + w_off;
  for (std::ptrdiff_t i = 0; i < x_extent; ++i) {
    const int e = extreme(rng);  // a quarter of the values at the extremes
    x[i] = std::int8_t(e == 0 ? (xd(rng) & 1 ? 127 : -128) : xd(rng));
  }
  for (std::size_t i = 0; i < w_extent; ++i) {
    const int e = extreme(rng);
    w[i] = std::int8_t(e == 0 ? (wd(rng) & 1 ? 127 : -127) : wd(rng));
  }
  std::vector<std::int32_t> bias(std::size_t(s.rows) + 1);
  for (auto& b : bias) b = bd(rng);
  const std::size_t n_acc = std::size_t(s.npos) * std::size_t(s.rows);
  std::vector<std::int32_t> a_ref(n_acc + 1), a_dot(n_acc + 1);
  for (std::size_t i = 0; i < n_acc + 1; ++i) a_ref[i] = a_dot[i] = bd(rng);  // the accumulate case's start
  const std::int32_t* bp = with_bias ? bias.data() + 1 : nullptr;  // +1: unaligned
  ppghr::q8::dot_ref(x, s.pos_step, s.npos, s.win, z, w, w_step, s.rows, bp, a_ref.data() + 1);
  ppghr::q8::dot(x, s.pos_step, s.npos, s.win, z, w, w_step, s.rows, bp, a_dot.data() + 1);
  long long worst = 0;
  for (std::size_t i = 0; i < n_acc + 1; ++i) {
    const long long d = std::llabs((long long)a_ref[i] - (long long)a_dot[i]);
    if (d > worst) worst = d;
  }
  what = std::string(s.name) + " npos " + std::to_string(s.npos) + " len " + std::to_string(s.win.len) +
         " chunks " + std::to_string(s.win.chunks) + " rows " + std::to_string(s.rows) + " z " + std::to_string(z) +
         (with_bias ? " bias" : " accumulate") + (guarded == 1 ? " guarded end" : guarded == 2 ? " guarded start" : "");
  return worst;
}

std::vector<Shape> network_shapes() {
  std::vector<Shape> v;
  for (int npos = 1; npos <= 4; ++npos) {
    // specnet2: x[180][c], one chunk per position, pos_step c_in.
    v.push_back({"specnet2 stem", npos, 6, {1, 42, 0}, 16});
    v.push_back({"specnet2 stem edge", npos, 6, {1, 36, 0}, 16});
    v.push_back({"specnet2 block", npos, 16, {1, 112, 0}, 16});
    v.push_back({"specnet2 block edge", npos, 16, {1, 96, 0}, 16});
    v.push_back({"specnet2 head1", npos, 16, {1, 16, 0}, 16});
    v.push_back({"specnet2 head2", npos, 16, {1, 16, 0}, 1});
    // PULSE student: 3 chunks of c_in, d * c_in apart.
    const int cins[] = {1, 16, 24, 32};
    const int rws[] = {16, 24, 32};
    for (int cin : cins)
      for (int d = 2; d <= 4; ++d)
        for (int r : rws) v.push_back({"pulse rowconv", npos, cin, {3, cin, std::ptrdiff_t(d) * cin}, r});
    v.push_back({"pulse modality", npos, 32, {4, 32, 256}, 32});
    // resnet2
    v.push_back({"resnet2 stem", npos, 1, {1, 5, 0}, 32});
    v.push_back({"resnet2 conv s2", npos, 64, {1, 160, 0}, 32});
  }
  v.push_back({"pulse linear 256", 1, 0, {1, 256, 0}, 32});
  v.push_back({"pulse linear 32", 1, 0, {1, 32, 0}, 180});
  return v;
}

}  // namespace

TEST_CASE("q8::dot: the build's kind") {
  MESSAGE("PPGHR_Q8_DOT_KIND = " PPGHR_Q8_DOT_KIND);
#ifdef PPGHR_EXPECT_KIND
  CHECK(std::string(PPGHR_Q8_DOT_KIND) == PPGHR_EXPECT_KIND);
#endif
}

TEST_CASE("q8::dot == q8::dot_ref exactly: the int8 networks' shapes") {
  if (skip_without_isa()) return;
  std::mt19937 rng(16);
  long long worst = 0;
  int cases = 0;
  for (const Shape& s : network_shapes())
    for (int bias = 0; bias < 2; ++bias)
      for (int z_mode = 0; z_mode < 3; ++z_mode) {
        std::string what;
        const long long d = run_case(s, rng, bias != 0, cases % 3, cases % 7, cases % 5, z_mode, what);
        if (d != 0) FAIL_CHECK(what << ": max abs difference " << d);
        worst = d > worst ? d : worst;
        ++cases;
      }
  MESSAGE(cases << " cases, max abs difference " << worst);
  CHECK(worst == 0);
}

TEST_CASE("q8::dot == q8::dot_ref exactly: random shapes, unaligned, guard pages") {
  if (skip_without_isa()) return;
  std::mt19937 rng(1601);
  std::uniform_int_distribution<int> npos_d(1, 6), chunks_d(1, 5), len_d(1, 80), rows_d(1, 37), extra_d(0, 40);
  std::uniform_int_distribution<int> off_d(0, 63), coin(0, 1), z_mode_d(0, 2);
  long long worst = 0;
  int cases = 0;
  for (int it = 0; it < 3000; ++it) {
    Shape s{"random", npos_d(rng), 0, {chunks_d(rng), len_d(rng), 0}, rows_d(rng), coin(rng) ? 0 : extra_d(rng)};
    s.win.chunk_step = s.win.len + (coin(rng) ? 0 : extra_d(rng));
    s.pos_step = coin(rng) ? std::uniform_int_distribution<int>(0, 3 * s.win.len)(rng)
                           : std::ptrdiff_t(s.win.chunks) * s.win.chunk_step;
    if (it % 50 == 0) s.win.len = 512 + len_d(rng) * 9;  // more than one packing pass (kBlock = 512)
    if (it % 50 == 1) s.win.chunks = 1 + len_d(rng) / 4, s.win.len = 40 + len_d(rng);
    if (s.win.chunk_step < s.win.len && coin(rng)) s.win.chunk_step = s.win.len;
    std::string what;
    const long long d =
        run_case(s, rng, coin(rng) != 0, it % 3, off_d(rng), off_d(rng), z_mode_d(rng), what);
    if (d != 0) FAIL_CHECK(what << ": max abs difference " << d);
    worst = d > worst ? d : worst;
    ++cases;
  }
  MESSAGE(cases << " cases, max abs difference " << worst);
  CHECK(worst == 0);
}

TEST_CASE("q8::dot: empty windows and the largest accumulators") {
  if (skip_without_isa()) return;
  // chunks or len 0: the base only.
  std::int8_t x[4] = {1, 2, 3, 4}, w[4] = {5, 6, 7, 8};
  std::int32_t bias[2] = {7, -9}, a[4] = {1, 2, 3, 4}, r[4] = {1, 2, 3, 4};
  ppghr::q8::dot(x, 1, 2, Window{1, 0, 0}, 3, w, 0, 2, nullptr, a);
  ppghr::q8::dot_ref(x, 1, 2, Window{1, 0, 0}, 3, w, 0, 2, nullptr, r);
  CHECK(std::memcmp(a, r, sizeof a) == 0);
  ppghr::q8::dot(x, 1, 2, Window{0, 4, 0}, 3, w, 0, 2, bias, a);
  ppghr::q8::dot_ref(x, 1, 2, Window{0, 4, 0}, 3, w, 0, 2, bias, r);
  CHECK(std::memcmp(a, r, sizeof a) == 0);
  // Every product at its extreme (+-255 * +-127) over a long window: no step saturates.
  for (int sign = 0; sign < 4; ++sign) {
    const int len = 4096;
    std::vector<std::int8_t> xs(len, std::int8_t(sign & 1 ? 127 : -128)), ws(std::size_t(len) * 3, std::int8_t(sign & 2 ? 127 : -127));
    const std::int32_t z = sign & 1 ? -128 : 127;
    std::vector<std::int32_t> ad(3), ar(3);
    ppghr::q8::dot(xs.data(), 0, 1, Window{1, len, 0}, z, ws.data(), len, 3, nullptr, ad.data());
    ppghr::q8::dot_ref(xs.data(), 0, 1, Window{1, len, 0}, z, ws.data(), len, 3, nullptr, ar.data());
    CHECK(ad == ar);
    CHECK(std::llabs((long long)ar[0]) == 255LL * 127LL * len);
  }
}

// ---- ppghr/int8/conv_x86.hpp: the x86 VNNI convolution and the vector requantisation, ADD,
// input quantisation, AFFINE and pools, against the scalar reference (arith.hpp, dot_ref and
// Core's scalar loops, written out here): EXACTLY equal (0 differing values).
#include <ppghr/int8/arith.hpp>
#include <ppghr/int8/conv_x86.hpp>

#include <cmath>
#include <cstdlib>

namespace {

namespace q8 = ppghr::q8;

struct AlignedBuf {
  explicit AlignedBuf(std::size_t n) : p(static_cast<std::uint8_t*>(std::aligned_alloc(64, (n + 63) / 64 * 64 + 64))) {
    std::memset(p, 0xA5, (n + 63) / 64 * 64 + 64);
  }
  ~AlignedBuf() { std::free(p); }
  AlignedBuf(const AlignedBuf&) = delete;
  AlignedBuf& operator=(const AlignedBuf&) = delete;
  std::uint8_t* p;
};

[[maybe_unused]] std::int32_t random_mult(std::mt19937& rng) {
  std::uniform_int_distribution<std::int64_t> m(0, INT32_MAX);
  const int e = std::uniform_int_distribution<int>(0, 9)(rng);
  if (e == 0) return 0;
  if (e == 1) return INT32_MAX;
  if (e == 2) return std::int32_t(1) << 30;
  return std::int32_t(m(rng));
}
[[maybe_unused]] std::int32_t random_shift(std::mt19937& rng) {
  const int e = std::uniform_int_distribution<int>(0, 9)(rng);
  if (e < 6) return std::uniform_int_distribution<int>(-12, 0)(rng);  // quant.py's range
  return std::uniform_int_distribution<int>(-31, 30)(rng);
}

}  // namespace

TEST_CASE("q8 vector requantisation (conv_x86.hpp) == requantize32 + saturate8 exactly") {
#if PPGHR_Q8_VEC
  if (skip_without_isa()) return;
  std::mt19937 rng(8);
  std::uniform_int_distribution<std::int64_t> ad(INT32_MIN, INT32_MAX);
  std::uniform_int_distribution<int> small(-100000, 100000), nd(1, 45), zd(-128, 127), coin(0, 3);
  long bad = 0, total = 0;
  for (int it = 0; it < 4000; ++it) {
    const int n = nd(rng);
    const auto un = static_cast<std::size_t>(n);
    std::vector<std::int32_t> acc(un), m(un), s(un);
    for (int i = 0; i < n; ++i) {
      const int c = coin(rng);
      acc[std::size_t(i)] = c == 0 ? std::int32_t(ad(rng)) : c == 1 ? (i & 1 ? INT32_MIN : INT32_MAX) : small(rng);
      m[std::size_t(i)] = random_mult(rng), s[std::size_t(i)] = random_shift(rng);
    }
    const std::int32_t z = it % 5 == 0 ? -128 : it % 5 == 1 ? 127 : zd(rng);
    const std::int32_t lo = coin(rng) ? std::max(z, -128) : -128;
    std::vector<std::int8_t> y(std::size_t(n) + 1, 55);
    q8::vec::requant_row(acc.data(), m.data(), s.data(), n, z, lo, y.data());
    for (int i = 0; i < n; ++i)
      bad += y[std::size_t(i)] !=
             q8::saturate8(q8::requantize32(acc[std::size_t(i)], m[std::size_t(i)], s[std::size_t(i)]), z, lo);
    bad += y[std::size_t(n)] != 55;  // nothing written past n
    total += n;
  }
  MESSAGE(total << " values, " << bad << " different");
  CHECK(bad == 0);
#else
  MESSAGE("SKIPPED: no x86 vector kernels in this build");
#endif
}

TEST_CASE("q8 bounded requantisation (conv_x86.hpp RqB) == requantize32 + z exactly") {
#if PPGHR_Q8_VEC
  if (skip_without_isa()) return;
  // |acc| <= kRqbMaxAbs and shifts in [-kRqbMaxShift, 0]: random, the extremes, and around the
  // rounding points
  using I = q8::vec::D;
  std::mt19937 rng(11);
  std::uniform_int_distribution<std::int32_t> ad(-q8::vec::kRqbMaxAbs, q8::vec::kRqbMaxAbs), small(-5000, 5000);
  std::uniform_int_distribution<int> ed(0, q8::vec::kRqbMaxShift), coin(0, 3);
  long bad = 0, total = 0;
  for (int it = 0; it < 200000; ++it) {
    alignas(64) std::int32_t acc[16], m[16], sh[16], got[16];
    for (int l = 0; l < I::L; ++l) {
      const int c = coin(rng);
      acc[l] = c == 0 ? ad(rng) : c == 1 ? (l & 1 ? 1 : -1) * (q8::vec::kRqbMaxAbs - std::abs(small(rng)) % 3)
                                : small(rng);
      m[l] = random_mult(rng), sh[l] = it % 5 == 0 ? 0 : -ed(rng);
    }
    const std::int32_t z = it % 7 == 0 ? -128 : it % 7 == 1 ? 127 : std::uniform_int_distribution<int>(-128, 127)(rng);
    q8::vec::RqB<I> rb, copy;
    rb.init(I::load(m), I::load(sh), z);
    alignas(64) std::int32_t saved[q8::vec::RqB<I>::kVectors * 16];
    rb.store(saved);
    copy.load(saved);
    I::store(got, copy.raw(I::load(acc)));
    for (int l = 0; l < I::L; ++l) bad += got[l] != q8::requantize32(acc[l], m[l], sh[l]) + z;
    total += I::L;
  }
  MESSAGE(total << " values, " << bad << " different");
  CHECK(bad == 0);
#else
  MESSAGE("SKIPPED: no x86 vector kernels in this build");
#endif
}

TEST_CASE("q8 ADD input without a 64-bit product (conv_x86.hpp AddIn) == requantize32 exhaustively") {
#if PPGHR_Q8_VEC
  if (skip_without_isa()) return;
  // every int8 q and zero point z, every right shift the fast path takes (0..kAddInMaxShift), for
  // the multipliers' corners and 40 random ones each
  using I = q8::vec::D;
  std::mt19937 rng(10);
  long bad = 0, total = 0;
  for (int e = 0; e <= q8::vec::kAddInMaxShift; ++e) {
    std::vector<std::int32_t> mults = {0, 1, 2047, 2048, (1 << 30) - 1, 1 << 30, (1 << 30) + 1, INT32_MAX - 1, INT32_MAX};
    for (int r = 0; r < 40; ++r) mults.push_back(random_mult(rng));
    for (const std::int32_t mult : mults)
      for (int z = -128; z <= 127; ++z) {
        q8::vec::AddIn<I> a;
        a.init(z, mult, e);
        for (int q0 = -128; q0 < 128; q0 += I::L) {
          alignas(64) std::int8_t qs[16];
          alignas(64) std::int32_t got[16];
          for (int l = 0; l < I::L; ++l) qs[l] = std::int8_t(q0 + l);
          I::store(got, a.apply(I::cvt8(qs)));
          for (int l = 0; l < I::L; ++l)
            bad += got[l] != q8::requantize32((q0 + l - z) * (1 << q8::kAddLeftShift), mult, -e);
          total += I::L;
        }
      }
  }
  MESSAGE(total << " values, " << bad << " different");
  CHECK(bad == 0);
#else
  MESSAGE("SKIPPED: no x86 vector kernels in this build");
#endif
}

TEST_CASE("q8 vector ADD, input quantisation, AFFINE, pools (conv_x86.hpp) == the scalar ops exactly") {
#if PPGHR_Q8_VEC
  if (skip_without_isa()) return;
  std::mt19937 rng(9);
  std::uniform_int_distribution<int> xd(-128, 127), nd(1, 300), zd(-128, 127), coin(0, 3);
  long bad = 0;
  // ADD (Core::add: TFLite's AddFunc with requantize32)
  for (int it = 0; it < 500; ++it) {
    const std::size_t n = std::size_t(nd(rng));
    std::vector<std::int8_t> a(n), b(n), y(n + 1, 55);
    for (auto& v : a) v = std::int8_t(xd(rng));
    for (auto& v : b) v = std::int8_t(xd(rng));
    const std::int32_t zm = it % 7 == 0 ? -128 : zd(rng), zx = it % 7 == 1 ? 127 : zd(rng), zo = zd(rng);
    const std::int32_t mult[3] = {random_mult(rng), random_mult(rng), random_mult(rng)};
    // input shifts: half of the cases in AddIn's range (quant.py's), half anywhere (the tables)
    const int emax = it % 2 == 0 ? q8::vec::kAddInMaxShift : 31;
    const std::int32_t shift[3] = {-std::uniform_int_distribution<int>(0, emax)(rng),
                                   -std::uniform_int_distribution<int>(0, emax)(rng), random_shift(rng)};
    REQUIRE(q8::vec::add_rows(a.data(), b.data(), n, zm, zx, mult, shift, zo, y.data()));
    for (std::size_t i = 0; i < n; ++i) {
      const std::int32_t v1 = q8::requantize32((a[i] - zm) * (1 << q8::kAddLeftShift), mult[0], shift[0]);
      const std::int32_t v2 = q8::requantize32((b[i] - zx) * (1 << q8::kAddLeftShift), mult[1], shift[1]);
      bad += y[i] != q8::saturate8(q8::requantize32(v1 + v2, mult[2], shift[2]), zo, -128);
    }
    bad += y[n] != 55;
    const std::int32_t pos[3] = {1, 0, 0};
    CHECK_FALSE(q8::vec::add_rows(a.data(), b.data(), n, zm, zx, mult, pos, zo, y.data()));
  }
  CHECK(bad == 0);
  // input quantisation: one float32 subtraction and division, round half away from zero; the
  // halves (k + 0.5) hit exactly, huge and tiny values, the clamp
  std::uniform_real_distribution<float> fd(-300.0f, 300.0f);
  for (int it = 0; it < 2000; ++it) {
    const int period = 1 + it % 8;
    const std::size_t n = std::size_t(nd(rng));
    const auto up = static_cast<std::size_t>(period);
    std::vector<float> x(n), off(up), sc(up);
    for (auto& v : off) v = coin(rng) ? 0.0f : fd(rng) * 0.01f;
    for (auto& v : sc) v = std::uniform_real_distribution<float>(0.001f, 3.0f)(rng);
    for (std::size_t i = 0; i < n; ++i) {
      const int c = coin(rng);
      const std::size_t ch = i % std::size_t(period);
      x[i] = c == 0 ? off[ch] + (float(xd(rng)) + 0.5f) * sc[ch] : c == 1 ? fd(rng) * 1e4f : fd(rng) * 0.01f;
      if (it % 97 == 0) x[i] = i & 1 ? -0.0f : 5e30f;
    }
    const std::int32_t z = zd(rng);
    std::vector<std::int8_t> y(n + 1, 55);
    q8::vec::quantize_periodic(x.data(), n, off.data(), sc.data(), period, z, y.data());
    for (std::size_t i = 0; i < n; ++i)
      bad += y[i] != q8::quantize(x[i], off[i % std::size_t(period)], sc[i % std::size_t(period)], z);
    bad += y[n] != 55;
  }
  CHECK(bad == 0);
  // AFFINE, MAXPOOL1D, average pools
  for (int it = 0; it < 300; ++it) {
    // lengths up to 300 (GLOBAL_AVG_POOL's divisor); every 4th case near the sums' extremes
    const int ch = 1 + it % 40, len = it % 10 == 9 ? nd(rng) : 1 + nd(rng) % 30;
    const auto uc = static_cast<std::size_t>(ch);
    std::vector<std::int8_t> x(uc * std::size_t(len)), w(uc), y(x.size() + 1, 55);
    for (auto& v : x) v = std::int8_t(it % 4 == 3 ? (it % 8 == 3 ? 127 - coin(rng) : -128 + coin(rng)) : xd(rng));
    for (auto& v : w) v = std::int8_t(coin(rng) ? 127 : coin(rng) ? -127 : 0);
    std::vector<std::int32_t> bias(uc), m(uc), s(uc);
    for (int c = 0; c < ch; ++c)
      bias[std::size_t(c)] = nd(rng) * 100 - 15000, m[std::size_t(c)] = random_mult(rng), s[std::size_t(c)] = random_shift(rng);
    const std::int32_t zi = zd(rng), zo = zd(rng), lo = coin(rng) ? std::max(zo, -128) : -128;
    q8::vec::affine(x.data(), y.data(), ch, len, w.data(), bias.data(), m.data(), s.data(), zi, zo, lo);
    for (int t = 0; t < len; ++t)
      for (int c = 0; c < ch; ++c) {
        const std::size_t i = std::size_t(t) * ch + c;
        const std::int32_t acc = bias[std::size_t(c)] + std::int32_t(w[std::size_t(c)]) * (std::int32_t(x[i]) - zi);
        bad += y[i] != q8::saturate8(q8::requantize32(acc, m[std::size_t(c)], s[std::size_t(c)]), zo, lo);
      }
    bad += y[x.size()] != 55;
    const int kk = 1 + it % 5, st = 1 + it % 3, pl = it % kk;
    const int lout = (len + pl + (kk - 1 - pl) - kk) / st + 1;
    const std::int8_t fill = std::int8_t(it % 2 ? zi : -128);
    std::vector<std::int8_t> yp(std::size_t(lout) * ch + 1, 55);
    q8::vec::max_pool(x.data(), yp.data(), ch, len, lout, kk, st, pl, fill);
    for (int t = 0; t < lout; ++t)
      for (int c = 0; c < ch; ++c) {
        std::int32_t mx = INT32_MIN;
        for (int j = 0; j < kk; ++j) {
          const int u = t * st + j - pl;
          const std::int32_t v = (u < 0 || u >= len) ? fill : x[std::size_t(u) * ch + c];
          mx = v > mx ? v : mx;
        }
        bad += yp[std::size_t(t) * ch + c] != mx;
      }
    bad += yp[std::size_t(lout) * ch] != 55;
    const int aout = len >= kk ? (len - kk) / st + 1 : 0;
    if (aout > 0) {
      std::vector<std::int8_t> ya(std::size_t(aout) * ch + 1, 55);
      REQUIRE(q8::vec::avg_pool(x.data(), ya.data(), ch, aout, kk, st));
      for (int t = 0; t < aout; ++t)
        for (int c = 0; c < ch; ++c) {
          std::int32_t sum = 0;
          for (int j = 0; j < kk; ++j) sum += x[std::size_t(t * st + j) * ch + c];
          bad += ya[std::size_t(t) * ch + c] != q8::clamp8(q8::div_round_away(sum, kk), q8::kQMin);
        }
      bad += ya[std::size_t(aout) * ch] != 55;
    }
    std::vector<std::int8_t> yg(std::size_t(ch) + 1, 55);  // GLOBAL_AVG_POOL
    REQUIRE(q8::vec::avg_pool(x.data(), yg.data(), ch, 1, len, 0));
    for (int c = 0; c < ch; ++c) {
      std::int32_t sum = 0;
      for (int t = 0; t < len; ++t) sum += x[std::size_t(t) * ch + c];
      bad += yg[std::size_t(c)] != q8::clamp8(q8::div_round_away(sum, len), q8::kQMin);
    }
  }
  CHECK(bad == 0);
#else
  MESSAGE("SKIPPED: no x86 vector kernels in this build");
#endif
}

TEST_CASE("q8::conv_vnni (conv_x86.hpp) == dot_ref + requantize32 exactly: random shapes, LINEARs, guard pages") {
#if PPGHR_Q8_CONV_VNNI
  if (skip_without_isa()) return;
  std::mt19937 rng(1602);
  std::uniform_int_distribution<int> ci_d(1, 40), co_d(1, 50), k_d(1, 7), st_d(1, 3), dil_d(1, 4), lin_d(1, 60);
  std::uniform_int_distribution<int> xd(-128, 127), wd(-127, 127), zd(-128, 127), bd(-100000, 100000), coin(0, 3);
  long bad = 0, outputs = 0;
  int cases = 0;
  for (int it = 0; it < 1500; ++it) {
    q8::ConvGeom g;
    g.ci = it % 10 == 0 ? 16 : ci_d(rng), g.co = it % 10 == 1 ? 16 : it % 10 == 2 ? 32 : co_d(rng);
    g.k = k_d(rng), g.st = st_d(rng), g.dil = coin(rng) ? 1 : dil_d(rng);
    g.pl = std::uniform_int_distribution<int>(0, g.k - 1)(rng);
    int pr = std::uniform_int_distribution<int>(0, g.k - 1)(rng);
    g.lin = lin_d(rng);
    if (it % 10 == 3) {  // a LINEAR: one position, one tap (the one-position kernel)
      g.k = 1, g.st = 1, g.dil = 1, g.pl = 0, pr = 0, g.lin = 1, g.ci = 1 + it % 301;
      g.co = it % 20 == 3 ? 180 : g.co;
    }
    const int span = g.dil * (g.k - 1) + 1;
    if (g.lin + g.pl + pr < span) continue;
    g.lout = (g.lin + g.pl + pr - span) / g.st + 1;
    const bool last = it % 6 == 0;
    const std::int32_t z = it % 4 == 0 ? -128 : it % 4 == 1 ? 127 : zd(rng);
    const std::int32_t zo = zd(rng), lo = coin(rng) ? std::max(zo, -128) : -128;
    const std::size_t nx = std::size_t(g.lin) * g.ci, K = std::size_t(g.k) * g.ci, nw = std::size_t(g.co) * K;
    const bool at_start = it % 2 == 1;
    GuardedBytes xg{nx, at_start}, wg{nw, at_start}, bg{4 * std::size_t(g.co), at_start},
        mg{4 * std::size_t(g.co), at_start}, sg{4 * std::size_t(g.co), at_start};
    std::int8_t* x = xg.data();
    std::int8_t* w = wg.data();
    auto* bias = reinterpret_cast<std::int32_t*>(bg.data());
    auto* mult = reinterpret_cast<std::int32_t*>(mg.data());
    auto* shift = reinterpret_cast<std::int32_t*>(sg.data());
    for (std::size_t i = 0; i < nx; ++i) x[i] = std::int8_t(coin(rng) == 0 ? (i & 1 ? 127 : -128) : xd(rng));
    for (std::size_t i = 0; i < nw; ++i) w[i] = std::int8_t(coin(rng) == 0 ? (i & 1 ? 127 : -127) : wd(rng));
    // shifts: a third of the cases all in quant.py's range (the RqB requantisation, conv_pack's
    // bounds), of which some with a bias at the bound's edge
    const bool qrange = it % 3 == 0;
    for (int o = 0; o < g.co; ++o) {
      bias[o] = bd(rng), mult[o] = random_mult(rng);
      shift[o] = qrange ? std::uniform_int_distribution<int>(-q8::vec::kRqbMaxShift, 0)(rng) : random_shift(rng);
      if (qrange && it % 9 == 6 && coin(rng) == 0) bias[o] = (o & 1 ? 1 : -1) * ((1 << 30) - 1 - 255 * 127 * int(K) - coin(rng));
    }
    AlignedBuf scratch(q8::conv_scratch_bytes(g));
    const std::ptrdiff_t o_stride = g.lout + 3;
    std::vector<std::int8_t> y(std::size_t(g.lout) * g.co + 1, 55);
    std::vector<std::int32_t> acc(std::size_t(g.co) * o_stride, 77);
    q8::conv_vnni(x, g, z, w, bias, last ? nullptr : mult, last ? nullptr : shift, zo, lo,
                  last ? nullptr : y.data(), last ? acc.data() : nullptr, o_stride, scratch.p);
    for (int t = 0; t < g.lout; ++t)
      for (int o = 0; o < g.co; ++o) {
        std::int32_t a = bias[o];
        for (int j = 0; j < g.k; ++j) {
          const int u = t * g.st - g.pl + g.dil * j;
          if (u < 0 || u >= g.lin) continue;  // padding: the real 0 (x = z)
          for (int c = 0; c < g.ci; ++c)
            a += std::int32_t(w[std::size_t(o) * K + std::size_t(j) * g.ci + c]) * (x[std::size_t(u) * g.ci + c] - z);
        }
        if (last)
          bad += acc[std::size_t(o) * o_stride + t] != a;
        else
          bad += y[std::size_t(t) * g.co + o] != q8::saturate8(q8::requantize32(a, mult[o], shift[o]), zo, lo);
        ++outputs;
      }
    if (last) {
      for (int o = 0; o < g.co; ++o)
        for (std::ptrdiff_t t = g.lout; t < o_stride; ++t) bad += acc[std::size_t(o) * o_stride + std::size_t(t)] != 77;
    } else {
      bad += y[std::size_t(g.lout) * g.co] != 55;
    }
    if (bad != 0) {
      FAIL_CHECK("ci " << g.ci << " co " << g.co << " k " << g.k << " st " << g.st << " dil " << g.dil << " pl " << g.pl
                       << " lin " << g.lin << " lout " << g.lout << " z " << z << (last ? " last" : ""));
      break;
    }
    ++cases;
  }
  MESSAGE(cases << " convolutions, " << outputs << " outputs, " << bad << " different");
  CHECK(bad == 0);
#else
  MESSAGE("SKIPPED: no x86 VNNI convolution in this build");
#endif
}
