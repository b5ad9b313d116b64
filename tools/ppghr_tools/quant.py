"""int8 post-training quantisation (PTQ) and the bit-exact integer reference (docs/int8.md).

numpy only. The scheme is TFLite's / CMSIS-NN's int8 one:
- weights int8, symmetric, per output channel (zero point 0, range [-127, 127]);
- activations int8, asymmetric, per tensor, scale and zero point from min / max over a calibration
  set of real windows (0 always inside the range);
- bias int32 at scale s_in * s_w[c]; int32 accumulators;
- requantisation by TFLite's MultiplyByQuantizedMultiplier (Q31 multiplier + shift from frexp,
  SaturatingRoundingDoublingHighMul, RoundingDivideByPOT), per output channel, the multiplier and
  shift stored in the blob;
- residual ADD as TFLite's int8 ADD (left shift 20, per-input multipliers); pools on int8 directly;
- the last op is not requantised: its int32 accumulators times a float32 scale per channel are the
  float32 logits (docs/int8.md says why); softmax and decoding stay float.
WINDOW_NORM (PULSE _wn) stays float before the input quantisation; INPUT_NORM is folded into it; the
PULSE teacher (attention, LayerNorm) is not quantised.

Every integer result here is what the C++ int8 kernels must reproduce EXACTLY. The arithmetic is
written once per op with numpy int64 (a float64 matmul is used for the dot products: every product
and partial sum is an integer below 2^53, so it is exact); tools/tests/test_quant.py checks every
op against a plain loop over Python ints and the primitives against rational references.

    PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.quant --model models/specnet2_bami1.ppgw \
        --out /tmp/specnet2_bami1_int8.ppgw --calib bami1 --doc docs/int8.md --compare-int8-logits

API:
    quantize_multiplier(real) -> (multiplier, shift)
    srdhm(a, b), rdbpot(x, exponent), requantize(acc, multiplier, shift)      (numpy int64 or ints)
    quantize(x, scale, zero_point, offset=0.0) -> int8 values; dequantize(q, scale, zero_point)
    choose_qparams(lo, hi) -> (scale float32, zero_point); quantize_weights(w) -> (w_q, s_w)
    conv1d_int, row_conv_int, linear_int, modality_conv_int, affine_int, add_int, maxpool_int,
    avgpool_int, global_avgpool_int, channel_pad_int, add_params: the int8 ops
    quantize_network(arch, state_dict, calib_windows, stats=None, int8_logits=False) -> QNet
    QNet.forward_int(x) -> (the last op's int32 accumulators (N, n_out), float32 logits (N, n_out))
    QNet.forward_trace(x) -> {activation name: (int8 values, scale, zero point)}, op by op
    QNet.forward_float(x) -> float64 outputs of the float network it was made from (not from a blob)
    QNet.tensors() -> [(name, array)] (the int8 blob's table); QNet.to_blob() -> bytes
    QNet.from_blob(src, arch=None) -> QNet; int8_tensor_spec(arch) -> [(name, dims, element type)]
    QNet.to_compact_blob() -> bytes (dtype 4: no table, no documentation-only scales);
    compact_tensor_spec(arch) -> its tensors; is_documentation_only(name);
    to_compact(dtype-2 blob) -> the dtype-4 blob of the same network (no model needed)

    PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.quant --to-compact IN.ppgw --out OUT.ppgw
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import archs as A

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
QMIN, QMAX = -128, 127
WMAX = 127                 # weights in [-127, 127] (symmetric; -128 unused, as TFLite)
ADD_LEFT_SHIFT = 20        # TFLite's int8 ADD
INPUT_CLAMP = 1024.0       # |x / s| is clamped to this before the integer conversion (changes no result)

ETYPE_F32, ETYPE_I8, ETYPE_I32 = 1, 2, 3
_NP = {ETYPE_F32: np.float32, ETYPE_I8: np.int8, ETYPE_I32: np.int32}

# ops whose output gets new qparams (and the int8 tensors of docs/int8.md)
_WEIGHTED = (A.OP_CONV1D, A.OP_ROW_CONV, A.OP_LINEAR, A.OP_MODALITY_CONV, A.OP_AFFINE)


# --------------------------------------------------------------------------------------------
# Fixed-point primitives (TFLite / gemmlowp), vectorised over numpy int64 arrays or Python ints

def round_half_away(v):
    """Round to nearest, ties away from zero (C's round / roundf, TfLiteRound), as float64.
    Exact for float32 inputs (v + 0.5 is exact in float64 for |v| < 2^28)."""
    v = np.asarray(v, dtype=np.float64)
    return np.where(v >= 0, np.floor(v + 0.5), -np.floor(-v + 0.5))


def quantize_multiplier(real: float) -> Tuple[int, int]:
    """TFLite QuantizeMultiplier: real ~= multiplier * 2^(shift - 31), multiplier in [2^30, 2^31)
    (or 0). double arithmetic: frexp, round half away from zero of q * 2^31, q == 1 carried into the
    shift, shifts below -31 flushed to (0, 0)."""
    real = float(real)
    if real < 0 or not math.isfinite(real):
        raise ValueError(f"multiplier must be finite and >= 0, got {real}")
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    qf = int(round_half_away(q * float(1 << 31)))
    if qf == (1 << 31):
        qf //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        raise ValueError(f"multiplier {real} too large (shift {shift} > 30)")
    return qf, shift


def srdhm(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul on int32 values: (a * b + nudge) / 2^31 truncated
    toward zero, nudge = 2^30 if a * b >= 0 else 1 - 2^30; INT32_MIN * INT32_MIN saturates to
    INT32_MAX."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    ab = a * b
    s = ab + np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    q = np.where(s >= 0, s >> 31, -((-s) >> 31))
    return np.where((a == INT32_MIN) & (b == INT32_MIN), np.int64(INT32_MAX), q)


def rdbpot(x, exponent):
    """gemmlowp RoundingDivideByPOT: x / 2^exponent rounded to nearest, ties away from zero
    (arithmetic shift plus 1 when the remainder exceeds mask / 2 + (x < 0)); exponent in 0..31."""
    x = np.asarray(x, dtype=np.int64)
    e = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (x < 0).astype(np.int64)
    return (x >> e) + (rem > thr).astype(np.int64)


def requantize(acc, multiplier, shift):
    """TFLite MultiplyByQuantizedMultiplier(acc, multiplier, shift): the left shift max(shift, 0)
    (saturated to int32: TFLite leaves its overflow undefined, our quantiser keeps shift <= 0 in
    practice), SRDHM by the multiplier, then RDBPOT by max(-shift, 0)."""
    acc = np.asarray(acc, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    x = np.clip(acc << left, INT32_MIN, INT32_MAX)
    return rdbpot(srdhm(x, multiplier), right)


def quantize(x, scale, zero_point, offset=0.0) -> np.ndarray:
    """float -> int8: q = clamp(roundf((x - offset) / scale) + zero_point, -128, 127), every step in
    float32 (x, offset and scale rounded to float32 first; one float32 subtraction, one float32
    division), round half away from zero. Returns int64 values in [-128, 127]."""
    x = np.asarray(x, dtype=np.float32)
    d = x - np.asarray(offset, dtype=np.float32) if np.any(np.asarray(offset) != 0) else x
    v = (d / np.asarray(scale, dtype=np.float32)).astype(np.float32)
    v = np.clip(v, np.float32(-INPUT_CLAMP), np.float32(INPUT_CLAMP))
    q = round_half_away(v).astype(np.int64) + np.asarray(zero_point, dtype=np.int64)
    return np.clip(q, QMIN, QMAX)


def dequantize(q, scale, zero_point) -> np.ndarray:
    """int8 -> float32: scale * (float)(q - zero_point), one float32 multiplication."""
    d = (np.asarray(q, dtype=np.int64) - np.asarray(zero_point, dtype=np.int64)).astype(np.float32)
    return (np.asarray(scale, dtype=np.float32) * d).astype(np.float32)


def choose_qparams(lo: float, hi: float) -> Tuple[np.float32, int]:
    """Activation qparams from a calibrated range: the range widened to include 0,
    scale = float32((hi - lo) / 255) (1.0 for an all-zero range), zero point =
    clamp(round_half_away(-128 - lo / scale), -128, 127) with the float32 scale."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    s = np.float32((hi - lo) / 255.0)
    if not s > 0:
        s = np.float32(1.0)
    z = int(np.clip(round_half_away(QMIN - lo / float(s)), QMIN, QMAX))
    return s, z


def quantize_weights(w: np.ndarray):
    """Per-output-channel symmetric int8 (channel = first axis): s_w[c] = float32(max|w[c]| / 127)
    (1.0 for an all-zero channel), w_q = clamp(round_half_away(w / s_w), -127, 127)."""
    w = np.asarray(w, dtype=np.float64)
    flat = w.reshape(w.shape[0], -1)
    m = np.abs(flat).max(axis=1)
    s = (m / WMAX).astype(np.float32)
    s[~(s > 0)] = np.float32(1.0)
    q = np.clip(round_half_away(flat / s.astype(np.float64)[:, None]), -WMAX, WMAX).astype(np.int8)
    return q.reshape(w.shape), s


# --------------------------------------------------------------------------------------------
# The network as a list of ops: (code, record words, name, float tensors)

@dataclasses.dataclass
class Op:
    code: int
    rec: Tuple[int, ...]
    name: str = ""
    f: Dict[str, np.ndarray] = dataclasses.field(default_factory=dict)   # float tensors (by short key)


def _residual_name(layer) -> str:
    for l in layer.body:
        if l.name:
            return l.name.rsplit(".", 1)[0]
    raise ValueError("residual without a named layer")


def _leaves(arch: A.Arch) -> List[Op]:
    out: List[Op] = []

    def add(l):
        if l.op is None:
            return                                   # Unused: no record, no tensor
        out.append(Op(l.op, tuple(int(w) for w in l.record), l.name))

    for layer in A.layers(arch):
        if isinstance(layer, A.Residual):
            out.append(Op(A.OP_RESIDUAL_BEGIN, ()))
            for l in layer.body:
                add(l)
            out.append(Op(A.OP_SHORTCUT, ()))
            for l in layer.shortcut:
                add(l)
            out.append(Op(A.OP_ADD, tuple(layer.record), _residual_name(layer) + ".add"))
        else:
            add(layer)
    return out


def float_ops(arch: Union[str, A.Arch], tensors) -> List[Op]:
    """The network's ops with their float tensors. ``tensors``: blob tensors (name -> array, as
    read_blob gives) or a training state_dict (exported through archs' layer specs: BatchNorm folded)."""
    arch = A.get_arch(arch) if isinstance(arch, str) else arch
    spec = A.blob_tensor_spec(arch)
    if not all(n in tensors for n, _ in spec):
        exported = []
        for layer in A.flatten(A.layers(arch)):
            exported += layer.export(tensors, tensors.get("input_norm") if hasattr(tensors, "get") else None)
        tensors = OrderedDict(exported)
    ops = _leaves(arch)
    for o in ops:
        if o.code == A.OP_INPUT_NORM:
            o.f["norm"] = np.asarray(tensors["input_norm"], np.float64)
        elif o.code == A.OP_AFFINE:
            o.f["weight"] = np.asarray(tensors[o.name + ".scale"], np.float64)
            o.f["bias"] = np.asarray(tensors[o.name + ".shift"], np.float64)
        elif o.code in _WEIGHTED:
            w = np.asarray(tensors[o.name + ".weight"], np.float64)
            if o.code == A.OP_CONV1D:
                w = w.transpose(0, 2, 1)                       # [co][ci][k] -> [co][k][ci]
            elif o.code == A.OP_ROW_CONV:
                w = w[:, :, 0, :].transpose(0, 2, 1)           # [co][ci][1][k] -> [co][k][ci]
            elif o.code == A.OP_MODALITY_CONV:
                w = w[:, :, :, 0].transpose(0, 2, 1)           # [co][ci][rows][1] -> [co][rows][ci]
            o.f["weight"] = w
            o.f["bias"] = np.asarray(tensors[o.name + ".bias"], np.float64)
        elif o.code == A.OP_CROSS_ATTENTION or o.code == A.OP_LAYER_NORM:
            raise NotImplementedError(f"{A.OP_NAMES[o.code]} has no int8 form (the PULSE teacher is not quantised)")
    return ops


# --------------------------------------------------------------------------------------------
# Shared geometry (float and int paths): activations are (B, C, L), (B, C, R, L) or (B, F)

def _windows(x: np.ndarray, l_out: int, k: int, stride: int, dil: int, pl: int, pr: int, fill) -> np.ndarray:
    """(N, C, L) -> (N, L_out, K, C): the input samples under each output position (padding = fill)."""
    n, c, _ = x.shape
    xp = np.concatenate([np.full((n, c, pl), fill, x.dtype), x, np.full((n, c, pr), fill, x.dtype)], axis=2)
    idx = np.arange(l_out)[:, None] * stride + dil * np.arange(k)[None, :]
    return xp[:, :, idx].transpose(0, 2, 3, 1)


def _dot_conv(xoff: np.ndarray, w: np.ndarray, l_out, k, stride, dil, pl, pr) -> np.ndarray:
    """(N, C, L) float64 (int values or floats), w (CO, K, C) -> (N, CO, L_out) float64."""
    cols = _windows(xoff, l_out, k, stride, dil, pl, pr, 0.0)
    n = cols.shape[0]
    y = cols.reshape(n * l_out, -1) @ w.reshape(w.shape[0], -1).T
    return y.reshape(n, l_out, -1).transpose(0, 2, 1)


def _conv_geom(code, rec):
    if code == A.OP_CONV1D:
        ci, co, l_in, l_out, k, s, d, pl, pr, g, act = rec
    else:
        _, ci, co, l_in, l_out, k, s, d, pl, pr, g, act = rec
    if g != 1:
        raise NotImplementedError("grouped convolutions")
    return ci, co, l_in, l_out, k, s, d, pl, pr, act


def _pool_windows(x, l_out, k, s):
    idx = np.arange(l_out)[:, None] * s + np.arange(k)[None, :]
    return x[..., idx]                           # (..., L_out, K)


def _window_norm(x: np.ndarray, rec) -> np.ndarray:
    rows, length, floor_ug = rec
    r = x.reshape(-1, rows, length).astype(np.float64)
    d = r - r.mean(axis=2, keepdims=True)
    v = (d ** 2).mean(axis=2)
    s_ppg = np.maximum(np.sqrt(v[:, 0]), A.PULSE_PPG_EPS)
    s_acc = np.maximum(np.sqrt(v[:, 1:].mean(axis=1)), floor_ug * 1e-6)
    out = np.concatenate([d[:, 0:1] / s_ppg[:, None, None], d[:, 1:] / s_acc[:, None, None]], axis=1)
    return out[:, None]                          # (B, 1, R, L)


def window_norm_f32(x: np.ndarray, rec) -> np.ndarray:
    """WINDOW_NORM as the C++ WindowNorm<float>::forward computes it (include/ppghr/layers/
    window_norm.hpp): float32 throughout, sums accumulated sequentially in sample order (np.add.
    accumulate is sequential), every product and quotient rounded to float32, no fused multiply-add.
    (N, rows, length) -> (N, rows, length) float32. The int8 path quantises this, so a C++ build
    without FP contraction (-ffp-contract=off) gets the same int8 input bit for bit."""
    rows, length, floor_ug = rec
    f = np.float32
    x = np.asarray(x, dtype=f).reshape(-1, rows, length)
    s = np.add.accumulate(x, axis=2, dtype=f)[..., -1]
    m = (s / f(length)).astype(f)
    d = (x - m[..., None]).astype(f)
    q = np.add.accumulate((d * d).astype(f), axis=2, dtype=f)[..., -1]
    var = (q / f(length)).astype(f)
    acc = np.add.accumulate(var[:, 1:], axis=1, dtype=f)[:, -1]
    s_ppg = np.maximum(np.sqrt(var[:, 0]).astype(f), f(A.PULSE_PPG_EPS))
    s_acc = np.maximum(np.sqrt((acc / f(rows - 1)).astype(f)).astype(f), f(float(floor_ug) * 1e-6))
    div = np.concatenate([s_ppg[:, None], np.repeat(s_acc[:, None], rows - 1, axis=1)], axis=1)
    return (d / div[..., None]).astype(f)


# --------------------------------------------------------------------------------------------
# Float forward (float64), with the calibration ranges

def _float_forward(ops: List[Op], arch: A.Arch, x, stats: Optional[dict] = None,
                   trace: Optional[dict] = None) -> np.ndarray:
    def note(key, y):
        if trace is not None:
            trace[key] = y
        if stats is not None:
            lo, hi = float(y.min()), float(y.max())
            old = stats.get(key)
            stats[key] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))

    cur = np.asarray(x, dtype=np.float64).reshape(-1, arch.in_channels, arch.in_length)
    saved = main = None
    input_seen = False
    for o in ops:
        c, r = o.code, o.rec
        if c == A.OP_NET:
            pass
        elif c == A.OP_INPUT_NORM:
            rows, length = r
            cur = ((cur - o.f["norm"][:, 0][None, :, None]) / o.f["norm"][:, 1][None, :, None])[:, None]
        elif c == A.OP_WINDOW_NORM:
            cur = _window_norm(cur, r)
        if not input_seen and c not in (A.OP_NET, A.OP_INPUT_NORM, A.OP_WINDOW_NORM):
            note("input", cur)
            input_seen = True
        if c in (A.OP_CONV1D, A.OP_ROW_CONV):
            ci, co, l_in, l_out, k, s, d, pl, pr, act = _conv_geom(c, r)
            if c == A.OP_CONV1D:
                y = _dot_conv(cur, o.f["weight"], l_out, k, s, d, pl, pr)
            else:
                b_, _, rows, _ = cur.shape
                y = _dot_conv(cur.transpose(0, 2, 1, 3).reshape(b_ * rows, ci, l_in), o.f["weight"], l_out, k, s, d, pl, pr)
                y = y.reshape(b_, rows, co, l_out).transpose(0, 2, 1, 3)
            y = y + o.f["bias"].reshape((1, co) + (1,) * (y.ndim - 2))
            cur = np.maximum(y, 0.0) if act else y
            note(o.name, cur)
        elif c == A.OP_AFFINE:
            ch, length, act = r
            y = cur * o.f["weight"][None, :, None] + o.f["bias"][None, :, None]
            cur = np.maximum(y, 0.0) if act else y
            note(o.name, cur)
        elif c == A.OP_LINEAR:
            fin, fout, act = r
            y = cur.reshape(cur.shape[0], fin) @ o.f["weight"].T + o.f["bias"][None, :]
            cur = np.maximum(y, 0.0) if act else y
            note(o.name, cur)
        elif c == A.OP_MODALITY_CONV:
            ci, co, rows, length, act = r
            y = np.einsum("ohc,bcht->bot", o.f["weight"], cur) + o.f["bias"][None, :, None]
            cur = np.maximum(y, 0.0) if act else y
            note(o.name, cur)
        elif c == A.OP_MAXPOOL1D:
            ch, l_in, l_out, k, s, pl, pr, pv = r
            fill = 0.0 if pv == 0 else -np.inf
            xp = np.concatenate([np.full(cur.shape[:2] + (pl,), fill), cur, np.full(cur.shape[:2] + (pr,), fill)], axis=2)
            cur = _pool_windows(xp, l_out, k, s).max(axis=-1)
        elif c == A.OP_AVGPOOL1D or c == A.OP_ROW_AVGPOOL:
            l_out, k, s = r[-3:]
            cur = _pool_windows(cur, l_out, k, s).mean(axis=-1)
        elif c == A.OP_GLOBAL_AVG_POOL:
            cur = cur.mean(axis=2)
        elif c == A.OP_CHANNEL_PAD:
            ci, co, before = r
            cur = np.concatenate([np.zeros((cur.shape[0], before, cur.shape[2])), cur,
                                  np.zeros((cur.shape[0], co - ci - before, cur.shape[2]))], axis=1)
        elif c == A.OP_RESIDUAL_BEGIN:
            saved = cur
        elif c == A.OP_SHORTCUT:
            main, cur = cur, saved
        elif c == A.OP_ADD:
            cur = main + cur
            main = saved = None
            note(o.name, cur)
    return cur.reshape(cur.shape[0], -1)


# --------------------------------------------------------------------------------------------
# Integer ops (exact). Activations are int64 arrays holding int8 values.

def _clamp_act(y, z_out, act):
    return np.clip(y, max(QMIN, z_out) if act else QMIN, QMAX)


def _requant_out(acc, mult, shift, z_out, act, ch_axis=1):
    if mult is None:
        return acc                       # the last op: its int32 accumulators are the output
    shape = [1] * acc.ndim
    shape[ch_axis] = -1
    y = requantize(acc, np.asarray(mult, np.int64).reshape(shape), np.asarray(shift, np.int64).reshape(shape)) + z_out
    return _clamp_act(y, z_out, act)


def conv1d_int(x, z_in, w, bias, mult, shift, z_out, act, l_out, stride=1, dil=1, pl=0, pr=0):
    """CONV1D int8: x (N, CI, L) int8 values, w (CO, K, CI) int8 ->(N, CO, L_out) int8 values.
    acc[o][t] = bias[o] + sum_{k, c} w[o][k][c] * (x[c][t*stride + dil*k - pl] - z_in) (padding
    contributes 0: it is the real value 0), then requantize per channel, + z_out, clamp
    ([z_out, 127] with ReLU, else [-128, 127])."""
    xoff = (np.asarray(x, np.int64) - z_in).astype(np.float64)
    w = np.asarray(w, np.int64)
    acc = np.rint(_dot_conv(xoff, w.astype(np.float64), l_out, w.shape[1], stride, dil, pl, pr)).astype(np.int64)
    acc = acc + np.asarray(bias, np.int64)[None, :, None]
    return _requant_out(acc, mult, shift, z_out, act)


def row_conv_int(x, z_in, w, bias, mult, shift, z_out, act, l_out, stride=1, dil=1, pl=0, pr=0):
    """ROW_CONV int8: x (N, CI, R, L) -> (N, CO, R, L_out); conv1d_int on every row."""
    n, ci, rows, length = x.shape
    y = conv1d_int(np.asarray(x).transpose(0, 2, 1, 3).reshape(n * rows, ci, length), z_in, w, bias, mult, shift,
                   z_out, act, l_out, stride, dil, pl, pr)
    return y.reshape(n, rows, -1, l_out).transpose(0, 2, 1, 3)


def linear_int(x, z_in, w, bias, mult, shift, z_out, act):
    """LINEAR int8: x (N, IN) (flattened in the float op's order), w (OUT, IN) -> (N, OUT)."""
    xoff = (np.asarray(x, np.int64).reshape(len(x), -1) - z_in).astype(np.float64)
    acc = np.rint(xoff @ np.asarray(w, np.float64).T).astype(np.int64) + np.asarray(bias, np.int64)[None, :]
    return _requant_out(acc, mult, shift, z_out, act)


def modality_conv_int(x, z_in, w, bias, mult, shift, z_out, act):
    """MODALITY_CONV int8: x (N, CI, R, L), w (CO, R, CI) -> (N, CO, L);
    acc[o][t] = bias[o] + sum_{h, c} w[o][h][c] * (x[c][h][t] - z_in)."""
    xoff = (np.asarray(x, np.int64) - z_in).astype(np.float64)
    n, ci, rows, length = xoff.shape
    cols = xoff.transpose(0, 3, 2, 1).reshape(n * length, rows * ci)          # (N*L, R*CI), h-major
    acc = np.rint(cols @ np.asarray(w, np.float64).reshape(w.shape[0], -1).T).astype(np.int64)
    acc = acc.reshape(n, length, -1).transpose(0, 2, 1) + np.asarray(bias, np.int64)[None, :, None]
    return _requant_out(acc, mult, shift, z_out, act)


def affine_int(x, z_in, w, bias, mult, shift, z_out, act):
    """AFFINE int8 (a depthwise 1x1 conv): x (N, C, L), w (C,) -> acc = bias[c] + w[c] (x - z_in)."""
    acc = (np.asarray(x, np.int64) - z_in) * np.asarray(w, np.int64)[None, :, None] + np.asarray(bias, np.int64)[None, :, None]
    return _requant_out(acc, mult, shift, z_out, act)


def add_params(s1: float, s2: float, s_out: float):
    """TFLite int8 ADD's prepare step, double arithmetic from the float32 scales:
    twice_max = 2 max(s1, s2); multipliers of s1 / twice_max, s2 / twice_max and
    twice_max / (2^20 s_out). Returns (multiplier [3], shift [3]) int32, order input1 (main path),
    input2 (shortcut), output."""
    s1, s2, so = float(np.float32(s1)), float(np.float32(s2)), float(np.float32(s_out))
    tm = 2.0 * max(s1, s2)
    ms = [quantize_multiplier(s1 / tm), quantize_multiplier(s2 / tm),
          quantize_multiplier(tm / (float(1 << ADD_LEFT_SHIFT) * so))]
    return np.array([m for m, _ in ms], np.int32), np.array([s for _, s in ms], np.int32)


def add_int(x1, z1, x2, z2, mult, shift, z_out, act=0):
    """ADD int8 (TFLite reference_integer_ops::AddFunc): v_i = requantize((x_i - z_i) * 2^20, m_i, sh_i),
    out = clamp(requantize(v_1 + v_2, m_o, sh_o) + z_out). With shift <= 0 (always, for the inputs:
    their multipliers are <= 1/2) requantize is TFLite's MultiplyByQuantizedMultiplierSmallerThanOneExp."""
    v1 = requantize((np.asarray(x1, np.int64) - z1) << ADD_LEFT_SHIFT, int(mult[0]), int(shift[0]))
    v2 = requantize((np.asarray(x2, np.int64) - z2) << ADD_LEFT_SHIFT, int(mult[1]), int(shift[1]))
    y = requantize(v1 + v2, int(mult[2]), int(shift[2])) + z_out
    return _clamp_act(y, z_out, act)


def maxpool_int(x, z, l_out, k, stride, pl=0, pr=0, pad_value=0):
    """MAXPOOL1D on int8 (output qparams = input's): padding is z (the real 0) for pad_value 0,
    -128 (never wins against a real sample) for -inf."""
    fill = z if pad_value == 0 else QMIN
    x = np.asarray(x, np.int64)
    xp = np.concatenate([np.full(x.shape[:2] + (pl,), fill, np.int64), x, np.full(x.shape[:2] + (pr,), fill, np.int64)], axis=2)
    return _pool_windows(xp, l_out, k, stride).max(axis=-1)


def div_round_away(acc, n: int):
    """TFLite's average-pool division: (acc + n/2) / n for acc > 0, (acc - n/2) / n otherwise,
    C integer division (truncation), n/2 truncated."""
    acc = np.asarray(acc, np.int64)
    h = n // 2
    num = np.where(acc > 0, acc + h, acc - h)
    return np.where(num >= 0, num // n, -((-num) // n))


def avgpool_int(x, l_out, k, stride):
    """AVGPOOL1D / ROW_AVGPOOL on int8 (output qparams = input's): integer sum of the raw int8 values
    of each window (no offset), div_round_away by k, clamp to [-128, 127] (a no-op)."""
    s = _pool_windows(np.asarray(x, np.int64), l_out, k, stride).sum(axis=-1)
    return np.clip(div_round_away(s, k), QMIN, QMAX)


def global_avgpool_int(x):
    """GLOBAL_AVG_POOL: (N, C, L) -> (N, C), as avgpool_int over the whole length."""
    x = np.asarray(x, np.int64)
    return np.clip(div_round_away(x.sum(axis=2), x.shape[2]), QMIN, QMAX)


def channel_pad_int(x, z, c_out, before):
    x = np.asarray(x, np.int64)
    n, ci, length = x.shape
    return np.concatenate([np.full((n, before, length), z, np.int64), x,
                           np.full((n, c_out - ci - before, length), z, np.int64)], axis=1)


# --------------------------------------------------------------------------------------------
# The int8 tensors (blob table, dtype 2)

def _weight_shape(code, rec) -> Tuple[int, ...]:
    if code in (A.OP_CONV1D, A.OP_ROW_CONV):
        ci, co, _, _, k, *_ = _conv_geom(code, rec)
        return (co, k, ci)
    if code == A.OP_LINEAR:
        return (rec[1], rec[0])
    if code == A.OP_MODALITY_CONV:
        ci, co, rows, _, _ = rec
        return (co, rows, ci)
    return (rec[0],)                               # AFFINE


def _out_channels(code, rec) -> int:
    return _weight_shape(code, rec)[0]


def _last_op(ops: List[Op]) -> Op:
    if ops[-1].code not in _WEIGHTED:
        raise NotImplementedError(f"the network must end in a weighted op, not {A.OP_NAMES[ops[-1].code]}")
    return ops[-1]


def int8_tensor_spec(arch: Union[str, A.Arch], int8_logits: bool = False) -> List[Tuple[str, Tuple[int, ...], int]]:
    """The int8 blob's tensor table: (name, dims, element type), in order (docs/int8.md).
    int8_logits: the comparison variant whose last op requantises to int8 like the others (not a
    blob format: the blob always holds the int32-output form)."""
    arch = A.get_arch(arch) if isinstance(arch, str) else arch
    out = [("input.offset", (arch.in_channels,), ETYPE_F32), ("input.scale", (arch.in_channels,), ETYPE_F32),
           ("input.zero_point", (1,), ETYPE_I32)]
    ops = _leaves(arch)
    for o in ops:
        if o.code in (A.OP_CROSS_ATTENTION, A.OP_LAYER_NORM):
            raise NotImplementedError(f"{A.OP_NAMES[o.code]} has no int8 form")
    last = _last_op(ops)
    for o in ops:
        if o.code in _WEIGHTED:
            co = _out_channels(o.code, o.rec)
            out += [(f"{o.name}.weight", _weight_shape(o.code, o.rec), ETYPE_I8), (f"{o.name}.bias", (co,), ETYPE_I32),
                    (f"{o.name}.weight_scale", (co,), ETYPE_F32)]
            if o is last and not int8_logits:
                out.append((f"{o.name}.acc_scale", (co,), ETYPE_F32))
                continue
            out += [(f"{o.name}.multiplier", (co,), ETYPE_I32),
                    (f"{o.name}.shift", (co,), ETYPE_I32), (f"{o.name}.out_scale", (1,), ETYPE_F32),
                    (f"{o.name}.out_zero_point", (1,), ETYPE_I32)]
        elif o.code == A.OP_ADD:
            out += [(f"{o.name}.multiplier", (3,), ETYPE_I32), (f"{o.name}.shift", (3,), ETYPE_I32),
                    (f"{o.name}.out_scale", (1,), ETYPE_F32), (f"{o.name}.out_zero_point", (1,), ETYPE_I32)]
    return out


# The tensors the integer kernels never read: per-channel weight scales and activation scales
# (documentation / dequantisation). A compact blob (dtype 4) leaves them out; the last op's
# acc_scale and input.offset / input.scale stay (the kernels read them).
DOCUMENTATION_ONLY_SUFFIXES = (".weight_scale", ".out_scale")


def is_documentation_only(name: str) -> bool:
    return name.endswith(DOCUMENTATION_ONLY_SUFFIXES)


def compact_tensor_spec(arch: Union[str, A.Arch]) -> List[Tuple[str, Tuple[int, ...], int]]:
    """The tensors of a compact int8 blob (dtype 4), in order: int8_tensor_spec(arch) without the
    documentation-only ones."""
    return [t for t in int8_tensor_spec(arch) if not is_documentation_only(t[0])]


def to_compact(src) -> bytes:
    """A dtype-2 int8 blob (bytes or a path) -> the dtype-4 blob of the same network, byte for byte
    what QNet.to_compact_blob() writes. Needs no model: the dtype-2 table's tensors (checked
    against the architecture of the blob's fingerprint) minus the documentation-only ones."""
    from . import blob as B
    b = B.read_blob(src)
    if b.dtype != B.DTYPE_INT8:
        raise B.BlobError("wrong_dtype", "to_compact converts an int8 blob (dtype 2)", expected=B.DTYPE_INT8,
                          found=b.dtype)
    b = B.read_blob(src, arch=arch_of_fingerprint(b.fingerprint))
    return B.write_compact_blob([(n, a) for n, a in b.tensors.items() if not is_documentation_only(n)],
                                b.fingerprint)


# --------------------------------------------------------------------------------------------
# QNet

class QNet:
    """An int8 network: the arch, its ops and the int8 blob's tensors (name -> typed array)."""

    def __init__(self, arch: A.Arch, tensors: "OrderedDict[str, np.ndarray]", fops: Optional[List[Op]] = None,
                 int8_logits: bool = False):
        self.arch = arch
        self.t = tensors
        self.ops = _leaves(arch)
        self.fops = fops
        self.int8_logits = int8_logits
        spec = int8_tensor_spec(arch, int8_logits)
        # compact: read from a dtype-4 blob, without the documentation-only scales
        self.compact = not any(is_documentation_only(n) and n in tensors for n, _, _ in spec)
        for name, dims, et in spec:
            if self.compact and is_documentation_only(name):
                continue
            if name not in tensors:
                raise ValueError(f"missing int8 tensor {name}")
            a = tensors[name]
            if tuple(a.shape) != tuple(dims) or a.dtype != _NP[et]:
                raise ValueError(f"int8 tensor {name}: expected {dims} {np.dtype(_NP[et])}, got {a.shape} {a.dtype}")

    # -- blob
    def tensors(self) -> List[Tuple[str, np.ndarray]]:
        return [(n, self.t[n]) for n, _, _ in int8_tensor_spec(self.arch, self.int8_logits)
                if not (self.compact and is_documentation_only(n))]

    def to_blob(self) -> bytes:
        from . import blob as B
        if self.int8_logits:
            raise ValueError("the int8-logit variant is for comparison only: the blob holds the int32-output form")
        if self.compact:
            raise ValueError("this QNet was read from a compact blob: it has no documentation-only scales for a "
                             "dtype-2 blob (write to_compact_blob())")
        return B.write_blob(self.tensors(), A.fingerprint(self.arch), dtype=B.DTYPE_INT8)

    def to_compact_blob(self) -> bytes:
        """The compact int8 blob (dtype 4, docs/blob-format.md): compact_tensor_spec's tensors."""
        from . import blob as B
        if self.int8_logits:
            raise ValueError("the int8-logit variant is for comparison only: the blob holds the int32-output form")
        return B.write_compact_blob([(n, self.t[n]) for n, _, _ in compact_tensor_spec(self.arch)],
                                    A.fingerprint(self.arch))

    @classmethod
    def from_blob(cls, src, arch: Optional[Union[str, A.Arch]] = None) -> "QNet":
        """An int8 blob, dtype 2 or dtype 4 (compact: the QNet then has no documentation-only scales)."""
        from . import blob as B
        b = B.read_blob(src, arch=arch)
        if b.dtype not in (B.DTYPE_INT8, B.DTYPE_INT8_COMPACT):
            raise B.BlobError("wrong_dtype", "not an int8 blob", expected=B.DTYPE_INT8, found=b.dtype)
        if arch is None:
            arch = arch_of_fingerprint(b.fingerprint)
        arch = A.get_arch(arch) if isinstance(arch, str) else arch
        return cls(arch, OrderedDict(b.tensors))

    # -- inference
    def quantize_input(self, x) -> np.ndarray:
        """Raw window(s) -> int8 input (N, ...) (after the float WINDOW_NORM where the network has one)."""
        a = self.arch
        x = np.asarray(x, dtype=np.float64).reshape(-1, a.in_channels, a.in_length)
        if self.ops[1].code == A.OP_WINDOW_NORM:
            x = window_norm_f32(x, self.ops[1].rec)
        off = self.t["input.offset"].reshape(1, -1, 1)
        sc = self.t["input.scale"].reshape(1, -1, 1)
        q = quantize(x, sc, int(self.t["input.zero_point"][0]), off)
        if self.ops[1].code in (A.OP_WINDOW_NORM, A.OP_INPUT_NORM):
            q = q[:, None]                                   # (N, 1, R, L)
        return q

    def forward_int(self, x, batch: int = 256) -> Tuple[np.ndarray, np.ndarray]:
        """Raw window(s) (N, in_channels, in_length) -> (the last op's integer outputs (N, n_out):
        int32 accumulators, or int8 in the int8_logits variant; the float32 logits made from them)."""
        a = self.arch
        x = np.asarray(x, dtype=np.float64).reshape(-1, a.in_channels, a.in_length)
        it = np.int8 if self.int8_logits else np.int32
        qs, fs = [], []
        for i in range(0, len(x), batch):
            q, f = self._forward_q(x[i:i + batch])
            qs.append(q.astype(it))
            fs.append(f)
        if not qs:
            return np.zeros((0, a.n_outputs), it), np.zeros((0, a.n_outputs), np.float32)
        return np.concatenate(qs), np.concatenate(fs)

    def forward_float(self, x, batch: int = 256) -> np.ndarray:
        if self.fops is None:
            raise ValueError("this QNet was read from a blob: it has no float network")
        x = np.asarray(x, dtype=np.float64).reshape(-1, self.arch.in_channels, self.arch.in_length)
        return np.concatenate([_float_forward(self.fops, self.arch, x[i:i + batch]) for i in range(0, len(x), batch)]) \
            if len(x) else np.zeros((0, self.arch.n_outputs))

    def forward_trace(self, x) -> "OrderedDict[str, Tuple[np.ndarray, float, int]]":
        """Every quantised activation of the int8 forward: name ('input', op names, 'R.add') ->
        (int8 values, scale, zero point); the last op's entry is (int32 accumulators, acc_scale [c_out],
        0). For per-layer checks of the C++ kernels and diagnostics."""
        trace: "OrderedDict[str, Tuple[np.ndarray, float, int]]" = OrderedDict()
        self._forward_q(np.asarray(x, dtype=np.float64).reshape(-1, self.arch.in_channels, self.arch.in_length), trace)
        return trace

    def forward_float_trace(self, x) -> "OrderedDict[str, np.ndarray]":
        """The float network's activations at the same points as forward_trace (float64)."""
        if self.fops is None:
            raise ValueError("this QNet was read from a blob: it has no float network")
        trace: "OrderedDict[str, np.ndarray]" = OrderedDict()
        _float_forward(self.fops, self.arch, x, trace=trace)
        return trace

    def _out_scale(self, p: str):
        """Op p's output scale (documentation: the integer arithmetic does not use it); None in a
        QNet read from a compact blob."""
        a = self.t.get(p + ".out_scale")
        return None if a is None else a[0]

    def _forward_q(self, x, trace=None):
        t = self.t
        cur = self.quantize_input(x)
        if trace is not None:
            trace["input"] = (cur.astype(np.int8), self.t["input.scale"], int(t["input.zero_point"][0]))
        z, s = int(t["input.zero_point"][0]), None     # s: only the last op's (dequantisation) is used
        saved = main = None
        last = self.ops[-1]
        for o in self.ops:
            c, r, p = o.code, o.rec, o.name
            if c in _WEIGHTED:
                out_acc = o is last and not self.int8_logits
                if out_acc:
                    args = (z, t[p + ".weight"], t[p + ".bias"], None, None)
                    zo = 0
                else:
                    args = (z, t[p + ".weight"], t[p + ".bias"], t[p + ".multiplier"], t[p + ".shift"])
                    zo = int(t[p + ".out_zero_point"][0])
                if c == A.OP_CONV1D:
                    ci, co, l_in, l_out, k, st, d, pl, pr, act = _conv_geom(c, r)
                    cur = conv1d_int(cur, *args, zo, act, l_out, st, d, pl, pr)
                elif c == A.OP_ROW_CONV:
                    ci, co, l_in, l_out, k, st, d, pl, pr, act = _conv_geom(c, r)
                    cur = row_conv_int(cur, *args, zo, act, l_out, st, d, pl, pr)
                elif c == A.OP_LINEAR:
                    cur = linear_int(cur, *args, zo, r[2])
                elif c == A.OP_MODALITY_CONV:
                    cur = modality_conv_int(cur, *args, zo, r[4])
                else:
                    cur = affine_int(cur, *args, zo, r[2])
                if out_acc:
                    # logits = acc_scale[c] * (float) acc: one float32 multiplication per output
                    sc = t[p + ".acc_scale"].reshape((1, -1) + (1,) * (cur.ndim - 2))
                    f = (sc * cur.astype(np.float32)).astype(np.float32)
                    if trace is not None:
                        trace[p] = (cur.astype(np.int32), t[p + ".acc_scale"], 0)
                    return cur.reshape(cur.shape[0], -1), f.reshape(f.shape[0], -1)
                z, s = zo, self._out_scale(p)
                if trace is not None:
                    trace[p] = (cur.astype(np.int8), s, z)
            elif c == A.OP_MAXPOOL1D:
                ch, l_in, l_out, k, st, pl, pr, pv = r
                cur = maxpool_int(cur, z, l_out, k, st, pl, pr, pv)
            elif c in (A.OP_AVGPOOL1D, A.OP_ROW_AVGPOOL):
                l_out, k, st = r[-3:]
                cur = avgpool_int(cur, l_out, k, st)
            elif c == A.OP_GLOBAL_AVG_POOL:
                cur = global_avgpool_int(cur)
            elif c == A.OP_CHANNEL_PAD:
                cur = channel_pad_int(cur, z, r[1], r[2])
            elif c == A.OP_RESIDUAL_BEGIN:
                saved = (cur, z, s)
            elif c == A.OP_SHORTCUT:
                main = (cur, z, s)
                cur, z, s = saved
            elif c == A.OP_ADD:
                zo = int(t[p + ".out_zero_point"][0])
                cur = add_int(main[0], main[1], cur, z, t[p + ".multiplier"], t[p + ".shift"], zo)
                z, s = zo, self._out_scale(p)
                main = saved = None
                if trace is not None:
                    trace[p] = (cur.astype(np.int8), s, z)
        q = cur.reshape(cur.shape[0], -1)
        return q, dequantize(q, s, z)


arch_of_fingerprint = A.arch_of_fingerprint  # the architecture of a blob's fingerprint


# --------------------------------------------------------------------------------------------
# Post-training quantisation

def calibrate(ops: List[Op], arch: A.Arch, windows, batch: int = 256) -> Dict[str, Tuple[float, float]]:
    """(min, max) of every quantised activation over the calibration windows (float64 forward)."""
    stats: Dict[str, Tuple[float, float]] = {}
    x = np.asarray(windows, dtype=np.float64).reshape(-1, arch.in_channels, arch.in_length)
    if not len(x):
        raise ValueError("no calibration windows")
    for i in range(0, len(x), batch):
        _float_forward(ops, arch, x[i:i + batch], stats)
    return stats


def _acc_bound(wq: np.ndarray, bias: np.ndarray) -> int:
    """Largest |accumulator| possible: |bias| + 255 * sum |w| per output channel."""
    w = np.abs(wq.astype(np.int64)).reshape(wq.shape[0], -1).sum(axis=1) if wq.ndim > 1 else np.abs(wq.astype(np.int64))
    return int((np.abs(bias.astype(np.int64)) + 255 * w).max())


def quantize_network(arch: Union[str, A.Arch], state_dict, calib_windows,
                     stats: Optional[Dict[str, Tuple[float, float]]] = None, int8_logits: bool = False) -> QNet:
    """PTQ: float weights (blob tensors or a training state_dict) + raw calibration windows
    (N, in_channels, in_length) -> QNet. See docs/int8.md for every formula. ``stats``: the
    calibration ranges (calibrate()) instead of the windows; ``int8_logits``: the comparison variant
    whose last op also requantises to int8 (no blob)."""
    arch = A.get_arch(arch) if isinstance(arch, str) else arch
    fops = float_ops(arch, state_dict)
    if stats is None:
        stats = calibrate(fops, arch, calib_windows)
    t: "OrderedDict[str, np.ndarray]" = OrderedDict()
    s_in, z_in = choose_qparams(*stats["input"])
    rows = arch.in_channels
    norm = next((o.f["norm"] for o in fops if o.code == A.OP_INPUT_NORM), None)
    if norm is not None:   # INPUT_NORM folded: q = round((x - mean) / (std * s)) + z
        t["input.offset"] = norm[:, 0].astype(np.float32)
        t["input.scale"] = (norm[:, 1] * float(s_in)).astype(np.float32)
    else:
        t["input.offset"] = np.zeros(rows, np.float32)
        t["input.scale"] = np.full(rows, s_in, np.float32)
    t["input.zero_point"] = np.array([z_in], np.int32)
    s, z = s_in, z_in
    saved = main = None
    last = _last_op(fops)
    for o in fops:
        c = o.code
        if c in _WEIGHTED:
            wq, sw = quantize_weights(o.f["weight"])
            denom = float(s) * sw.astype(np.float64)
            bq = round_half_away(o.f["bias"] / denom)
            if np.abs(bq).max() > INT32_MAX:
                raise ValueError(f"{o.name}: bias does not fit int32")
            bq = bq.astype(np.int32)
            if _acc_bound(wq, bq) > INT32_MAX:
                raise ValueError(f"{o.name}: the int32 accumulator could overflow")
            if o is last and not int8_logits:
                t[o.name + ".weight"] = wq
                t[o.name + ".bias"] = bq
                t[o.name + ".weight_scale"] = sw
                t[o.name + ".acc_scale"] = (float(s) * sw.astype(np.float64)).astype(np.float32)
                continue
            so, zo = choose_qparams(*stats[o.name])
            ms = [quantize_multiplier(float(s) * float(w_) / float(so)) for w_ in sw]
            t[o.name + ".weight"] = wq
            t[o.name + ".bias"] = bq
            t[o.name + ".weight_scale"] = sw
            t[o.name + ".multiplier"] = np.array([m for m, _ in ms], np.int32)
            t[o.name + ".shift"] = np.array([sh for _, sh in ms], np.int32)
            t[o.name + ".out_scale"] = np.array([so], np.float32)
            t[o.name + ".out_zero_point"] = np.array([zo], np.int32)
            s, z = so, zo
        elif c == A.OP_RESIDUAL_BEGIN:
            saved = (s, z)
        elif c == A.OP_SHORTCUT:
            main = (s, z)
            s, z = saved
        elif c == A.OP_ADD:
            so, zo = choose_qparams(*stats[o.name])
            m, sh = add_params(main[0], s, so)
            t[o.name + ".multiplier"] = m
            t[o.name + ".shift"] = sh
            t[o.name + ".out_scale"] = np.array([so], np.float32)
            t[o.name + ".out_zero_point"] = np.array([zo], np.int32)
            s, z = so, zo
    return QNet(arch, t, fops, int8_logits)


# --------------------------------------------------------------------------------------------
# Accuracy on the data sets (CLI)

def _softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def specnet_data(calib: str):
    """(calibration windows, {data set: recordings}, validation ids) for the spectral networks:
    features of spectral.features() (spectrain.recording_features), calibration on the training
    recordings of `calib` (its validation recordings left out, spectrain's split)."""
    from . import spectrain as ST
    tr, val = ST.training_data(ST.RunSpec(train=calib), False)
    calib_x = np.concatenate([ST.recording_features(r)[r["ok"]] for _, r in sorted(tr.items())])
    sets = {k: ST.select(k, False) for k in ("bami1", "bami2", "wrist")}
    feats = {k: {rid: ST.recording_features(r) for rid, r in recs.items()} for k, recs in sets.items()}
    return calib_x, sets, feats, sorted(val)


def window_data(calib: str, val_ids: Sequence[str], net: str = "pulse"):
    """The same for the time-domain networks, windows as their training made them (distill.py):
    net 'pulse': the 4 x 256 raw windows of distill.pulse_windows_of (PPG channel 0 + accelerometer,
    32 Hz, no band-pass; only windows whose every row is ok); net 'resnet' (ResNet, MLP): the 200-sample
    band-passed, z-scored PPG channel-0 windows of data.load_windows / distill.resnet_windows_of.
    Calibration on the `calib` recordings that are not in val_ids (the model card's)."""
    from . import data as D
    from . import datasets as DS
    from . import distill as DI
    sets, feats = {}, {}
    for key in ("bami1", "bami2", "wrist"):
        if key == "wrist":
            ds = DS.dataset("wrist")
            recs = []
            for rid in ds.ids():
                r = DS.load_recording(rid, ds)
                if len(r.acc) or net != "pulse":
                    recs.append((rid, r.ppg[:, 0], r.acc, r.hr, r.fs))
            w = DI.pulse_windows_of(recs) if net == "pulse" else DI.resnet_windows_of(recs)
        else:
            w = DI.load_pulse_windows(key, verbose=False) if net == "pulse" else D.load_windows(key, "resnet", verbose=False)
        sets[key], feats[key] = {}, {}
        for i, rid in enumerate(w.ids):
            m = w.rec == i
            if m.any():
                sets[key][rid] = {"hr": w.bpm[m]}
                feats[key][rid] = w.x[m]
    calib_x = np.concatenate([x for rid, x in sorted(feats[calib].items()) if rid not in set(val_ids)])
    return calib_x, sets, feats, sorted(val_ids)


def accuracy_table(net: QNet, sets, feats, variant: Optional[QNet] = None) -> List[dict]:
    """Per data set: decode_metrics of the float network, of the int8 one and (variant) of the
    int8-logit comparison variant, and the share of windows whose int8 argmax is the float one."""
    from . import spectrain as ST
    A_ = ST._prior_matrix()
    rows = []
    for key in sets:
        pf, pq, pv, agree, n = {}, {}, {}, 0, 0
        for rid, x in feats[key].items():
            zf = net.forward_float(x)
            _, zq = net.forward_int(x)
            pf[rid], pq[rid] = _softmax(zf), _softmax(zq)
            if variant is not None:
                pv[rid] = _softmax(variant.forward_int(x)[1])
            agree += int((zf.argmax(1) == zq.argmax(1)).sum())
            n += len(x)
        row = dict(set=key, windows=0, float=ST.decode_metrics(pf, sets[key], A_),
                   int8=ST.decode_metrics(pq, sets[key], A_), argmax_agree=agree / max(1, n))
        row["windows"] = row["float"]["windows"]
        if variant is not None:
            row["int8_logits"] = ST.decode_metrics(pv, sets[key], A_)
        rows.append(row)
    return rows


def table_markdown(rows: List[dict]) -> List[str]:
    var = all("int8_logits" in r for r in rows) and rows
    out = ["| data set | windows | float raw | int8 raw | delta raw | float online | int8 online | delta online | "
           "float offline | int8 offline | argmax equal |" + (" int8-logit variant: raw (delta) | online (delta) |" if var else ""),
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if var else "")]
    for r in rows:
        f, q = r["float"], r["int8"]
        line = (f"| {r['set']} | {r['windows']} | {f['raw']:.3f} | {q['raw']:.3f} | {q['raw'] - f['raw']:+.3f} | "
                f"{f['online']:.3f} | {q['online']:.3f} | {q['online'] - f['online']:+.3f} | "
                f"{f['offline']:.3f} | {q['offline']:.3f} | {100 * r['argmax_agree']:.1f}% |")
        if var:
            v = r["int8_logits"]
            line += (f" {v['raw']:.3f} ({v['raw'] - f['raw']:+.3f}) | {v['online']:.3f} ({v['online'] - f['online']:+.3f}) |")
        out.append(line)
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    from . import blob as B
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="a float32 blob (dtype 1)")
    ap.add_argument("--out", required=True, help="the int8 blob to write (dtype 2; dtype 4 with --compact)")
    ap.add_argument("--compact", action="store_true",
                    help="write the compact int8 blob (dtype 4: no table, no documentation-only scales)")
    ap.add_argument("--to-compact", metavar="INT8_BLOB",
                    help="only convert this int8 blob (dtype 2) to a compact one (dtype 4) at --out; no model, "
                         "no data")
    ap.add_argument("--calib", default="bami1", help="training data of the model (its validation recordings are left out)")
    ap.add_argument("--doc", default=None, help="write the accuracy table into this markdown file (docs/int8.md)")
    ap.add_argument("--compare-int8-logits", action="store_true",
                    help="also measure the variant whose last op requantises to int8 (no blob; why the blob does not)")
    a = ap.parse_args(argv)
    if a.to_compact:
        if a.model or a.compact or a.doc or a.compare_int8_logits:
            ap.error("--to-compact takes only --out")
        src = Path(a.to_compact).read_bytes()
        data = to_compact(src)
        Path(a.out).write_bytes(data)
        print(f"{arch_of_fingerprint(B.read_blob(data).fingerprint).name}: int8 blob {len(src):,} bytes (dtype 2) -> "
              f"compact {len(data):,} bytes (dtype 4) -> {a.out}")
        return 0
    if not a.model:
        ap.error("--model is required (or --to-compact)")
    fb = B.read_blob(a.model)
    arch = arch_of_fingerprint(fb.fingerprint)
    card = Path(a.model).with_suffix(".json")
    cv = []
    if card.is_file():
        import json
        cv = sorted(json.loads(card.read_text()).get("validation_recordings", []))
    if arch.is_specnet:
        calib_x, sets, feats, val = specnet_data(a.calib)
        if cv and cv != val:
            print(f"quant: warning: validation recordings {val} differ from the card's {cv}", file=sys.stderr)
    elif arch.has_classes and arch.family in (A.FAMILY_PULSE_STUDENT, A.FAMILY_RESNET, A.FAMILY_MLP):
        if not cv:
            raise SystemExit(f"quant: {card} (the model card) must list the validation recordings")
        calib_x, sets, feats, val = window_data(a.calib, cv, "pulse" if arch.is_pulse else "resnet")
    else:
        raise SystemExit(f"quant: the accuracy run supports the spectral networks, the 180-class PULSE student, "
                         f"the ResNets and the MLPs; not {arch.name} (quantize_network itself takes any but the teacher)")
    stats = calibrate(float_ops(arch, fb.tensors), arch, calib_x)
    net = quantize_network(arch, fb.tensors, None, stats=stats)
    variant = quantize_network(arch, fb.tensors, None, stats=stats, int8_logits=True) if a.compare_int8_logits else None
    data = net.to_compact_blob() if a.compact else net.to_blob()
    Path(a.out).write_bytes(data)
    back = QNet.from_blob(data, arch)
    assert all(np.array_equal(back.t[n], net.t[n]) for n in back.t)
    print(f"{arch.name}: {len(calib_x)} calibration windows ({a.calib} minus {', '.join(val)}); "
          f"int8 blob {len(data)} bytes{' (compact, dtype 4)' if a.compact else ''} "
          f"(float {len(Path(a.model).read_bytes())}) -> {a.out}")
    rows = accuracy_table(net, sets, feats, variant)
    bound = max(_acc_bound(net.t[o.name + ".weight"], net.t[o.name + ".bias"]) for o in net.ops if o.code in _WEIGHTED)
    if arch.is_specnet:
        notes = ("Windows: every labelled window of every recording, features spectrain.recording_features (as the "
                 "models' own evaluation).")
    elif arch.is_pulse:
        notes = ("Windows: distill.pulse_windows_of (PPG channel 0 + accelerometer, 32 Hz, raw units), only the labelled "
                 "windows whose 4 rows are all ok (as in training and the model card); the decoders run over each "
                 "recording's kept windows in order (a dropped window is skipped, not filled); wrist: its recordings "
                 "that have an accelerometer.")
    else:
        notes = ("Windows: data.load_windows / distill.resnet_windows_of (PPG channel 0, 25 Hz, band-pass, per-window "
                 "z-score), only the labelled windows the front end accepts (as in training and the model card); the "
                 "decoders run over each recording's kept windows in order (a dropped window is skipped, not filled).")
    notes += f" Largest possible |accumulator| of any op: {bound:,} (< 2^31)."
    lines = table_markdown(rows)
    print("\n".join(lines))
    if a.doc:
        write_doc_table(Path(a.doc), Path(a.model).name, arch.name, a.calib, val, len(calib_x), len(data),
                        len(Path(a.model).read_bytes()), lines, notes=notes, argv_text=" ".join(
                            ["--model", a.model, "--out", a.out, "--calib", a.calib, "--doc", a.doc]
                            + (["--compare-int8-logits"] if a.compare_int8_logits else [])))
    return 0


TABLE_BEGIN = "<!-- accuracy table: generated by ppghr_tools.quant, do not edit -->"
TABLE_END = "<!-- end of accuracy table -->"


def write_doc_table(doc: Path, model: str, arch: str, calib: str, val, n_calib: int, n_int8: int, n_float: int,
                    lines: List[str], argv_text: str, notes: str = "") -> None:
    import numpy
    block = [TABLE_BEGIN, "", f"`{model}` (`{arch}`), calibrated on {n_calib} windows of `{calib}` "
             f"(its training recordings; validation recordings {', '.join(val)} left out). int8 blob {n_int8:,} bytes, "
             f"float32 blob {n_float:,} bytes. MAE in BPM; raw = argmax of the network's "
             "output, online = the learnt-prior forward filter, offline = forward-backward (spectrain.decode_metrics, the "
             "twins of post/decode.hpp); float = the float32 blob's weights run in float64; int8 = quant.QNet.forward_int "
             "(integer network, the last op's int32 accumulators times acc_scale); argmax equal = windows whose "
             "int8 argmax equals the float argmax; int8-logit variant (where shown) = the same network with its last op "
             "requantised to int8 too, as TFLite would, then dequantised. `bami1` is the training data (in-sample). "
             f"{notes} numpy {numpy.__version__}.", "",
             f"    PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.quant {argv_text}", ""] + lines + ["", TABLE_END]
    text = doc.read_text() if doc.is_file() else ""
    key = f"<!-- model {model} -->"
    if key in text:
        head, rest = text.split(key, 1)
        tail = rest.split(TABLE_END, 1)[1] if TABLE_END in rest else ""
        text = head + key + "\n" + "\n".join(block) + tail
    else:
        text = text.rstrip("\n") + "\n\n" + key + "\n" + "\n".join(block) + "\n"
    doc.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
