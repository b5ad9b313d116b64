"""The C++ tool's spectral network (SpectralNet<C, SpecNet<N>>) against its Python twin, end to end:
the same CSV read by ppghr-estimate (--format json, no decoding) and by spectral.recording_windows ->
spectral.features -> the PyTorch SpecNet loaded from the same blob (float64). Per ok window, the
tool's class must be the twin's argmax (or a tie within 1e-5 of probability), and its confidence
(the probability mass within +-5 BPM of it) within 1e-4 of the twin's.

    PYTHONPATH=tools /usr/bin/python3 tests/cli/specnet_parity.py <ppghr-estimate> <blob> <arch> --csv FILE
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

TOLERANCE = 1e-4
MIN_BPM = 30
HALF_WIDTH = 5


def read_csv(path: Path):
    """(ppg (N, C) float32, acc (N, 3) float32 or None, fs) as ppghr-estimate parses the CSV."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    names = list(rows[0].keys())
    ppg_cols = [c for c in names if c == "ppg" or (c.startswith("ppg") and c[3:].isdigit())]
    ppg = np.array([[float(r[c]) for c in ppg_cols] for r in rows], dtype=np.float32)
    acc = None
    if all(c in names for c in ("acc_x", "acc_y", "acc_z")):
        acc = np.array([[float(r[c]) for c in ("acc_x", "acc_y", "acc_z")] for r in rows], dtype=np.float32)
    t = np.array([float(r["time"]) for r in rows[:2]])
    return ppg, acc, float(round(1.0 / (t[1] - t[0]), 6))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("exe")
    ap.add_argument("blob")
    ap.add_argument("arch")
    ap.add_argument("--csv", type=Path, required=True)
    a = ap.parse_args(argv)

    import torch
    from ppghr_tools import blob as B
    from ppghr_tools import spectral as S

    proc = subprocess.run([a.exe, "--model", a.blob, "--arch", a.arch, "--format", "json", "--csv", str(a.csv)],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        print(f"FAIL the tool: exit {proc.returncode}: {proc.stderr.strip()[-300:]}")
        return 1
    rows = json.loads(proc.stdout)
    ppg, acc, fs = read_csv(a.csv)
    windows, status = S.recording_windows(ppg, acc, fs)
    C = ppg.shape[1]
    feats = np.stack([S.features(w, C, accelerometer=acc is not None) for w in windows])
    module = B.import_blob(a.arch, a.blob, dtype=torch.float64)
    with torch.no_grad():
        p = torch.softmax(module(torch.from_numpy(feats)), dim=1).numpy()
    if len(rows) != len(p):
        print(f"FAIL {a.arch}: the tool gave {len(rows)} windows, the twin {len(p)}")
        return 1
    n_ok, bad, ties, worst = 0, 0, 0, 0.0
    for k, row in enumerate(rows):
        if row["status"] != "ok":
            continue
        n_ok += 1
        c_cpp, c_py = int(round(float(row["hr"]))) - MIN_BPM, int(np.argmax(p[k]))
        if c_cpp != c_py:
            if p[k][c_cpp] >= p[k][c_py] - 1e-5:
                ties += 1
            else:
                bad += 1
        lo, hi = max(0, c_cpp - HALF_WIDTH), min(p.shape[1], c_cpp + HALF_WIDTH + 1)
        worst = max(worst, abs(float(p[k][lo:hi].sum()) - float(row["confidence"])))
    if n_ok == 0 or bad or worst > TOLERANCE:
        print(f"FAIL {a.arch} on {a.csv.name}: {n_ok} ok windows, {bad} classes differ, confidence max |d| {worst:.2e}")
        return 1
    print(f"ok   {a.arch} on {a.csv.name}: {n_ok} ok windows, classes equal ({ties} ties), confidence max |d| {worst:.2e} "
          f"(<= {TOLERANCE:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
