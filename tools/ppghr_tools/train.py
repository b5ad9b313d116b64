"""Train a network from scratch on BAMI windows, evaluate it on the other subset, export its blob.

    PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.train --arch resnet2 \\
        --train-subset bami1 --test-subset bami2 --epochs 40 --seed 0 \\
        --run-dir runs/resnet2_bami1 --export models/resnet2_bami1.ppgw

Training: cross-entropy on the 180 classes (label = round(bpm) - 30), Adam (lr 5e-4, the
distillation paper's), batch 128, seeded. Model selection: the epoch with the lowest validation
MAE (argmax) on held-out whole recordings of the training subset; training stops after
`--patience` epochs without improvement. Runs are resumable: the run directory keeps the last
state (optimizer included) and the best weights (`*.pt`, git-ignored), and `result.json`.

Metrics (test subset, never seen in training or selection): MAE of the argmax heart rate (the
study's metric) and of the probability-weighted mean heart rate, overall (over windows) and per
recording.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from . import archs as A
from . import data as D
from .export import export_module
from .models import build_model

BPM = torch.arange(D.N_CLASSES, dtype=torch.float32) + D.MIN_BPM


def predict_bpm(model, x: np.ndarray, batch: int = 512):
    """(argmax bpm, probability-weighted bpm) for windows x (n, 200)."""
    model.eval()
    am, pw = [], []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits = model(torch.from_numpy(x[i:i + batch]))
            p = torch.softmax(logits, dim=1)
            am.append((logits.argmax(dim=1).float() + D.MIN_BPM).numpy())
            pw.append((p @ BPM).numpy())
    if not am:
        return np.zeros(0, np.float32), np.zeros(0, np.float32)
    return np.concatenate(am), np.concatenate(pw)


def evaluate(model, w: D.Windows) -> Dict[str, object]:
    am, pw = predict_bpm(model, w.x)
    per = {}
    for i, rid in enumerate(w.ids):
        m = w.rec == i
        if m.any():
            per[rid] = {"windows": int(m.sum()), "mae_argmax": float(np.mean(np.abs(am[m] - w.bpm[m]))),
                        "mae_weighted": float(np.mean(np.abs(pw[m] - w.bpm[m])))}
    return {"windows": int(len(w.bpm)), "mae_argmax": float(np.mean(np.abs(am - w.bpm))),
            "mae_weighted": float(np.mean(np.abs(pw - w.bpm))), "per_recording": per}


def cross_entropy_step(model, extra, idx, xb, yb, epoch):
    """The from-scratch objective: cross-entropy of the logits against the labels."""
    return F.cross_entropy(model(xb), yb)


def train(arch: str, train_w: D.Windows, val_w: D.Windows, epochs: int, seed: int, lr: float = 5e-4,
          batch_size: int = 128, patience: int = 8, run_dir: Optional[Path] = None,
          max_batches: Optional[int] = None, log=print, *,
          make_model: Optional[Callable[[], torch.nn.Module]] = None,
          make_extra: Optional[Callable[[torch.nn.Module], Optional[torch.nn.Module]]] = None,
          loss_fn: Optional[Callable] = None,
          evaluate_fn: Optional[Callable] = None,
          x: Optional[torch.Tensor] = None, y: Optional[torch.Tensor] = None):
    """The training loop shared by from-scratch training and distillation (distill.py).

    Seeded (torch.manual_seed(seed) before the model is built; batches drawn from a generator
    reseeded per epoch), Adam, model selection by the lowest validation MAE (``evaluate_fn``,
    default evaluate(): MAE of the argmax), early stopping after ``patience`` epochs without
    improvement, resumable from ``run_dir`` (last.pt: model, extra, optimizer, state, torch RNG state
    (so a resumed run continues with the same dropout masks); best.pt: best model weights). Returns (model with the best weights, state).

    Hooks (keyword-only; the defaults are plain cross-entropy training of build_model(arch)):
      make_model()            -> the module to train (built right after seeding);
      make_extra(model)       -> an auxiliary trained module or None (e.g. the FitNets regressor;
                                 its parameters join the optimizer, it is saved in last.pt);
      loss_fn(model, extra, idx, xb, yb, epoch) -> scalar loss; idx are the batch's indices into
                                 the training set (to look up cached teacher outputs), epoch
                                 counts from 1;
      evaluate_fn(model, val_w) -> dict with 'mae_argmax' and 'mae_weighted';
      x, y                    -> training inputs / targets (default train_w.x and its labels).
    """
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = make_model() if make_model is not None else build_model(arch)
    extra = make_extra(model) if make_extra is not None else None
    params = list(model.parameters()) + (list(extra.parameters()) if extra is not None else [])
    opt = torch.optim.Adam(params, lr=lr)
    loss_fn = loss_fn or cross_entropy_step
    evaluate_fn = evaluate_fn or evaluate
    state = {"epoch": 0, "best_mae": math.inf, "best_epoch": -1, "history": []}
    best_sd = None
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        last = run_dir / "last.pt"
        if last.exists():
            ck = torch.load(last, map_location="cpu")
            model.load_state_dict(ck["model"])
            if extra is not None and "extra" in ck:
                extra.load_state_dict(ck["extra"])
            opt.load_state_dict(ck["opt"])
            state = ck["state"]
            if "rng" in ck:            # dropout masks continue as in an uninterrupted run
                torch.set_rng_state(ck["rng"])
            best_path = run_dir / "best.pt"
            best_sd = torch.load(best_path, map_location="cpu") if best_path.exists() else None
            log(f"resumed {run_dir} at epoch {state['epoch']} (best val MAE {state['best_mae']:.3f})")
    x = torch.from_numpy(train_w.x) if x is None else x
    y = torch.from_numpy(D.labels_from_bpm(train_w.bpm)) if y is None else y
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(state["epoch"], epochs):
        if state["best_epoch"] >= 0 and epoch - state["best_epoch"] > patience:
            log(f"early stop at epoch {epoch}: no improvement for {patience} epochs")
            break
        # Reseeding per epoch makes a resumed run draw the same batches as an uninterrupted one.
        gen.manual_seed(seed * 1000 + epoch)
        order = torch.randperm(len(x), generator=gen)
        model.train()
        if extra is not None:
            extra.train()
        t0, total, nb = time.time(), 0.0, 0
        for b in range(0, len(order), batch_size):
            idx = order[b:b + batch_size]
            if len(idx) < 2:
                continue
            loss = loss_fn(model, extra, idx, x[idx], y[idx], epoch + 1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss)
            nb += 1
            if max_batches is not None and nb >= max_batches:
                break
        val = evaluate_fn(model, val_w)
        rec = {"epoch": epoch + 1, "loss": total / max(nb, 1), "val_mae": val["mae_argmax"],
               "val_mae_weighted": val["mae_weighted"], "seconds": round(time.time() - t0, 1)}
        state["history"].append(rec)
        improved = val["mae_argmax"] < state["best_mae"]
        if improved:
            state["best_mae"], state["best_epoch"] = val["mae_argmax"], epoch
            best_sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
        state["epoch"] = epoch + 1
        log(f"epoch {epoch + 1:3d}/{epochs}  loss {rec['loss']:.4f}  val MAE {val['mae_argmax']:.3f} "
            f"(weighted {val['mae_weighted']:.3f})  {rec['seconds']}s{'  *' if improved else ''}")
        if run_dir is not None:
            if improved:
                torch.save(best_sd, run_dir / "best.pt")
            ck = {"model": model.state_dict(), "opt": opt.state_dict(), "state": state, "rng": torch.get_rng_state()}
            if extra is not None:
                ck["extra"] = extra.state_dict()
            torch.save(ck, run_dir / "last.pt")
    if best_sd is not None:
        model.load_state_dict(best_sd)
    return model, state


def add_training_args(ap: argparse.ArgumentParser, threads: int) -> None:
    """The options every training command shares (train.py, distill.py)."""
    ap.add_argument("--train-subset", default="bami1")
    ap.add_argument("--test-subset", default="bami2")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--patience", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--val-fraction", type=float, default=0.2)
    ap.add_argument("--threads", type=int, default=threads,
                    help=f"torch threads (default {threads}{': torch' + chr(39) + 's default' if threads == 0 else ''})")
    ap.add_argument("--data", default=None, help="data set: a name under ../shared/data (bami, wrist, ...) or a directory of that layout (default bami)")


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="resnet2", help="resnet1..resnet12 or mlp1..mlp4")
    add_training_args(ap, threads=0)
    ap.add_argument("--run-dir", default=None, help="resumable run directory (default runs/<arch>_<train>_s<seed>)")
    ap.add_argument("--export", default=None, help="write the best model's blob here")
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 epochs of 3 batches")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    A.get_arch(args.arch)
    run_dir = Path(args.run_dir) if args.run_dir else D.REPO / "runs" / f"{args.arch}_{D.normalise_subset(args.train_subset)}_s{args.seed}"
    print(f"loading windows ({args.train_subset} train, {args.test_subset} test)", flush=True)
    tr_all = D.load_windows(args.train_subset, root=args.data)
    te = D.load_windows(args.test_subset, root=args.data)
    tr_ids, val_ids = D.split_validation(tr_all.ids, args.val_fraction, args.seed)
    tr, val = tr_all.subset_of(tr_ids), tr_all.subset_of(val_ids)
    print(f"train {len(tr.bpm)} windows ({len(tr_ids)} recordings), validation {len(val.bpm)} "
          f"({', '.join(val_ids)}), test {len(te.bpm)}", flush=True)
    epochs, max_batches = (2, 3) if args.quick else (args.epochs, None)
    model, state = train(args.arch, tr, val, epochs, args.seed, args.lr, args.batch_size, args.patience,
                         None if args.quick else run_dir, max_batches, log=lambda s: print(s, flush=True))
    test = evaluate(model, te)
    result = {
        "arch": args.arch, "seed": args.seed, "train_subset": D.normalise_subset(args.train_subset),
        "test_subset": D.normalise_subset(args.test_subset), "validation_recordings": val_ids,
        "epochs_run": state["epoch"], "best_epoch": state["best_epoch"] + 1, "best_val_mae": state["best_mae"],
        "lr": args.lr, "batch_size": args.batch_size, "patience": args.patience,
        "test": test, "torch": torch.__version__,
        # Summed over epochs, so a resumed run reports the whole training time.
        "train_seconds": round(sum(h["seconds"] for h in state["history"]), 1),
        "command": "PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.train " + " ".join(sys.argv[1:] if argv is None else argv),
    }
    print(f"test ({result['test_subset']}): MAE argmax {test['mae_argmax']:.3f} BPM, "
          f"weighted {test['mae_weighted']:.3f} BPM over {test['windows']} windows", flush=True)
    if not args.quick:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "result.json").write_text(json.dumps(result, indent=1) + "\n")
    if args.export:
        Path(args.export).parent.mkdir(parents=True, exist_ok=True)
        export_module(args.arch, model, args.export)
        print(f"wrote {args.export}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
