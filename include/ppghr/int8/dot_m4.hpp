// ppghr/int8/dot_m4.hpp - ppghr::q8::dot on a Cortex-M with the DSP extension (Cortex-M4/M7/M33:
// __ARM_FEATURE_DSP), with the ACLE intrinsics of <arm_acle.h> (SMLAD, SXTB16, SSUB16, SADD16) and
// inline assembly for the inner loops. Included by ppghr/int8/dot.hpp only; same signature and the
// same bits as dot_ref() (integer arithmetic). Measured under QEMU (examples/mcu/int8_dot_main.cpp,
// scripts/mcu.sh: int8_dot): specnet2's convolutions 1.28 instructions per MAC at -O2 and -Os
// (dot_ref: 7.5 / 14.5), exact on 10009 random and engine-shaped cases.
//
// The scheme (CMSIS-NN's arm_nn_mat_mult_kernel_s8_s16): the windows of up to four positions,
// (x - z) as int16, are expanded once into a buffer on the stack and reused by every row:
//   - 4 positions (npos >= 4, L = chunks * len <= kMaxWindow / 2): one row x four positions per step: a group
//     of 4 weights is loaded and widened once for 8 SMLADs (16 MACs in 15 instructions);
//   - 2 positions (what is left, or L <= kMaxWindow): rows in pairs, 2 x 2 tiles (16 MACs in 16);
//   - 1 position (npos = 1: edges, LINEAR): rows in fours (16 MACs in 21: each weight used once);
//   - windows of 1..3 values: no expansion, SMLAD + MLA per row; rows == 1: no expansion, the
//     raw int8 inputs and sum w x - z sum w (the same integer modulo 2^32, like every int32 sum);
//   - L > kMaxWindow (640 unless PPGHR_Q8_M4_MAX_WINDOW says otherwise): the window in pieces
//     that fit, each accumulating onto the last.
// Why assembly: GCC 12 neither folds a rotation into SXTB16's operand (there is no __ror in its
// <arm_acle.h>) nor keeps the 10..13 live values of these loops in registers (it reloads inputs, the
// loop bound and the pointers around each tile: 23-45 instructions per 16 MACs instead of 15-16).
// Each block is volatile (it stores to memory) and keeps what advances per tile in memory operands;
// the one that needs 13 registers (pairs_2pos) has a C twin for -O0, where r7 is the frame pointer.
//
// SXTB16 widens bytes 0 and 2 of a word (and, of the word rotated by 8, bytes 1 and 3), so a group
// of four weights w0..w3 becomes the halfword pairs (w0, w2) and (w1, w3). The expansion stores the
// inputs in that same order, so no weight is ever repacked. Buffer (32-bit words), group g < G =
// L / 4 of the window, position p (P = 2 or 4 positions per layout; one position uses P = 2's slots):
//     [2 P g + 2 p]     = (x0 - z, x2 - z)      (low halfword, high halfword)
//     [2 P g + 2 p + 1] = (x1 - z, x3 - z)
//   the tail (r = L % 4 values t0.., after the groups), at 2 P G + 2 p:
//     [+0] = (t0 - z, t1 - z) when r >= 2;  [+1] = t_(r-1) - z as int32 when r is odd.
// x, w, acc and bias may have any alignment (dot.hpp's contract): they are read and written with
// LDR / STR / LDRSB only, which the M4 does unaligned; LDRD / STRD touch only the kernel's buffer.
//
// Exactness: |x - z| <= 255 fits a halfword (SSUB16 does not saturate and does not need to); SMLAD
// adds two 16 x 16 products to an int32 and wraps like the reference's int32 sums, which the
// quantiser keeps below 2^31 (docs/int8.md). Stack: the buffer (644 words, 2.6 KB) + 640 bytes for
// gathering windows whose chunks split groups (len % 4 != 0 with chunks > 1) + ~100 bytes.
//
// Include ppghr/int8/dot.hpp (or network.hpp), not this file: dot.hpp includes it where the target
// has the DSP extension. Included directly, it includes dot.hpp instead (and on a target without
// the DSP extension it is empty, so it compiles alone anywhere).
#if !defined(PPGHR_Q8_INCLUDING_KERNEL)
#include "ppghr/int8/dot.hpp"
#elif defined(__ARM_FEATURE_DSP) && !defined(PPGHR_INT8_DOT_M4_HPP)
#define PPGHR_INT8_DOT_M4_HPP

#include <arm_acle.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#define PPGHR_Q8_DOT_KIND "cortex-m dsp (smlad)"

namespace ppghr::q8 {

namespace detail_m4 {

#define PPGHR_Q8_M4_INLINE inline __attribute__((always_inline))

/// The longest window (chunks * len values per position) the kernel expands at once; dot() runs a
/// longer one in pieces. Its stack buffer is 4 bytes per unit (2,576 bytes at 640): a firmware may
/// set PPGHR_Q8_M4_MAX_WINDOW to its network's Int8Net<Net>::dot_window, the smallest value at
/// which none of its dot products is split, or lower, for less stack and a few more instructions.
#ifndef PPGHR_Q8_M4_MAX_WINDOW
#define PPGHR_Q8_M4_MAX_WINDOW 640
#endif
inline constexpr int kMaxWindow = PPGHR_Q8_M4_MAX_WINDOW;
static_assert(kMaxWindow >= 4 && kMaxWindow % 4 == 0, "PPGHR_Q8_M4_MAX_WINDOW: a positive multiple of 4");

PPGHR_Q8_M4_INLINE std::uint32_t load_u32(const std::int8_t* p) noexcept {
  std::uint32_t v;
  std::memcpy(&v, p, 4);  // one LDR: the M4 loads unaligned words
  return v;
}

/// SXTB16 of the word rotated right by 8: bytes 1 and 3 sign-extended to halfwords. One
/// instruction (SXTB16 Rd, Rm, ROR #8); GCC 12's <arm_acle.h> has no __ror, and GCC does not fold
/// a rotation written in C into SXTB16's rotation operand (it emits a separate ROR, 2 instructions
/// more per 4 weights in the inner loop): hence this one line of inline assembly.
PPGHR_Q8_M4_INLINE std::uint32_t sxtb16_ror8(std::uint32_t v) noexcept {
  std::uint32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
  return r;
}

/// (lo, hi) of two int32 halfword values.
PPGHR_Q8_M4_INLINE std::int32_t pack16(std::int32_t lo, std::int32_t hi) noexcept {
  return std::int32_t((std::uint32_t(lo) & 0xFFFFu) | (std::uint32_t(hi) << 16));
}

/// Expands the L values at `xs` (contiguous) minus z into position slot p of `buf` (layout above).
inline void expand(const std::int8_t* xs, int L, std::int32_t z, std::int32_t* buf, int p) noexcept {
  const std::uint32_t zz = std::uint32_t(pack16(z, z));
  const int G = L >> 2;
  std::int32_t* o = buf + 2 * p;
  for (int g = 0; g < G; ++g) {
    const std::uint32_t v = load_u32(xs);
    xs += 4;
    o[0] = std::int32_t(__ssub16(__sxtb16(v), zz));
    o[1] = std::int32_t(__ssub16(sxtb16_ror8(v), zz));
    o += 4;
  }
  const int r = L & 3;
  if (r >= 2) o[0] = pack16(std::int32_t(xs[0]) - z, std::int32_t(xs[1]) - z);
  if ((r & 1) != 0) o[1] = std::int32_t(xs[r - 1]) - z;
}

/// Expands n groups of both positions (x0, x1: 4 n contiguous values each) into `o` (layout above).
PPGHR_Q8_M4_INLINE void expand2(const std::int8_t* x0, const std::int8_t* x1, int n, std::uint32_t zz,
                                std::int32_t* o) noexcept {
  for (int g = 0; g < n; ++g) {
    const std::uint32_t v0 = load_u32(x0), v1 = load_u32(x1);
    x0 += 4;
    x1 += 4;
    o[0] = std::int32_t(__ssub16(__sxtb16(v0), zz));
    o[1] = std::int32_t(__ssub16(sxtb16_ror8(v0), zz));
    o[2] = std::int32_t(__ssub16(__sxtb16(v1), zz));
    o[3] = std::int32_t(__ssub16(sxtb16_ror8(v1), zz));
    o += 4;
  }
}

/// Gathers a window whose chunks split groups (len 1, 2, 3, ...) and expands it into slot p. Not
/// inlined: its staging array is on the stack only while it runs.
__attribute__((noinline)) inline void expand_staged(const std::int8_t* xp, const Window& win, std::int32_t z,
                                                    std::int32_t* buf, int p) noexcept {
  std::int8_t stage[kMaxWindow];
  int k = 0;
  for (int j = 0; j < win.chunks; ++j) {
    const std::int8_t* xj = xp + j * win.chunk_step;
    for (int i = 0; i < win.len; ++i) stage[k++] = xj[i];
  }
  expand(stage, k, z, buf, p);
}

/// Expands the window of one position (chunks of len values) into slot p.
inline void expand_window(const std::int8_t* xp, const Window& win, std::int32_t z, std::int32_t* buf,
                          int p) noexcept {
  if (win.chunks == 1) {
    expand(xp, win.len, z, buf, p);
    return;
  }
  if ((win.len & 3) == 0) {  // each chunk is whole groups: expand chunk by chunk
    for (int j = 0; j < win.chunks; ++j) expand(xp + j * win.chunk_step, win.len, z, buf + j * win.len, p);
    return;
  }
  expand_staged(xp, win, z, buf, p);
}

/// The tail weights of one row (r = L % 4 of them): (w0, w1) packed when r >= 2, the odd last one.
struct TailW {
  std::int32_t pair;
  std::int32_t single;
};
PPGHR_Q8_M4_INLINE TailW tail_w(const std::int8_t* w, int r) noexcept {
  TailW t{0, 0};
  if (r >= 2) t.pair = pack16(w[0], w[1]);
  if ((r & 1) != 0) t.single = w[r - 1];
  return t;
}

/// One group (4 weights of one row) against the 4 + 4 inputs of the two positions of `xb`.
PPGHR_Q8_M4_INLINE void group_1x2(std::uint32_t v, const std::int32_t* xb, std::int32_t& a0, std::int32_t& a1) noexcept {
  const std::uint32_t e = __sxtb16(v), o = sxtb16_ror8(v);
  a0 = __smlad(e, std::uint32_t(xb[0]), a0);
  a1 = __smlad(e, std::uint32_t(xb[2]), a1);
  a0 = __smlad(o, std::uint32_t(xb[1]), a0);
  a1 = __smlad(o, std::uint32_t(xb[3]), a1);
}

/// The tail of one row at the two positions (P = 2) or position 0 (P = 1).
template <int P>
PPGHR_Q8_M4_INLINE void tail_1xP(const TailW& t, int r, const std::int32_t* xb, std::int32_t& a0,
                                 std::int32_t& a1) noexcept {
  if (r >= 2) {
    a0 = __smlad(std::uint32_t(t.pair), std::uint32_t(xb[0]), a0);
    if (P == 2) a1 = __smlad(std::uint32_t(t.pair), std::uint32_t(xb[2]), a1);
  }
  if ((r & 1) != 0) {
    a0 = std::int32_t(std::uint32_t(a0) + std::uint32_t(t.single * xb[1]));
    if (P == 2) a1 = std::int32_t(std::uint32_t(a1) + std::uint32_t(t.single * xb[3]));
  }
}

/// Rows o, o + 1 for `pairs` pairs of rows (o = 0, 2, ...) at the two positions expanded in `buf`
/// (G >= 1 groups + a tail of r), in assembly: GCC 12 keeps too few of the 13 values the 2 x 2 tile
/// needs in registers (it reloads inputs, weights' pointers and the loop bound: ~45 instructions
/// per 32 MACs instead of 35, plus ~40 per tile of spills around the loop). Here the 13 registers
/// hold 4 accumulators, 3 pointers, 4 inputs and 2 widened weights; everything else (pointers that
/// advance per tile, the loop bounds) lives in memory operands (the caller's stack), so the block
/// also fits at -O0 (where r7 is the frame pointer). base0 / base1: where the accumulators start
/// (bias, twice, or acc0 / acc1 themselves).
#if defined(__OPTIMIZE__)
inline void pairs_2pos(const std::int8_t* w, std::ptrdiff_t w_step, int pairs, const std::int32_t* buf, int G, int r,
                       const std::int32_t* base0, const std::int32_t* base1, std::int32_t* acc0,
                       std::int32_t* acc1) noexcept {
  const std::int8_t* st_w = w;
  const std::int32_t* st_b0 = base0;
  const std::int32_t* st_b1 = base1;
  std::int32_t* st_c0 = acc0;
  std::int32_t* st_c1 = acc1;
  int st_n = pairs;
  const std::int32_t* const st_end = buf + 4 * G;
  const std::int32_t* const st_buf = buf;
  const int st_fl = (G & 1) | (r << 1);
  std::int32_t a00, a01, a10, a11;
  const std::int8_t *wa, *wb;
  const std::int32_t* xb;
  std::uint32_t x0e, x0o, x1e, x1o, p, q;
#define PPGHR_Q8_M4_GROUP                          \
  "ldr    %[p], [%[wa]], #4\n\t"                   \
  "ldrd   %[x0e], %[x0o], [%[xb]], #8\n\t"         \
  "ldrd   %[x1e], %[x1o], [%[xb]], #8\n\t"         \
  "sxtb16 %[q], %[p], ror #8\n\t"                  \
  "sxtb16 %[p], %[p]\n\t"                          \
  "smlad  %[a00], %[p], %[x0e], %[a00]\n\t"        \
  "smlad  %[a01], %[p], %[x1e], %[a01]\n\t"        \
  "smlad  %[a00], %[q], %[x0o], %[a00]\n\t"        \
  "smlad  %[a01], %[q], %[x1o], %[a01]\n\t"        \
  "ldr    %[p], [%[wb]], #4\n\t"                   \
  "sxtb16 %[q], %[p], ror #8\n\t"                  \
  "sxtb16 %[p], %[p]\n\t"                          \
  "smlad  %[a10], %[p], %[x0e], %[a10]\n\t"        \
  "smlad  %[a11], %[p], %[x1e], %[a11]\n\t"        \
  "smlad  %[a10], %[q], %[x0o], %[a10]\n\t"        \
  "smlad  %[a11], %[q], %[x1o], %[a11]\n\t"
  __asm__ __volatile__(
      // A tile: the two rows' weights, the accumulators' start values.
      "10:\n\t"
      "ldr    %[wa], %[st_w]\n\t"
      "ldr    %[q], %[st_ws]\n\t"
      "add    %[wb], %[wa], %[q]\n\t"
      "add    %[p], %[wb], %[q]\n\t"
      "str    %[p], %[st_w]\n\t"
      "ldr    %[p], %[st_b0]\n\t"
      "ldr    %[a10], [%[p], #4]\n\t"
      "ldr    %[a00], [%[p]], #8\n\t"
      "str    %[p], %[st_b0]\n\t"
      "ldr    %[p], %[st_b1]\n\t"
      "ldr    %[a11], [%[p], #4]\n\t"
      "ldr    %[a01], [%[p]], #8\n\t"
      "str    %[p], %[st_b1]\n\t"
      "ldr    %[xb], %[st_buf]\n\t"
      "ldr    %[p], %[st_fl]\n\t"
      "tst    %[p], #1\n\t"
      "bne    12f\n\t"
      // The groups, two per iteration; an odd count enters at the second.
      "11:\n\t" PPGHR_Q8_M4_GROUP
      "12:\n\t" PPGHR_Q8_M4_GROUP
      "ldr    %[p], %[st_end]\n\t"
      "cmp    %[xb], %[p]\n\t"
      "bne    11b\n\t"
      // The tail: r = fl >> 1 values; a pair (w0, w1) when r & 2, then a single one when r & 1.
      "ldr    %[p], %[st_fl]\n\t"
      "lsrs   %[p], %[p], #1\n\t"
      "beq    15f\n\t"
      "tst    %[p], #2\n\t"
      "beq    14f\n\t"
      "ldrsb  %[q], [%[wa], #1]\n\t"
      "ldrsb  %[x0o], [%[wa]], #2\n\t"
      "pkhbt  %[q], %[x0o], %[q], lsl #16\n\t"
      "ldr    %[x0e], [%[xb]]\n\t"
      "ldr    %[x1e], [%[xb], #8]\n\t"
      "smlad  %[a00], %[q], %[x0e], %[a00]\n\t"
      "smlad  %[a01], %[q], %[x1e], %[a01]\n\t"
      "ldrsb  %[q], [%[wb], #1]\n\t"
      "ldrsb  %[x0o], [%[wb]], #2\n\t"
      "pkhbt  %[q], %[x0o], %[q], lsl #16\n\t"
      "smlad  %[a10], %[q], %[x0e], %[a10]\n\t"
      "smlad  %[a11], %[q], %[x1e], %[a11]\n\t"
      "14:\n\t"
      "tst    %[p], #1\n\t"
      "beq    15f\n\t"
      "ldrsb  %[q], [%[wa]]\n\t"
      "ldr    %[x0o], [%[xb], #4]\n\t"
      "ldr    %[x1o], [%[xb], #12]\n\t"
      "mla    %[a00], %[q], %[x0o], %[a00]\n\t"
      "mla    %[a01], %[q], %[x1o], %[a01]\n\t"
      "ldrsb  %[q], [%[wb]]\n\t"
      "mla    %[a10], %[q], %[x0o], %[a10]\n\t"
      "mla    %[a11], %[q], %[x1o], %[a11]\n\t"
      // Store rows o, o + 1 of both positions; next pair.
      "15:\n\t"
      "ldr    %[p], %[st_c0]\n\t"
      "str    %[a10], [%[p], #4]\n\t"
      "str    %[a00], [%[p]], #8\n\t"
      "str    %[p], %[st_c0]\n\t"
      "ldr    %[p], %[st_c1]\n\t"
      "str    %[a11], [%[p], #4]\n\t"
      "str    %[a01], [%[p]], #8\n\t"
      "str    %[p], %[st_c1]\n\t"
      "ldr    %[p], %[st_n]\n\t"
      "subs   %[p], %[p], #1\n\t"
      "str    %[p], %[st_n]\n\t"
      "bne    10b"
      : [a00] "=&r"(a00), [a01] "=&r"(a01), [a10] "=&r"(a10), [a11] "=&r"(a11), [wa] "=&r"(wa), [wb] "=&r"(wb),
        [xb] "=&r"(xb), [x0e] "=&r"(x0e), [x0o] "=&r"(x0o), [x1e] "=&r"(x1e), [x1o] "=&r"(x1o), [p] "=&r"(p),
        [q] "=&r"(q), [st_w] "+m"(st_w), [st_b0] "+m"(st_b0), [st_b1] "+m"(st_b1), [st_c0] "+m"(st_c0),
        [st_c1] "+m"(st_c1), [st_n] "+m"(st_n)
      : [st_ws] "m"(w_step), [st_end] "m"(st_end), [st_buf] "m"(st_buf), [st_fl] "m"(st_fl)
      : "cc", "memory");
#undef PPGHR_Q8_M4_GROUP
}
#endif  // __OPTIMIZE__

/// Every row at the two positions expanded in `buf` (G groups + a tail of r): rows in pairs (the
/// 2 x 2 tile), the odd last row alone. acc0 / acc1: the accumulators of the two positions.
inline void rows_2pos(const std::int8_t* w, std::ptrdiff_t w_step, int rows, const std::int32_t* buf, int G, int r,
                      const std::int32_t* bias, std::int32_t* acc0, std::int32_t* acc1) noexcept {
  const int pairs = rows >> 1;
  int o = 0;
  if (pairs > 0 && G > 0) {
#if defined(__OPTIMIZE__)
    pairs_2pos(w, w_step, pairs, buf, G, r, bias != nullptr ? bias : acc0, bias != nullptr ? bias : acc1, acc0, acc1);
#else
    // -O0 (r7 is the frame pointer: 12 free registers, the assembly needs 13): the same in C.
    for (int k = 0; k < pairs; ++k) {
      const int oo = 2 * k;
      std::int32_t a00 = bias != nullptr ? bias[oo] : acc0[oo], a01 = bias != nullptr ? bias[oo] : acc1[oo];
      std::int32_t a10 = bias != nullptr ? bias[oo + 1] : acc0[oo + 1];
      std::int32_t a11 = bias != nullptr ? bias[oo + 1] : acc1[oo + 1];
      const std::int8_t* wa = w + oo * w_step;
      const std::int8_t* wb = wa + w_step;
      const std::int32_t* xb = buf;
      for (int g = 0; g < G; ++g, wa += 4, wb += 4, xb += 4) {
        group_1x2(load_u32(wa), xb, a00, a01);
        group_1x2(load_u32(wb), xb, a10, a11);
      }
      if (r != 0) {
        tail_1xP<2>(tail_w(wa, r), r, xb, a00, a01);
        tail_1xP<2>(tail_w(wb, r), r, xb, a10, a11);
      }
      acc0[oo] = a00;
      acc1[oo] = a01;
      acc0[oo + 1] = a10;
      acc1[oo + 1] = a11;
    }
#endif
    o = 2 * pairs;
  }
  for (; o < rows; ++o) {  // the odd last row (or every row when G = 0: windows of 1..3 values)
    std::int32_t a0 = bias != nullptr ? bias[o] : acc0[o];
    std::int32_t a1 = bias != nullptr ? bias[o] : acc1[o];
    const std::int8_t* wa = w + o * w_step;
    const std::int32_t* xb = buf;
    for (int g = 0; g < G; ++g, wa += 4, xb += 4) group_1x2(load_u32(wa), xb, a0, a1);
    if (r != 0) tail_1xP<2>(tail_w(wa, r), r, xb, a0, a1);
    acc0[o] = a0;
    acc1[o] = a1;
  }
}

/// Expands n groups of four positions (x0 + k pos_step, 4 n contiguous values each) into `o`:
/// per group 8 words, position k at 2 k (the even pair) and 2 k + 1 (the odd pair).
PPGHR_Q8_M4_INLINE void expand4(const std::int8_t* x0, std::ptrdiff_t pos_step, int n, std::uint32_t zz,
                                std::int32_t* o) noexcept {
  if (n <= 0) return;
  // In assembly: 26 instructions per group of the 4 positions (GCC: 35).
  const std::int8_t* x2 = x0 + 2 * pos_step;
  const std::int32_t* const end = o + 8 * n;
  std::uint32_t v0, v1, t0, t1;
#define PPGHR_Q8_M4_EXP(V)                  \
  "sxtb16 %[t0], %[" V "]\n\t"              \
  "sxtb16 %[t1], %[" V "], ror #8\n\t"      \
  "ssub16 %[t0], %[t0], %[zz]\n\t"          \
  "ssub16 %[t1], %[t1], %[zz]\n\t"          \
  "strd   %[t0], %[t1], [%[o]], #8\n\t"
  __asm__ __volatile__(
      "50:\n\t"
      "ldr    %[v1], [%[x0], %[ps]]\n\t"
      "ldr    %[v0], [%[x0]], #4\n\t" PPGHR_Q8_M4_EXP("v0") PPGHR_Q8_M4_EXP("v1")
      "ldr    %[v1], [%[x2], %[ps]]\n\t"
      "ldr    %[v0], [%[x2]], #4\n\t" PPGHR_Q8_M4_EXP("v0") PPGHR_Q8_M4_EXP("v1")
      "cmp    %[o], %[end]\n\t"
      "bne    50b"
      : [x0] "+r"(x0), [x2] "+r"(x2), [o] "+r"(o), [v0] "=&r"(v0), [v1] "=&r"(v1), [t0] "=&r"(t0), [t1] "=&r"(t1)
      : [ps] "r"(pos_step), [zz] "r"(zz), [end] "r"(end)
      : "cc", "memory");
#undef PPGHR_Q8_M4_EXP
}

/// Every row at the four positions expanded in `buf` (expand4 layout; the tail of r values of
/// position k at 8 G + 2 k: the pair, then the single one), G >= 1: one row x four positions per
/// step, so each group of 4 weights is loaded and widened once for 8 SMLADs (16 MACs in 15
/// instructions). In assembly, the row loop included: GCC 12 loads the 8 inputs one word at a time,
/// keeps a separate counter (23 instructions per group) and spills ~30 instructions per row around
/// the loop. 10 registers: 4 accumulators, 2 pointers, 2 inputs, 2 widened weights; what advances
/// per row lives in memory operands (the caller's stack).
template <bool kBias, bool kClean>
inline void rows_4pos_asm(const std::int8_t* w, std::ptrdiff_t w_step, int rows, const std::int32_t* buf, int G, int r,
                          const std::int32_t* bias, std::int32_t* acc) noexcept {
  const std::int32_t* st_b = bias;
  const std::ptrdiff_t st_R = std::ptrdiff_t(rows) * 4;  // bytes from one position's accumulators to the next
  const std::int32_t* const st_buf = buf;
  const std::int32_t* const st_xend = buf + 8 * G;
  const int st_fl = (G & 1) | (r << 1);
  // From the end of a row's weights as the loop leaves wa (4 G + the pair of the tail) to the next row.
  const std::ptrdiff_t st_skip = w_step - (4 * G + (r & 2));
  std::int32_t a0, a1, a2, a3;
  const std::int8_t* wa = w;
  std::int32_t* c = acc;
  int n = rows;
  const std::int32_t* xb;
  std::uint32_t p, q, x0, x1;
#define PPGHR_Q8_M4_GROUP4                   \
  "ldr    %[p], [%[wa]], #4\n\t"             \
  "ldrd   %[x0], %[x1], [%[xb]], #8\n\t"     \
  "sxtb16 %[q], %[p], ror #8\n\t"            \
  "sxtb16 %[p], %[p]\n\t"                    \
  "smlad  %[a0], %[p], %[x0], %[a0]\n\t"     \
  "smlad  %[a0], %[q], %[x1], %[a0]\n\t"     \
  "ldrd   %[x0], %[x1], [%[xb]], #8\n\t"     \
  "smlad  %[a1], %[p], %[x0], %[a1]\n\t"     \
  "smlad  %[a1], %[q], %[x1], %[a1]\n\t"     \
  "ldrd   %[x0], %[x1], [%[xb]], #8\n\t"     \
  "smlad  %[a2], %[p], %[x0], %[a2]\n\t"     \
  "smlad  %[a2], %[q], %[x1], %[a2]\n\t"     \
  "ldrd   %[x0], %[x1], [%[xb]], #8\n\t"     \
  "smlad  %[a3], %[p], %[x0], %[a3]\n\t"     \
  "smlad  %[a3], %[q], %[x1], %[a3]\n\t"
#define PPGHR_Q8_M4_ENTRY4                   \
  "ldr    %[p], %[st_fl]\n\t"                \
  "tst    %[p], #1\n\t"                      \
  "bne    34f\n\t"
#define PPGHR_Q8_M4_TAIL4 \
  "ldr    %[p], %[st_fl]\n\t" \
  "lsrs   %[p], %[p], #1\n\t" \
  "beq    36f\n\t" \
  "tst    %[p], #2\n\t" \
  "beq    35f\n\t" \
  "ldrsb  %[q], [%[wa], #1]\n\t" \
  "ldrsb  %[x0], [%[wa]], #2\n\t" \
  "pkhbt  %[q], %[x0], %[q], lsl #16\n\t" \
  "ldr    %[x0], [%[xb]]\n\t" \
  "ldr    %[x1], [%[xb], #8]\n\t" \
  "smlad  %[a0], %[q], %[x0], %[a0]\n\t" \
  "smlad  %[a1], %[q], %[x1], %[a1]\n\t" \
  "ldr    %[x0], [%[xb], #16]\n\t" \
  "ldr    %[x1], [%[xb], #24]\n\t" \
  "smlad  %[a2], %[q], %[x0], %[a2]\n\t" \
  "smlad  %[a3], %[q], %[x1], %[a3]\n\t" \
  "35:\n\t" \
  "tst    %[p], #1\n\t" \
  "beq    36f\n\t" \
  "ldrsb  %[q], [%[wa]]\n\t" \
  "ldr    %[x0], [%[xb], #4]\n\t" \
  "ldr    %[x1], [%[xb], #12]\n\t" \
  "mla    %[a0], %[q], %[x0], %[a0]\n\t" \
  "mla    %[a1], %[q], %[x1], %[a1]\n\t" \
  "ldr    %[x0], [%[xb], #20]\n\t" \
  "ldr    %[x1], [%[xb], #28]\n\t" \
  "mla    %[a2], %[q], %[x0], %[a2]\n\t" \
  "mla    %[a3], %[q], %[x1], %[a3]\n\t"
// ENTRY: the odd-G entry test; TAIL: the r tail values. Both empty for G even, r = 0 (kClean).
#define PPGHR_Q8_M4_ROWS4(LOAD, ENTRY, TAIL)                     \
  __asm__ __volatile__(                                          \
      "30:\n\t" LOAD                                             \
      "ldr    %[xb], %[st_buf]\n\t" ENTRY                        \
      "33:\n\t" PPGHR_Q8_M4_GROUP4                               \
      "34:\n\t" PPGHR_Q8_M4_GROUP4                               \
      "ldr    %[p], %[st_xend]\n\t"                              \
      "cmp    %[xb], %[p]\n\t"                                   \
      "bne    33b\n\t" TAIL                                      \
      "36:\n\t"                                                  \
      "ldr    %[q], %[st_R]\n\t"                                 \
      "str    %[a1], [%[c], %[q]]\n\t"                           \
      "str    %[a2], [%[c], %[q], lsl #1]\n\t"                   \
      "add    %[p], %[c], %[q]\n\t"                              \
      "str    %[a3], [%[p], %[q], lsl #1]\n\t"                   \
      "str    %[a0], [%[c]], #4\n\t"                             \
      "ldr    %[p], %[st_skip]\n\t"                              \
      "add    %[wa], %[wa], %[p]\n\t"                            \
      "subs   %[n], %[n], #1\n\t"                                \
      "bne    30b"                                               \
      : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [wa] "+r"(wa), [xb] "=&r"(xb), \
        [p] "=&r"(p), [q] "=&r"(q), [x0] "=&r"(x0), [x1] "=&r"(x1), [c] "+r"(c), [n] "+r"(n),           \
        [st_b] "+m"(st_b)                                                                                 \
      : [st_R] "m"(st_R), [st_buf] "m"(st_buf), [st_xend] "m"(st_xend), [st_fl] "m"(st_fl),              \
        [st_skip] "m"(st_skip)                                                                            \
      : "cc", "memory")
#define PPGHR_Q8_M4_LOAD_BIAS      \
  "ldr    %[p], %[st_b]\n\t"      \
  "ldr    %[a0], [%[p]], #4\n\t"  \
  "str    %[p], %[st_b]\n\t"      \
  "mov    %[a1], %[a0]\n\t"       \
  "mov    %[a2], %[a0]\n\t"       \
  "mov    %[a3], %[a0]\n\t"
#define PPGHR_Q8_M4_LOAD_ACC               \
  "ldr    %[q], %[st_R]\n\t"               \
  "ldr    %[a0], [%[c]]\n\t"               \
  "ldr    %[a1], [%[c], %[q]]\n\t"         \
  "ldr    %[a2], [%[c], %[q], lsl #1]\n\t" \
  "add    %[p], %[c], %[q]\n\t"            \
  "ldr    %[a3], [%[p], %[q], lsl #1]\n\t"
  // The accumulators start at bias[o] (kBias) or at acc itself (accumulate).
  if constexpr (kBias && kClean) {
    PPGHR_Q8_M4_ROWS4(PPGHR_Q8_M4_LOAD_BIAS, "", "");
  } else if constexpr (kBias) {
    PPGHR_Q8_M4_ROWS4(PPGHR_Q8_M4_LOAD_BIAS, PPGHR_Q8_M4_ENTRY4, PPGHR_Q8_M4_TAIL4);
  } else if constexpr (kClean) {
    PPGHR_Q8_M4_ROWS4(PPGHR_Q8_M4_LOAD_ACC, "", "");
  } else {
    PPGHR_Q8_M4_ROWS4(PPGHR_Q8_M4_LOAD_ACC, PPGHR_Q8_M4_ENTRY4, PPGHR_Q8_M4_TAIL4);
  }
#undef PPGHR_Q8_M4_LOAD_ACC
#undef PPGHR_Q8_M4_LOAD_BIAS
#undef PPGHR_Q8_M4_TAIL4
#undef PPGHR_Q8_M4_ENTRY4
#undef PPGHR_Q8_M4_ROWS4
#undef PPGHR_Q8_M4_GROUP4
}

inline void rows_4pos(const std::int8_t* w, std::ptrdiff_t w_step, int rows, const std::int32_t* buf, int G, int r,
                      const std::int32_t* bias, std::int32_t* acc) noexcept {
  const bool clean = (G & 1) == 0 && r == 0;  // no odd group, no tail: those tests leave the row loop
  if (bias != nullptr) {
    if (clean) rows_4pos_asm<true, true>(w, w_step, rows, buf, G, r, bias, acc);
    else rows_4pos_asm<true, false>(w, w_step, rows, buf, G, r, bias, acc);
  } else {
    if (clean) rows_4pos_asm<false, true>(w, w_step, rows, buf, G, r, bias, acc);
    else rows_4pos_asm<false, false>(w, w_step, rows, buf, G, r, bias, acc);
  }
}

/// Rows 0 .. 4 quads - 1 at position 0 of `buf` (G >= 1 groups + a tail of r), four rows per
/// step: the inputs of a group are loaded once for the 4 rows (16 MACs in 21 instructions; with one
/// position each weight is used once, so its widening is not shared). In assembly, the quad loop
/// included (GCC 12 spills around the loop); 12 registers: 4 accumulators, 3 pointers + the row
/// stride, 2 inputs, 2 widened weights. base: the bias, or acc0 itself (accumulate).
inline void quads_1pos(const std::int8_t* w, std::ptrdiff_t w_step, int quads, const std::int32_t* buf, int G, int r,
                       const std::int32_t* base, std::int32_t* acc0) noexcept {
  const std::int8_t* st_w = w;
  const std::int32_t* st_b = base;
  std::int32_t* st_c = acc0;
  int st_n = quads;
  const std::int32_t* const st_buf = buf;
  const std::int32_t* const st_xend = buf + 4 * G;
  const int st_fl = (G & 1) | (r << 1);
  std::int32_t a0, a1, a2, a3;
  const std::int8_t *wa, *wc;
  const std::int32_t* xb;
  std::uint32_t p, q, x0, x1;
  std::ptrdiff_t ws;
#define PPGHR_Q8_M4_ROW(A, ADDR)              \
  "ldr    %[p], " ADDR "\n\t"                 \
  "sxtb16 %[q], %[p], ror #8\n\t"             \
  "sxtb16 %[p], %[p]\n\t"                     \
  "smlad  %[" A "], %[p], %[x0], %[" A "]\n\t" \
  "smlad  %[" A "], %[q], %[x1], %[" A "]\n\t"
#define PPGHR_Q8_M4_GROUP1                   \
  "ldrd   %[x0], %[x1], [%[xb]], #16\n\t"    \
  PPGHR_Q8_M4_ROW("a1", "[%[wa], %[ws]]")    \
  PPGHR_Q8_M4_ROW("a0", "[%[wa]], #4")       \
  PPGHR_Q8_M4_ROW("a3", "[%[wc], %[ws]]")    \
  PPGHR_Q8_M4_ROW("a2", "[%[wc]], #4")
#define PPGHR_Q8_M4_PAIR(A, BASE, POST)              \
  "ldrsb  %[q], [" BASE ", #1]\n\t"                  \
  "ldrsb  %[x1], [" BASE "]" POST "\n\t"             \
  "pkhbt  %[q], %[x1], %[q], lsl #16\n\t"            \
  "smlad  %[" A "], %[q], %[x0], %[" A "]\n\t"
  __asm__ __volatile__(
      "40:\n\t"
      "ldr    %[wa], %[st_w]\n\t"
      "ldr    %[ws], %[st_ws]\n\t"
      "add    %[wc], %[wa], %[ws], lsl #1\n\t"
      "add    %[p], %[wc], %[ws], lsl #1\n\t"
      "str    %[p], %[st_w]\n\t"
      "ldr    %[p], %[st_b]\n\t"
      "ldr    %[a0], [%[p]]\n\t"
      "ldr    %[a1], [%[p], #4]\n\t"
      "ldr    %[a2], [%[p], #8]\n\t"
      "ldr    %[a3], [%[p], #12]\n\t"
      "add    %[p], %[p], #16\n\t"
      "str    %[p], %[st_b]\n\t"
      "ldr    %[xb], %[st_buf]\n\t"
      "ldr    %[p], %[st_fl]\n\t"
      "tst    %[p], #1\n\t"
      "bne    42f\n\t"
      "41:\n\t" PPGHR_Q8_M4_GROUP1
      "42:\n\t" PPGHR_Q8_M4_GROUP1
      "ldr    %[p], %[st_xend]\n\t"
      "cmp    %[xb], %[p]\n\t"
      "bne    41b\n\t"
      // The tail (see pairs_2pos).
      "ldr    %[p], %[st_fl]\n\t"
      "lsrs   %[p], %[p], #1\n\t"
      "beq    46f\n\t"
      "tst    %[p], #2\n\t"
      "beq    45f\n\t"
      "ldr    %[x0], [%[xb]]\n\t"
      "add    %[x1], %[wa], %[ws]\n\t"
      PPGHR_Q8_M4_PAIR("a1", "%[x1]", "")
      PPGHR_Q8_M4_PAIR("a0", "%[wa]", ", #2")
      "add    %[x1], %[wc], %[ws]\n\t"
      PPGHR_Q8_M4_PAIR("a3", "%[x1]", "")
      PPGHR_Q8_M4_PAIR("a2", "%[wc]", ", #2")
      "45:\n\t"
      "tst    %[p], #1\n\t"
      "beq    46f\n\t"
      "ldr    %[x0], [%[xb], #4]\n\t"
      "ldrsb  %[q], [%[wa], %[ws]]\n\t"
      "mla    %[a1], %[q], %[x0], %[a1]\n\t"
      "ldrsb  %[q], [%[wa]]\n\t"
      "mla    %[a0], %[q], %[x0], %[a0]\n\t"
      "ldrsb  %[q], [%[wc], %[ws]]\n\t"
      "mla    %[a3], %[q], %[x0], %[a3]\n\t"
      "ldrsb  %[q], [%[wc]]\n\t"
      "mla    %[a2], %[q], %[x0], %[a2]\n\t"
      "46:\n\t"
      "ldr    %[p], %[st_c]\n\t"
      "str    %[a1], [%[p], #4]\n\t"
      "str    %[a2], [%[p], #8]\n\t"
      "str    %[a3], [%[p], #12]\n\t"
      "str    %[a0], [%[p]], #16\n\t"
      "str    %[p], %[st_c]\n\t"
      "ldr    %[p], %[st_n]\n\t"
      "subs   %[p], %[p], #1\n\t"
      "str    %[p], %[st_n]\n\t"
      "bne    40b"
      : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [wa] "=&r"(wa), [wc] "=&r"(wc),
        [ws] "=&r"(ws), [xb] "=&r"(xb), [p] "=&r"(p), [q] "=&r"(q), [x0] "=&r"(x0), [x1] "=&r"(x1),
        [st_w] "+m"(st_w), [st_b] "+m"(st_b), [st_c] "+m"(st_c), [st_n] "+m"(st_n)
      : [st_ws] "m"(w_step), [st_buf] "m"(st_buf), [st_xend] "m"(st_xend), [st_fl] "m"(st_fl)
      : "cc", "memory");
#undef PPGHR_Q8_M4_PAIR
#undef PPGHR_Q8_M4_GROUP1
#undef PPGHR_Q8_M4_ROW
}

/// Every row at position 0 of `buf` (an odd last position, or npos = 1): rows in pairs.
inline void rows_1pos(const std::int8_t* w, std::ptrdiff_t w_step, int rows, const std::int32_t* buf, int G, int r,
                      const std::int32_t* bias, std::int32_t* acc0) noexcept {
  int o = 0;
  if (G > 0 && rows >= 4) {
    const int quads = rows >> 2;
    quads_1pos(w, w_step, quads, buf, G, r, bias != nullptr ? bias : acc0, acc0);
    o = 4 * quads;
  }
  for (; o + 1 < rows; o += 2) {
    std::int32_t a0 = bias != nullptr ? bias[o] : acc0[o];
    std::int32_t a1 = bias != nullptr ? bias[o + 1] : acc0[o + 1];
    const std::int8_t* wa = w + o * w_step;
    const std::int8_t* wb = wa + w_step;
    const std::int32_t* xb = buf;
    for (int g = 0; g < G; ++g) {
      const std::uint32_t va = load_u32(wa), vb = load_u32(wb);
      wa += 4;
      wb += 4;
      const std::uint32_t xe = std::uint32_t(xb[0]), xo = std::uint32_t(xb[1]);
      xb += 4;
      a0 = __smlad(__sxtb16(va), xe, a0);
      a1 = __smlad(__sxtb16(vb), xe, a1);
      a0 = __smlad(sxtb16_ror8(va), xo, a0);
      a1 = __smlad(sxtb16_ror8(vb), xo, a1);
    }
    if (r != 0) {
      std::int32_t unused = 0;
      tail_1xP<1>(tail_w(wa, r), r, xb, a0, unused);
      tail_1xP<1>(tail_w(wb, r), r, xb, a1, unused);
    }
    acc0[o] = a0;
    acc0[o + 1] = a1;
  }
  if (o < rows) {
    std::int32_t a0 = bias != nullptr ? bias[o] : acc0[o];
    std::int32_t unused = 0;
    const std::int8_t* wa = w + o * w_step;
    const std::int32_t* xb = buf;
    for (int g = 0; g < G; ++g, wa += 4, xb += 4) {
      const std::uint32_t va = load_u32(wa);
      a0 = __smlad(__sxtb16(va), std::uint32_t(xb[0]), a0);
      a0 = __smlad(sxtb16_ror8(va), std::uint32_t(xb[1]), a0);
    }
    if (r != 0) tail_1xP<1>(tail_w(wa, r), r, xb, a0, unused);
    acc0[o] = a0;
  }
}

/// One row (rows == 1: nothing to reuse an expanded window for), NP <= 4 positions straight from
/// x: sum w x over the raw int8 inputs, minus z sum w (the same integer, modulo 2^32 like SMLAD).
template <int NP>
inline void one_row(const std::int8_t* x, std::ptrdiff_t pos_step, const Window& win, std::int32_t z,
                    const std::int8_t* w, const std::int32_t* bias, std::int32_t* acc) noexcept {
  constexpr std::uint32_t kOnes = 0x00010001u;
  std::int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, sw = 0;
  const int G = win.len >> 2;
  const int r = win.len & 3;
  for (int j = 0; j < win.chunks; ++j) {
    const std::int8_t* wj = w + j * win.len;
    const std::int8_t* x0 = x + j * win.chunk_step;
    const std::int8_t* x1 = x0 + pos_step;
    const std::int8_t* x2 = x1 + pos_step;
    const std::int8_t* x3 = x2 + pos_step;
    for (int g = 0; g < G; ++g) {
      const std::uint32_t v = load_u32(wj);
      wj += 4;
      const std::uint32_t e = __sxtb16(v), o = sxtb16_ror8(v);
      sw = __smlad(__sadd16(e, o), kOnes, sw);
      std::uint32_t u = load_u32(x0);
      x0 += 4;
      s0 = __smlad(e, __sxtb16(u), s0);
      s0 = __smlad(o, sxtb16_ror8(u), s0);
      if constexpr (NP > 1) {
        u = load_u32(x1);
        x1 += 4;
        s1 = __smlad(e, __sxtb16(u), s1);
        s1 = __smlad(o, sxtb16_ror8(u), s1);
      }
      if constexpr (NP > 2) {
        u = load_u32(x2);
        x2 += 4;
        s2 = __smlad(e, __sxtb16(u), s2);
        s2 = __smlad(o, sxtb16_ror8(u), s2);
      }
      if constexpr (NP > 3) {
        u = load_u32(x3);
        x3 += 4;
        s3 = __smlad(e, __sxtb16(u), s3);
        s3 = __smlad(o, sxtb16_ror8(u), s3);
      }
    }
    for (int i = 0; i < r; ++i) {
      const std::int32_t wi = wj[i];
      sw += wi;
      s0 += wi * std::int32_t(x0[i]);
      if constexpr (NP > 1) s1 += wi * std::int32_t(x1[i]);
      if constexpr (NP > 2) s2 += wi * std::int32_t(x2[i]);
      if constexpr (NP > 3) s3 += wi * std::int32_t(x3[i]);
    }
  }
  const std::uint32_t zsw = std::uint32_t(z) * std::uint32_t(sw);
  const std::int32_t s[4] = {s0, s1, s2, s3};
  for (int k = 0; k < NP; ++k) {
    const std::int32_t base = bias != nullptr ? bias[0] : acc[k];
    acc[k] = std::int32_t(std::uint32_t(base) + std::uint32_t(s[k]) - zsw);
  }
}

/// Windows of L = 1..3 values (a dilated convolution over 1..3 channels, or its edges): no
/// expansion; per position the values (x - z) as a pair and a single, per row SMLAD + MLA.
template <int L>
inline void tiny(const std::int8_t* x, std::ptrdiff_t pos_step, int npos, const Window& win, std::int32_t z,
                 const std::int8_t* w, std::ptrdiff_t w_step, int rows, const std::int32_t* bias,
                 std::int32_t* acc) noexcept {
  // Offsets of the L values of a window from its position.
  std::ptrdiff_t off[3] = {0, 0, 0};
  for (int k = 0; k < L; ++k) off[k] = (k / win.len) * win.chunk_step + k % win.len;
  for (int p = 0; p < npos; p += 2) {
    const bool two = p + 1 < npos;
    const std::int8_t* x0 = x + p * pos_step;
    const std::int8_t* x1 = two ? x0 + pos_step : x0;
    std::int32_t* c0 = acc + p * rows;
    std::int32_t* c1 = two ? c0 + rows : c0;
    // (v0, v1) pairs and the single v_(L-1) when L is odd (L = 1: the single v0).
    const std::int32_t e0 = L >= 2 ? pack16(x0[off[0]] - z, x0[off[1]] - z) : 0;
    const std::int32_t e1 = L >= 2 ? pack16(x1[off[0]] - z, x1[off[1]] - z) : 0;
    const std::int32_t s0 = (L & 1) != 0 ? x0[off[L - 1]] - z : 0;
    const std::int32_t s1 = (L & 1) != 0 ? x1[off[L - 1]] - z : 0;
    const std::int8_t* wo = w;
    for (int o = 0; o < rows; ++o, wo += w_step) {
      std::int32_t a0 = bias != nullptr ? bias[o] : c0[o];
      std::int32_t a1 = bias != nullptr ? bias[o] : c1[o];
      if constexpr (L >= 2) {
        const std::uint32_t pw = std::uint32_t(pack16(wo[0], wo[1]));
        a0 = __smlad(pw, std::uint32_t(e0), a0);
        a1 = __smlad(pw, std::uint32_t(e1), a1);
      }
      if constexpr ((L & 1) != 0) {
        const std::int32_t sw = wo[L - 1];
        a0 = std::int32_t(std::uint32_t(a0) + std::uint32_t(sw * s0));
        a1 = std::int32_t(std::uint32_t(a1) + std::uint32_t(sw * s1));
      }
      c0[o] = a0;
      if (two) c1[o] = a1;
    }
  }
}

}  // namespace detail_m4

namespace detail_m4 {
/// dot() on a window of at most kMaxWindow values.
inline void dot_fits(const std::int8_t* x, std::ptrdiff_t pos_step, int npos, const Window& win, std::int32_t z,
                     const std::int8_t* w, std::ptrdiff_t w_step, int rows, const std::int32_t* bias,
                     std::int32_t* acc) noexcept {
  const int L = win.chunks * win.len;
  if (L < 4) {
    if (L == 1) tiny<1>(x, pos_step, npos, win, z, w, w_step, rows, bias, acc);
    else if (L == 2) tiny<2>(x, pos_step, npos, win, z, w, w_step, rows, bias, acc);
    else tiny<3>(x, pos_step, npos, win, z, w, w_step, rows, bias, acc);
    return;
  }
  if (rows == 1 && win.len >= 4) {
    for (int p = 0; p < npos; p += 4) {
      const std::int8_t* xp = x + p * pos_step;
      switch (npos - p) {
        case 1: one_row<1>(xp, pos_step, win, z, w, bias, acc + p); break;
        case 2: one_row<2>(xp, pos_step, win, z, w, bias, acc + p); break;
        case 3: one_row<3>(xp, pos_step, win, z, w, bias, acc + p); break;
        default: one_row<4>(xp, pos_step, win, z, w, bias, acc + p); break;
      }
    }
    return;
  }
  const int G = L >> 2;
  const int r = L & 3;
  // Two positions, interleaved group by group; + the tail words.
  alignas(8) std::int32_t buf[2 * (kMaxWindow / 4) * 2 + 4];
  const std::uint32_t zz = std::uint32_t(pack16(z, z));
  int p = 0;
  // Four positions at a time while the four windows fit the buffer (L <= kMaxWindow / 2).
  if (G > 0 && rows > 0 && 2 * L <= kMaxWindow && (win.chunks == 1 || (win.len & 3) == 0)) {
    for (; p + 4 <= npos; p += 4) {
      const std::int8_t* xp = x + p * pos_step;
      if (win.chunks == 1) {
        expand4(xp, pos_step, G, zz, buf);
      } else {
        for (int j = 0; j < win.chunks; ++j) expand4(xp + j * win.chunk_step, pos_step, win.len >> 2, zz, buf + 2 * j * win.len);
      }
      if (r != 0) {
        for (int k = 0; k < 4; ++k) expand(xp + k * pos_step + 4 * G, r, z, buf + 8 * G + 4 * (k >> 1), k & 1);
      }
      rows_4pos(w, w_step, rows, buf, G, r, bias, acc + p * rows);
    }
  }
  for (; p < npos; p += 2) {
    const std::int8_t* xp = x + p * pos_step;
    std::int32_t* acc0 = acc + p * rows;
    if (p + 1 < npos) {
      const std::int8_t* xq = xp + pos_step;
      if (win.chunks == 1) {
        expand2(xp, xq, G, zz, buf);
        if (r != 0) {
          expand(xp + 4 * G, r, z, buf + 4 * G, 0);
          expand(xq + 4 * G, r, z, buf + 4 * G, 1);
        }
      } else if ((win.len & 3) == 0) {
        for (int j = 0; j < win.chunks; ++j)
          expand2(xp + j * win.chunk_step, xq + j * win.chunk_step, win.len >> 2, zz, buf + j * win.len);
      } else {
        expand_window(xp, win, z, buf, 0);
        expand_window(xq, win, z, buf, 1);
      }
      rows_2pos(w, w_step, rows, buf, G, r, bias, acc0, acc0 + rows);
    } else {
      expand_window(xp, win, z, buf, 0);
      rows_1pos(w, w_step, rows, buf, G, r, bias, acc0);
    }
  }
}

}  // namespace detail_m4

/// dot_ref()'s contract and bits (ppghr/int8/dot.hpp), with SMLAD: see the header comment. A window
/// longer than kMaxWindow runs in pieces (of half of it for 4 positions or more, so they take the
/// 4-position path), each adding to the accumulators the one before left (the same integer).
inline void dot(const std::int8_t* x, std::ptrdiff_t pos_step, int npos, const Window& win, std::int32_t z,
                const std::int8_t* w, std::ptrdiff_t w_step, int rows, const std::int32_t* bias,
                std::int32_t* acc) noexcept {
  using namespace detail_m4;
  const int L = win.chunks * win.len;
  if (L <= 0 || win.len <= 0 || rows <= 0 || npos <= 0) {
    dot_ref(x, pos_step, npos, win, z, w, w_step, rows, bias, acc);
    return;
  }
  if (L <= kMaxWindow) {
    dot_fits(x, pos_step, npos, win, z, w, w_step, rows, bias, acc);
    return;
  }
  // pieces of 4 positions' expansion (half the bound) where that path is taken, else of the bound
  const int limit = npos >= 4 && kMaxWindow >= 8 ? (kMaxWindow / 2) & ~3 : kMaxWindow;
  if (win.len <= limit) {  // whole chunks per piece
    const int per = limit / win.len;
    for (int j = 0; j < win.chunks; j += per) {
      Window piece = win;
      piece.chunks = win.chunks - j < per ? win.chunks - j : per;
      dot_fits(x + j * win.chunk_step, pos_step, npos, piece, z, w + j * win.len, w_step, rows,
               j == 0 ? bias : nullptr, acc);
    }
    return;
  }
  for (int j = 0; j < win.chunks; ++j)  // each chunk in runs of `limit` values (a multiple of 4)
    for (int i = 0; i < win.len; i += limit) {
      Window piece;
      piece.len = win.len - i < limit ? win.len - i : limit;
      dot_fits(x + j * win.chunk_step + i, pos_step, npos, piece, z, w + j * win.len + i, w_step, rows,
               j == 0 && i == 0 ? bias : nullptr, acc);
    }
}

#undef PPGHR_Q8_M4_INLINE

}  // namespace ppghr::q8

#endif  // PPGHR_Q8_INCLUDING_KERNEL, __ARM_FEATURE_DSP
