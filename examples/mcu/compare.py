"""Compare the Cortex-M4F run of examples/mcu with the host run of the same program.

    python3 examples/mcu/compare.py --mcu m4.txt --host host.txt [--golden tests/golden/resnet1.golden]
        [--prob-tol 1e-5] [--bpm-tol 1e-3] [--golden-tol 1e-4] [--json summary.json]

Passes (exit 0) when both runs ended with status ok, describe the same network and windows, and,
window by window:
  - 180-class heads: the same argmax (heart rate), and every probability within --prob-tol
    (absolute) of the host's;
  - regression heads (one BPM value): the value within --bpm-tol (absolute, BPM) of the host's;
  - the spectral estimator's runs (spectral_main.cpp) also print the forward filter's belief after
    each window ("belief" records) and its decoded class: the same decoded class, the same argmax
    of the belief and every belief value within --prob-tol.
With --golden (the windows came from a tests/golden/<arch>.golden file), the MCU's outputs are also
checked against torch's float64 expectation stored there: same argmax and within --golden-tol,
the tolerance of the C++ golden test (tests/test_golden.cpp).

Both programs compute in float32 with the same reference kernels; they differ in the compiler
(x86-64 vs Thumb-2 code, fused multiply-adds on the M4F), and in libm's expf, so the outputs are
not expected to be bit-identical; the report says how many are. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
from pathlib import Path


def _fields(parts):
    out = {}
    for p in parts:
        if "=" in p:
            k, v = p.split("=", 1)
            out[k] = v
    return out


def parse(text: str) -> dict:
    """The records of one run (see examples/mcu/main.cpp)."""
    run = {"windows": {}, "outputs": {}, "raw_outputs": {}, "beliefs": {}, "acc": {}, "logit": {}, "quant": {}}
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        key = parts[0]
        if key == "window":
            w = int(parts[1])
            run["windows"][w] = _fields(parts[2:])
        elif key == "out":
            w = int(parts[1])
            run["raw_outputs"][w] = parts[2:]
            run["outputs"][w] = [struct.unpack(">f", bytes.fromhex(h))[0] for h in parts[2:]]
        elif key in ("acc", "logit"):  # the int8 images: integer accumulators, logit bit patterns
            run[key][int(parts[1])] = parts[2:]
        elif key == "quant":
            run["quant"][int(parts[1])] = _fields(parts[2:])
        elif key in ("quant_total", "int8_kernel"):
            run[key] = _fields(parts[1:]) if key == "quant_total" else line[len(key) + 1:]
        elif key == "belief":
            run["beliefs"][int(parts[1])] = [struct.unpack(">f", bytes.fromhex(h))[0] for h in parts[2:]]
        elif key in ("ppghr-mcu", "sizes", "calibration", "load", "startup", "checksum", "stack", "end"):
            run[key] = _fields(parts[1:])
        elif key == "input":
            run["input"] = line[len("input "):]
        elif line.startswith(("FAULT", "HEAP TOUCHED", "ASSERT")):
            run.setdefault("errors", []).append(line)
    return run


def _argmax(v):
    return max(range(len(v)), key=lambda i: (v[i], -i))


def _top2_gap(v):
    s = sorted(v, reverse=True)
    return s[0] - s[1] if len(s) > 1 else float("inf")


def read_golden(path: Path):
    data = path.read_bytes()
    magic, version, n, input_floats, n_out = struct.unpack_from("<4sIIII", data, 0)
    if magic != b"PPGG" or version != 1:
        raise ValueError(f"{path}: not a version-1 .golden file")
    off = 356 + 4 * n * input_floats + 4 * n * n_out  # header, inputs, logits
    probs = struct.unpack_from(f"<{n * n_out}f", data, off)
    return [list(probs[w * n_out:(w + 1) * n_out]) for w in range(n)]


def compare(mcu: dict, host: dict, *, prob_tol: float, bpm_tol: float, golden=None, golden_tol: float = 1e-4):
    problems = []
    for name, run in (("mcu", mcu), ("host", host)):
        for e in run.get("errors", []):
            problems.append(f"{name}: {e}")
        if run.get("end", {}).get("status") != "ok":
            problems.append(f"{name}: the run did not end with status=ok ({run.get('end')})")
    if mcu.get("ppghr-mcu", {}).get("net") != host.get("ppghr-mcu", {}).get("net"):
        problems.append("the runs are of different networks")
    for k in ("params", "macs", "blob_bytes"):
        if mcu.get("sizes", {}).get(k) != host.get("sizes", {}).get(k):
            problems.append(f"sizes.{k}: mcu {mcu.get('sizes', {}).get(k)} host {host.get('sizes', {}).get(k)}")
    if mcu.get("input") != host.get("input"):
        problems.append("the runs used different inputs")
    windows = sorted(host["outputs"])
    if sorted(mcu["outputs"]) != windows or not windows:
        problems.append(f"windows: mcu {sorted(mcu['outputs'])} host {windows}")
        windows = [w for w in windows if w in mcu["outputs"]]
    summary = {"windows": len(windows), "classification": None, "max_abs_diff": 0.0, "bit_identical_values": 0,
               "values": 0, "min_top2_gap": None, "golden_max_abs_diff": None, "per_window": []}
    for w in windows:
        a, b = mcu["outputs"][w], host["outputs"][w]
        if len(a) != len(b):
            problems.append(f"window {w}: {len(a)} outputs on the MCU, {len(b)} on the host")
            continue
        cls = len(a) > 1
        summary["classification"] = cls
        diff = max(abs(x - y) for x, y in zip(a, b))
        summary["max_abs_diff"] = max(summary["max_abs_diff"], diff)
        summary["values"] += len(a)
        summary["bit_identical_values"] += sum(x == y for x, y in zip(mcu["raw_outputs"][w], host["raw_outputs"][w]))
        entry = {"window": w, "mcu_bpm": mcu["windows"][w].get("bpm"), "host_bpm": host["windows"][w].get("bpm"),
                 "ref": host["windows"][w].get("ref"), "max_abs_diff": diff}
        if cls:
            gap = _top2_gap(b)
            summary["min_top2_gap"] = gap if summary["min_top2_gap"] is None else min(summary["min_top2_gap"], gap)
            if _argmax(a) != _argmax(b):
                problems.append(f"window {w}: argmax {_argmax(a)} on the MCU, {_argmax(b)} on the host")
            if diff > prob_tol:
                problems.append(f"window {w}: a probability differs by {diff:.3g} > {prob_tol:g}")
        elif diff > bpm_tol:
            problems.append(f"window {w}: the BPM output differs by {diff:.3g} > {bpm_tol:g}")
        if w in host["beliefs"] or w in mcu["beliefs"]:
            ba, bb = mcu["beliefs"].get(w, []), host["beliefs"].get(w, [])
            da, db = mcu["windows"][w].get("decoded"), host["windows"][w].get("decoded")
            entry["decoded_mcu"], entry["decoded_host"] = da, db
            if len(ba) != len(bb) or not bb:
                problems.append(f"window {w}: belief of {len(ba)} values on the MCU, {len(bb)} on the host")
            else:
                bd = max(abs(x - y) for x, y in zip(ba, bb))
                entry["belief_max_abs_diff"] = bd
                summary["belief_max_abs_diff"] = max(summary.get("belief_max_abs_diff", 0.0), bd)
                if bd > prob_tol:
                    problems.append(f"window {w}: a belief value differs by {bd:.3g} > {prob_tol:g}")
                if _argmax(ba) != _argmax(bb):
                    problems.append(f"window {w}: belief argmax {_argmax(ba)} on the MCU, {_argmax(bb)} on the host")
            if da != db or da is None:
                problems.append(f"window {w}: decoded class {da} on the MCU, {db} on the host")
        if golden is not None:
            g = golden[w]
            gd = max(abs(x - y) for x, y in zip(a, g))
            entry["golden_max_abs_diff"] = gd
            prev = summary["golden_max_abs_diff"]
            summary["golden_max_abs_diff"] = gd if prev is None else max(prev, gd)
            if cls and _argmax(a) != _argmax(g):
                problems.append(f"window {w}: argmax {_argmax(a)} on the MCU, {_argmax(g)} in the golden file")
            if gd > golden_tol:
                problems.append(f"window {w}: differs from the golden (torch float64) by {gd:.3g} > {golden_tol:g}")
        summary["per_window"].append(entry)
    if host["acc"] or mcu["acc"] or "quant_total" in host or "quant_total" in mcu:
        summary["int8"] = int8_exact(mcu, host, problems)
    summary["checksum_mcu"] = mcu.get("checksum", {}).get("crc32")
    summary["checksum_host"] = host.get("checksum", {}).get("crc32")
    return problems, summary


def int8_exact(mcu: dict, host: dict, problems: list) -> dict:
    """The int8 images (int8_check.hpp): the accumulators and the logits' bit patterns of every
    window identical on the MCU and the host, and both runs exactly quant.py's on its .q8io windows
    (0 differing int8 inputs, accumulators and logit bits)."""
    s = {"acc_values": 0, "acc_identical": 0, "logit_values": 0, "logit_identical": 0,
         "kernel_mcu": mcu.get("int8_kernel"), "kernel_host": host.get("int8_kernel")}
    for key in ("acc", "logit"):
        if sorted(mcu[key]) != sorted(host[key]) or not host[key]:
            problems.append(f"int8 {key} records: windows {sorted(mcu[key])} on the MCU, {sorted(host[key])} on the host")
        for w in sorted(set(mcu[key]) & set(host[key])):
            a, b = mcu[key][w], host[key][w]
            same = sum(x == y for x, y in zip(a, b)) if len(a) == len(b) else 0
            s[f"{key}_values"] += len(b)
            s[f"{key}_identical"] += same
            if len(a) != len(b) or same != len(b):
                problems.append(f"window {w}: int8 {key}: {len(b) - same} of {len(b)} values differ between MCU and host")
    for name, run in (("mcu", mcu), ("host", host)):
        t = run.get("quant_total")
        if t is None:
            if "quant_total" in mcu or "quant_total" in host:
                problems.append(f"{name}: no quant_total record (the .q8io check did not run)")
            continue
        diffs = {k: int(t.get(k, -1)) for k in ("input_diff", "acc_diff", "logit_diff")}
        s[f"q8io_{name}"] = {"windows": int(t.get("windows", 0)), **diffs}
        if any(v != 0 for v in diffs.values()) or int(t.get("windows", 0)) == 0:
            problems.append(f"{name}: not exactly quant.py's results on the .q8io windows: {t}")
    return s


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Compare the MCU run of examples/mcu with the host run.")
    ap.add_argument("--mcu", type=Path, required=True)
    ap.add_argument("--host", type=Path, required=True)
    ap.add_argument("--golden", type=Path, help="the .golden file the windows came from")
    ap.add_argument("--prob-tol", type=float, default=1e-5, help="max |p_mcu - p_host| (default 1e-5)")
    ap.add_argument("--bpm-tol", type=float, default=1e-3, help="max |bpm_mcu - bpm_host| (default 1e-3)")
    ap.add_argument("--golden-tol", type=float, default=1e-4, help="max |out_mcu - golden| (default 1e-4)")
    ap.add_argument("--json", type=Path, help="write the summary here")
    args = ap.parse_args(argv)
    mcu, host = parse(args.mcu.read_text()), parse(args.host.read_text())
    golden = read_golden(args.golden) if args.golden else None
    problems, s = compare(mcu, host, prob_tol=args.prob_tol, bpm_tol=args.bpm_tol, golden=golden,
                          golden_tol=args.golden_tol)
    s.update({"ok": not problems, "problems": problems, "prob_tol": args.prob_tol, "bpm_tol": args.bpm_tol,
              "golden_tol": args.golden_tol if golden else None, "net": host.get("ppghr-mcu", {}).get("net")})
    if args.json:
        args.json.write_text(json.dumps(s, indent=1) + "\n")
    net = s["net"]
    kind = "probabilities" if s["classification"] else "BPM outputs"
    print(f"{net}: {s['windows']} windows, max |mcu - host| over the {kind} = {s['max_abs_diff']:.3g}, "
          f"{s['bit_identical_values']}/{s['values']} values bit-identical"
          + (f", max |mcu - golden| = {s['golden_max_abs_diff']:.3g}" if golden else ""))
    if "int8" in s:
        q = s["int8"]
        print(f"{net}: int8: accumulators {q['acc_identical']}/{q['acc_values']} and logits {q['logit_identical']}/"
              f"{q['logit_values']} identical to the host's (kernels: mcu {q['kernel_mcu']}, host {q['kernel_host']})"
              + "".join(f"; {k[5:]} vs quant.py on {v['windows']} .q8io windows: {v['input_diff']} int8 inputs, "
                        f"{v['acc_diff']} accumulators, {v['logit_diff']} logits differ"
                        for k, v in q.items() if k.startswith("q8io_")))
    if "belief_max_abs_diff" in s:
        print(f"{net}: forward filter: max |mcu - host| over the beliefs = {s['belief_max_abs_diff']:.3g}")
    for e in s["per_window"]:
        dec = f", decoded class mcu {e['decoded_mcu']} host {e['decoded_host']}" if "decoded_host" in e else ""
        print(f"  window {e['window']}: bpm mcu {e['mcu_bpm']} host {e['host_bpm']} (reference {e['ref']}){dec}")
    for p in problems:
        print(f"  FAIL {p}")
    print(f"{net}: {'agree' if not problems else 'DISAGREE'}")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
