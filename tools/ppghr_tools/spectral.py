"""Python twin of include/ppghr/spectral/estimator.hpp: the accelerometer-aware spectral estimator.

Per 8 s window (every 2 s), from the windows of ppghr::Preprocessor<25, C + 3> (PPG channels, then
accelerometer x, y, z; resampled to 25 Hz, band-passed 0.5-4 Hz per window, NOT normalised:
``preprocess.windows_from_recording(..., normalization='none')``):

1. Spectra on the 180-class grid (30..209 BPM). Each channel: mean removed, times a Hann window
   (w[n] = 0.5 - 0.5 cos(2 pi (n + 1) / (L + 1)), n = 0..L-1, L = 200), zero-padded to N_FFT = 1024,
   FFT, power |X|^2 read at the class frequencies f_b = b / 60 Hz (b = 30..209 BPM) by linear
   interpolation between the two neighbouring FFT bins (bin spacing 25 / 1024 Hz = 1.46 BPM).
   PPG power is weighted by min(1, b / 100)^2 (below 100 BPM the spectrum of the signal's
   derivative: it removes the 1/f^2 drift of wrist PPG, whose low-frequency junk would otherwise win
   below ~50 BPM; capped at 100 so the pulse's second harmonic is not boosted over the pulse).
2. Motion: m = sqrt(sum over axes of the mean square of the band-passed accelerometer window), in
   the accelerometer's unit (g). The accelerometer spectrum A = sum over axes of the grid power.
3. Artefact frequencies: the `acc_peaks` largest local maxima of A (a class b with A[b-1] <= A[b] >
   A[b+1]; ties by lower class) that reach `acc_peak_rel` x max A; for each peak f, the frequencies
   f, f / 2 (arm swing at half the step rate), 2 f (its harmonic) and 3 f / 2 (three_half_weight,
   0 by default), those within 25..215 BPM.
   Each gets the weight min(1, m / motion_ref_g): how much the wrist moves.
4. Per PPG channel: s = P / max P; for each artefact frequency in turn (in the order above): the
   class j with the largest s within +-`search` classes of round(f) - 30, then
   s <- max(s - weight * s[j] * K(|b - j|), 0), with K the Hann window's power response at integer
   BPM offsets (K(0) = 1; the main lobe is +-15 BPM wide): the artefact's whole spectral lobe is
   subtracted, not only its peak bin.
5. The mean of the channels' cleaned s, raised to `power`, plus `floor`, normalised to sum 1: the
   likelihood over the 180 classes (Prediction::probabilities), so it feeds the same decoders as a
   network's softmax (post/decode.hpp). Without an accelerometer, step 3 finds nothing and the
   estimate is the PPG spectrum alone.

Parameters (SpectralParams, the same defaults as the C++ SpectralParams) were set on BAMI (all 48
recordings, see docs/evaluation) and are not tuned per recording.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, asdict
from typing import Optional, Sequence

import numpy as np

RATE = 25
WINDOW = 8 * RATE
N_FFT = 1024
N_CLASSES = 180
MIN_BPM = 30
LOBE_HALF = 90          # K(d) for |d| <= LOBE_HALF BPM, 0 beyond
ARTEFACT_MIN_BPM = 25.0
ARTEFACT_MAX_BPM = 215.0


@dataclass(frozen=True)
class SpectralParams:
    motion_ref_g: float = 0.5      # motion (g) at which the artefacts are fully subtracted
    acc_peaks: int = 2             # accelerometer peaks used
    acc_peak_rel: float = 0.3      # a peak counts when >= this x the largest
    half_weight: float = 1.0       # weight of f / 2 (arm swing) relative to f
    double_weight: float = 1.0     # weight of 2 f
    three_half_weight: float = 0.0 # weight of 3 f / 2 (the arm swing's third harmonic)
    search: int = 3                # classes searched around each artefact frequency
    ppg_weight_exponent: float = 2.0  # PPG power x min(1, bpm / ppg_weight_ref_bpm)^this
    ppg_weight_ref_bpm: float = 100.0
    power: float = 1.0             # likelihood = mean cleaned spectrum ^ power + floor
    floor: float = 0.2


DEFAULT_PARAMS = SpectralParams()


def hann(length: int = WINDOW) -> np.ndarray:
    n = np.arange(length, dtype=np.float64)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * (n + 1.0) / (length + 1.0))


def grid_positions() -> np.ndarray:
    """FFT bin position (fractional) of every class frequency."""
    bpm = np.arange(MIN_BPM, MIN_BPM + N_CLASSES, dtype=np.float64)
    return bpm / 60.0 * N_FFT / RATE


def lobe_table() -> np.ndarray:
    """K[d] for d = 0..LOBE_HALF: the Hann window's power response at an offset of d BPM, K[0] = 1."""
    w = hann()
    t = np.arange(WINDOW, dtype=np.float64) / RATE
    d = np.arange(LOBE_HALF + 1, dtype=np.float64)
    k = np.abs(np.exp(-2j * np.pi * (d / 60.0)[:, None] * t[None, :]) @ w) ** 2
    return k / k[0]


_POS = grid_positions()
_LO = np.floor(_POS).astype(np.int64)
_FR = _POS - _LO
_HANN = hann()
_LOBE = lobe_table()
_BPM = np.arange(MIN_BPM, MIN_BPM + N_CLASSES, dtype=np.float64)


def grid_power(x: np.ndarray) -> np.ndarray:
    """(..., 200) windows -> (..., 180) power on the class grid (steps 1's FFT + interpolation)."""
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean(axis=-1, keepdims=True)
    spec = np.fft.fft(x * _HANN, n=N_FFT, axis=-1)
    p = spec.real ** 2 + spec.imag ** 2
    return p[..., _LO] * (1.0 - _FR) + p[..., _LO + 1] * _FR


def acc_peaks(a: np.ndarray, n: int, rel: float):
    """Up to n local maxima of the accelerometer grid spectrum a (180,), largest first (ties:
    lower class first), those >= rel x max(a). Returns class indices."""
    inner = np.where((a[1:-1] >= a[:-2]) & (a[1:-1] > a[2:]))[0] + 1
    order = inner[np.argsort(-a[inner], kind="stable")][:n]
    top = a.max()
    return [int(j) for j in order if a[j] >= rel * top and a[j] > 0.0]


def artefacts(a: np.ndarray, motion: float, params: SpectralParams):
    """[(frequency in BPM, weight)] to subtract, in order (step 3)."""
    wm = min(1.0, motion / params.motion_ref_g) if params.motion_ref_g > 0 else 1.0
    out = []
    if not wm > 0.0:
        return out
    for j in acc_peaks(a, params.acc_peaks, params.acc_peak_rel):
        f = float(MIN_BPM + j)
        for mult, ww in ((1.0, 1.0), (0.5, params.half_weight), (2.0, params.double_weight),
                         (1.5, params.three_half_weight)):
            fc = f * mult
            if ARTEFACT_MIN_BPM < fc < ARTEFACT_MAX_BPM and ww > 0.0:
                out.append((fc, wm * ww))
    return out


def clean(s: np.ndarray, arts, search: int) -> np.ndarray:
    """Step 4 on one channel's normalised spectrum s (180,)."""
    s = s.copy()
    idx = np.arange(N_CLASSES)
    for fc, ww in arts:
        c = int(np.floor(fc + 0.5)) - MIN_BPM
        lo, hi = max(0, c - search), min(N_CLASSES, c + search + 1)
        if hi <= lo:
            continue
        j = lo + int(np.argmax(s[lo:hi]))
        d = np.abs(idx - j)
        k = np.where(d <= LOBE_HALF, _LOBE[np.minimum(d, LOBE_HALF)], 0.0)
        s = np.maximum(s - ww * s[j] * k, 0.0)
    return s


def estimate_window(window: np.ndarray, n_ppg: int, params: SpectralParams = DEFAULT_PARAMS,
                    accelerometer: bool = True):
    """One window (n_ppg + 3, 200) -> dict(likelihood (180,), motion, artefacts, ppg_spectrum)."""
    window = np.asarray(window, dtype=np.float64)
    weight = np.minimum(1.0, _BPM / params.ppg_weight_ref_bpm) ** params.ppg_weight_exponent
    ppg = grid_power(window[:n_ppg]) * weight
    accw = window[n_ppg:n_ppg + 3]
    motion = float(np.sqrt((accw ** 2).mean(axis=-1).sum()))
    arts = artefacts(grid_power(accw).sum(axis=0), motion, params) if accelerometer else []
    mean = np.zeros(N_CLASSES)
    for c in range(n_ppg):
        top = ppg[c].max()
        s = ppg[c] / top if top > 0.0 else np.zeros(N_CLASSES)
        mean += clean(s, arts, params.search)
    mean /= n_ppg
    lik = mean ** params.power + params.floor
    lik /= lik.sum()
    return dict(likelihood=lik, motion=motion, artefacts=arts)


N_FEATURES = 6
HARMONIC = 2.0                # features 3 and 4 read the spectra at this multiple of the class frequency
POSITION_CENTRE_BPM = 120.0   # feature 5 = (bpm - 120) / 100


def position_feature() -> np.ndarray:
    """Feature 5 of features(): (bpm - 120) / 100 on the class grid, the same in every window."""
    return (_BPM - POSITION_CENTRE_BPM) / 100.0


def grid_power_at(x: np.ndarray, multiple: float) -> np.ndarray:
    """(..., 200) windows -> (..., 180) power at multiple x the class frequencies (same FFT and
    linear interpolation as grid_power; 0 above the Nyquist frequency)."""
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean(axis=-1, keepdims=True)
    spec = np.fft.fft(x * _HANN, n=N_FFT, axis=-1)
    p = spec.real ** 2 + spec.imag ** 2
    pos = _POS * multiple
    lo = np.floor(pos).astype(np.int64)
    ok = lo + 1 <= N_FFT // 2
    lo_c = np.where(ok, lo, 0)
    fr = np.where(ok, pos - lo, 0.0)
    out = p[..., lo_c] * (1.0 - fr) + p[..., lo_c + 1] * fr
    return np.where(ok, out, 0.0)


def features(window: np.ndarray, n_ppg: int, params: SpectralParams = DEFAULT_PARAMS,
             accelerometer: bool = True) -> np.ndarray:
    """One window (n_ppg + 3, 200) -> the (6, 180) input of the spectral networks (family specnet,
    models.SpecNet), read off the estimator's own steps so it does not depend on the device's units,
    gain, rate or number of PPG channels. With w(b) the PPG weight, P_c the channel's grid power,
    A the accelerometer's (axes summed) and m = min(1, motion / motion_ref_g):

      0. the PPG spectrum: mean over channels of s_c = w P_c / max(w P_c) (step 4's s before
         cleaning; 0 for a flat channel);
      1. the accelerometer: A / max A x m (0 without an accelerometer or when A is 0);
      2. the cleaned PPG spectrum: step 5's mean of the channels' cleaned s (before power / floor);
      3. the PPG at twice the class frequency: mean over channels of
         min(1, w(b) P_c(2 f_b) / max(w P_c)) (a pulse whose second harmonic is strong shows here);
      4. the accelerometer at twice the class frequency: min(1, A(2 f_b) / max A) x m (0 as in 1);
      5. the position on the grid: (bpm - 120) / 100.
    """
    window = np.asarray(window, dtype=np.float64)
    weight = np.minimum(1.0, _BPM / params.ppg_weight_ref_bpm) ** params.ppg_weight_exponent
    ppg = grid_power(window[:n_ppg]) * weight
    ppg2 = grid_power_at(window[:n_ppg], HARMONIC) * weight
    accw = window[n_ppg:n_ppg + 3]
    motion = float(np.sqrt((accw ** 2).mean(axis=-1).sum()))
    a = grid_power(accw).sum(axis=0)
    a2 = grid_power_at(accw, HARMONIC).sum(axis=0)
    arts = artefacts(a, motion, params) if accelerometer else []
    out = np.zeros((N_FEATURES, N_CLASSES))
    for c in range(n_ppg):
        top = ppg[c].max()
        s = ppg[c] / top if top > 0.0 else np.zeros(N_CLASSES)
        out[0] += s
        out[2] += clean(s, arts, params.search)
        if top > 0.0:
            out[3] += np.minimum(ppg2[c] / top, 1.0)
    out[0] /= n_ppg
    out[2] /= n_ppg
    out[3] /= n_ppg
    top = a.max()
    if accelerometer and top > 0.0:
        wm = min(1.0, motion / params.motion_ref_g)
        out[1] = a / top * wm
        out[4] = np.minimum(a2 / top, 1.0) * wm
    out[5] = position_feature()
    return out


def likelihoods(windows: np.ndarray, n_ppg: int, params: SpectralParams = DEFAULT_PARAMS,
                accelerometer: bool = True) -> np.ndarray:
    """(W, n_ppg + 3, 200) windows -> (W, 180) likelihoods."""
    return np.stack([estimate_window(w, n_ppg, params, accelerometer)["likelihood"] for w in windows]) \
        if len(windows) else np.zeros((0, N_CLASSES))


def recording_windows(ppg: np.ndarray, acc: Optional[np.ndarray], fs_in, channels: Optional[Sequence[int]] = None):
    """Raw recording -> the (W, C + 3, 200) float32 windows and (W, C + 3) statuses the C++
    Preprocessor<25, C + 3> makes with SpectralEstimator's preprocessing config (band-pass, no
    normalisation). acc None: zeros (no accelerometer)."""
    from . import preprocess
    ppg = np.asarray(ppg, dtype=np.float64).reshape(len(ppg), -1)
    if channels is not None:
        ppg = ppg[:, list(channels)]
    acc = np.zeros((len(ppg), 3)) if acc is None else np.asarray(acc, dtype=np.float64).reshape(len(ppg), 3)
    x = np.concatenate([ppg, acc], axis=1)
    return preprocess.windows_from_recording(x, fs_in, "resnet", normalization="none", return_status=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", action="store_true", help="print the default parameters")
    args = ap.parse_args(argv)
    if args.params:
        for k, v in asdict(DEFAULT_PARAMS).items():
            print(f"{k} = {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
