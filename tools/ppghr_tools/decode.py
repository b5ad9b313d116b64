"""ppghr_tools.decode: the Python twin (numpy, float64) of include/ppghr/post/decode.hpp.

Heart-rate decoding over time for any estimator that yields, per 8-s window (stride 2 s), a vector
of N = 180 probabilities over the classes c = 0..179 (30 + c BPM). The model is an HMM:

  state x_k in 0..N-1, x_0 ~ uniform,
  P(x_{k+1} = j | x_k = i) = A[i, j] = (1 - floor) * q(j - i) / Z_i + floor / N
      q(d): the learnt transition prior over d in [-D, D] (D = MAX_DELTA = 30), q = 0 outside;
      Z_i = sum_{j in 0..N-1} q(j - i): each source row is renormalised over the valid classes,
      so the edges neither attract nor repel the path; floor: the uniform jump probability.
  likelihood of window k: l_k[j] = (p_k[j] + likelihood_floor) ** power; a window without
      evidence (mask 0) has l_k = 1.

The estimator's probabilities are used as a likelihood (as if divided by a flat class prior).
This module builds A as a dense N x N matrix and runs the textbook recursions: an independent
implementation from the C++ one (which convolves with q), which is what the parity test compares.

Transition prior (fit_transition_prior): histogram of round(hr[k+1]) - round(hr[k]) (round half up,
floor(x + 0.5)) over consecutive labelled windows of the training recordings; transitions with
|delta| > 30 are dropped (counted); the histogram is symmetrised (h[d] + h[-d]) / 2, smoothed
with the binomial kernel [1, 2, 1] / 4 (zero outside [-30, 30]), then a pseudo-count of
SMOOTHING_PSEUDOCOUNT (0.5) is added to every bin (so no delta in range is impossible), then
normalised to sum 1. Why the [1, 2, 1] smoothing: the BAMI labels are 60 / RR with a quantised RR,
so at 100-150 BPM consecutive labels differ by 0 or by >= ~1.6 BPM and the raw histogram has
P(|d| = 1) < P(|d| = 2) (0.058 vs 0.106 per side): a label artefact, not physiology; after the
smoothing p(d) is non-increasing in |d|.

Command line:
  python3 -m ppghr_tools.decode --write-prior include/ppghr/post/prior_bami.hpp [--data DIR]
  python3 -m ppghr_tools.decode --check [--data DIR]      (exit 1 when the committed file is stale)
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

NUM_CLASSES = 180
MIN_BPM = 30
MAX_DELTA = 30
SMOOTHING_PSEUDOCOUNT = 0.5
SMOOTHING_KERNEL = (0.25, 0.5, 0.25)
DEFAULT_TRANSITION_FLOOR = 1e-3
DEFAULT_LIKELIHOOD_FLOOR = 1e-3
DEFAULT_POWER = 1.0
REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "bami"
PRIOR_HEADER = REPO / "include" / "ppghr" / "post" / "prior_bami.hpp"


# ---------------------------------------------------------------------------------------------
# Transition prior
# ---------------------------------------------------------------------------------------------

@dataclass
class TransitionPrior:
    """q[d + MAX_DELTA] = p(delta = d), d in [-MAX_DELTA, MAX_DELTA]; floor: uniform jump mass."""
    q: np.ndarray
    floor: float = DEFAULT_TRANSITION_FLOOR
    transitions: int = 0          # how many transitions were counted
    dropped: int = 0              # |delta| > MAX_DELTA, left out

    def summary(self) -> dict:
        d = np.arange(-MAX_DELTA, MAX_DELTA + 1)
        return {"P(|d|=0)": float(self.q[d == 0].sum()),
                "P(|d|<=1)": float(self.q[np.abs(d) <= 1].sum()),
                "P(|d|<=2)": float(self.q[np.abs(d) <= 2].sum()),
                "P(|d|<=5)": float(self.q[np.abs(d) <= 5].sum()),
                "P(|d|>5)": float(self.q[np.abs(d) > 5].sum()),
                "P(|d|>10)": float(self.q[np.abs(d) > 10].sum()),
                "std": float(np.sqrt((self.q * d * d).sum()))}


def round_half_up(x):
    return np.floor(np.asarray(x, dtype=np.float64) + 0.5).astype(np.int64)


def fit_transition_prior(hr_sequences, floor: float = DEFAULT_TRANSITION_FLOOR,
                         pseudocount: float = SMOOTHING_PSEUDOCOUNT,
                         kernel=SMOOTHING_KERNEL) -> TransitionPrior:
    """hr_sequences: iterable of 1-D arrays of BPM labels of consecutive windows (non-finite
    labels break the chain: a transition needs both ends finite)."""
    h = np.zeros(2 * MAX_DELTA + 1)
    n = dropped = 0
    for hr in hr_sequences:
        hr = np.asarray(hr, dtype=np.float64)
        ok = np.isfinite(hr[1:]) & np.isfinite(hr[:-1])
        r = round_half_up(np.where(np.isfinite(hr), hr, 0.0))
        d = (r[1:] - r[:-1])[ok]
        keep = np.abs(d) <= MAX_DELTA
        dropped += int((~keep).sum())
        n += int(keep.sum())
        np.add.at(h, d[keep] + MAX_DELTA, 1.0)
    h = 0.5 * (h + h[::-1])
    if kernel is not None:
        h = np.convolve(h, np.asarray(kernel, dtype=np.float64), mode="same")
    h = h + pseudocount
    return TransitionPrior(q=h / h.sum(), floor=floor, transitions=n, dropped=dropped)


def gaussian_prior(sigma: float, floor: float = DEFAULT_TRANSITION_FLOOR) -> TransitionPrior:
    d = np.arange(-MAX_DELTA, MAX_DELTA + 1)
    q = np.exp(-0.5 * (d / sigma) ** 2)
    return TransitionPrior(q=q / q.sum(), floor=floor)


def transition_matrix(prior: TransitionPrior, n: int = NUM_CLASSES) -> np.ndarray:
    q = np.asarray(prior.q, dtype=np.float64)
    i = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    d = j - i
    K = np.where(np.abs(d) <= MAX_DELTA, q[np.clip(d + MAX_DELTA, 0, 2 * MAX_DELTA)], 0.0)
    K = K / K.sum(axis=1, keepdims=True)
    return (1.0 - prior.floor) * K + prior.floor / n


def likelihoods(p, mask=None, likelihood_floor=DEFAULT_LIKELIHOOD_FLOOR, power=DEFAULT_POWER):
    """p: T x N probabilities; mask: T booleans (True = the window has evidence) or None."""
    L = (np.asarray(p, dtype=np.float64) + likelihood_floor)
    if power != 1.0:
        L = L ** power
    if mask is not None:
        L = np.where(np.asarray(mask, dtype=bool)[:, None], L, 1.0)
    return L


# ---------------------------------------------------------------------------------------------
# Decoders
# ---------------------------------------------------------------------------------------------

def forward_filter(L, A):
    """Filtered beliefs P(x_k | l_0..k), T x N (each row normalised)."""
    T, n = L.shape
    out = np.empty((T, n))
    b = np.full(n, 1.0 / n)
    for k in range(T):
        pred = b if k == 0 else A.T @ b
        b = pred * L[k]
        b /= b.sum()
        out[k] = b
    return out


def forward_backward(L, A):
    """Posterior marginals P(x_k | l_0..T-1), T x N."""
    alpha = forward_filter(L, A)
    T, n = L.shape
    out = np.empty_like(alpha)
    beta = np.ones(n)
    for k in range(T - 1, -1, -1):
        g = alpha[k] * beta
        out[k] = g / g.sum()
        beta = A @ (L[k] * beta)
        beta /= beta.sum()
    return out


def lag_smoother(L, A, lag):
    """Fixed-lag smoothing: row k = P(x_k | l_0..min(k+lag, T-1)), T x N (the online smoother's
    outputs in order, including the windows flush() emits)."""
    alpha = forward_filter(L, A)
    T, n = L.shape
    out = np.empty_like(alpha)
    for k in range(T):
        end = min(k + lag, T - 1)
        beta = np.ones(n)
        for t in range(end, k, -1):
            beta = A @ (L[t] * beta)
            beta /= beta.sum()
        g = alpha[k] * beta
        out[k] = g / g.sum()
    return out


def viterbi(L, A):
    """Most probable state path (ties: the lowest predecessor / final class) and its log score."""
    T, n = L.shape
    logA = np.log(A)
    logL = np.log(L)
    delta = np.log(np.full(n, 1.0 / n)) + logL[0]
    back = np.zeros((T, n), dtype=np.int64)
    for k in range(1, T):
        s = delta[:, None] + logA
        back[k] = np.argmax(s, axis=0)
        delta = s[back[k], np.arange(n)] + logL[k]
    path = np.zeros(T, dtype=np.int64)
    path[-1] = int(np.argmax(delta))
    for k in range(T - 1, 0, -1):
        path[k - 1] = back[k, path[k]]
    return path, float(delta.max())


def path_log_score(path, L, A):
    n = L.shape[1]
    s = np.log(1.0 / n) + np.log(L[0, path[0]])
    for k in range(1, len(path)):
        s += np.log(A[path[k - 1], path[k]]) + np.log(L[k, path[k]])
    return float(s)


def posterior_mean_bpm(post):
    post = np.asarray(post)
    return MIN_BPM + post @ np.arange(post.shape[-1])


def posterior_argmax_bpm(post):
    return MIN_BPM + np.argmax(np.asarray(post), axis=-1)


def posterior_mass_within(post, bpm, tol_bpm=5.0):
    """Mass of the classes whose BPM lies within +-tol_bpm of bpm (per row)."""
    post = np.atleast_2d(np.asarray(post))
    c = MIN_BPM + np.arange(post.shape[-1])
    bpm = np.atleast_1d(np.asarray(bpm, dtype=np.float64))
    m = np.abs(c[None, :] - bpm[:, None]) <= tol_bpm
    return (post * m).sum(axis=1)


# ---------------------------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------------------------

MAX_KNOTS = 32


def pav(y, w=None):
    """Pool adjacent violators: the non-decreasing fit of y (weights w). Returns block
    (start, end, mean y, weight) lists."""
    y = np.asarray(y, dtype=np.float64)
    w = np.ones_like(y) if w is None else np.asarray(w, dtype=np.float64)
    vals, wts, starts, ends = [], [], [], []
    for i in range(len(y)):
        vals.append(y[i]); wts.append(w[i]); starts.append(i); ends.append(i + 1)
        while len(vals) > 1 and vals[-2] > vals[-1]:
            v = (vals[-2] * wts[-2] + vals[-1] * wts[-1]) / (wts[-2] + wts[-1])
            wts[-2] += wts[-1]; vals[-2] = v; ends[-2] = ends[-1]
            vals.pop(); wts.pop(); starts.pop(); ends.pop()
    return starts, ends, vals, wts


def fit_calibration(raw, correct, max_knots: int = MAX_KNOTS):
    """Monotone piecewise-linear map raw score -> P(correct). Isotonic regression (PAV) on the
    samples sorted by raw score, then at most max_knots knots: consecutive PAV blocks are grouped
    into max_knots groups of about equal sample count, each giving the knot (mean raw, mean
    correct) of its samples (non-decreasing in both, since the blocks are). Returns (x, y) float32
    arrays, x strictly increasing."""
    raw = np.asarray(raw, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    o = np.argsort(raw, kind="stable")
    r, c = raw[o], correct[o]
    starts, ends, vals, wts = pav(c)
    nb = len(vals)
    cum = np.cumsum(wts)
    total = cum[-1]
    groups = []
    g0 = 0
    for g in range(max_knots):
        target = total * (g + 1) / max_knots
        g1 = g0
        while g1 < nb and (cum[g1] <= target or g1 == g0):
            g1 += 1
        if g1 > g0:
            groups.append((g0, g1))
        g0 = g1
        if g0 >= nb:
            break
    if g0 < nb:
        groups[-1] = (groups[-1][0], nb)
    xs, ys = [], []
    for a, b in groups:
        s, e = starts[a], ends[b - 1]
        x = float(r[s:e].mean())
        y = float(np.dot(vals[a:b], wts[a:b]) / np.sum(wts[a:b]))
        if xs and x <= xs[-1]:          # equal raw scores: merge into the previous knot
            ys[-1] = max(ys[-1], y)
            continue
        xs.append(x); ys.append(y)
    return np.asarray(xs, dtype=np.float32), np.asarray(ys, dtype=np.float32)


def apply_calibration(knots, raw):
    """The C++ Calibration::apply, in float32: clamp to the end knots, linear in between (the
    segment k with x[k] <= raw < x[k+1], found by a linear scan)."""
    x, y = (np.asarray(k, dtype=np.float32) for k in knots)
    raw = np.atleast_1d(np.asarray(raw, dtype=np.float32))
    out = np.empty_like(raw)
    n = len(x)
    for idx, v in enumerate(raw):
        if n == 0:
            out[idx] = v
        elif not (v > x[0]):
            out[idx] = y[0]
        elif v >= x[n - 1]:
            out[idx] = y[n - 1]
        else:
            k = 0
            while not (v < x[k + 1]):
                k += 1
            t = np.float32((v - x[k]) / (x[k + 1] - x[k]))
            out[idx] = np.float32(y[k] + np.float32(t * np.float32(y[k + 1] - y[k])))
    return out


def calibration_cpp(knots, name: str = "kCalibration") -> str:
    """A C++ definition of the ppghr::Calibration holding these knots (floats printed exactly)."""
    x, y = (np.asarray(k, dtype=np.float32) for k in knots)
    if len(x) > MAX_KNOTS:
        raise ValueError(f"{len(x)} knots: at most {MAX_KNOTS}")
    fx = ", ".join(f"{float(v):.9e}f" for v in x)
    fy = ", ".join(f"{float(v):.9e}f" for v in y)
    return f"inline const ppghr::Calibration {name}{{{len(x)}, {{{{{fx}}}}}, {{{{{fy}}}}}}};\n"


def calibration_curve(conf, correct, bins: int = 10):
    """Reliability table: for equal-width bins of conf over [0, 1]: (bin centre, mean conf, accuracy,
    count); empty bins are left out. Also returns the expected calibration error."""
    conf = np.asarray(conf, dtype=np.float64)
    correct = np.asarray(correct, dtype=np.float64)
    idx = np.clip((conf * bins).astype(int), 0, bins - 1)
    rows = []
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            rows.append(((b + 0.5) / bins, float(conf[m].mean()), float(correct[m].mean()), int(m.sum())))
            ece += m.sum() / len(conf) * abs(conf[m].mean() - correct[m].mean())
    return rows, float(ece)


# ---------------------------------------------------------------------------------------------
# The generated prior header
# ---------------------------------------------------------------------------------------------

def load_bami_hr(data: Path = DEFAULT_DATA, subset: str = "bami1"):
    idx = json.loads((data / "index.json").read_text())
    out = []
    for r in idx["recordings"]:
        if r["subset"] == subset:
            out.append((r["id"], np.fromfile(data / "rec" / f"{r['id']}.hr.f32", dtype="<f4")))
    return out


def prior_header_text(prior: TransitionPrior, n_recordings: int, subset: str = "bami1") -> str:
    s = prior.summary()
    vals = ",\n".join("    " + ", ".join(f"{v:.9e}f" for v in prior.q[i:i + 4]) for i in range(0, len(prior.q), 4))
    return f"""// ppghr/post/prior_bami.hpp - GENERATED by
//     PYTHONPATH=tools python3 -m ppghr_tools.decode --write-prior include/ppghr/post/prior_bami.hpp
// (check: python3 -m ppghr_tools.decode --check). Do not edit.
//
// The heart-rate transition prior p(delta) per 2-s step, delta in [-30, 30] BPM (index delta + 30),
// learnt from the ECG labels of the {n_recordings} {subset.upper()} recordings (../shared/data/bami, index.json subset
// "{subset}", rec/<id>.hr.f32): the histogram of round(hr[k+1]) - round(hr[k]) (round half up) over
// {prior.transitions} consecutive-window transitions ({prior.dropped} with |delta| > 30 left out),
// symmetrised, smoothed with the binomial kernel {list(SMOOTHING_KERNEL)} (the labels are 60 / RR with a
// quantised RR: the raw histogram has P(|d|=1) < P(|d|=2), a label artefact), plus a pseudo-count
// of {SMOOTHING_PSEUDOCOUNT} per bin, normalised to sum 1.
// Shape: P(delta=0) = {s['P(|d|=0)']:.4f}, P(|delta|<=1) = {s['P(|d|<=1)']:.4f}, P(|delta|<=2) = {s['P(|d|<=2)']:.4f},
// P(|delta|<=5) = {s['P(|d|<=5)']:.4f}, P(|delta|>5) = {s['P(|d|>5)']:.5f}, P(|delta|>10) = {s['P(|d|>10)']:.5f}, std = {s['std']:.3f} BPM.
#pragma once

namespace ppghr {{

/// Transitions counted to make kBamiTransitionPrior.
inline constexpr long kBamiTransitionCount = {prior.transitions};

/// p(delta) for delta = -30..30 (index delta + 30); sums to 1.
inline constexpr float kBamiTransitionPrior[61] = {{
{vals}}};

}}  // namespace ppghr
"""


def bami_prior(data: Path = DEFAULT_DATA):
    recs = load_bami_hr(data)
    return fit_transition_prior([hr for _, hr in recs]), len(recs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--write-prior", type=Path)
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args(argv)
    if not (a.data / "index.json").is_file():
        print(f"BAMI data not found at {a.data}", file=sys.stderr)
        return 2
    prior, n = bami_prior(a.data)
    text = prior_header_text(prior, n)
    if a.write_prior:
        a.write_prior.write_text(text)
        print(f"wrote {a.write_prior}: {prior.transitions} transitions, {prior.summary()}")
    if a.check:
        cur = PRIOR_HEADER.read_text() if PRIOR_HEADER.is_file() else ""
        if cur != text:
            print(f"{PRIOR_HEADER} is out of date: rerun with --write-prior {PRIOR_HEADER}", file=sys.stderr)
            return 1
        print(f"{PRIOR_HEADER} is up to date")
    if not a.write_prior and not a.check:
        print(prior.transitions, prior.dropped, prior.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
