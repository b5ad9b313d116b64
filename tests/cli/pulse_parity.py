"""ppghr-estimate with a PULSE blob == PyTorch on the Python twin of the front end, window by window.

    pulse_parity.py EXE BLOB ARCH --csv FILE
    pulse_parity.py EXE BLOB ARCH --dataset DIR --recording ID

Runs the command-line tool (``EXE --model BLOB --arch ARCH``, JSON output: hr with 6 decimals) on
the recording, and
PyTorch on the same recording: ``preprocess.windows_from_recording(ppg + acc, fs, net="pulse")``
(resampled to 32 Hz, raw units: the network normalises its input with the constants in the blob,
or per window for the *_wn archs),
then ``blob.import_blob(ARCH, BLOB, float64)``, the module as the blob stores it, in float64.
For every window the tool calls ok:
  regression head (pulse_teacher, pulse_student): |hr_C++ - BPM_PyTorch| <= TOLERANCE_BPM +
    RELATIVE_TOLERANCE x |BPM|. The JSON's 6 decimals round by 5e-7; the rest is float32 rounding
    in the C++ network, of the size of PyTorch's own float32-vs-float64 difference, which the
    summary line prints beside it (seeded golden blobs on the demo: up to 4e-5 BPM);
  180-class head (_cls): same argmax (a near-tie within 1e-5 of probability may go either way)
    and |confidence_C++ - mass within +-5 BPM| <= 2e-4.
With --dataset and a reference, the MAE the tool prints (stderr) must equal the MAE of the
PyTorch values against the labels over the same windows, within 1e-3 BPM.
Prints one summary line; exit status 0 when every check holds, 1 otherwise, 2 on bad usage.
Needs torch, numpy, scipy; PYTHONPATH must reach tools/ (the test script sets it).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

TOLERANCE_BPM = 5e-4
RELATIVE_TOLERANCE = 1e-6
CONFIDENCE_TOLERANCE = 2e-4
MAE_TOLERANCE = 1e-3
HALF_WIDTH = 5  # the confidence's +-5 BPM
MIN_BPM = 30


def read_csv_recording(path: Path):
    """(signal (N, 4) float32: ppg, acc_x, acc_y, acc_z; fs) as ppghr-estimate parses the CSV."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    cols = ("ppg", "acc_x", "acc_y", "acc_z")
    # strtod then a cast to float on the C++ side: the same as float() then float32 here
    sig = np.array([[float(r[c]) if r[c].strip() not in ("", "nan", "NaN", "NA") else np.nan for c in cols]
                    for r in rows], dtype=np.float32)
    t = np.array([float(r["time"]) for r in rows[:2]])
    return sig, int(round(1.0 / (t[1] - t[0])))


def run_tool(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        sys.exit(f"FAIL {' '.join(cmd)}: exit {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout), proc.stderr


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("exe")
    ap.add_argument("blob")
    ap.add_argument("arch", choices=("pulse_teacher", "pulse_teacher_cls", "pulse_student", "pulse_student_cls",
                                     "pulse_teacher_wn", "pulse_teacher_wn_cls", "pulse_student_wn",
                                     "pulse_student_wn_cls"))
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--csv", type=Path)
    src.add_argument("--dataset", type=Path)
    ap.add_argument("--recording")
    args = ap.parse_args(argv)
    if args.dataset is not None and not args.recording:
        ap.error("--dataset needs --recording")

    import torch
    from ppghr_tools import blob as B
    from ppghr_tools import preprocess as P

    cmd = [args.exe, "--model", args.blob, "--arch", args.arch, "--format", "json"]
    labels = None
    if args.csv is not None:
        signal, fs = read_csv_recording(args.csv)
        cmd += ["--csv", str(args.csv)]
        what = args.csv.name
    else:
        rec = P.load_bami(args.recording, args.dataset)
        signal, fs, labels = np.column_stack([rec.ppg[:, 0], rec.acc]), rec.fs, rec.hr
        cmd += ["--dataset", str(args.dataset), "--recording", args.recording]
        what = args.recording
    rows, stderr = run_tool(cmd)

    windows = P.windows_from_recording(signal, fs, net="pulse")
    module = B.import_blob(args.arch, args.blob, dtype=torch.float64)
    module32 = B.import_blob(args.arch, args.blob)
    with torch.no_grad():
        out = module(torch.from_numpy(windows.astype(np.float64))).numpy()
        out32 = module32(torch.from_numpy(windows)).numpy()
    torch_f32_spread = float(np.max(np.abs(out32 - out))) if len(out) else 0.0
    if len(rows) != len(windows):
        print(f"FAIL {args.arch} on {what}: the tool gave {len(rows)} windows, the Python twin {len(windows)}")
        return 1

    regression = out.shape[1] == 1
    n_ok, worst, worst_rel, bad, ties, abs_err = 0, 0.0, 0.0, 0, 0, []
    for k, row in enumerate(rows):
        if row["status"] != "ok":
            continue
        n_ok += 1
        hr = float(row["hr"])
        if regression:
            want = float(out[k, 0])
            d = abs(hr - want)
            worst = max(worst, d)
            worst_rel = max(worst_rel, d / max(abs(want), 1e-30))
            if d > TOLERANCE_BPM + RELATIVE_TOLERANCE * abs(want):
                bad += 1
            value = want
        else:
            p = torch.softmax(torch.from_numpy(out[k]), dim=0).numpy()
            c_cpp, c_py = int(round(hr)) - MIN_BPM, int(np.argmax(p))
            if c_cpp != c_py:
                if p[c_cpp] >= p[c_py] - 1e-5:
                    ties += 1
                    c_py = c_cpp  # either answer is right; the MAE below follows the tool's
                else:
                    bad += 1
            lo, hi = max(0, c_cpp - HALF_WIDTH), min(len(p), c_cpp + HALF_WIDTH + 1)
            d = abs(float(p[lo:hi].sum()) - float(row["confidence"]))
            worst = max(worst, d)
            if d > CONFIDENCE_TOLERANCE:
                bad += 1
            value = float(c_py + MIN_BPM)
        if labels is not None and k < len(labels) and np.isfinite(labels[k]):
            abs_err.append(abs(value - float(labels[k])))
    if n_ok < 0.5 * len(rows):
        print(f"FAIL {args.arch} on {what}: only {n_ok} ok windows of {len(rows)}")
        return 1

    if regression:
        summary = (f"{args.arch} on {what}: {n_ok} ok windows of {len(rows)}, max |C++ - PyTorch| "
                   f"{worst:.2e} BPM ({worst_rel:.1e} relative; PyTorch float32 vs float64 {torch_f32_spread:.2e}), "
                   f"tolerance {TOLERANCE_BPM:g} + {RELATIVE_TOLERANCE:g} x |BPM|")
    else:
        summary = (f"{args.arch} on {what}: {n_ok} ok windows of {len(rows)}, argmax mismatches {bad}, "
                   f"near-ties {ties}, max |confidence diff| {worst:.2e} (tolerance {CONFIDENCE_TOLERANCE:g})")
    if abs_err:
        m = re.search(r"MAE ([0-9.]+) BPM over ([0-9]+) ok windows", stderr)
        mae_py = float(np.mean(abs_err))
        if m is None or int(m.group(2)) != len(abs_err) or abs(float(m.group(1)) - mae_py) > MAE_TOLERANCE:
            print(f"FAIL {summary}; MAE: tool '{stderr.strip()}', PyTorch {mae_py:.4f} over {len(abs_err)}")
            return 1
        summary += f"; MAE tool {m.group(1)} = PyTorch {mae_py:.4f} BPM over {len(abs_err)} windows"
    print(("ok   " if bad == 0 else "FAIL ") + summary)
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
