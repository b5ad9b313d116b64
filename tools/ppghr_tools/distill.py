"""Train a student from scratch or distil it from a teacher run; PULSE teacher -> student.

    PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.distill --student resnet2 --strategy dkd \\
        --teacher resnet12 --train-subset bami1 --test-subset bami2 --epochs 40 --patience 8 --seed 0
    PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.distill --student pulse_student --strategy relation \\
        --teacher pulse_teacher --train-subset bami1 --test-subset bami2

Strategies (losses.py holds the formulas and their hyperparameters):
  scratch   cross-entropy on the labels (ResNet / MLP); L1 on the BPM for the PULSE networks
  hard      CE against the teacher's argmax
  soft      Hinton, T 2, w_ce 1
  dkd       decoupled KD, alpha 1, beta 8, T 2, w_ce 1, warm-up 20 epochs
  feature   FitNets: CE + MSE between a 1x1-conv regression of the student's LAST block output
            (MLP: last hidden layer) and the teacher's LAST block output, the student map resampled
            in time to the teacher's length (adaptive average pooling to shrink, linear
            interpolation to grow)
  relation  PULSE relation-based loss (PULSE student from the PULSE teacher only)

Runs. Every run has a name, e.g. ``resnet2_dkd_from_resnet12_bami1_s0`` or
``resnet12_scratch_bami1_s0`` (a teacher is simply the scratch run of its architecture, so the
teacher of size 2 and the scratch student of size 2 are one run). Its resumable directory
``<runs-dir>/<name>/`` (default runs/sweep/, git-ignored) holds last.pt / best.pt as train.py's, and
``done.json`` once finished; its result goes to ``<results-dir>/<name>.json`` (default results/runs/,
committed). A student whose teacher has not been trained trains the teacher first.

Teacher outputs. The teacher (its best weights, eval mode) is run ONCE per fold over the training
windows of that fold; logits (and, for the feature strategy, the last block's feature maps; for
PULSE the regressed BPM and the 32-d hidden vector) are saved as
``<runs-dir>/<teacher run>/outputs_<key>.npz`` and reused by every student of that teacher and fold
(key: hash of the teacher's best.pt and of the training windows).

Data. ResNet / MLP: data.load_windows (BAMI PPG channel 0, 25 Hz, band-pass, per-window z-score).
PULSE: 4 rows (PPG channel 0, ACC x, y, z) at 32 Hz from preprocess.windows_from_recording(...,
net='pulse') (no band-pass, raw units); the 4 (mean, std) pairs of the training windows (training
part of the fold, validation excluded) are the global normalisation, held by the module's
input_norm and stored in the exported blob. Folds by subset, validation = whole recordings of the
training subset (data.split_validation, seeded), exactly as train.py.

PULSE variants with per-window normalisation inside the network (arch names *_wn, *_wn_cls;
models.window_norm, op WINDOW_NORM): no input_norm is fitted or stored; the raw windows go in.

PULSE heads with the 180-class head (*_cls): scratch is the cross-entropy of every classification
network; relation is w_ce * CE(z_s, y) + PULSE's relation loss with y^ = the probability-weighted
mean BPM of each network (losses.pulse_relation_loss_classes; our choice: the published loss needs
a BPM, and the CE keeps the probabilities a likelihood for the decoders). Teacher outputs cached:
'logits' and 'hidden'.

PULSE heads: regression (Linear(32 -> 1), the published heads; arch names pulse_teacher /
pulse_student). Reason: the relation-based loss is an L1 on the regressed BPM against the label
and the teacher, as published; the output bias is initialised to the training set's mean BPM (an
L1 objective with Adam at lr 5e-4 would otherwise spend thousands of steps walking the bias from 0
to ~100). Their "mae_argmax" and "mae_weighted" are both the MAE of the regressed BPM.

Metrics on the test subset: MAE of the argmax heart rate and of the probability-weighted mean,
overall (windows) and per recording (train.evaluate).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from . import archs as A
from . import data as D
from . import losses as LS
from . import preprocess as P
from .export import export_module
from .models import build_model, count_params
from . import train as TR

DEFAULT_RUNS = D.REPO / "runs" / "sweep"
DEFAULT_RESULTS = D.REPO / "results" / "runs"
STRATEGIES = ("scratch", "hard", "soft", "dkd", "feature", "relation")
PULSE_ARCHS = tuple(n for n in A.ARCH_NAMES if A.get_arch(n).is_pulse)
PULSE_LOADER_VERSION = b"pulse4-v1"


# ------------------------------------------------------------------------------------------------
# run specification

@dataclass(frozen=True)
class RunSpec:
    student: str                      # arch name (resnetN, mlpN, pulse_teacher, pulse_student)
    strategy: str = "scratch"
    teacher: Optional[str] = None     # arch of the teacher (None for scratch)
    train_subset: str = "bami1"
    test_subset: str = "bami2"
    seed: int = 0
    epochs: int = 40
    patience: int = 8
    batch_size: int = 128
    lr: float = 5e-4
    val_fraction: float = 0.2

    def __post_init__(self):
        A.get_arch(self.student)
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, not {self.strategy!r}")
        if (self.strategy == "scratch") != (self.teacher is None):
            raise ValueError("a teacher is needed by every strategy but scratch (and only then)")
        if self.teacher is not None:
            A.get_arch(self.teacher)
        pulse = self.student in PULSE_ARCHS
        if pulse and self.strategy not in ("scratch", "relation"):
            raise ValueError("PULSE networks train with 'scratch' or 'relation'")
        if self.strategy == "relation":
            s_arch, t_arch = A.get_arch(self.student), A.get_arch(self.teacher)
            if (s_arch.family != A.FAMILY_PULSE_STUDENT or t_arch.family != A.FAMILY_PULSE_TEACHER
                    or s_arch.window_norm != t_arch.window_norm or s_arch.variant != t_arch.variant):
                raise ValueError("'relation' distils a PULSE student from the PULSE teacher of the same "
                                 "input normalisation and head (e.g. pulse_student from pulse_teacher)")
        if not pulse and self.teacher is not None and not A.get_arch(self.teacher).is_resnet:
            raise ValueError("ResNet / MLP students are distilled from ResNet teachers")

    @property
    def fold(self) -> str:
        return D.normalise_subset(self.train_subset)

    @property
    def name(self) -> str:
        t = f"_from_{self.teacher}" if self.teacher else ""
        return f"{self.student}_{self.strategy}{t}_{self.fold}_s{self.seed}"

    @property
    def net(self) -> str:
        return "pulse" if self.student in PULSE_ARCHS else "resnet"

    @property
    def regression(self) -> bool:
        """A one-output BPM network (the published PULSE heads)."""
        return A.get_arch(self.student).n_outputs == 1

    def teacher_spec(self) -> "RunSpec":
        return replace(self, student=self.teacher, strategy="scratch", teacher=None)

    def command(self) -> str:
        parts = [f"--student {self.student}", f"--strategy {self.strategy}"]
        if self.teacher:
            parts.append(f"--teacher {self.teacher}")
        parts += [f"--train-subset {self.fold}", f"--test-subset {D.normalise_subset(self.test_subset)}",
                  f"--epochs {self.epochs}", f"--patience {self.patience}", f"--seed {self.seed}",
                  f"--batch-size {self.batch_size}", f"--lr {self.lr:g}", "--threads 1"]
        return "PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.distill " + " ".join(parts)


# ------------------------------------------------------------------------------------------------
# data

@dataclass
class Fold:
    tr: D.Windows
    val: D.Windows
    te: D.Windows
    val_ids: List[str]
    input_norm: Optional[np.ndarray] = None    # PULSE: (4, 2) training-set (mean, std)


def pulse_windows_of(recs: Sequence[Tuple[str, np.ndarray, np.ndarray, np.ndarray, int]]) -> D.Windows:
    """PULSE windows (n, 4, 256) raw units from [(id, ppg0 (N,), acc (N, 3), hr (W,), fs)]."""
    xs, bpms, rix = [], [], []
    ids = []
    for i, (rid, ppg0, acc, hr, fs) in enumerate(recs):
        ids.append(rid)
        sig = np.column_stack([np.asarray(ppg0, np.float64), np.asarray(acc, np.float64)])
        w, status = P.windows_from_recording(sig, fs, net="pulse", return_status=True)
        n = min(len(w), len(hr))
        keep = np.all(status[:n] == 0, axis=1) & np.isfinite(hr[:n])
        xs.append(np.asarray(w[:n][keep], np.float32))
        bpms.append(np.asarray(hr[:n][keep], np.float32))
        rix.append(np.full(int(keep.sum()), i, np.int64))
    return D.Windows(np.concatenate(xs), np.concatenate(bpms), np.concatenate(rix), ids)


def resnet_windows_of(recs) -> D.Windows:
    """ResNet / MLP windows (n, 200) from [(id, ppg0, acc, hr, fs)], as data.load_windows does."""
    xs, bpms, rix, ids = [], [], [], []
    for i, (rid, ppg0, _acc, hr, fs) in enumerate(recs):
        ids.append(rid)
        w, status = P.windows_from_recording(np.asarray(ppg0), fs, net="resnet", return_status=True)
        n = min(len(w), len(hr))
        keep = (status[:n] == 0) & np.isfinite(hr[:n])
        xs.append(np.asarray(w[:n][keep], np.float32))
        bpms.append(np.asarray(hr[:n][keep], np.float32))
        rix.append(np.full(int(keep.sum()), i, np.int64))
    return D.Windows(np.concatenate(xs), np.concatenate(bpms), np.concatenate(rix), ids)


def load_pulse_windows(subset: str, root=None, cache=D.DEFAULT_CACHE, verbose: bool = True) -> D.Windows:
    """All PULSE windows of a BAMI subset (cached as .npz beside data.py's windows)."""
    key = hashlib.sha256(Path(P.__file__).read_bytes() + PULSE_LOADER_VERSION
                         + D.normalise_subset(subset).encode()).hexdigest()[:16]
    path = Path(cache) / f"{D.normalise_subset(subset)}_pulse4_{key}.npz" if cache is not None else None
    if path is not None and path.exists():
        z = np.load(path, allow_pickle=False)
        return D.Windows(z["x"], z["bpm"], z["rec"], [str(s) for s in z["ids"]])
    recs = []
    for rid in D.recordings(subset, root):
        r = P.load_bami(rid, D.bami_root(root))
        recs.append((rid, r.ppg[:, 0], r.acc, r.hr, r.fs))
        if verbose:
            print(f"  {subset} {rid}: pulse windows", flush=True)
    out = pulse_windows_of(recs)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, x=out.x, bpm=out.bpm, rec=out.rec, ids=np.array(out.ids))
    return out


def pulse_input_norm(x: np.ndarray) -> np.ndarray:
    """(4, 2) (mean, population std) of each row over all training windows (float64)."""
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=(0, 2))
    std = np.sqrt(((x64 - mean[None, :, None]) ** 2).mean(axis=(0, 2)))
    return np.stack([mean, np.maximum(std, 1e-6)], axis=1)


def make_fold(tr_all: D.Windows, te: D.Windows, val_fraction: float, seed: int, net: str) -> Fold:
    tr_ids, val_ids = D.split_validation(tr_all.ids, val_fraction, seed)
    tr, val = tr_all.subset_of(tr_ids), tr_all.subset_of(val_ids)
    norm = pulse_input_norm(tr.x) if net == "pulse" else None
    return Fold(tr, val, te, val_ids, norm)


def load_fold(spec: RunSpec, root=None, verbose: bool = True) -> Fold:
    if spec.net == "pulse":
        tr_all = load_pulse_windows(spec.train_subset, root, verbose=verbose)
        te = load_pulse_windows(spec.test_subset, root, verbose=verbose)
    else:
        tr_all = D.load_windows(spec.train_subset, root=root, verbose=verbose)
        te = D.load_windows(spec.test_subset, root=root, verbose=verbose)
    return make_fold(tr_all, te, spec.val_fraction, spec.seed, spec.net)


class DataSource:
    """Folds by (net, train subset, test subset, seed, val fraction), loaded once per process.
    ``override`` maps (net, training subset) -> Fold for tiny / synthetic data (sweep --quick)."""

    def __init__(self, root=None, override: Optional[Dict[str, Fold]] = None, verbose: bool = True):
        self.root, self.override, self.verbose = root, override, verbose
        self._cache: Dict[tuple, Fold] = {}

    def fold(self, spec: RunSpec) -> Fold:
        if self.override is not None:
            return self.override[(spec.net, spec.fold)]
        key = (spec.net, spec.fold, D.normalise_subset(spec.test_subset), spec.seed, spec.val_fraction)
        if key not in self._cache:
            self._cache[key] = load_fold(spec, self.root, self.verbose)
        return self._cache[key]


# ------------------------------------------------------------------------------------------------
# models, evaluation

def make_model_fn(spec: RunSpec, fold: Fold) -> Callable[[], torch.nn.Module]:
    def make():
        m = build_model(spec.student)
        if spec.net == "pulse":
            if not A.get_arch(spec.student).window_norm:
                m.set_input_norm(fold.input_norm)
            if spec.regression:
                with torch.no_grad():
                    m.out.bias.fill_(float(np.mean(fold.tr.bpm)))
        return m
    return make


def param_counts(arch: str) -> Dict[str, int]:
    m = build_model(arch)
    total = count_params(m)
    inference = total - (count_params(m.dense2) if hasattr(m, "dense2") else 0)
    return {"paper": total, "inference": inference, "blob_floats": A.blob_float_count(A.get_arch(arch))}


def predict_regression(model, x: np.ndarray, batch: int = 256) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out.append(model(torch.from_numpy(x[i:i + batch])).reshape(-1).numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def evaluate_regression(model, w: D.Windows) -> Dict[str, object]:
    """Like train.evaluate for a one-output BPM network (argmax and weighted are both its output)."""
    pred = predict_regression(model, w.x)
    per = {}
    for i, rid in enumerate(w.ids):
        m = w.rec == i
        if m.any():
            mae = float(np.mean(np.abs(pred[m] - w.bpm[m])))
            per[rid] = {"windows": int(m.sum()), "mae_argmax": mae, "mae_weighted": mae}
    mae = float(np.mean(np.abs(pred - w.bpm))) if len(pred) else math.nan
    return {"windows": int(len(w.bpm)), "mae_argmax": mae, "mae_weighted": mae, "per_recording": per}


def evaluate_fn(spec: RunSpec):
    return evaluate_regression if spec.regression else TR.evaluate


# ------------------------------------------------------------------------------------------------
# teacher outputs (once per teacher and fold)

def _fingerprint_windows(w: D.Windows) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(w.x[:: max(1, len(w.x) // 64)]).tobytes())
    h.update(str((w.x.shape, [w.ids[i] for i in np.unique(w.rec)])).encode())
    return h.hexdigest()[:16]


def teacher_outputs(teacher_model, teacher_dir: Path, tr: D.Windows, need_features: bool,
                    log=print) -> Dict[str, np.ndarray]:
    """Teacher outputs over the training windows, computed once and cached in teacher_dir.
    ResNet: 'logits' (n, 180) and 'features' (n, C, L) of the last block (always stored; returned
    only when need_features).
    PULSE: 'out' (n,) regressed BPM (180-class head: 'logits' (n, 180)) and 'hidden' (n, 32)."""
    best = teacher_dir / "best.pt"
    key = hashlib.sha256(best.read_bytes() + _fingerprint_windows(tr).encode()).hexdigest()[:16]
    path = teacher_dir / f"outputs_{key}.npz"
    if path.exists():
        z = np.load(path)
        return {k: z[k] for k in z.files if need_features or k != "features"}
    t0 = time.time()
    teacher_model.eval()
    pulse = isinstance(teacher_model, torch.nn.Module) and hasattr(teacher_model, "input_norm")
    outs: Dict[str, List[np.ndarray]] = {}
    with torch.no_grad():
        for i in range(0, len(tr.x), 256):
            xb = torch.from_numpy(tr.x[i:i + 256])
            if pulse:
                out, f = teacher_model(xb, return_features=True)
                if out.shape[1] == 1:
                    outs.setdefault("out", []).append(out.reshape(-1).numpy())
                else:
                    outs.setdefault("logits", []).append(out.numpy())
                outs.setdefault("hidden", []).append(f["hidden"].numpy())
            else:
                logits, feats = teacher_model(xb, return_features=True)
                outs.setdefault("logits", []).append(logits.numpy())
                outs.setdefault("features", []).append(feats[-1].numpy())
    res = {k: np.concatenate(v).astype(np.float32) for k, v in outs.items()}
    tmp = path.with_name(path.name + f".tmp{os.getpid()}.npz")
    np.savez(tmp, **res)
    os.replace(tmp, path)
    log(f"teacher outputs of {teacher_dir.name} over {len(tr.x)} training windows: "
        f"{', '.join(f'{k} {tuple(v.shape)}' for k, v in res.items())} ({time.time() - t0:.1f}s) -> {path.name}")
    return {k: v for k, v in res.items() if need_features or k != "features"}


# ------------------------------------------------------------------------------------------------
# strategies

def make_loss(spec: RunSpec, tout: Optional[Dict[str, np.ndarray]]):
    s = spec.strategy
    if s == "scratch":
        if spec.regression:
            return lambda model, extra, idx, xb, yb, epoch: F.l1_loss(model(xb).reshape(-1), yb)
        return TR.cross_entropy_step
    if s == "relation":
        # regression heads: the regressed BPM; 180-class heads: the logits (losses.py)
        key, loss = (("out", LS.pulse_relation_loss) if spec.regression
                     else ("logits", LS.pulse_relation_loss_classes))
        y_t = torch.from_numpy(tout[key])
        h_t = torch.from_numpy(tout["hidden"])

        def relation(model, extra, idx, xb, yb, epoch):
            out, f = model(xb, return_features=True)
            return loss(out, yb, y_t[idx], f["hidden"], h_t[idx])
        return relation
    z_t = torch.from_numpy(tout["logits"])
    if s == "hard":
        return lambda model, extra, idx, xb, yb, epoch: LS.hard_loss(model(xb), z_t[idx])
    if s == "soft":
        return lambda model, extra, idx, xb, yb, epoch: LS.soft_loss(model(xb), z_t[idx], yb)
    if s == "dkd":
        return lambda model, extra, idx, xb, yb, epoch: LS.dkd_loss(model(xb), z_t[idx], yb, epoch)
    if s == "feature":
        f_t = torch.from_numpy(tout["features"])

        def feature(model, extra, idx, xb, yb, epoch):
            z_s, feats = model(xb, return_features=True)
            return LS.feature_strategy_loss(z_s, yb, feats[-1], f_t[idx], extra)
        return feature
    raise ValueError(s)


def make_extra_fn(spec: RunSpec, tout):
    if spec.strategy != "feature":
        return None
    _, c_t, l_t = tout["features"].shape

    def make(model):
        c_s = model.out_channels if hasattr(model, "out_channels") else model.widths[-1]
        return LS.FitNetRegressor(c_s, c_t, l_t)
    return make


# ------------------------------------------------------------------------------------------------
# one run

def _finished(run_dir: Path) -> bool:
    return (run_dir / "done.json").exists() and (run_dir / "best.pt").exists()


def load_trained(spec: RunSpec, fold: Fold, run_dir: Path) -> torch.nn.Module:
    m = make_model_fn(spec, fold)()
    m.load_state_dict(torch.load(run_dir / "best.pt", map_location="cpu"))
    m.eval()
    return m


def run(spec: RunSpec, data: DataSource, runs_dir: Path = DEFAULT_RUNS, results_dir: Optional[Path] = DEFAULT_RESULTS,
        max_batches: Optional[int] = None, log=print, extra_result: Optional[dict] = None,
        train_missing_teacher: bool = True) -> Tuple[torch.nn.Module, dict]:
    """Train (or resume, or load when finished) one run; write its result. Returns (model, result)."""
    runs_dir, fold = Path(runs_dir), data.fold(spec)
    run_dir = runs_dir / spec.name
    if _finished(run_dir):
        res = json.loads((run_dir / "done.json").read_text())
        if results_dir is not None and not (Path(results_dir) / f"{spec.name}.json").exists():
            Path(results_dir).mkdir(parents=True, exist_ok=True)
            (Path(results_dir) / f"{spec.name}.json").write_text(json.dumps(res, indent=1) + "\n")
        return load_trained(spec, fold, run_dir), res
    tout, teacher_res = None, None
    if spec.teacher is not None:
        tspec = spec.teacher_spec()
        tdir = runs_dir / tspec.name
        if not _finished(tdir):
            if not train_missing_teacher:
                raise RuntimeError(f"teacher run {tspec.name} has not finished")
            log(f"== teacher {tspec.name} first")
        teacher, teacher_res = run(tspec, data, runs_dir, results_dir, max_batches, log)
        tout = teacher_outputs(teacher, tdir, fold.tr, spec.strategy == "feature", log)
        del teacher
    log(f"== {spec.name}: train {len(fold.tr.bpm)} windows, validation {len(fold.val.bpm)} "
        f"({', '.join(fold.val_ids)}), test {len(fold.te.bpm)}")
    y = (torch.from_numpy(fold.tr.bpm.astype(np.float32)) if spec.regression
         else torch.from_numpy(D.labels_from_bpm(fold.tr.bpm)))
    model, state = TR.train(spec.student, fold.tr, fold.val, spec.epochs, spec.seed, spec.lr, spec.batch_size,
                            spec.patience, run_dir, max_batches, log=log,
                            make_model=make_model_fn(spec, fold), make_extra=make_extra_fn(spec, tout),
                            loss_fn=make_loss(spec, tout), evaluate_fn=evaluate_fn(spec), y=y)
    test = evaluate_fn(spec)(model, fold.te)
    hp = LS.describe()
    result = {
        "name": spec.name, "student": spec.student, "strategy": spec.strategy, "teacher": spec.teacher,
        "teacher_run": spec.teacher_spec().name if spec.teacher else None,
        "family": "pulse" if spec.net == "pulse" else ("mlp" if A.get_arch(spec.student).is_mlp else "resnet"),
        "head": "regression" if spec.regression else "classes",
        "train_subset": spec.fold, "test_subset": D.normalise_subset(spec.test_subset), "seed": spec.seed,
        "validation_recordings": fold.val_ids, "params": param_counts(spec.student),
        "epochs_max": spec.epochs, "patience": spec.patience, "lr": spec.lr, "batch_size": spec.batch_size,
        "epochs_run": state["epoch"], "best_epoch": state["best_epoch"] + 1, "best_val_mae": state["best_mae"],
        "loss_hyperparameters": {"scratch": {}, "hard": hp["hard"], "soft": hp["soft"], "dkd": hp["dkd"],
                                 "feature": hp["feature"], "relation": hp["pulse_relation"]}[spec.strategy],
        "teacher_test_mae": teacher_res["test"]["mae_argmax"] if teacher_res else None,
        "test": test,
        "history": [{"epoch": h["epoch"], "loss": round(h["loss"], 5), "val_mae": round(h["val_mae"], 4),
                     "val_mae_weighted": round(h["val_mae_weighted"], 4), "seconds": h["seconds"]}
                    for h in state["history"]],
        "train_seconds": round(sum(h["seconds"] for h in state["history"]), 1),
        "train_windows": int(len(fold.tr.bpm)), "validation_windows": int(len(fold.val.bpm)),
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "max_batches_per_epoch": max_batches,
        "command": spec.command(),
        "generated_by": "tools/ppghr_tools/distill.py",
    }
    if spec.net == "pulse" and not A.get_arch(spec.student).window_norm:
        result["input_norm"] = [[float(a), float(b)] for a, b in fold.input_norm]
    if extra_result:
        result.update(extra_result)
    log(f"== {spec.name}: test ({result['test_subset']}) MAE argmax {test['mae_argmax']:.3f} BPM, "
        f"weighted {test['mae_weighted']:.3f} BPM over {test['windows']} windows "
        f"(best epoch {result['best_epoch']} of {result['epochs_run']}, {result['train_seconds']} s)")
    text = json.dumps(result, indent=1) + "\n"
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "done.json").write_text(text)
    if results_dir is not None:
        Path(results_dir).mkdir(parents=True, exist_ok=True)
        tmp = Path(results_dir) / f".{spec.name}.json.tmp{os.getpid()}"
        tmp.write_text(text)
        os.replace(tmp, Path(results_dir) / f"{spec.name}.json")
    return model, result


# ------------------------------------------------------------------------------------------------
# CLI

def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--student", required=True, help="resnet1..resnet12, mlp1..mlp4, pulse_teacher, pulse_student")
    ap.add_argument("--strategy", default="scratch", choices=STRATEGIES)
    ap.add_argument("--teacher", default=None, help="teacher arch (its scratch run is trained first if needed)")
    TR.add_training_args(ap, threads=1)
    ap.add_argument("--runs-dir", default=str(DEFAULT_RUNS), help="resumable run directories (git-ignored)")
    ap.add_argument("--results-dir", default=str(DEFAULT_RESULTS), help="one <run>.json per finished run")
    ap.add_argument("--export", default=None, help="write the best model's blob here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    spec = RunSpec(args.student, args.strategy, args.teacher, args.train_subset, args.test_subset, args.seed,
                   args.epochs, args.patience, args.batch_size, args.lr, args.val_fraction)
    model, _ = run(spec, DataSource(args.data), Path(args.runs_dir), Path(args.results_dir),
                   log=lambda s: print(s, flush=True))
    if args.export:
        Path(args.export).parent.mkdir(parents=True, exist_ok=True)
        export_module(spec.student, model, args.export)
        print(f"wrote {args.export}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
