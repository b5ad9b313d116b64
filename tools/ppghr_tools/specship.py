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
    "default": "the default model (README's main command, scripts/demo.sh; its architecture is the Cortex-M4F example's specnet2)",
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


TEMPERATURES = np.exp(np.linspace(np.log(0.25), np.log(4.0), 41))


def online_confidence(probs: Dict[str, np.ndarray], recs, A) -> tuple:
    """(confidence, correct) over every labelled window: the online posterior's mass within +-5 BPM
    of its argmax, and whether that argmax is within 5 BPM of the reference."""
    from . import decode as dc
    conf, corr = [], []
    for rid, p in probs.items():
        post = dc.forward_filter(dc.likelihoods(p, None), A)
        est = ST.sp.MIN_BPM + post.argmax(axis=1)
        conf.append(dc.posterior_mass_within(post, est))
        corr.append(np.abs(est - recs[rid]["hr"].astype(np.float64)) <= 5.0)
    return np.concatenate(conf), np.concatenate(corr)


def ece(conf: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges) - 1, 0, bins - 1)
    return float(sum(abs(conf[idx == b].mean() - correct[idx == b].mean()) * (idx == b).mean()
                     for b in range(bins) if (idx == b).any()))


def fit_temperature(model, val) -> dict:
    """The temperature T of the logits (folded into head2: logits / T) that minimises the Brier score
    of the online decoder's confidence (mass within +-5 BPM) against correctness (|error| <= 5 BPM)
    on the validation recordings (never a test set)."""
    import torch
    A = ST._prior_matrix()
    model.eval()
    with torch.no_grad():
        logits = {r: torch.cat([model(torch.from_numpy(ST.recording_features(v)))]).double() for r, v in val.items()}
    best = None
    for T in TEMPERATURES:
        probs = {r: torch.softmax(z / T, dim=1).numpy() for r, z in logits.items()}
        c, k = online_confidence(probs, val, A)
        brier = float(((c - k) ** 2).mean())
        if best is None or brier < best["brier"]:
            best = dict(T=float(T), brier=brier, ece=ece(c, k))
    probs = {r: torch.softmax(z, dim=1).numpy() for r, z in logits.items()}
    c, k = online_confidence(probs, val, A)
    best.update(brier_T1=float(((c - k) ** 2).mean()), ece_T1=ece(c, k))
    return best


def fold_temperature(model, T: float) -> None:
    import torch
    with torch.no_grad():
        model.head2.weight.div_(T)
        model.head2.bias.div_(T)


def ship(run: str, name: str, role: str, test_subset: str, models: Path = MODELS) -> dict:
    import torch
    from .export import export_module
    res = json.loads((ST.RESULTS / f"{run}.json").read_text())
    spec = res["spec"]
    arch = spec["arch"]
    model = ST.build(arch)
    model.load_state_dict(torch.load(ST.RUNS / run / "model.pt"))
    model.eval()
    # confidence: the temperature fitted on the run's validation recordings, folded into the head
    tr_recs, val_recs = ST.training_data(ST.RunSpec(train=spec["train"], val_fraction=spec["val_fraction"]), False)
    if sorted(val_recs) != sorted(res["val_recordings"]):
        raise SystemExit("specship: the validation split differs from the run's")
    temp = fit_temperature(model, val_recs)
    fold_temperature(model, temp["T"])
    A_ = ST._prior_matrix()
    metrics = {"val": ST.decode_metrics(ST.predict_probs(model, val_recs), val_recs, A_)}
    conf_ece = {}
    for key in [e for e in spec["eval"].split(",") if e]:
        recs = ST.select(key, False)
        probs = ST.predict_probs(model, recs)
        metrics[key] = ST.decode_metrics(probs, recs, A_)
        c, k = online_confidence(probs, recs, A_)
        conf_ece[key] = round(ece(c, k), 4)
    res = dict(res, metrics=metrics)
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
        "wrist": {k: res["metrics"]["wrist"][k] for k in ("raw", "online", "lag3", "offline", "online_cov80")}
        if "wrist" in res["metrics"] else None,
        "temperature": {k: round(v, 4) for k, v in temp.items()},
        "online_confidence_ece": conf_ece,
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
             f"- Confidence: the logits are divided by T = {temp['T']:.3f} (folded into head2), the temperature that "
             f"minimises the Brier score of the online decoder's confidence (posterior mass within +-5 BPM) on the "
             f"validation recordings (Brier {temp['brier_T1']:.4f} -> {temp['brier']:.4f}, ECE {temp['ece_T1']:.3f} -> "
             f"{temp['ece']:.3f} there); ECE of the online confidence on the evaluated sets: "
             + ", ".join(f"{k} {v:.3f}" for k, v in conf_ece.items()) + ". The numbers below are with T folded in.",
             f"- Test on `{test_subset}`" + (" (IN the training data: not a test of generalisation)" if card["test_in_training"] else "")
             + f": raw {test['raw']:.3f}, online {test['online']:.3f}, offline {test['offline']:.3f} BPM "
             "(Python twin; the C++ tool reproduces the raw figure, tests/cli/test_shipped_models.sh).", ""]
    mcu = REPO / "docs" / "mcu-footprint.md"
    if mcu.is_file():
        rows = [l for l in mcu.read_text().splitlines() if l.startswith(f"| {arch} | Os |")]
        if len(rows) >= 2:
            size, instr = [c.strip() for c in rows[0].split("|")], [c.strip() for c in rows[1].split("|")]
            lines.insert(len(lines) - 1, f"- Cortex-M4F (docs/mcu-footprint.md, `SpectralNet<1, SpecNet<...>>` + the online "
                         f"filter, -Os): flash {size[7]}, RAM {size[12]}, {instr[5]} instructions per window (one "
                         "window every 2 s). Host cost: README \"Benchmarks\" (`BM_specnet`).")
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


def _pulse_blob(models: Path) -> str:
    """The shipped PULSE student's blob name (its card's role, written by ship.py)."""
    for p in sorted(models.glob("*.json")):
        c = json.loads(p.read_text())
        if str(c.get("role", "")).startswith("the PULSE student"):
            return c["blob"]
    return "(none)"


def write_index(models: Path = MODELS) -> str:
    """models/README.md (the shipped spectral networks, the default) and models/DEFAULT."""
    cards = []
    for p in sorted(models.glob("*.json")):
        c = json.loads(p.read_text())
        if str(c.get("arch", "")).startswith("specnet") and c.get("role") in ROLE_TEXT:
            cards.append(c)
    cards.sort(key=lambda c: list(ROLE_TEXT).index(c["role"]))
    lines = ["# Shipped models (generated by tools/ppghr_tools/specship.py --index; do not edit)", "",
             "The spectral networks (include/ppghr/models/specnet.hpp: a fully-convolutional network over the "
             "spectral estimator's features of every PPG channel and the accelerometer). Their recipe was chosen "
             "on validation (held-out recordings of the training data, and `wrist` left out: "
             "docs/results/specnet/recipes.md); each card gives the recipe's results on data it never saw and "
             "the C++ tool's numbers on every visible data set (docs/evaluation/).", "",
             "| role | model | architecture | parameters | blob bytes | trained on | BAMI-2 raw / online / offline (test) | wrist raw / online / offline |",
             "|---|---|---|---:|---:|---|---|---|"]
    default = None
    for c in cards:
        t = c["test"]
        lines.append(f"| {c['role']} | [`{c['blob']}`]({c['name']}.md) | `{c['arch']}` | {c['parameters']['blob_floats']:,} | "
                     f"{c['blob_bytes']:,} | {c['train']} | {t['mae_argmax']:.2f} / {t['mae_online']:.2f} / {t['mae_offline']:.2f} | "
                     + (" / ".join(f"{c['wrist'][k]:.2f}" for k in ("raw", "online", "offline")) if c.get("wrist") else "-")
                     + (" (in training)" if "wrist" in c["train"].split("+") else " (never trained on)") + " |")
        if c["role"] == "default":
            default = c["blob"]
    lines += ["", "Default (README's main command, scripts/demo.sh): " + (f"`{default}`" if default else "none"), "",
              "Also here, from the time-domain distillation sweep (one PPG channel, per-window z-score; "
              "[sweep.md](sweep.md), tools/ppghr_tools/ship.py): `mlp2_dkd_from_resnet12_bami1.ppgw`, "
              f"`resnet6_scratch_bami1.ppgw`, `{_pulse_blob(models)}` (the PULSE "
              "student), and `resnet2_bami1.ppgw` (the Cortex-M4F example's ResNet).", "",
              "Built in, no blob: the accelerometer-aware spectral estimator (`--model spectral`): "
              "[`spectral.md`](spectral.md).", "",
              "int8 twins of the shipped models (`ppghr::Int8Net`, docs/int8.md, their accuracy beside the float "
              "models' there): [`int8/`](int8/README.md).", ""]
    (models / "README.md").write_text("\n".join(lines))
    if default:
        (models / "DEFAULT").write_text(default + "\n")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run")
    ap.add_argument("--name")
    ap.add_argument("--index", action="store_true", help="only rewrite models/README.md and models/DEFAULT")
    ap.add_argument("--role", default="default", choices=sorted(ROLE_TEXT))
    ap.add_argument("--test-subset", default="bami2")
    ap.add_argument("--models", default=str(MODELS))
    a = ap.parse_args(argv)
    if a.index:
        print(write_index(Path(a.models)))
        return 0
    if not (a.run and a.name):
        ap.error("--run and --name are required (or --index)")
    card = ship(a.run, a.name, a.role, a.test_subset, Path(a.models))
    print(json.dumps({k: card[k] for k in ("name", "arch", "blob_bytes", "test")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
