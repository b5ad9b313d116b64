// ppghr/int8/network.hpp - int8 networks (docs/int8.md): Int8Net<Net> runs the int8 twin of the
// float network Net (any family but the PULSE teacher) from a dtype-2 blob, or its compact
// dtype-4 twin (no table, no documentation-only scales), made by tools/ppghr_tools/quant.py, and
// reproduces quant.py's integer arithmetic exactly.
//
//   static ppghr::Int8Net<ppghr::SpecNet<2>> net;      // RAM: memory_bytes (activations, result)
//   net.load(blob, size);                               // validates, points into the blob (flash)
//   const auto& p = net.predict(window);                // the float network's input and result type
//
// How it is built: Net's architecture descriptor (the words its fingerprint is made of: every op
// and its geometry) is turned at compile time into a plan: each op's input and output shapes and
// the activation buffer ("slot") it reads and writes. forward() walks the plan; the dot products
// go through q8::dot (ppghr/int8/dot.hpp: reference, AVX2 / VNNI or Cortex-M DSP, all exact).
// Activations are int8, time-major with contiguous channels ([t][c]; [row][t][c] for the PULSE
// students' rows), the layout of the float layers; LINEAR reads its input in the float op's
// order (quant.py: a [C][T] tensor enters as c*T + t), transposing it first where needed.
//
// Weights in place: load() checks the blob (header, CRC, fingerprint, every tensor's name suffix,
// shape, element type and placement, and the values: finite scales, zero points in [-128, 127],
// weights in [-127, 127], multipliers >= 0, shifts in [-31, 30], and per output channel
// |bias| + 255 sum |w| <= INT32_MAX, so no accumulator can overflow) and then points at its
// tensors; it copies nothing. A refused blob (its own Status) leaves the previous pointers. The
// blob must start at a multiple of 64 bytes (Status::misaligned) and outlive the network's use.
//
// Input: the float window Net::predict takes (same size and layout). It is quantised per input
// channel as quant.QNet.quantize_input does (INPUT_NORM folded into the input scale; WINDOW_NORM
// in float first, WindowNorm<float>::statistics). Output: the last op's int32 accumulators
// (accumulators(), quant.QNet.forward_int's first result), the float32 logits acc_scale * acc, and
// the result Net would return (softmax and argmax, or the regression value).
// No heap, no exceptions; predict() never allocates.
#pragma once

#include <array>
#include <cassert>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "ppghr/core/config.hpp"
#include "ppghr/core/fingerprint.hpp"
#include "ppghr/core/status.hpp"
#include "ppghr/int8/arith.hpp"
#include "ppghr/int8/dot.hpp"
#include "ppghr/int8/conv_x86.hpp"
#include "ppghr/io/blob.hpp"
#include "ppghr/layers/window_norm.hpp"
#include "ppghr/models/prediction.hpp"

namespace ppghr {

namespace blob {
/// An int8 network (docs/int8.md): each tensor's element type at entry offset 68.
inline constexpr std::uint32_t kDtypeInt8 = 2;
inline constexpr std::size_t kEntElementType = 68;
inline constexpr std::uint32_t kElemFloat32 = 1, kElemInt8 = 2, kElemInt32 = 3;
}  // namespace blob

namespace q8 {
namespace plan {

/// Words of each op's record (docs/blob-format.md), -1 for an unknown code.
constexpr int record_words(std::uint32_t code) noexcept {
  switch (static_cast<Op>(code)) {
    case Op::net: return 5;
    case Op::conv1d: return 11;
    case Op::affine: return 3;
    case Op::maxpool1d: return 8;
    case Op::avgpool1d: return 5;
    case Op::global_avg_pool: return 2;
    case Op::linear: return 3;
    case Op::channel_pad: return 3;
    case Op::residual_begin: return 0;
    case Op::shortcut: return 0;
    case Op::add: return 2;
    case Op::input_norm: return 2;
    case Op::row_conv: return 12;
    case Op::row_avgpool: return 6;
    case Op::cross_attention: return 8;
    case Op::layer_norm: return 2;
    case Op::modality_conv: return 5;
    case Op::window_norm: return 3;
  }
  return -1;
}

template <std::size_t W>
constexpr std::size_t op_count(const std::array<std::uint32_t, W>& d) noexcept {
  std::size_t i = 0, n = 0;
  while (i < W) {
    const int r = record_words(d[i]);
    i += 1 + std::size_t(r < 0 ? W : std::size_t(r));
    ++n;
  }
  return n;
}

inline constexpr int kMaxSlots = 6;
/// Whether the PULSE students' leading row ops are streamed depth-first through line buffers
/// (Core::stream_row: the least memory) or run one whole row at a time through row-sized buffers
/// (faster where a row-wide kernel is: the x86 VNNI convolution of conv_x86.hpp, for more RAM).
/// PPGHR_Q8_STREAM_ROWS=0 / 1 chooses; by default rows stream except in x86 VNNI builds.
#ifndef PPGHR_Q8_STREAM_ROWS
#if PPGHR_Q8_CONV_VNNI
#define PPGHR_Q8_STREAM_ROWS 0
#else
#define PPGHR_Q8_STREAM_ROWS 1
#endif
#endif
inline constexpr bool kStreamRows = PPGHR_Q8_STREAM_ROWS != 0;
/// The most steps streamed (Core::stream_row keeps a few words of state per step on the stack).
inline constexpr int kMaxStreamed = 16;
/// Positions a streamed step hands on at once (a dot() call's 4 positions).
inline constexpr int kStreamGroup = 4;
/// The fewest outputs a streamed convolution waits for before it runs (until its input is complete).
inline constexpr int kStreamMinGroup = 2;

/// Why a descriptor has no int8 plan (0: it has one).
enum class Refusal : int { none = 0, no_int8_form, grouped_conv, not_weighted_last, bad_descriptor, too_many_slots };

/// One op of the plan.
struct Step {
  std::uint32_t code = 0;
  std::uint32_t w[12] = {};
  int in_r = 1, in_l = 1, in_c = 1;     ///< input shape (rows, length, channels)
  int out_r = 1, out_l = 1, out_c = 1;  ///< output shape
  int src = -1, src2 = -1, dst = -1, aux = -1;  ///< slots: input, ADD's main input, output, LINEAR's transpose
  bool last = false;                    ///< the last op: writes the int32 accumulators
  bool weighted = false;
  bool makes_output = false;            ///< writes a new activation (not NET, the norms, the residual markers)
  bool in_place = false;                ///< may write over its input (AFFINE, elementwise)
  int tensors = 0;                      ///< its blob tensors
  /// A streamed row op (PlanHead::row_begin..row_end): its input's line buffer, at lb_offset in the
  /// arena, lb_cap positions of in_c values (the window of the next outputs, see Core::stream_row).
  std::size_t lb_offset = 0;
  int lb_cap = 0;
};

/// A plan's scalars (Plan<N> adds the steps): what the interpreter (q8::Core) needs besides them.
struct PlanHead {
  Refusal refusal = Refusal::none;
  int slots = 0;                  ///< activation buffers
  std::array<std::size_t, kMaxSlots> slot_size{};    ///< bytes of each (its largest activation)
  std::array<std::size_t, kMaxSlots> slot_offset{};  ///< in the arena, multiples of 64
  std::size_t arena_bytes = 0;    ///< all activation buffers
  int max_rows = 1;               ///< largest output-channel count of a weighted op
  std::size_t acc_values = 4;     ///< the int32 accumulator scratch: the most any op's dot() call writes
  int dot_window = 4;             ///< the Cortex-M4 kernel's window bound that fits every dot() call
  int tensor_count = 3;           ///< the blob's tensors (input.offset, .scale, .zero_point first)
  int in_channels = 1, in_length = 1;
  bool rows_input = false;        ///< input [row][t] (PULSE) rather than [t][channel]
  bool window_norm = false;
  std::uint32_t wn_rows = 2, wn_length = 2, wn_floor = 0;
  int out_r = 1, out_l = 1, out_c = 1;  ///< the last op's output shape
  std::size_t outputs = 0;
  /// Steps [row_begin, row_end] (ROW_CONV / ROW_AVGPOOL only) are streamed: one row at a time,
  /// and within a row depth-first, a few positions at a time through small line buffers
  /// (Core::stream_row), so their activations never exist whole (-1: none).
  int row_begin = -1, row_end = -1;
  bool line_buffers = false;      ///< depth-first through line buffers (kStreamRows), else row by row
  std::size_t stream_bytes = 0;   ///< the line buffers, after the slots in the arena
};

template <std::size_t N>
struct Plan : PlanHead {
  std::array<Step, N> steps{};
};

constexpr std::size_t round64(std::size_t n) noexcept { return (n + 63) / 64 * 64; }

constexpr bool is_row_op(std::uint32_t code) noexcept {
  return static_cast<Op>(code) == Op::row_conv || static_cast<Op>(code) == Op::row_avgpool;
}

template <std::size_t N, std::size_t W>
constexpr Plan<N> make(const std::array<std::uint32_t, W>& d) noexcept {
  Plan<N> p{};
  // Pass 1: ops, shapes, tensors.
  int r = 1, l = 1, c = 1;
  int last_weighted = -1;
  std::size_t i = 0;
  for (std::size_t k = 0; k < N; ++k) {
    Step& s = p.steps[k];
    s.code = d[i];
    const int words = record_words(s.code);
    if (words < 0 || i + 1 + std::size_t(words) > W) {
      p.refusal = Refusal::bad_descriptor;
      return p;
    }
    for (int j = 0; j < words; ++j) s.w[j] = d[i + 1 + std::size_t(j)];
    i += 1 + std::size_t(words);
    s.in_r = r, s.in_l = l, s.in_c = c;
    const auto* w = s.w;
    s.makes_output = true;
    switch (static_cast<Op>(s.code)) {
      case Op::net:
        p.in_channels = int(w[2]), p.in_length = int(w[3]), p.outputs = w[4];
        r = 1, l = int(w[3]), c = int(w[2]);
        s.makes_output = false;
        break;
      case Op::input_norm:
      case Op::window_norm:
        p.rows_input = true;
        r = int(w[0]), l = int(w[1]), c = 1;
        if (static_cast<Op>(s.code) == Op::window_norm)
          p.window_norm = true, p.wn_rows = w[0], p.wn_length = w[1], p.wn_floor = w[2];
        s.makes_output = false;
        break;
      case Op::conv1d:
        if (w[9] != 1) p.refusal = Refusal::grouped_conv;
        l = int(w[3]), c = int(w[1]), s.weighted = true;
        break;
      case Op::row_conv:
        if (w[10] != 1) p.refusal = Refusal::grouped_conv;
        r = int(w[0]), l = int(w[4]), c = int(w[2]), s.weighted = true;
        break;
      case Op::modality_conv: r = 1, l = int(w[3]), c = int(w[1]), s.weighted = true; break;
      case Op::linear:
        if (r > 1) p.refusal = Refusal::bad_descriptor;  // LINEAR reads [t][c] or a vector
        r = 1, l = 1, c = int(w[1]), s.weighted = true;
        break;
      case Op::affine: s.weighted = true, s.in_place = true; break;
      case Op::maxpool1d: l = int(w[2]); break;
      case Op::avgpool1d: l = int(w[2]); break;
      case Op::row_avgpool: l = int(w[3]); break;
      case Op::global_avg_pool: l = 1; break;
      case Op::channel_pad: c = int(w[1]); break;
      case Op::residual_begin:
      case Op::shortcut: s.makes_output = false; break;
      case Op::add: s.makes_output = false, p.tensor_count += s.tensors = 4; break;
      case Op::cross_attention:
      case Op::layer_norm: p.refusal = Refusal::no_int8_form; break;
    }
    s.out_r = r, s.out_l = l, s.out_c = c;
    if (s.weighted) {
      last_weighted = int(k);
      if (c > p.max_rows) p.max_rows = c;
      // up to 4 positions per dot() call (conv, modality conv); LINEAR and AFFINE: one
      const bool one = static_cast<Op>(s.code) == Op::linear || static_cast<Op>(s.code) == Op::affine;
      const std::size_t acc = std::size_t(one ? 1 : 4) * std::size_t(c);
      if (acc > p.acc_values) p.acc_values = acc;
      // values per position of its dot() calls; dot_m4.hpp expands 4 positions up to half its
      // bound, 1 or 2 up to the bound
      int win = 0;
      switch (static_cast<Op>(s.code)) {
        case Op::conv1d: win = int(w[4]) * int(w[0]); break;
        case Op::row_conv: win = int(w[5]) * int(w[1]); break;
        case Op::modality_conv: win = int(w[2]) * int(w[0]); break;
        case Op::linear: win = int(w[0]); break;
        default: break;
      }
      win = (one ? win : 2 * win) + 3;
      win -= win % 4;
      if (win > p.dot_window) p.dot_window = win;
    }
  }
  if (last_weighted != int(N) - 1) {
    if (p.refusal == Refusal::none) p.refusal = Refusal::not_weighted_last;
    return p;
  }
  Step& last = p.steps[N - 1];
  last.last = true;
  p.out_r = last.out_r, p.out_l = last.out_l, p.out_c = last.out_c;
  for (std::size_t k = 0; k < N; ++k)
    if (p.steps[k].weighted) p.tensor_count += p.steps[k].tensors = p.steps[k].last ? 4 : 7;
  if (std::size_t(p.out_r) * std::size_t(p.out_l) * std::size_t(p.out_c) != p.outputs && p.refusal == Refusal::none)
    p.refusal = Refusal::bad_descriptor;

  // The rows streamed one at a time: the leading run of two or more row ops (not the last op).
  if (p.rows_input) {
    std::size_t b = 0;
    while (b < N && !p.steps[b].makes_output) ++b;
    std::size_t e = b;
    while (e + 1 < N && is_row_op(p.steps[e + 1].code) && e + 1 < b + std::size_t(kMaxStreamed)) ++e;
    if (b < N && is_row_op(p.steps[b].code) && e > b && e + 1 < N) p.row_begin = int(b), p.row_end = int(e);
  }

  // Pass 2: a buffer ("slot") for every activation, at compile time. Live at each step: the
  // current activation, a residual's saved input and main path, the streamed rows' gathered
  // output; each slot is as large as the largest activation it ever holds. The streamed steps
  // have line buffers instead, after the slots.
  int cur = 0, saved = -1, main = -1, pin1 = -1, pin2 = -1, used = 1;
  auto alloc = [&](int avoid) {
    for (int q = 0; q < kMaxSlots; ++q)
      if (q != cur && q != saved && q != main && q != avoid && q != pin1 && q != pin2) {
        if (q + 1 > used) used = q + 1;
        return q;
      }
    p.refusal = Refusal::too_many_slots;
    return 0;
  };
  auto note = [&](int q, std::size_t bytes) {
    if (bytes > p.slot_size[std::size_t(q)]) p.slot_size[std::size_t(q)] = bytes;
  };
  p.line_buffers = p.row_begin >= 0 && kStreamRows;
  // the int8 input, unless the rows stream through line buffers: they then start at the input,
  // which enters each row's first line buffer a few positions at a time (Core::RowInput)
  if (!p.line_buffers) note(0, std::size_t(p.in_channels) * std::size_t(p.in_length));
  int gather = -1;
  for (std::size_t k = 0; k < N; ++k) {
    Step& s = p.steps[k];
    s.src = cur;
    const bool streamed = p.row_begin >= 0 && int(k) >= p.row_begin && int(k) <= p.row_end;
    const std::size_t row_bytes = std::size_t(s.out_l) * std::size_t(s.out_c);
    const std::size_t bytes = std::size_t(s.out_r) * row_bytes;
    switch (static_cast<Op>(s.code)) {
      case Op::residual_begin: saved = cur; break;
      case Op::shortcut: main = cur, cur = saved; break;
      case Op::add:
        s.src2 = main, s.dst = main;  // elementwise: written over the main path
        cur = main, saved = main = -1;
        break;
      default: break;
    }
    if (!s.makes_output || s.last) continue;
    if (streamed && p.line_buffers) {
      if (int(k) == p.row_begin) {
        gather = alloc(-1);  // every row's output of the last streamed step
        const Step& e = p.steps[std::size_t(p.row_end)];
        note(gather, std::size_t(e.out_r) * std::size_t(e.out_l) * std::size_t(e.out_c));
      }
      // The line buffer holds the positions not yet consumed: at most the window's span less one
      // plus the strides of the outputs a convolution waits for (fewer than kStreamMinGroup; a pool
      // runs as soon as one output is ready), then up to kStreamGroup positions arriving.
      const auto* w = s.w;
      const bool is_conv = static_cast<Op>(s.code) == Op::row_conv;
      const int span = is_conv ? int(w[7]) * (int(w[5]) - 1) + 1 : int(w[4]);
      const int st = is_conv ? int(w[6]) : int(w[5]);
      const int pad = is_conv ? int(w[8]) : 0;
      const int kept = span - 1 + (is_conv ? (kStreamMinGroup - 1) * st : 0);
      s.lb_cap = (kept > pad ? kept : pad) + kStreamGroup;
      s.lb_offset = p.stream_bytes;
      p.stream_bytes += (std::size_t(s.lb_cap) * std::size_t(s.in_c) + 3) / 4 * 4;
      s.dst = int(k) == p.row_end ? gather : -1;  // else: the next step's line buffer
      cur = s.dst;
      continue;
    }
    if (streamed) {  // one whole row at a time: row-sized buffers
      if (int(k) == p.row_begin) {
        pin1 = cur;  // the whole input, read row by row
        gather = alloc(-1);
        pin2 = gather;
        const Step& e = p.steps[std::size_t(p.row_end)];
        note(gather, std::size_t(e.out_r) * std::size_t(e.out_l) * std::size_t(e.out_c));
      }
      if (int(k) == p.row_end) {
        s.dst = gather;
        pin1 = pin2 = -1;
      } else {
        s.dst = alloc(-1);
        note(s.dst, row_bytes);
      }
      cur = s.dst;
      continue;
    }
    if (static_cast<Op>(s.code) == Op::linear && s.in_l > 1 && s.in_c > 1) {
      s.aux = alloc(-1);
      note(s.aux, std::size_t(s.in_l) * std::size_t(s.in_c));
    }
    s.dst = (s.in_place && cur != saved && cur != main) ? cur : alloc(s.aux);
    note(s.dst, bytes);
    cur = s.dst;
  }
  p.slots = used;
  std::size_t off = 0;
  for (int q = 0; q < used; ++q) {
    p.slot_offset[std::size_t(q)] = off;
    off += round64(p.slot_size[std::size_t(q)]);
  }
  for (std::size_t k = 0; k < N; ++k)
    if (p.steps[k].lb_cap > 0) p.steps[k].lb_offset += off;
  p.arena_bytes = off + round64(p.stream_bytes);
  return p;
}

}  // namespace plan

/// The blob tensors of an int8 network, per op (docs/int8.md; quant.int8_tensor_spec).
enum class Tensor : unsigned char {
  input_offset, input_scale, input_zero_point,
  weight, bias, weight_scale, multiplier, shift, out_scale, out_zero_point, acc_scale
};

}  // namespace q8

namespace q8 {

using plan::PlanHead;
using plan::Step;
using plan::kStreamGroup;
using plan::kStreamMinGroup;

/// A weighted op's int8 weight dims (docs/int8.md): [co][d1][d2], d1 / d2 = 0 where absent.
struct WeightDims {
  std::uint32_t co = 0, d1 = 0, d2 = 0;
};
constexpr WeightDims weight_dims(const Step& s) noexcept {
  const auto* w = s.w;
  switch (static_cast<Op>(s.code)) {
    case Op::conv1d: return {w[1], w[4], w[0]};
    case Op::row_conv: return {w[2], w[5], w[1]};
    case Op::modality_conv: return {w[1], w[2], w[0]};
    case Op::linear: return {w[1], w[0], 0};
    default: return {w[0], 0, 0};  // affine
  }
}

/// A compact int8 blob (dtype 4, docs/blob-format.md): its tensor count and total size, which
/// follow from the plan alone. Tensors, in quant.compact_tensor_spec's order: input.offset,
/// .scale [C] float32, .zero_point int32; per weighted op weight (int8, zero-padded to 4 bytes),
/// bias, then acc_scale (the last op) or multiplier, shift, out_zero_point; per ADD multiplier [3],
/// shift [3], out_zero_point. Then the CRC.
struct CompactSize {
  std::uint32_t tensors = 0;
  std::uint64_t bytes = 0;
};
constexpr CompactSize compact_size(const PlanHead& head, const Step* steps, std::size_t n) noexcept {
  CompactSize c{3, blob::kHeaderSize + 4 * (2 * std::uint64_t(head.in_channels) + 1)};
  for (std::size_t k = 0; k < n; ++k) {
    const Step& s = steps[k];
    if (s.weighted) {
      const WeightDims d = weight_dims(s);
      const std::uint64_t weights = std::uint64_t(d.co) * (d.d1 ? d.d1 : 1) * (d.d2 ? d.d2 : 1);
      c.bytes += (weights + blob::kCompactAlign - 1) / blob::kCompactAlign * blob::kCompactAlign;
      c.bytes += 4 * std::uint64_t(d.co) * (s.last ? 2 : 3) + (s.last ? 0 : 4);
      c.tensors += s.last ? 3 : 5;
    } else if (static_cast<Op>(s.code) == Op::add) {
      c.bytes += 4 * (3 + 3 + 1);
      c.tensors += 3;
    }
  }
  c.bytes += 4;  // the CRC
  return c;
}

/// One op's tensors in the blob and zero points (bound by Core::bind_all).
struct Bind {
  const std::int8_t* w = nullptr;
  const std::int32_t* bias = nullptr;
  const std::int32_t* mult = nullptr;
  const std::int32_t* shift = nullptr;
  const float* scale = nullptr;  ///< acc_scale of the last op
  std::int32_t z_out = 0;        ///< the output's zero point
  std::int32_t z_in = 0;         ///< the input's (ADD: the shortcut's)
  std::int32_t z_main = 0;       ///< ADD: the main path's
  bool left_shift = false;       ///< some output channel's shift is > 0 (never from quant.py)
  bool bounded = false;          ///< requantize_bounded applies (arith.hpp: the weights bound every accumulator)
};
struct InputQ {
  const float* offset = nullptr;
  const float* scale = nullptr;
  std::int32_t z = 0;
};


/// The int8 interpreter behind every Int8Net<Net> (not a template: one copy of the code for any
/// number of networks): it walks a plan's steps over the network's buffers, which Int8Net owns.
class Core {
 public:
  Core(const PlanHead& head, const Step* steps, std::size_t n, Bind* bind, std::int8_t* arena, std::int32_t* acc,
       std::int32_t* out_acc) noexcept
      : head_(&head), steps_(steps), n_(n), bind_(bind), arena_(arena), acc_(acc), out_acc_(out_acc) {}
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  /// Where streamed rows (PlanHead::row_begin >= 0) take their int8 input from: the int8 rows
  /// [r][t] (`rows`), or `fill`, which writes the int8 values of positions t..t+n-1 of row r.
  struct RowInput {
    const std::int8_t* rows = nullptr;
    void (*fill)(const void* ctx, int r, int t, int n, std::int8_t* out) noexcept = nullptr;
    const void* ctx = nullptr;
  };
  /// The forward pass: fills the output accumulators. Its int8 input: `in` when the rows are
  /// streamed, else slot 0.
  void run(const RowInput& in) noexcept;
  /// Checks every tensor of a blob whose header passed check_header() against the plan and binds
  /// them into `bind` / `in` (staging: the caller commits only when this returns ok).
  [[nodiscard]] LoadReport bind_all(const unsigned char* data, const blob::Header& h, Bind* bind,
                                    InputQ& in) const noexcept;

 private:
  std::int8_t* slot(int q) const noexcept { return arena_ + head_->slot_offset[std::size_t(q)]; }

  // acc (npos x rows) -> int8 outputs at y (position stride `y_step`) or, for the last op, the
  // accumulators in the float output's order: (o, r, t) -> o * R * L + r * L + t.
  void store(const std::int32_t* acc, int npos, int rows, const Bind& b, bool relu, bool last, std::int8_t* y,
             int r, int t0) noexcept {
    if (last) {
      const std::size_t R = std::size_t(head_->out_r), L = std::size_t(head_->out_l);
      for (int p = 0; p < npos; ++p)
        for (int o = 0; o < rows; ++o) out_acc_[std::size_t(o) * R * L + std::size_t(r) * L + std::size_t(t0 + p)] = acc[p * rows + o];
      return;
    }
    // locals: the int8 stores may alias anything, so fields read through b would be reloaded
    const std::int32_t* PPGHR_RESTRICT mult = b.mult;
    const std::int32_t* PPGHR_RESTRICT shift = b.shift;
    const std::int32_t z_out = b.z_out;
    const std::int32_t lo = relu ? (z_out > kQMin ? z_out : kQMin) : kQMin;
#if PPGHR_Q8_VEC
    // x86: 16 (8) channels at once, exactly requantize32 / saturate8 (conv_x86.hpp)
    for (int p = 0; p < npos; ++p) vec::requant_row(acc + p * rows, mult, shift, rows, z_out, lo, y + p * rows);
    return;
#endif
    if (b.bounded) {  // channel by channel: each channel's constants once for its npos values
      const std::ptrdiff_t r = rows;
      if (npos == 4) {  // the common case, unrolled (the M4 keeps the constants in registers)
        for (int o = 0; o < rows; ++o, ++acc, ++y) {
          const BoundedRq rq = bounded_rq(mult[o], shift[o], z_out);
          const std::int32_t a0 = acc[0], a1 = acc[r], a2 = acc[2 * r], a3 = acc[3 * r];
          y[0] = saturate8z(requantize_bounded(a0, rq), lo);
          y[r] = saturate8z(requantize_bounded(a1, rq), lo);
          y[2 * r] = saturate8z(requantize_bounded(a2, rq), lo);
          y[3 * r] = saturate8z(requantize_bounded(a3, rq), lo);
        }
        return;
      }
      for (int o = 0; o < rows; ++o) {
        const BoundedRq rq = bounded_rq(mult[o], shift[o], z_out);
        for (int p = 0; p < npos; ++p) y[p * r + o] = saturate8z(requantize_bounded(acc[p * r + o], rq), lo);
      }
      return;
    }
    if (b.left_shift) {  // the general requantisation (a blob not from quant.py)
      const int n = npos * rows;
      for (int i = 0, o = 0; i < n; ++i) {
        y[i] = saturate8(requantize32(acc[i], mult[o], shift[o]), z_out, lo);
        if (++o == rows) o = 0;
      }
      return;
    }
    const std::int32_t* a = acc;
    for (int p = 0; p < npos; ++p) {
      const std::int32_t* m = mult;
      const std::int32_t* sh = shift;
      for (int o = 0; o < rows; ++o) *y++ = saturate8(requantize32_right(*a++, *m++, int(-*sh++)), z_out, lo);
    }
  }

  // One 1-D convolution: x [lin][ci] -> y [lout][co] (or the accumulators), quant.conv1d_int.
  void conv(const std::int8_t* x, std::int8_t* y, int ci, int co, int lin, int lout, int k, int st, int dil, int pl,
            const Bind& b, std::int32_t z, bool relu, bool last, int row) noexcept {
#if PPGHR_Q8_CONV_VNNI
    // x86 VNNI: vectorised over output channels, padding materialised (conv_x86.hpp); exact.
    if (scratch_ != nullptr) {
      ConvGeom g;
      g.ci = ci, g.co = co, g.lin = lin, g.lout = lout, g.k = k, g.st = st, g.dil = dil, g.pl = pl;
      const std::int32_t lo = relu ? (b.z_out > kQMin ? b.z_out : kQMin) : kQMin;
      const std::ptrdiff_t R = head_->out_r, L = head_->out_l;
      // this step's packed weights: made once after each load() (tagged with the load's generation)
      const std::size_t step = std::size_t(&b - bind_);
      std::uint8_t* region = scratch_ + conv_off_[step];
      PackTag tag;
      std::memcpy(&tag, region, sizeof tag);
      if (tag.gen != gen_ || tag.w != b.w) {
        conv_pack(g, z, b.w, b.bias, b.mult, b.shift, last, b.z_out, region + 64);
        tag.gen = gen_, tag.w = b.w;
        std::memcpy(region, &tag, sizeof tag);
      }
      conv_run(x, g, z, region + 64, b.z_out, lo, y, last ? out_acc_ + std::ptrdiff_t(row) * L : nullptr, R * L,
               scratch_);
      return;
    }
#endif
    std::int32_t* acc = acc_;
    const std::ptrdiff_t w_step = std::ptrdiff_t(k) * ci;
    int t = 0;
    while (t < lout) {
      const int pos = t * st - pl;
      // taps k0..k1-1 fall inside the input
      int k0 = 0;
      while (k0 < k && pos + dil * k0 < 0) ++k0;
      int k1 = k;
      while (k1 > k0 && pos + dil * (k1 - 1) > lin - 1) --k1;
      int npos = 1;
      if (k0 == 0 && k1 == k)
        while (npos < 4 && t + npos < lout && (t + npos) * st - pl + dil * (k - 1) <= lin - 1) ++npos;
      if (k1 > k0) {
        Window win;
        if (dil == 1) {
          win.chunks = 1, win.len = (k1 - k0) * ci;
        } else {
          win.chunks = k1 - k0, win.len = ci, win.chunk_step = std::ptrdiff_t(dil) * ci;
        }
        dot(x + std::ptrdiff_t(pos + dil * k0) * ci, std::ptrdiff_t(st) * ci, npos, win, z, b.w + std::ptrdiff_t(k0) * ci,
                w_step, co, b.bias, acc);
      } else {
        for (int o = 0; o < co; ++o) acc[o] = b.bias[o];
      }
      store(acc, npos, co, b, relu, last, last ? nullptr : y + std::size_t(t) * co, row, t);
      t += npos;
    }
  }

  void exec(std::size_t k, const std::int8_t* x, std::int8_t* y, int rows) noexcept;
  /// A streamed step's line-buffer state (stream_row).
  struct StreamLine {
    int base, have, next;  ///< absolute position of the buffer's first, positions held, next output
    bool complete;         ///< all its input is in
  };
  std::int8_t* line_buffer(const Step& s) const noexcept { return arena_ + s.lb_offset; }
  void stream_row(const RowInput& in, int r) noexcept;
  bool stream_step(std::size_t b, int j, int m, StreamLine* line, int r) noexcept;
  void add(const Step& s, const Bind& b, const std::int8_t* x, std::int8_t* y) noexcept;

  const PlanHead* head_;
  const Step* steps_;
  std::size_t n_;
  const Bind* bind_;
  std::int8_t* arena_;
  std::int32_t* acc_;
  std::int32_t* out_acc_;
#if PPGHR_Q8_CONV_VNNI
 public:
  /// The x86 VNNI convolutions' scratch (Int8Net's: plan_conv_layout): the padded input at p,
  /// step k's packed weights at p + off[k] + 64; nullptr: the q8::dot path.
  void set_scratch(std::uint8_t* p, const std::size_t* off) noexcept { scratch_ = p, conv_off_ = off; }
  /// The packed weights are stale (load() bound new tensors, perhaps at the same addresses).
  void invalidate_packed() noexcept { gen_ = gen_ + 1 == 0 ? 1 : gen_ + 1; }

 private:
  struct PackTag {
    std::uint32_t gen;
    const std::int8_t* w;
  };
  std::uint8_t* scratch_ = nullptr;
  const std::size_t* conv_off_ = nullptr;
  std::uint32_t gen_ = 1;  // the scratch starts zeroed: generation 0 is never valid
#endif
};

inline void Core::run(const RowInput& in) noexcept {
  auto at = [&](int q) { return q >= 0 ? slot(q) : nullptr; };
  std::size_t b = n_, e = n_;  // the streamed rows' steps, if any
  if (head_->row_begin >= 0) b = std::size_t(head_->row_begin), e = std::size_t(head_->row_end);
  for (std::size_t k = 0; k < b && k < n_; ++k) exec(k, at(steps_[k].src), at(steps_[k].dst), steps_[k].in_r);
  if (b < n_ && head_->line_buffers) {
    for (int r = 0; r < steps_[b].in_r; ++r) stream_row(in, r);
  } else if (b < n_) {  // one whole row at a time, from slot 0
    const Step& first = steps_[b];
    const Step& last = steps_[e];
    const std::size_t in_row = std::size_t(first.in_l) * std::size_t(first.in_c);
    const std::size_t out_row = std::size_t(last.out_l) * std::size_t(last.out_c);
    for (int r = 0; r < first.in_r; ++r)
      for (std::size_t k = b; k <= e; ++k) {
        const Step& s = steps_[k];
        exec(k, k == b ? slot(s.src) + std::size_t(r) * in_row : slot(s.src),
             k == e ? slot(s.dst) + std::size_t(r) * out_row : slot(s.dst), 1);
      }
  }
  if (b < n_) {
    for (std::size_t k = e + 1; k < n_; ++k) exec(k, at(steps_[k].src), at(steps_[k].dst), steps_[k].in_r);
  }
}

// Step k over input x, output y; a row op processes `rows` rows (1 when streamed).
inline void Core::exec(std::size_t k, const std::int8_t* x, std::int8_t* y, int rows) noexcept {
  const Step& s = steps_[k];
  const Bind& b = bind_[k];
  const auto* w = s.w;
  const std::int32_t z = b.z_in;
    switch (static_cast<Op>(s.code)) {
      case Op::conv1d:
        conv(x, y, int(w[0]), int(w[1]), int(w[2]), int(w[3]), int(w[4]), int(w[5]), int(w[6]), int(w[7]), b, z,
             w[10] != 0, s.last, 0);
        break;
      case Op::row_conv: {
        const int ci = int(w[1]), co = int(w[2]), lin = int(w[3]), lout = int(w[4]);
        for (int r = 0; r < rows; ++r)
          conv(x + std::size_t(r) * lin * ci, s.last ? nullptr : y + std::size_t(r) * lout * co, ci, co, lin, lout,
               int(w[5]), int(w[6]), int(w[7]), int(w[8]), b, z, w[11] != 0, s.last, r);
        break;
      }
      case Op::modality_conv: {
        const int ci = int(w[0]), co = int(w[1]), rows = int(w[2]), len = int(w[3]);
        Window win;
        win.chunks = rows, win.len = ci, win.chunk_step = std::ptrdiff_t(len) * ci;
        for (int t = 0; t < len; t += 4) {
          const int npos = len - t < 4 ? len - t : 4;
          dot(x + std::size_t(t) * ci, ci, npos, win, z, b.w, std::ptrdiff_t(rows) * ci, co, b.bias, acc_);
          store(acc_, npos, co, b, w[4] != 0, s.last, s.last ? nullptr : y + std::size_t(t) * co, 0, t);
        }
        break;
      }
      case Op::linear: {
        const int in = int(w[0]), out = int(w[1]);
        const std::int8_t* v = x;
        if (s.aux >= 0) {  // [L][C] -> [C][L]: the float op's flatten order
          std::int8_t* tr = slot(s.aux);
          for (int t = 0; t < s.in_l; ++t)
            for (int c = 0; c < s.in_c; ++c) tr[std::size_t(c) * s.in_l + t] = x[std::size_t(t) * s.in_c + c];
          v = tr;
        }
#if PPGHR_Q8_CONV_VNNI
        if (scratch_ != nullptr) {  // x86 VNNI: a 1x1 convolution at one position (conv_x86.hpp), exact
          conv(v, y, in, out, 1, 1, 1, 1, 1, 0, b, z, w[2] != 0, s.last, 0);
          break;
        }
#endif
        Window win;
        win.len = in;
        dot(v, 0, 1, win, z, b.w, in, out, b.bias, acc_);
        store(acc_, 1, out, b, w[2] != 0, s.last, y, 0, 0);
        break;
      }
      case Op::affine: {
        const int ch = int(w[0]), len = int(w[1]);
#if PPGHR_Q8_VEC
        if (!s.last) {  // x86: vectorised, exact (conv_x86.hpp)
          const std::int32_t lo = w[2] != 0 ? (b.z_out > kQMin ? b.z_out : kQMin) : kQMin;
          vec::affine(x, y, ch, len, b.w, b.bias, b.mult, b.shift, z, b.z_out, lo);
          break;
        }
#endif
        std::int32_t* acc = acc_;
        for (int t = 0; t < len; ++t) {
          const std::int8_t* xt = x + std::size_t(t) * ch;
          for (int c = 0; c < ch; ++c) acc[c] = b.bias[c] + std::int32_t(b.w[c]) * (std::int32_t(xt[c]) - z);
          store(acc, 1, ch, b, w[2] != 0, s.last, s.last ? nullptr : y + std::size_t(t) * ch, 0, t);
        }
        break;
      }
      case Op::maxpool1d: {
        const int ch = int(w[0]), lin = int(w[1]), lout = int(w[2]), kk = int(w[3]), st = int(w[4]), pl = int(w[5]);
        const std::int32_t fill = w[7] == 0 ? z : kQMin;
#if PPGHR_Q8_VEC
        vec::max_pool(x, y, ch, lin, lout, kk, st, pl, static_cast<std::int8_t>(fill));  // x86, exact
        break;
#endif
        for (int t = 0; t < lout; ++t)
          for (int c = 0; c < ch; ++c) {
            std::int32_t m = INT32_MIN;
            for (int j = 0; j < kk; ++j) {
              const int u = t * st + j - pl;
              const std::int32_t v = (u < 0 || u >= lin) ? fill : std::int32_t(x[std::size_t(u) * ch + c]);
              m = v > m ? v : m;
            }
            y[std::size_t(t) * ch + c] = static_cast<std::int8_t>(m);
          }
        break;
      }
      case Op::avgpool1d:
      case Op::row_avgpool: {
        const bool row = static_cast<Op>(s.code) == Op::row_avgpool;
        const int o = row ? 1 : 0, nr = row ? rows : 1;
        const int ch = int(w[o]), lin = int(w[o + 1]), lout = int(w[o + 2]), kk = int(w[o + 3]), st = int(w[o + 4]);
        for (int r = 0; r < nr; ++r) {
          const std::int8_t* xr = x + std::size_t(r) * lin * ch;
          std::int8_t* yr = y + std::size_t(r) * lout * ch;
#if PPGHR_Q8_VEC
          if (vec::avg_pool(xr, yr, ch, lout, kk, st)) continue;  // x86, exact (conv_x86.hpp)
#endif
          for (int t = 0; t < lout; ++t)
            for (int c = 0; c < ch; ++c) {
              std::int32_t sum = 0;
              for (int j = 0; j < kk; ++j) sum += xr[std::size_t(t * st + j) * ch + c];
              yr[std::size_t(t) * ch + c] = clamp8(div_round_away(sum, kk), kQMin);
            }
        }
        break;
      }
      case Op::global_avg_pool: {
        const int ch = int(w[0]), len = int(w[1]);
#if PPGHR_Q8_VEC
        if (vec::avg_pool(x, y, ch, 1, len, 0)) break;  // x86, exact (conv_x86.hpp)
#endif
        for (int c = 0; c < ch; ++c) {
          std::int32_t sum = 0;
          for (int t = 0; t < len; ++t) sum += x[std::size_t(t) * ch + c];
          y[c] = clamp8(div_round_away(sum, len), kQMin);
        }
        break;
      }
      case Op::channel_pad: {
        const int ci = int(w[0]), co = int(w[1]), before = int(w[2]);
        for (int t = 0; t < s.in_l; ++t)
          for (int c = 0; c < co; ++c)
            y[std::size_t(t) * co + c] = (c < before || c >= before + ci) ? static_cast<std::int8_t>(z)
                                                                          : x[std::size_t(t) * ci + (c - before)];
        break;
      }
      case Op::add: add(s, b, x, y); break;
      default: break;  // net, input_norm, window_norm (folded into the input quantisation), residual markers
  }
}

// The streamed steps b..e (PlanHead::row_begin, row_end) on row r of the input `in`, depth-first:
// each step's input lives in a line buffer (Step::lb_offset, lb_cap positions of in_c values, [t][c])
// holding the positions its next outputs need, its left padding written in as the zero point. The
// input enters kStreamGroup positions at a time; then, from the first step down, a step makes one
// group of up to kStreamGroup outputs when it can (a convolution once kStreamMinGroup are ready, or
// fewer once its input is complete; a pool once one is) at the end of the next step's line buffer and the next step goes on; a
// step that can make none hands back to the one above. At the end of the row each step in turn
// gets its right padding and finishes. The last step writes row r of its output slot. No
// recursion: the stack holds a few words per step. The arithmetic is exec()'s, output for output:
// a padding position adds w * (z - z) = 0, as exec()'s clipped window does.
inline void Core::stream_row(const RowInput& in, int r) noexcept {
  const std::size_t b = std::size_t(head_->row_begin);
  const int m = head_->row_end - head_->row_begin + 1;
  StreamLine line[plan::kMaxStreamed];
  for (int j = 0; j < m; ++j) {
    const Step& s = steps_[b + std::size_t(j)];
    const int pl = static_cast<Op>(s.code) == Op::row_conv ? int(s.w[8]) : 0;
    std::memset(line_buffer(s), static_cast<int>(bind_[b + std::size_t(j)].z_in), std::size_t(pl) * std::size_t(s.in_c));
    line[j] = {-pl, pl, 0, false};
  }
  auto sweep = [&](int j) {
    int q = j;
    while (q >= j) q = (q < m && stream_step(b, q, m, line, r)) ? q + 1 : q - 1;
  };
  // the row, kStreamGroup positions at a time
  const Step& first = steps_[b];
  const std::size_t c0 = std::size_t(first.in_c);
  for (int t = 0; t < first.in_l; t += kStreamGroup) {
    const int n = first.in_l - t < kStreamGroup ? first.in_l - t : kStreamGroup;
    std::int8_t* to = line_buffer(first) + std::size_t(line[0].have) * c0;
    if (in.fill != nullptr) {
      in.fill(in.ctx, r, t, n, to);
    } else {
      std::memcpy(to, in.rows + (std::size_t(r) * std::size_t(first.in_l) + std::size_t(t)) * c0, std::size_t(n) * c0);
    }
    line[0].have += n;
    assert(line[0].have <= first.lb_cap);
    sweep(0);
  }
  // each step in turn: its right padding (the zero point), then the outputs left
  for (int j = 0; j < m; ++j) {
    const Step& s = steps_[b + std::size_t(j)];
    StreamLine& L = line[j];
    L.complete = true;
    int need = 0;  // the absolute end of the last output's window
    if (static_cast<Op>(s.code) == Op::row_conv)
      need = (s.out_l - 1) * int(s.w[6]) - int(s.w[8]) + int(s.w[7]) * (int(s.w[5]) - 1) + 1;
    const int z = static_cast<int>(bind_[b + std::size_t(j)].z_in);
    do {
      const int n0 = need - (L.base + L.have);
      const int n = n0 <= 0 ? 0 : n0 < kStreamGroup ? n0 : kStreamGroup;
      std::memset(line_buffer(s) + std::size_t(L.have) * std::size_t(s.in_c), z, std::size_t(n) * std::size_t(s.in_c));
      L.have += n;
      assert(L.have <= s.lb_cap);
      sweep(j);
    } while (L.base + L.have < need);
  }
}

// One group of streamed step b + j's outputs from its line buffer, if its input holds them:
// written to the next step's line buffer (or, for the last, row r of its output slot); then the
// input positions no later output reads are dropped. Returns whether it made any.
inline bool Core::stream_step(std::size_t b, int j, int m, StreamLine* line, int r) noexcept {
  const Step& s = steps_[b + std::size_t(j)];
  const Bind& bd = bind_[b + std::size_t(j)];
  const auto* w = s.w;
  const bool is_conv = static_cast<Op>(s.code) == Op::row_conv;
  const int ci = s.in_c, co = s.out_c, lout = s.out_l;
  const int k = is_conv ? int(w[5]) : int(w[4]), st = is_conv ? int(w[6]) : int(w[5]);
  const int dil = is_conv ? int(w[7]) : 1, pl = is_conv ? int(w[8]) : 0;
  const int span = dil * (k - 1) + 1;
  StreamLine& L = line[j];
  const int end = L.base + L.have;  // the absolute end of the positions held
  int n = 0;
  while (n < kStreamGroup && L.next + n < lout && (L.next + n) * st - pl + span <= end) ++n;
  if (n == 0 || (is_conv && n < kStreamMinGroup && !L.complete && L.next + n < lout)) return false;
  std::int8_t* in = line_buffer(s);
  const std::int8_t* xs = in + std::ptrdiff_t(L.next * st - pl - L.base) * ci;
  const bool last = j + 1 == m;
  std::int8_t* y = last ? slot(s.dst) + (std::size_t(r) * std::size_t(lout) + std::size_t(L.next)) * std::size_t(co)
                        : line_buffer(steps_[b + std::size_t(j) + 1]) + std::size_t(line[j + 1].have) * std::size_t(co);
  if (is_conv) {
    Window win;
    if (dil == 1) {
      win.chunks = 1, win.len = k * ci;
    } else {
      win.chunks = k, win.len = ci, win.chunk_step = std::ptrdiff_t(dil) * ci;
    }
    dot(xs, std::ptrdiff_t(st) * ci, n, win, bd.z_in, bd.w, std::ptrdiff_t(k) * ci, co, bd.bias, acc_);
    store(acc_, n, co, bd, w[11] != 0, false, y, r, L.next);
  } else {
    for (int p = 0; p < n; ++p)
      for (int c = 0; c < ci; ++c) {
        std::int32_t sum = 0;
        for (int t = 0; t < k; ++t) sum += xs[std::ptrdiff_t(p * st + t) * ci + c];
        y[std::size_t(p) * std::size_t(ci) + std::size_t(c)] = clamp8(div_round_away(sum, k), kQMin);
      }
  }
  L.next += n;
  if (!last) {
    line[j + 1].have += n;
    assert(line[j + 1].have <= steps_[b + std::size_t(j) + 1].lb_cap);  // the plan's bound (plan::make)
  }
  int drop = L.next * st - pl - L.base;  // the positions before the next output's window
  if (drop > L.have) drop = L.have;
  if (drop > 0) {
    std::memmove(in, in + std::size_t(drop) * std::size_t(ci), std::size_t(L.have - drop) * std::size_t(ci));
    L.base += drop, L.have -= drop;
  }
  return true;
}

// ADD: x (the shortcut) + the main path (slot src2) -> y. Not inlined into exec(): its tables
// stay out of the stack frame of the convolutions' path.
inline PPGHR_NOINLINE void Core::add(const Step& s, const Bind& b, const std::int8_t* x, std::int8_t* y) noexcept {
  const auto* w = s.w;
#if PPGHR_Q8_VEC
  // x86: 16 (8) values at once, exactly (conv_x86.hpp); false: positive input shifts, below
  if (vec::add_rows(slot(s.src2), x, std::size_t(w[0]) * w[1], b.z_main, b.z_in, b.mult, b.shift, b.z_out, y)) return;
#endif
  // v_i = requantize((x_i - z_i) 2^20, M_i, shift_i) takes 256 values per input: two tables
  // (on the stack) instead of two requantisations per element. (x - z) 2^20 fits an int32
  // (|x - z| <= 255); so does v1 + v2 unless a blob's input shifts are positive (never from
  // quant.py): then the general requantize, saturating like quant.py.
  std::int32_t t1[256], t2[256];
  const std::int32_t zm = b.z_main, m0 = b.mult[0], s0 = b.shift[0], m1 = b.mult[1], s1 = b.shift[1];
  for (int v = -128; v < 128; ++v) {
    t1[v + 128] = requantize32((v - zm) * (1 << kAddLeftShift), m0, s0);
    t2[v + 128] = requantize32((v - b.z_in) * (1 << kAddLeftShift), m1, s1);
  }
  const std::int32_t m2 = b.mult[2], s2 = b.shift[2], z_out = b.z_out;
  const std::size_t n = std::size_t(w[0]) * w[1];
  const std::int8_t* m = slot(s.src2);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t sum = std::int64_t(t1[m[i] + 128]) + t2[x[i] + 128];
    const std::int32_t r = (sum >= INT32_MIN && sum <= INT32_MAX)
                               ? requantize32(static_cast<std::int32_t>(sum), m2, s2)
                               : requantize(sum, m2, s2);
    y[i] = saturate8(r, z_out, kQMin);
  }
}

inline LoadReport Core::bind_all(const unsigned char* data, const blob::Header& h, Bind* bind,
                                 InputQ& in) const noexcept {
  using blob::detail::fail;
  using T8 = Tensor;
  std::uint32_t index = 0;
  LoadReport report{};
  char prefix[blob::kNameSize] = {};
  std::size_t prefix_len = 0;
  const std::uint64_t body = h.total_size - 4;
  // A compact blob (dtype 4) has no table: every tensor's place follows from the plan (compact_size),
  // so its count and total size are checked first, and each tensor starts where the previous ended,
  // rounded up to 4 bytes with zero padding. The documentation-only scales are not in it.
  const bool compact = blob::read_u32(data + blob::kOffDtype) == blob::kDtypeInt8Compact;
  std::uint64_t cursor = blob::kHeaderSize;  // compact: the next tensor's offset
  if (compact) {
    const CompactSize cs = compact_size(*head_, steps_, n_);
    if (h.tensor_count != cs.tensors)
      return fail(Status::size_mismatch, cs.tensors, h.tensor_count, blob::kOffTensorCount);
    if (h.total_size != cs.bytes) return fail(Status::size_mismatch, cs.bytes, h.total_size, blob::kOffTotalSize);
  }

  // One expected tensor: checks its table entry (a compact blob: its padding) and values, returns
  // its data (nullptr on failure, and for a documentation-only tensor of a compact blob).
  auto entry = [&](T8 kind, std::uint32_t etype, std::uint32_t d0, std::uint32_t d1, std::uint32_t d2,
                   bool new_op) -> const unsigned char* {
    if (!report.ok()) return nullptr;
    if (compact && (kind == T8::weight_scale || kind == T8::out_scale)) return nullptr;
    static constexpr const char* kSuffix[] = {"offset", "scale", "zero_point", "weight", "bias", "weight_scale",
                                              "multiplier", "shift", "out_scale", "out_zero_point", "acc_scale"};
    const std::uint32_t i = index++;
    auto at = [&](Status s, std::uint64_t expected, std::uint64_t found, std::uint64_t off) {
      report = fail(s, expected, found, off);
      report.tensor_index = static_cast<std::int32_t>(i);
      blob::detail::set_name(report, kSuffix[int(kind)], blob::kNameSize);
      return nullptr;
    };
    if (i >= h.tensor_count) return at(Status::size_mismatch, i + 1, h.tensor_count, blob::kOffTensorCount);
    const std::uint64_t esize = etype == blob::kElemInt8 ? 1 : 4;
    std::uint64_t count = 0, off = 0;
    if (compact) {
      count = std::uint64_t(d0) * (d1 ? d1 : 1) * (d2 ? d2 : 1);
      off = cursor;
      const std::uint64_t end = off + count * esize;
      cursor = (end + blob::kCompactAlign - 1) / blob::kCompactAlign * blob::kCompactAlign;
      if (cursor > body) return at(Status::bad_table, body, cursor, blob::kOffTotalSize);  // (sizes checked above)
      for (std::uint64_t k = end; k < cursor; ++k)
        if (data[k] != 0) return at(Status::bad_table, 0, data[k], k);
    } else {
      const std::size_t eoff = blob::kHeaderSize + std::size_t(i) * blob::kEntrySize;
      const unsigned char* e = data + eoff;
      // name: "<prefix>.<suffix>", the prefix "input" for the input tensors and one per op
      const char* name = reinterpret_cast<const char*>(e);
      std::size_t len = 0;
      while (len < blob::kNameSize && name[len] != '\0') ++len;
      const std::size_t slen = std::strlen(kSuffix[int(kind)]);
      if (len == blob::kNameSize || len < slen + 2 || name[len - slen - 1] != '.' ||
          std::memcmp(name + len - slen, kSuffix[int(kind)], slen) != 0)
        return at(Status::size_mismatch, 0, 0, eoff);
      const std::size_t plen = len - slen;  // includes the dot
      if (new_op) {
        std::memcpy(prefix, name, plen);
        prefix_len = plen;
        const bool input = kind == T8::input_offset;
        if (input != (plen == 6 && std::memcmp(name, "input.", 6) == 0)) return at(Status::size_mismatch, 0, 0, eoff);
      } else if (plen != prefix_len || std::memcmp(prefix, name, plen) != 0) {
        return at(Status::size_mismatch, 0, 0, eoff);
      }
      const std::uint32_t dims[3] = {d0, d1, d2};
      const std::uint32_t ndim = d2 ? 3 : (d1 ? 2 : 1);
      const std::uint32_t nd = blob::read_u32(e + blob::kEntNdim);
      if (nd != ndim) return at(Status::size_mismatch, ndim, nd, eoff + blob::kEntNdim);
      count = 1;
      for (std::uint32_t d = 0; d < ndim; ++d) {
        const std::uint32_t v = blob::read_u32(e + blob::kEntDims + 4 * d);
        if (v != dims[d]) return at(Status::size_mismatch, dims[d], v, eoff + blob::kEntDims + 4 * d);
        count *= dims[d];
      }
      const std::uint32_t et = blob::read_u32(e + blob::kEntElementType);
      if (et != etype) return at(Status::size_mismatch, etype, et, eoff + blob::kEntElementType);
      const std::uint64_t cnt = blob::read_u64(e + blob::kEntCount);
      if (cnt != count) return at(Status::size_mismatch, count, cnt, eoff + blob::kEntCount);
      off = blob::read_u64(e + blob::kEntOffset);
      if (off % blob::kDataAlign != 0 || off < h.payload_offset || off > body || count * esize > body - off)
        return at(Status::bad_table, h.payload_offset, off, eoff + blob::kEntOffset);
    }
    const unsigned char* p = data + off;
    // values
    for (std::uint64_t k = 0; k < count; ++k) {
      const unsigned char* v = p + k * esize;
      if (etype == blob::kElemFloat32) {
        float f;
        std::memcpy(&f, v, 4);
        if (!std::isfinite(f)) return at(Status::non_finite_weight, k, k, off + k * esize);
        if (kind == T8::input_scale && !(f > 0.0f)) return at(Status::invalid_weight, k, k, off + k * esize);
      } else if (etype == blob::kElemInt32) {
        const auto x = static_cast<std::int32_t>(blob::read_u32(v));
        const bool bad = ((kind == T8::out_zero_point || kind == T8::input_zero_point) && (x < -128 || x > 127)) ||
                         (kind == T8::multiplier && x < 0) || (kind == T8::shift && (x < -31 || x > 30));
        if (bad) return at(Status::invalid_weight, k, k, off + k * esize);
      } else if (static_cast<std::int8_t>(*v) == -128) {
        return at(Status::invalid_weight, k, k, off + k);
      }
    }
    return p;
  };
  auto i8 = [](const unsigned char* p) { return reinterpret_cast<const std::int8_t*>(p); };
  auto i32 = [](const unsigned char* p) { return reinterpret_cast<const std::int32_t*>(p); };
  auto f32 = [](const unsigned char* p) { return reinterpret_cast<const float*>(p); };

  const auto C = std::uint32_t(head_->in_channels);
  in.offset = f32(entry(T8::input_offset, blob::kElemFloat32, C, 0, 0, true));
  in.scale = f32(entry(T8::input_scale, blob::kElemFloat32, C, 0, 0, false));
  const unsigned char* zp = entry(T8::input_zero_point, blob::kElemInt32, 1, 0, 0, false);
  if (zp != nullptr) in.z = *i32(zp);
  for (std::size_t k = 0; k < n_ && report.ok(); ++k) {
    const Step& s = steps_[k];
    Bind& b = bind[k];
    if (s.weighted) {
      const WeightDims wd = weight_dims(s);
      const std::uint32_t co = wd.co, d1 = wd.d1, d2 = wd.d2;
      const std::uint32_t weight_index = index;
      b.w = i8(entry(T8::weight, blob::kElemInt8, co, d1, d2, true));
      b.bias = i32(entry(T8::bias, blob::kElemInt32, co, 0, 0, false));
      entry(T8::weight_scale, blob::kElemFloat32, co, 0, 0, false);
      if (s.last) {
        b.scale = f32(entry(T8::acc_scale, blob::kElemFloat32, co, 0, 0, false));
      } else {
        b.mult = i32(entry(T8::multiplier, blob::kElemInt32, co, 0, 0, false));
        b.shift = i32(entry(T8::shift, blob::kElemInt32, co, 0, 0, false));
        entry(T8::out_scale, blob::kElemFloat32, 1, 0, 0, false);
        const unsigned char* z = entry(T8::out_zero_point, blob::kElemInt32, 1, 0, 0, false);
        if (z != nullptr) b.z_out = *i32(z);
      }
      if (!report.ok()) break;
      // no accumulator can overflow: |bias| + 255 sum |w| <= INT32_MAX per output channel
      const std::size_t fan = std::size_t(d1 ? d1 : 1) * (d2 ? d2 : 1);
      b.bounded = !s.last;
      for (std::uint32_t o = 0; o < co; ++o) {
        std::int64_t bound = b.bias[o] < 0 ? -std::int64_t(b.bias[o]) : std::int64_t(b.bias[o]);
        for (std::size_t j = 0; j < fan; ++j) {
          const std::int32_t v = b.w[std::size_t(o) * fan + j];
          bound += 255 * std::int64_t(v < 0 ? -v : v);
        }
        if (b.bounded)
          b.bounded = bound <= kBoundedAccMax && b.shift[o] <= 0 && b.shift[o] >= -kBoundedMaxShift && b.z_out >= -128 &&
                      b.z_out <= 127;
        if (bound > INT32_MAX) {
          report = fail(Status::invalid_weight, o, o, 0);
          report.tensor_index = static_cast<std::int32_t>(weight_index);
          blob::detail::set_name(report, "weight", blob::kNameSize);
          break;
        }
      }
    } else if (static_cast<Op>(s.code) == Op::add) {
      b.mult = i32(entry(T8::multiplier, blob::kElemInt32, 3, 0, 0, true));
      b.shift = i32(entry(T8::shift, blob::kElemInt32, 3, 0, 0, false));
      entry(T8::out_scale, blob::kElemFloat32, 1, 0, 0, false);
      const unsigned char* z = entry(T8::out_zero_point, blob::kElemInt32, 1, 0, 0, false);
      if (z != nullptr) b.z_out = *i32(z);
      // an ADD's tensors are "<residual>.add.<suffix>" (quant.py)
      if (report.ok() && !compact && (prefix_len < 5 || std::memcmp(prefix + prefix_len - 5, ".add.", 5) != 0))
        report = fail(Status::size_mismatch, 0, 0, blob::kHeaderSize + std::size_t(index - 4) * blob::kEntrySize);
    }
  }
  if (report.ok() && index != h.tensor_count)
    report = fail(Status::size_mismatch, index, h.tensor_count, blob::kOffTensorCount);
  if (!report.ok()) return report;
  // Each op's input zero point(s), along the path (pools and CHANNEL_PAD pass theirs on).
  std::int32_t z = in.z, z_saved = 0, z_main = 0;
  for (std::size_t k = 0; k < n_; ++k) {
    const Step& s = steps_[k];
    bind[k].z_in = z;
    if (static_cast<Op>(s.code) == Op::residual_begin) z_saved = z;
    if (static_cast<Op>(s.code) == Op::shortcut) z_main = z, z = z_saved;
    if (static_cast<Op>(s.code) == Op::add) bind[k].z_in = z, bind[k].z_main = z_main;
    if (s.weighted || static_cast<Op>(s.code) == Op::add) z = bind[k].z_out;
  }
  return report;
}

}  // namespace q8

namespace q8 {
/// The x86 VNNI convolutions' scratch of a plan: the padded input (the largest conv_input_bytes)
/// first, then per CONV1D / ROW_CONV / LINEAR step a 64-byte tag and its conv_packed_bytes.
template <std::size_t N>
struct ConvLayout {
  std::array<std::size_t, N> off{};  ///< step k's region (tag, then the packed weights)
  std::size_t total = 64;
};
template <std::size_t N>
constexpr ConvLayout<N> plan_conv_layout(const plan::Plan<N>& p) noexcept {
  ConvLayout<N> r{};
  ConvGeom gs[N] = {};
  bool conv[N] = {};
  std::size_t input = 64;
  for (std::size_t k = 0; k < N; ++k) {
    const Step& s = p.steps[k];
    ConvGeom g;
    const auto* w = s.w;
    if (static_cast<Op>(s.code) == Op::conv1d) {
      g.ci = int(w[0]), g.co = int(w[1]), g.lin = int(w[2]), g.lout = int(w[3]), g.k = int(w[4]), g.st = int(w[5]),
      g.dil = int(w[6]), g.pl = int(w[7]);
    } else if (static_cast<Op>(s.code) == Op::row_conv) {
      g.ci = int(w[1]), g.co = int(w[2]), g.lin = int(w[3]), g.lout = int(w[4]), g.k = int(w[5]), g.st = int(w[6]),
      g.dil = int(w[7]), g.pl = int(w[8]);
    } else if (static_cast<Op>(s.code) == Op::linear) {  // a 1x1 convolution at one position
      g.ci = int(w[0]), g.co = int(w[1]);
    } else {
      continue;
    }
    gs[k] = g, conv[k] = true;
    if (conv_input_bytes(g) > input) input = conv_input_bytes(g);
  }
  std::size_t at = input;
  for (std::size_t k = 0; k < N; ++k) {
    if (!conv[k]) continue;
    r.off[k] = at;
    at += 64 + conv_packed_bytes(gs[k]);
  }
  r.total = at;
  return r;
}
}  // namespace q8

/// Whether Int8Net<Net> exists: every family but the PULSE teacher (attention, LayerNorm).
template <class Net>
inline constexpr bool has_int8_form_v =
    q8::plan::make<q8::plan::op_count(Net::descriptor())>(Net::descriptor()).refusal == q8::plan::Refusal::none;

/// The int8 twin of the float network Net (header comment). RAM: memory_bytes; flash: the blob.
template <class Net>
class Int8Net {
  static constexpr auto kDesc = Net::descriptor();
  static constexpr std::size_t kSteps = q8::plan::op_count(kDesc);
  static constexpr q8::plan::Plan<kSteps> kPlan = q8::plan::make<kSteps>(kDesc);
  static_assert(kPlan.refusal != q8::plan::Refusal::no_int8_form,
                "Int8Net: CROSS_ATTENTION and LAYER_NORM have no int8 form (the PULSE teacher is not quantised)");
  static_assert(kPlan.refusal != q8::plan::Refusal::grouped_conv, "Int8Net: grouped convolutions have no int8 form");
  static_assert(kPlan.refusal != q8::plan::Refusal::not_weighted_last,
                "Int8Net: the network must end in a weighted op (its accumulators are the output)");
  static_assert(kPlan.refusal == q8::plan::Refusal::none, "Int8Net: the architecture descriptor has no int8 plan");

 public:
  using float_network = Net;
  using result_type = typename Net::result_type;
  using value_type = float;
  static constexpr std::size_t input_size = Net::input_size;
  static constexpr int output_size = Net::output_size;
  static constexpr std::uint64_t fingerprint = Net::fingerprint;
  static constexpr bool weights_in_place = true;
  static_assert(std::size_t(output_size) == kPlan.outputs, "Int8Net: Net's result and its descriptor disagree");
  static_assert(input_size == std::size_t(kPlan.in_channels) * std::size_t(kPlan.in_length),
                "Int8Net: Net's input size and its descriptor disagree");

  /// The blob's tensor count.
  static constexpr int tensor_count = kPlan.tensor_count;
  /// Activation buffers (planned at compile time: header comment).
  static constexpr int slots = kPlan.slots;
  /// Bytes of the activation buffers (int8 values, each 64-byte rounded).
  static constexpr std::size_t arena_bytes = kPlan.arena_bytes;
  /// Whether the leading row ops run one row at a time (the PULSE students' trunk).
  static constexpr bool streams_rows = kPlan.row_begin >= 0;
  /// Whether they stream depth-first through line buffers (PPGHR_Q8_STREAM_ROWS, the default) or
  /// run a whole row at a time.
  static constexpr bool line_buffers = kPlan.line_buffers;
  /// All activation memory: the buffers and the int32 accumulator scratch, bytes.
  static constexpr std::size_t activation_bytes =
      kPlan.arena_bytes + sizeof(std::int32_t) * kPlan.acc_values;
  /// The smallest PPGHR_Q8_M4_MAX_WINDOW (ppghr/int8/dot_m4.hpp) with which all of this network's
  /// dot products run the Cortex-M4 SMLAD kernel: the bound sizes that kernel's stack buffer.
  static constexpr int dot_window = kPlan.dot_window;
  /// Multiply-accumulates per window (Net's).
  static constexpr std::size_t macs = Net::macs;
  /// The whole object in bytes: sizeof(Int8Net).
  static const std::size_t memory_bytes;

#if PPGHR_Q8_CONV_VNNI
 private:
  static constexpr q8::ConvLayout<kSteps> kConvLayout = q8::plan_conv_layout(kPlan);

 public:
  /// x86 VNNI builds only (absent elsewhere, the M4 included): the convolutions' scratch, bytes:
  /// the largest padded u8 input, and every CONV1D / ROW_CONV's weights repacked for VPDPBUSD
  /// with its bias' (made on the first predict() after each load(): the blob stays in place).
  static constexpr std::size_t conv_scratch_bytes = kConvLayout.total;
  Int8Net() noexcept { core_.set_scratch(conv_scratch_.data(), kConvLayout.off.data()); }
#else
  Int8Net() noexcept {}
#endif
  Int8Net(const Int8Net&) = delete;
  Int8Net& operator=(const Int8Net&) = delete;

  /// The compact int8 blob (dtype 4) of this network: its exact size in bytes, CRC included.
  static constexpr std::size_t compact_blob_bytes =
      std::size_t(q8::compact_size(kPlan, kPlan.steps.data(), kSteps).bytes);
  /// ... and its tensor count (tensor_count less the documentation-only scales).
  static constexpr int compact_tensor_count = int(q8::compact_size(kPlan, kPlan.steps.data(), kSteps).tensors);

  /// Validates an int8 blob, dtype 2 or 4 (compact), 64-byte aligned, and points at its tensors;
  /// all-or-nothing.
  [[nodiscard]] LoadReport load(const void* data, std::size_t size) noexcept;
  [[nodiscard]] bool loaded() const noexcept { return loaded_; }

  /// Float window -> Net's result (refused: not_loaded, non_finite; logits overflowing to Inf are
  /// refused too). No allocation.
  const result_type& predict(const float* window) noexcept {
    return detail::checked_predict(result_, loaded_, window, input_size, [&](float* out) {
      if constexpr (line_buffers) {
        Rows rows{this, window, {}, {}};  // quantised as the rows stream (no int8 input buffer)
        if constexpr (kPlan.window_norm) WN::statistics(window, rows.mean.data(), rows.div.data());
        q8::Core::RowInput in;
        in.fill = &Rows::fill, in.ctx = &rows;
        core_.run(in);
      } else {
        quantize_input(window, slot(0));
        core_.run(q8::Core::RowInput{});
      }
      for (std::size_t i = 0; i < kPlan.outputs; ++i) out[i] = logit(i);
    });
  }
  const result_type& predict(const std::array<float, input_size>& window) noexcept { return predict(window.data()); }
  [[nodiscard]] const result_type& last() const noexcept { return result_; }

  /// The int8 input of a float window (input_size values, the float input's layout): what
  /// quant.QNet.quantize_input gives. Needs loaded().
  void quantize_input(const float* window, std::int8_t* xq) const noexcept {
    const int L = kPlan.in_length, C = kPlan.in_channels;
#if PPGHR_Q8_VEC
    // x86: 16 (8) values at once, exactly q8::quantize (conv_x86.hpp)
    const float* off = in_.offset;
    const float* sc = in_.scale;
    if constexpr (kPlan.window_norm) {
      std::array<float, kPlan.wn_rows> mean{}, div{};
      WN::statistics(window, mean.data(), div.data());
      for (int r = 0; r < C; ++r)
        q8::vec::quantize_normalised(window + std::size_t(r) * L, std::size_t(L), mean[r], div[r], off[r], sc[r], in_.z,
                                     xq + std::size_t(r) * L);
      return;
    } else if constexpr (kPlan.rows_input) {
      for (int r = 0; r < C; ++r)
        q8::vec::quantize_periodic(window + std::size_t(r) * L, std::size_t(L), off + r, sc + r, 1, in_.z,
                                   xq + std::size_t(r) * L);
      return;
    } else if constexpr (kPlan.in_channels <= 8) {
      q8::vec::quantize_periodic(window, std::size_t(L) * std::size_t(C), off, sc, C, in_.z, xq);
      return;
    }
#endif
    if constexpr (kPlan.rows_input) {
      Rows rows{this, window, {}, {}};
      if constexpr (kPlan.window_norm) WN::statistics(window, rows.mean.data(), rows.div.data());
      for (int r = 0; r < C; ++r) Rows::fill(&rows, r, 0, L, xq + std::size_t(r) * L);
    } else {
      for (int t = 0; t < L; ++t)
        for (int c = 0; c < C; ++c)
          xq[std::size_t(t) * C + c] = q8::quantize(window[std::size_t(t) * C + c], in_.offset[c], in_.scale[c], in_.z);
    }
  }

  /// The integer forward pass from an int8 input (input_size values): fills accumulators().
  /// Needs loaded().
  void forward_q(const std::int8_t* xq) noexcept {
    q8::Core::RowInput in;
    if constexpr (line_buffers) {
      in.rows = xq;
    } else {
      std::memcpy(slot(0), xq, input_size);
    }
    core_.run(in);
  }
  /// The last op's int32 accumulators, output_size of them, in the float network's output order.
  [[nodiscard]] const std::int32_t* accumulators() const noexcept { return out_acc_.data(); }
  /// Output i as a float32 logit: acc_scale[channel] * (float) acc[i].
  [[nodiscard]] float logit(std::size_t i) const noexcept {
    const std::size_t per_channel = std::size_t(kPlan.out_r) * std::size_t(kPlan.out_l);
    return last_scale_[i / per_channel] * static_cast<float>(out_acc_[i]);
  }

 private:
  using WN = WindowNorm<float, int(kPlan.wn_rows), int(kPlan.wn_length), kPlan.wn_floor>;

  using Bind = q8::Bind;
  using Input = q8::InputQ;
  /// A rows input (the PULSE students: [row][t]) being quantised: the window, and WINDOW_NORM's
  /// statistics when the network has it.
  struct Rows {
    const Int8Net* net;
    const float* window;
    std::array<float, kPlan.wn_rows> mean, div;
    // positions t..t+n-1 of row r, as quant.QNet.quantize_input (Core::RowInput::fill)
    static void fill(const void* ctx, int r, int t, int n, std::int8_t* out) noexcept {
      const Rows& q = *static_cast<const Rows*>(ctx);
      const Input& in = q.net->in_;
      const float* x = q.window + std::size_t(r) * std::size_t(kPlan.in_length) + std::size_t(t);
      for (int i = 0; i < n; ++i) {
        const float v = kPlan.window_norm ? (x[i] - q.mean[std::size_t(r)]) / q.div[std::size_t(r)] : x[i];
        out[i] = q8::quantize(v, in.offset[r], in.scale[r], in.z);
      }
    }
  };
  std::int8_t* slot(int q) noexcept { return arena_.data() + kPlan.slot_offset[std::size_t(q)]; }

  alignas(kAlign) std::array<std::int8_t, kPlan.arena_bytes> arena_{};
  alignas(kAlign) std::array<std::int32_t, kPlan.acc_values> acc_{};
  std::array<std::int32_t, kPlan.outputs> out_acc_{};
  std::array<Bind, kSteps> bind_{};
  Input in_{};
  const float* last_scale_ = nullptr;
  result_type result_{};
  bool loaded_ = false;
  q8::Core core_{kPlan, kPlan.steps.data(), kSteps, bind_.data(), arena_.data(), acc_.data(), out_acc_.data()};
#if PPGHR_Q8_CONV_VNNI
  alignas(64) std::array<std::uint8_t, conv_scratch_bytes> conv_scratch_{};
#endif
};

template <class Net>
const std::size_t Int8Net<Net>::memory_bytes = sizeof(Int8Net<Net>);

template <class Net>
LoadReport Int8Net<Net>::load(const void* data, std::size_t size) noexcept {
  const auto* bytes = static_cast<const unsigned char*>(data);
  const auto misalign = reinterpret_cast<std::uintptr_t>(data) % kAlign;
  if (data != nullptr && misalign != 0) return blob::detail::fail(Status::misaligned, 0, misalign, 0);
  blob::Header h;
  // dtype 2 or 4 (the header says which); any other dtype is refused as not 2 (wrong_dtype)
  const bool compact = bytes != nullptr && size >= blob::kHeaderSize &&
                       blob::read_u32(bytes + blob::kOffDtype) == blob::kDtypeInt8Compact;
  LoadReport r = blob::check_header(bytes, size, fingerprint, h, compact ? blob::kDtypeInt8Compact : blob::kDtypeInt8);
  if (!r.ok()) return r;
  std::array<Bind, kSteps> bind{};
  Input in{};
  r = core_.bind_all(bytes, h, bind.data(), in);
  if (!r.ok()) return r;
  for (std::size_t k = 0; k < kSteps; ++k)  // the stores' fast path takes right shifts only
    if (bind[k].shift != nullptr)
      for (int o = 0; o < kPlan.steps[k].out_c && !bind[k].left_shift; ++o) bind[k].left_shift = bind[k].shift[o] > 0;
  bind_ = bind;
  in_ = in;
  last_scale_ = bind_[kSteps - 1].scale;
  loaded_ = true;
#if PPGHR_Q8_CONV_VNNI
  core_.invalidate_packed();  // the x86 VNNI convolutions repack the new weights
#endif
  return r;
}

}  // namespace ppghr
