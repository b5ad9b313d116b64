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
