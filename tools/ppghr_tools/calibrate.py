"""Calibration of the spectral estimator's confidence: include/ppghr/spectral/calibration_tables.hpp.

  PYTHONPATH=tools nice /usr/bin/python3 -m ppghr_tools.calibrate [--cli PATH] [--out HEADER]
  PYTHONPATH=tools nice /usr/bin/python3 -m ppghr_tools.calibrate --check   (exit 1 when stale)

For each decoding (none, online, lag:3, offline) and with and without the accelerometer, it runs the
C++ CLI on BAMI (the spectral estimator, all PPG channels; evaluate.Runner, cached under
.cache/evaluation/) and fits, on the BAMI-1 windows only (status ok, labelled, decoded estimate
present), a monotone piecewise-linear map from the CLI's `confidence_raw` to
P(|hr_decoded - ref| <= 5 BPM): decode.fit_calibration (isotonic regression by pool adjacent
violators, then at most 32 knots; fit_pav below when decode.py is absent). BAMI-2 and the other
data sets are never used to fit: the evaluation page shows the calibration curves there.

"Without the accelerometer" runs the CLI on a copy of the data set that has no rec/<id>.acc.f32
files (.cache/evaluation/datasets/bami-noacc: index.json copied, PPG and labels symlinked), the way
a device without one is seen.

The header holds plain arrays (the integrator puts them into ppghr::Calibration):
  inline constexpr float kSpectralCalib<Mode><Acc>X[] = {...};   // confidence_raw, increasing
  inline constexpr float kSpectralCalib<Mode><Acc>Y[] = {...};   // P(within 5 BPM), non-decreasing
  inline constexpr int kSpectralCalib<Mode><Acc>Count = n;
with Mode in None, Online, Lag3, Offline and Acc in Acc, NoAcc.

`confidence_raw` does not depend on the tables, so --check (rerun, refit, compare) also holds after
the CLI is rebuilt with them. --check compares the tables, not the text: same names and knot
counts, every knot within --tol (1e-3; a rebuild can move the last float digits, or flip a
borderline window, which moves a knot by 1/n of its few hundred windows).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from . import datasets as DS
from . import evaluate as E

HEADER = E.REPO / "include" / "ppghr" / "spectral" / "calibration_tables.hpp"
MODES = ("none", "online", "lag:3", "offline")
MODE_NAMES = {"none": "None", "online": "Online", "lag:3": "Lag3", "offline": "Offline"}
FIT_DATASET, FIT_SUBSET = E.FIT
ESTIMATOR = E.Estimator("spectral-all", "spectral", "all", "spectral, all PPG channels")
COMMAND = "PYTHONPATH=tools nice /usr/bin/python3 -m ppghr_tools.calibrate"
MAX_KNOTS = 32


def fit_pav(raw, correct, max_knots: int = MAX_KNOTS) -> Tuple[np.ndarray, np.ndarray]:
    """Stand-in for decode.fit_calibration (same signature and result kind): isotonic regression of
    `correct` on `raw` by pool adjacent violators, then at most max_knots knots, each the mean
    (raw, correct) of a run of consecutive blocks holding about equal sample counts."""
    raw = np.asarray(raw, np.float64)
    correct = np.asarray(correct, np.float64)
    o = np.argsort(raw, kind="stable")
    r, c = raw[o], correct[o]
    vals, wts, ends = [], [], []
    for i in range(len(c)):
        vals.append(c[i]); wts.append(1.0); ends.append(i + 1)
        while len(vals) > 1 and vals[-2] > vals[-1]:
            vals[-2] = (vals[-2] * wts[-2] + vals[-1] * wts[-1]) / (wts[-2] + wts[-1])
            wts[-2] += wts[-1]; ends[-2] = ends[-1]
            vals.pop(); wts.pop(); ends.pop()
    cum = np.cumsum(wts)
    xs, ys, b0 = [], [], 0
    for g in range(max_knots):
        b1 = b0
        while b1 < len(vals) and (cum[b1] <= len(c) * (g + 1) / max_knots or b1 == b0):
            b1 += 1
        if g == max_knots - 1:
            b1 = len(vals)
        if b1 > b0:
            s, e = (ends[b0 - 1] if b0 else 0), ends[b1 - 1]
            x, y = float(r[s:e].mean()), float(np.dot(vals[b0:b1], wts[b0:b1]) / np.sum(wts[b0:b1]))
            if xs and x <= xs[-1]:
                ys[-1] = max(ys[-1], y)
            else:
                xs.append(x); ys.append(y)
        b0 = b1
        if b0 >= len(vals):
            break
    return np.asarray(xs, np.float32), np.asarray(ys, np.float32)


def fit_function():
    """decode.fit_calibration when it is there, else fit_pav."""
    try:
        from .decode import fit_calibration
        return fit_calibration, "decode.fit_calibration"
    except ImportError:
        return fit_pav, "calibrate.fit_pav"


def noacc_copy(ds: DS.Dataset, cache: Path) -> DS.Dataset:
    """The data set without its accelerometer files: cache/datasets/<name>-noacc (symlinks)."""
    root = Path(cache) / "datasets" / f"{ds.name}-noacc"
    rec = root / "rec"
    rec.mkdir(parents=True, exist_ok=True)
    idx = ds.index_path.read_bytes()
    if not (root / "index.json").exists() or (root / "index.json").read_bytes() != idx:
        (root / "index.json").write_bytes(idx)
    for rid in ds.ids():
        for kind in ("ppg", "hr"):
            link, target = rec / f"{rid}.{kind}.f32", (ds.root / "rec" / f"{rid}.{kind}.f32").resolve()
            if link.is_symlink() and Path(os.readlink(link)) == target:
                continue
            if link.exists() or link.is_symlink():
                link.unlink()
            link.symlink_to(target)
        acc = rec / f"{rid}.acc.f32"
        if acc.exists() or acc.is_symlink():
            acc.unlink()
    return DS.dataset(root)


def fit_tables(runner: E.Runner, shared: Optional[Path] = None, cache: Path = E.DEFAULT_CACHE) -> Dict:
    """{(mode, with_acc): {'x', 'y', 'windows', 'recordings', 'command', 'accelerometer'}}."""
    fit, fit_name = fit_function()
    ds = DS.dataset(FIT_DATASET, shared=shared)
    out = {}
    for with_acc in (True, False):
        d = ds if with_acc else noacc_copy(ds, cache)
        name = ds.name if with_acc else f"{ds.name}-noacc"
        for mode in MODES:
            run = runner.run(ESTIMATOR, d, mode, ds_name=name)
            if not run.ok:
                raise RuntimeError(f"CLI run failed ({run.command}): {run.error}")
            w = run.windows.group(FIT_SUBSET)
            m = w.scored("hr_decoded") & np.isfinite(w.confidence_raw)
            correct = np.abs(w.hr_decoded[m] - w.ref[m]) <= E.TOL_BPM
            x, y = fit(w.confidence_raw[m], correct)
            if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
                raise RuntimeError(f"{fit_name} gave non-finite knots for {mode} ({name})")
            if len(x) > MAX_KNOTS:
                raise RuntimeError(f"{fit_name} gave {len(x)} knots (at most {MAX_KNOTS})")
            out[(mode, with_acc)] = {"x": np.asarray(x, np.float32), "y": np.asarray(y, np.float32),
                                     "windows": int(m.sum()), "correct": float(correct.mean()) if m.any() else None,
                                     "recordings": len(set(w.recording[m])),
                                     "command": "ppghr-estimate " + run.command.split(" ", 2)[2],
                                     "accelerometer": (run.summary or {}).get("accelerometer"), "fit": fit_name}
    return out


def _floats(a, per_line: int = 6) -> str:
    vals = []
    for v in a:
        t = f"{float(v):.9g}"
        vals.append(t + ("f" if any(c in t for c in ".e") else ".0f"))   # 1 -> 1.0f (1f is no literal)
    if len(vals) <= per_line:
        return ", ".join(vals)
    lines = [", ".join(vals[i:i + per_line]) for i in range(0, len(vals), per_line)]
    return "\n    " + ",\n    ".join(lines) + "\n"


def header_text(tables: Dict) -> str:
    first = next(iter(tables.values()))
    L = ["// Generated by tools/ppghr_tools/calibrate.py: do not edit. Rebuild / check:",
         f"//   {COMMAND}",
         f"//   {COMMAND} --check",
         "// Calibration of the spectral estimator's confidence: per decoding, a monotone piecewise-linear",
         "// map from the raw confidence (the CLI's confidence_raw) to P(|decoded heart rate - ECG| <= 5 BPM),",
         f"// fit by {first['fit']} (isotonic regression, pool adjacent violators, <= {MAX_KNOTS} knots)",
         f"// on ../shared/data/{FIT_DATASET} subset {FIT_SUBSET} only (status-ok labelled windows), spectral",
         "// estimator with all PPG channels. <Acc>: Acc = with the accelerometer; NoAcc = the same data",
         "// without it. X: confidence_raw, strictly increasing; Y: probability, non-decreasing; below X[0]",
         "// Y[0], above X[Count-1] Y[Count-1], linear in between (ppghr::Calibration::apply).",
         "// Runs behind each table (W.csv = per-window output):"]
    for (mode, acc), t in tables.items():
        L.append(f"//   {MODE_NAMES[mode]}{'Acc' if acc else 'NoAcc'}: {t['command']}")
        L.append(f"//     {t['windows']} windows of {t['recordings']} recordings, "
                 f"{100 * (t['correct'] or 0):.1f}% within 5 BPM")
    L += ["#pragma once", "", "namespace ppghr {", ""]
    for (mode, acc), t in tables.items():
        n = f"kSpectralCalib{MODE_NAMES[mode]}{'Acc' if acc else 'NoAcc'}"
        L += [f"inline constexpr float {n}X[] = {{{_floats(t['x'])}}};",
              f"inline constexpr float {n}Y[] = {{{_floats(t['y'])}}};",
              f"inline constexpr int {n}Count = {len(t['x'])};", ""]
    L += ["}  // namespace ppghr", ""]
    return "\n".join(L)


CHECK_TOL = 1e-3   # below what a knot resolves: each averages hundreds of windows (1/n each)


def parse_tables(text: str) -> Dict[str, np.ndarray]:
    """The arrays and counts of a generated header: {'kSpectralCalibOnlineAccX': array, ...,
    'kSpectralCalibOnlineAccCount': array([n])}."""
    import re
    out = {}
    for m in re.finditer(r"inline constexpr float (\w+)\[\] = \{([^}]*)\};", text):
        vals = [v.strip().rstrip("f") for v in m.group(2).replace("\n", " ").split(",") if v.strip()]
        out[m.group(1)] = np.array([float(v) for v in vals])
    for m in re.finditer(r"inline constexpr int (\w+) = (\d+);", text):
        out[m.group(1)] = np.array([int(m.group(2))])
    return out


def compare_tables(old_text: str, new_text: str, tol: float = CHECK_TOL) -> Tuple[bool, str]:
    """Whether two headers hold the same tables: same names and knot counts, every knot within
    tol (float rounding in the CLI's confidence_raw moves the last digits between builds; the
    comments, e.g. the run commands, are not compared)."""
    old, new = parse_tables(old_text), parse_tables(new_text)
    if not old:
        return False, "no tables in the file"
    if set(old) != set(new):
        return False, f"tables differ: {sorted(set(old) ^ set(new))}"
    worst, where = 0.0, ""
    for k in new:
        if old[k].shape != new[k].shape:
            return False, f"{k}: {len(old[k])} values, a fresh fit gives {len(new[k])}"
        d = float(np.max(np.abs(old[k] - new[k]))) if len(new[k]) else 0.0
        if d > worst:
            worst, where = d, k
    if worst > tol:
        return False, f"{where} differs by {worst:.3g} (> {tol:g})"
    return True, f"largest knot difference {worst:.3g}" + (f" in {where}" if where else "")


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", default=None, help="ppghr-estimate (default as for ppghr_tools.evaluate)")
    ap.add_argument("--data", default=None, help="directory holding the data sets (default <repo>/../shared/data)")
    ap.add_argument("--out", default=str(HEADER))
    ap.add_argument("--cache", default=str(E.DEFAULT_CACHE))
    ap.add_argument("--keep-stale", action="store_true", help="reuse cached CLI runs even if the binary changed")
    ap.add_argument("--check", action="store_true", help="compare with --out instead of writing it (exit 1 when it differs)")
    ap.add_argument("--tol", type=float, default=CHECK_TOL, help="--check: largest knot difference taken as equal")
    a = ap.parse_args(argv)
    cli = E.find_cli(a.cli)
    if not cli.is_file():
        print(f"calibrate: the CLI is not at {cli} (give --cli or PPGHR_BUILD_DIR)", file=sys.stderr)
        return 2
    shared = Path(a.data) if a.data else None
    try:
        tables = fit_tables(E.Runner(cli, Path(a.cache), keep_stale=a.keep_stale), shared, Path(a.cache))
    except (ValueError, RuntimeError) as e:
        print(f"calibrate: {e}", file=sys.stderr)
        return 2
    text = header_text(tables)
    out = Path(a.out)
    if a.check:
        ok, why = compare_tables(out.read_text() if out.is_file() else "", text, a.tol)
        if ok:
            print(f"calibrate: {out} is up to date ({why})")
            return 0
        print(f"calibrate: {out} is stale: {why} (rerun without --check)", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"calibrate: wrote {out}")
    for (mode, acc), t in tables.items():
        print(f"  {mode:8s} {'acc' if acc else 'no acc'}: {len(t['x'])} knots, {t['windows']} windows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
