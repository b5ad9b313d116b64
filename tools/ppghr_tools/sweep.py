"""The distillation sweep (issue 6): teachers x students x strategies, both folds; incremental.

    PYTHONPATH=tools nice -n 15 /usr/bin/python3 -m ppghr_tools.sweep            # run / resume it all
    PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.sweep --list                # the plan, with status
    PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.sweep --quick               # tiny end-to-end (CI)
    PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.results                     # docs/results/

The plan (``plan()``, in sweep_plan.py), every run on both folds (train bami1 / test bami2, and
the reverse), seed 0:
  teachers   ResNet with 2, 4, 8, 12 blocks, from scratch (a teacher is the scratch run of its size)
  students   ResNet with 1, 2, 6, 10 blocks x {scratch, hard, soft, dkd, feature} from the 12-block
             teacher (the strategy table), and x dkd from each of the other teachers (the teacher x
             student heatmap: DKD, the study's best strategy)
  MLP        mlp1..mlp4 (the parameter budgets of the 1, 2, 6, 10-block students, models.py) x the
             same strategies, from the 12-block teacher
  PULSE      pulse_teacher from scratch, pulse_student from scratch and with the relation loss
  = 116 runs. ``plan(full=True)`` (--full) adds hard, soft and feature distillation from the 2-,
  4- and 8-block teachers (72 more runs, 188 in all; about 6 more hours of one core): the complete
  teacher x student x strategy grid. The default plan is what fits the compute we have (below).
Training budget, chosen for a shared 2-core CPU machine (no GPU in the sessions that ran it): at
most 40 epochs, early stopping after 8 epochs without a better validation MAE (argmax; whole
validation recordings of the training subset), Adam lr 5e-4, batch 128, 1 torch thread per process,
two processes (one per core). Measured epoch times on ~7,200 training windows, one core, machine
otherwise idle: resnet1/2 ~5-7 s, resnet6 ~9 s, resnet10 ~12 s, resnet12 ~19 s (up to 2.5x that
while the machine is shared); a run stops after 15-40 epochs. The default plan is about 10 hours of
one core. Seed 0 everywhere (weights, batches, dropout, the validation split).

Incremental: each finished run writes results/runs/<run>.json (committed) and a finished run is
skipped on rerun (its result file exists); an interrupted run resumes from runs/sweep/<run>/ (git-
ignored). Teacher outputs are computed once per teacher and fold (distill.teacher_outputs). Several
sweep processes may run at once (e.g. one per core): each run is claimed with a lock file
(runs/sweep/<run>/lock holding the pid; stale locks of dead processes are taken over). A student
whose teacher's checkpoint is missing (e.g. a fresh clone holding only the result files) retrains
the teacher first (its result file is then rewritten).

--quick: the same machinery on a tiny problem, end to end, in well under a minute: windows of a few
BAMI recordings per subset (or synthetic recordings from synth.py when ../shared/data/bami is
absent), both folds, 2 epochs of 3 batches of 32; trains a resnet3 teacher, distils resnet1 and
resnet2 students with each strategy and an mlp1 student, trains the PULSE pair; exports the resnet2
dkd student and the PULSE student with export.py;
checks the blobs with the numpy reference interpreter (reference.py) against PyTorch and, when the
C++ tool is built (build/examples/ppghr-estimate, or $PPGHR_BUILD_DIR), runs the exported student in
C++ on examples/data/demo.csv and checks the argmax heart rate and the confidence of every ok window
against PyTorch on the Python twin of the front end; finally builds the results pages from the quick
results. Writes everything under --out (default: a temporary directory) and quick_report.json there.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from . import data as D
from . import distill as DI

# the plan lives in sweep_plan.py (results.py imports it too); its names stay importable from here
from .sweep_plan import (EPOCHS, FOLDS, KD_STRATEGIES, MAIN_TEACHER, MLP_VARIANTS, PATIENCE,  # noqa: F401
                         SEED, STRATEGY_ORDER, STUDENT_BLOCKS, TEACHER_BLOCKS, _spec, plan, pulse_wn_plan,
                         quick_plan)


# ------------------------------------------------------------------------------------------------
# locks

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def try_lock(run_dir: Path) -> bool:
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = run_dir / "lock"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(lock.read_text().strip() or "0")
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and _alive(pid):
                return False
            try:
                lock.unlink()
            except FileNotFoundError:
                pass
            continue
        with os.fdopen(fd, "w") as f:
            f.write(str(os.getpid()))
        return True
    return False


def unlock(run_dir: Path) -> None:
    try:
        (run_dir / "lock").unlink()
    except FileNotFoundError:
        pass


def locked_by_other(run_dir: Path) -> bool:
    lock = run_dir / "lock"
    try:
        pid = int(lock.read_text().strip() or "0")
    except (OSError, ValueError):
        return False
    return pid != os.getpid() and _alive(pid)


# ------------------------------------------------------------------------------------------------
# the sweep

def status_of(spec: DI.RunSpec, runs_dir: Path, results_dir: Path) -> str:
    if (results_dir / f"{spec.name}.json").exists():
        return "done"
    if locked_by_other(runs_dir / spec.name):
        return "running"
    if (runs_dir / spec.name / "last.pt").exists():
        return "partial"
    return "pending"


def run_sweep(specs: Sequence[DI.RunSpec], data: DI.DataSource, runs_dir: Path, results_dir: Path,
              max_runs: Optional[int] = None, max_batches: Optional[int] = None, wait: bool = True,
              log=print) -> int:
    """Runs every unfinished spec (teachers before their students); returns the number run."""
    done_runs = 0
    while True:
        pending, progressed = 0, False
        for spec in specs:
            if (results_dir / f"{spec.name}.json").exists():
                continue
            pending += 1
            target = spec
            if spec.teacher is not None:
                tspec = spec.teacher_spec()
                if not DI._finished(runs_dir / tspec.name):
                    target = tspec           # its checkpoint first (missing after a fresh clone)
            tdir = runs_dir / target.name
            if not try_lock(tdir):
                continue
            try:
                if (DI._finished(tdir) if target is not spec else (results_dir / f"{spec.name}.json").exists()):
                    progressed = True        # another worker finished it meanwhile: rescan
                    break
                t0 = time.time()
                log(f"[sweep] {target.name} (unfinished run {pending} of the plan in order)")
                DI.run(target, data, runs_dir, results_dir, max_batches=max_batches, log=log,
                       train_missing_teacher=False)
                log(f"[sweep] finished {target.name} in {time.time() - t0:.0f} s")
            finally:
                unlock(tdir)
            done_runs += 1
            progressed = True
            break
        if pending == 0:
            log("[sweep] nothing left to run")
            return done_runs
        if max_runs is not None and done_runs >= max_runs:
            log(f"[sweep] stopping after {done_runs} runs (--max-runs)")
            return done_runs
        if not progressed:
            if not wait:
                return done_runs
            log(f"[sweep] {pending} runs wait for runs held by other workers; sleeping 60 s")
            time.sleep(60)


# ------------------------------------------------------------------------------------------------
# --quick

def _quick_recordings() -> Tuple[Dict[str, list], str]:
    """{subset: [(id, ppg0, acc, hr, fs)]}: the first 60 windows of 3 recordings per BAMI subset, else
    3 synthetic recordings per 'subset' (synth.py) when ../shared/data/bami is absent."""
    bami = D.bami_root(None)
    if (bami / "index.json").exists():
        from . import preprocess as P
        n = (60 - 1) * 2 * 50 + 8 * 50            # 60 windows at 50 Hz
        out = {}
        for sub, ids in (("bami1", ("bami1_01", "bami1_02", "bami1_25")), ("bami2", ("bami2_01", "bami2_02", "bami2_03"))):
            out[sub] = []
            for rid in ids:
                r = P.load_bami(rid, bami)
                out[sub].append((rid, r.ppg[:n, 0], r.acc[:n], r.hr[:60], r.fs))
        return out, "BAMI (3 recordings per subset, their first 60 windows)"
    from . import synth as S
    out = {}
    for j, sub in enumerate(("bami1", "bami2")):
        out[sub] = []
        for k in range(3):
            g = S.generate(S.SynthParams(minutes=2, seed=100 + 10 * j + k))
            out[sub].append((f"synth{j + 1}_{k}", g.ppg, g.acc, g.hr_windows.astype(np.float32), int(g.params.fs)))
    return out, "synthetic (synth.py, 3 x 2 minutes per fold; ../shared/data/bami absent)"


def quick_data() -> Tuple[DI.DataSource, str]:
    recs, what = _quick_recordings()
    folds = {}
    for net, fn in (("resnet", DI.resnet_windows_of), ("pulse", DI.pulse_windows_of)):
        w = {sub: fn(r) for sub, r in recs.items()}
        for tr, te in FOLDS:
            # validation: 1 of the 3 training recordings (whole)
            folds[(net, tr)] = DI.make_fold(w[tr], w[te], 0.34, SEED, net)
    return DI.DataSource(override=folds), what


def cpp_tool() -> Optional[Path]:
    build = Path(os.environ.get("PPGHR_BUILD_DIR", D.REPO / "build"))
    exe = build / "examples" / "ppghr-estimate"
    return exe if exe.is_file() and os.access(exe, os.X_OK) else None


def reference_parity(arch: str, model, blob_path: Path, x: np.ndarray) -> float:
    """max |numpy reference on the blob - PyTorch| over windows x (relative to max(1, |y|))."""
    import torch
    from . import archs as A
    from . import blob as B
    from . import reference as R
    blob = B.read_blob(blob_path, arch=A.get_arch(arch))
    model.eval()
    worst = 0.0
    with torch.no_grad():
        y = model(torch.from_numpy(x)).double().numpy().reshape(len(x), -1)
    for i in range(len(x)):
        yr = np.asarray(R.run(A.descriptor(A.get_arch(arch)), blob.items(), x[i].astype(np.float64))).reshape(-1)
        worst = max(worst, float(np.max(np.abs(yr - y[i])) / max(1.0, float(np.max(np.abs(y[i]))))))
    return worst


def cpp_parity(arch: str, model, blob_path: Path, exe: Path, csv_path: Path) -> Dict[str, object]:
    """Run ppghr-estimate on csv_path with the blob; compare each ok window's hr and confidence
    with PyTorch on preprocess.windows_from_recording of the same PPG."""
    import torch
    from . import preprocess as P
    proc = subprocess.run([str(exe), "--model", str(blob_path), "--arch", arch, "--csv", str(csv_path),
                           "--format", "csv"], capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        return {"ok": False, "error": f"ppghr-estimate exit {proc.returncode}: {proc.stderr.strip()[-500:]}"}
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    with open(csv_path) as f:
        rd = csv.DictReader(f)
        tt, ppg = [], []
        for row in rd:
            tt.append(float(row["time"]))
            ppg.append(float(row["ppg"]))
    fs = int(round(1.0 / (tt[1] - tt[0])))
    w = P.windows_from_recording(np.asarray(ppg, np.float32), fs, net="resnet")
    model.eval()
    with torch.no_grad():
        p = torch.softmax(model(torch.from_numpy(w)).double(), dim=1).numpy()
    n_ok, hr_bad, conf_worst, ties = 0, 0, 0.0, 0
    for k, row in enumerate(rows):
        if row["status"] != "ok" or k >= len(p):
            continue
        n_ok += 1
        c_cpp = int(round(float(row["hr"]))) - D.MIN_BPM
        c_py = int(np.argmax(p[k]))
        if c_cpp != c_py:
            if p[k][c_cpp] >= p[k][c_py] - 1e-5:
                ties += 1                     # a near-tie: float32 vs float64 may pick either
            else:
                hr_bad += 1
        lo, hi = max(0, c_cpp - 5), min(D.N_CLASSES, c_cpp + 6)
        conf_worst = max(conf_worst, abs(float(p[k][lo:hi].sum()) - float(row["confidence"])))
    ok = n_ok >= 0.5 * len(rows) and hr_bad == 0 and conf_worst <= 2e-4
    return {"ok": bool(ok), "windows": len(rows), "ok_windows": n_ok, "argmax_mismatches": hr_bad,
            "near_ties": ties, "confidence_max_abs_diff": conf_worst, "csv": str(csv_path)}


def run_quick(out: Path, log=print) -> Dict[str, object]:
    import torch
    from .export import export_module
    from . import results as RS
    t0 = time.time()
    out.mkdir(parents=True, exist_ok=True)
    runs_dir, results_dir = out / "runs", out / "results" / "runs"
    data, what = quick_data()
    log(f"[quick] data: {what}")
    specs = quick_plan()
    run_sweep(specs, data, runs_dir, results_dir, max_batches=3, wait=False, log=log)
    report: Dict[str, object] = {"data": what, "runs": {}, "ok": True}
    for s in specs:
        p = results_dir / f"{s.name}.json"
        report["runs"][s.name] = json.loads(p.read_text())["test"]["mae_argmax"] if p.exists() else None
        if not p.exists():
            report["ok"] = False
    # export the dkd student and the PULSE student, check them
    checks = {}
    for s in (next(x for x in specs if x.strategy == "dkd" and x.student == "resnet2"),
              next(x for x in specs if x.strategy == "relation")):
        model = DI.load_trained(s, data.fold(s), runs_dir / s.name)
        blob = out / f"{s.name}.ppgw"
        export_module(s.student, model, blob)
        x = data.fold(s).te.x[:3]
        ref = reference_parity(s.student, model, blob, x)
        c = {"blob": str(blob), "bytes": blob.stat().st_size, "reference_max_rel_diff": ref,
             "reference_ok": ref <= 1e-4}
        if s.net == "resnet":
            exe = cpp_tool()
            if exe is None:
                c["cpp"] = {"ok": None, "skipped": "build/examples/ppghr-estimate not built"}
            else:
                c["cpp"] = cpp_parity(s.student, model, blob, exe, D.REPO / "examples" / "data" / "demo.csv")
            if c["cpp"].get("ok") is False:
                report["ok"] = False
        if not c["reference_ok"]:
            report["ok"] = False
        checks[s.name] = c
        log(f"[quick] {s.name}: exported {blob.name}, reference parity {ref:.2e}"
            + (f", C++ {c['cpp']}" if "cpp" in c else ""))
    report["exports"] = checks
    docs = out / "docs" / "results"
    RS.build(results_dir, docs, specs=specs, title_note="--quick smoke run (tiny data; numbers meaningless)",
             main_teacher="resnet3", log=log)
    report["docs"] = sorted(p.name for p in docs.iterdir())
    report["seconds"] = round(time.time() - t0, 1)
    (out / "quick_report.json").write_text(json.dumps(report, indent=1) + "\n")
    log(f"[quick] {'OK' if report['ok'] else 'FAILED'} in {report['seconds']} s; report {out / 'quick_report.json'}")
    return report


# ------------------------------------------------------------------------------------------------
# CLI

def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny end-to-end run (CI)")
    ap.add_argument("--out", default=None, help="--quick: output directory (default: a temporary one, removed)")
    ap.add_argument("--list", action="store_true", help="print the plan with each run's status and exit")
    ap.add_argument("--full", action="store_true", help="the complete grid: also hard / soft / feature "
                                                        "distillation from the 2-, 4-, 8-block teachers")
    ap.add_argument("--only", default=None, help="only runs whose name contains this text")
    ap.add_argument("--max-runs", type=int, default=None, help="stop after this many runs")
    ap.add_argument("--no-wait", action="store_true", help="exit instead of waiting for runs held by other workers")
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument("--patience", type=int, default=PATIENCE)
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default=None, help="data set: a name under ../shared/data (bami, wrist, ...) or a directory of that layout (default bami)")
    ap.add_argument("--runs-dir", default=str(DI.DEFAULT_RUNS))
    ap.add_argument("--results-dir", default=str(DI.DEFAULT_RESULTS))
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    log = lambda s: print(s, flush=True)       # noqa: E731
    if args.quick:
        if args.out:
            return 0 if run_quick(Path(args.out), log)["ok"] else 1
        tmp = Path(tempfile.mkdtemp(prefix="ppghr_quick_"))
        try:
            return 0 if run_quick(tmp, log)["ok"] else 1
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    specs = plan(args.epochs, args.patience, args.seed, args.full)
    if args.only:
        specs = [s for s in specs if args.only in s.name]
    runs_dir, results_dir = Path(args.runs_dir), Path(args.results_dir)
    if args.list:
        counts: Dict[str, int] = {}
        for i, s in enumerate(specs):
            st = status_of(s, runs_dir, results_dir)
            counts[st] = counts.get(st, 0) + 1
            print(f"{i + 1:4d}  {st:8s} {s.name}")
        print(", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + f" of {len(specs)} runs")
        return 0
    run_sweep(specs, DI.DataSource(args.data), runs_dir, results_dir, args.max_runs, wait=not args.no_wait, log=log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
