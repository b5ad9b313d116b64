"""Choose the shipped models from the distillation sweep, export them to models/, write their cards.

    PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.ship            # choose, export, write cards
    PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.ship --dry-run  # only print the choice

Roles (issue 6), each chosen among the sweep's finished recipes (student, strategy, teacher) that have
finished on both folds:
  small    the default model (README's main command): a student of the 1- or 2-block budget
           (resnet1, resnet2, mlp1, mlp2; <= 30,000 parameters), any strategy incl. scratch
  large    a student of the 6-block budget (resnet6, mlp3; ~126-129K parameters, ~0.5 MB blobs): the
           study's saturation point, and the folder stays small (a 10-block blob is 2 MB)
  pulse    the PULSE student (scratch or distilled with the relation loss): the published one
           (training-set input constants, regression head) or the per-window-normalised one with
           the 180-class head (pulse_student_wn_cls, sweep.pulse_wn_plan())
Criterion: the lowest two-fold mean VALIDATION MAE (best_val_mae: whole recordings of the training
subset, never the test subset), ties to fewer parameters. The test MAEs are reported, not used.
The shipped blob is the recipe's run trained on BAMI-1 (tested on BAMI-2); its card reports both folds.
Blobs are exported from runs/sweep/<run>/best.pt (the run is retrained first when that checkpoint is
missing, e.g. in a fresh clone: distill.run resumes / trains it). Writes models/<run>.ppgw + .json +
.md per role (the card's "role" says which), models/DEFAULT (the default blob's file name, one line;
scripts/demo.sh reads it) and models/README.md (the table of the choice).
Since the spectral networks (issue 13) the default and models/README.md come from specship.py: this
module writes its table to models/sweep.md and leaves models/DEFAULT alone.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from . import data as D
from . import distill as DI
from . import sweep as SW
from .export import export_module
from .model_card import write_card

ROLES = {
    "small": ("resnet1", "resnet2", "mlp1", "mlp2"),
    "large": ("resnet6", "mlp3"),
    "pulse": ("pulse_student", "pulse_student_wn_cls"),
}
ROLE_TEXT = {
    "small": "the default model: the best small student (1-/2-block budget, <= 30K parameters) of the sweep",
    "large": "the larger student (6-block budget) of the sweep",
    "pulse": "the PULSE student (PPG + accelerometer) of the sweep",
}
SHIPPED_FOLD = "bami1"


def PULSE_NOTE(res: dict, other: dict) -> List[str]:      # noqa: N802 (a constant text with numbers)
    return [f"PULSE's published front end (raw ADC units, one global mean / std per input row from the training "
            f"windows, no per-window normalisation) does not transfer between the BAMI subsets: BAMI1_01..24 PPG is "
            f"16-bit with a large DC level, BAMI1_25 and BAMI-2 12-bit (../shared/data/bami/README.md). Validation "
            f"MAE inside the training subset: {res['best_val_mae']:.3f} BPM (BAMI-1), {other['best_val_mae']:.3f} BPM "
            f"(BAMI-2); test MAE across subsets: {res['test']['mae_argmax']:.3f} and {other['test']['mae_argmax']:.3f} "
            f"BPM. Use this model on recordings from the training device's ADC only, or prefer the ResNet / MLP models "
            f"(per-window z-score front end)."]


def pulse_notes(res: dict, other: dict) -> List[str]:
    """The PULSE card's notes: the published front end's, or the per-window variant's."""
    if not res["student"].startswith("pulse_student_wn"):
        return PULSE_NOTE(res, other)
    return [f"Per-window input normalisation inside the network (op WINDOW_NORM, "
            f"include/ppghr/layers/window_norm.hpp): the PPG row z-scored over each 8 s window, the accelerometer "
            f"rows centred and scaled by one shared divisor floored at 0.05 g; no training-set constants, so the "
            f"blob does not depend on the device's PPG units. Validation MAE inside the training subset: "
            f"{res['best_val_mae']:.3f} BPM (BAMI-1), {other['best_val_mae']:.3f} BPM (BAMI-2). The 180-class head "
            f"gives a probability vector, so the decoders (--decode online / lag:N / offline) apply; the C++ tool's "
            f"numbers on every data set are in the table below.",
            "Chosen against the published PULSE student by the two-fold mean validation MAE (ship.py)."]


def pulse_extra(stem: str) -> List[str]:
    """The C++ tool's evaluation table for the PULSE card (docs/evaluation/summary.json)."""
    from .specship import cpp_table
    rows = cpp_table(stem)
    if not rows:
        return []
    return ["", "The C++ tool on every visible data set (`PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.evaluate "
            "--cli build-cli/examples/ppghr-estimate`, docs/evaluation/; MAE in BPM; online = causal forward "
            "filter, lag 3 = fixed-lag smoother, offline = Viterbi; 80% = the most confident 80% of windows):", ""] + rows


def pulse_pair_table(results: Dict[str, dict]) -> List[str]:
    """sweep.md's table of every PULSE run: the published front end and the per-window pair."""
    runs = [s for s in SW.plan() + SW.pulse_wn_plan() if s.net == "pulse"]
    lines = ["", "## PULSE runs: the published front end and the per-window pair", "",
             "Validation = whole recordings of the training subset (early stopping, the choice); test = the other "
             "subset. MAE in BPM of the regressed BPM (regression heads) or of the argmax (180-class heads, "
             "`_cls`; the probability-weighted mean beside it). Seconds: training on one core of this 2-core machine.",
             "", "| run | head | validation | test (argmax) | test (weighted) | best epoch / run | seconds |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for s in runs:
        r = results.get(s.name)
        if r is None:
            lines.append(f"| {s.name} | | not run | | | | |")
            continue
        t = r["test"]
        lines.append(f"| {s.name} | {r.get('head', 'regression')} | {r['best_val_mae']:.2f} | {t['mae_argmax']:.2f} | "
                     f"{t['mae_weighted']:.2f} | {r['best_epoch']} / {r['epochs_run']} | {r['train_seconds']:.0f} |")
    return lines


def recipes(results: Dict[str, dict], specs: Sequence[DI.RunSpec]) -> Dict[Tuple, Dict[str, dict]]:
    """(student, strategy, teacher) -> {training subset: result} over the plan's finished runs."""
    out: Dict[Tuple, Dict[str, dict]] = {}
    for s in specs:
        r = results.get(s.name)
        if r is not None:
            out.setdefault((s.student, s.strategy, s.teacher), {})[s.fold] = r
    return out


def choose(results: Dict[str, dict], specs: Sequence[DI.RunSpec]) -> Dict[str, Tuple[Tuple, Dict[str, dict], float]]:
    """role -> (recipe, {fold: result}, two-fold mean validation MAE), for each role with a candidate."""
    by = recipes(results, specs)
    chosen = {}
    for role, students in ROLES.items():
        cands = []
        for key, folds in by.items():
            if key[0] in students and len(folds) == 2:
                val = sum(r["best_val_mae"] for r in folds.values()) / 2
                cands.append((val, folds[SHIPPED_FOLD]["params"]["inference"], key, folds))
        if cands:
            val, _, key, folds = min(cands, key=lambda c: (c[0], c[1]))
            chosen[role] = (key, folds, val)
    return chosen


def spec_of(res: dict) -> DI.RunSpec:
    return DI.RunSpec(res["student"], res["strategy"], res.get("teacher"), res["train_subset"], res["test_subset"],
                      res["seed"], res["epochs_max"], res["patience"], res["batch_size"], res["lr"])


def ship(models_dir: Path, results_dir: Path, runs_dir: Path, dry_run: bool = False, log=print,
         roles: Optional[Sequence[str]] = None) -> dict:
    """roles: export and write the cards of these roles only (default: all); the others keep their
    files in models/ and only their row of sweep.md is rewritten."""
    specs = SW.plan() + SW.pulse_wn_plan()
    from .results import load_results
    chosen = choose(load_results(results_dir), specs)
    index = {"generated_by": "tools/ppghr_tools/ship.py", "criterion": "lowest two-fold mean validation MAE",
             "roles": {}}
    data = DI.DataSource()
    lines = ["# Shipped models (generated by tools/ppghr_tools/ship.py; do not edit)", "",
             "Chosen from the distillation sweep (docs/results/) by the lowest two-fold mean validation MAE "
             "(whole recordings of the training subset; the test subsets are not used to choose). Each blob is "
             "the recipe's run trained on BAMI-1; its card gives the test MAE on BAMI-2 and the other fold's.", "",
             "| role | model | architecture | parameters | test MAE 1->2 | test MAE 2->1 | two-fold mean | validation MAE (mean) |",
             "|---|---|---|---|---|---|---|---|"]
    for role, (key, folds, val) in chosen.items():
        res, other = folds[SHIPPED_FOLD], folds[next(f for f in folds if f != SHIPPED_FOLD)]
        name = res["name"].rsplit("_s", 1)[0]
        blob = Path(models_dir) / f"{name}.ppgw"
        m1, m2 = res["test"]["mae_argmax"], other["test"]["mae_argmax"]
        log(f"[ship] {role}: {res['name']} (validation {val:.3f}; test {m1:.3f} / {m2:.3f}) -> {blob}")
        index["roles"][role] = {"blob": blob.name, "run": res["name"], "validation_mae_mean": round(val, 4),
                                "test_mae": {"1->2": round(m1, 4), "2->1": round(m2, 4)}}
        lines.append(f"| {role} | [`{blob.name}`]({name}.md) | `{res['student']}` | {res['params']['inference']:,} | "
                     f"{m1:.3f} | {m2:.3f} | {(m1 + m2) / 2:.3f} | {val:.3f} |")
        if dry_run or (roles is not None and role not in roles):
            continue
        for old in Path(models_dir).glob("*.json"):      # the role's previous model, when another won
            card = json.loads(old.read_text())
            same_role = str(card.get("role", "")).split(" (")[0] == ROLE_TEXT[role].split(" (")[0]
            if same_role and card.get("blob") != blob.name:
                log(f"[ship] {role}: removing the previous {card['blob']}")
                for suffix in (".ppgw", ".json", ".md"):
                    old.with_suffix(suffix).unlink(missing_ok=True)
        spec = spec_of(res)
        model, _ = DI.run(spec, data, runs_dir, results_dir=None, log=log)
        blob.parent.mkdir(parents=True, exist_ok=True)
        export_module(spec.student, model, blob)
        write_card(blob, res, other, [res["command"] + f" --export models/{blob.name}",
                                      f"PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.ship --role {role}"],
                   role=ROLE_TEXT[role], notes=pulse_notes(res, other) if role == "pulse" else None,
                   extra=pulse_extra(blob.stem) if role == "pulse" else None)
    lines += pulse_pair_table(load_results(results_dir))
    if "small" in index["roles"]:
        index["default"] = index["roles"]["small"]["blob"]
    lines += ["", "The sweep's small model "
              + (f"`{index['default']}`" if "default" in index else "(none)")
              + " was the default until the spectral networks (models/README.md, tools/ppghr_tools/specship.py).", "",
              "Also here: `resnet2_bami1.ppgw`, a from-scratch ResNet1d<2> trained before the sweep (60 epochs, "
              "patience 12; card `resnet2_bami1.md`), kept as the Cortex-M4F example's ResNet model "
              "(examples/mcu).", "",
              "Built in, no blob: the accelerometer-aware spectral estimator (`--model spectral`, "
              "include/ppghr/spectral/): its card is [`spectral.md`](spectral.md) (parameters, accuracy per "
              "data set and decoding, commands).", "",
              "Rebuild: `PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.ship` (after the sweep, "
              "`python3 -m ppghr_tools.sweep`).", ""]
    if not dry_run:
        (Path(models_dir) / "sweep.md").write_text("\n".join(lines))
    return index


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models-dir", default=str(D.REPO / "models"))
    ap.add_argument("--results-dir", default=str(DI.DEFAULT_RESULTS))
    ap.add_argument("--runs-dir", default=str(DI.DEFAULT_RUNS))
    ap.add_argument("--dry-run", action="store_true", help="print the choice only")
    ap.add_argument("--role", action="append", choices=list(ROLES),
                    help="export and write the card of this role only (repeatable; default: every role)")
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    idx = ship(Path(args.models_dir), Path(args.results_dir), Path(args.runs_dir), args.dry_run,
               log=lambda s: print(s, flush=True), roles=args.role)
    return 0 if idx["roles"] else 1


if __name__ == "__main__":
    sys.exit(main())
