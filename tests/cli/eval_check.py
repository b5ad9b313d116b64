"""Helpers of tests/cli/test_cli.sh for ppghr-estimate's data-set input and --eval output.

    eval_check.py make-dataset DEMO.csv DEMO_HR.csv OUT_DIR [--channels C] [--acc-unit g|ms2]
                               [--no-channel-count] [--name NAME]
        A data set of the ../shared/data layout made from the demo CSV (time,ppg,acc_x,acc_y,acc_z
        at 50 Hz) and its per-window reference: one recording "demo" (subset "synthetic"), PPG
        repeated into C channels (channel c = ppg + c: the same pulse), the accelerometer in g or in
        m/s^2 (then index.json says so), the labels as rec/demo.hr.f32. --no-channel-count leaves
        n_ppg_channels out of index.json (the tool then takes it from the file size / n_samples).

    eval_check.py check-eval EVAL.json WINDOWS.csv
        Recomputes, from the --windows-out file alone, every number of the --format json output:
        per recording and overall, windows, ok (status ok with a reference), the MAE of hr and of
        hr_decoded against ref_hr, and the decoded MAE at 50 / 80 / 100% coverage (the ok windows
        sorted by confidence, most confident first, ties in file order; the first ceil(p n / 100)),
        pooled over all recordings for "overall". Prints one line; exit 1 on any difference
        > 1e-3 BPM (the JSON prints 4 decimals) or any count that differs.

    eval_check.py check-calibration CALIBRATION_TABLES.hpp WINDOWS.csv MODE acc|noacc
        The spectral estimator's printed confidence = its calibration table for MODE (none, online,
        lag:3, offline) with / without accelerometer applied to confidence_raw (piecewise linear,
        clamped at the end knots); for a mode without a table, confidence_raw itself.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path

import numpy as np

TOL = 1e-3
COVERAGES = (50, 80, 100)


def make_dataset(args) -> int:
    with open(args.demo, newline="") as f:
        rows = list(csv.DictReader(f))
    ppg = np.array([float(r["ppg"]) for r in rows], dtype=np.float32)
    acc = np.array([[float(r[k]) for k in ("acc_x", "acc_y", "acc_z")] for r in rows], dtype=np.float32)
    t = np.array([float(r["time"]) for r in rows[:2]])
    fs = int(round(1.0 / (t[1] - t[0])))
    with open(args.ref, newline="") as f:
        ref = [(float(r["time"]), float(r["hr"])) for r in csv.DictReader(f)]
    hr = np.full(int(round(max(tt for tt, _ in ref) / 2)) + 1, np.nan, dtype=np.float32)
    for tt, h in ref:
        hr[int(round(tt / 2))] = h
    out = Path(args.out)
    (out / "rec").mkdir(parents=True, exist_ok=True)
    c = args.channels
    np.stack([ppg + np.float32(k) for k in range(c)], axis=1).astype("<f4").tofile(out / "rec" / "demo.ppg.f32")
    acc_unit = "g"
    if args.acc_unit == "ms2":
        acc = (acc.astype(np.float64) * 9.80665).astype(np.float32)
        acc_unit = "m/s^2"
    acc.astype("<f4").tofile(out / "rec" / "demo.acc.f32")
    hr.astype("<f4").tofile(out / "rec" / "demo.hr.f32")
    entry = {"id": "demo", "subset": "synthetic", "note": "fs_hz and id also in a string: \"fs_hz\": 1",
             "nested": {"id": "not this", "fs_hz": 1, "n_samples": 3},
             "fs_hz": fs, "n_samples": int(len(ppg)), "n_windows": int(len(hr))}
    if not args.no_channel_count:
        entry["n_ppg_channels"] = c
    index = {"name": args.name,
             "format": {"files": {"rec/<id>.acc.f32": f"N x 3 sample-major (x, y, z) in {acc_unit}"}},
             "recordings": [entry]}
    (out / "index.json").write_text(json.dumps(index, indent=1))
    return 0


def close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= TOL


def stats(items):
    """items: (confidence, |hr - ref|, |hr_decoded - ref|) of the ok labelled windows."""
    n = len(items)
    if n == 0:
        return {"ok": 0, "mae_raw": None, "mae_decoded": None, "coverage": {str(p): None for p in COVERAGES}}
    mae_raw = sum(i[1] for i in items) / n
    mae_dec = sum(i[2] for i in items) / n
    cov = {}
    have_conf = all(math.isfinite(i[0]) for i in items)
    order = sorted(range(n), key=lambda k: -items[k][0]) if have_conf else None  # stable
    for p in COVERAGES:
        if p == 100:
            cov[str(p)] = mae_dec
        elif not have_conf:
            cov[str(p)] = None
        else:
            keep = (p * n + 99) // 100
            cov[str(p)] = sum(items[k][2] for k in order[:keep]) / keep
    return {"ok": n, "mae_raw": mae_raw, "mae_decoded": mae_dec, "coverage": cov}


def check_eval(args) -> int:
    js = json.loads(Path(args.json).read_text())
    per, windows, order = {}, {}, []
    with open(args.windows, newline="") as f:
        rd = csv.DictReader(f)
        want = ["recording", "subset", "index", "time", "ref_hr", "hr", "hr_decoded", "confidence", "confidence_raw", "status"]
        if rd.fieldnames != want:
            print(f"FAIL windows file header {rd.fieldnames}, expected {want}")
            return 1
        for r in rd:
            rid = r["recording"]
            if rid not in per:
                per[rid], windows[rid] = [], 0
                order.append(rid)
            windows[rid] += 1
            if r["status"] != "ok" or r["ref_hr"] == "":
                continue
            ref = float(r["ref_hr"])
            conf = float(r["confidence"]) if r["confidence"] != "" else math.nan
            per[rid].append((conf, abs(float(r["hr"]) - ref), abs(float(r["hr_decoded"]) - ref)))
    bad = []
    recs = js["recordings"]
    if [x["id"] for x in recs] != order:
        bad.append(f"recordings {[x['id'] for x in recs]} vs windows file {order}")
    for x in recs:
        s = stats(per.get(x["id"], []))
        if x["windows"] != windows.get(x["id"]) or x["ok"] != s["ok"]:
            bad.append(f"{x['id']}: windows/ok {x['windows']}/{x['ok']} vs {windows.get(x['id'])}/{s['ok']}")
        for k in ("mae_raw", "mae_decoded"):
            if not close(x[k], s[k]):
                bad.append(f"{x['id']} {k}: {x[k]} vs {s[k]}")
        for p, v in s["coverage"].items():
            if not close(x["coverage"][p], v):
                bad.append(f"{x['id']} coverage {p}: {x['coverage'][p]} vs {v}")
    pooled = [i for rid in order for i in per[rid]]
    s = stats(pooled)
    o = js["overall"]
    if o["windows"] != sum(windows.values()) or o["ok"] != s["ok"]:
        bad.append(f"overall windows/ok {o['windows']}/{o['ok']} vs {sum(windows.values())}/{s['ok']}")
    for k in ("mae_raw", "mae_decoded"):
        if not close(o[k], s[k]):
            bad.append(f"overall {k}: {o[k]} vs {s[k]}")
    for p, v in s["coverage"].items():
        if not close(o["coverage"][p], v):
            bad.append(f"overall coverage {p}: {o['coverage'][p]} vs {v}")
    if bad:
        print("FAIL " + "; ".join(bad[:8]))
        return 1
    fmt = lambda v: "n/a" if v is None else f"{v:.4f}"
    print(f"ok   {len(recs)} recordings, {o['windows']} windows, {o['ok']} ok: MAE raw {fmt(s['mae_raw'])}, "
          f"decoded {fmt(s['mae_decoded'])}, coverage 50/80/100% {fmt(s['coverage']['50'])} / "
          f"{fmt(s['coverage']['80'])} / {fmt(s['coverage']['100'])} recomputed from the windows file")
    return 0


MODE_NAMES = {"none": "None", "online": "Online", "lag:3": "Lag3", "offline": "Offline"}


def read_tables(header: Path):
    """{(Mode, Acc): (x, y)} from calibration_tables.hpp (kSpectralCalib<Mode><Acc>X / Y / Count)."""
    import re
    text = Path(header).read_text()
    arrays = {m.group(1): [float(v.rstrip("f")) for v in re.findall(r"[-+0-9.eE]+f?", m.group(2))]
              for m in re.finditer(r"kSpectralCalib(\w+?)\[\]\s*=\s*\{([^}]*)\}", text)}
    counts = {m.group(1): int(m.group(2)) for m in re.finditer(r"kSpectralCalib(\w+?)Count\s*=\s*(\d+)", text)}
    out = {}
    for name, n in counts.items():
        x, y = arrays.get(name + "X"), arrays.get(name + "Y")
        if x is not None and y is not None:
            out[name] = (np.asarray(x[:n], np.float32), np.asarray(y[:n], np.float32))
    return out


def apply_table(x, y, raw):
    """ppghr::Calibration::apply: clamp to the end knots, linear in between."""
    if len(x) == 0:
        return raw
    if not raw > x[0]:
        return float(y[0])
    if raw >= x[-1]:
        return float(y[-1])
    k = int(np.searchsorted(x, raw, side="right")) - 1
    return float(y[k] + (raw - x[k]) / (x[k + 1] - x[k]) * (y[k + 1] - y[k]))


def check_calibration(args) -> int:
    """Every ok window's confidence = the table of (mode, accelerometer) applied to its
    confidence_raw (the raw value itself for a mode without a table)."""
    tables = read_tables(args.header)
    name = MODE_NAMES.get(args.mode, "") + ("Acc" if args.acc == "acc" else "NoAcc")
    table = tables.get(name) if args.mode in MODE_NAMES else None
    worst, n = 0.0, 0
    with open(args.windows, newline="") as f:
        for r in csv.DictReader(f):
            if r["status"] != "ok":
                continue
            raw, conf = float(r["confidence_raw"]), float(r["confidence"])
            want = apply_table(*table, raw) if table else raw
            worst = max(worst, abs(conf - want))
            n += 1
    what = f"table kSpectralCalib{name} ({len(table[0])} knots)" if table else "no table: the raw value"
    if n == 0 or worst > 1e-5:
        print(f"FAIL --decode {args.mode} ({args.acc}): {n} ok windows, max |confidence - {what}| = {worst:.2e}")
        return 1
    print(f"ok   --decode {args.mode} ({args.acc}): confidence = {what} over {n} windows (max diff {worst:.1e})")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make-dataset")
    m.add_argument("demo")
    m.add_argument("ref")
    m.add_argument("out")
    m.add_argument("--channels", type=int, default=1)
    m.add_argument("--acc-unit", choices=("g", "ms2"), default="g")
    m.add_argument("--no-channel-count", action="store_true")
    m.add_argument("--name", default="demo data set")
    c = sub.add_parser("check-eval")
    c.add_argument("json")
    c.add_argument("windows")
    k = sub.add_parser("check-calibration")
    k.add_argument("header")
    k.add_argument("windows")
    k.add_argument("mode")
    k.add_argument("acc", choices=("acc", "noacc"))
    args = ap.parse_args(argv)
    if args.cmd == "make-dataset":
        return make_dataset(args)
    return check_eval(args) if args.cmd == "check-eval" else check_calibration(args)


if __name__ == "__main__":
    sys.exit(main())
