"""The evaluation page across data sets: docs/evaluation/ (README.md, PNGs, summary.json).

  PYTHONPATH=tools nice /usr/bin/python3 -m ppghr_tools.evaluate [--cli PATH] [--data DIR]
      [--datasets bami,wrist] [--models models] [--out docs/evaluation] [--cache .cache/evaluation]
      [--keep-stale] [--render-only]

For every data set under ../shared/data (every directory with an index.json: bami, wrist, and any
other dropped in; datasets.py) and every estimator, it runs the C++ CLI once per decoding

  ppghr-estimate --model M.ppgw|spectral --eval DIR --decode MODE [--channels all|0] \\
                 --format json --windows-out W.csv

and computes everything on the page from the per-window CSV in Python (the CLI's own JSON summary
is kept beside it and its overall MAE is checked against ours). Estimators: the spectral estimator
with all PPG channels and with channel 0 only, and every shipped model in models/*.ppgw. Decodings:
none (spectral only: the raw estimate with its own confidence), online (forward filter), lag:3
(fixed-lag smoother, 3 windows = 6 s late) and offline (whole recording); the raw MAE comes with
every run. A decoding the CLI refuses for a model (e.g. a regression head) is listed as failed with
the CLI's message.

The CLI is --cli PATH, else $PPGHR_BUILD_DIR/examples/ppghr-estimate, else
<repo>/build/examples/ppghr-estimate. Each run's outputs are cached under .cache/evaluation/
<dataset>/<estimator>/<decode>_ch<channels>/ (git-ignored) with a fingerprint (SHA-256 of the CLI
binary, the model blob and the data set's index.json, and the arguments): a rerun reuses what is
still valid and redoes the rest, so an interrupted evaluation resumes where it stopped
(--keep-stale reuses cached runs even when the binary changed). --render-only makes the page from
the cache without running anything.

Definitions (also written on the page):
- scored windows: labelled windows (a reference heart rate) whose status is ok and that have an
  estimate; MAE = mean |estimate - reference| in BPM over them.
- coverage curve: the scored windows sorted by the reported confidence, most confident first
  (stable sort: ties keep recording order); MAE of the decoded estimate over the first
  ceil(f * n) windows, for kept fractions f = 0.05, 0.10, ..., 1.
- calibration curve: the scored windows binned by reported confidence (10 equal bins over [0, 1]);
  per bin, the mean confidence and the fraction of windows with |decoded - reference| <= 5 BPM;
  ECE = the window-weighted mean |mean confidence - fraction within 5 BPM|.
- floors, computed here in Python (no CLI): (a) the plain spectral peak (spectral_peak_bpm): PPG
  channel 0 of the whole recording, band-passed by a 4th-order Butterworth 0.5-4 Hz applied forward
  and backward (scipy sosfiltfilt); per window k, samples [round(2 k fs), round(2 k fs) + round(8 fs)),
  mean removed, Hann taper, periodogram |sum_n x[n] w[n] exp(-2 pi i f n / fs)|^2 evaluated at the
  180 grid frequencies f = (30 .. 209 BPM) / 60 (the zero-padded-DFT read on the class grid), and the
  estimate is the BPM of its largest value; every labelled window whose span lies inside the
  recording is scored. (b) the constant guess: the median reference heart rate of all labelled
  windows of the data set (all subsets), the same guess for every window.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import datasets as DS

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "docs" / "evaluation"
DEFAULT_CACHE = REPO / ".cache" / "evaluation"
DEFAULT_MODELS = REPO / "models"
DECODES = ("online", "lag:3", "offline")
SPECTRAL_DECODES = ("none",) + DECODES
COVERAGE_GRID = tuple(round(0.05 * i, 2) for i in range(1, 21))
COVERAGE_TABLE = (0.5, 0.8, 1.0)
CAL_BINS = 10
TOL_BPM = 5.0
MIN_BPM, N_CLASSES = 30, 180
FIT = ("bami", "bami1")          # the calibration's fit data (calibrate.py): never shown as "held out"
WINDOW_COLUMNS = ("recording", "subset", "index", "time", "ref_hr", "hr", "hr_decoded", "confidence",
                  "confidence_raw", "status")
FLOOR_VERSION = b"peak-v1 butter4 0.5-4 sosfiltfilt hann grid30-209"
COMMAND = "PYTHONPATH=tools nice /usr/bin/python3 -m ppghr_tools.evaluate"


# ------------------------------------------------------------------------------------------------
# Estimators and the CLI

@dataclass(frozen=True)
class Estimator:
    key: str                       # directory-safe name: 'spectral-all', 'spectral-ch0', blob stem
    model: str                     # 'spectral' or a blob path
    channels: Optional[str]        # 'all' / '0' for the spectral estimator; None: not passed (blobs)
    label: str
    train_subset: Optional[str] = None   # a blob's card (models/<stem>.json): the subset it was trained on

    @property
    def decodes(self) -> Tuple[str, ...]:
        return SPECTRAL_DECODES if self.model == "spectral" else DECODES


def estimators(models_dir: Optional[Path] = DEFAULT_MODELS) -> List[Estimator]:
    out = [Estimator("spectral-all", "spectral", "all", "spectral, all PPG channels"),
           Estimator("spectral-ch0", "spectral", "0", "spectral, PPG channel 0")]
    if models_dir is not None and Path(models_dir).is_dir():
        for p in sorted(Path(models_dir).glob("*.ppgw")):
            card = p.with_suffix(".json")
            train = None
            if card.is_file():
                try:
                    train = json.loads(card.read_text()).get("train_subset")
                except (ValueError, OSError):
                    train = None
            out.append(Estimator(p.stem, str(p), None, p.stem, train))
    return out


def find_cli(cli: Optional[str] = None) -> Path:
    if cli:
        return Path(cli)
    if os.environ.get("PPGHR_BUILD_DIR"):
        return Path(os.environ["PPGHR_BUILD_DIR"]) / "examples" / "ppghr-estimate"
    return REPO / "build" / "examples" / "ppghr-estimate"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _rel(p) -> str:
    """A path as the page shows it: relative to the repository when inside or beside it."""
    p = Path(p)
    try:
        return os.path.relpath(p.resolve(), REPO) if p.is_absolute() else str(p)
    except ValueError:
        return str(p)


def cli_args(est: Estimator, data_dir: Path, decode: str, windows_out: Path) -> List[str]:
    args = ["--model", est.model, "--eval", str(data_dir), "--decode", decode]
    if est.channels is not None:
        args += ["--channels", est.channels]
    return args + ["--format", "json", "--windows-out", str(windows_out)]


# ------------------------------------------------------------------------------------------------
# The per-window table

@dataclass
class WindowTable:
    recording: np.ndarray
    subset: np.ndarray
    index: np.ndarray
    time: np.ndarray
    ref: np.ndarray
    hr: np.ndarray
    hr_decoded: np.ndarray
    confidence: np.ndarray
    confidence_raw: np.ndarray
    status: np.ndarray

    def __len__(self) -> int:
        return len(self.ref)

    def take(self, mask: np.ndarray) -> "WindowTable":
        return WindowTable(*(getattr(self, f)[mask] for f in self.__dataclass_fields__))

    def group(self, group: str) -> "WindowTable":
        if group == "all":
            return self
        return self.take(np.array([DS.normalise_subset(s) == DS.normalise_subset(group) for s in self.subset], dtype=bool))

    def scored(self, column: str = "hr") -> np.ndarray:
        """Mask of the scored windows: labelled, status ok, an estimate in `column`."""
        return (self.status == "ok") & np.isfinite(self.ref) & np.isfinite(getattr(self, column))


def _num(s: str) -> float:
    s = s.strip()
    if s == "" or s.lower() in ("nan", "null", "none"):
        return math.nan
    return float(s)


def read_windows_csv(path: Path) -> WindowTable:
    path = Path(path)
    with open(path, newline="") as f:
        reader = csv.reader(f)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise ValueError(f"{path}: empty windows CSV") from None
        missing = [c for c in WINDOW_COLUMNS if c not in header]
        if missing:
            raise ValueError(f"{path}: windows CSV lacks column(s) {', '.join(missing)}")
        col = {c: header.index(c) for c in WINDOW_COLUMNS}
        rows = [r for r in reader if r]
    try:
        def floats(c):
            return np.array([_num(r[col[c]]) for r in rows], dtype=np.float64)
        return WindowTable(
            np.array([r[col["recording"]] for r in rows], dtype=object),
            np.array([r[col["subset"]] for r in rows], dtype=object),
            np.array([int(r[col["index"]]) for r in rows], dtype=np.int64),
            floats("time"), floats("ref_hr"), floats("hr"), floats("hr_decoded"), floats("confidence"),
            floats("confidence_raw"), np.array([r[col["status"]].strip() for r in rows], dtype=object))
    except (ValueError, IndexError) as e:
        raise ValueError(f"{path}: malformed windows CSV ({' '.join(str(e).split())})") from None


# ------------------------------------------------------------------------------------------------
# Metrics

def mae(est: np.ndarray, ref: np.ndarray) -> Optional[float]:
    est, ref = np.asarray(est, np.float64), np.asarray(ref, np.float64)
    return float(np.mean(np.abs(est - ref))) if len(est) else None


def coverage_curve(confidence: np.ndarray, err: np.ndarray,
                   fractions: Sequence[float] = COVERAGE_GRID) -> Optional[List[float]]:
    """MAE of the ceil(f n) most confident windows (stable sort on -confidence) for each f;
    None when there is no confidence (NaN) or no window."""
    confidence, err = np.asarray(confidence, np.float64), np.asarray(err, np.float64)
    n = len(err)
    if n == 0 or not np.all(np.isfinite(confidence)):
        return None
    order = np.argsort(-confidence, kind="stable")
    cum = np.cumsum(err[order])
    out = []
    for f in fractions:
        k = min(n, max(1, int(math.ceil(f * n - 1e-9))))
        out.append(float(cum[k - 1] / k))
    return out


def calibration_table(confidence: np.ndarray, correct: np.ndarray, bins: int = CAL_BINS):
    """Rows (bin lo, bin hi, windows, mean confidence, fraction correct) of the non-empty equal-width
    bins over [0, 1] (confidence 1 falls in the last bin), and the ECE; None when no confidence."""
    confidence, correct = np.asarray(confidence, np.float64), np.asarray(correct, np.float64)
    if len(confidence) == 0 or not np.all(np.isfinite(confidence)):
        return None
    idx = np.clip(np.floor(confidence * bins).astype(int), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            mc, fc = float(confidence[m].mean()), float(correct[m].mean())
            rows.append([b / bins, (b + 1) / bins, int(m.sum()), mc, fc])
            ece += m.sum() / len(confidence) * abs(mc - fc)
    return {"rows": rows, "ece": float(ece)}


def decode_metrics(w: WindowTable) -> dict:
    """Raw and decoded MAE, coverage, calibration of one run's windows (one group)."""
    m_raw = w.scored("hr")
    m_dec = w.scored("hr_decoded")
    err = np.abs(w.hr_decoded[m_dec] - w.ref[m_dec])
    conf = w.confidence[m_dec]
    curve = coverage_curve(conf, err)
    out = {"windows": int(np.isfinite(w.ref).sum()), "scored": int(m_dec.sum()),
           "mae_raw": mae(w.hr[m_raw], w.ref[m_raw]), "mae": mae(w.hr_decoded[m_dec], w.ref[m_dec]),
           "curve": curve, "coverage": None, "calibration": calibration_table(conf, err <= TOL_BPM)}
    if curve is not None:
        out["coverage"] = {str(int(round(f * 100))): curve[COVERAGE_GRID.index(f)] for f in COVERAGE_TABLE}
    return out


def per_recording(w: WindowTable) -> Dict[str, dict]:
    out = {}
    for rid in dict.fromkeys(w.recording):
        r = w.take(w.recording == rid)
        m_raw, m_dec = r.scored("hr"), r.scored("hr_decoded")
        out[str(rid)] = {"subset": str(r.subset[0]), "windows": int(np.isfinite(r.ref).sum()),
                         "scored": int(m_dec.sum()), "mae_raw": mae(r.hr[m_raw], r.ref[m_raw]),
                         "mae": mae(r.hr_decoded[m_dec], r.ref[m_dec])}
    return out


# ------------------------------------------------------------------------------------------------
# Floors

def spectral_peak_bpm(ppg0: np.ndarray, fs: float, n_windows: int) -> np.ndarray:
    """The plain spectral peak per window (module doc, floor (a)); NaN for a window not inside the
    recording."""
    from scipy.signal import butter, sosfiltfilt
    x = np.asarray(ppg0, np.float64)
    x = np.where(np.isfinite(x), x, 0.0)
    out = np.full(n_windows, np.nan)
    nw = int(round(8 * fs))
    if len(x) < nw:
        return out
    sos = butter(4, [0.5, 4.0], btype="bandpass", fs=fs, output="sos")
    y = sosfiltfilt(sos, x - x.mean())
    taper = np.hanning(nw)
    freqs = (MIN_BPM + np.arange(N_CLASSES)) / 60.0
    basis = np.exp(-2j * np.pi * np.outer(freqs, np.arange(nw)) / fs) * taper     # (180, nw)
    starts = [int(round(2 * k * fs)) for k in range(n_windows)]
    ks = [k for k, s in enumerate(starts) if s + nw <= len(y)]
    if not ks:
        return out
    seg = np.stack([y[starts[k]:starts[k] + nw] for k in ks])
    seg = seg - seg.mean(axis=1, keepdims=True)
    power = np.abs(seg @ basis.T) ** 2
    out[ks] = MIN_BPM + np.argmax(power, axis=1)
    return out


def compute_floors(ds: DS.Dataset, cache: Optional[Path] = None, verbose: bool = True) -> Dict[str, dict]:
    """{recording id: {'subset', 'ref': (W,), 'peak': (W,)}} for a data set (cached as .npz keyed by
    its index.json and the floor's definition)."""
    key = hashlib.sha256(ds.index_path.read_bytes() + FLOOR_VERSION).hexdigest()[:16]
    path = Path(cache) / ds.name / f"floors_{key}.npz" if cache is not None else None
    if path is not None and path.exists():
        z = np.load(path, allow_pickle=False)
        ids = [str(s) for s in z["ids"]]
        return {rid: {"subset": str(z["subsets"][i]), "ref": z[f"ref_{i}"], "peak": z[f"peak_{i}"]}
                for i, rid in enumerate(ids)}
    out = {}
    for rid in ds.ids():
        r = ds.load(rid)
        out[rid] = {"subset": r.subset, "ref": r.hr.astype(np.float64),
                    "peak": spectral_peak_bpm(r.ppg[:, 0], r.fs, len(r.hr))}
        if verbose:
            print(f"[evaluate] floor {ds.name}/{rid}", flush=True)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for i, rid in enumerate(out):
            arrays[f"ref_{i}"], arrays[f"peak_{i}"] = out[rid]["ref"], out[rid]["peak"]
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, ids=np.array(list(out)), subsets=np.array([v["subset"] for v in out.values()]), **arrays)
        os.replace(tmp, path)
    return out


def floor_metrics(floors: Dict[str, dict], group: str, median_bpm: float) -> dict:
    refs, peaks = [], []
    for rid, f in floors.items():
        if group != "all" and DS.normalise_subset(f["subset"]) != DS.normalise_subset(group):
            continue
        refs.append(f["ref"]); peaks.append(f["peak"])
    ref = np.concatenate(refs) if refs else np.zeros(0)
    peak = np.concatenate(peaks) if peaks else np.zeros(0)
    mp = np.isfinite(ref) & np.isfinite(peak)
    mc = np.isfinite(ref)
    return {"peak": mae(peak[mp], ref[mp]), "peak_windows": int(mp.sum()),
            "constant": mae(np.full(int(mc.sum()), median_bpm), ref[mc]), "constant_windows": int(mc.sum())}


def floor_per_recording(floors: Dict[str, dict], median_bpm: float) -> Dict[str, dict]:
    out = {}
    for rid, f in floors.items():
        ref, peak = f["ref"], f["peak"]
        mp, mc = np.isfinite(ref) & np.isfinite(peak), np.isfinite(ref)
        out[rid] = {"peak": mae(peak[mp], ref[mp]), "constant": mae(np.full(int(mc.sum()), median_bpm), ref[mc])}
    return out


# ------------------------------------------------------------------------------------------------
# Running the CLI, cached

@dataclass
class Run:
    estimator: Estimator
    dataset: str
    decode: str
    ok: bool
    command: str                               # as shown on the page (relative paths)
    error: str = ""
    summary: Optional[dict] = None             # the CLI's JSON summary
    windows_path: Optional[Path] = None
    seconds: float = 0.0
    cached: bool = False
    source: str = ""                           # the source tree when the CLI ran (git)
    _windows: Optional[WindowTable] = field(default=None, repr=False)

    @property
    def windows(self) -> WindowTable:
        if self._windows is None:
            self._windows = read_windows_csv(self.windows_path)
        return self._windows


class Runner:
    """Runs the CLI for (estimator, data set, decode), caching each run under cache/<dataset>/
    <estimator>/<decode>_ch<channels>/ (windows.csv, summary.json, meta.json written last)."""

    def __init__(self, cli: Path, cache: Path = DEFAULT_CACHE, keep_stale: bool = False,
                 render_only: bool = False, verbose: bool = True, timeout_s: float = 3600):
        self.cli, self.cache, self.keep_stale, self.render_only = Path(cli), Path(cache), keep_stale, render_only
        self.verbose, self.timeout_s = verbose, timeout_s
        self._sha: Dict[str, str] = {}
        self._source: Optional[str] = None

    def _file_sha(self, p: Path) -> str:
        k = str(Path(p).resolve())
        if k not in self._sha:
            self._sha[k] = _sha256(Path(p)) if Path(p).is_file() else "absent"
        return self._sha[k]

    def run_dir(self, est: Estimator, ds_name: str, decode: str) -> Path:
        return self.cache / ds_name / est.key / f"{decode.replace(':', '')}_ch{est.channels or 'model'}"

    def run(self, est: Estimator, ds: DS.Dataset, decode: str, ds_name: Optional[str] = None) -> Run:
        ds_name = ds_name or ds.name
        d = self.run_dir(est, ds_name, decode)
        windows = d / "windows.csv"
        shown = "nice " + " ".join(shlex.quote(a) for a in [_rel(self.cli)] + cli_args(
            Estimator(est.key, est.model if est.model == "spectral" else _rel(est.model), est.channels, est.label),
            Path(_rel(ds.root)), decode, Path("W.csv")))
        fingerprint = {"cli": self._file_sha(self.cli),
                       "model": "spectral" if est.model == "spectral" else self._file_sha(Path(est.model)),
                       "index": self._file_sha(ds.index_path), "args": shown}
        meta_path = d / "meta.json"
        if meta_path.exists():
            meta = json.loads(meta_path.read_text())
            if meta.get("fingerprint") == fingerprint or self.keep_stale or self.render_only:
                return self._from_meta(est, ds_name, decode, meta, d, cached=True)
        if self.render_only:
            return Run(est, ds_name, decode, False, shown, error="not run (--render-only and nothing cached)")
        if not self.cli.is_file():
            return Run(est, ds_name, decode, False, shown, error=f"CLI not found at {_rel(self.cli)}")
        d.mkdir(parents=True, exist_ok=True)
        tmp_windows = d / "windows.csv.tmp"
        cmd = [str(self.cli)] + cli_args(est, ds.root, decode, tmp_windows)
        if os.nice(0) < 5:
            cmd = ["nice", "-n", "10"] + cmd
        if self.verbose:
            print(f"[evaluate] run {ds_name} {est.key} {decode}", flush=True)
        t0 = time.time()
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout_s)
            rc, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired:
            rc, out, err = -1, "", f"timed out after {self.timeout_s} s"
        seconds = time.time() - t0
        if self._source is None:
            self._source = _source_state() or "unknown"
        meta = {"fingerprint": fingerprint, "command": shown, "rc": rc, "seconds": round(seconds, 2),
                "source": self._source,
                "stderr_tail": err.strip().splitlines()[-5:] if err.strip() else [],
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if rc == 0:
            try:
                summary = json.loads(out)
                (d / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
                os.replace(tmp_windows, windows)
                read_windows_csv(windows)
            except (ValueError, OSError) as e:
                meta["rc"] = -2
                meta["stderr_tail"] = [f"unreadable CLI output: {' '.join(str(e).split())}"]
        tmp_meta = d / "meta.json.tmp"
        tmp_meta.write_text(json.dumps(meta, indent=1) + "\n")
        os.replace(tmp_meta, meta_path)
        return self._from_meta(est, ds_name, decode, meta, d, cached=False)

    def _from_meta(self, est, ds_name, decode, meta, d: Path, cached: bool) -> Run:
        if meta["rc"] != 0:
            msg = meta["stderr_tail"][-1] if meta["stderr_tail"] else f"exit status {meta['rc']}"
            return Run(est, ds_name, decode, False, meta["command"], error=msg, seconds=meta["seconds"], cached=cached,
                       source=meta.get("source", "unknown"))
        summary = json.loads((d / "summary.json").read_text())
        return Run(est, ds_name, decode, True, meta["command"], summary=summary, windows_path=d / "windows.csv",
                   seconds=meta["seconds"], cached=cached, source=meta.get("source", "unknown"))


# ------------------------------------------------------------------------------------------------
# Collecting the numbers

def groups_of(ds: DS.Dataset) -> List[str]:
    subs = ds.subsets()
    return subs + ["all"] if len(subs) > 1 else subs


def evaluate_dataset(ds: DS.Dataset, ests: Sequence[Estimator], runner: Runner,
                     floors_cache: Optional[Path] = None, verbose: bool = True) -> Tuple[dict, List[Run]]:
    floors = compute_floors(ds, floors_cache, verbose)
    all_ref = np.concatenate([f["ref"] for f in floors.values()])
    median_bpm = float(np.median(all_ref[np.isfinite(all_ref)]))
    groups = groups_of(ds)
    res = {"title": ds.title, "root": _rel(ds.root), "rates_hz": ds.rates(), "ppg_channels": ds.channel_counts(),
           "recordings": len(ds.ids()), "labelled_windows": int(np.isfinite(all_ref).sum()),
           "median_bpm": median_bpm, "groups": {}, "per_recording": {}, "runs": []}
    for g in groups:
        res["groups"][g] = {"recordings": len(ds.ids(g)), "floors": floor_metrics(floors, g, median_bpm),
                            "estimators": {}}
    fpr = floor_per_recording(floors, median_bpm)
    for rid in ds.ids():
        res["per_recording"][rid] = {"subset": floors[rid]["subset"], "windows": int(np.isfinite(floors[rid]["ref"]).sum()),
                                     "floors": fpr[rid], "estimators": {}}
    runs: List[Run] = []
    for est in ests:
        for g in groups:
            res["groups"][g]["estimators"][est.key] = {"label": est.label, "decodes": {}, "failed": {}}
        decodes = list(est.decodes)
        for decode in decodes:
            run = runner.run(est, ds, decode)
            runs.append(run)
            res["runs"].append({"estimator": est.key, "decode": decode, "ok": run.ok, "command": run.command,
                                "error": run.error, "seconds": run.seconds, "source": run.source})
            if not run.ok:
                for g in groups:
                    res["groups"][g]["estimators"][est.key]["failed"][decode] = run.error
                # A model that cannot be decoded (a regression head): at least its raw estimate.
                if decode == decodes[-1] and "none" not in decodes and \
                        not res["groups"][groups[0]]["estimators"][est.key]["decodes"]:
                    decodes.append("none")
                continue
            w = run.windows
            for g in groups:
                m = decode_metrics(w.group(g))
                e = res["groups"][g]["estimators"][est.key]
                e["decodes"][decode] = m
                if e.get("mae_raw") is None:
                    e["mae_raw"] = m["mae_raw"]
            cli_overall = (run.summary or {}).get("overall", {})
            ours = decode_metrics(w)
            res["runs"][-1]["check"] = {"cli_mae_raw": cli_overall.get("mae_raw"), "cli_mae_decoded": cli_overall.get("mae_decoded"),
                                        "cli_coverage": cli_overall.get("coverage"),
                                        "ours_mae_raw": ours["mae_raw"], "ours_mae_decoded": ours["mae"],
                                        "ours_coverage": ours["coverage"],
                                        "accelerometer": (run.summary or {}).get("accelerometer"),
                                        "channels": (run.summary or {}).get("channels")}
            for rid, v in per_recording(w).items():
                if rid in res["per_recording"]:
                    pe = res["per_recording"][rid]["estimators"].setdefault(est.key, {"mae_raw": v["mae_raw"]})
                    pe[decode] = v["mae"]
    return res, runs


# ------------------------------------------------------------------------------------------------
# The page

def _f(v, nd=2) -> str:
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.{nd}f}"


def _plots(name: str, res: dict, ests: Sequence[Estimator], out: Path) -> Dict[str, str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    files = {}
    groups = list(res["groups"])
    fig, axes = plt.subplots(1, len(groups), figsize=(5.2 * len(groups), 4.2), squeeze=False)
    for ax, g in zip(axes[0], groups):
        G = res["groups"][g]
        x = np.array(COVERAGE_GRID) * 100
        top = 0.0
        for i, est in enumerate(ests):
            e = G["estimators"].get(est.key, {})
            modes = ("online", "offline") if est.model == "spectral" else ("online",)
            for mode in modes:
                d = e.get("decodes", {}).get(mode)
                if d and d["curve"]:
                    top = max(top, max(d["curve"]))
                    ax.plot(x, d["curve"], color=f"C{i}", ls="-" if mode == "online" else "--", lw=1.4,
                            label=f"{est.label} ({mode})")
        fl = G["floors"]
        if fl["constant"] is not None:
            ax.axhline(fl["constant"], color="k", ls=":", lw=1, label=f"floor: constant median guess ({fl['constant']:.1f})")
        if fl["peak"] is not None:
            ax.axhline(fl["peak"], color="0.5", ls="-.", lw=1, label=f"floor: plain spectral peak ({fl['peak']:.1f})")
        ax.set_title(f"{name} / {g}")
        ax.set_xlabel("windows kept, most confident first (%)")
        ax.set_ylabel("MAE of the kept windows (BPM)")
        ax.set_xlim(0, 100)
        # Zoomed on the estimators: a floor far above them is off the plot but named (with its
        # value) in the legend.
        ax.set_ylim(0, top * 1.15 if top > 0 else None)
        ax.grid(alpha=0.3)
    if axes[0][0].get_legend_handles_labels()[0]:
        axes[0][0].legend(fontsize=6.5, loc="upper left")
    fig.tight_layout()
    fn = f"coverage_{name}.png"
    fig.savefig(out / fn, dpi=110)
    plt.close(fig)
    files["coverage"] = fn
    held = [g for g in groups if not _in_fit(name, g)]
    spectral = [e for e in ests if e.model == "spectral"]
    if held and spectral:
        fig, axes = plt.subplots(len(spectral), len(held), figsize=(4.6 * len(held), 4.2 * len(spectral)), squeeze=False)
        for r, est in enumerate(spectral):
            for ax, g in zip(axes[r], held):
                e = res["groups"][g]["estimators"].get(est.key, {})
                for j, mode in enumerate(SPECTRAL_DECODES):
                    cal = e.get("decodes", {}).get(mode, {}).get("calibration")
                    if cal:
                        rows = np.array(cal["rows"])
                        ax.plot(rows[:, 3], rows[:, 4], "o-", color=f"C{j}", ms=3,
                                label=f"{mode} (ECE {cal['ece']:.3f})")
                ax.plot([0, 1], [0, 1], "k:", lw=1)
                ax.set_xlim(0, 1); ax.set_ylim(0, 1.02)
                ax.set_title(f"{est.label}\n{name} / {g} (not used to fit)", fontsize=9)
                ax.set_xlabel("reported confidence (bin mean)")
                ax.set_ylabel(f"fraction within {TOL_BPM:g} BPM")
                ax.grid(alpha=0.3)
                if ax.get_legend_handles_labels()[0]:
                    ax.legend(fontsize=7, loc="upper left")
        fig.tight_layout()
        fn = f"calibration_{name}.png"
        fig.savefig(out / fn, dpi=110)
        plt.close(fig)
        files["calibration"] = fn
    return files


def _overview(summary: dict, ests: Sequence[Estimator]) -> List[str]:
    """The headline table: the spectral estimator and the floors on every data set and group."""
    L = ["## Overview: the spectral estimator and the floors", "",
         "MAE in BPM (definitions below); coverage = MAE of the online estimate over the 50 / 80 / 100% "
         "most confident scored windows.", "",
         "| data set / group | estimator | raw | online | lag:3 | offline | cov. 50% | cov. 80% | cov. 100% |",
         "|---|---|---|---|---|---|---|---|---|"]
    for name, res in summary["datasets"].items():
        for g, G in res["groups"].items():
            fl = G["floors"]
            L.append(f"| {name} / {g} | floors: plain peak / constant | {_f(fl['peak'])} / {_f(fl['constant'])} | | | | | | |")
            for est in ests:
                if est.model != "spectral":
                    continue
                e = G["estimators"].get(est.key)
                if e is None:
                    continue
                dec = e["decodes"]
                cov = (dec.get("online") or {}).get("coverage") or {}
                cells = [_f(e.get("mae_raw"))] + [_f((dec.get(m) or {}).get("mae")) for m in DECODES]
                cells += [_f(cov.get(k)) for k in ("50", "80", "100")]
                L.append(f"| {name} / {g} | {est.label} | " + " | ".join(cells) + " |")
    return L + [""]


def _dagger(est: Estimator, res: dict, group: str) -> str:
    """' &dagger;' when the group's windows include one of the model's training sets (a card's
    train_subset: one subset or data set, or several joined by '+', e.g. 'bami1+wrist')."""
    if not est.train_subset:
        return ""
    for t in est.train_subset.split("+"):
        if t in res["groups"] and group in (t, "all"):
            return " &dagger;"
    return ""


def _in_fit(name: str, group: str) -> bool:
    """Whether the (data set, group) windows include the calibration's fit data (bami / bami1)."""
    return name == FIT[0] and group in (FIT[1], "all")


def render(summary: dict, ests: Sequence[Estimator], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    L = ["# Evaluation across data sets (generated by tools/ppghr_tools/evaluate.py; do not edit)", "",
         f"Rebuild: `{summary['command']}` (runs the C++ CLI, here `{summary['cli']}`: --cli PATH, else "
         "$PPGHR_BUILD_DIR/examples/ppghr-estimate, else build/examples/ppghr-estimate; once per estimator, data set "
         "and decoding, cached under .cache/evaluation/ so a rerun only redoes what changed; add "
         "`--render-only` to rebuild this page from the cache). Numbers: summary.json; per recording: "
         "per_recording.csv.", ""]
    sources: Dict[str, int] = {}
    for res in summary["datasets"].values():
        for r in res["runs"]:
            sources[r.get("source") or "unknown"] = sources.get(r.get("source") or "unknown", 0) + 1
    if sources:
        L += ["Source tree when the CLI runs were made: " + "; ".join(f"{k} ({n} runs)" for k, n in sources.items())
              + f". CLI binary SHA-256 {(summary.get('cli_sha256') or '?')[:16]}; page rendered at {summary.get('source')}.", ""]
    if summary.get("note"):
        L += [summary["note"], ""]
    L += _overview(summary, ests)
    L += ["## Definitions", "",
          "- MAE (BPM) over the scored windows: labelled, status ok, with an estimate. **raw** = the "
          "estimator's own per-window estimate; **online** = forward filter (causal); **lag:3** = "
          "fixed-lag smoother, 3 windows (6 s) late; **offline** = the whole recording decoded "
          "(the CLI's `--decode offline`). Transition prior and decoders: include/ppghr/post/decode.hpp.",
          "- **Coverage** X%: MAE of the decoded estimate over the X% most confident scored windows "
          "(reported confidence, stable sort; ties keep recording order). In the main table: online decoding.",
          "- **Calibration**: scored windows binned by reported confidence (10 equal bins); fraction "
          f"within {TOL_BPM:g} BPM of the reference per bin; ECE = window-weighted mean gap. The spectral "
          "estimator's confidence is calibrated on BAMI-1 windows only (tools/ppghr_tools/calibrate.py), so "
          "its curves are shown on the other subsets and data sets.",
          "- Floors, computed in Python (ppghr_tools.evaluate.spectral_peak_bpm): **plain spectral peak** = "
          "argmax over the 180-class grid 30..209 BPM of the periodogram of PPG channel 0, band-passed "
          "(4th-order Butterworth 0.5-4 Hz, forward-backward over the whole recording), per 8-s window "
          "(mean removed, Hann taper, DFT evaluated at the grid frequencies); **constant guess** = the "
          "data set's median reference heart rate (all its labelled windows) for every window. Floors "
          "score every labelled window.",
          "- Models: every shipped blob in models/ (models/README.md), PPG channel 0 at their trained rate "
          "(the CLI resamples)." + (" The spectral estimator (`--model spectral`, no blob): models/spectral.md."
                                    if (REPO / "models" / "spectral.md").is_file() else ""), ""]
    for name, res in summary["datasets"].items():
        one = res["ppg_channels"] == [1]
        L += [f"## {name}: {res['title']}", "",
              f"{res['recordings']} recordings, {res['labelled_windows']} labelled windows, "
              f"{'/'.join(str(r) for r in res['rates_hz'])} Hz, {'/'.join(str(c) for c in res['ppg_channels'])} "
              f"PPG channel(s){' (so all PPG channels = channel 0)' if one else ''}, median reference heart rate "
              f"{res['median_bpm']:.1f} BPM ({res['root']}/README.md).", ""]
        files = _plots(name, res, ests, out)
        G0 = next(iter(res["groups"].values()))
        failed = [(est.label, m, msg.replace("ppghr-estimate: error: ", "")) for est in ests
                  for m, msg in G0["estimators"].get(est.key, {}).get("failed", {}).items()]
        if failed:
            L += ["Not available (the CLI refused or failed; its message): " +
                  "; ".join(f"{lab} `--decode {m}`: {msg}" for lab, m, msg in failed), ""]
        for g, G in res["groups"].items():
            fl = G["floors"]
            L += [f"### {name} / {g} ({G['recordings']} recordings)", "",
                  "| estimator | raw | online | lag:3 | offline | cov. 50% | cov. 80% | cov. 100% | scored / labelled |",
                  "|---|---|---|---|---|---|---|---|---|",
                  f"| floor: plain spectral peak | {_f(fl['peak'])} | | | | | | | {fl['peak_windows']} |",
                  f"| floor: constant {res['median_bpm']:.1f} BPM | {_f(fl['constant'])} | | | | | | | {fl['constant_windows']} |"]
            for est in ests:
                e = G["estimators"].get(est.key)
                if e is None:
                    continue
                dec = e["decodes"]
                cov = (dec.get("online") or {}).get("coverage") or {}
                any_d = next(iter(dec.values()), None)
                counts = f"{any_d['scored']} / {any_d['windows']}" if any_d else "-"
                cells = [_f(e.get("mae_raw"))] + [_f((dec.get(m) or {}).get("mae")) for m in DECODES]
                cells += [_f(cov.get(k)) for k in ("50", "80", "100")]
                L.append(f"| {est.label}{_dagger(est, res, g)} | " + " | ".join(cells) + f" | {counts} |")
            if any(_dagger(est, res, g) for est in ests):
                L += ["", "&dagger; trained on this data set's subset " + ", ".join(sorted({e.train_subset for e in ests if _dagger(e, res, g)}))
                      + " (its card, models/*.json): these windows include its training data."]
            L += ["", "Coverage for every decoding (MAE at 50 / 80 / 100% of the scored windows kept):", "",
                  "| estimator | " + " | ".join(SPECTRAL_DECODES) + " |", "|---|" + "---|" * len(SPECTRAL_DECODES)]
            for est in ests:
                dec = G["estimators"].get(est.key, {}).get("decodes", {})
                cells = []
                for m in SPECTRAL_DECODES:
                    c = (dec.get(m) or {}).get("coverage")
                    cells.append(" / ".join(_f(c[k]) for k in ("50", "80", "100")) if c else "-")
                L.append(f"| {est.label} | " + " | ".join(cells) + " |")
            L.append("")
        L += [f"![coverage curves, {name}]({files['coverage']})", ""]
        held = [g for g in res["groups"] if not _in_fit(name, g)]
        if held:
            L += [f"### {name}: calibration (data not used to fit the spectral calibration)", ""]
            if "calibration" in files:
                L += [f"![calibration curves, {name}]({files['calibration']})", ""]
            for g in held:
                G = res["groups"][g]
                L += [f"{name} / {g}: ECE per estimator and decoding (bins: mean confidence -> fraction within "
                      f"{TOL_BPM:g} BPM, windows)", "", "| estimator | decode | ECE | bins |", "|---|---|---|---|"]
                for est in ests:
                    for m, d in G["estimators"].get(est.key, {}).get("decodes", {}).items():
                        cal = d.get("calibration")
                        if not cal:
                            continue
                        bins = ", ".join(f"{r[3]:.2f}->{r[4]:.2f} ({r[2]})" for r in cal["rows"])
                        L.append(f"| {est.label} | {m} | {cal['ece']:.3f} | {bins} |")
                L.append("")
        # per recording
        cols = [("floor: peak", lambda p: p["floors"]["peak"]), ("floor: constant", lambda p: p["floors"]["constant"])]
        for est in ests:
            modes = ("mae_raw",) + (DECODES if est.model == "spectral" else ("online",))
            for m in modes:
                short = "raw" if m == "mae_raw" else m
                cols.append((f"{est.key} {short}", (lambda k, mm: lambda p: p["estimators"].get(k, {}).get(mm))(est.key, m)))
        L += [f"### {name}: MAE per recording", "",
              "| recording | subset | labelled | " + " | ".join(c for c, _ in cols) + " |",
              "|---|---|---|" + "---|" * len(cols)]
        for rid, p in res["per_recording"].items():
            L.append(f"| {rid} | {p['subset']} | {p['windows']} | " + " | ".join(_f(fn(p), 1) for _, fn in cols) + " |")
        L.append("")
    L += ["## Commands", "",
          "Every CLI run behind this page (W.csv = the per-window output, cached), with its wall time:", "", "```"]
    for name, res in summary["datasets"].items():
        for r in res["runs"]:
            L.append(f"{r['command']}    # {r['seconds']:.1f} s" + ("" if r["ok"] else f"  FAILED: {r['error']}"))
    L += ["```", ""]
    checks = []
    for name, res in summary["datasets"].items():
        for r in res["runs"]:
            c = r.get("check")
            if not c:
                continue
            pairs = [(c.get("ours_mae_raw"), c.get("cli_mae_raw"), "MAE raw"),
                     (c.get("ours_mae_decoded"), c.get("cli_mae_decoded"), "MAE decoded")]
            for k in ("50", "80", "100"):
                pairs.append(((c.get("ours_coverage") or {}).get(k), (c.get("cli_coverage") or {}).get(k), f"coverage {k}%"))
            for ours, theirs, what in pairs:
                if theirs is not None and ours is not None and abs(theirs - ours) > 5e-3:
                    checks.append(f"{name} {r['estimator']} {r['decode']}: {what} CLI {theirs:.3f} vs here {ours:.3f}")
    L += ["Consistency: the CLI's own overall numbers (its JSON summary: MAE raw and decoded, coverage "
          "50/80/100%) agree with the ones computed here from its per-window output within 0.005 BPM for every run."
          if not checks else
          "Consistency: the CLI's own overall numbers differ from the ones computed here from its windows: " + "; ".join(checks), ""]
    (out / "README.md").write_text("\n".join(L))
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=float) + "\n")
    with open(out / "per_recording.csv", "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["dataset", "recording", "subset", "labelled", "estimator", "decode", "mae"])
        for name, res in summary["datasets"].items():
            for rid, p in res["per_recording"].items():
                for k in ("peak", "constant"):
                    wr.writerow([name, rid, p["subset"], p["windows"], f"floor_{k}", "", _f(p["floors"][k], 4)])
                for est, v in p["estimators"].items():
                    for m, x in v.items():
                        wr.writerow([name, rid, p["subset"], p["windows"], est, "raw" if m == "mae_raw" else m, _f(x, 4)])


def _strip_curves(summary: dict) -> dict:
    """summary.json keeps the coverage curves (they are small) but rounds floats to 4 decimals."""
    def rnd(v):
        if isinstance(v, float):
            return round(v, 4)
        if isinstance(v, dict):
            return {k: rnd(x) for k, x in v.items()}
        if isinstance(v, list):
            return [rnd(x) for x in v]
        return v
    return rnd(summary)


def _source_state() -> Optional[str]:
    """'commit abc1234' (+ a note when include/ or examples/ have uncommitted changes), or None."""
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=20).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "include", "examples"],
                               capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if not head:
        return None
    return f"commit {head}" + (" with uncommitted changes in include/ or examples/" if dirty else "")


def build(datasets: Sequence[str], ests: Sequence[Estimator], runner: Runner, out: Path,
          shared: Optional[Path] = None, cache: Optional[Path] = DEFAULT_CACHE, command: str = COMMAND,
          verbose: bool = True) -> dict:
    summary = {"generated_by": "tools/ppghr_tools/evaluate.py", "command": command, "cli": _rel(runner.cli),
               "estimators": [{"key": e.key, "model": e.model if e.model == "spectral" else _rel(e.model),
                               "channels": e.channels, "label": e.label, "train_subset": e.train_subset} for e in ests],
               "coverage_grid": list(COVERAGE_GRID), "source": _source_state(),
               "cli_sha256": _sha256(runner.cli) if runner.cli.is_file() else None, "datasets": {}}
    for name in datasets:
        ds = DS.dataset(name, shared=shared)
        res, _ = evaluate_dataset(ds, ests, runner, cache, verbose)
        summary["datasets"][ds.name] = res
    summary = _strip_curves(summary)
    render(summary, ests, out)
    return summary


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default=None, help="ppghr-estimate binary (default $PPGHR_BUILD_DIR/examples/"
                    "ppghr-estimate, else build/examples/ppghr-estimate)")
    ap.add_argument("--data", default=None, help="directory holding the data sets (default <repo>/../shared/data)")
    ap.add_argument("--datasets", default=None, help="comma-separated names or paths (default: every data set found)")
    ap.add_argument("--models", default=str(DEFAULT_MODELS), help="directory of shipped .ppgw blobs ('' for none)")
    ap.add_argument("--only", default=None, help="comma-separated estimator keys (default all)")
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--cache", default=str(DEFAULT_CACHE))
    ap.add_argument("--keep-stale", action="store_true", help="reuse cached runs even if the CLI or a blob changed")
    ap.add_argument("--render-only", action="store_true", help="no CLI runs: the page from what is cached")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    shared = Path(a.data) if a.data else None
    names = a.datasets.split(",") if a.datasets else DS.available(shared)
    if not names:
        print(f"evaluate: no data sets under {shared or DS.SHARED_DATA}", file=sys.stderr)
        return 2
    ests = estimators(Path(a.models) if a.models else None)
    if a.only:
        keep = set(a.only.split(","))
        ests = [e for e in ests if e.key in keep]
    cli = find_cli(a.cli)
    if not a.render_only and not cli.is_file():
        print(f"evaluate: the CLI is not at {cli} (build it: cmake --build BUILD --target ppghr-estimate; "
              "or give --cli / PPGHR_BUILD_DIR)", file=sys.stderr)
        return 2
    runner = Runner(cli, Path(a.cache), keep_stale=a.keep_stale, render_only=a.render_only, verbose=not a.quiet)
    cmd = COMMAND + ("" if a.cli is None else f" --cli {_rel(cli)}")
    try:
        build(names, ests, runner, Path(a.out), shared, Path(a.cache), command=cmd, verbose=not a.quiet)
    except ValueError as e:
        print(f"evaluate: {e}", file=sys.stderr)
        return 2
    print(f"[evaluate] wrote {Path(a.out) / 'README.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
