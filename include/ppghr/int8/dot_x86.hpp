// ppghr/int8/dot_x86.hpp - ppghr::q8::dot for x86 hosts: AVX2, AVX-VNNI or AVX-512 VNNI, chosen at
// compile time (included by ppghr/int8/dot.hpp where __AVX2__ is defined; read that header first).
//
// The result is dot_ref()'s, bit for bit: integer arithmetic only, and no step can saturate.
//   avx512-vnni  (__AVX512VNNI__ + __AVX512BW__ + __AVX512VL__): VPDPBUSD on 512-bit vectors where
//                a row's K = chunks * len exceeds 32, on 256-bit ones below (measured: the 512-bit
//                reduction costs more than it saves there); masked byte loads for the tails.
//   avx-vnni     (__AVXVNNI__): VPDPBUSD (VEX form) on 256-bit vectors.
//   avx2         (__AVX2__ only): int8 -> int16 widening and VPMADDWD.
// VNNI: VPDPBUSD multiplies unsigned by signed bytes, so x is offset to u = x + 128 (x ^ 0x80, in
// [0, 255]) and w * (x - z) = w * u - (128 + z) * w: per row, sum(w) is accumulated beside the dot
// products (skipped when z == -128, the zero point of every ReLU output, where the correction is 0).
// Four u8 * s8 products fit VPDPBUSD's int32 lane without saturation (4 * 255 * 127), unlike
// VPMADDUBSW's int16 pairs (2 * 255 * 127 > 32767), which this file never uses. The int32 sums wrap
// modulo 2^32 like every later step (unsigned arithmetic in the scalar parts), so the final value
// is exact whenever dot_ref's is (docs/int8.md bounds it below 2^31).
// AVX2: x - z in [-255, 255] is an int16, VPMADDWD adds two products of at most 255 * 127 into int32.
//
// How one call runs: the npos windows (chunks runs of len values) are packed into a stack buffer
// (u8 or int16, contiguous, at most kBlock = 512 values per position per pass), so each output row
// is ONE contiguous dot product of K = chunks * len values against its contiguous weights; rows are
// taken 4 (then 1) at a time against up to 4 positions at once (each weight vector loaded once for
// all of them; the 4 rows' sums reduced together into one 128-bit store per position). A row's
// last partial vector of weights: a masked load (AVX-512); else one full vector read forward or
// backward inside the weights' span (first row's start to last row's end) and ANDed with a byte
// mask (backward: the packed x buffer has zeros before its start to match); else (a span shorter
// than a vector) the bytes are assembled from 16/8/4/2/1-byte pieces. Nothing outside that span or
// outside the x values dot_ref reads is read (tests/test_int8_dot.cpp puts both against
// unreadable pages). Stack: about 2.5 KB (VNNI) or 4.4 KB (AVX2). No allocation, no exceptions,
// any alignment; x, w and acc must not overlap (as for dot_ref's callers: acc is written once per
// row block and position).
//
// Included on its own (tests/packaging's headers_alone), it is ppghr/int8/dot.hpp: the kind is
// settled before dot.hpp is read, so dot.hpp defines no reference dot() beside this one, and
// without __AVX2__ (or with PPGHR_Q8_REFERENCE) this file adds nothing to it. (A classic guard,
// not #pragma once: dot.hpp includes this file from inside itself.)
#ifndef PPGHR_INT8_DOT_X86_HPP
#define PPGHR_INT8_DOT_X86_HPP

#if defined(__AVX2__) && !defined(PPGHR_Q8_REFERENCE) && !defined(PPGHR_Q8_DOT_KIND)
#define PPGHR_Q8_X86_ENABLED 1
#else
#define PPGHR_Q8_X86_ENABLED 0
#endif

#if PPGHR_Q8_X86_ENABLED && defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define PPGHR_Q8_DOT_KIND "avx512-vnni"
#elif PPGHR_Q8_X86_ENABLED && defined(__AVXVNNI__)
#define PPGHR_Q8_DOT_KIND "avx-vnni"
#elif PPGHR_Q8_X86_ENABLED
#define PPGHR_Q8_DOT_KIND "avx2"
#endif

#include "ppghr/int8/dot.hpp"  // Window, dot_ref (a no-op when dot.hpp is the includer)

#if PPGHR_Q8_X86_ENABLED
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define PPGHR_Q8_X86_VNNI 1
#define PPGHR_Q8_X86_MASKED 1
#ifndef PPGHR_Q8_X86_ZMM
#define PPGHR_Q8_X86_ZMM 1
#endif
#define PPGHR_Q8_X86_NS x86_avx512vnni
#elif defined(__AVXVNNI__)
#define PPGHR_Q8_X86_VNNI 1
#define PPGHR_Q8_X86_MASKED 0
#define PPGHR_Q8_X86_NS x86_avxvnni
#else
#define PPGHR_Q8_X86_VNNI 0
#define PPGHR_Q8_X86_MASKED 0
#define PPGHR_Q8_X86_NS x86_avx2
#endif

namespace ppghr::q8 {
// Each variant in its own inline namespace: translation units built for different ISAs can be
// linked into one program without two different definitions of the same inline function.
inline namespace PPGHR_Q8_X86_NS {
namespace detail {

// Bytes 32..63 0xFF, the rest 0: AND with loadu(kByteMask + 64 - n) keeps the first n bytes of a
// 16- or 32-byte vector; loadu(kByteMask + n) the last n of 32, loadu(kByteMask + 16 + n) of 16.
alignas(64) inline constexpr std::uint8_t kByteMask[96] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

template <class T>
inline T load_mask(int at) noexcept {
  T m;
  std::memcpy(&m, kByteMask + at, sizeof m);
  return m;
}

// Where a row's last partial vector of weights comes from (t of its bytes are wanted, at q).
enum class Tail { forward, backward, copy };
// [lo, hi): the weights' span (first row's start to last row's end): a vector may be read anywhere
// inside it. forward: the vector at q (masked to its first t bytes); backward: the vector ending at
// q + t (masked to its last t bytes; the x vector is then read from t - step, the packed buffer's
// prefix); copy: neither fits (a span shorter than a vector), the bytes are assembled one piece at a time.
inline Tail tail_kind(const std::int8_t* q, int t, int bytes, std::uintptr_t lo, std::uintptr_t hi) noexcept {
  const auto a = reinterpret_cast<std::uintptr_t>(q);
  if (hi - a >= std::uintptr_t(bytes)) return Tail::forward;
  if (a + std::uintptr_t(t) - lo >= std::uintptr_t(bytes)) return Tail::backward;
  return Tail::copy;
}

// The first n (< 32) bytes at p, the rest 0, reading nothing past p + n.
template <int Bytes>
inline void copy_partial(std::int8_t* dst, const std::int8_t* p, int n) noexcept {
  int o = 0;
  if constexpr (Bytes > 16) {
    if (n & 16) { std::memcpy(dst + o, p + o, 16); o += 16; }
  }
  if (n & 8) { std::memcpy(dst + o, p + o, 8); o += 8; }
  if (n & 4) { std::memcpy(dst + o, p + o, 4); o += 4; }
  if (n & 2) { std::memcpy(dst + o, p + o, 2); o += 2; }
  if (n & 1) dst[o] = p[o];
}

#if PPGHR_Q8_X86_MASKED && PPGHR_Q8_X86_ZMM
// ---- AVX-512 VNNI: 64 u8 values of x against 64 s8 weights per step (512-bit vectors) ----
struct IsaZmm {
  using XT = std::uint8_t;
  using V = __m512i;
  static constexpr int kStep = 64;
  static constexpr int kWBytes = 64;
  static constexpr int kRows = 4;
  static XT pack(std::int8_t x, std::int32_t) noexcept { return std::uint8_t(std::uint8_t(x) ^ 0x80u); }
  static V zero() noexcept { return _mm512_setzero_si512(); }
  static V load_x(const XT* p) noexcept { return _mm512_loadu_si512(p); }
  static V load_w(const std::int8_t* p) noexcept { return _mm512_loadu_si512(p); }
  static V load_w_tail(const std::int8_t* p, int n, Tail) noexcept {
    return _mm512_maskz_loadu_epi8(__mmask64((std::uint64_t(1) << n) - 1u), p);
  }
  static V mac(V acc, V u, V w) noexcept { return _mm512_dpbusd_epi32(acc, u, w); }
  static V ones() noexcept { return _mm512_set1_epi8(1); }
};
#endif
#if PPGHR_Q8_X86_VNNI
// ---- VNNI: 32 u8 values of x against 32 s8 weights per step ----
struct Isa {
  using XT = std::uint8_t;
  using V = __m256i;
  static constexpr int kStep = 32;
  static constexpr int kWBytes = 32;  // bytes of weights per step
  static constexpr int kRows = 4;
  static XT pack(std::int8_t x, std::int32_t) noexcept { return std::uint8_t(std::uint8_t(x) ^ 0x80u); }
  static V zero() noexcept { return _mm256_setzero_si256(); }
  static V load_x(const XT* p) noexcept { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static V load_w(const std::int8_t* p) noexcept { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  // The n (0 < n < 32) weights at p and zeros (see Tail), as the x vector of `kind` wants them.
  static V load_w_tail(const std::int8_t* p, int n, Tail kind) noexcept {
#if PPGHR_Q8_X86_MASKED
    (void)kind;
    return _mm256_maskz_loadu_epi8(__mmask32((1u << n) - 1u), p);
#else
    if (kind == Tail::forward) return _mm256_and_si256(load_w(p), load_mask<__m256i>(64 - n));
    if (kind == Tail::backward) return _mm256_and_si256(load_w(p + n - kStep), load_mask<__m256i>(n));
    alignas(32) std::int8_t b[32] = {};
    copy_partial<32>(b, p, n);
    return _mm256_load_si256(reinterpret_cast<const __m256i*>(b));
#endif
  }
  static V mac(V acc, V u, V w) noexcept {
#if PPGHR_Q8_X86_MASKED
    return _mm256_dpbusd_epi32(acc, u, w);
#else
    return _mm256_dpbusd_avx_epi32(acc, u, w);
#endif
  }
  static V ones() noexcept { return _mm256_set1_epi8(1); }
};
#else
// ---- AVX2: 16 int16 values (x - z) against 16 weights widened to int16 per step ----
struct Isa {
  using XT = std::int16_t;
  using V = __m256i;
  static constexpr int kStep = 16;
  static constexpr int kWBytes = 16;
  static constexpr int kRows = 4;
  static XT pack(std::int8_t x, std::int32_t z) noexcept { return std::int16_t(std::int32_t(x) - z); }
  static V zero() noexcept { return _mm256_setzero_si256(); }
  static V load_x(const XT* p) noexcept { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static V load_w(const std::int8_t* p) noexcept {
    return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static V load_w_tail(const std::int8_t* p, int n, Tail kind) noexcept {
    if (kind == Tail::forward)
      return _mm256_cvtepi8_epi16(
          _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), load_mask<__m128i>(64 - n)));
    if (kind == Tail::backward)
      return _mm256_cvtepi8_epi16(
          _mm_and_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - kStep)), load_mask<__m128i>(16 + n)));
    alignas(16) std::int8_t b[16] = {};
    copy_partial<16>(b, p, n);
    return _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(b)));
  }
  static V mac(V acc, V x, V w) noexcept { return _mm256_add_epi32(acc, _mm256_madd_epi16(x, w)); }
};
#endif

// Four int32 vectors -> (sum a, sum b, sum c, sum d).
inline __m128i reduce4(__m256i a, __m256i b, __m256i c, __m256i d) noexcept {
  const __m256i ab = _mm256_hadd_epi32(a, b);   // per 128-bit lane: a01 a23 b01 b23
  const __m256i cd = _mm256_hadd_epi32(c, d);
  const __m256i abcd = _mm256_hadd_epi32(ab, cd);  // per lane: a b c d (partial)
  return _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1));
}
#if PPGHR_Q8_X86_MASKED && PPGHR_Q8_X86_ZMM
inline __m256i half_sum(__m512i a) noexcept {
  // maskz: the unmasked extract and the cast trip GCC 12 -Wmaybe-uninitialized (their
  // _mm256_undefined_*, bug 105593) in every consumer built with -Werror.
  return _mm256_add_epi32(_mm512_maskz_extracti64x4_epi64(__mmask8(0xFF), a, 0),
                          _mm512_maskz_extracti64x4_epi64(__mmask8(0xFF), a, 1));
}
inline __m128i reduce4(__m512i a, __m512i b, __m512i c, __m512i d) noexcept {
  return reduce4(half_sum(a), half_sum(b), half_sum(c), half_sum(d));
}
#endif

// The values every position reads, packed per position: at most kBlock of them per pass.
constexpr int kBlock = 512;
constexpr int kMaxPos = 4;

// Position p's values: v[p][kPre + k]; kPre elements before (read by a backward tail, times 0)
// and kStep after (read by a forward tail, times 0) are zeros.
template <class Isa>
struct Packed {
  static constexpr int kPre = Isa::kStep;
  alignas(64) typename Isa::XT v[kMaxPos][kPre + kBlock + Isa::kStep];
};

// Rows [o0, o0 + R) x positions [0, P) of the pass over packed values [k0, k0 + n) of K.
template <class Isa, int R, int P, bool Corr>
inline void tile(const Packed<Isa>& xs, int n, int k0, int K, std::int32_t z, const std::int8_t* w,
                 std::ptrdiff_t w_step, int o0, int rows, const std::int32_t* bias, std::int32_t* acc,
                 int p0) noexcept {
  using V = typename Isa::V;
  constexpr int kPre = Packed<Isa>::kPre;
  V a[R][P];
  [[maybe_unused]] V sw[R];
  for (int r = 0; r < R; ++r) {
    sw[r] = Isa::zero();
    for (int p = 0; p < P; ++p) a[r][p] = Isa::zero();
  }
  const std::int8_t* wr[R];
  for (int r = 0; r < R; ++r) wr[r] = w + std::ptrdiff_t(o0 + r) * w_step + k0;
  const int full = n - n % Isa::kStep;
  for (int k = 0; k < full; k += Isa::kStep) {
    V xv[P];
    for (int p = 0; p < P; ++p) xv[p] = Isa::load_x(&xs.v[p][kPre + k]);
    for (int r = 0; r < R; ++r) {
      const V wv = Isa::load_w(wr[r] + k);
      for (int p = 0; p < P; ++p) a[r][p] = Isa::mac(a[r][p], xv[p], wv);
#if PPGHR_Q8_X86_VNNI
      if constexpr (Corr) sw[r] = Isa::mac(sw[r], Isa::ones(), wv);
#endif
    }
  }
  if (full < n) {
    const int t = n - full;
    V xf[P], xb[P];
    for (int p = 0; p < P; ++p) {
      xf[p] = Isa::load_x(&xs.v[p][kPre + full]);
      xb[p] = Isa::load_x(&xs.v[p][kPre + full + t - Isa::kStep]);
    }
    const std::int8_t* w_last = w + std::ptrdiff_t(rows - 1) * w_step;
    const auto lo = reinterpret_cast<std::uintptr_t>(w_step >= 0 ? w : w_last);
    const auto hi = reinterpret_cast<std::uintptr_t>(w_step >= 0 ? w_last : w) + std::uintptr_t(K);
    for (int r = 0; r < R; ++r) {
      const Tail kind = PPGHR_Q8_X86_MASKED ? Tail::forward : tail_kind(wr[r] + full, t, Isa::kWBytes, lo, hi);
      const V wv = Isa::load_w_tail(wr[r] + full, t, kind);
      if (kind == Tail::backward) {
        for (int p = 0; p < P; ++p) a[r][p] = Isa::mac(a[r][p], xb[p], wv);
      } else {
        for (int p = 0; p < P; ++p) a[r][p] = Isa::mac(a[r][p], xf[p], wv);
      }
#if PPGHR_Q8_X86_VNNI
      if constexpr (Corr) sw[r] = Isa::mac(sw[r], Isa::ones(), wv);
#endif
    }
  }
  (void)z;
  const bool first = k0 == 0;
  if constexpr (R == 4) {
    __m128i corr = _mm_setzero_si128();
#if PPGHR_Q8_X86_VNNI
    if constexpr (Corr) corr = _mm_mullo_epi32(reduce4(sw[0], sw[1], sw[2], sw[3]), _mm_set1_epi32(128 + z));
#endif
    for (int p = 0; p < P; ++p) {
      std::int32_t* out = acc + std::ptrdiff_t(p0 + p) * rows + o0;
      const __m128i base = _mm_loadu_si128(reinterpret_cast<const __m128i*>(first && bias != nullptr ? bias + o0 : out));
      const __m128i s = _mm_sub_epi32(reduce4(a[0][p], a[1][p], a[2][p], a[3][p]), corr);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm_add_epi32(base, s));
    }
  } else {
    for (int r = 0; r < R; ++r) {
      std::uint32_t corr = 0;
#if PPGHR_Q8_X86_VNNI
      if constexpr (Corr) {
        const __m128i s = reduce4(sw[r], Isa::zero(), Isa::zero(), Isa::zero());
        corr = std::uint32_t(_mm_cvtsi128_si32(s)) * std::uint32_t(128 + z);
      }
#endif
      for (int p = 0; p < P; ++p) {
        std::int32_t* out = acc + std::ptrdiff_t(p0 + p) * rows + o0 + r;
        const std::uint32_t base = std::uint32_t(first && bias != nullptr ? bias[o0 + r] : *out);
        const __m128i s = reduce4(a[r][p], Isa::zero(), Isa::zero(), Isa::zero());
        *out = std::int32_t(base + std::uint32_t(_mm_cvtsi128_si32(s)) - corr);
      }
    }
  }
}

template <class Isa, int P, bool Corr>
inline void rows_pass(const Packed<Isa>& xs, int n, int k0, int K, std::int32_t z, const std::int8_t* w,
                      std::ptrdiff_t w_step, int rows, const std::int32_t* bias, std::int32_t* acc,
                      int p0) noexcept {
  int o = 0;
  for (; o + Isa::kRows <= rows; o += Isa::kRows)
    tile<Isa, Isa::kRows, P, Corr>(xs, n, k0, K, z, w, w_step, o, rows, bias, acc, p0);
  for (; o < rows; ++o) tile<Isa, 1, P, Corr>(xs, n, k0, K, z, w, w_step, o, rows, bias, acc, p0);
}

template <class Isa, int P>
inline void positions(const std::int8_t* x, std::ptrdiff_t pos_step, int p0, const Window& win, std::int32_t z,
                      const std::int8_t* w, std::ptrdiff_t w_step, int rows, const std::int32_t* bias,
                      std::int32_t* acc) noexcept {
  const int K = win.chunks * win.len;
  Packed<Isa> xs;
  constexpr int kPre = Packed<Isa>::kPre;
  for (int k0 = 0; k0 < K; k0 += kBlock) {
    const int n = K - k0 < kBlock ? K - k0 : kBlock;
    for (int p = 0; p < P; ++p) {
      const std::int8_t* xp = x + std::ptrdiff_t(p0 + p) * pos_step;
      typename Isa::XT* dst = xs.v[p] + kPre;
      int j = k0 / win.len, i = k0 % win.len, k = 0;
      while (k < n) {
        const int m = win.len - i < n - k ? win.len - i : n - k;
        const std::int8_t* src = xp + std::ptrdiff_t(j) * win.chunk_step + i;
        for (int q = 0; q < m; ++q) dst[k + q] = Isa::pack(src[q], z);
        k += m;
        ++j;
        i = 0;
      }
      for (int q = n; q < n + Isa::kStep; ++q) dst[q] = 0;  // read by a forward tail (times 0)
      if (k0 == 0)
        for (int q = -kPre; q < 0; ++q) dst[q] = 0;  // read by a backward tail (times 0)
    }
#if PPGHR_Q8_X86_VNNI
    if (z != -128)
      rows_pass<Isa, P, true>(xs, n, k0, K, z, w, w_step, rows, bias, acc, p0);
    else
      rows_pass<Isa, P, false>(xs, n, k0, K, z, w, w_step, rows, bias, acc, p0);
#else
    rows_pass<Isa, P, false>(xs, n, k0, K, z, w, w_step, rows, bias, acc, p0);
#endif
  }
}

template <class Isa>
inline void dot_with(const std::int8_t* x, std::ptrdiff_t pos_step, int npos, const Window& win, std::int32_t z,
                     const std::int8_t* w, std::ptrdiff_t w_step, int rows, const std::int32_t* bias,
                     std::int32_t* acc) noexcept {
  for (int p0 = 0; p0 < npos; p0 += kMaxPos) {
    switch (npos - p0 < kMaxPos ? npos - p0 : kMaxPos) {
      case 1: positions<Isa, 1>(x, pos_step, p0, win, z, w, w_step, rows, bias, acc); break;
      case 2: positions<Isa, 2>(x, pos_step, p0, win, z, w, w_step, rows, bias, acc); break;
      case 3: positions<Isa, 3>(x, pos_step, p0, win, z, w, w_step, rows, bias, acc); break;
      default: positions<Isa, 4>(x, pos_step, p0, win, z, w, w_step, rows, bias, acc); break;
    }
  }
}

}  // namespace detail

/// dot_ref()'s results, bit for bit (ppghr/int8/dot.hpp), with the ISA named by PPGHR_Q8_DOT_KIND.
inline void dot(const std::int8_t* x, std::ptrdiff_t pos_step, int npos, const Window& win, std::int32_t z,
                const std::int8_t* w, std::ptrdiff_t w_step, int rows, const std::int32_t* bias,
                std::int32_t* acc) noexcept {
  if (npos <= 0 || rows <= 0) return;
  if (win.chunks <= 0 || win.len <= 0) {  // empty windows: the base only (dot_ref's result)
    if (bias != nullptr)
      for (int p = 0; p < npos; ++p)
        for (int o = 0; o < rows; ++o) acc[p * rows + o] = bias[o];
    return;
  }
#if PPGHR_Q8_X86_MASKED && PPGHR_Q8_X86_ZMM
  // 512-bit steps where a window needs more than one 256-bit step (fewer steps and reductions);
  // 256-bit ones for the short windows (a 512-bit reduction costs more than it saves there).
  if (win.chunks * win.len > 32) {
    detail::dot_with<detail::IsaZmm>(x, pos_step, npos, win, z, w, w_step, rows, bias, acc);
    return;
  }
#endif
  detail::dot_with<detail::Isa>(x, pos_step, npos, win, z, w, w_step, rows, bias, acc);
}

}  // inline namespace PPGHR_Q8_X86_NS
}  // namespace ppghr::q8

#undef PPGHR_Q8_X86_VNNI
#undef PPGHR_Q8_X86_MASKED
#undef PPGHR_Q8_X86_NS
#endif  // PPGHR_Q8_X86_ENABLED
#undef PPGHR_Q8_X86_ENABLED
#endif  // PPGHR_INT8_DOT_X86_HPP
