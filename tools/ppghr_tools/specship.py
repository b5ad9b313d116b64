"""Ship spectral networks (family specnet): export a run's weights to models/, write its card.

    PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.specship --run specnet2_scratch_bami1-wrist_s0 \\
        --name specnet2_bami1-wrist --role default

Writes models/<name>.ppgw (the blob), models/<name>.json (machine-readable card; tests/cli/
test_shipped_models.sh checks that the C++ tool reproduces its "test" MAE on "test_subset") and
models/<name>.md (the card: recipe, training cost, the recipe's cross-subset and leave-one-data-set-out
results from results/spectrain/*.json, and, when docs/evaluation/summary.json holds the blob (run
`python3 -m ppghr_tools.evaluate` after exporting, then this again), the C++ tool's MAE per data
set raw / online / lag-3 / offline and at 80 / 100% coverage beside the spectral estimator's).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zlib
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from . import archs as A
from . import spectrain as ST

REPO = ST.REPO
MODELS = REPO / "models"
SUMMARY = REPO / "docs" / "evaluation" / "summary.json"
ROLE_TEXT = {
    "default": "the default model (README's main command, scripts/demo.sh, the Cortex-M4F example's spectral network)",
    "large": "the larger spectral network",
}


def _fmt(v, nd=2) -> str:
    return "-" if v is None else f"{v:.{nd}f}"


def _runs_like(spec: dict, **over) -> List[dict]:
    """Finished runs whose spec equals `spec` except for `over` fields and the seed."""
    out = []
    for f in sorted(ST.RESULTS.glob("*.json")):
        r = json.loads(f.read_text())
        s = dict(r["spec"])
        want = dict(spec, **over)
        if all(s.get(k) == want.get(k) for k in want if k not in ("seed", "eval")):
            out.append(r)
    return out


def _seed_table(runs: List[dict], sets: Sequence[str]) -> List[str]:
    lines = ["| evaluated on | seeds | raw | online | lag 3 | offline | online, 80% coverage |", "|---|---:|---:|---:|---:|---:|---:|"]
    for key in sets:
        ms = [r["metrics"][key] for r in runs if key in r["metrics"]]
        if not ms:
            continue
        cells = []
        for m in ("raw", "online", "lag3", "offline", "online_cov80"):
            v = np.array([x[m] for x in ms])
            cells.append(f"{v.mean():.2f} +- {v.std(ddof=1):.2f}" if len(v) > 1 else f"{v[0]:.2f}")
        lines.append(f"| {key} | {len(ms)} | " + " | ".join(cells) + " |")
    return lines


def cpp_table(name: str) -> List[str]:
    """The C++ tool's numbers for blob `name` and the spectral estimator from the evaluation page."""
    if not SUMMARY.is_file():
        return []
    s = json.loads(SUMMARY.read_text())
    lines = ["| data set / group | estimator | raw | online | lag 3 | offline | online 80% | online 100% | constant guess |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    found = False
    for ds_name, ds in s["datasets"].items():
        for g, grp in ds["groups"].items():
            const = grp.get("floors", {}).get("constant")
            for key in (name, "spectral-all", "spectral-ch0"):
                e = grp["estimators"].get(key)
                if not e:
                    continue
                found = found or key == name
                d = e["decodes"]
                on = d.get("online", {})
                cov = on.get("coverage") or {}
                lines.append(f"| {ds_name} / {g} | {'**' + key + '**' if key == name else key} | {_fmt(e.get('mae_raw'))} | "
                             f"{_fmt(on.get('mae'))} | {_fmt(d.get('lag:3', {}).get('mae'))} | "
                             f"{_fmt(d.get('offline', {}).get('mae'))} | {_fmt(cov.get('80'))} | {_fmt(cov.get('100'))} | {_fmt(const)} |")
    return lines if found else []


def ship(run: str, name: str, role: str, test_subset: str, models: Path = MODELS) -> dict:
    import torch
    from .export import export_module
    res = json.loads((ST.RESULTS / f"{run}.json").read_text())
    spec = res["spec"]
    arch = spec["arch"]
    model = ST.build(arch)
    model.load_state_dict(torch.load(ST.RUNS / run / "model.pt"))
    model.eval()
    blob = models / f"{name}.ppgw"
    export_module(arch, model, blob)
    data = blob.read_bytes()
    a = A.get_arch(arch)
    if test_subset not in res["metrics"]:
        raise SystemExit(f"specship: run {run} was not evaluated on {test_subset} (its --eval)")
    test = res["metrics"][test_subset]
    cmd_train = (f"PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.spectrain --arch {arch} --strategy {spec['strategy']}"
                 + (f" --teacher {spec['teacher']}" if spec.get("teacher") else "")
                 + f" --train {spec['train']} --eval {spec['eval']} --seed {spec['seed']}")
    cmd_ship = (f"PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.specship --run {run} --name {name} --role {role} "
                f"--test-subset {test_subset}")
    card = {
        "name": name, "blob": blob.name, "arch": arch, "role": role, "blob_bytes": len(data),
        "blob_crc32": f"0x{zlib.crc32(data[:-4]) & 0xffffffff:08x}", "sha256": hashlib.sha256(data).hexdigest(),
        "fingerprint": f"0x{A.fingerprint(a):016x}", "parameters": {"blob_floats": A.blob_float_count(a)},
        "head": "classes",
        "data": ("the spectral estimator's 6 x 180 features (include/ppghr/spectral/estimator.hpp features() = "
                 "tools/ppghr_tools/spectral.py features()) of every PPG channel + the 3-axis accelerometer, any rate "
                 "-> 25 Hz, band-pass 0.5-4 Hz, no normalisation"),
        "train": spec["train"], "train_subset": spec["train"], "test_subset": test_subset,
        "test_in_training": test_subset in spec["train"].split("+"),
        "validation_recordings": res["val_recordings"], "seed": spec["seed"], "strategy": spec["strategy"],
        "teacher": spec.get("teacher"), "augmentation": spec["aug"],
        "training": {"passes": spec["passes"], "copies": spec["copies"], "batch": spec["batch"], "lr": spec["lr"],
                     "train_windows": res["train_windows"], "train_seconds": res["cost"]["train_s"],
                     "threads": res["cost"]["threads"], "torch": torch.__version__},
        "test": {"windows": test["windows"], "mae_argmax": round(test["raw"], 4), "mae_online": round(test["online"], 4),
                 "mae_offline": round(test["offline"], 4)},
        "validation": {k: v for k, v in res["metrics"]["val"].items() if k != "per_recording_online"},
        "command": cmd_train, "reproduce": [cmd_train, cmd_ship],
    }
    (models / f"{name}.json").write_text(json.dumps(card, indent=1) + "\n")

    base = dict(spec)
    lines = [f"# `{name}.ppgw`: {ROLE_TEXT.get(role, role)}", "",
             "Generated by `" + cmd_ship + "` (do not edit).", "",
             f"- Network: `{arch}` (include/ppghr/models/specnet.hpp `SpecNet<{a.variant}{'' if a.width == 16 else ', ' + str(a.width)}>`, "
             f"in `SpectralNet<C, ...>` for C = 1..4 PPG channels), {A.blob_float_count(a):,} parameters, blob "
             f"{len(data):,} bytes, fingerprint `{card['fingerprint']}`.",
             "- Input: " + card["data"] + ". Without an accelerometer the accelerometer rows are 0 "
             "(the network then runs on the PPG spectra alone).",
             f"- Trained on `{spec['train']}` (recordings held out for validation: {', '.join(res['val_recordings'])}), "
             f"strategy `{spec['strategy']}`" + (f" from `{spec['teacher']}`" if spec.get("teacher") else "") +
             f", seed {spec['seed']}, {spec['passes']} passes over {res['train_windows']:,} augmented windows "
             f"({spec['copies']} copies), Adam one-cycle lr {spec['lr']}, batch {spec['batch']}: "
             f"{res['cost']['train_s']:.0f} s on {res['cost']['threads']} thread(s) of this project's 2-core CPU machine.",
             "- Augmentation (tools/ppghr_tools/spectrain.py `Augment`): " +
             ", ".join(f"{k} {v:g}" for k, v in spec["aug"].items()) + ". The recipe was chosen on validation "
             "(docs/results/specnet/recipes.md), never on a test set.",
             f"- Test on `{test_subset}`" + (" (IN the training data: not a test of generalisation)" if card["test_in_training"] else "")
             + f": raw {test['raw']:.3f}, online {test['online']:.3f}, offline {test['offline']:.3f} BPM "
             "(Python twin; the C++ tool reproduces the raw figure, tests/cli/test_shipped_models.sh).", ""]
    lines += ["## The recipe on data it never saw (Python twin, decoders of post/decode.hpp)", "",
              "Same recipe and architecture, trained without the set it is evaluated on; mean +- sd over seeds.", ""]
    for train, sets in (("bami1", ("bami2", "wrist")), ("bami2", ("bami1", "wrist")), ("bami", ("wrist",))):
        runs = _runs_like(base, train=train, strategy="scratch", teacher=None, tag="")
        if runs:
            lines += [f"Trained on `{train}`:", ""] + _seed_table(runs, sets) + [""]
    cpp = cpp_table(name)
    if cpp:
        lines += ["## The C++ tool on every visible data set (docs/evaluation/)", "",
                  "`PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.evaluate` (ppghr-estimate --eval, every labelled "
                  "window). The rows of data this model was trained on (" + spec["train"] + ") are in-sample.", ""] + cpp + [""]
    lines += ["## Reproduce", "", "```", cmd_train, cmd_ship, "```", ""]
    (models / f"{name}.md").write_text("\n".join(lines))
    return card


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--role", default="default", choices=sorted(ROLE_TEXT))
    ap.add_argument("--test-subset", default="bami2")
    ap.add_argument("--models", default=str(MODELS))
    a = ap.parse_args(argv)
    card = ship(a.run, a.name, a.role, a.test_subset, Path(a.models))
    print(json.dumps({k: card[k] for k in ("name", "arch", "blob_bytes", "test")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
