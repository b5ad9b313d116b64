"""Write the model card of a shipped blob from its training runs (generated, never hand-edited).

    PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.model_card --blob models/resnet2_bami1.ppgw \\
        --shipped-run runs/resnet2_bami1_s0 --other-fold-run runs/resnet2_bami2_s0

writes models/<name>.json (machine-readable; tests/cli/test_shipped_models.sh checks that the C++
tool reproduces its test MAE) and models/<name>.md (the card). ``write_card`` is also used by
ship.py for the models chosen from the distillation sweep (its result files, results/runs/).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zlib
from pathlib import Path
from typing import List, Optional

from . import archs as A

DATA_RESNET = ("BAMI-1 / BAMI-2 (../shared/data/bami), PPG channel 0, 50 Hz -> 25 Hz, band-pass 0.5-4 Hz, "
               "per-window z-score (tools/ppghr_tools/preprocess.py = include/ppghr/dsp)")
DATA_PULSE = ("BAMI-1 / BAMI-2 (../shared/data/bami), PPG channel 0 and the 3-axis accelerometer, 50 Hz -> 32 Hz, "
              "no band-pass; each of the 4 inputs normalised by the mean / std of the training windows, stored "
              "in the blob and applied by predict() (tools/ppghr_tools/preprocess.py net='pulse' = "
              "include/ppghr/dsp PulsePreprocessor)")
DATA_PULSE_WN = ("BAMI-1 / BAMI-2 (../shared/data/bami), PPG channel 0 and the 3-axis accelerometer, 50 Hz -> 32 Hz, "
                 "no band-pass, raw units; each window normalised inside the network (PPG z-scored, the "
                 "accelerometer centred and scaled by one floored divisor: op WINDOW_NORM), no constants in the blob "
                 "(tools/ppghr_tools/preprocess.py net='pulse' = include/ppghr/dsp PulsePreprocessor raw_config)")
STRATEGY_TEXT = {
    "scratch": "from scratch",
    "hard": "distilled from `{teacher}` with the hard-label loss (CE against the teacher's argmax)",
    "soft": "distilled from `{teacher}` with the soft (Hinton) loss {hp}",
    "dkd": "distilled from `{teacher}` with decoupled KD {hp}",
    "feature": "distilled from `{teacher}` with the feature (FitNets) loss {hp}",
    "relation": "distilled from `{teacher}` with PULSE's relation-based loss {hp}",
}


def _arch_of(res: dict) -> str:
    return res.get("arch") or res["student"]


def _training_text(res: dict) -> str:
    strategy = res.get("strategy", "scratch")
    hp = res.get("loss_hyperparameters") or {}
    hp_text = "(" + ", ".join(f"{k} {v}" for k, v in hp.items()) + ")" if hp else ""
    how = STRATEGY_TEXT[strategy].format(teacher=res.get("teacher"), hp=hp_text).rstrip()
    objective = ("L1 on the regressed BPM" if res.get("head") == "regression"
                 else "cross-entropy over 180 classes")
    if strategy != "scratch" and res.get("teacher_test_mae") is not None:
        how += f" (the teacher's test MAE on this fold: {res['teacher_test_mae']:.3f} BPM)"
    return f"{how}; base objective {objective}"


def write_card(blob: Path, res: dict, other: Optional[dict], reproduce: List[str],
               role: Optional[str] = None, notes: Optional[List[str]] = None,
               extra: Optional[List[str]] = None) -> dict:
    """models/<blob stem>.json and .md from the shipped run's result (res) and the same recipe's run
    on the other fold (other); reproduce: the commands that rebuild the blob and this card."""
    blob = Path(blob)
    data = blob.read_bytes()
    arch_name = _arch_of(res)
    arch = A.get_arch(arch_name)
    counts = {"blob_floats": A.blob_float_count(arch), "paper_style": A.training_param_count(arch, True)}
    regression = res.get("head") == "regression"
    card = {
        "name": blob.stem, "blob": blob.name, "arch": arch_name, "blob_bytes": len(data),
        "blob_crc32": f"0x{zlib.crc32(data[:-4]) & 0xffffffff:08x}", "sha256": hashlib.sha256(data).hexdigest(),
        "fingerprint": f"0x{A.fingerprint(arch):016x}", "parameters": counts,
        "head": "regression" if regression else "classes",
        "data": (DATA_PULSE_WN if arch.window_norm else DATA_PULSE) if arch.is_pulse else DATA_RESNET,
        "train_subset": res["train_subset"], "test_subset": res["test_subset"],
        "validation_recordings": res["validation_recordings"], "seed": res["seed"],
        "strategy": res.get("strategy", "scratch"), "teacher": res.get("teacher"),
        "loss_hyperparameters": res.get("loss_hyperparameters") or {},
        "training": {k: res.get(k) for k in ("lr", "batch_size", "patience", "epochs_run", "best_epoch",
                                              "best_val_mae", "torch", "train_seconds")},
        "test": {"windows": res["test"]["windows"], "mae_argmax": round(res["test"]["mae_argmax"], 4),
                 "mae_weighted": round(res["test"]["mae_weighted"], 4)},
        "command": reproduce[0],
        "reproduce": reproduce,
    }
    if role:
        card["role"] = role
    if notes:
        card["notes"] = list(notes)
    if other:
        card["other_fold"] = {"train_subset": other["train_subset"], "test_subset": other["test_subset"],
                              "windows": other["test"]["windows"], "best_val_mae": other.get("best_val_mae"),
                              "mae_argmax": round(other["test"]["mae_argmax"], 4),
                              "mae_weighted": round(other["test"]["mae_weighted"], 4), "command": other["command"]}
    blob.with_suffix(".json").write_text(json.dumps(card, indent=1) + "\n")

    t, tr = card["test"], card["training"]
    metric = ("{:.3f} BPM** (MAE of the regressed BPM)" if regression
              else "{:.3f} BPM** (argmax), " + f"{t['mae_weighted']:.3f} BPM (probability-weighted mean)")
    lines = [
        f"# Model card: {card['name']} (generated by tools/ppghr_tools/model_card.py; do not edit)", "",
    ]
    if role:
        lines += [f"Role: {role}", ""]
    lines += [
        f"- Blob: `models/{card['blob']}` ({card['blob_bytes']:,} bytes, sha256 `{card['sha256'][:16]}...`, "
        f"fingerprint `{card['fingerprint']}`)",
        f"- Architecture: `{arch_name}` (networks.md): {counts['blob_floats']:,} floats in the blob"
        + ("" if arch.is_pulse or arch.is_mlp else " (BatchNorm folded)")
        + f", {counts['paper_style']:,} parameters counted the papers' way; output: "
        + ("one BPM (regression head)" if regression else "180 classes, 30-209 BPM"),
        f"- Data: {card['data']}",
        f"- Split: trained on `{card['train_subset']}` (validation, for early stopping and model selection only: "
        f"{', '.join(card['validation_recordings'])}), tested on `{card['test_subset']}` (participant-independent)",
        f"- Training: {_training_text(res)}; Adam lr {tr['lr']}, batch {tr['batch_size']}, seed {card['seed']}, "
        f"early stopping patience {tr['patience']} (best epoch {tr['best_epoch']} of {tr['epochs_run']}, "
        f"validation MAE {tr['best_val_mae']:.3f} BPM), torch {tr['torch']}, trained in {tr['train_seconds']} s "
        f"on one core of a 2-core CPU machine",
        f"- **Test MAE ({card['test_subset']}, {t['windows']} windows): " + metric.format(t["mae_argmax"]),
    ]
    if other:
        o = card["other_fold"]
        lines.append(f"- The same recipe on the other fold (train `{o['train_subset']}`, test `{o['test_subset']}`, "
                     f"{o['windows']} windows; that model is not shipped): {o['mae_argmax']:.3f} BPM"
                     + ("" if regression else f" argmax, {o['mae_weighted']:.3f} weighted")
                     + f". Two-fold mean: {(t['mae_argmax'] + o['mae_argmax']) / 2:.3f} BPM")
    lines += [f"- **Note:** {n}" for n in notes or []]
    lines += list(extra or [])
    lines += ["", "Reproduce (the runs directory is resumable; a finished run only re-exports):", ""]
    for c in reproduce:
        lines += [f"    {c}", ""]
    if other:
        lines += ["The other fold's run:", "", f"    {o['command']}", ""]
    lines += ["Check in C++ (the streaming front end and the library's network; tests/cli/test_shipped_models.sh):", "",
              f"    build/examples/ppghr-estimate --model models/{card['blob']} --eval ../shared/data/bami "
              f"--subset {card['test_subset']}", ""]
    blob.with_suffix(".md").write_text("\n".join(lines))
    return card


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--blob", required=True)
    ap.add_argument("--shipped-run", required=True, help="run directory of the shipped model (result.json)")
    ap.add_argument("--other-fold-run", default=None, help="the same recipe on the other fold")
    args = ap.parse_args(argv)
    blob = Path(args.blob)
    res = json.loads((Path(args.shipped_run) / "result.json").read_text())
    other = json.loads((Path(args.other_fold_run) / "result.json").read_text()) if args.other_fold_run else None
    command = res["command"] + (f" --export models/{blob.name}" if "--export" not in res["command"] else "")
    card_cmd = (f"PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.model_card --blob models/{blob.name} "
                f"--shipped-run {args.shipped_run}" + (f" --other-fold-run {args.other_fold_run}" if other else ""))
    write_card(blob, res, other, [command, card_cmd])
    print(f"wrote {blob.with_suffix('.json')} and {blob.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
