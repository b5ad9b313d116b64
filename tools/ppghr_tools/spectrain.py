"""Training of the spectral networks (family specnet): data, augmentation, runs, distillation.

    PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.spectrain --arch specnet2 --train bami1 \\
        --eval bami2,wrist --seed 0
    PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.spectrain --arch specnet2 --strategy dkd \\
        --teacher specnet10w32 --train bami1 --eval bami2,wrist --seed 1

Input. A specnet sees the 4 x 180 features of spectral.features() (PPG spectrum, accelerometer
spectrum x motion weight, the classical estimator's cleaned spectrum, grid position), computed from
the windows of the C++ front end (spectral.recording_windows: any rate -> 25 Hz, band-pass, no
normalisation). Every feature is a normalised spectrum, so the device's units, gain, polarity and
rate do not reach the network by construction (amplitude / polarity augmentation would change
nothing and is not done), and the number of PPG channels only changes how many spectra are averaged.

Augmentation, in the window's spectral domain (per window, seeded; `Augment`):
  - heart-rate scale: with probability p_scale the whole window (PPG and accelerometer) is time-
    stretched by s, log-uniform in [s_min, s_max], and the label multiplied by s: the spectra are
    read at f / s from the window's 1024-point power spectrum (the same interpolation as at s = 1),
    which is the spectrum of the stretched window up to the Hann lobe's width. Windows whose new
    label leaves 30..209 BPM are dropped. Covers 30-210 BPM from BAMI's 75-180.
  - channel dropout: each PPG channel kept with probability p_keep (at least one kept);
  - synthetic motion artefacts the accelerometer also sees: with probability p_motion each PPG
    channel gets alpha x (the window's normalised accelerometer spectrum), alpha ~ U(0, motion_max);
  - noise: with probability p_noise each PPG spectrum gets sigma x |smoothed Gaussian noise|
    (sigma ~ U(0, noise_max)), the spectrum of broadband noise added to the window;
  - baseline wander lies below the band-pass (0.5 Hz = 30 BPM) and the 30 BPM grid: not augmented.
The augmented training set is a fixed pool of `copies` augmented copies of the training windows
(seeded), built once per (data, augmentation, seed) and cached; teacher outputs are computed once on
it, so every strategy of a fold sees the same windows.

Runs are resumable: each writes results/spectrain/<name>.json (metrics, cost, config) and keeps its
weights in runs/spectrain/<name>/model.pt (git-ignored); a finished run is skipped.
Metrics per evaluated set: MAE of the argmax (raw), of the learnt-prior forward filter (online),
lag-3 smoother and forward-backward (offline) (decode.py, the twins of post/decode.hpp), and the
MAE at 80% coverage by the online posterior's mass within +-5 BPM.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from . import datasets as DS
from . import decode as dc
from . import spectral as sp

REPO = Path(__file__).resolve().parents[2]
CACHE = REPO / ".cache" / "spectrain"
RUNS = REPO / "runs" / "spectrain"
RESULTS = REPO / "results" / "spectrain"
N_FFT_BINS = sp.N_FFT // 2 + 1
VAL_FRACTION = 0.2
HARMONICS = (sp.HARMONIC,)
N_FEATURES = sp.N_FEATURES


# --------------------------------------------------------------------------------------------
# Data: per recording, the full power spectra of its windows


def _full_power(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean(axis=-1, keepdims=True)
    X = np.fft.rfft(x * sp._HANN, n=sp.N_FFT, axis=-1)
    return (X.real ** 2 + X.imag ** 2)


def recording_spectra(rec: DS.Recording) -> Dict[str, np.ndarray]:
    """One recording -> ppg (W, C, 513) and acc (W, 513, axes summed) power, motion (W,), hr (W,),
    ok (W,) (every channel of the window had status ok)."""
    acc = rec.acc if len(rec.acc) else None
    w, status = sp.recording_windows(rec.ppg, acc, rec.fs)
    n = min(len(w), len(rec.hr))
    w, status = w[:n], status[:n]
    c = rec.ppg.shape[1]
    ppg = _full_power(w[:, :c]).astype(np.float32)
    a = _full_power(w[:, c:c + 3]).sum(axis=1).astype(np.float32)
    motion = np.sqrt((w[:, c:c + 3].astype(np.float64) ** 2).mean(axis=-1).sum(axis=-1)).astype(np.float32)
    return dict(ppg=ppg, acc=a, motion=motion, hr=np.asarray(rec.hr[:n], np.float32),
                ok=(status == 0).all(axis=1), has_acc=np.array(acc is not None))


def load_spectra(name: str, verbose: bool = True) -> Dict[str, Dict[str, np.ndarray]]:
    """Every recording of data set `name` -> recording_spectra(), cached in .cache/spectrain/."""
    ds = DS.dataset(name)
    key = hashlib.sha256(ds.index_path.read_bytes() + b"v1").hexdigest()[:16]
    path = CACHE / f"{ds.name}_{key}.npz"
    out: Dict[str, Dict[str, np.ndarray]] = {}
    if path.is_file():
        z = np.load(path, allow_pickle=False)
        for rid in ds.ids():
            out[rid] = {k: z[f"{rid}/{k}"] for k in ("ppg", "acc", "motion", "hr", "ok", "has_acc")}
            out[rid]["subset"] = DS.normalise_subset(str(ds.entry(rid).get("subset", ds.name)))
        return out
    t0 = time.time()
    flat = {}
    for rid in ds.ids():
        r = recording_spectra(DS.load_recording(rid, ds))
        for k, v in r.items():
            flat[f"{rid}/{k}"] = v
        r["subset"] = DS.normalise_subset(str(ds.entry(rid).get("subset", ds.name)))
        out[rid] = r
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, **flat)
    if verbose:
        print(f"spectra of {ds.name}: {len(out)} recordings in {time.time() - t0:.0f} s -> {path}", file=sys.stderr)
    return out


def select(name_or_subset: str, verbose: bool = True) -> Dict[str, Dict[str, np.ndarray]]:
    """'bami', 'wrist' (a whole data set) or 'bami1' / 'bami2' (a subset) -> its recordings."""
    key = DS.normalise_subset(name_or_subset)
    for ds_name in DS.available():
        if key == DS.normalise_subset(ds_name):
            return load_spectra(ds_name, verbose)
    for ds_name in DS.available():
        recs = load_spectra(ds_name, verbose)
        sel = {r: v for r, v in recs.items() if v["subset"] == key}
        if sel:
            return sel
    raise ValueError(f"no data set or subset {name_or_subset!r}")


# --------------------------------------------------------------------------------------------
# Features (vectorised twin of spectral.features, with augmentation)

_IDX = np.arange(sp.N_CLASSES)
_LOBE_FULL = np.concatenate([sp._LOBE, np.zeros(sp.N_CLASSES)])   # K(d), 0 beyond LOBE_HALF


def _grid(p: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """p (n, ..., 513) full power, scale (n,) -> (n, ..., 180) read at class frequency / scale."""
    pos = sp._POS[None, :] / scale[:, None]                       # (n, 180)
    last = p.shape[-1] - 2
    lo = np.floor(pos).astype(np.int64)
    fr = np.where(lo > last, 0.0, pos - lo)
    beyond = lo > last                                            # above Nyquist: no power
    lo = np.minimum(lo, last)
    shape = (p.shape[0],) + (1,) * (p.ndim - 2) + (sp.N_CLASSES,)
    lo_b, fr_b = lo.reshape(shape), fr.reshape(shape)
    a = np.take_along_axis(p, np.broadcast_to(lo_b, p.shape[:-1] + (sp.N_CLASSES,)), axis=-1)
    b = np.take_along_axis(p, np.broadcast_to(lo_b + 1, p.shape[:-1] + (sp.N_CLASSES,)), axis=-1)
    out = a * (1.0 - fr_b) + b * fr_b
    return np.where(beyond.reshape(shape), 0.0, out)


def _normalise(x: np.ndarray) -> np.ndarray:
    top = x.max(axis=-1, keepdims=True)
    return np.where(top > 0.0, x / np.where(top > 0.0, top, 1.0), 0.0)


def _artefact_table(a: np.ndarray, motion: np.ndarray, params: sp.SpectralParams):
    """Batch twin of spectral.artefacts: (n, 180) accelerometer grid power, (n,) motion ->
    frequencies (n, K) and weights (n, K), K = 4 acc_peaks, in spectral.artefacts' order (weight 0
    where an entry does not exist)."""
    n = a.shape[0]
    mults = ((1.0, 1.0), (0.5, params.half_weight), (2.0, params.double_weight), (1.5, params.three_half_weight))
    K = 4 * params.acc_peaks
    freq = np.zeros((n, K))
    wt = np.zeros((n, K))
    if K == 0:
        return freq, wt
    inner = np.zeros_like(a, dtype=bool)
    inner[:, 1:-1] = (a[:, 1:-1] >= a[:, :-2]) & (a[:, 1:-1] > a[:, 2:])
    val = np.where(inner, a, -np.inf)
    order = np.argsort(-val, axis=1, kind="stable")[:, :params.acc_peaks]
    top = a.max(axis=1)
    wm = np.minimum(1.0, motion / params.motion_ref_g)
    for p in range(params.acc_peaks):
        j = order[:, p]
        v = val[np.arange(n), j]
        ok = np.isfinite(v) & (v >= params.acc_peak_rel * top) & (v > 0.0) & (wm > 0.0)
        f = sp.MIN_BPM + j.astype(np.float64)
        for m, (mult, ww) in enumerate(mults):
            fc = f * mult
            good = ok & (fc > sp.ARTEFACT_MIN_BPM) & (fc < sp.ARTEFACT_MAX_BPM) & (ww > 0.0)
            freq[:, 4 * p + m] = fc
            wt[:, 4 * p + m] = np.where(good, wm * ww, 0.0)
    return freq, wt


def _clean(s: np.ndarray, freq: np.ndarray, wt: np.ndarray, search: int) -> np.ndarray:
    """Batch twin of spectral.clean: s (n, C, 180), artefacts (n, K) -> cleaned s."""
    s = s.copy()
    n, C, _ = s.shape
    rows = np.arange(n)
    for k in range(freq.shape[1]):
        w = wt[:, k]
        if not (w > 0).any():
            continue
        c = np.floor(freq[:, k] + 0.5).astype(np.int64) - sp.MIN_BPM
        lo = np.maximum(0, c - search)
        hi = np.minimum(sp.N_CLASSES, c + search + 1)
        live = (w > 0) & (hi > lo)
        cand = np.clip(lo[:, None] + np.arange(2 * search + 1)[None, :], 0, sp.N_CLASSES - 1)   # (n, S)
        inside = (lo[:, None] + np.arange(2 * search + 1)[None, :]) < hi[:, None]
        vals = np.take_along_axis(s, np.broadcast_to(cand[:, None, :], (n, C, cand.shape[1])), axis=-1)
        vals = np.where(inside[:, None, :], vals, -np.inf)
        jj = np.take_along_axis(cand[:, None, :].repeat(C, 1), vals.argmax(axis=-1)[..., None], axis=-1)[..., 0]  # (n, C)
        sj = np.take_along_axis(s, jj[..., None], axis=-1)                                        # (n, C, 1)
        d = np.abs(_IDX[None, None, :] - jj[..., None])
        kern = _LOBE_FULL[np.minimum(d, len(_LOBE_FULL) - 1)]
        upd = np.maximum(s - (w[:, None, None] * sj) * kern, 0.0)
        s = np.where(live[:, None, None], upd, s)
    return s


@dataclass(frozen=True)
class Augment:
    # The defaults are the recipe chosen on validation (docs/results/specnet/recipes.md): no
    # heart-rate scale (it cost 3 BPM on wrist, leave-one-data-set-out), channel dropout, strong
    # synthetic motion, noise, and pulse shape on 60% of the windows.
    p_scale: float = 0.0
    s_min: float = 0.7
    s_max: float = 1.4
    p_keep: float = 0.7
    p_motion: float = 0.7
    motion_max: float = 4.0
    p_noise: float = 0.3
    noise_max: float = 0.3
    p_shape: float = 0.6
    shape_min: float = 0.0

    @staticmethod
    def none() -> "Augment":
        return Augment(p_scale=0.0, p_keep=1.0, p_motion=0.0, p_noise=0.0, p_shape=0.0)


def batch_features(ppg: np.ndarray, acc: np.ndarray, motion: np.ndarray, has_acc: bool = True,
                   scale: Optional[np.ndarray] = None, keep: Optional[np.ndarray] = None,
                   motion_mix: Optional[np.ndarray] = None, noise: Optional[np.ndarray] = None,
                   motion_scale: Optional[np.ndarray] = None,
                   fundamental: Optional[np.ndarray] = None,
                   params: sp.SpectralParams = sp.DEFAULT_PARAMS) -> np.ndarray:
    """(n, C, 513), (n, 513), (n,) -> (n, 4, 180) features; with scale = 1, keep = all, no mix and no
    noise it equals spectral.features() window by window (tools/tests/test_spectrain.py)."""
    ppg = np.asarray(ppg, np.float64)
    acc = np.asarray(acc, np.float64)
    n, C = ppg.shape[0], ppg.shape[1]
    scale = np.ones(n) if scale is None else scale
    weight = np.minimum(1.0, sp._BPM / params.ppg_weight_ref_bpm) ** params.ppg_weight_exponent
    if fundamental is not None:
        # pulse shape: the fundamental's whole lobe (at the window's own heart rate hr, before the
        # scale) times gain g; fundamental = (n, 2) [hr BPM, g], g = 1 leaves the window as it is
        # (every bin scaled by 1 - (1 - g) K(|f - hr|): the lobe's centre by g, its shoulders less, so
        # some of the fundamental's shoulders stay)
        bpm = np.arange(ppg.shape[-1]) * 60.0 * sp.RATE / sp.N_FFT
        d = np.abs(bpm[None, :] - fundamental[:, :1])
        k = np.interp(d, np.arange(len(sp._LOBE)), sp._LOBE, right=0.0)
        ppg = ppg * (1.0 - (1.0 - fundamental[:, 1:2]) * k)[:, None, :]
    P = _grid(ppg, scale) * weight                               # (n, C, 180)
    a = _grid(acc, scale)                                        # (n, 180)
    s = _normalise(P)
    topP = P.max(axis=-1, keepdims=True)
    if motion_mix is not None:
        # a second motion source: the window's accelerometer spectrum read at another rate
        # (motion_scale x the heart-rate scale), added to the accelerometer and, alpha times its
        # normalised spectrum, to every PPG channel
        ms = scale if motion_scale is None else scale * motion_scale
        a_extra = _grid(acc, ms)
        live = (motion_mix > 0).any(axis=1)
        s = _normalise(s + motion_mix[..., None] * _normalise(a_extra)[:, None, :])
        a = np.where(live[:, None], a + a_extra * (a.max(axis=-1, keepdims=True) / np.maximum(a_extra.max(axis=-1, keepdims=True), 1e-30)), a)
    if noise is not None:
        s = _normalise(s + noise)
    if has_acc:
        freq, wt = _artefact_table(a, np.asarray(motion, np.float64), params)
    else:
        freq, wt = np.zeros((n, 0)), np.zeros((n, 0))
    cl = _clean(s, freq, wt, params.search)
    k = np.ones((n, C)) if keep is None else keep.astype(np.float64)
    cnt = k.sum(axis=1)[:, None]
    out = np.zeros((n, N_FEATURES, sp.N_CLASSES))
    out[:, 0] = (s * k[..., None]).sum(axis=1) / cnt
    out[:, 2] = (cl * k[..., None]).sum(axis=1) / cnt
    if has_acc:
        out[:, 1] = _normalise(a) * np.minimum(1.0, np.asarray(motion, np.float64) / params.motion_ref_g)[:, None]
    topa = a.max(axis=-1, keepdims=True)
    for i, h in enumerate(HARMONICS):
        P2 = _grid(ppg, scale / h) * weight
        s2 = np.where(topP > 0.0, np.minimum(P2 / np.where(topP > 0.0, topP, 1.0), 1.0), 0.0)
        out[:, 3 + 2 * i] = (s2 * k[..., None]).sum(axis=1) / cnt
        if has_acc:
            a2 = _grid(acc, scale / h)
            out[:, 4 + 2 * i] = np.where(topa > 0.0, np.minimum(a2 / np.where(topa > 0.0, topa, 1.0), 1.0), 0.0) * \
                np.minimum(1.0, np.asarray(motion, np.float64) / params.motion_ref_g)[:, None]
    out[:, N_FEATURES - 1] = sp.position_feature()[None, :]
    return out


def recording_features(r: Dict[str, np.ndarray]) -> np.ndarray:
    """All windows of one recording, no augmentation -> (W, 4, 180) float32."""
    return batch_features(r["ppg"], r["acc"], r["motion"], bool(r["has_acc"])).astype(np.float32)


def augmented_pool(recs: Dict[str, Dict[str, np.ndarray]], aug: Augment, copies: int, seed: int,
                   verbose: bool = True):
    """`copies` augmented copies of every ok window of recs -> (X (M, 4, 180) float32, y (M,) int64)."""
    tag = json.dumps(dict(ids=sorted(recs), aug=asdict(aug), copies=copies, seed=seed, v=3, h=HARMONICS), sort_keys=True)
    path = CACHE / f"pool_{hashlib.sha256(tag.encode()).hexdigest()[:16]}.npz"
    if path.is_file():
        z = np.load(path)
        return z["x"], z["y"]
    rng = np.random.RandomState(seed)
    xs, ys = [], []
    t0 = time.time()
    for copy in range(copies):
        for rid in sorted(recs):
            r = recs[rid]
            idx = np.where(r["ok"])[0]
            n = len(idx)
            if n == 0:
                continue
            C = r["ppg"].shape[1]
            if copy == 0 and aug.p_scale > 0:
                scale = np.ones(n)          # copy 0 keeps the natural heart rates
            else:
                scale = np.where(rng.rand(n) < aug.p_scale,
                                 np.exp(rng.uniform(np.log(aug.s_min), np.log(aug.s_max), n)), 1.0)
            keep = rng.rand(n, C) < aug.p_keep
            keep[np.arange(n), rng.randint(0, C, n)] = True
            mix = np.where(rng.rand(n, 1) < aug.p_motion, rng.uniform(0, aug.motion_max, (n, C)), 0.0)
            mscale = np.exp(rng.uniform(np.log(0.5), np.log(2.0), n))
            fund = np.stack([r["hr"][idx].astype(np.float64),
                             np.where(rng.rand(n) < aug.p_shape, rng.uniform(aug.shape_min, 1.0, n), 1.0)], axis=1)
            noise = None
            if aug.p_noise > 0:
                g = np.abs(rng.randn(n, C, sp.N_CLASSES))
                g = (g + np.roll(g, 1, -1) + np.roll(g, -1, -1)) / 3.0
                sig = np.where(rng.rand(n, 1, 1) < aug.p_noise, rng.uniform(0, aug.noise_max, (n, 1, 1)), 0.0)
                noise = sig * g
            y = np.floor(r["hr"][idx].astype(np.float64) * scale + 0.5) - sp.MIN_BPM
            good = (y >= 0) & (y < sp.N_CLASSES)
            x = batch_features(r["ppg"][idx], r["acc"][idx], r["motion"][idx], bool(r["has_acc"]),
                               scale, keep, mix, noise, mscale, fund if aug.p_shape > 0 else None)
            xs.append(x[good].astype(np.float32))
            ys.append(y[good].astype(np.int64))
    x, y = np.concatenate(xs), np.concatenate(ys)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, x=x, y=y)
    if verbose:
        print(f"pool: {len(y)} windows ({copies} copies) in {time.time() - t0:.0f} s", file=sys.stderr)
    return x, y


# --------------------------------------------------------------------------------------------
# Evaluation

def _prior_matrix():
    return dc.transition_matrix(dc.bami_prior()[0])


def decode_metrics(probs: Dict[str, np.ndarray], recs: Dict[str, Dict[str, np.ndarray]],
                   A: Optional[np.ndarray] = None) -> dict:
    """probs: recording -> (W, 180) probabilities. MAE raw / online / lag3 / offline and online at
    80% coverage (confidence = online posterior mass within +-5 BPM), over every labelled window."""
    A = _prior_matrix() if A is None else A
    err = {m: [] for m in ("raw", "online", "lag3", "offline")}
    conf = []
    per = {}
    for rid, p in probs.items():
        y = recs[rid]["hr"].astype(np.float64)
        L = dc.likelihoods(p, None)
        post = dict(raw=p, online=dc.forward_filter(L, A), lag3=dc.lag_smoother(L, A, 3),
                    offline=dc.forward_backward(L, A))
        for m, q in post.items():
            err[m].append(np.abs(sp.MIN_BPM + q.argmax(axis=1) - y))
        on = post["online"]
        conf.append(dc.posterior_mass_within(on, sp.MIN_BPM + on.argmax(axis=1)))
        per[rid] = round(float(err["online"][-1].mean()), 3)
    out = {m: round(float(np.concatenate(v).mean()), 3) for m, v in err.items()}
    e, c = np.concatenate(err["online"]), np.concatenate(conf)
    k = int(np.ceil(0.8 * len(e)))
    out["online_cov80"] = round(float(e[np.argsort(-c, kind="stable")[:k]].mean()), 3)
    out["windows"] = int(len(e))
    out["per_recording_online"] = per
    return out


def predict_probs(model, recs, batch: int = 1024) -> Dict[str, np.ndarray]:
    import torch
    model.eval()
    out = {}
    with torch.no_grad():
        for rid, r in recs.items():
            x = torch.from_numpy(recording_features(r))
            z = torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)])
            out[rid] = torch.softmax(z.double(), dim=1).numpy()
    return out


# --------------------------------------------------------------------------------------------
# Runs

STRATEGIES = ("scratch", "hard", "soft", "dkd", "feature")


@dataclass(frozen=True)
class RunSpec:
    arch: str = "specnet2"
    strategy: str = "scratch"
    teacher: Optional[str] = None
    train: str = "bami1"                 # data sets / subsets, '+'-joined
    val_fraction: float = VAL_FRACTION   # held-out recordings of the training data (validation)
    eval: str = "bami2,wrist"            # sets evaluated at the end (never used to choose the epoch)
    seed: int = 0
    passes: int = 2                      # passes over the augmented pool
    copies: int = 6
    batch: int = 256
    lr: float = 2e-3
    aug: Augment = field(default_factory=Augment)
    tag: str = ""

    @property
    def name(self) -> str:
        kd = f"_from_{self.teacher}" if self.strategy != "scratch" else ""
        tag = f"_{self.tag}" if self.tag else ""
        if HARMONICS != (2.0,):
            tag += "_h" + "-".join(f"{h:g}" for h in HARMONICS)
        return f"{self.arch}_{self.strategy}{kd}_{self.train.replace('+', '-')}{tag}_s{self.seed}"

    def teacher_spec(self) -> "RunSpec":
        return replace(self, arch=self.teacher, strategy="scratch", teacher=None, seed=0)


def split_recordings(ids: Sequence[str], fraction: float, seed: int):
    ids = sorted(ids)
    rng = np.random.RandomState(1000 + seed)
    perm = rng.permutation(len(ids))
    k = int(round(fraction * len(ids)))
    val = sorted(ids[i] for i in perm[:k])
    return [i for i in ids if i not in val], val


def training_data(spec: RunSpec, verbose: bool = True):
    recs = {}
    for part in spec.train.split("+"):
        recs.update(select(part, verbose))
    tr_ids, val_ids = split_recordings(list(recs), spec.val_fraction, 0)
    return {r: recs[r] for r in tr_ids}, {r: recs[r] for r in val_ids}


def build(arch: str):
    from . import models
    return models.build_model(arch)




def block_output(model, x):
    """The last block's output (B, W, 180) and the logits."""
    import torch
    h = torch.relu(model.stem(x))
    for b in model.blocks:
        h = h + b.conv2(torch.relu(b.conv1(h)))
    z = model.head2(torch.relu(model.head1(h)))[:, 0]
    return h, z


def train_run(spec: RunSpec, verbose: bool = True, threads: int = 1) -> dict:
    import torch
    from . import losses as LS
    RESULTS.mkdir(parents=True, exist_ok=True)
    res_path = RESULTS / f"{spec.name}.json"
    run_dir = RUNS / spec.name
    if res_path.is_file() and (run_dir / "model.pt").is_file():
        return json.loads(res_path.read_text())
    torch.set_num_threads(threads)
    teacher = None
    if spec.strategy != "scratch":
        tspec = spec.teacher_spec()
        train_run(tspec, verbose, threads)
        teacher = build(tspec.arch)
        teacher.load_state_dict(torch.load(RUNS / tspec.name / "model.pt"))
        teacher.eval()
    tr, val = training_data(spec, verbose)
    x, y = augmented_pool(tr, spec.aug, spec.copies, seed=0, verbose=verbose)
    zt = None
    if teacher is not None and spec.strategy in ("hard", "soft", "dkd"):
        # the teacher's logits on the pool, once per (teacher, pool)
        key = hashlib.sha256(x[:: max(1, len(x) // 997)].tobytes() + y.tobytes()).hexdigest()[:16]
        cache = RUNS / spec.teacher_spec().name / f"logits_{key}.npy"
        if cache.is_file():
            zt = torch.from_numpy(np.load(cache))
        else:
            with torch.no_grad():
                zt = torch.cat([teacher(torch.from_numpy(x[i:i + 2048])) for i in range(0, len(x), 2048)])
            np.save(cache, zt.numpy())
    ft_all = None
    if teacher is not None and spec.strategy == "feature":
        with torch.no_grad():   # the teacher's last block output on the pool, once (float16 to halve memory)
            ft_all = torch.cat([block_output(teacher, torch.from_numpy(x[i:i + 2048]))[0].half()
                                for i in range(0, len(x), 2048)])
    torch.manual_seed(spec.seed)
    rng = np.random.RandomState(spec.seed)
    model = build(spec.arch)
    reg = None
    params = list(model.parameters())
    if spec.strategy == "feature":
        reg = LS.FitNetRegressor(model.stem.out_channels, teacher.stem.out_channels, sp.N_CLASSES)
        params += list(reg.parameters())
    opt = torch.optim.Adam(params, lr=spec.lr)
    steps = spec.passes * int(np.ceil(len(y) / spec.batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=spec.lr, total_steps=steps, pct_start=0.15)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    t0 = time.time()
    step = 0
    warm = max(1, steps // 2)
    for ep in range(spec.passes):
        model.train()
        perm = torch.from_numpy(rng.permutation(len(y)))
        tot, nb = 0.0, 0
        for b0 in range(0, len(y), spec.batch):
            idx = perm[b0:b0 + spec.batch]
            xb, yb = xt[idx], yt[idx]
            if spec.strategy == "feature":
                ft = ft_all[idx].float()
                fs, z = block_output(model, xb)
                loss = LS.feature_strategy_loss(z, yb, fs, ft, reg)
            else:
                z = model(xb)
                if spec.strategy == "scratch":
                    loss = torch.nn.functional.cross_entropy(z, yb)
                elif spec.strategy == "hard":
                    loss = LS.hard_loss(z, zt[idx])
                elif spec.strategy == "soft":
                    loss = LS.soft_loss(z, zt[idx], yb)
                elif spec.strategy == "dkd":
                    # the study's warm-up (20 of 40 epochs) as a fraction: half of the steps
                    loss = LS.dkd_loss(z, zt[idx], yb, epoch=step + 1, warmup=warm)
                else:
                    raise ValueError(spec.strategy)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            nb += 1
            tot += float(loss)
        if verbose:
            print(f"{spec.name} pass {ep + 1}/{spec.passes} loss {tot / max(1, nb):.4f} "
                  f"{time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    train_s = time.time() - t0
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), run_dir / "model.pt")
    A = _prior_matrix()
    metrics = {"val": decode_metrics(predict_probs(model, val), val, A)}
    for name in [e for e in spec.eval.split(",") if e]:
        recs = select(name, verbose)
        metrics[name] = decode_metrics(predict_probs(model, recs), recs, A)
    out = dict(name=spec.name, spec={**asdict(spec)}, params=int(sum(p.numel() for p in model.parameters())),
               train_windows=int(len(y)), train_recordings=sorted(tr), val_recordings=sorted(val),
               cost=dict(train_s=round(train_s, 1), threads=threads, machine="2-core CPU"),
               metrics=metrics)
    res_path.write_text(json.dumps(out, indent=1) + "\n")
    return out


# --------------------------------------------------------------------------------------------
# The distillation study on the spectral networks

STUDY_TEACHER = "specnet10w32"
STUDY_STUDENTS = ("specnet1", "specnet2", "specnet6", "specnet10")
STUDY_SEEDS = (0, 1, 2)
STUDY_DIR = REPO / "docs" / "results" / "specnet"


def study_specs(base: RunSpec) -> List[RunSpec]:
    out = []
    for seed in STUDY_SEEDS:
        for arch in STUDY_STUDENTS:
            for strat in STRATEGIES:
                out.append(replace(base, arch=arch, strategy=strat, seed=seed,
                                   teacher=STUDY_TEACHER if strat != "scratch" else None))
    return out


def _fit(params: np.ndarray, mae: np.ndarray):
    """MAE = a * params^b, least squares in log-log; returns a, b, R^2 (of the log fit)."""
    lx, ly = np.log(params), np.log(mae)
    b, la = np.polyfit(lx, ly, 1)
    pred = la + b * lx
    ss = ((ly - ly.mean()) ** 2).sum()
    r2 = 1.0 - ((ly - pred) ** 2).sum() / ss if ss > 0 else float("nan")
    return float(np.exp(la)), float(b), float(r2)


def study_report(base: RunSpec, out_dir: Path = STUDY_DIR) -> str:
    """docs/results/specnet/study_<train>.md (+ .json, study_<train>_<set>.png) from
    results/spectrain/*.json: one fold (the students trained on base.train), then study.md (index)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    specs = study_specs(base)
    rows = {}
    for sp_ in specs:
        f = RESULTS / f"{sp_.name}.json"
        if f.is_file():
            rows[sp_.name] = (sp_, json.loads(f.read_text()))
    teacher = RESULTS / f"{replace(base, arch=STUDY_TEACHER, strategy='scratch', teacher=None, seed=0).name}.json"
    tres = json.loads(teacher.read_text()) if teacher.is_file() else None
    other = "bami1" if base.train == "bami2" else "bami2"
    sets = [(other, f"{other.upper().replace('BAMI', 'BAMI-')} (cross-subset)"), ("wrist", "wrist (another device)")]
    tag = base.train
    modes = ("raw", "online", "offline")
    table = {}
    for name, (sp_, r) in rows.items():
        cell = table.setdefault((sp_.arch, sp_.strategy), dict(params=r["params"], runs=[]))
        cell["runs"].append(r)
    lines = ["# The distillation study on the spectral networks (specnet)", "",
             f"Generated by `PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.spectrain --study-report` from "
             f"results/spectrain/*.json ({len(rows)} of {len(specs)} runs present). Teacher {STUDY_TEACHER} "
             f"(scratch, seed 0); students {', '.join(STUDY_STUDENTS)} x {{{', '.join(STRATEGIES)}}} x seeds "
             f"{list(STUDY_SEEDS)}. Trained on {base.train} ({int(100 * (1 - base.val_fraction))}% of its recordings; "
             f"the rest is the validation set), {base.passes} passes over a pool of {base.copies} augmented copies; "
             "MAE in BPM, mean +- standard deviation over the seeds (n = seeds present). Online = the learnt-prior "
             "forward filter (causal), offline = forward-backward. The study's reference figures for DKD "
             "(ResNet students, time-domain input, BAMI cross-subset): 8.90 / 6.77 / 6.29 / 5.76 BPM for 1 / 2 / 6 / 10 blocks.", ""]
    if tres:
        t = tres["metrics"]
        lines += [f"Teacher {STUDY_TEACHER}: {tres['params']} parameters; " + "; ".join(
            f"{lbl}: raw {t[k]['raw']:.2f} / online {t[k]['online']:.2f} / offline {t[k]['offline']:.2f}"
            for k, lbl in sets if k in t) + f"; training {tres['cost']['train_s']:.0f} s on 1 thread.", ""]
    summary = {}
    for key, lbl in sets:
        lines += [f"## {lbl}", "", "| student | params | " + " | ".join(f"{s} raw | {s} online | {s} offline" for s in STRATEGIES) + " |",
                  "|---|---:|" + "---:|" * (3 * len(STRATEGIES))]
        for arch in STUDY_STUDENTS:
            cells = []
            par = None
            for strat in STRATEGIES:
                c = table.get((arch, strat))
                for m in modes:
                    if not c:
                        cells.append("-")
                        continue
                    par = c["params"]
                    v = np.array([r["metrics"][key][m] for r in c["runs"] if key in r["metrics"]])
                    summary.setdefault(key, {}).setdefault(strat, {}).setdefault(m, {})[arch] = \
                        dict(mean=float(v.mean()), std=float(v.std(ddof=1)) if len(v) > 1 else 0.0, n=int(len(v)), params=par)
                    cells.append(f"{v.mean():.2f} +- {v.std(ddof=1) if len(v) > 1 else 0:.2f}")
            lines.append(f"| {arch} | {par or '-'} | " + " | ".join(cells) + " |")
        lines += ["", "Rank of the strategies per student (online MAE, mean over seeds; 1 = best):", ""]
        for arch in STUDY_STUDENTS:
            means = {st: summary.get(key, {}).get(st, {}).get("online", {}).get(arch, {}).get("mean") for st in STRATEGIES}
            means = {k: v for k, v in means.items() if v is not None}
            order = sorted(means, key=means.get)
            lines.append(f"- {arch}: " + " < ".join(f"{st} {means[st]:.2f}" for st in order))
        lines += ["", "Fits MAE = a * params^b (least squares in log-log over the students' seed means):", "",
                  "| strategy | mode | a | b | R^2 |", "|---|---|---:|---:|---:|"]
        for strat in STRATEGIES:
            for m in ("raw", "online"):
                d = summary.get(key, {}).get(strat, {}).get(m, {})
                if len(d) >= 3:
                    a, b, r2 = _fit(np.array([d[x]["params"] for x in d], float), np.array([d[x]["mean"] for x in d]))
                    lines.append(f"| {strat} | {m} | {a:.3g} | {b:.3f} | {r2:.3f} |")
                    summary[key][strat][m + "_fit"] = dict(a=a, b=b, r2=r2)
        lines.append("")
        fig, ax = plt.subplots(1, 2, figsize=(10, 4))
        for i, m in enumerate(("raw", "online")):
            for strat in STRATEGIES:
                d = summary.get(key, {}).get(strat, {}).get(m, {})
                if not d:
                    continue
                xs = [d[x]["params"] for x in STUDY_STUDENTS if x in d]
                ax[i].errorbar(xs, [d[x]["mean"] for x in STUDY_STUDENTS if x in d],
                               yerr=[d[x]["std"] for x in STUDY_STUDENTS if x in d], marker="o", capsize=3, label=strat)
            ax[i].set_xscale("log")
            ax[i].set_xlabel("parameters")
            ax[i].set_ylabel(f"MAE {m} (BPM)")
            ax[i].set_title(f"{lbl}: {m}")
            ax[i].grid(alpha=0.3)
        ax[0].legend()
        fig.tight_layout()
        out_dir.mkdir(parents=True, exist_ok=True)
        fig.savefig(out_dir / f"study_{tag}_{key}.png", dpi=90)
        plt.close(fig)
        lines += [f"![{lbl}](study_{tag}_{key}.png)", ""]
    lines += ["## Training cost", "", "Seconds per run on one thread of this project's 2-core CPU machine (mean over "
              "seeds; two runs at a time shared the machine; the teacher's outputs on the pool are computed once and "
              "cached, the feature strategy's once per run):", "",
              "| student | " + " | ".join(STRATEGIES) + " |", "|---|" + "---:|" * len(STRATEGIES)]
    for arch in STUDY_STUDENTS:
        cells = []
        for strat in STRATEGIES:
            c = table.get((arch, strat))
            cells.append(f"{np.mean([r['cost']['train_s'] for r in c['runs']]):.0f}" if c else "-")
        lines.append(f"| {arch} | " + " | ".join(cells) + " |")
    lines.append("")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"study_{tag}.md").write_text("\n".join(lines) + "\n")
    (out_dir / f"study_{tag}.json").write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    study_index(out_dir)
    return "\n".join(lines)


def study_index(out_dir: Path = STUDY_DIR) -> str:
    """docs/results/specnet/study.md: the folds' pages and, per student and strategy, the cross-subset
    test MAE over both folds (mean +- sd over every seed of both) and the strategies' ranking."""
    folds = {}
    for train in ("bami1", "bami2"):
        f = out_dir / f"study_{train}.json"
        if f.is_file():
            folds[train] = json.loads(f.read_text())
    test_of = {"bami1": "bami2", "bami2": "bami1"}
    lines = ["# The distillation study on the spectral networks (specnet)", "",
             "Generated by `PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.spectrain --study-report --train "
             "bami1` (and `--train bami2`). Per fold (students, teacher and validation from one BAMI subset, "
             "tested on the other and on `wrist`): " + ", ".join(f"[trained on {t}](study_{t}.md)" for t in folds) + ".", ""]
    if not folds:
        (out_dir / "study.md").write_text("\n".join(lines) + "\n")
        return "\n".join(lines)
    runs: Dict[tuple, List[float]] = {}
    for f in sorted(RESULTS.glob("*.json")):
        r = json.loads(f.read_text())
        sp_ = r["spec"]
        if sp_["train"] not in folds or sp_["arch"] not in STUDY_STUDENTS or sp_["tag"] or sp_["seed"] not in STUDY_SEEDS:
            continue
        if sp_["strategy"] != "scratch" and sp_["teacher"] != STUDY_TEACHER:
            continue
        t = test_of[sp_["train"]]
        if t in r["metrics"]:
            for m in ("raw", "online", "offline"):
                runs.setdefault((sp_["arch"], sp_["strategy"], m), []).append(r["metrics"][t][m])
    lines += [f"## BAMI cross-subset, both folds ({', '.join(f'{t} -> {test_of[t]}' for t in folds)})", "",
              "MAE in BPM of the test subset, mean +- sd over every run (3 seeds x the folds present; n in brackets).", "",
              "| student | " + " | ".join(f"{st} raw | {st} online" for st in STRATEGIES) + " |",
              "|---|" + "---:|" * (2 * len(STRATEGIES))]
    for arch in STUDY_STUDENTS:
        cells = []
        for st in STRATEGIES:
            for m in ("raw", "online"):
                v = np.array(runs.get((arch, st, m), []))
                cells.append(f"{v.mean():.2f} +- {v.std(ddof=1):.2f} ({len(v)})" if len(v) > 1 else "-")
        lines.append(f"| {arch} | " + " | ".join(cells) + " |")
    lines += ["", "Rank of the strategies per student (raw MAE, mean over both folds; the study's own "
              "metric): ", ""]
    for arch in STUDY_STUDENTS:
        means = {st: np.mean(runs[(arch, st, "raw")]) for st in STRATEGIES if runs.get((arch, st, "raw"))}
        order = sorted(means, key=means.get)
        lines.append(f"- {arch}: " + " < ".join(f"{st} {means[st]:.2f}" for st in order)
                     + (f"; DKD ranks {order.index('dkd') + 1} of {len(order)}" if "dkd" in order else ""))
    lines += ["", "The study's DKD figures (ResNet students, time-domain input, BAMI cross-subset): 8.90 / 6.77 / "
              "6.29 / 5.76 BPM for 1 / 2 / 6 / 10 blocks.", ""]
    (out_dir / "study.md").write_text("\n".join(lines) + "\n")
    return "\n".join(lines)


RECIPE_NOTES = {
    "augA": "synthetic motion of the first version (the window's own accelerometer spectrum mixed in, commit 423dd9b)",
    "augB": "as augA, no scale / noise",
}


def recipes_report(out_dir: Path = STUDY_DIR, train: str = "bami1") -> str:
    """docs/results/specnet/recipes.md: every scratch run on `train` grouped by (architecture, tag),
    validation (held-out recordings of the training data, and wrist: leave-one-data-set-out) and the
    cross-subset test beside it. The recipe is chosen on the validation columns only."""
    groups: Dict[tuple, List[dict]] = {}
    for f in sorted(RESULTS.glob("*.json")):
        r = json.loads(f.read_text())
        sp_ = r["spec"]
        if sp_["strategy"] != "scratch" or sp_["train"] != train:
            continue
        tag = r["name"].split(f"_{train}")[1].rsplit("_s", 1)[0].lstrip("_") or "(default recipe)"
        groups.setdefault((sp_["arch"], tag), []).append(r)

    def cell(runs, key, m):
        v = np.array([x["metrics"][key][m] for x in runs if key in x["metrics"]])
        if not len(v):
            return "-"
        return f"{v.mean():.2f} +- {v.std(ddof=1):.2f}" if len(v) > 1 else f"{v[0]:.2f}"

    lines = ["# Choosing the spectral networks' training recipe", "",
             f"Generated by `PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.spectrain --recipes-report` from "
             f"results/spectrain/*.json: every from-scratch run trained on `{train}`, grouped by architecture and "
             "recipe tag (mean +- sd over the seeds present). Validation = the held-out 20% of the training "
             "recordings AND `wrist` (another device, never trained on: leave-one-data-set-out); the recipe was "
             "chosen on these two columns (lowest wrist online MAE among recipes within 0.1 BPM of the best "
             "validation online MAE). `bami2` is the cross-subset TEST: shown, not used to choose. Tags with "
             "`_h...` used other harmonic sets in the features (h2-0.5: 2x and 1/2x; h2-0.5-3: also 3x; the "
             "shipped features use 2x only). MAE in BPM; online = learnt-prior forward filter.", "",
             "| arch | recipe tag | seeds | augmentation | val online | val offline | wrist raw | wrist online | wrist online 80% | bami2 raw (test) | bami2 online (test) | bami2 offline (test) | train s (1 thread) |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for (arch, tag), runs in sorted(groups.items()):
        aug = runs[0]["spec"]["aug"]
        aug_s = ", ".join(f"{k} {v:g}" for k, v in aug.items() if k in ("p_scale", "p_keep", "p_motion", "motion_max", "p_noise", "p_shape"))
        if tag in RECIPE_NOTES:
            aug_s += f" ({RECIPE_NOTES[tag]})"
        secs = np.mean([x["cost"]["train_s"] for x in runs])
        lines.append(f"| {arch} | {tag} | {len(runs)} | {aug_s} | {cell(runs, 'val', 'online')} | {cell(runs, 'val', 'offline')} | "
                     f"{cell(runs, 'wrist', 'raw')} | {cell(runs, 'wrist', 'online')} | {cell(runs, 'wrist', 'online_cov80')} | "
                     f"{cell(runs, 'bami2', 'raw')} | {cell(runs, 'bami2', 'online')} | {cell(runs, 'bami2', 'offline')} | {secs:.0f} |")
    others = []
    for f in sorted(RESULTS.glob("*.json")):
        r = json.loads(f.read_text())
        if r["spec"]["strategy"] == "scratch" and r["spec"]["train"] not in (train, "bami2", "bami"):
            others.append(r)
    if others:
        lines += ["", "Training on more data sets (validation = 20% of the recordings of all of them):", "",
                  "| run | trained on | val online | bami2 raw (test) | bami2 online (test) | wrist online (in training) |",
                  "|---|---|---:|---:|---:|---:|"]
        for r in others:
            m = r["metrics"]
            lines.append(f"| {r['name']} | {r['spec']['train']} | {m['val']['online']:.2f} | {m['bami2']['raw']:.2f} | "
                         f"{m['bami2']['online']:.2f} | {m['wrist']['online']:.2f} |")
        lines += ["", "Adding `wrist` (poor PPG in most recordings) to the training data made BAMI-2 worse online "
                  "(specnet2 1.61 -> 3.74, specnet6 1.75 -> 2.71, specnet10 1.79 -> 2.00 BPM, against the "
                  "same architectures' BAMI-1 runs) and the validation error higher (3.5-5.1 against 2.0-3.2 BPM): "
                  "the shipped models are trained on BAMI-1 alone, and `wrist` stays a data set they never saw."]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "recipes.md").write_text("\n".join(lines) + "\n")
    return "\n".join(lines)


def fusion_report(run: str, out_dir: Path = STUDY_DIR) -> str:
    """docs/results/specnet/fusion.md: a run's network alone vs the product of its probabilities and
    the spectral estimator's likelihood (feature 2 + floor, normalised: SpectralEstimator::predict),
    through the same decoders, on its validation recordings and its evaluated sets."""
    import torch
    res = json.loads((RESULTS / f"{run}.json").read_text())
    spec = res["spec"]
    model = build(spec["arch"])
    model.load_state_dict(torch.load(RUNS / run / "model.pt"))
    _, val = training_data(RunSpec(train=spec["train"], val_fraction=spec["val_fraction"]), False)
    A = _prior_matrix()
    floor = sp.DEFAULT_PARAMS.floor
    lines = ["# Fusion of a spectral network with the spectral estimator's likelihood", "",
             f"Generated by `PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.spectrain --fusion-report {run}`. "
             "MAE in BPM through the learnt-prior decoders (online = forward filter). `product` = the network's "
             "probabilities times the spectral estimator's likelihood, renormalised. Chosen on the validation "
             "rows (the first) and wrist (left out of training): the product does not help there, so the shipped "
             "models decode the network's probabilities alone.", "",
             "| set | estimator | raw | online | lag 3 | offline | online 80% |", "|---|---|---:|---:|---:|---:|---:|"]
    sets = [("validation", val)] + [(k, select(k, False)) for k in spec["eval"].split(",") if k]
    for name, recs in sets:
        P = predict_probs(model, recs)
        S = {}
        for r in recs:
            f2 = recording_features(recs[r])[:, 2].astype(np.float64) + floor
            S[r] = f2 / f2.sum(axis=1, keepdims=True)
        prod = {r: P[r] * S[r] / (P[r] * S[r]).sum(axis=1, keepdims=True) for r in recs}
        for lbl, Q in (("network", P), ("spectral estimator", S), ("product", prod)):
            d = decode_metrics(Q, recs, A)
            lines.append(f"| {name} | {lbl} | {d['raw']:.2f} | {d['online']:.2f} | {d['lag3']:.2f} | {d['offline']:.2f} | {d['online_cov80']:.2f} |")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "fusion.md").write_text("\n".join(lines) + "\n")
    return "\n".join(lines)


def parse_augment(text: str, base: Augment) -> Augment:
    """'p_scale=0.3,s_min=0.7' -> base with those fields replaced."""
    kw = {}
    for item in [t for t in text.split(",") if t]:
        k, v = item.split("=")
        if k not in Augment.__dataclass_fields__:
            raise SystemExit(f"--aug: unknown field {k!r} (fields: {', '.join(Augment.__dataclass_fields__)})")
        kw[k] = float(v)
    return replace(base, **kw)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="specnet2")
    ap.add_argument("--strategy", default="scratch", choices=STRATEGIES)
    ap.add_argument("--teacher", default="specnet10w32")
    ap.add_argument("--train", default="bami1")
    ap.add_argument("--eval", default="bami2,wrist")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--passes", type=int, default=RunSpec.passes)
    ap.add_argument("--copies", type=int, default=RunSpec.copies)
    ap.add_argument("--no-aug", action="store_true")
    ap.add_argument("--aug", default="", help="augmentation overrides, e.g. p_scale=0.3,s_min=0.7")
    ap.add_argument("--arch-lr", type=float, default=RunSpec.lr, dest="lr")
    ap.add_argument("--tag", default="")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--study", default=None, metavar="I/K",
                    help="run shard I of K of the distillation study (the teacher first, if missing)")
    ap.add_argument("--study-report", action="store_true", help="write docs/results/specnet/study.md from the results")
    ap.add_argument("--fusion-report", default=None, metavar="RUN", help="write docs/results/specnet/fusion.md for a run")
    ap.add_argument("--recipes-report", action="store_true", help="write docs/results/specnet/recipes.md from the results")
    a = ap.parse_args(argv)
    spec = RunSpec(arch=a.arch, strategy=a.strategy, teacher=a.teacher if a.strategy != "scratch" else None,
                   train=a.train, eval=a.eval, seed=a.seed, passes=a.passes, copies=a.copies,
                   aug=parse_augment(a.aug, Augment.none() if a.no_aug else Augment()), tag=a.tag, lr=a.lr)
    if a.fusion_report:
        print(fusion_report(a.fusion_report))
        return 0
    if a.recipes_report:
        print(recipes_report())
        return 0
    if a.study_report:
        print(study_report(replace(spec, arch=STUDY_TEACHER, eval=spec.eval if a.train == "bami1" else spec.eval)))
        return 0
    if a.study:
        i, k = (int(t) for t in a.study.split("/"))
        train_run(replace(spec, arch=STUDY_TEACHER, strategy="scratch", teacher=None, seed=0), threads=a.threads)
        specs = study_specs(spec)
        if k > 1:   # the shards interleave the cheap and the costly runs
            specs = sorted(specs, key=lambda r: (r.seed, STRATEGIES.index(r.strategy), r.arch))
        for j, s_ in enumerate(specs):
            if j % k == i:
                t0 = time.time()
                train_run(s_, threads=a.threads)
                print(f"{s_.name} done ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
        return 0
    r = train_run(spec, threads=a.threads)
    m = r["metrics"]
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "per_recording_online"} for k, v in m.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
