#!/usr/bin/env python3
"""Side-by-side latency and memory of ppghr, ONNX Runtime and LibTorch on the same networks.

    python3 benchmarks/compare/compare.py --models DIR --workers BUILD/benchmarks/compare \
        [--node-modules DIR] [--nets resnet1,...] [--rounds 21] [--sample-ms 20] [--memory] [--json OUT]

(benchmarks/compare/run.sh builds, exports and runs all of it.) Standard library only.

Each engine runs in its own worker process speaking one line protocol (see ppghr_worker.cpp):
ppghr (ppghr_compare_ppghr), LibTorch (ppghr_compare_torch, TorchScript), ONNX Runtime
(ort_worker.js on the onnxruntime-node package). An engine whose worker, runtime or exported
models are missing is skipped with a message. Steps:
1. Every engine loads every network (DIR/<net>.ppgw / .pt / .onnx: the same weights, export_models.py).
2. Outputs are checked before any timing: each engine's output for the fixed input window against
   the PyTorch twin's (DIR/<net>.torch.f32): max abs diff <= 1e-4 (relative to the output's
   magnitude when that exceeds 1, i.e. for the regression heads' BPM). An engine that fails is
   reported and not timed on that network.
3. Calibration and warm-up: per (engine, network) an inner count giving ~--sample-ms per sample.
4. Rounds, alternating: in each round every network is timed on every engine, the engine order
   rotating from round to round, so slow drifts of a shared machine hit all engines alike. One
   sample = the mean of `inner` back-to-back calls (wall clock and the worker's CPU time).
   ONNX Runtime also times a trivial model (y = x + 1, same input shape) right after each of its
   samples: its median is the binding's per-call overhead, subtracted from ORT's median.
5. Report: per network, median latency per engine (microseconds), ORT raw and minus overhead, and
   each engine's ratio to ppghr (ORT's after the subtraction, so the ratio favours ORT if anything).
With --memory, each (engine, network) also runs in a fresh worker: peak RSS (VmHWM; not ru_maxrss,
which Linux carries over exec from the forking driver) after loading it and 200 calls, beside the engine's idle worker (nothing loaded) and, for ppghr,
the network's exact compile-time bytes (weights, scratch, whole object).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

NETS = ["resnet1", "resnet2", "resnet6", "resnet10", "resnet12", "pulse_teacher", "pulse_student"]
MACS = {}  # filled from the ppghr worker (the networks' compile-time MAC counts)
TOL = 1e-4
HERE = Path(__file__).resolve().parent


class Worker:
    def __init__(self, name: str, argv):
        self.name = name
        self.argv = argv
        # One thread everywhere: LibTorch's intra-op pool is set to 1 by its worker, and these keep
        # OpenBLAS / OpenMP from starting their own pools (which would spin against the timed thread).
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  text=True, bufsize=1, env=env)

    def ask(self, line: str) -> str:
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        reply = self.p.stdout.readline()
        if not reply:
            raise RuntimeError(f"{self.name} worker died on: {line}")
        return reply.strip()

    def time(self, net: str, inner: int):
        r = self.ask(f"time {net} {inner}").split()
        if r[0] != "ns":
            raise RuntimeError(f"{self.name}: {' '.join(r)}")
        return float(r[1]), float(r[2])

    def close(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
            self.p.wait(timeout=10)
        except Exception:
            self.p.kill()


def read_f32(path: Path):
    import array
    a = array.array("f")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    if sys.byteorder != "little":
        a.byteswap()
    return list(a)


def engine_argvs(args):
    """{engine: argv} for the engines that can run here; prints why the others are skipped."""
    out = {}
    w = Path(args.workers)
    if (w / "ppghr_compare_ppghr").exists():
        out["ppghr"] = [str(w / "ppghr_compare_ppghr")]
    else:
        print(f"skip ppghr: {w / 'ppghr_compare_ppghr'} not built")
    models = Path(args.models)
    if not (w / "ppghr_compare_torch").exists():
        print("skip LibTorch: ppghr_compare_torch not built (needs libtorch-dev)")
    elif not any(models.glob("*.pt")):
        print("skip LibTorch: no TorchScript models (export_models.py needs torch in python3)")
    else:
        out["LibTorch"] = [str(w / "ppghr_compare_torch")]
    node = shutil.which("node")
    nm = Path(args.node_modules) if args.node_modules else None
    if not node:
        print("skip ONNX Runtime: node not found")
    elif not nm or not (nm / "onnxruntime-node").exists():
        print("skip ONNX Runtime: onnxruntime-node not installed (npm install onnxruntime-node "
              "--onnxruntime-node-install=skip)")
    elif not any(models.glob("*.onnx")):
        print("skip ONNX Runtime: no ONNX models (export_models.py needs torch in python3)")
    else:
        out["ORT"] = [node, str(HERE / "ort_worker.js"), str(nm)]
    return out


def check_outputs(workers, nets, models: Path):
    ok = {}
    print("\nOutput check (max abs diff against the PyTorch twin's output, same weights, same input):")
    for net in nets:
        ref_path = models / f"{net}.torch.f32"
        ref = read_f32(ref_path) if ref_path.exists() else None
        if ref is None and "ppghr" in workers:
            ref = [float(v) for v in workers["ppghr"].ask(f"out {net}").split()[1:]]
            print(f"  {net}: no PyTorch output; checked against ppghr")
        scale = max(1.0, max(abs(v) for v in ref))
        cells = []
        for name, w in workers.items():
            r = w.ask(f"out {net}").split()
            if r[0] != "out":
                ok[(name, net)] = False
                cells.append(f"{name} {' '.join(r)}")
                continue
            y = [float(v) for v in r[1:]]
            d = max(abs(a - b) for a, b in zip(y, ref)) if len(y) == len(ref) else float("inf")
            good = d <= TOL * scale
            ok[(name, net)] = good
            cells.append(f"{name} {d:.2e}{'' if good else ' FAIL'}")
        print(f"  {net:14s} ({len(ref)} outputs, |max| {scale:.3g}): " + ", ".join(cells))
    return ok


def calibrate(w: Worker, net: str, sample_ms: float) -> int:
    inner = 1
    while True:
        wall, _ = w.time(net, inner)
        if wall * inner >= 2e6 or inner >= 1 << 16:  # 2 ms
            break
        inner *= 4
    return max(1, int(sample_ms * 1e6 / wall))


def measure(workers, nets, ok, rounds: int, sample_ms: float):
    engines = list(workers)
    inner = {}
    trivial = {}
    for net in nets:
        for e in engines:
            if ok.get((e, net)):
                inner[(e, net)] = calibrate(workers[e], net, sample_ms)
                workers[e].time(net, inner[(e, net)])  # warm-up
        if "ORT" in workers:
            t = "trivial_1024" if net.startswith("pulse") else "trivial_200"
            trivial[net] = t
            inner[("ORT", t)] = inner.get(("ORT", t)) or calibrate(workers["ORT"], t, sample_ms)
    samples = {k: [] for k in inner}
    for r in range(rounds):
        for net in nets:
            order = engines[r % len(engines):] + engines[:r % len(engines)]
            for e in order:
                if (e, net) not in inner:
                    continue
                samples[(e, net)].append(workers[e].time(net, inner[(e, net)]))
                if e == "ORT":
                    t = trivial[net]
                    samples[("ORT", t)].append(workers[e].time(t, inner[("ORT", t)]))
        print(f"\r  round {r + 1}/{rounds}", end="", file=sys.stderr, flush=True)
    print("", file=sys.stderr)
    return samples, inner, trivial


def med(xs, i):
    return statistics.median(x[i] for x in xs) if xs else float("nan")


def report(workers, nets, samples, trivial, clock: int):
    label = "wall clock" if clock == 0 else "CPU time"
    engines = list(workers)
    print(f"\nMedian latency per window, microseconds ({label}); ratio = engine / ppghr")
    hdr = f"{'network':14s} {'MACs':>8s} {'ppghr':>9s}"
    if "ORT" in engines:
        hdr += f" {'ORT raw':>9s} {'ORT-ovh':>9s} {'ORT/ppghr':>9s}"
    if "LibTorch" in engines:
        hdr += f" {'LibTorch':>9s} {'Torch/ppghr':>11s}"
    print(hdr)
    rows = {}
    for net in nets:
        p = med(samples.get(("ppghr", net), []), clock) / 1e3
        row = {"ppghr_us": p}
        line = f"{net:14s} {MACS.get(net, 0) / 1e6:7.2f}M {p:9.1f}"
        if "ORT" in engines:
            raw = med(samples.get(("ORT", net), []), clock) / 1e3
            ovh = med(samples.get(("ORT", trivial[net]), []), clock) / 1e3
            row.update(ort_raw_us=raw, ort_overhead_us=ovh, ort_us=raw - ovh, ort_ratio=(raw - ovh) / p)
            line += f" {raw:9.1f} {raw - ovh:9.1f} {(raw - ovh) / p:8.2f}x"
        if "LibTorch" in engines:
            t = med(samples.get(("LibTorch", net), []), clock) / 1e3
            row.update(torch_us=t, torch_ratio=t / p)
            line += f" {t:9.1f} {t / p:10.2f}x"
        rows[net] = row
        print(line)
    if "ORT" in engines:
        for t in sorted(set(trivial.values())):
            print(f"  ORT binding overhead ({t}, y = x + 1): {med(samples[('ORT', t)], clock) / 1e3:.1f} us")
    return rows


def memory(argvs, nets, models: Path):
    print("\nMemory: peak RSS (VmHWM) of a fresh worker process, MiB; idle = the runtime alone, "
          "net = after loading that one network and 200 calls")
    out = {}
    engines = list(argvs)
    print(f"{'network':14s} " + " ".join(f"{e:>10s}" for e in engines) + "   ppghr exact bytes (weights / scratch / object)")
    idle = {}
    for e in engines:
        w = Worker(e, argvs[e])
        if e == "ORT":
            w.ask("load trivial_200 " + str(models))  # initialises the runtime, no network
        idle[e] = int(w.ask("rss").split()[1]) / 1024
        w.close()
    print(f"{'(idle)':14s} " + " ".join(f"{idle[e]:10.1f}" for e in engines))
    for net in nets:
        cells, exact = [], ""
        for e in engines:
            w = Worker(e, argvs[e])
            r = w.ask(f"load {net} {models}")
            if r != "ok":
                cells.append(f"{'-':>10s}")
                w.close()
                continue
            w.time(net, 200)
            peak = int(w.ask("rss").split()[1]) / 1024
            if e == "ppghr":
                b = w.ask(f"bytes {net}").split()[1:4]
                exact = " / ".join(f"{int(x):,}" for x in b)
                out.setdefault(net, {})["ppghr_bytes"] = [int(x) for x in b]
            w.close()
            out.setdefault(net, {})[e] = peak
            cells.append(f"{peak:10.1f}")
        print(f"{net:14s} " + " ".join(cells) + f"   {exact}")
    out["idle"] = idle
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", required=True, help="export_models.py's output directory")
    ap.add_argument("--workers", required=True, help="directory holding ppghr_compare_ppghr / ppghr_compare_torch")
    ap.add_argument("--node-modules", help="node_modules directory holding onnxruntime-node")
    ap.add_argument("--nets", default=",".join(NETS))
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--sample-ms", type=float, default=20.0)
    ap.add_argument("--memory", action="store_true", help="also measure each engine's peak RSS per network")
    ap.add_argument("--json", help="write every sample and the summary here")
    args = ap.parse_args(argv)
    models = Path(args.models).resolve()
    nets = [n for n in args.nets.split(",") if n]
    argvs = engine_argvs(args)
    if not argvs:
        print("no engine can run")
        return 1
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    workers = {}
    for e, a in argvs.items():
        w = Worker(e, a)
        bad = []
        for net in nets + (["trivial_200", "trivial_1024"] if e == "ORT" else []):
            r = w.ask(f"load {net} {models}")
            if r != "ok":
                bad.append(f"{net}: {r}")
        if bad:
            print(f"{e}: could not load " + "; ".join(bad))
        if e == "ppghr":
            for net in nets:
                r = w.ask(f"bytes {net}").split()
                if r[0] == "bytes":
                    MACS[net] = int(r[4])
        workers[e] = w
    ok = check_outputs(workers, nets, models)
    t0 = time.time()
    samples, inner, trivial = measure(workers, nets, ok, args.rounds, args.sample_ms)
    elapsed = time.time() - t0
    for w in workers.values():
        w.close()
    rows = report(workers, nets, samples, trivial, 0)
    rows_cpu = report(workers, nets, samples, trivial, 1)
    load_after = os.getloadavg()
    print(f"\n{args.rounds} alternating rounds, {elapsed:.0f} s; load average after: "
          f"{' '.join(f'{x:.2f}' for x in load_after)}")
    mem = memory(argvs, nets, models) if args.memory else None
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"wall": rows, "cpu": rows_cpu, "memory": mem, "load_after": load_after,
                       "inner": {f"{e}/{n}": v for (e, n), v in inner.items()},
                       "samples_ns": {f"{e}/{n}": v for (e, n), v in samples.items()}}, f, indent=1)
    return 0 if all(ok.values()) else 2


if __name__ == "__main__":
    sys.exit(main())
