"""Preprocessing twin of include/ppghr/dsp: a raw sensor recording -> the network windows.

Training must see exactly the windows the device computes, so this module repeats the C++ chain
step by step, in float64, and returns the same float32 windows (held to 1e-5 relative by
tools/tests/test_preprocess.py against the C++ program tests/dsp_parity_main.cpp, and by the
"dsp golden" C++ test against tests/dsp_golden.hpp, which this module writes).

The chain (include/ppghr/dsp/preprocessor.hpp):

1. Resample fs_in -> fs_out (25 Hz ResNet / MLP, 32 Hz PULSE); fs_in any float in [16, 1024] Hz.
   The path is chosen like ppghr::Resampler::init() with the default capacity: an integer fs_in whose
   polyphase filter fits the default capacity (every rate of COMMON_SENSOR_RATES) takes the exact
   polyphase FIR, every other rate (non-integer, or e.g. 200, 256, 1000 Hz) band-limited
   interpolation (interp_design(), interp_table(): Kaiser-windowed sinc at the lower rate's Nyquist,
   tabulated at 128 points per lower-rate period, linearly interpolated at each sample's exact
   offset, each output's weights normalised to sum 1). Polyphase: ratio up/down = fs_out/fs_in reduced; prototype = scipy.signal.firwin(taps, min(fs_in, fs_out)/2,
   window=('kaiser', beta), fs=up*fs_in), taps and beta from Kaiser's formulas for 65 dB and a
   transition band of [0.8, 1.2] x the lower Nyquist; each polyphase branch scaled to unit DC gain.
   Output n is the signal at time n/fs_out exactly (the filter's delay is compensated by
   look-ahead). The signal is taken as x[0] before its start and x[-1] after its end.
2. Cut window k = output samples [2k fs_out, (2k + 8) fs_out) = seconds [2k, 2k + 8) of the
   recording (BAMI's label k), for every k with (2k + 8) fs_in <= n_samples.
3. Per window and channel: if any value is NaN/inf -> status NON_FINITE, zeros. Else
   [band-pass: scipy.signal.sosfiltfilt with scipy.signal.butter(4, [0.5, 4], btype='band',
   fs=fs_out, output='sos') and its defaults (padtype 'odd', padlen 27)], then
   - 'zscore' (ResNet): (x - mean) / population std; status FLAT and zeros when
     std <= FLAT_TOLERANCE * max|x| (x as resampled, before the band-pass);
   - 'global' (PULSE): (x - mean_c) / std_c with the training set's constants;
   - 'none': unchanged.
4. Cast to float32.

Why sosfiltfilt and not filtfilt(b, a): see include/ppghr/dsp/bandpass.hpp (same filter, same
pad length 27, same initial conditions; the sections are numerically sound, the 8th-order
polynomial is not). Why the band-pass runs per window and not over the whole recording: the
device only ever has the window, so training must not see better-filtered data than it.

Run ``python3 -m ppghr_tools.preprocess --golden tests/dsp_golden.hpp`` to refresh the C++ golden,
``--check`` to compare the committed one with a fresh computation.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

import numpy as np
import scipy.signal

WINDOW_S = 8
STRIDE_S = 2
RESNET_RATE = 25
PULSE_RATE = 32
COMMON_SENSOR_RATES = (25, 32, 50, 64, 100, 125, 128)
MIN_SENSOR_RATE = 16
MAX_SENSOR_RATE = 1024
INTERP_OVERSAMPLE = 128
RESAMPLER_STOPBAND_DB = 65.0
RESAMPLER_TRANSITION = 0.4
BANDPASS_HZ = (0.5, 4.0)
BANDPASS_ORDER = 4
FLAT_TOLERANCE = 1e-9

STATUS_OK, STATUS_FLAT, STATUS_NON_FINITE = 0, 1, 2
STATUS_NAMES = {STATUS_OK: "ok", STATUS_FLAT: "flat", STATUS_NON_FINITE: "non-finite"}

NETS = {
    # net: (rate, band-pass, normalisation)
    "resnet": (RESNET_RATE, True, "zscore"),
    "pulse": (PULSE_RATE, False, "global"),
}

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BAMI_ROOT = REPO_ROOT.parent / "shared" / "data" / "bami"


# --------------------------------------------------------------------------------------------
# Resampler
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ResamplerDesign:
    """Twin of ppghr::ResamplerDesign (resampler.hpp)."""
    up: int
    down: int
    taps: int
    taps_per_phase: int
    delay: int
    cutoff: float
    beta: float

    @property
    def identity(self) -> bool:
        return self.up == 1 and self.down == 1


def resampler_design(fs_in: int, fs_out: int) -> ResamplerDesign:
    """Same formula and operation order as ppghr::resampler_design()."""
    fs_in, fs_out = int(fs_in), int(fs_out)
    if not (1 <= fs_in <= MAX_SENSOR_RATE and 1 <= fs_out <= MAX_SENSOR_RATE):
        raise ValueError(f"unsupported rate pair {fs_in} -> {fs_out} Hz")
    g = math.gcd(fs_in, fs_out)
    up, down = fs_out // g, fs_in // g
    if up == 1 and down == 1:
        return ResamplerDesign(1, 1, 1, 1, 0, 1.0, 0.0)
    fs_up = float(up) * fs_in
    nyq_low = 0.5 * float(min(fs_in, fs_out))
    width = RESAMPLER_TRANSITION * nyq_low
    n = (RESAMPLER_STOPBAND_DB - 7.95) / (2.285 * 2.0 * math.pi * width / fs_up)
    taps = int(math.ceil(n)) + 1
    if taps % 2 == 0:
        taps += 1
    return ResamplerDesign(up, down, taps, (taps + up - 1) // up, (taps - 1) // 2,
                           nyq_low / (0.5 * fs_up), 0.1102 * (RESAMPLER_STOPBAND_DB - 8.7))


def resampler_branches(design: ResamplerDesign) -> np.ndarray:
    """[up, taps_per_phase] float64: branch p's tap q weighs sample i0 - q; each branch sums to 1."""
    if design.identity:
        return np.ones((1, 1))
    h = scipy.signal.firwin(design.taps, design.cutoff, window=("kaiser", design.beta))
    hp = np.zeros(design.up * design.taps_per_phase)
    hp[:design.taps] = h
    g = hp.reshape(design.taps_per_phase, design.up).T.copy()
    return g / g.sum(axis=1, keepdims=True)


def _ceil_to_int(x: float) -> int:
    t = int(x)
    return t + 1 if float(t) < x else t


# ppghr::kInterpHalfPoints / kInterpTableSize: same constant expression.
INTERP_HALF_POINTS = _ceil_to_int(
    0.5 * (RESAMPLER_STOPBAND_DB - 7.95) / (2.285 * 2.0 * math.pi * (0.5 * RESAMPLER_TRANSITION))
    * INTERP_OVERSAMPLE)
INTERP_TABLE_SIZE = INTERP_HALF_POINTS + 2


def _polyphase_capacity(fs_out: int):
    ds = [resampler_design(r, fs_out) for r in COMMON_SENSOR_RATES]
    return (max(1, max(d.up * d.taps_per_phase for d in ds)), max(1, max(d.taps_per_phase for d in ds)))


def uses_polyphase(fs_in: float, fs_out: int) -> bool:
    """Whether ppghr::Resampler (default capacity) takes the exact polyphase path for this pair."""
    fs_in = float(fs_in)
    if not (MIN_SENSOR_RATE <= fs_in <= MAX_SENSOR_RATE) or fs_in != math.floor(fs_in):
        return False
    d = resampler_design(int(fs_in), fs_out)
    max_coef, max_taps = _polyphase_capacity(int(fs_out))
    return d.taps_per_phase <= max_taps and d.up * d.taps_per_phase <= max_coef


@dataclass(frozen=True)
class InterpDesign:
    """Twin of ppghr::InterpDesign (resampler.hpp)."""
    ratio: float   # fs_in / fs_out
    step: float    # table points per input sample
    half: int      # M: output n reads samples floor(n ratio) - M + 1 .. floor(n ratio) + M


def interp_design(fs_in: float, fs_out: int) -> InterpDesign:
    """Same formula and operation order as ppghr::interp_design()."""
    fs_in = float(fs_in)
    if not (MIN_SENSOR_RATE <= fs_in <= MAX_SENSOR_RATE) or not (1 <= fs_out <= MAX_SENSOR_RATE):
        raise ValueError(f"unsupported rate pair {fs_in} -> {fs_out} Hz (sensor rate must be in "
                         f"[{MIN_SENSOR_RATE}, {MAX_SENSOR_RATE}] Hz)")
    ratio = fs_in / float(fs_out)
    step = float(INTERP_OVERSAMPLE) * (float(fs_out) / fs_in) if fs_in > fs_out else float(INTERP_OVERSAMPLE)
    return InterpDesign(ratio, step, int(math.ceil(float(INTERP_HALF_POINTS + 1) / step)))


def _bessel_i0(x: float) -> float:
    """ppghr::detail::bessel_i0: the same power series, same order."""
    q = 0.25 * x * x
    term, total = 1.0, 1.0
    for k in range(1, 1000):
        term *= q / (float(k) * k)
        total += term
        if term < total * 1e-17:
            break
    return total


def interp_table() -> np.ndarray:
    """ppghr::detail::interp_table(): h[k] = sinc(k / 128) kaiser(k / K), k = 0..K, then 0."""
    beta = 0.1102 * (RESAMPLER_STOPBAND_DB - 8.7)
    i0b = _bessel_i0(beta)
    h = np.zeros(INTERP_TABLE_SIZE)
    for k in range(INTERP_HALF_POINTS + 1):
        u = float(k) / float(INTERP_OVERSAMPLE)
        y = math.pi * u
        s = 1.0 if k == 0 else math.sin(y) / y
        r = float(k) / float(INTERP_HALF_POINTS)
        h[k] = s * (_bessel_i0(beta * math.sqrt(1.0 - r * r)) / i0b)
    return h


def interpolate(x: np.ndarray, fs_in: float, fs_out: int, n_out: int, block: int = 1 << 12) -> np.ndarray:
    """Band-limited interpolation path of ppghr::Resampler (reference::interpolate()): output n at
    input position t = n ratio reads samples floor(t) - M + 1 .. floor(t) + M (x extended with x[0]
    / x[-1]), weight of sample i = table interpolated at |i - t| step, sum of weights normalised to 1."""
    d = interp_design(fs_in, fs_out)
    h = interp_table()
    out = np.empty(n_out)
    j = np.arange(-d.half + 1, d.half + 1, dtype=np.int64)
    for start in range(0, n_out, block):
        n = np.arange(start, min(start + block, n_out), dtype=np.int64)
        t = n.astype(np.float64) * d.ratio
        i0 = np.floor(t).astype(np.int64)
        idx = i0[:, None] + j[None, :]
        pos = np.abs(idx.astype(np.float64) - t[:, None]) * d.step
        k = pos.astype(np.int64)
        inside = k <= INTERP_HALF_POINTS
        kc = np.minimum(k, INTERP_HALF_POINTS)
        w = np.where(inside, h[kc] + (pos - kc) * (h[kc + 1] - h[kc]), 0.0)
        v = x[np.clip(idx, 0, len(x) - 1)]
        out[start:start + len(n)] = (w * v).sum(axis=1) / w.sum(axis=1)
    return out


def resample(x: np.ndarray, fs_in: float, fs_out: int, n_out: Optional[int] = None,
             block: int = 1 << 15) -> np.ndarray:
    """Resamples a 1-D signal like ppghr::Resampler streams it: out[n] = signal at n / fs_out.

    n_out defaults to the outputs whose time lies before the end of the recording
    (ceil(len(x) * up / down), resp. ceil(len(x) fs_out / fs_in)); outputs may reach past it
    (x is extended with x[-1])."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1 or len(x) == 0:
        raise ValueError("resample() takes a non-empty 1-D signal")
    if not uses_polyphase(fs_in, fs_out):
        if n_out is None:
            n_out = int(math.ceil(len(x) * float(fs_out) / float(fs_in)))
        return interpolate(x, fs_in, fs_out, n_out)
    fs_in = int(fs_in)
    d = resampler_design(fs_in, fs_out)
    g = resampler_branches(d)
    if n_out is None:
        n_out = -(-len(x) * d.up // d.down)
    out = np.empty(n_out)
    q = np.arange(d.taps_per_phase, dtype=np.int64)
    for start in range(0, n_out, block):
        n = np.arange(start, min(start + block, n_out), dtype=np.int64)
        m0 = n * d.down + d.delay
        i0, p = m0 // d.up, m0 % d.up
        idx = np.clip(i0[:, None] - q[None, :], 0, len(x) - 1)
        out[start:start + len(n)] = (g[p] * x[idx]).sum(axis=1)
    return out


# --------------------------------------------------------------------------------------------
# Band-pass, normalisation, windows
# --------------------------------------------------------------------------------------------

def bandpass_sos(fs: float, band: Sequence[float] = BANDPASS_HZ) -> np.ndarray:
    """The ResNet band-pass: scipy.signal.butter(4, band, btype='band', fs=fs, output='sos')."""
    return scipy.signal.butter(BANDPASS_ORDER, list(band), btype="band", fs=fs, output="sos")


def n_windows(n_samples: int, fs_in: float) -> int:
    """Windows of a recording of n_samples: those with (2k + 8) fs_in <= n_samples, the product in
    float64 (ppghr::Preprocessor::windows_in_recording(): exact for integer rates)."""
    fs_in = float(fs_in)
    x = float(n_samples)
    if not fs_in > 0 or float(WINDOW_S) * fs_in > x:
        return 0
    inside = lambda k: float(2 * k + WINDOW_S) * fs_in <= x  # noqa: E731
    k = int((x / fs_in - WINDOW_S) / STRIDE_S)
    while k > 0 and not inside(k):
        k -= 1
    while inside(k + 1):
        k += 1
    return k + 1


def windows_from_recording(signal, fs_in: float, net: str = "resnet", *,
                           bandpass: Optional[bool] = None,
                           normalization: Optional[str] = None,
                           input_norm=None,
                           band: Sequence[float] = BANDPASS_HZ,
                           return_status: bool = False):
    """The float32 windows ppghr::Preprocessor produces from the same recording.

    signal: (N,) or (N, C) raw samples at fs_in (Hz, any float in [16, 1024]; C = 4 rows PPG, ACC x, y, z for 'pulse').
    net: 'resnet' (25 Hz, 200 samples, band-pass + per-window z-score) or 'pulse' (32 Hz,
    256 samples, no band-pass, global constants). bandpass / normalization ('zscore', 'global',
    'none') override the net's defaults; input_norm: [(mean, std)] per channel for 'global' (for
    'pulse' without input_norm the normalisation is 'none': the PULSE modules normalise their
    own input with the constants their blob carries).

    Returns (W, L) for 1-D input, else (W, C, L), float32; with return_status also the
    (W,) / (W, C) uint8 statuses (STATUS_OK, STATUS_FLAT, STATUS_NON_FINITE). Window k covers
    seconds [2k, 2k + 8); W = n_windows(N, fs_in).
    """
    if net not in NETS:
        raise ValueError(f"net must be one of {sorted(NETS)}, not {net!r}")
    if not (MIN_SENSOR_RATE <= float(fs_in) <= MAX_SENSOR_RATE):
        raise ValueError(f"unsupported sensor rate {fs_in} Hz (ppghr takes [{MIN_SENSOR_RATE}, "
                         f"{MAX_SENSOR_RATE}] Hz, integer or not)")
    rate, default_bp, default_norm = NETS[net]
    if normalization is None:
        normalization = default_norm if (net != "pulse" or input_norm is not None) else "none"
    if bandpass is None:
        bandpass = default_bp
    if normalization not in ("zscore", "global", "none"):
        raise ValueError(f"normalization must be 'zscore', 'global' or 'none', not {normalization!r}")
    x = np.asarray(signal)
    one_d = x.ndim == 1
    x = x.reshape(len(x), -1).astype(np.float64)
    n, c = x.shape
    if net == "pulse" and c != 4:
        raise ValueError(f"pulse windows have 4 rows (PPG, ACC x, ACC y, ACC z), got {c} channels")
    if normalization == "global":
        if input_norm is None:
            raise ValueError("normalization 'global' needs input_norm = [(mean, std)] per channel")
        norm = np.asarray(input_norm, dtype=np.float64).reshape(-1, 2)
        if norm.shape[0] != c or not np.all(np.isfinite(norm)) or not np.all(norm[:, 1] > 0):
            raise ValueError("input_norm needs one finite (mean, std > 0) pair per channel")
    length, stride = WINDOW_S * rate, STRIDE_S * rate
    w = n_windows(n, fs_in)
    out = np.zeros((w, c, length), dtype=np.float32)
    status = np.zeros((w, c), dtype=np.uint8)
    if w > 0:
        n_out = (w - 1) * stride + length
        y = np.stack([resample(x[:, ch], fs_in, rate, n_out) for ch in range(c)])   # (C, n_out)
        starts = np.arange(w) * stride
        raw = y[:, starts[:, None] + np.arange(length)[None, :]].transpose(1, 0, 2)  # (W, C, L)
        finite = np.all(np.isfinite(raw), axis=-1)
        work = np.where(finite[..., None], raw, 0.0)
        scale = np.max(np.abs(work), axis=-1)
        if bandpass:
            work = scipy.signal.sosfiltfilt(bandpass_sos(rate, band), work, axis=-1)
        if normalization == "zscore":
            mean = work.mean(axis=-1, keepdims=True)
            sd = np.sqrt(((work - mean) ** 2).mean(axis=-1))
            flat = ~(sd > FLAT_TOLERANCE * scale) | ~np.isfinite(sd)
            res = (work - mean) / np.where(flat, 1.0, sd)[..., None]
            status[flat & finite] = STATUS_FLAT
            res[flat] = 0.0
        elif normalization == "global":
            res = (work - norm[None, :, 0:1]) / norm[None, :, 1:2]
        else:
            res = work
        res[~finite] = 0.0
        status[~finite] = STATUS_NON_FINITE
        out[:] = res.astype(np.float32)
    if one_d:
        out, status = out[:, 0, :], status[:, 0]
    return (out, status) if return_status else out


# --------------------------------------------------------------------------------------------
# BAMI
# --------------------------------------------------------------------------------------------

class BamiRecording(NamedTuple):
    ppg: np.ndarray  # (N, C) float32, raw ADC units (C from index.json: 3 for BAMI); channel 0 for single-channel models
    acc: np.ndarray  # (N, 3) float32, g (approximate scale)
    hr: np.ndarray   # (W,) float32, BPM of seconds [2k, 2k + 8)
    fs: int          # Hz (50 for every BAMI recording; a float when not a whole number)


def bami_root(root=None) -> Path:
    """A data set directory: `root` (a path, or a name such as 'wrist' under ../shared/data), else
    <repo>/../shared/data/bami. (Kept for old callers: see datasets.dataset_root.)"""
    from . import datasets
    return datasets.dataset_root(root)


def bami_ids(root=None):
    """Recording ids in index order (e.g. 'bami1_01') of a data set (default bami)."""
    from . import datasets
    return datasets.dataset(root).ids()


def load_bami(recording_id: str, root=None) -> BamiRecording:
    """Loads one recording ('BAMI1_01', 'bami1_01', 'wrist_s9_walk', ...) of a data set in the
    ../shared/data layout (default bami; `root` a path or a name); PPG channel count and rate from
    its index.json (datasets.load_recording; ValueError naming the file when one is malformed).

    Note: hr may hold fewer labels than the recording has windows (BAMI1_25 and BAMI-2: 361 labels
    for 362 windows); label k always belongs to window k, so use windows[:len(hr)]."""
    from . import datasets
    r = datasets.load_recording(recording_id, root)
    return BamiRecording(r.ppg, r.acc, r.hr, r.fs)


# --------------------------------------------------------------------------------------------
# Synthetic recordings and the C++ golden (tests/dsp_golden.hpp)
# --------------------------------------------------------------------------------------------

def synthetic_recording(n: int, fs: int, channels: int = 1) -> np.ndarray:
    """(n, channels) float32; the same formula as synthetic_sample() in tests/test_dsp.cpp:
    x_c(t) = 2000 + 500 c + 300 sin(2 pi 0.07 t + 0.3 c) + 150 sin(2 pi 1.3 t + c)
             + 60 sin(2 pi 2.6 t + 0.7 + c) + 20 sin(2 pi 7.1 t) + 8 sin(2 pi 11.3 t + 0.2 c),
    t = i / fs, evaluated in float64 and rounded to float32."""
    t = np.arange(n, dtype=np.float64) / float(fs)
    out = np.empty((n, channels), dtype=np.float32)
    two_pi = 2.0 * math.pi
    for c in range(channels):
        v = (2000.0 + 500.0 * c + 300.0 * np.sin(two_pi * 0.07 * t + 0.3 * c)
             + 150.0 * np.sin(two_pi * 1.3 * t + c) + 60.0 * np.sin(two_pi * 2.6 * t + 0.7 + c)
             + 20.0 * np.sin(two_pi * 7.1 * t) + 8.0 * np.sin(two_pi * 11.3 * t + 0.2 * c))
        out[:, c] = v.astype(np.float32)
    return out


# Golden cases: (name, net, fs_in, channels, seconds, edit, input_norm). edit 'flat_nan': the first
# 9 s are the constant 1234 and sample 20 fs_in is NaN (flat and non-finite windows).
PULSE_GOLDEN_NORM = ((2000.0, 100.0), (2500.0, 150.0), (3000.0, 200.0), (3500.0, 250.0))
GOLDEN_CASES = (
    ("resnet_64hz", "resnet", 64, 1, 14, "", None),
    ("resnet_25hz", "resnet", 25, 1, 10, "", None),
    ("pulse_125hz", "pulse", 125, 4, 10, "", PULSE_GOLDEN_NORM),
    ("resnet_50hz_flat_nan", "resnet", 50, 1, 24, "flat_nan", None),
)
GOLDEN_SAMPLE_STRIDE = 7


def golden_input(fs: int, channels: int, seconds: int, edit: str) -> np.ndarray:
    x = synthetic_recording(seconds * fs, fs, channels)
    if edit == "flat_nan":
        x[:9 * fs] = np.float32(1234.0)
        x[20 * fs] = np.float32("nan")
    return x


def golden_windows(case):
    name, net, fs, ch, seconds, edit, norm = case
    w, st = windows_from_recording(golden_input(fs, ch, seconds, edit), fs, net, input_norm=norm,
                                   return_status=True)
    return w.reshape(len(w), ch, -1), st.reshape(len(st), ch)


def _float_literal(v) -> str:
    s = f"{float(v):.9g}"
    return (s if ("." in s or "e" in s) else s + ".0") + "f"


def render_golden() -> str:
    lines = [
        "// Generated by tools/ppghr_tools/preprocess.py (PYTHONPATH=tools python3 -m",
        "// ppghr_tools.preprocess --golden tests/dsp_golden.hpp): do not edit by hand.",
        f"// numpy {np.__version__}, scipy {scipy.__version__}. Windows of synthetic recordings",
        "// (synthetic_recording() / synthetic_sample(): the same formula on both sides) as the Python",
        f"// twin computes them, every {GOLDEN_SAMPLE_STRIDE}th sample of each window row kept; and the",
        "// band-pass sections of scipy.signal.butter(4, [0.5, 4], btype='band', fs, output='sos').",
        "#pragma once",
        "",
        "namespace ppghr_test {",
        "namespace dsp_golden {",
        "",
        "struct Case {",
        "  const char* name;",
        "  int net_rate;         // 25: ResNet preset (band-pass + z-score); 32: PULSE preset (global)",
        "  int fs_in;",
        "  int channels;",
        "  int seconds;",
        "  bool flat_nan;        // first 9 s constant 1234, sample 20 fs_in NaN",
        "  double norm[4][2];    // PULSE: (mean, std) per channel",
        "  int n_windows;",
        "  int per_row;          // kept samples per window row: indices 0, stride, 2 stride, ...",
        "  const unsigned char* status;  // [n_windows][channels]",
        "  const float* values;          // [n_windows][channels][per_row]",
        "};",
        f"inline constexpr int kSampleStride = {GOLDEN_SAMPLE_STRIDE};",
        "",
    ]
    entries = []
    for case in GOLDEN_CASES:
        name, net, fs, ch, seconds, edit, norm = case
        w, st = golden_windows(case)
        kept = w[:, :, ::GOLDEN_SAMPLE_STRIDE]
        ident = name.upper()
        vals = [_float_literal(v) for v in kept.reshape(-1)]
        lines.append(f"inline const unsigned char k{ident}_status[] = {{"
                     + ", ".join(str(int(s)) for s in st.reshape(-1)) + "};")
        lines.append(f"inline const float k{ident}_values[] = {{")
        for i in range(0, len(vals), 8):
            lines.append("    " + ", ".join(vals[i:i + 8]) + ",")
        lines.append("};")
        normv = norm if norm is not None else ((0.0, 1.0),) * 4
        normtxt = ", ".join(f"{{{m!r}, {s!r}}}" for m, s in normv)
        entries.append(f'    {{"{name}", {NETS[net][0]}, {fs}, {ch}, {seconds}, '
                       f'{"true" if edit == "flat_nan" else "false"}, {{{normtxt}}}, {len(w)}, '
                       f'{kept.shape[2]}, k{ident}_status, k{ident}_values}},')
    lines.append("")
    lines.append("inline const Case kCases[] = {")
    lines.extend(entries)
    lines.append("};")
    lines.append("")
    for fs in (RESNET_RATE, PULSE_RATE):
        sos = bandpass_sos(fs)
        lines.append(f"inline constexpr double kSos{fs}Hz[{len(sos)}][6] = {{")
        for row in sos:
            lines.append("    {" + ", ".join(f"{float(v)!r}" for v in row) + "},")
        lines.append("};")
    lines += ["", "}  // namespace dsp_golden", "}  // namespace ppghr_test", ""]
    return "\n".join(lines)


def parse_golden_values(text: str):
    """{case name: np.float32 array} of the values arrays in a dsp_golden.hpp text."""
    out = {}
    for case in GOLDEN_CASES:
        ident = case[0].upper()
        m = re.search(r"k%s_values\[\] = \{(.*?)\};" % ident, text, re.S)
        if m is None:
            raise ValueError(f"golden: no values for {case[0]}")
        out[case[0]] = np.array([float(v.rstrip("f")) for v in re.findall(r"[-+0-9.eE]+f", m.group(1))],
                                dtype=np.float32)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--golden", type=Path, help="write the C++ golden header here")
    ap.add_argument("--check", action="store_true",
                    help="compare tests/dsp_golden.hpp with a fresh computation (1e-5 relative)")
    args = ap.parse_args(argv)
    if args.golden:
        args.golden.write_text(render_golden())
        print(f"wrote {args.golden}")
    if args.check:
        committed = parse_golden_values((REPO_ROOT / "tests" / "dsp_golden.hpp").read_text())
        fresh = parse_golden_values(render_golden())
        worst = 0.0
        for k in committed:
            if committed[k].shape != fresh[k].shape:
                print(f"{k}: shape {committed[k].shape} != {fresh[k].shape}")
                return 1
            den = max(float(np.max(np.abs(fresh[k]))), 1e-30)
            worst = max(worst, float(np.max(np.abs(committed[k] - fresh[k]))) / den)
        print(f"max relative difference {worst:.3g}")
        return 0 if worst <= 1e-5 else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
