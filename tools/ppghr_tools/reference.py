"""A plain numpy float64 interpreter of a blob: its descriptor ops + its tensors, nothing else.

This is a test oracle for docs/blob-format.md: it knows only the op semantics written there and
consumes the blob's tensors in table order (each op takes the tensors the doc lists for it). If it
matches the PyTorch modules, the descriptor and tensor list fully define the network, which is
what the C++ reader relies on.

    run(words, tensors, x) -> outputs (float64)

``words``: the descriptor (archs.descriptor); ``tensors``: [(name, array)] in table order;
``x``: one window, shape (in_channels * in_length,) or (in_channels, in_length), raw input.
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from . import archs as A


def _act(y: np.ndarray, act: int) -> np.ndarray:
    if act == A.ACT_RELU:
        return np.maximum(y, 0.0)
    if act != A.ACT_NONE:
        raise ValueError(f"unknown act {act}")
    return y


def _conv1d(x, w, b, l_out, stride, dilation, pl, pr, groups):
    # x [ci][L], w [co][ci/groups][k]
    assert groups == 1
    ci, length = x.shape
    co, _, k = w.shape
    xp = np.concatenate([np.zeros((ci, pl)), x, np.zeros((ci, pr))], axis=1)
    y = np.empty((co, l_out))
    for t in range(l_out):
        idx = t * stride + dilation * np.arange(k)
        y[:, t] = np.einsum("oik,ik->o", w, xp[:, idx])
    return y + b[:, None]


def run(words: Sequence[int], tensors: Sequence[Tuple[str, np.ndarray]], x) -> np.ndarray:
    tens = [np.asarray(a, dtype=np.float64) for _, a in tensors]
    pos = 0

    def take(n: int) -> List[np.ndarray]:
        nonlocal pos
        out = tens[pos:pos + n]
        if len(out) != n:
            raise ValueError("descriptor consumes more tensors than the blob holds")
        pos += n
        return out

    i = 0
    cur = None
    saved = None          # the shortcut
    main = None           # main path while ops act on the shortcut
    n_out = None
    while i < len(words):
        code = words[i]
        a = list(words[i + 1:i + 1 + A.OP_WORDS[code]])
        i += 1 + A.OP_WORDS[code]
        if code == A.OP_NET:
            _, _, cin, lin, n_out = a
            cur = np.asarray(x, dtype=np.float64).reshape(cin, lin)
        elif code == A.OP_INPUT_NORM:
            rows, length = a
            (norm,) = take(1)
            cur = (cur.reshape(rows, length) - norm[:, 0:1]) / norm[:, 1:2]
            cur = cur.reshape(1, rows, length)          # [C=1][R][T]
        elif code == A.OP_WINDOW_NORM:
            # per window: PPG row z-scored; ACC rows centred, one shared divisor floored (archs.py)
            rows, length, floor_ug = a
            r = cur.reshape(rows, length)
            d = r - r.mean(axis=1, keepdims=True)
            v = (d ** 2).mean(axis=1)
            s_ppg = max(np.sqrt(v[0]), A.PULSE_PPG_EPS)
            s_acc = max(np.sqrt(v[1:].mean()), floor_ug * 1e-6)
            cur = np.concatenate([d[0:1] / s_ppg, d[1:] / s_acc]).reshape(1, rows, length)
        elif code == A.OP_CONV1D:
            ci, co, l_in, l_out, k, s, d, pl, pr, g, act = a
            w, b = take(2)
            assert cur.shape == (ci, l_in) and w.shape == (co, ci // g, k)
            cur = _act(_conv1d(cur, w, b, l_out, s, d, pl, pr, g), act)
        elif code == A.OP_ROW_CONV:
            rows, ci, co, l_in, l_out, k, s, d, pl, pr, g, act = a
            w, b = take(2)
            assert cur.shape == (ci, rows, l_in) and w.shape == (co, ci // g, 1, k)
            cur = np.stack([_conv1d(cur[:, r, :], w[:, :, 0, :], b, l_out, s, d, pl, pr, g)
                            for r in range(rows)], axis=1)
            cur = _act(cur, act)
        elif code == A.OP_AFFINE:
            c, length, act = a
            sc, sh = take(2)
            assert cur.shape == (c, length)
            cur = _act(cur * sc[:, None] + sh[:, None], act)
        elif code == A.OP_MAXPOOL1D:
            c, l_in, l_out, k, s, pl, pr, pv = a
            assert cur.shape == (c, l_in)
            fill = 0.0 if pv == 0 else -np.inf
            xp = np.concatenate([np.full((c, pl), fill), cur, np.full((c, pr), fill)], axis=1)
            cur = np.stack([xp[:, t * s:t * s + k].max(axis=1) for t in range(l_out)], axis=1)
        elif code == A.OP_AVGPOOL1D:
            c, l_in, l_out, k, s = a
            assert cur.shape == (c, l_in)
            cur = np.stack([cur[:, t * s:t * s + k].mean(axis=1) for t in range(l_out)], axis=1)
        elif code == A.OP_ROW_AVGPOOL:
            rows, c, l_in, l_out, k, s = a
            assert cur.shape == (c, rows, l_in)
            cur = np.stack([cur[:, :, t * s:t * s + k].mean(axis=2) for t in range(l_out)], axis=2)
        elif code == A.OP_GLOBAL_AVG_POOL:
            c, length = a
            assert cur.shape == (c, length)
            cur = cur.mean(axis=1)
        elif code == A.OP_LINEAR:
            fin, fout, act = a
            w, b = take(2)
            v = cur.reshape(-1)
            assert v.size == fin and w.shape == (fout, fin)
            cur = _act(w @ v + b, act)
        elif code == A.OP_CHANNEL_PAD:
            ci, co, before = a
            assert cur.shape[0] == ci
            cur = np.concatenate([np.zeros((before, cur.shape[1])), cur,
                                  np.zeros((co - ci - before, cur.shape[1]))], axis=0)
        elif code == A.OP_RESIDUAL_BEGIN:
            saved = cur.copy()
        elif code == A.OP_SHORTCUT:
            main, cur = cur, saved
        elif code == A.OP_ADD:
            c, length = a
            assert main.shape == (c, length) and cur.shape == (c, length)
            cur = main + cur
            main = saved = None
        elif code == A.OP_CROSS_ATTENTION:
            c, rows, length, heads, q_row, q_rows, kv_row, kv_rows = a
            wi, bi, wo, bo = take(4)
            assert cur.shape == (c, rows, length)
            e = length
            q_tok = cur[:, q_row:q_row + q_rows, :].reshape(c * q_rows, e)      # index c*q_rows + r
            kv_tok = cur[:, kv_row:kv_row + kv_rows, :].reshape(c * kv_rows, e)
            q = q_tok @ wi[0:e].T + bi[0:e]
            k = kv_tok @ wi[e:2 * e].T + bi[e:2 * e]
            v = kv_tok @ wi[2 * e:3 * e].T + bi[2 * e:3 * e]
            hd = e // heads
            out = np.empty_like(q)
            for h in range(heads):
                sl = slice(h * hd, (h + 1) * hd)
                sc = q[:, sl] @ k[:, sl].T / np.sqrt(hd)
                sc = sc - sc.max(axis=1, keepdims=True)
                p = np.exp(sc)
                p /= p.sum(axis=1, keepdims=True)
                out[:, sl] = p @ v[:, sl]
            cur = out @ wo.T + bo                                                # [tokens][E]
        elif code == A.OP_LAYER_NORM:
            tokens, feats = a
            g, b = take(2)
            assert cur.shape == (tokens, feats)
            mu = cur.mean(axis=1, keepdims=True)
            var = ((cur - mu) ** 2).mean(axis=1, keepdims=True)
            cur = (cur - mu) / np.sqrt(var + A.BN_EPS) * g + b
        elif code == A.OP_MODALITY_CONV:
            ci, co, rows, length, act = a
            w, b = take(2)
            assert cur.shape == (ci, rows, length) and w.shape == (co, ci, rows, 1)
            cur = _act(np.einsum("och,cht->ot", w[..., 0], cur) + b[:, None], act)
        else:
            raise ValueError(f"unknown op code {code}")
    if pos != len(tens):
        raise ValueError(f"descriptor consumed {pos} tensors, blob holds {len(tens)}")
    out = np.asarray(cur).reshape(-1)
    assert out.size == n_out
    return out
