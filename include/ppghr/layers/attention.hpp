// ppghr/layers/attention.hpp - multi-head attention (PyTorch nn.MultiheadAttention, no masks, no
// dropout) and the PULSE cross-attention that builds its tokens from a multi-row tensor.
//
// MultiheadAttention<T, Embed, Heads, NQ, NKV>: queries from one set of NQ tokens, keys and values
// from another set of NKV tokens, each token an Embed-vector. Per token q = Wq x + bq,
// k = Wk x + bk, v = Wv x + bv; per head h (features [h d, (h + 1) d), d = Embed / Heads):
// softmax over the keys of (q_h . k_h) / sqrt(d) weights the v_h; the heads' outputs are
// concatenated and y = Wo o + bo. The softmax subtracts each row's maximum score first, so large
// scores cannot overflow and all-equal scores give equal weights.
// Blob tensors (PyTorch names and order): <prefix>.in_proj_weight [3 Embed][Embed] (rows Wq, Wk,
// Wv), <prefix>.in_proj_bias [3 Embed], <prefix>.out_proj.weight [Embed][Embed],
// <prefix>.out_proj.bias [Embed].
//
// Layouts. Tokens are [N][Embed] (features contiguous), as PyTorch's (batch-first) inputs and
// output. Inside, the projected queries, keys and values are kept feature-major ([Embed][N]), so
// the score and projection loops run along the tokens (long, contiguous, vectorised). The
// scratch memory (scratch_size values of T, caller-owned, 64-byte aligned) holds that.
#pragma once

#include <array>
#include <cassert>
#include <cmath>
#include <cstddef>

#include "ppghr/core/config.hpp"
#include "ppghr/core/fingerprint.hpp"
#include "ppghr/core/simd.hpp"
#include "ppghr/core/storage.hpp"
#include "ppghr/core/tensor.hpp"
#include "ppghr/layers/softmax.hpp"

namespace ppghr {

namespace reference {

/// Naive multi-head attention in double, the oracle for MultiheadAttention. q: [nq][e] query
/// tokens; kv: [nkv][e] key/value tokens; in_w: [3e][e] (Wq, Wk, Wv); in_b: [3e]; out_w: [e][e];
/// out_b: [e]; y: [nq][e]; e <= 256. Needs no memory beyond one head-output vector on the stack:
/// projections are recomputed where used (slow, obviously right).
template <class T>
void multihead_attention(const T* q, int nq, const T* kv, int nkv, int e, int heads, const T* in_w, const T* in_b,
                         const T* out_w, const T* out_b, T* y) noexcept {
  constexpr int kMaxEmbed = 256;
  assert(e <= kMaxEmbed && heads > 0 && e % heads == 0);
  const int d = e / heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  // Feature f of projection p (0 = q, 1 = k, 2 = v) of token x.
  auto proj = [&](int p, const T* x, int f) {
    double acc = in_b[p * e + f];
    for (int i = 0; i < e; ++i) acc += static_cast<double>(in_w[(std::size_t(p) * e + f) * e + i]) * x[i];
    return acc;
  };
  auto score = [&](const T* qi, int j, int h) {
    double s = 0;
    for (int f = h * d; f < (h + 1) * d; ++f) s += proj(0, qi, f) * proj(1, kv + std::size_t(j) * e, f);
    return s * scale;
  };
  for (int i = 0; i < nq; ++i) {
    const T* qi = q + std::size_t(i) * e;
    double o[kMaxEmbed];  // the concatenated heads' outputs
    for (int h = 0; h < heads; ++h) {
      double m = score(qi, 0, h);
      for (int j = 1; j < nkv; ++j) {
        const double s = score(qi, j, h);
        m = s > m ? s : m;
      }
      double sum = 0;
      for (int f = h * d; f < (h + 1) * d; ++f) o[f] = 0;
      for (int j = 0; j < nkv; ++j) {
        const double p = std::exp(score(qi, j, h) - m);
        sum += p;
        for (int f = h * d; f < (h + 1) * d; ++f) o[f] += p * proj(2, kv + std::size_t(j) * e, f);
      }
      for (int f = h * d; f < (h + 1) * d; ++f) o[f] /= sum;
    }
    for (int f = 0; f < e; ++f) {
      double acc = out_b[f];
      for (int k = 0; k < e; ++k) acc += static_cast<double>(out_w[std::size_t(f) * e + k]) * o[k];
      y[std::size_t(i) * e + f] = static_cast<T>(acc);
    }
  }
}

/// Token gathering of CrossAttention (docs/blob-format.md, CROSS_ATTENTION): from x
/// [rows][length][channels] (the library's multi-row layout), token c * n_rows + (r - first_row)
/// is the vector x[r][0..length)[c]. tokens: [channels * n_rows][length].
template <class T>
void gather_row_tokens(const T* x, int channels, int length, int first_row, int n_rows, T* tokens) noexcept {
  for (int c = 0; c < channels; ++c)
    for (int rr = 0; rr < n_rows; ++rr)
      for (int t = 0; t < length; ++t)
        tokens[(std::size_t(c) * n_rows + rr) * length + t] =
            x[(std::size_t(first_row + rr) * length + t) * channels + c];
}

}  // namespace reference

namespace detail {

constexpr std::size_t round_up_to_align(std::size_t n, std::size_t elem) noexcept {
  const std::size_t per = kAlign / elem;
  return (n + per - 1) / per * per;
}

// s[j] = sum over d < D of q[d] * k[d * N + j], for j < N (one pass over the scores).
template <class T, int N, int D>
PPGHR_ALWAYS_INLINE void head_scores(const T* q, const T* k, T* s) noexcept {
  int j = 0;
#if PPGHR_HAS_SIMD
  constexpr int W = simd_width<T>;
  for (; j + W <= N; j += W) {
    simd_batch<T> acc(T(0));
    for (int d = 0; d < D; ++d) acc = xsimd::fma(simd_batch<T>(q[d]), simd_batch<T>::load_unaligned(k + std::size_t(d) * N + j), acc);
    acc.store_unaligned(s + j);
  }
#endif
  for (; j < N; ++j) {
    T acc = T(0);
    for (int d = 0; d < D; ++d) acc += q[d] * k[std::size_t(d) * N + j];
    s[j] = acc;
  }
}

// o[d] = sum over j < N of p[j] * v[d * N + j], for d < D (one pass over p).
template <class T, int N, int D>
PPGHR_ALWAYS_INLINE void weighted_sums(const T* p, const T* v, T* o) noexcept {
  for (int d = 0; d < D; ++d) o[d] = T(0);
  int j = 0;
#if PPGHR_HAS_SIMD
  constexpr int W = simd_width<T>;
  if constexpr (N >= W) {
    simd_batch<T> acc[D];
    for (int d = 0; d < D; ++d) acc[d] = simd_batch<T>(T(0));
    for (; j + W <= N; j += W) {
      const simd_batch<T> pj = simd_batch<T>::load_unaligned(p + j);
      for (int d = 0; d < D; ++d) acc[d] = xsimd::fma(pj, simd_batch<T>::load_unaligned(v + std::size_t(d) * N + j), acc[d]);
    }
    for (int d = 0; d < D; ++d) o[d] = xsimd::hadd(acc[d]);
  }
#endif
  for (; j < N; ++j)
    for (int d = 0; d < D; ++d) o[d] += p[j] * v[std::size_t(d) * N + j];
}

}  // namespace detail

template <class T, int Embed, int Heads, int NQ, int NKV, class S = Owned>
class MultiheadAttention {
  static_assert(Embed > 0 && Heads > 0, "MultiheadAttention: the embedding size and head count must be positive");
  static_assert(Embed % Heads == 0, "MultiheadAttention: the head count must divide the embedding size");
  static_assert(NQ > 0 && NKV > 0, "MultiheadAttention: there must be at least one query and one key/value token");

 public:
  using value_type = T;
  static constexpr int embed = Embed, heads = Heads, head_dim = Embed / Heads;
  static constexpr int query_tokens = NQ, kv_tokens = NKV;
  static constexpr std::size_t param_count = 4 * std::size_t(Embed) * Embed + 4 * std::size_t(Embed);
  /// Projections (q, k, v, out) plus scores and weighted sums.
  static constexpr std::size_t macs = std::size_t(NQ + 2 * NKV) * Embed * Embed + 2 * std::size_t(NQ) * NKV * Embed +
                                      std::size_t(NQ) * Embed * Embed;

  // Scratch sections, in values of T, each starting 64-byte aligned.
  static constexpr std::size_t kQIn = detail::round_up_to_align(std::size_t(Embed) * NQ, sizeof(T));
  static constexpr std::size_t kKvIn = detail::round_up_to_align(std::size_t(Embed) * NKV, sizeof(T));
  static constexpr std::size_t kScores = detail::round_up_to_align(NKV, sizeof(T));
  static constexpr std::size_t kHead = detail::round_up_to_align(Embed, sizeof(T));
  /// Scratch the caller provides to forward() / attend(): the inputs feature-major, the projected
  /// q, k, v feature-major, one row of scores and one concatenated head output.
  static constexpr std::size_t scratch_size = 2 * kQIn + 3 * kKvIn + kScores + kHead;

  Param<T, 3 * std::size_t(Embed) * Embed, S> in_proj_weight{};  ///< PyTorch order [3E][E]
  Param<T, 3 * std::size_t(Embed), S> in_proj_bias{};
  Param<T, std::size_t(Embed) * Embed, S> out_weight_t{};  ///< transposed: [in][out]
  Param<T, Embed, S> out_proj_bias{};

  template <class Src>
  void set_out_proj_weight(const Src& w) noexcept {
    for (int f = 0; f < Embed; ++f)
      for (int k = 0; k < Embed; ++k) out_weight_t[std::size_t(k) * Embed + f] = static_cast<T>(w[std::size_t(f) * Embed + k]);
  }
  /// out_proj.weight in PyTorch order, element (f, k).
  [[nodiscard]] T torch_out_proj_weight(int f, int k) const noexcept { return out_weight_t[std::size_t(k) * Embed + f]; }

  template <class V>
  void visit_tensors(V& v, const TensorName& prefix) noexcept {
    visit_param(v, TensorSpec(prefix.plus(".in_proj_weight"), {3 * Embed, Embed}), in_proj_weight);
    visit_param(v, TensorSpec(prefix.plus(".in_proj_bias"), {3 * Embed}), in_proj_bias);
    visit_param(v, TensorSpec(prefix.plus(".out_proj.weight"), {Embed, Embed}), out_weight_t,
                [this](const auto& s) { this->set_out_proj_weight(s); });
    visit_param(v, TensorSpec(prefix.plus(".out_proj.bias"), {Embed}), out_proj_bias);
  }

  /// Where attend() reads its inputs: the query tokens feature-major, [Embed][NQ]
  /// (element (f, i) = feature f of query token i), and the key/value tokens, [Embed][NKV].
  static T* query_input(T* scratch) noexcept { return scratch; }
  static T* kv_input(T* scratch) noexcept { return scratch + kQIn; }

  /// q: [NQ][Embed] query tokens, kv: [NKV][Embed] key/value tokens, y: [NQ][Embed];
  /// scratch: scratch_size values. y must overlap neither the inputs nor the scratch.
  void forward(const T* q, const T* kv, T* PPGHR_RESTRICT y, T* PPGHR_RESTRICT scratch) const noexcept {
    T* qin = query_input(scratch);
    T* kvin = kv_input(scratch);
    for (int i = 0; i < NQ; ++i)
      for (int f = 0; f < Embed; ++f) qin[std::size_t(f) * NQ + i] = q[std::size_t(i) * Embed + f];
    for (int j = 0; j < NKV; ++j)
      for (int f = 0; f < Embed; ++f) kvin[std::size_t(f) * NKV + j] = kv[std::size_t(j) * Embed + f];
    attend(scratch, y);
  }

  /// Attention on inputs already placed at query_input(scratch) and kv_input(scratch);
  /// y: [NQ][Embed], not overlapping the scratch.
  void attend(T* PPGHR_RESTRICT scratch, T* PPGHR_RESTRICT y) const noexcept {
    const T* qin = query_input(scratch);
    const T* kvin = kv_input(scratch);
    T* qt = scratch + kQIn + kKvIn;  // [Embed][NQ]
    T* kt = qt + kQIn;               // [Embed][NKV]
    T* vt = kt + kKvIn;              // [Embed][NKV]
    T* s = vt + kKvIn;               // [NKV]
    T* o = s + kScores;              // [Embed]

    project<NQ>(qin, 0, qt);
    project<NKV>(kvin, 1, kt);
    project<NKV>(kvin, 2, vt);
    // PyTorch divides the projected queries by sqrt(head_dim) before the dot products.
    const T root = std::sqrt(static_cast<T>(head_dim));
    for (std::size_t k = 0; k < std::size_t(Embed) * NQ; ++k) qt[k] /= root;

    for (int i = 0; i < NQ; ++i) {
      for (int h = 0; h < Heads; ++h) {
        // scores of query i against every key, head h; softmax; weighted sum of the values
        T q[head_dim];
        for (int d = 0; d < head_dim; ++d) q[d] = qt[std::size_t(h * head_dim + d) * NQ + i];
        detail::head_scores<T, NKV, head_dim>(q, kt + std::size_t(h) * head_dim * NKV, s);
        const T m = detail::max_of<T, NKV>(s);
        const T inv = T(1) / detail::exp_shifted_sum<T, NKV>(s, s, m);
        detail::weighted_sums<T, NKV, head_dim>(s, vt + std::size_t(h) * head_dim * NKV, o + h * head_dim);
        for (int d = 0; d < head_dim; ++d) o[h * head_dim + d] *= inv;
      }
      T* yi = y + std::size_t(i) * Embed;
      for (int f = 0; f < Embed; ++f) yi[f] = out_proj_bias[f];
      for (int k = 0; k < Embed; ++k) {
        const T ok = o[k];
        const T* w = &out_weight_t[std::size_t(k) * Embed];
        for (int f = 0; f < Embed; ++f) yi[f] += ok * w[f];
      }
    }
  }

 private:
  // out[f][n] = b[f] + sum_k W[f][k] * in[k][n], W = projection p of in_proj; feature-major.
  template <int N>
  void project(const T* PPGHR_RESTRICT in, int p, T* PPGHR_RESTRICT out) const noexcept {
    for (int f = 0; f < Embed; ++f) {
      T* of = out + std::size_t(f) * N;
      const T b = in_proj_bias[std::size_t(p) * Embed + f];
      for (int n = 0; n < N; ++n) of[n] = b;
      const T* wf = &in_proj_weight[(std::size_t(p) * Embed + f) * Embed];
      for (int k = 0; k < Embed; ++k) {
        const T w = wf[k];
        const T* ik = in + std::size_t(k) * N;
        for (int n = 0; n < N; ++n) of[n] += w * ik[n];
      }
    }
  }
};

/// PULSE's cross-attention on a multi-row tensor (docs/blob-format.md, CROSS_ATTENTION): query
/// tokens from rows QRow .. QRow + QRows - 1, key/value tokens from rows KVRow .. KVRow + KVRows - 1.
/// With x [Rows][Length][Channels] (the library's multi-row layout), query token c * QRows + (r - QRow)
/// is the Length-vector x[r][0..Length)[c] (PyTorch: x[c][r][0..Length) of [Channels][Rows][Length]);
/// key/value tokens likewise. Embedding size = Length. Output [Channels * QRows][Length]
/// (tokens x features, PyTorch's order). No residual.
template <class T, int Channels, int Rows, int Length, int Heads, int QRow, int QRows, int KVRow, int KVRows,
          class S = Owned>
class CrossAttention {
  static_assert(Channels > 0 && Rows > 0 && Length > 0, "CrossAttention: channels, rows and length must be positive");
  static_assert(QRow >= 0 && QRows > 0 && QRow + QRows <= Rows, "CrossAttention: the query rows must lie inside the tensor");
  static_assert(KVRow >= 0 && KVRows > 0 && KVRow + KVRows <= Rows,
                "CrossAttention: the key/value rows must lie inside the tensor");

 public:
  using Attention = MultiheadAttention<T, Length, Heads, Channels * QRows, Channels * KVRows, S>;
  static constexpr int channels = Channels, rows = Rows, length = Length, heads = Heads;
  static constexpr int query_tokens = Channels * QRows, kv_tokens = Channels * KVRows;
  static constexpr std::size_t param_count = Attention::param_count;
  static constexpr std::size_t macs = Attention::macs;
  static constexpr std::size_t in_size = std::size_t(Rows) * Length * Channels;
  static constexpr std::size_t out_size = std::size_t(query_tokens) * Length;
  static constexpr std::size_t scratch_size = Attention::scratch_size;
  static constexpr auto descriptor() noexcept {
    return detail::words(Op::cross_attention, Channels, Rows, Length, Heads, QRow, QRows, KVRow, KVRows);
  }

  Attention attention;

  template <class V>
  void visit_tensors(V& v, const TensorName& prefix) noexcept {
    attention.visit_tensors(v, prefix);
  }

  /// x: [Rows][Length][Channels]; y: [Channels * QRows][Length]; scratch: scratch_size values,
  /// 64-byte aligned. None may overlap.
  void forward(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT y, T* PPGHR_RESTRICT scratch) const noexcept {
    // Feature-major token inputs: element (t, token) of the query input is x[r][t][c], token
    // c * QRows + (r - QRow); for QRows == 1 this is a plain copy of row QRow.
    gather<QRow, QRows>(x, Attention::query_input(scratch));
    gather<KVRow, KVRows>(x, Attention::kv_input(scratch));
    attention.attend(scratch, y);
  }

 private:
  template <int First, int N>
  static void gather(const T* PPGHR_RESTRICT x, T* PPGHR_RESTRICT in) noexcept {
    for (int t = 0; t < Length; ++t) {
      T* it = in + std::size_t(t) * Channels * N;
      for (int rr = 0; rr < N; ++rr) {
        const T* xr = x + (std::size_t(First + rr) * Length + t) * Channels;
        for (int c = 0; c < Channels; ++c) it[std::size_t(c) * N + rr] = xr[c];
      }
    }
  }
};

}  // namespace ppghr
