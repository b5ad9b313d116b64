// ppghr/int8/conv_x86.hpp - x86 host kernels of the int8 networks beside q8::dot (dot_x86.hpp):
// a convolution vectorised over output channels with VPDPBUSD (AVX-512 VNNI: 512-bit vectors;
// AVX-VNNI: 256-bit), and vector requantisation, ADD and input quantisation (AVX-512BW or AVX2).
// Every result is the reference's, bit for bit (ppghr/int8/arith.hpp, q8::dot_ref): integer
// arithmetic only, and the float input quantisation does quant.quantize's operations in the same
// order (one float32 subtraction, one division, round half away from zero, computed exactly).
//
// conv_vnni(): x [lin][ci] int8 (time-major) -> y [lout][co] int8 (requantised) or the int32
// accumulators (the last op). Per call, into a caller's scratch (conv_scratch_bytes()):
//   u   the input as u8 (x ^ 0x80 = x + 128) with the padding materialised as z_in + 128 (the
//       real 0: it contributes w * (u - (z + 128)) = 0), so every output position is interior;
//   wp  the weights repacked [chunk][quad q][co_pad][4] (a quad: 4 consecutive values of one output
//       channel's window, zero beyond the window), so one vector holds 4 weights of 16 (8) output
//       channels: VPDPBUSD of the broadcast 4 input bytes against it adds 4 products per channel
//       (u8 x s8: 4 * 255 * 127 fits the int32 lane, no saturation);
//   bp  bias' = bias - (z_in + 128) * sum(w) per channel (the zero-point correction, once), and
//       the multipliers and shifts padded to co_pad.
// A position's window is `chunks` runs of `clen` values (dilation 1: one run of k * ci; else k
// runs of ci, dil * ci apart). Register tiles: NB vectors of output channels x P positions.
// The repacking reads each weight once (its cost ~1/lout of the MACs); the weights stay in place
// in the blob. Reads: x[0, lin * ci), w[0, co * k * ci), bias / mult / shift [0, co) only.
//
// AVX-512: the unmasked intrinsics that GCC 12 defines with _mm512_undefined_* are written as
// their maskz forms with a full mask (the same instruction; GCC bug 105593 otherwise trips
// -Wmaybe-uninitialized in every consumer built with -Werror).
// Included by ppghr/int8/network.hpp. Compiles to nothing without __AVX2__ or with
// PPGHR_Q8_REFERENCE; conv_vnni needs AVX-512 VNNI (+BW, VL) or AVX-VNNI (PPGHR_Q8_CONV_VNNI).
// No allocation, no exceptions. Each ISA in its own inline namespace (as dot_x86.hpp).
#ifndef PPGHR_INT8_CONV_X86_HPP
#define PPGHR_INT8_CONV_X86_HPP

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ppghr/int8/arith.hpp"

#if defined(__GNUC__) || defined(__clang__)
#define PPGHR_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define PPGHR_UNLIKELY(x) (x)
#endif

#if !defined(PPGHR_Q8_REFERENCE) && defined(PPGHR_Q8_CONV_VNNI256_EVEX) && defined(__AVX512VNNI__) && \
    defined(__AVX512VL__) && defined(__AVX2__)
// Test builds only (tests/CMakeLists.txt: int8_dot_vnni256): the AVX-VNNI code, 256-bit
// vectors, with VPDPBUSD's EVEX form, so that it runs on a CPU with AVX-512 VNNI but not AVX-VNNI.
#define PPGHR_Q8_CONV_VNNI 256
#define PPGHR_Q8_VEC 256
#elif !defined(PPGHR_Q8_REFERENCE) && defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    defined(__AVX2__)
#define PPGHR_Q8_CONV_VNNI 512
#define PPGHR_Q8_VEC 512
#elif !defined(PPGHR_Q8_REFERENCE) && defined(__AVXVNNI__) && defined(__AVX2__)
#define PPGHR_Q8_CONV_VNNI 256
#define PPGHR_Q8_VEC 256
#elif !defined(PPGHR_Q8_REFERENCE) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX2__)
#define PPGHR_Q8_CONV_VNNI 0
#define PPGHR_Q8_VEC 512
#elif !defined(PPGHR_Q8_REFERENCE) && defined(__AVX2__)
#define PPGHR_Q8_CONV_VNNI 0
#define PPGHR_Q8_VEC 256
#else
#define PPGHR_Q8_CONV_VNNI 0
#define PPGHR_Q8_VEC 0
#endif

namespace ppghr::q8 {

/// One convolution's geometry (CONV1D, or one row of ROW_CONV).
struct ConvGeom {
  int ci = 1, co = 1, lin = 1, lout = 1, k = 1, st = 1, dil = 1, pl = 0;
};

/// Output channels are padded to a multiple of this in the scratch.
inline constexpr int kConvCoPad = 16;

constexpr std::size_t conv_round64(std::size_t n) noexcept { return (n + 63) / 64 * 64; }
/// Input positions of the padded u8 buffer.
constexpr int conv_padded_len(const ConvGeom& g) noexcept {
  const int need = (g.lout - 1) * g.st + g.dil * (g.k - 1) + 1;
  return g.pl + g.lin > need ? g.pl + g.lin : need;
}
/// Bytes of conv_run()'s padded u8 input (a 64-byte multiple).
constexpr std::size_t conv_input_bytes(const ConvGeom& g) noexcept {
  return conv_round64(std::size_t(conv_padded_len(g)) * std::size_t(g.ci) + 64);
}
/// Bytes of conv_pack()'s packed weights, bias', multipliers and shifts (a 64-byte multiple).
constexpr std::size_t conv_packed_bytes(const ConvGeom& g) noexcept {
  const int chunks = g.dil == 1 ? 1 : g.k;
  const int clen = g.dil == 1 ? g.k * g.ci : g.ci;
  const std::size_t q = std::size_t((clen + 3) / 4);
  const std::size_t cop = std::size_t((g.co + kConvCoPad - 1) / kConvCoPad * kConvCoPad);
  // + flags, + RqB's vectors (6 per channel; not for one position, a LINEAR: tile1 takes Rq)
  const std::size_t rqb = g.lout == 1 && chunks == 1 ? 0 : conv_round64(6 * cop * 4);
  return conv_round64(std::size_t(chunks) * q * cop * 4) + 3 * conv_round64(cop * 4) + 64 + rqb;
}
/// The scratch conv_vnni() needs for g, bytes (64-byte multiples; the base must be 64-aligned).
constexpr std::size_t conv_scratch_bytes(const ConvGeom& g) noexcept {
  return conv_input_bytes(g) + conv_packed_bytes(g);
}

}  // namespace ppghr::q8

#if PPGHR_Q8_VEC
#include <immintrin.h>

#if PPGHR_Q8_VEC == 512 && PPGHR_Q8_CONV_VNNI
#define PPGHR_Q8_CONV_NS conv_avx512vnni
#elif PPGHR_Q8_VEC == 512
#define PPGHR_Q8_CONV_NS conv_avx512
#elif PPGHR_Q8_CONV_VNNI && defined(PPGHR_Q8_CONV_VNNI256_EVEX)
#define PPGHR_Q8_CONV_NS conv_avxvnni_evex
#elif PPGHR_Q8_CONV_VNNI
#define PPGHR_Q8_CONV_NS conv_avxvnni
#else
#define PPGHR_Q8_CONV_NS conv_avx2
#endif

namespace ppghr::q8 {
inline namespace PPGHR_Q8_CONV_NS {
namespace vec {

alignas(64) inline constexpr std::int32_t kLane[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

// ---- 256-bit (AVX2) ----
struct Y {
  using V = __m256i;
  static constexpr int L = 8;
  static V load(const void* p) noexcept { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
  static void store(void* p, V v) noexcept { _mm256_storeu_si256(static_cast<__m256i*>(p), v); }
  static V set1(std::int32_t v) noexcept { return _mm256_set1_epi32(v); }
  static V zero() noexcept { return _mm256_setzero_si256(); }
  static V add(V a, V b) noexcept { return _mm256_add_epi32(a, b); }
  static V sub(V a, V b) noexcept { return _mm256_sub_epi32(a, b); }
  static V max(V a, V b) noexcept { return _mm256_max_epi32(a, b); }
  static V min(V a, V b) noexcept { return _mm256_min_epi32(a, b); }
  static V mullo(V a, V b) noexcept { return _mm256_mullo_epi32(a, b); }
  static V sllv(V a, V s) noexcept { return _mm256_sllv_epi32(a, s); }
  static V srav(V a, V s) noexcept { return _mm256_srav_epi32(a, s); }
  static V and_(V a, V b) noexcept { return _mm256_and_si256(a, b); }
  static V sra(V a, int n) noexcept { return _mm256_sra_epi32(a, _mm_cvtsi32_si128(n)); }
  /// n (<= 8) int32 lanes in [-128, 127] as int8 at y
  static void store8(std::int8_t* y, V v, int n) noexcept {
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    const __m128i b = _mm_packs_epi16(w, w);
    if (n == 8) {
      _mm_storel_epi64(reinterpret_cast<__m128i*>(y), b);
    } else {
      alignas(16) std::int8_t t[16];
      _mm_store_si128(reinterpret_cast<__m128i*>(t), b);
      std::memcpy(y, t, std::size_t(n));
    }
  }
  /// saturate8 of 4 vectors of requantised values (a: y[0, 8), b: y[8, 16), ...): +z and the
  /// clamps by saturating packs (int32 -> int16, + z saturating, -> int8: the same as clamping v + z,
  /// |z| <= 128), then max lo; one 32-byte store.
  /// The same for values with z already added (RqB): no addition.
  static void store8x4(std::int8_t* y, V a, V b, V c, V d, std::int32_t lo) noexcept {
    const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    const __m256i r = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y), _mm256_max_epi8(r, _mm256_set1_epi8(char(lo))));
  }
  static void store8x4(std::int8_t* y, V a, V b, V c, V d, std::int32_t z, std::int32_t lo) noexcept {
    const __m256i zz = _mm256_set1_epi16(short(z));
    const __m256i p = _mm256_packs_epi16(_mm256_adds_epi16(_mm256_packs_epi32(a, b), zz),
                                         _mm256_adds_epi16(_mm256_packs_epi32(c, d), zz));
    // 128-bit lane j holds a[4j, 4j+4), b[..], c[..], d[..]: dword 4j + v -> 2v + j
    const __m256i r = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y), _mm256_max_epi8(r, _mm256_set1_epi8(char(lo))));
  }
  // for RqB: dword pairs swapped; the signed products of the even dwords (64-bit); 64-bit add;
  // lane 2i <- dword 2i+1 of pe, lane 2i+1 <- dword 2i+1 of po; -1 where a > 0
  static V swap_pairs(V a) noexcept { return _mm256_shuffle_epi32(a, 0xB1); }
  static V mul_even(V a, V b) noexcept { return _mm256_mul_epi32(a, b); }
  static V add64(V a, V b) noexcept { return _mm256_add_epi64(a, b); }
  static V slli64_32(V a) noexcept { return _mm256_slli_epi64(a, 32); }
  static V set1_64(std::int64_t v) noexcept { return _mm256_set1_epi64x(v); }
  static V high_dwords(V pe, V po) noexcept { return _mm256_blend_epi32(_mm256_shuffle_epi32(pe, 0xB1), po, 0xAA); }
  static V positive(V a) noexcept { return _mm256_cmpgt_epi32(a, zero()); }
  /// clamp(v + z, lo, 127) (no overflow: |v| < 2^31 - 128)
  static V clamp8(V v, std::int32_t z, std::int32_t lo) noexcept { return min(max(add(v, set1(z)), set1(lo)), set1(kQMax)); }
  /// n (<= 8) lanes loaded from p (the others 0), reading nothing past p + n
  static V load_n(const std::int32_t* p, int n) noexcept {
    if (n == L) return load(p);
    alignas(32) std::int32_t t[8] = {};
    std::memcpy(t, p, sizeof(std::int32_t) * std::size_t(n));
    return load(t);
  }
  static V cvt8(const std::int8_t* p) noexcept {  // 8 int8 -> int32
    return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  }
  static V gather(const std::int32_t* t, V idx) noexcept { return _mm256_i32gather_epi32(t, idx, 4); }
  /// the dwords at base + idx[i] (bytes) for lanes i < n, 0 in the others
  static V gather_bytes(const void* base, V idx, int n) noexcept {
    const V keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), load(kLane));
    return _mm256_mask_i32gather_epi32(zero(), static_cast<const int*>(base), idx, keep, 1);
  }
};

#if PPGHR_Q8_VEC == 512
// ---- 512-bit (AVX-512F/BW/VL) ----
struct Z {
  using V = __m512i;
  static constexpr int L = 16;
  static V load(const void* p) noexcept { return _mm512_loadu_si512(p); }
  static void store(void* p, V v) noexcept { _mm512_storeu_si512(p, v); }
  static V set1(std::int32_t v) noexcept { return _mm512_set1_epi32(v); }
  static V zero() noexcept { return _mm512_setzero_si512(); }
  static V add(V a, V b) noexcept { return _mm512_add_epi32(a, b); }
  static V sub(V a, V b) noexcept { return _mm512_sub_epi32(a, b); }
  static V max(V a, V b) noexcept { return _mm512_maskz_max_epi32(__mmask16(0xFFFF), a, b); }
  static V min(V a, V b) noexcept { return _mm512_maskz_min_epi32(__mmask16(0xFFFF), a, b); }
  static V mullo(V a, V b) noexcept { return _mm512_mullo_epi32(a, b); }
  static V sllv(V a, V s) noexcept { return _mm512_maskz_sllv_epi32(__mmask16(0xFFFF), a, s); }
  static V srav(V a, V s) noexcept { return _mm512_maskz_srav_epi32(__mmask16(0xFFFF), a, s); }
  static V and_(V a, V b) noexcept { return _mm512_and_si512(a, b); }
  static V sra(V a, int n) noexcept { return _mm512_maskz_sra_epi32(__mmask16(0xFFFF), a, _mm_cvtsi32_si128(n)); }
  static void store8(std::int8_t* y, V v, int n) noexcept {
    _mm_mask_storeu_epi8(y, __mmask16((1u << n) - 1u), _mm512_maskz_cvtepi32_epi8(__mmask16(0xFFFF), v));
  }
  static V swap_pairs(V a) noexcept { return _mm512_maskz_shuffle_epi32(__mmask16(0xFFFF), a, _MM_PERM_CDAB); }
  static V mul_even(V a, V b) noexcept { return _mm512_maskz_mul_epi32(__mmask8(0xFF), a, b); }
  static V add64(V a, V b) noexcept { return _mm512_add_epi64(a, b); }
  static V slli64_32(V a) noexcept { return _mm512_maskz_slli_epi64(__mmask8(0xFF), a, 32); }
  static V set1_64(std::int64_t v) noexcept { return _mm512_set1_epi64(v); }
  static V high_dwords(V pe, V po) noexcept { return _mm512_mask_shuffle_epi32(po, __mmask16(0x5555), pe, _MM_PERM_CDAB); }
  static V positive(V a) noexcept {
    return _mm512_maskz_mov_epi32(_mm512_cmpgt_epi32_mask(a, zero()), _mm512_set1_epi32(-1));
  }
  /// clamp(v + z, lo, 127) (no overflow: |v| < 2^31 - 128)
  static V clamp8(V v, std::int32_t z, std::int32_t lo) noexcept { return min(max(add(v, set1(z)), set1(lo)), set1(kQMax)); }
  static void store8x4(std::int8_t* y, V a, V b, V c, V d, std::int32_t lo) noexcept {
    const __mmask32 all = 0xFFFFFFFFu;
    const __m512i p = _mm512_maskz_packs_epi16(~__mmask64(0), _mm512_maskz_packs_epi32(all, a, b), _mm512_maskz_packs_epi32(all, c, d));
    const __m512i r = _mm512_maskz_permutexvar_epi32(__mmask16(0xFFFF), _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), p);
    _mm512_storeu_si512(y, _mm512_maskz_max_epi8(~__mmask64(0), r, _mm512_set1_epi8(char(lo))));
  }
  static void store8x4(std::int8_t* y, V a, V b, V c, V d, std::int32_t z, std::int32_t lo) noexcept {
    const __mmask32 all = 0xFFFFFFFFu;
    const __m512i zz = _mm512_set1_epi16(short(z));
    const __m512i p = _mm512_maskz_packs_epi16(~__mmask64(0), _mm512_maskz_adds_epi16(all, _mm512_maskz_packs_epi32(all, a, b), zz),
                                               _mm512_maskz_adds_epi16(all, _mm512_maskz_packs_epi32(all, c, d), zz));
    // 128-bit lane j holds a[4j, 4j+4), b[..], c[..], d[..]: dword 4j + v -> 4v + j
    const __m512i r = _mm512_maskz_permutexvar_epi32(__mmask16(0xFFFF), _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), p);
    _mm512_storeu_si512(y, _mm512_maskz_max_epi8(~__mmask64(0), r, _mm512_set1_epi8(char(lo))));
  }
  static V load_n(const std::int32_t* p, int n) noexcept {
    return _mm512_maskz_loadu_epi32(__mmask16((1u << n) - 1u), p);
  }
  static V cvt8(const std::int8_t* p) noexcept {
    return _mm512_maskz_cvtepi8_epi32(__mmask16(0xFFFF), _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static V gather(const std::int32_t* t, V idx) noexcept { return _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), __mmask16(0xFFFF), idx, t, 4); }
  static V gather_bytes(const void* base, V idx, int n) noexcept {
    return _mm512_mask_i32gather_epi32(zero(), __mmask16((1u << n) - 1u), idx, base, 1);
  }
};
using D = Z;  // the widest of this build
#else
using D = Y;
#endif

/// Requantisation of a vector of channels (requantize32 + saturate8, exactly): the per-lane
/// parameters prepared once (init), then apply() per accumulator vector. `left`: some lane has a
/// positive shift (then the saturating left shift runs; never in quant.py's blobs).
template <class I>
struct Rq;

template <>
struct Rq<Y> {
  __m256i m, mo, left, right, mask, h, lo, hi, z;
  bool any_left = false;
  void init(__m256i mult, __m256i shift, std::int32_t zo, std::int32_t low) noexcept {
    const __m256i zero = _mm256_setzero_si256(), one = _mm256_set1_epi32(1);
    m = mult, mo = _mm256_srli_epi64(mult, 32);
    left = _mm256_max_epi32(shift, zero), right = _mm256_max_epi32(_mm256_sub_epi32(zero, shift), zero);
    mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, right), one), h = _mm256_srai_epi32(mask, 1);
    any_left = !_mm256_testz_si256(left, left);
    z = _mm256_set1_epi32(zo), lo = _mm256_set1_epi32(low - zo), hi = _mm256_set1_epi32(kQMax - zo);
  }
  /// requantize32(acc), unclamped
  template <bool Left>
  PPGHR_ALWAYS_INLINE __m256i raw(__m256i acc) const noexcept {
    const __m256i zero = _mm256_setzero_si256();
    __m256i x = acc;
    if constexpr (Left) {
      x = _mm256_sllv_epi32(acc, left);
      const __m256i same = _mm256_cmpeq_epi32(_mm256_srav_epi32(x, left), acc);
      const __m256i sat = _mm256_blendv_epi8(_mm256_set1_epi32(INT32_MAX), _mm256_set1_epi32(INT32_MIN),
                                             _mm256_cmpgt_epi32(zero, acc));
      x = _mm256_blendv_epi8(sat, x, same);
    }
    const __m256i nudge = _mm256_set1_epi64x(std::int64_t(1) << 30);
    const __m256i pe = _mm256_add_epi64(_mm256_mul_epi32(x, m), nudge);
    const __m256i po = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(x, 32), mo), nudge);
    const __m256i q = _mm256_blend_epi32(_mm256_srli_epi64(pe, 31), _mm256_slli_epi64(po, 1), 0xAA);
    const __m256i rem = _mm256_and_si256(q, mask);
    const __m256i thr = _mm256_sub_epi32(h, _mm256_cmpgt_epi32(zero, q));
    return _mm256_sub_epi32(_mm256_srav_epi32(q, right), _mm256_cmpgt_epi32(rem, thr));
  }
  template <bool Left>
  PPGHR_ALWAYS_INLINE __m256i apply(__m256i acc) const noexcept {
    // saturate8: clamp(v + z, low, 127) = clamp(v, low - z, 127 - z) + z (no int32 overflow)
    return _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(raw<Left>(acc), lo), hi), z);
  }
  PPGHR_ALWAYS_INLINE __m256i operator()(__m256i acc) const noexcept {
    return any_left ? apply<true>(acc) : apply<false>(acc);
  }
};

#if PPGHR_Q8_VEC == 512
template <>
struct Rq<Z> {
  __m512i m, mo, left, right, mask, h, lo, hi, z;
  bool any_left = false;
  void init(__m512i mult, __m512i shift, std::int32_t zo, std::int32_t low) noexcept {
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
    m = mult, mo = _mm512_maskz_srli_epi64(__mmask8(0xFF), mult, 32);
    left = _mm512_maskz_max_epi32(__mmask16(0xFFFF), shift, zero), right = _mm512_maskz_max_epi32(__mmask16(0xFFFF), _mm512_sub_epi32(zero, shift), zero);
    mask = _mm512_sub_epi32(_mm512_maskz_sllv_epi32(__mmask16(0xFFFF), one, right), one), h = _mm512_maskz_srai_epi32(__mmask16(0xFFFF), mask, 1);
    any_left = _mm512_test_epi32_mask(left, left) != 0;
    z = _mm512_set1_epi32(zo), lo = _mm512_set1_epi32(low - zo), hi = _mm512_set1_epi32(kQMax - zo);
  }
  /// requantize32(acc), unclamped
  template <bool Left>
  PPGHR_ALWAYS_INLINE __m512i raw(__m512i acc) const noexcept {
    const __m512i zero = _mm512_setzero_si512(), one = _mm512_set1_epi32(1);
    __m512i x = acc;
    if constexpr (Left) {
      x = _mm512_maskz_sllv_epi32(__mmask16(0xFFFF), acc, left);
      const __mmask16 ovf = _mm512_cmpneq_epi32_mask(_mm512_maskz_srav_epi32(__mmask16(0xFFFF), x, left), acc);
      const __mmask16 neg = _mm512_cmplt_epi32_mask(acc, zero);
      x = _mm512_mask_mov_epi32(x, __mmask16(ovf & ~neg), _mm512_set1_epi32(INT32_MAX));
      x = _mm512_mask_mov_epi32(x, __mmask16(ovf & neg), _mm512_set1_epi32(INT32_MIN));
    }
    const __m512i nudge = _mm512_set1_epi64(std::int64_t(1) << 30);
    const __m512i pe = _mm512_add_epi64(_mm512_maskz_mul_epi32(__mmask8(0xFF), x, m), nudge);
    const __m512i po = _mm512_add_epi64(_mm512_maskz_mul_epi32(__mmask8(0xFF), _mm512_maskz_srli_epi64(__mmask8(0xFF), x, 32), mo), nudge);
    const __m512i q = _mm512_mask_blend_epi32(__mmask16(0xAAAA), _mm512_maskz_srli_epi64(__mmask8(0xFF), pe, 31), _mm512_maskz_slli_epi64(__mmask8(0xFF), po, 1));
    const __m512i rem = _mm512_and_si512(q, mask);
    const __m512i thr = _mm512_mask_add_epi32(h, _mm512_cmplt_epi32_mask(q, zero), h, one);
    __m512i v = _mm512_maskz_srav_epi32(__mmask16(0xFFFF), q, right);
    return _mm512_mask_add_epi32(v, _mm512_cmpgt_epi32_mask(rem, thr), v, one);
  }
  template <bool Left>
  PPGHR_ALWAYS_INLINE __m512i apply(__m512i acc) const noexcept {
    return _mm512_add_epi32(_mm512_maskz_min_epi32(__mmask16(0xFFFF), _mm512_maskz_max_epi32(__mmask16(0xFFFF), raw<Left>(acc), lo), hi), z);
  }
  PPGHR_ALWAYS_INLINE __m512i operator()(__m512i acc) const noexcept {
    return any_left ? apply<true>(acc) : apply<false>(acc);
  }
};
#endif

/// requantize32 of bounded accumulators + the output zero point z, unclamped: |acc| < 2^30 and
/// shifts in [-22, 0] in every lane (kRqbMaxAbs, kRqbMaxShift: the convolutions whose weights
/// guarantee it, conv_pack; ADD's sum), in 11 vector ops without mask registers. 2 acc fits an
/// int32, and the high dword of 2 acc m + 2^31 is q = floor((acc m + 2^30) / 2^31),
/// requantize32_right's first step (even and odd lanes each by one 32 x 32 -> 64-bit multiply).
/// Its rounding, (x >> e) + bit e-1 of x with x = q - [q < 0], is floor((x + h) / 2^e), h =
/// 2^(e-1) (0 and no sign term for e = 0); + z is floor((x + h + z 2^e) / 2^e). h + z 2^e is
/// folded into the 64-bit nudge (the high dword then holds q + h + z 2^e: |q| <= |acc| < 2^30,
/// |z 2^e| <= 2^29, no overflow), and [acc < 0] stands for [q < 0]: they differ only where q = 0,
/// and there (h - 1) >> e = 0 too.
inline constexpr std::int32_t kRqbMaxAbs = kBoundedAccMax;  // arith.hpp's requantize_bounded, 16 lanes at once
inline constexpr int kRqbMaxShift = kBoundedMaxShift;
template <class I>
struct RqB {
  using V = typename I::V;
  static constexpr int kVectors = 6;  ///< what init() computes (store / load: kVectors * I::L int32)
  V m, mo, ce, co, e, sv;
  void init(V mult, V shift, std::int32_t z) noexcept {
    m = mult, mo = I::swap_pairs(mult);
    e = I::max(I::sub(I::zero(), shift), I::zero());
    sv = I::positive(e);
    const V hz = I::add(I::sra(I::sllv(I::set1(1), e), 1), I::sllv(I::set1(z), e)), n = I::set1_64(std::int64_t(1) << 31);
    ce = I::add64(I::slli64_32(hz), n);  // even products: lane 2i's h + z 2^e in the high dword
    co = I::add64(I::and_(hz, I::set1_64(std::int64_t(-1) * (std::int64_t(1) << 32))), n);  // odd: lane 2i+1's
  }
  void store(std::int32_t* p) const noexcept {
    I::store(p, m), I::store(p + I::L, mo), I::store(p + 2 * I::L, ce), I::store(p + 3 * I::L, co);
    I::store(p + 4 * I::L, e), I::store(p + 5 * I::L, sv);
  }
  void load(const std::int32_t* p) noexcept {
    m = I::load(p), mo = I::load(p + I::L), ce = I::load(p + 2 * I::L), co = I::load(p + 3 * I::L);
    e = I::load(p + 4 * I::L), sv = I::load(p + 5 * I::L);
  }
  /// requantize32(acc) + z
  PPGHR_ALWAYS_INLINE V raw(V acc) const noexcept {
    const V x2 = I::add(acc, acc);
    const V pe = I::add64(I::mul_even(x2, m), ce), po = I::add64(I::mul_even(I::swap_pairs(x2), mo), co);
    return I::srav(I::add(I::high_dwords(pe, po), I::and_(I::sra(acc, 31), sv)), e);
  }
};

/// y[i] = saturate8(requantize32(acc[i], mult[i], shift[i]), z, lo) for i < n (one position's
/// channels: Core::store).
inline void requant_row(const std::int32_t* acc, const std::int32_t* mult, const std::int32_t* shift, int n,
                        std::int32_t z, std::int32_t lo, std::int8_t* y) noexcept {
  using I = D;
  Rq<I> rq;
  int i = 0;
  for (; i + I::L <= n; i += I::L) {
    rq.init(I::load(mult + i), I::load(shift + i), z, lo);
    I::store8(y + i, rq(I::load(acc + i)), I::L);
  }
  if (i < n) {
    const int t = n - i;
    rq.init(I::load_n(mult + i, t), I::load_n(shift + i, t), z, lo);
    I::store8(y + i, rq(I::load_n(acc + i, t)), t);
  }
}

/// One input of the int8 ADD, v = requantize32((q - z) 2^20, M, -e) for an int8 q, without a
/// 64-bit product, for a right shift e in [0, kAddInMaxShift]. With d = q - z (|d| <= 255):
/// requantize32_right's q1 = floor((d 2^20 M + 2^30) / 2^31) = floor((d M + 2^10) / 2^11), and its
/// rounding (x = q1 - [q1 < 0]; (x >> e) + bit e-1 of x) is floor((q1 + h - [q1 < 0]) / 2^e), h =
/// 2^(e-1) (0 and no sign term when e = 0). Nested floors of integer quotients compose:
///   v = floor((d M + 2^10 + (h - [q1 < 0]) 2^11) / 2^(11+e)),
/// and [q1 < 0] may be [d < 0]: q1 < 0 implies d < 0, and where d < 0 but q1 = 0 (d M + 2^10 in
/// [0, 2^11)) both give 0. Splitting M = Mh 2^(11+e) + Ml (0 <= Ml < 2^(11+e)):
///   v = d Mh + floor((d Ml + K - 2^11 [d < 0]) / 2^(11+e)),  K = 2^10 + h 2^11,
/// all in int32: |d Mh| < 2^28, |d Ml| + K + 2^11 < 2^(19+e) + 2^(11+e) <= 2^31 for e <= 11.
inline constexpr int kAddInMaxShift = 11;
template <class I>
struct AddIn {
  using V = typename I::V;
  V z, mh, ml, k, adj;
  int sh = 11;
  void init(std::int32_t zq, std::int32_t mult, int e) noexcept {
    sh = 11 + e;
    z = I::set1(zq), mh = I::set1(mult >> sh), ml = I::set1(mult & std::int32_t((std::uint32_t(1) << sh) - 1u));
    k = I::set1((1 << 10) + (e > 0 ? (1 << (10 + e)) : 0)), adj = I::set1(e > 0 ? -2048 : 0);
  }
  PPGHR_ALWAYS_INLINE V apply(V q) const noexcept {
    const V d = I::sub(q, z);
    const V low = I::add(I::add(I::mullo(d, ml), k), I::and_(I::sra(d, 31), adj));
    return I::add(I::mullo(d, mh), I::sra(low, sh));
  }
};

/// The int8 ADD (Core::add's arithmetic) of n values, main path m (zero point zm) and shortcut x
/// (zx): false (nothing written) where a blob's input shifts are positive (v1 + v2 could then
/// leave int32: the caller's scalar path saturates as quant.py does). v1 and v2: AddIn (shifts
/// down to -kAddInMaxShift, quant.py's range) or, beyond, two 256-entry tables looked up by
/// gathers (slow on some cores); then one requantisation.
inline bool add_rows(const std::int8_t* m, const std::int8_t* x, std::size_t n, std::int32_t zm, std::int32_t zx,
                     const std::int32_t* mult, const std::int32_t* shift, std::int32_t z_out, std::int8_t* y) noexcept {
  if (shift[0] > 0 || shift[1] > 0) return false;
  using I = D;
  using V = I::V;
  Rq<I> r3;
  r3.init(I::set1(mult[2]), I::set1(shift[2]), z_out, kQMin);
  std::size_t i = 0;
  if (-shift[0] <= kAddInMaxShift && -shift[1] <= kAddInMaxShift) {
    AddIn<I> a1, a2;
    a1.init(zm, mult[0], int(-shift[0]));
    a2.init(zx, mult[1], int(-shift[1]));
    const auto sum = [&](std::size_t j) { return I::add(a1.apply(I::cvt8(m + j)), a2.apply(I::cvt8(x + j))); };
    constexpr std::size_t L = std::size_t(I::L);
    if (shift[2] <= 0 && shift[2] >= -kRqbMaxShift) {  // |v1 + v2| < 2^29: RqB's bounds
      RqB<I> rb;
      rb.init(I::set1(mult[2]), I::set1(shift[2]), z_out);
      for (; i + 4 * L <= n; i += 4 * L)
        I::store8x4(y + i, rb.raw(sum(i)), rb.raw(sum(i + L)), rb.raw(sum(i + 2 * L)), rb.raw(sum(i + 3 * L)), kQMin);
      for (; i + L <= n; i += L) I::store8(y + i, I::clamp8(rb.raw(sum(i)), 0, kQMin), I::L);
    }
    if (!r3.any_left)
      for (; i + 4 * L <= n; i += 4 * L)
        I::store8x4(y + i, r3.raw<false>(sum(i)), r3.raw<false>(sum(i + L)), r3.raw<false>(sum(i + 2 * L)),
                    r3.raw<false>(sum(i + 3 * L)), z_out, kQMin);
    for (; i + L <= n; i += L) I::store8(y + i, r3(sum(i)), I::L);
    for (; i < n; ++i) {
      const std::int32_t v1 = requantize32((m[i] - zm) * (1 << kAddLeftShift), mult[0], shift[0]);
      const std::int32_t v2 = requantize32((x[i] - zx) * (1 << kAddLeftShift), mult[1], shift[1]);
      y[i] = saturate8(requantize32(v1 + v2, mult[2], shift[2]), z_out, kQMin);
    }
    return true;
  }
  // |x - z| <= 255: (x - z) 2^20 fits; |v1|, |v2| <= 2^28 (multipliers < 2^31, shifts <= 0), so
  // v1 + v2 fits too. The tables hold plain requantize32 values (no clamp: bounds +-2^31).
  alignas(64) std::int32_t t1[256], t2[256];
  Rq<I> r1, r2;
  r1.init(I::set1(mult[0]), I::set1(shift[0]), 0, INT32_MIN + 1);
  r2.init(I::set1(mult[1]), I::set1(shift[1]), 0, INT32_MIN + 1);
  r1.hi = r2.hi = I::set1(INT32_MAX);
  const V lane = I::load(kLane);
  for (int v = 0; v < 256; v += I::L) {
    const V q = I::add(lane, I::set1(v - 128));
    I::store(t1 + v, r1.apply<false>(I::sllv(I::sub(q, I::set1(zm)), I::set1(kAddLeftShift))));
    I::store(t2 + v, r2.apply<false>(I::sllv(I::sub(q, I::set1(zx)), I::set1(kAddLeftShift))));
  }
  const V off = I::set1(128);
  for (; i + std::size_t(I::L) <= n; i += std::size_t(I::L)) {
    const V a = I::gather(t1, I::add(I::cvt8(m + i), off)), b = I::gather(t2, I::add(I::cvt8(x + i), off));
    I::store8(y + i, r3(I::add(a, b)), I::L);
  }
  for (; i < n; ++i) {
    const std::int32_t sum = t1[m[i] + 128] + t2[x[i] + 128];
    y[i] = saturate8(requantize32(sum, mult[2], shift[2]), z_out, kQMin);
  }
  return true;
}

/// AFFINE (a depthwise 1x1 convolution): y[t][c] = saturate8(requantize32(bias[c] + w[c] (x[t][c]
/// - z_in), mult[c], shift[c]), z_out, lo), exactly Core::exec's; y may be x (in place).
inline void affine(const std::int8_t* x, std::int8_t* y, int ch, int len, const std::int8_t* w,
                   const std::int32_t* bias, const std::int32_t* mult, const std::int32_t* shift, std::int32_t z_in,
                   std::int32_t z_out, std::int32_t lo) noexcept {
  using I = D;
  using V = I::V;
  const V zi = I::set1(z_in);
  for (int c = 0; c < ch; c += I::L) {
    const int n = ch - c < I::L ? ch - c : I::L;
    alignas(64) std::int8_t wb[16] = {};
    std::memcpy(wb, w + c, std::size_t(n));
    const V wv = I::cvt8(wb), bv = I::load_n(bias + c, n);
    Rq<I> rq;
    rq.init(I::load_n(mult + c, n), I::load_n(shift + c, n), z_out, lo);
    for (int t = 0; t < len; ++t) {
      const std::int8_t* xt = x + std::size_t(t) * ch + c;
      V xv;
      if (n == I::L) {
        xv = I::cvt8(xt);
      } else {
        alignas(64) std::int8_t xb[16] = {};
        std::memcpy(xb, xt, std::size_t(n));
        xv = I::cvt8(xb);
      }
      I::store8(y + std::size_t(t) * ch + c, rq(I::add(bv, I::mullo(wv, I::sub(xv, zi)))), n);
    }
  }
}

/// MAXPOOL1D over x [lin][ch] -> y [lout][ch] (Core::exec's: `fill` for padded positions).
inline void max_pool(const std::int8_t* x, std::int8_t* y, int ch, int lin, int lout, int kk, int st, int pl,
                     std::int8_t fill) noexcept {
  for (int t = 0; t < lout; ++t) {
    std::int8_t* yt = y + std::size_t(t) * ch;
    int c = 0;
    for (; c + 32 <= ch; c += 32) {
      __m256i m = _mm256_set1_epi8(char(-128));
      for (int j = 0; j < kk; ++j) {
        const int u = t * st + j - pl;
        m = _mm256_max_epi8(m, (u < 0 || u >= lin) ? _mm256_set1_epi8(char(fill))
                                                    : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(
                                                          x + std::size_t(u) * ch + c)));
      }
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(yt + c), m);
    }
    for (; c < ch; ++c) {
      std::int8_t m = -128;
      for (int j = 0; j < kk; ++j) {
        const int u = t * st + j - pl;
        const std::int8_t v = (u < 0 || u >= lin) ? fill : x[std::size_t(u) * ch + c];
        m = v > m ? v : m;
      }
      yt[c] = m;
    }
  }
}

/// div_round_away(sum, n) of 8 int32 sums, exactly: (sum +- n/2) / n in double (|a| < 2^31 and
/// n < 2^20: a non-integer quotient is at least 1/n from an integer, far above double's rounding,
/// so truncating the rounded quotient truncates the exact one).
inline __m256i div_round_away8(__m256i sum, std::int32_t n) noexcept {
  const __m256i half = _mm256_set1_epi32(n / 2);
  const __m256i pos = _mm256_cmpgt_epi32(sum, _mm256_setzero_si256());
  const __m256i a = _mm256_blendv_epi8(_mm256_sub_epi32(sum, half), _mm256_add_epi32(sum, half), pos);
  const __m256d dn = _mm256_set1_pd(double(n));
  const __m128i lo = _mm256_cvttpd_epi32(_mm256_div_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(a)), dn));
  const __m128i hi = _mm256_cvttpd_epi32(_mm256_div_pd(_mm256_cvtepi32_pd(_mm256_extracti128_si256(a, 1)), dn));
  return _mm256_set_m128i(hi, lo);
}

/// AVGPOOL1D / ROW_AVGPOOL (one row) / GLOBAL_AVG_POOL (lout 1, kk = lin): y[t][c] =
/// div_round_away(sum over j < kk of x[t st + j][c], kk), exactly Core::exec's. False (nothing
/// written): a window of 2^20 values or more (the caller's scalar path).
inline bool avg_pool(const std::int8_t* x, std::int8_t* y, int ch, int lout, int kk, int st) noexcept {
  if (kk <= 0 || kk >= (1 << 20)) return false;
  for (int t = 0; t < lout; ++t) {
    const std::int8_t* xt = x + std::size_t(t) * std::size_t(st) * std::size_t(ch);
    std::int8_t* yt = y + std::size_t(t) * ch;
    int c = 0;
#if PPGHR_Q8_VEC == 512
    // 16 channels at once, the division in float32: sum +- kk/2 is exact (|sum| <= 128 kk < 2^24),
    // and truncating the rounded quotient truncates the exact one: a non-integer quotient q
    // (|q| <= 129) is at least 1/kk from an integer, more than half an ulp of q (<= 2^-17) for
    // kk < 2^17
    if (kk < (1 << 17)) {
      const __m512 n = _mm512_set1_ps(float(kk));
      const __m512i half = _mm512_set1_epi32(kk / 2);
      for (; c + 16 <= ch; c += 16) {
        __m512i sum = _mm512_setzero_si512();
        for (int j = 0; j < kk; ++j) sum = _mm512_add_epi32(sum, Z::cvt8(xt + std::size_t(j) * ch + c));
        const __m512i a = _mm512_mask_sub_epi32(_mm512_add_epi32(sum, half), _mm512_cmple_epi32_mask(sum, _mm512_setzero_si512()),
                                                sum, half);
        const __m512 q = _mm512_div_ps(_mm512_maskz_cvtepi32_ps(__mmask16(0xFFFF), a), n);
        Z::store8(yt + c, _mm512_maskz_cvttps_epi32(__mmask16(0xFFFF), q), 16);  // in [-128, 127]
      }
    }
#endif
    for (; c + 8 <= ch; c += 8) {
      __m256i sum = _mm256_setzero_si256();
      for (int j = 0; j < kk; ++j)
        sum = _mm256_add_epi32(sum, Y::cvt8(xt + std::size_t(j) * ch + c));
      Y::store8(yt + c, div_round_away8(sum, kk), 8);  // in [-128, 127]: the clamp is a no-op
    }
    for (; c < ch; ++c) {
      std::int32_t sum = 0;
      for (int j = 0; j < kk; ++j) sum += xt[std::size_t(j) * ch + c];
      yt[c] = clamp8(div_round_away(sum, kk), kQMin);
    }
  }
  return true;
}

/// quant.quantize of n floats (x - off) / sc with per-lane off / sc vectors (I::L lanes each),
/// + z, clamped: exactly q8::quantize (one subtraction, one division, clamp to +-1024, round half
/// away from zero: the fraction v - trunc(v) is exact).
template <class I>
PPGHR_ALWAYS_INLINE void quantize_lanes(const float* x, const float* off, const float* sc, std::int32_t z,
                                        std::int8_t* y, int n) noexcept;

#if PPGHR_Q8_VEC == 512
template <>
PPGHR_ALWAYS_INLINE void quantize_lanes<Z>(const float* x, const float* off, const float* sc, std::int32_t z,
                                           std::int8_t* y, int n) noexcept {
  const __mmask16 k = __mmask16((1u << n) - 1u);
  __m512 v = _mm512_div_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x), _mm512_loadu_ps(off)),
                           _mm512_mask_loadu_ps(_mm512_set1_ps(1.0f), k, sc));
  v = _mm512_maskz_min_ps(__mmask16(0xFFFF), _mm512_maskz_max_ps(__mmask16(0xFFFF), v, _mm512_set1_ps(-kInputClamp)), _mm512_set1_ps(kInputClamp));
  const __m512 t = _mm512_maskz_roundscale_ps(__mmask16(0xFFFF), v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m512 frac = _mm512_sub_ps(v, t);
  const __m512 absf = _mm512_abs_ps(frac);
  const __mmask16 up = _mm512_cmp_ps_mask(absf, _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  const __m512i ti = _mm512_maskz_cvttps_epi32(__mmask16(0xFFFF), t);
  const __mmask16 negm = _mm512_cmp_ps_mask(frac, _mm512_setzero_ps(), _CMP_LT_OQ);
  __m512i r = _mm512_mask_add_epi32(ti, __mmask16(up & ~negm), ti, _mm512_set1_epi32(1));
  r = _mm512_mask_sub_epi32(r, __mmask16(up & negm), r, _mm512_set1_epi32(1));
  r = _mm512_maskz_min_epi32(__mmask16(0xFFFF), _mm512_maskz_max_epi32(__mmask16(0xFFFF), _mm512_add_epi32(r, _mm512_set1_epi32(z)), _mm512_set1_epi32(kQMin)),
                       _mm512_set1_epi32(kQMax));
  _mm_mask_storeu_epi8(y, k, _mm512_maskz_cvtepi32_epi8(__mmask16(0xFFFF), r));
}
#endif
template <>
PPGHR_ALWAYS_INLINE void quantize_lanes<Y>(const float* x, const float* off, const float* sc, std::int32_t z,
                                           std::int8_t* y, int n) noexcept {
  alignas(32) float xb[8] = {0, 0, 0, 0, 0, 0, 0, 0}, sb[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  const float* xp = x;
  const float* sp = sc;
  if (n < 8) {
    std::memcpy(xb, x, sizeof(float) * std::size_t(n));
    std::memcpy(sb, sc, sizeof(float) * std::size_t(n));
    xp = xb, sp = sb;
  }
  __m256 v = _mm256_div_ps(_mm256_sub_ps(_mm256_loadu_ps(xp), _mm256_loadu_ps(off)), _mm256_loadu_ps(sp));
  v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-kInputClamp)), _mm256_set1_ps(kInputClamp));
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 frac = _mm256_sub_ps(v, t);
  const __m256 absf = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), frac);
  const __m256i up = _mm256_castps_si256(_mm256_cmp_ps(absf, _mm256_set1_ps(0.5f), _CMP_GE_OQ));
  const __m256i neg = _mm256_castps_si256(_mm256_cmp_ps(frac, _mm256_setzero_ps(), _CMP_LT_OQ));
  // +1 (frac >= 0.5), -1 (frac <= -0.5): up & (neg ? -1 : 1)
  const __m256i step = _mm256_and_si256(up, _mm256_or_si256(neg, _mm256_set1_epi32(1)));
  __m256i r = _mm256_add_epi32(_mm256_cvttps_epi32(t), step);
  r = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(r, _mm256_set1_epi32(z)), _mm256_set1_epi32(kQMin)),
                       _mm256_set1_epi32(kQMax));
  Y::store8(y, r, n);
}

/// y[i] = quantize(x[i], off[i % period], sc[i % period], z) for i < n, period in 1..8 (the
/// time-major inputs: period = channels), or off / sc constant (period 1).
inline void quantize_periodic(const float* x, std::size_t n, const float* off, const float* sc, int period,
                              std::int32_t z, std::int8_t* y) noexcept {
  using I = D;
  constexpr int L = I::L;
  // per-lane offsets and scales of `period` consecutive vectors (L * period values: a multiple of
  // both L and the period)
  alignas(64) float ov[L * 8], sv[L * 8];
  for (int i = 0; i < L * period; ++i) ov[i] = off[i % period], sv[i] = sc[i % period];
  std::size_t i = 0;
  const std::size_t block = std::size_t(L) * std::size_t(period);
  for (; i + block <= n; i += block)
    for (int j = 0; j < period; ++j)
      quantize_lanes<I>(x + i + std::size_t(j) * L, ov + j * L, sv + j * L, z, y + i + std::size_t(j) * L, L);
  for (int j = 0; i < n; ++j) {
    const int t = n - i < std::size_t(L) ? int(n - i) : L;
    quantize_lanes<I>(x + i, ov + j * L, sv + j * L, z, y + i, t);
    i += std::size_t(t);
  }
}

/// The same with x[i] = (w[i] - mean) / div first (float32, WindowNorm's normalisation), period 1.
inline void quantize_normalised(const float* w, std::size_t n, float mean, float div, float off, float sc,
                                std::int32_t z, std::int8_t* y) noexcept {
  alignas(64) float buf[64];
  for (std::size_t i = 0; i < n; i += 64) {
    const std::size_t t = n - i < 64 ? n - i : 64;
    std::size_t j = 0;
#if PPGHR_Q8_VEC == 512
    for (; j + 16 <= t; j += 16)  // the same two correctly rounded operations per value
      _mm512_store_ps(buf + j, _mm512_div_ps(_mm512_sub_ps(_mm512_loadu_ps(w + i + j), _mm512_set1_ps(mean)),
                                             _mm512_set1_ps(div)));
#else
    for (; j + 8 <= t; j += 8)
      _mm256_store_ps(buf + j, _mm256_div_ps(_mm256_sub_ps(_mm256_loadu_ps(w + i + j), _mm256_set1_ps(mean)),
                                             _mm256_set1_ps(div)));
#endif
    for (; j < t; ++j) buf[j] = (w[i + j] - mean) / div;
    quantize_periodic(buf, t, &off, &sc, 1, z, y + i);
  }
}

}  // namespace vec

#if PPGHR_Q8_CONV_VNNI
namespace vnni {

#if PPGHR_Q8_CONV_VNNI == 512
struct Isa : vec::Z {
  using Base = vec::Z;
  static V dp(V a, V u, V w) noexcept { return _mm512_dpbusd_epi32(a, u, w); }
  static V bcast(const std::uint8_t* p) noexcept {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
  }
  // register tiles (32 registers; VPDPBUSD's latency 5 wants >= 10 independent sums):
  static constexpr int kNB = 2, kP = 8;   // co > 16: 2 vectors x 8 positions
  static constexpr int kP1 = 12;          // co <= 16: 1 vector x 12 positions
};
#else
struct Isa : vec::Y {
  using Base = vec::Y;
#if defined(PPGHR_Q8_CONV_VNNI256_EVEX)
  static V dp(V a, V u, V w) noexcept { return _mm256_dpbusd_epi32(a, u, w); }
#else
  static V dp(V a, V u, V w) noexcept { return _mm256_dpbusd_avx_epi32(a, u, w); }
#endif
  static V bcast(const std::uint8_t* p) noexcept {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
  }
  // register tiles (16 registers): 2 vectors x 6 positions, 1 x 10
  static constexpr int kNB = 2, kP = 6;
  static constexpr int kP1 = 10;
};
#endif

/// What a tile needs (pointers into the scratch and the output).
struct Args {
  const std::uint8_t* u = nullptr;   ///< padded u8 input
  std::ptrdiff_t pstep = 0;          ///< bytes between positions
  std::ptrdiff_t cstep = 0;          ///< bytes between chunks
  int chunks = 1, quads = 1;
  const std::int8_t* wp = nullptr;   ///< packed weights
  std::ptrdiff_t wq = 0;             ///< bytes per quad row (co_pad * 4)
  const std::int32_t* bp = nullptr;  ///< bias'
  const std::int32_t* mp = nullptr;  ///< multipliers (padded)
  const std::int32_t* sp = nullptr;  ///< shifts (padded)
  int co = 1;
  std::int32_t z_out = 0, lo = kQMin;
  std::int8_t* y = nullptr;          ///< int8 output [t][co], or
  std::int32_t* acc = nullptr;       ///< the accumulators: acc[o * o_stride + t]
  bool bounded = false;              ///< Layout::fl[0]: RqB requantises
  const std::int32_t* rqb = nullptr;  ///< RqB's vectors per block of I::L channels (Layout::rq)
  std::ptrdiff_t o_stride = 0;
};

// The epilogue with the saturating left shift, out of the tiles' hot code.
PPGHR_NOINLINE inline void left_epilogue(const Isa::V* acc, int P, const vec::Rq<Isa::Base>& rq, std::int8_t* yo,
                                         std::ptrdiff_t co, int n) noexcept {
  for (int p = 0; p < P; ++p) Isa::store8(yo + std::ptrdiff_t(p) * co, rq.apply<true>(acc[p]), n);
}

// A tile's NB * P output vectors when they are whole and contiguous (co == NB * L): vector v is
// position v / NB, channels (v % NB) * L; raw(b, acc) requantises channel block b (AddZ: without
// the output zero point z, which the stores add).
template <bool AddZ, int NB, int P, class Raw>
PPGHR_ALWAYS_INLINE void store_tile(std::int8_t* yo, const Isa::V (&acc)[NB][P], const Raw& raw, std::int32_t z,
                                    std::int32_t lo) noexcept {
  constexpr int L = Isa::L, NV = NB * P;
  int v = 0;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 16
#endif
  for (; v + 4 <= NV; v += 4) {
    const Isa::V r0 = raw(v % NB, acc[v % NB][v / NB]), r1 = raw((v + 1) % NB, acc[(v + 1) % NB][(v + 1) / NB]);
    const Isa::V r2 = raw((v + 2) % NB, acc[(v + 2) % NB][(v + 2) / NB]), r3 = raw((v + 3) % NB, acc[(v + 3) % NB][(v + 3) / NB]);
    if constexpr (AddZ)
      Isa::store8x4(yo + std::ptrdiff_t(v) * L, r0, r1, r2, r3, z, lo);
    else
      Isa::store8x4(yo + std::ptrdiff_t(v) * L, r0, r1, r2, r3, lo);
  }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 4
#endif
  for (; v < NV; ++v) {
    const Isa::V r = raw(v % NB, acc[v % NB][v / NB]);
    // saturate8 (as Rq::apply: no int32 overflow) or, z already added, the clamp alone
    Isa::store8(yo + std::ptrdiff_t(v) * L,
                AddZ ? Isa::add(Isa::min(Isa::max(r, Isa::set1(lo - z)), Isa::set1(kQMax - z)), Isa::set1(z))
                     : Isa::clamp8(r, 0, lo),
                L);
  }
}

// tile()'s less common epilogues (see there).
template <int NB, int P>
PPGHR_NOINLINE void tile_rest(const Args& a, int ob, int t0, const Isa::V (&acc)[NB][P]) noexcept {
  using I = Isa;
  constexpr int L = I::L;
  const int co = a.co;
  if (a.acc == nullptr && co == NB * L) {  // the tile's outputs are NB * P whole vectors, contiguous
    vec::Rq<I::Base> rq[NB];
    bool left = false;
    for (int b = 0; b < NB; ++b) {
      rq[b].init(I::load(a.mp + ob + b * L), I::load(a.sp + ob + b * L), a.z_out, a.lo);
      left = left || rq[b].any_left;
    }
    if (!PPGHR_UNLIKELY(left)) {
      store_tile<true>(a.y + std::ptrdiff_t(t0) * co, acc,
                       [&](int b, const I::V& x) { return rq[b].template raw<false>(x); }, a.z_out, a.lo);
      return;
    }
  }
  for (int b = 0; b < NB; ++b) {
    const int o = ob + b * L;
    if (o >= co) break;
    const int n = co - o < L ? co - o : L;
    if (a.acc != nullptr) {
      alignas(64) std::int32_t tmp[L];
      for (int p = 0; p < P; ++p) {
        I::store(tmp, acc[b][p]);
        for (int i = 0; i < n; ++i) a.acc[std::ptrdiff_t(o + i) * a.o_stride + t0 + p] = tmp[i];
      }
      continue;
    }
    std::int8_t* yo = a.y + std::ptrdiff_t(t0) * co + o;
    if (a.bounded) {
      vec::RqB<I::Base> rb;
      rb.load(a.rqb + std::ptrdiff_t(o / L) * vec::RqB<I::Base>::kVectors * L);
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 16
#endif
      for (int p = 0; p < P; ++p) I::store8(yo + std::ptrdiff_t(p) * co, I::clamp8(rb.raw(acc[b][p]), 0, a.lo), n);
      continue;
    }
    vec::Rq<I::Base> rq;
    rq.init(I::load(a.mp + o), I::load(a.sp + o), a.z_out, a.lo);
    if (PPGHR_UNLIKELY(rq.any_left)) {  // positive shifts: never in quant.py's blobs
      left_epilogue(acc[b], P, rq, yo, co, n);
    } else {
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 16
#endif
      for (int p = 0; p < P; ++p) I::store8(yo + std::ptrdiff_t(p) * co, rq.apply<false>(acc[b][p]), n);
    }
  }
}

// PS > 0: the position step as a constant (the addresses of a tile's P positions are then one
// register plus constant displacements; a runtime step costs a register per position).
template <int NB, int P, int PS>
PPGHR_ALWAYS_INLINE void tile(const Args& a, int ob, int t0) noexcept {
  using I = Isa;
  using V = I::V;
  constexpr int L = I::L;
  const std::ptrdiff_t pstep = PS > 0 ? std::ptrdiff_t(PS) : a.pstep;
  V acc[NB][P];
  for (int b = 0; b < NB; ++b) {
    const V bias = I::load(a.bp + ob + b * L);
    for (int p = 0; p < P; ++p) acc[b][p] = bias;
  }
  const std::uint8_t* u0 = a.u + std::ptrdiff_t(t0) * pstep;
  const std::int8_t* w = a.wp + std::ptrdiff_t(ob) * 4;
  for (int j = 0; j < a.chunks; ++j) {
    const std::uint8_t* uj = u0 + std::ptrdiff_t(j) * a.cstep;
    for (int q = 0; q < a.quads; ++q, w += a.wq) {
      V wv[NB];
      for (int b = 0; b < NB; ++b) wv[b] = I::load(w + b * L * 4);
      for (int p = 0; p < P; ++p) {
        const V xb = I::bcast(uj + std::ptrdiff_t(p) * pstep + 4 * q);
        for (int b = 0; b < NB; ++b) acc[b][p] = I::dp(acc[b][p], xb, wv[b]);
      }
    }
  }
  const int co = a.co;
  if (a.acc == nullptr && co == NB * L && a.bounded) {  // NB * P whole vectors, contiguous; RqB
    vec::RqB<I::Base> rq[NB];
    for (int b = 0; b < NB; ++b) rq[b].load(a.rqb + std::ptrdiff_t(ob / L + b) * vec::RqB<I::Base>::kVectors * L);
    store_tile<false>(a.y + std::ptrdiff_t(t0) * co, acc, [&](int b, const V& x) { return rq[b].raw(x); }, 0, a.lo);
    return;
  }
#if PPGHR_Q8_CONV_VNNI == 512
  if constexpr (NB == 2 && P >= 2) {
    // 16 < co < 32, co a multiple of 4 (PULSE's 24), the whole output row in this tile: two
    // positions' 2 x 2 vectors saturated by packs into one vector, their 2 co bytes picked out by
    // one dword permutation (lane j of the packs holds dwords 4j..4j+3 of r00, r01, r10, r11) and
    // stored under a mask
    if (a.acc == nullptr && a.bounded && ob == 0 && co > L && co < 2 * L && co % 4 == 0) {
      const int r = (co - L) / 4;  // 1..3 dwords of the second vector
      alignas(64) static constexpr std::int32_t kPick[3][16] = {
          {0, 4, 8, 12, 1, 2, 6, 10, 14, 3, 0, 0, 0, 0, 0, 0},
          {0, 4, 8, 12, 1, 5, 2, 6, 10, 14, 3, 7, 0, 0, 0, 0},
          {0, 4, 8, 12, 1, 5, 9, 2, 6, 10, 14, 3, 7, 11, 0, 0}};
      const __m512i pick = _mm512_load_si512(kPick[r - 1]);
      const __mmask16 keep = __mmask16((1u << (8 + 2 * r)) - 1u);
      vec::RqB<I::Base> rq0, rq1;
      rq0.load(a.rqb);
      rq1.load(a.rqb + vec::RqB<I::Base>::kVectors * L);
      const __m512i lo8 = _mm512_set1_epi8(char(a.lo));
      const __mmask32 all = 0xFFFFFFFFu;
      std::int8_t* yo = a.y + std::ptrdiff_t(t0) * co;
      int p = 0;
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 8
#endif
      for (; p + 2 <= P; p += 2) {
        const __m512i w0 = _mm512_maskz_packs_epi32(all, rq0.raw(acc[0][p]), rq1.raw(acc[1][p]));
        const __m512i w1 = _mm512_maskz_packs_epi32(all, rq0.raw(acc[0][p + 1]), rq1.raw(acc[1][p + 1]));
        const __m512i b8 = _mm512_maskz_permutexvar_epi32(__mmask16(0xFFFF), pick, _mm512_maskz_packs_epi16(~__mmask64(0), w0, w1));
        _mm512_mask_storeu_epi32(yo + std::ptrdiff_t(p) * co, keep, _mm512_maskz_max_epi8(~__mmask64(0), b8, lo8));
      }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 8
#endif
      for (; p < P; ++p) {
        I::store8(yo + std::ptrdiff_t(p) * co, I::clamp8(rq0.raw(acc[0][p]), 0, a.lo), L);
        I::store8(yo + std::ptrdiff_t(p) * co + L, I::clamp8(rq1.raw(acc[1][p]), 0, a.lo), co - L);
      }
      return;
    }
  }
#endif
  // the other outputs (the accumulators, partial vectors, RqB's bounds not proven), out of line
  // with a copy of the accumulators, so that acc[][] stays in registers on the paths above
  V rest[NB][P];
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 32
#endif
  for (int v = 0; v < NB * P; ++v) rest[v / P][v % P] = acc[v / P][v % P];
  tile_rest<NB, P>(a, ob, t0, rest);
}

// One position (a LINEAR): NB vectors x 4 partial sums over the quads (VPDPBUSD's latency).
template <int NB>
inline void tile1(const Args& a, int ob) noexcept {
  using I = Isa;
  using V = I::V;
  constexpr int L = I::L;
  V acc[NB][4];
  for (int b = 0; b < NB; ++b) {
    acc[b][0] = I::load(a.bp + ob + b * L);
    acc[b][1] = acc[b][2] = acc[b][3] = I::zero();
  }
  const std::int8_t* w = a.wp + std::ptrdiff_t(ob) * 4;
  const int n = a.chunks * a.quads;  // one position: chunks are consecutive quads only when chunks == 1
  int q = 0;
  for (; q + 4 <= n; q += 4)
    for (int r = 0; r < 4; ++r) {
      const V xb = I::bcast(a.u + 4 * (q + r));
      for (int b = 0; b < NB; ++b) acc[b][r] = I::dp(acc[b][r], xb, I::load(w + std::ptrdiff_t(q + r) * a.wq + b * L * 4));
    }
  for (; q < n; ++q) {
    const V xb = I::bcast(a.u + 4 * q);
    for (int b = 0; b < NB; ++b) acc[b][0] = I::dp(acc[b][0], xb, I::load(w + std::ptrdiff_t(q) * a.wq + b * L * 4));
  }
  const int co = a.co;
  for (int b = 0; b < NB; ++b) {
    const int o = ob + b * L;
    if (o >= co) break;
    const int cnt = co - o < L ? co - o : L;
    const V sum = I::add(I::add(acc[b][0], acc[b][1]), I::add(acc[b][2], acc[b][3]));
    if (a.acc != nullptr && a.o_stride == 1 && cnt == L) {  // the logits' accumulators, contiguous
      I::store(a.acc + o, sum);
      continue;
    }
    if (a.acc != nullptr) {
      alignas(64) std::int32_t tmp[L];
      I::store(tmp, sum);
      for (int i = 0; i < cnt; ++i) a.acc[std::ptrdiff_t(o + i) * a.o_stride] = tmp[i];
      continue;
    }
    vec::Rq<I::Base> rq;
    rq.init(I::load(a.mp + o), I::load(a.sp + o), a.z_out, a.lo);
    I::store8(a.y + o, rq(sum), cnt);
  }
}

template <int NB, int P, int PS>
inline void block_ps(const Args& a, int ob, int lout) noexcept {
  int t = 0;
  for (; t + P <= lout; t += P) tile<NB, P, PS>(a, ob, t);
  if constexpr (P > 4)
    for (; t + 4 <= lout; t += 4) tile<NB, 4, PS>(a, ob, t);
  for (; t < lout; ++t) tile<NB, 1, PS>(a, ob, t);
}

// The position steps of the shipped networks' convolutions as constants (channels 16, 24, 32;
// 64: stride 2 over 32), any other at run time.
template <int NB, int P>
inline void block(const Args& a, int ob, int lout) noexcept {
  switch (a.pstep) {
    case 16: block_ps<NB, P, 16>(a, ob, lout); break;
    case 24: block_ps<NB, P, 24>(a, ob, lout); break;
    case 32: block_ps<NB, P, 32>(a, ob, lout); break;
    case 64: block_ps<NB, P, 64>(a, ob, lout); break;
    default: block_ps<NB, P, 0>(a, ob, lout); break;
  }
}

}  // namespace vnni

namespace vnni {
struct Layout {
  int chunks, clen, Q, cop;
  std::int8_t* wp;
  std::int32_t *bp, *mp, *sp;
  std::int32_t* fl;  ///< fl[0]: every output channel's accumulator and shift within RqB's bounds
  std::int32_t* rq;  ///< then RqB's vectors, per block of I::L channels
  Layout(const ConvGeom& g, std::uint8_t* packed) noexcept
      : chunks(g.dil == 1 ? 1 : g.k), clen(g.dil == 1 ? g.k * g.ci : g.ci), Q((clen + 3) / 4),
        cop((g.co + kConvCoPad - 1) / kConvCoPad * kConvCoPad) {
    wp = reinterpret_cast<std::int8_t*>(packed);
    bp = reinterpret_cast<std::int32_t*>(packed + conv_round64(std::size_t(chunks) * Q * cop * 4));
    mp = bp + conv_round64(std::size_t(cop) * 4) / 4;
    sp = mp + conv_round64(std::size_t(cop) * 4) / 4;
    fl = sp + conv_round64(std::size_t(cop) * 4) / 4;
    rq = fl + 16;
  }
};
}  // namespace vnni

/// Packs conv g's weights w ([co][k][ci]), bias (and, unless `last`, mult / shift) into `packed`
/// (conv_packed_bytes(g), 64-aligned) for input zero point z_in: the per-inference-free half of
/// conv_vnni(). Reads w[0, co * k * ci), bias / mult / shift [0, co) only.
inline void conv_pack(const ConvGeom& g, std::int32_t z_in, const std::int8_t* w, const std::int32_t* bias,
                      const std::int32_t* mult, const std::int32_t* shift, bool last, std::int32_t z_out,
                      std::uint8_t* packed) noexcept {
  using I = vnni::Isa;
  const vnni::Layout ly(g, packed);
  const int chunks = ly.chunks, clen = ly.clen, Q = ly.Q, cop = ly.cop;
  std::int8_t* wp = ly.wp;
  std::int32_t* bp = ly.bp;
  std::int32_t* mp = ly.mp;
  std::int32_t* sp = ly.sp;
  // 2. weights -> wp [chunk][quad][cop][4] (zero beyond the window and beyond co), sum(w) -> bias'
  const std::size_t K = std::size_t(g.k) * g.ci;
  const std::size_t wrow = std::size_t(cop) * 4;
  for (int j = 0; j < chunks; ++j)
    for (int q = 0; q < Q; ++q) {
      std::int8_t* dst = wp + (std::size_t(j) * Q + q) * wrow;
      const int have = clen - 4 * q < 4 ? clen - 4 * q : 4;
      const std::int8_t* src = w + std::size_t(j) * clen + 4 * q;
      if (have == 4) {  // 16 (8) channels' quads by one gather
        for (int o = 0; o < cop; o += I::L) {
          const int n = g.co - o < 0 ? 0 : (g.co - o < I::L ? g.co - o : I::L);
          const typename I::V idx = I::mullo(I::add(I::load(vec::kLane), I::set1(o)), I::set1(int(K)));
          I::store(dst + 4 * o, I::gather_bytes(src, idx, n));
        }
      } else {  // the window's last partial quad: nothing read past it
        for (int o = 0; o < g.co; ++o) {
          std::int32_t v = 0;
          std::memcpy(&v, src + std::size_t(o) * K, std::size_t(have));
          std::memcpy(dst + 4 * o, &v, 4);
        }
        std::memset(dst + 4 * g.co, 0, std::size_t(cop - g.co) * 4);
      }
    }
  for (int o = 0; o < cop; o += I::L) {
    typename I::V sw = I::zero();
    const typename I::V ones = I::set1(0x01010101);
    if (z_in != kQMin)
      for (int r = 0; r < chunks * Q; ++r) sw = I::dp(sw, ones, I::load(wp + std::size_t(r) * wrow + std::size_t(o) * 4));
    const int n = g.co - o < I::L ? (g.co - o > 0 ? g.co - o : 0) : I::L;
    const typename I::V b = I::load_n(bias + (o < g.co ? o : 0), n);
    I::store(bp + o, I::sub(b, I::mullo(sw, I::set1(z_in + 128))));
    if (!last) {
      I::store(mp + o, I::load_n(mult + (o < g.co ? o : 0), n));
      I::store(sp + o, I::load_n(shift + (o < g.co ? o : 0), n));
    }
  }
  // RqB's bounds: |acc| <= |bias'| + 255 sum |w| (acc = bias' + sum u w, u in [0, 255])
  bool bounded = !last;
  for (int o = 0; o < g.co && bounded; ++o) {
    std::int64_t sa = 0;
    for (std::size_t i = 0; i < K; ++i) sa += w[std::size_t(o) * K + i] < 0 ? -w[std::size_t(o) * K + i] : w[std::size_t(o) * K + i];
    const std::int64_t b = bp[o] < 0 ? -std::int64_t(bp[o]) : std::int64_t(bp[o]);
    bounded = b + 255 * sa <= vec::kRqbMaxAbs && shift[o] <= 0 && shift[o] >= -vec::kRqbMaxShift;
  }
  ly.fl[0] = bounded ? 1 : 0;
  if (bounded && !(g.lout == 1 && chunks == 1))
    for (int o = 0; o < cop; o += I::L) {
      vec::RqB<typename I::Base> rb;
      rb.init(I::load(mp + o), I::load(sp + o), z_out);
      rb.store(ly.rq + std::ptrdiff_t(o / I::L) * vec::RqB<typename I::Base>::kVectors * I::L);
    }

}

/// The convolution g of x (int8 [lin][ci], zero point z_in) with the weights conv_pack() put in
/// `packed`: y [lout][co] int8 = saturate8(requantize32(acc, mult, shift), z_out, lo), or
/// (acc_out != nullptr) the int32 accumulators at acc_out[o * o_stride + t]. u:
/// conv_input_bytes(g) bytes, 64-aligned. Equal to q8::dot_ref + requantize32 / saturate8 per
/// output, bit for bit.
inline void conv_run(const std::int8_t* x, const ConvGeom& g, std::int32_t z_in, const std::uint8_t* packed,
                     std::int32_t z_out, std::int32_t lo, std::int8_t* y, std::int32_t* acc_out, std::ptrdiff_t o_stride,
                     std::uint8_t* u) noexcept {
  using I = vnni::Isa;
  const vnni::Layout ly(g, const_cast<std::uint8_t*>(packed));
  const int Lp = conv_padded_len(g);
  // 1. u = x ^ 0x80, the padding z_in + 128
  const auto zu = std::uint8_t(z_in + 128);
  const std::size_t pre = std::size_t(g.pl) * g.ci, body = std::size_t(g.lin) * g.ci;
  const std::size_t total = std::size_t(Lp) * g.ci;
  std::memset(u, zu, pre);
  {
    std::size_t i = 0;
#if PPGHR_Q8_CONV_VNNI == 512
    const __m512i flip = _mm512_set1_epi8(char(0x80));
    for (; i + 64 <= body; i += 64)
      _mm512_storeu_si512(u + pre + i, _mm512_xor_si512(_mm512_loadu_si512(x + i), flip));
    if (i < body) {
      const __mmask64 k = _cvtu64_mask64((~std::uint64_t(0)) >> (64 - (body - i)));
      _mm512_mask_storeu_epi8(u + pre + i, k, _mm512_xor_si512(_mm512_maskz_loadu_epi8(k, x + i), flip));
    }
#else
    const __m256i flip = _mm256_set1_epi8(char(0x80));
    for (; i + 32 <= body; i += 32)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(u + pre + i),
                          _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i)), flip));
    for (; i < body; ++i) u[pre + i] = std::uint8_t(std::uint8_t(x[i]) ^ 0x80u);
#endif
  }
  std::memset(u + pre + body, zu, total - pre - body + 64);  // right padding, and the slop read by partial quads

  // 3. the tiles
  vnni::Args a;
  a.u = u, a.pstep = std::ptrdiff_t(g.st) * g.ci, a.cstep = std::ptrdiff_t(g.dil) * g.ci;
  a.chunks = ly.chunks, a.quads = ly.Q, a.wp = ly.wp, a.wq = std::ptrdiff_t(ly.cop) * 4;
  a.bp = ly.bp, a.mp = ly.mp, a.sp = ly.sp, a.bounded = ly.fl[0] != 0, a.rqb = ly.rq, a.co = g.co, a.z_out = z_out, a.lo = lo, a.y = y, a.acc = acc_out,
  a.o_stride = o_stride;
  constexpr int L = I::L;
  int ob = 0;
  if (g.lout == 1 && ly.chunks == 1) {  // one position (a LINEAR)
    for (; ob + I::kNB * L <= g.co || (ob + L < g.co); ob += I::kNB * L) vnni::tile1<I::kNB>(a, ob);
    if (ob < g.co) vnni::tile1<1>(a, ob);
    return;
  }
  for (; ob + I::kNB * L <= g.co || (ob + L < g.co); ob += I::kNB * L) vnni::block<I::kNB, I::kP>(a, ob, g.lout);
  if (ob < g.co) vnni::block<1, I::kP1>(a, ob, g.lout);
}

/// conv_pack() and conv_run() in one call: scratch conv_scratch_bytes(g), 64-aligned (the input
/// first, then the packed weights).
inline void conv_vnni(const std::int8_t* x, const ConvGeom& g, std::int32_t z_in, const std::int8_t* w,
                      const std::int32_t* bias, const std::int32_t* mult, const std::int32_t* shift,
                      std::int32_t z_out, std::int32_t lo, std::int8_t* y, std::int32_t* acc_out,
                      std::ptrdiff_t o_stride, std::uint8_t* scratch) noexcept {
  std::uint8_t* packed = scratch + conv_input_bytes(g);
  conv_pack(g, z_in, w, bias, mult, shift, acc_out != nullptr, z_out, packed);
  conv_run(x, g, z_in, packed, z_out, lo, y, acc_out, o_stride, scratch);
}
#endif  // PPGHR_Q8_CONV_VNNI

}  // inline namespace PPGHR_Q8_CONV_NS
}  // namespace ppghr::q8

#undef PPGHR_Q8_CONV_NS
#endif  // PPGHR_Q8_VEC
#endif  // PPGHR_INT8_CONV_X86_HPP
