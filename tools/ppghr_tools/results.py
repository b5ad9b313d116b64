"""Build docs/results/ from the sweep's result files (results/runs/*.json). Generated, never edited.

    PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.results [--results-dir results/runs] [--out docs/results]

Writes
  README.md      the tables: strategy table (student x strategy, 12-block teacher or the largest
                 teacher with results; both folds and their mean), the teacher x student tables
                 behind the heatmap, the fitted MAE-vs-parameters curves (formula, parameters,
                 R^2), ResNet vs MLP, PULSE, every finished run, and the runs still missing
  heatmap.png    teacher x student two-fold mean MAE, one panel per distillation strategy
  curves.png     MAE vs parameters per strategy (ResNet students), with the fitted exponentials
  resnet_vs_mlp.png   ResNet and MLP students at matching parameter budgets
  summary.json   the same numbers, machine-readable
  per_recording.csv  test MAE (argmax, weighted) of every recording in every finished run
The README also has a "Shipped models" section: each model card (models/*.json: arch, parameters,
blob bytes, test MAE of both folds) beside the C++ latency (us/window), windows/s and RAM (network
object bytes) of its architecture from results/bench/shipped.json, and the Cortex-M4F flash, RAM and
instructions from docs/mcu-footprint.md where that page has the architecture. Refresh the benchmark
numbers (after a model ships, or when the kernels change) with

    nice -n 5 cmake --build build -j1 --target ppghr_bench
    PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.bench_shipped     # writes results/bench/shipped.json

(tools/ppghr_tools/bench_shipped.py; an architecture without numbers shows "-" and the command).
Works with partial results: a cell whose runs have not finished shows "-", a mean needs both folds
(a single fold is shown with its fold marked), and the missing runs are listed.

Fold names: "1->2" = trained on BAMI-1, tested on BAMI-2; "2->1" the reverse. MAE is of the argmax
heart rate (the study's metric), in BPM, on the test subset (every labelled window).
Parameter counts are networks.md's inference counts (ResNet: without the unused dense2; the
papers' counts, which include it, are in the run table).

Fit: MAE(p) = a + b * exp(-c * p), p = inference parameters in thousands, fitted with
scipy.optimize.curve_fit to the two-fold mean MAE of each student size (only sizes with both
folds); R^2 = 1 - SS_res / SS_tot over the same points. With 4 sizes and 3 parameters the fit has 1
degree of freedom: R^2 is then close to 1 almost by construction, which the table states (n, dof).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import sys
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import bench_shipped as BS
from . import data as D
from . import sweep_plan as SP

GENERATOR = "tools/ppghr_tools/results.py"
FOLD_KEYS = ("bami1", "bami2")          # training subset
FOLD_LABEL = {"bami1": "1->2", "bami2": "2->1"}
KD = ("hard", "soft", "dkd", "feature")
STRATS = ("scratch",) + KD
# Arora et al. 2025, 12-block teacher (issue 6), for comparison (their data, not ours)
PAPER = {"resnet1": {"hard": 11.734, "soft": 10.380, "dkd": 8.899, "feature": 9.397},
         "resnet2": {"hard": 10.418, "soft": 7.703, "dkd": 6.772, "feature": 7.200},
         "resnet6": {"hard": 6.983, "soft": 6.801, "dkd": 6.291, "feature": 6.800},
         "resnet10": {"hard": 6.493, "soft": 6.327, "dkd": 5.759, "feature": 6.409}}


def load_results(results_dir: Path) -> Dict[str, dict]:
    out = {}
    for p in sorted(Path(results_dir).glob("*.json")):
        try:
            r = json.loads(p.read_text())
        except json.JSONDecodeError:
            continue
        out[r.get("name", p.stem)] = r
    return out


def _blocks(arch: str) -> int:
    return int(arch.replace("resnet", "")) if arch.startswith("resnet") else 0


def _fmt(v: Optional[float], nd: int = 3) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{nd}f}"


class Table:
    """Lookup of test MAE by (student, strategy, teacher, fold)."""

    def __init__(self, res: Dict[str, dict]):
        self.res = res
        self.idx: Dict[Tuple[str, str, Optional[str], str], dict] = {}
        for r in res.values():
            self.idx[(r["student"], r["strategy"], r.get("teacher"), r["train_subset"])] = r

    def get(self, student, strategy, teacher, fold) -> Optional[dict]:
        return self.idx.get((student, strategy, None if strategy == "scratch" else teacher, fold))

    def mae(self, student, strategy, teacher, fold, key="mae_argmax") -> Optional[float]:
        r = self.get(student, strategy, teacher, fold)
        return None if r is None else float(r["test"][key])

    def folds(self, student, strategy, teacher, key="mae_argmax") -> Tuple[Optional[float], Optional[float], Optional[float]]:
        a = self.mae(student, strategy, teacher, "bami1", key)
        b = self.mae(student, strategy, teacher, "bami2", key)
        return a, b, (None if a is None or b is None else (a + b) / 2)

    def cell(self, student, strategy, teacher, bold=False) -> str:
        a, b, m = self.folds(student, strategy, teacher)
        if m is not None:
            s = f"{m:.3f}"
            s = f"**{s}**" if bold else s
            return f"{s} ({a:.3f} / {b:.3f})"
        if a is not None:
            return f"{a:.3f} (1->2 only)"
        if b is not None:
            return f"{b:.3f} (2->1 only)"
        return "-"


def fit_exponential(p_k: np.ndarray, mae: np.ndarray) -> Optional[dict]:
    """MAE = a + b exp(-c p), p in thousands of parameters. None with fewer than 3 points."""
    from scipy.optimize import curve_fit
    n = len(p_k)
    if n < 3:
        return None

    def f(p, a, b, c):
        return a + b * np.exp(-c * p)

    p0 = (float(mae.min()), float(mae.max() - mae.min()) or 1.0, 1.0 / float(np.median(p_k)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            popt, _ = curve_fit(f, p_k, mae, p0=p0, bounds=([-np.inf, -np.inf, 0.0], [np.inf, np.inf, np.inf]),
                                maxfev=20000)
    except (RuntimeError, ValueError) as e:
        return {"n": n, "error": str(e)}
    pred = f(p_k, *popt)
    ss_res = float(np.sum((mae - pred) ** 2))
    ss_tot = float(np.sum((mae - mae.mean()) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")
    return {"a": float(popt[0]), "b": float(popt[1]), "c": float(popt[2]), "r2": r2, "n": n, "dof": n - 3,
            "rmse": math.sqrt(ss_res / n)}


def _plan_names(specs) -> List[str]:
    return [s.name for s in specs]


COLORS = dict(zip(STRATS, ("black", "tab:orange", "tab:green", "tab:red", "tab:blue")))


@dataclasses.dataclass
class Page:
    """What every section of the page reads: the results, the plan's groups and the main teacher;
    ``summary`` collects summary.json in section order."""
    res: Dict[str, dict]
    T: Table
    specs: list
    shown_dir: str
    out_dir: Path
    planned: List[str]
    missing: List[str]
    extra: List[str]
    kd_specs: list
    students: List[str]
    mlps: List[str]
    teachers: List[str]
    main_teacher: Optional[str]
    params: Dict[str, dict]
    summary: dict

    def p_inf(self, arch: str) -> int:
        """Inference parameter count: from a result file, else computed (distill.param_counts)."""
        if arch not in self.params:
            from .distill import param_counts
            self.params[arch] = param_counts(arch)
        return self.params[arch]["inference"]

    @property
    def finished_names(self) -> List[str]:
        return [n for n in self.planned if n in self.res] + self.extra


def _page(results_dir: Path, out_dir: Path, specs, main_teacher: Optional[str]) -> Page:
    res = load_results(Path(results_dir))
    try:
        shown_dir = Path(results_dir).resolve().relative_to(D.REPO).as_posix()
    except ValueError:
        shown_dir = Path(results_dir).name
    planned = _plan_names(specs)
    missing = [n for n in planned if n not in res]
    extra = sorted(n for n in res if n not in planned)
    kd_specs = [s for s in specs if s.strategy in KD]
    students = sorted({s.student for s in specs if s.student.startswith("resnet") and s.strategy != "scratch"},
                      key=_blocks)
    mlps = sorted({s.student for s in specs if s.student.startswith("mlp")})
    teachers = sorted({s.teacher for s in kd_specs if s.teacher and s.teacher.startswith("resnet")}, key=_blocks)
    # main teacher: requested, else the largest teacher with any finished KD result, else the largest planned
    if main_teacher is None:
        with_res = [t for t in teachers if any(r.get("teacher") == t for r in res.values())]
        main_teacher = (with_res or teachers or [None])[-1]
    params = {r["student"]: r["params"] for r in res.values()}
    summary: dict = {"generated_by": GENERATOR, "results_dir": shown_dir, "finished": len(planned) - len(missing),
                     "planned": len(planned), "missing": missing, "not_in_plan": extra, "main_teacher": main_teacher}
    return Page(res, Table(res), list(specs), shown_dir, Path(out_dir), planned, missing, extra, kd_specs, students,
                mlps, teachers, main_teacher, params, summary)


def header_section(pg: Page, title_note: Optional[str] = None) -> List[str]:
    """Title, how to rebuild and reproduce, what the cells mean, the training recipe."""
    res, shown_dir, planned, missing = pg.res, pg.shown_dir, pg.planned, pg.missing
    L: List[str] = []
    L.append(f"# Distillation results (generated by {GENERATOR} from {shown_dir}/*.json; do not edit)")
    L.append("")
    if title_note:
        L += [f"**{title_note}**", ""]
    L.append(f"Finished runs: **{len(planned) - len(missing)} of {len(planned)}** planned "
             f"(tools/ppghr_tools/sweep.py); missing runs are listed at the end. Rebuild with "
             f"`PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.results`.")
    L.append("")
    L.append("Reproduce: `PYTHONPATH=tools nice -n 15 /usr/bin/python3 -m ppghr_tools.sweep` runs (or resumes) every "
             "run and skips finished ones (one process per core is fine: runs are locked); each result file's "
             "`command` reruns that run alone (ppghr_tools.distill); `python3 -m ppghr_tools.sweep --quick` is "
             "the tiny end-to-end check; then `python3 -m ppghr_tools.results` rebuilds this page.")
    L.append("")
    L.append("MAE = mean absolute error of the argmax heart rate in BPM over every labelled test window. "
             "Cells: two-fold mean (1->2 / 2->1), where 1->2 = trained on BAMI-1 (validation: whole "
             "recordings of it), tested on BAMI-2. Parameters: inference count (networks.md).")
    L.append("")
    if res:
        r0 = next(iter(res.values()))
        L.append(f"Training (every run): Adam lr {r0['lr']}, batch {r0['batch_size']}, at most {r0['epochs_max']} epochs, "
                 f"early stopping patience {r0['patience']} on the validation MAE, seed {r0['seed']}, "
                 f"{r0.get('threads', 1)} CPU thread(s); losses and their hyperparameters in tools/ppghr_tools/losses.py.")
        L.append("")

    L.append("**The study redone on the spectral networks** (the spectral estimator's features of every PPG "
             "channel and the accelerometer; 3 seeds per cell, BAMI cross-subset and the `wrist` data set; "
             "tools/ppghr_tools/spectrain.py): [specnet/study.md](specnet/study.md); how their training recipe was "
             "chosen: [specnet/recipes.md](specnet/recipes.md); fusion with the spectral estimator's likelihood: "
             "[specnet/fusion.md](specnet/fusion.md). This page is the time-domain study (one PPG channel).")
    L.append("")
    return L


def strategy_section(pg: Page) -> List[str]:
    """Student x strategy from the main teacher, the ranking, the paper's numbers."""
    T, students, main_teacher, p_inf, summary = pg.T, pg.students, pg.main_teacher, pg.p_inf, pg.summary
    L: List[str] = []
    L.append(f"## Strategy table (teacher: {main_teacher or '-'})")
    L.append("")
    teacher_line = []
    if main_teacher:
        ta, tb, tm = T.folds(main_teacher, "scratch", None)
        teacher_line = [f"Teacher `{main_teacher}` from scratch: {_fmt(tm)} ({_fmt(ta)} / {_fmt(tb)})."]
    L += teacher_line + [""] if teacher_line else []
    L.append("| student | params | scratch | hard | soft | dkd | feature | best distilled |")
    L.append("|---|---|---|---|---|---|---|---|")
    strat_tab = {}
    for st_arch in students:
        means = {s: T.folds(st_arch, s, main_teacher)[2] for s in STRATS}
        kd_means = {s: v for s, v in means.items() if s in KD and v is not None}
        best = min(kd_means, key=kd_means.get) if kd_means else None
        cells = [T.cell(st_arch, s, main_teacher, bold=(s == best)) for s in STRATS]
        sc = means["scratch"]
        verdict = "-"
        if best is not None:
            verdict = f"{best} {kd_means[best]:.3f}"
            if sc is not None:
                verdict += f" ({kd_means[best] - sc:+.3f} vs scratch)"
        L.append(f"| {st_arch} | {p_inf(st_arch):,} | " + " | ".join(cells) + f" | {verdict} |")
        strat_tab[st_arch] = {s: dict(zip(("1->2", "2->1", "mean"), T.folds(st_arch, s, main_teacher))) for s in STRATS}
        strat_tab[st_arch]["best_distilled"] = best
    summary["strategy_table"] = strat_tab
    L.append("")
    # ranks
    rank_lines = []
    for st_arch in students:
        kd_means = {s: T.folds(st_arch, s, main_teacher)[2] for s in KD}
        kd_means = {s: v for s, v in kd_means.items() if v is not None}
        if len(kd_means) == len(KD):
            order = sorted(kd_means, key=kd_means.get)
            sc = T.folds(st_arch, "scratch", None)[2]
            beat = [s for s in KD if sc is not None and kd_means[s] < sc]
            rank_lines.append(f"- {st_arch}: " + " < ".join(f"{s} {kd_means[s]:.3f}" for s in order)
                              + (f"; scratch {sc:.3f}; beat scratch: {', '.join(beat) or 'none'}" if sc is not None else ""))
    if rank_lines:
        L += ["Ranking of the distillation strategies (two-fold mean MAE, lower is better):", ""] + rank_lines + [""]
    L.append("For comparison, the study (Arora et al. 2025, 12-block teacher, their data and split, one number per cell):")
    L.append("")
    L.append("| student | hard | soft | dkd | feature |")
    L.append("|---|---|---|---|---|")
    for k, v in PAPER.items():
        L.append(f"| {k} | " + " | ".join(f"{v[s]:.3f}" for s in KD) + " |")
    L.append("")
    return L


def mlp_section(pg: Page) -> List[str]:
    """The MLP students' strategy table."""
    T, mlps, main_teacher, p_inf = pg.T, pg.mlps, pg.main_teacher, pg.p_inf
    L: List[str] = []
    if mlps:
        L.append(f"## MLP students (teacher: {main_teacher or '-'})")
        L.append("")
        L.append("| student | params | scratch | hard | soft | dkd | feature |")
        L.append("|---|---|---|---|---|---|---|")
        for m in mlps:
            L.append(f"| {m} | {p_inf(m):,} | " + " | ".join(T.cell(m, s, main_teacher) for s in STRATS) + " |")
        L.append("")
    return L


def heatmap_section(pg: Page) -> List[str]:
    """Teacher x student two-fold means per strategy (heatmap.png) and their tables."""
    T, students, teachers, kd_specs, main_teacher = pg.T, pg.students, pg.teachers, pg.kd_specs, pg.main_teacher
    out_dir, summary = pg.out_dir, pg.summary
    import matplotlib.pyplot as plt
    L: List[str] = []
    heat = {}
    # a panel per strategy the plan distils from more than one teacher (the default plan: dkd only)
    # (a plan with a single teacher, e.g. --quick: every strategy, one row each)
    heat_strats = [st for st in KD if len({s.teacher for s in kd_specs if s.strategy == st
                                           and s.student in students}) > 1] or list(KD)
    if teachers and students and heat_strats:
        fig, axes = plt.subplots(1, len(heat_strats), figsize=(4.2 * len(heat_strats) + 1.0, 3.8), squeeze=False)
        for j, st in enumerate(heat_strats):
            M = np.full((len(teachers), len(students)), np.nan)
            for a, t in enumerate(teachers):
                for b, s in enumerate(students):
                    m = T.folds(s, st, t)[2]
                    if m is not None:
                        M[a, b] = m
            heat[st] = {t: {s: (None if np.isnan(M[a, b]) else float(M[a, b])) for b, s in enumerate(students)}
                        for a, t in enumerate(teachers)}
            ax = axes[0, j]
            finite = M[np.isfinite(M)]
            im = ax.imshow(np.ma.masked_invalid(M), cmap="viridis_r", aspect="auto",
                           vmin=finite.min() if finite.size else 0, vmax=finite.max() if finite.size else 1)
            ax.set_facecolor("#dddddd")
            for a in range(len(teachers)):
                for b in range(len(students)):
                    ax.text(b, a, "-" if np.isnan(M[a, b]) else f"{M[a, b]:.2f}", ha="center", va="center",
                            color="white" if np.isfinite(M[a, b]) and finite.size
                            and M[a, b] > (finite.min() + finite.max()) / 2 else "black",
                            fontsize=9)
            ax.set_xticks(range(len(students)))
            ax.set_xticklabels([s.replace("resnet", "") for s in students])
            ax.set_yticks(range(len(teachers)))
            ax.set_yticklabels([t.replace("resnet", "") for t in teachers])
            ax.set_xlabel("student blocks")
            if j == 0:
                ax.set_ylabel("teacher blocks")
            ax.set_title(f"{st}: two-fold mean MAE")
            if finite.size:
                fig.colorbar(im, ax=ax, fraction=0.046)
        fig.text(0.005, 0.005, f"generated by {GENERATOR}; '-' = not finished", fontsize=7)
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        fig.savefig(out_dir / "heatmap.png", dpi=90)
        plt.close(fig)
        L.append("## Teacher x student (heatmap.png)")
        L.append("")
        L.append("![teacher x student heatmap](heatmap.png)")
        L.append("")
        others = [st for st in KD if st not in heat_strats]
        if others:
            L.append(f"Strategies {', '.join(others)} are distilled from the {main_teacher} teacher only in this plan "
                     "(the strategy table); `python3 -m ppghr_tools.sweep --full` adds them for every teacher.")
            L.append("")
        for st in heat_strats:
            L.append(f"{st}, two-fold mean MAE (rows: teacher blocks, columns: student blocks):")
            L.append("")
            L.append("| teacher | " + " | ".join(s.replace("resnet", "") for s in students) + " |")
            L.append("|---|" + "---|" * len(students))
            for t in teachers:
                L.append(f"| {t.replace('resnet', '')} | " + " | ".join(_fmt(heat[st][t][s]) for s in students) + " |")
            L.append("| scratch (no teacher) | " + " | ".join(_fmt(T.folds(s, "scratch", None)[2]) for s in students)
                     + " |")
            L.append("")
    summary["heatmap"] = heat
    return L


def curves_section(pg: Page) -> List[str]:
    """MAE vs parameters of the ResNet students (curves.png) and the fitted exponentials."""
    T, students, main_teacher, p_inf = pg.T, pg.students, pg.main_teacher, pg.p_inf
    out_dir, summary, colors = pg.out_dir, pg.summary, COLORS
    import matplotlib.pyplot as plt
    L: List[str] = []
    fits = {}
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    grid = None
    for s in STRATS:
        pts = [(p_inf(a), T.folds(a, s, main_teacher)) for a in students]
        full = [(p, f[2]) for p, f in pts if f[2] is not None]
        singles = [(p, v) for p, f in pts for v in f[:2] if v is not None]
        if singles:
            ax.scatter([p for p, _ in singles], [v for _, v in singles], color=colors[s], alpha=0.25, s=14)
        if full:
            ax.plot([p for p, _ in full], [v for _, v in full], "o", color=colors[s], label=s)
        fit = fit_exponential(np.array([p / 1000 for p, _ in full], float), np.array([v for _, v in full], float)) \
            if len(full) >= 3 else None
        fits[s] = fit if fit else {"n": len(full), "error": "fewer than 3 student sizes with both folds"}
        if fit and "a" in fit:
            lo, hi = min(p for p, _ in full), max(p for p, _ in full)
            grid = np.geomspace(lo * 0.8, hi * 1.25, 200)
            ax.plot(grid, fit["a"] + fit["b"] * np.exp(-fit["c"] * grid / 1000), "-", color=colors[s], lw=1)
    ax.set_xscale("log")
    ax.set_xlabel("parameters (inference count)")
    ax.set_ylabel("test MAE (BPM), two-fold mean")
    ax.set_title(f"ResNet students vs size (teacher {main_teacher}); lines: a + b exp(-c p)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    ax.text(0.0, -0.16, f"generated by {GENERATOR}; faint points: single folds", transform=ax.transAxes, fontsize=7)
    fig.tight_layout()
    fig.savefig(out_dir / "curves.png", dpi=90)
    plt.close(fig)
    summary["fits"] = fits
    L.append("## MAE vs parameters (curves.png)")
    L.append("")
    L.append("![MAE vs parameters](curves.png)")
    L.append("")
    L.append("Fit: MAE(p) = a + b * exp(-c * p), p in thousands of inference parameters, least squares "
             "(scipy.optimize.curve_fit) on the two-fold means of the ResNet students; n points, dof = n - 3.")
    L.append("")
    L.append("| strategy | fitted curve (p in K params) | a (BPM) | b (BPM) | c (1/K) | R^2 | RMSE | n | dof |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for s in STRATS:
        f = fits[s]
        if "a" in f:
            f["formula"] = f"MAE = {f['a']:.3f} + {f['b']:.3f} * exp(-{f['c']:.4g} * p)"
            L.append(f"| {s} | {f['formula']} | {f['a']:.3f} | {f['b']:.3f} | {f['c']:.4g} | {f['r2']:.4f} | "
                     f"{f['rmse']:.3f} | {f['n']} | {f['dof']} |")
        else:
            L.append(f"| {s} | not fitted: {f.get('error', '')[:80]} | - | - | - | - | - | {f['n']} | - |")
    L.append("")
    return L


def resnet_vs_mlp_section(pg: Page) -> List[str]:
    """ResNet and MLP students at matching budgets (resnet_vs_mlp.png)."""
    T, students, mlps, main_teacher, p_inf = pg.T, pg.students, pg.mlps, pg.main_teacher, pg.p_inf
    out_dir, summary, colors = pg.out_dir, pg.summary, COLORS
    import matplotlib.pyplot as plt
    L: List[str] = []
    pairs = list(zip(students, mlps)) if mlps else []
    rvm = {}
    if pairs:
        fig, ax = plt.subplots(figsize=(7.5, 4.8))
        for s in STRATS:
            for fam, archs_, mk in (("ResNet", [a for a, _ in pairs], "o-"), ("MLP", [m for _, m in pairs], "s--")):
                pts = [(p_inf(a), T.folds(a, s, main_teacher)[2]) for a in archs_]
                pts = [(p, v) for p, v in pts if v is not None]
                if pts:
                    ax.plot([p for p, _ in pts], [v for _, v in pts], mk, color=colors[s],
                            label=f"{fam} {s}", alpha=1.0 if fam == "ResNet" else 0.6)
        ax.set_xscale("log")
        ax.set_xlabel("parameters (inference count)")
        ax.set_ylabel("test MAE (BPM), two-fold mean")
        ax.set_title("ResNet (solid) vs MLP (dashed) students at matching budgets")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, ncol=2)
        ax.text(0.0, -0.16, f"generated by {GENERATOR}", transform=ax.transAxes, fontsize=7)
        fig.tight_layout()
        fig.savefig(out_dir / "resnet_vs_mlp.png", dpi=90)
        plt.close(fig)
        L.append("## ResNet vs MLP (resnet_vs_mlp.png)")
        L.append("")
        L.append("![ResNet vs MLP](resnet_vs_mlp.png)")
        L.append("")
        L.append("Two-fold mean MAE, ResNet / MLP (the MLP widths match the ResNet students' parameter budgets, models.py):")
        L.append("")
        L.append("| budget | " + " | ".join(STRATS) + " |")
        L.append("|---|" + "---|" * len(STRATS))
        for a, m in pairs:
            row = []
            rvm[f"{a}/{m}"] = {}
            for s in STRATS:
                ra, rm = T.folds(a, s, main_teacher)[2], T.folds(m, s, main_teacher)[2]
                rvm[f"{a}/{m}"][s] = {"resnet": ra, "mlp": rm}
                if ra is None and rm is None:
                    row.append("-")
                else:
                    mark = ""
                    if ra is not None and rm is not None:
                        mark = " (ResNet better)" if ra < rm else " (MLP better)"
                    row.append(f"{_fmt(ra)} / {_fmt(rm)}{mark}")
            L.append(f"| {a} ({p_inf(a):,}) / {m} ({p_inf(m):,}) | " + " | ".join(row) + " |")
        L.append("")
    summary["resnet_vs_mlp"] = rvm
    return L


def pulse_section(pg: Page) -> List[str]:
    """The PULSE runs of the plan."""
    T, res, specs, p_inf = pg.T, pg.res, pg.specs, pg.p_inf
    L: List[str] = []
    pulse = [r for r in res.values() if r.get("family") == "pulse"]
    if pulse or any(s.student.startswith("pulse") for s in specs):
        L.append("## PULSE (PPG + ACC at 32 Hz, regression head)")
        L.append("")
        L.append("| network | strategy | params | 1->2 | 2->1 | mean | validation MAE (BAMI-1 / BAMI-2, in-subset) |")
        L.append("|---|---|---|---|---|---|---|")
        seen = set()
        for s in specs:
            if not s.student.startswith("pulse"):
                continue
            key = (s.student, s.strategy, s.teacher)
            if key in seen:
                continue
            seen.add(key)
            a, b, m = T.folds(s.student, s.strategy, s.teacher)
            vals = [T.get(s.student, s.strategy, s.teacher, f) for f in FOLD_KEYS]
            val = " / ".join(_fmt(r["best_val_mae"] if r else None) for r in vals)
            L.append(f"| {s.student} | {s.strategy}{' from ' + s.teacher if s.teacher else ''} | {p_inf(s.student):,} | "
                     f"{_fmt(a)} | {_fmt(b)} | {_fmt(m)} | {val} |")
        L.append("")
        L.append("MAE of the regressed BPM. Input rows PPG channel 0, ACC x, y, z, 32 Hz, no band-pass, normalised "
                 "with the training windows' global (mean, std) per row (stored in the blob): PULSE's published "
                 "front end. It does far better inside a subset (validation MAE: whole held-out recordings of the training "
                 "subset) and fails across them: BAMI1_01..24 PPG is 16-bit with a large DC level, BAMI1_25 and "
                 "BAMI-2 are 12-bit (../shared/data/bami/README.md), and raw units with one global scale do not "
                 "carry over. The ResNet / MLP front end (per-window z-score) is immune to this.")
        L.append("")
    return L


def runs_section(pg: Page) -> List[str]:
    """Every finished run."""
    res = pg.res
    L: List[str] = []
    L.append("## Every finished run")
    L.append("")
    L.append("| run | params (inference / papers') | epochs (best) | val MAE | test MAE argmax | weighted | train s |")
    L.append("|---|---|---|---|---|---|---|")
    for name in pg.finished_names:
        r = res[name]
        p = r["params"]
        L.append(f"| {name} | {p['inference']:,} / {p['paper']:,} | {r['epochs_run']} ({r['best_epoch']}) | "
                 f"{r['best_val_mae']:.3f} | {r['test']['mae_argmax']:.3f} | {r['test']['mae_weighted']:.3f} | "
                 f"{r['train_seconds']:.0f} |")
    L.append("")
    return L


def missing_section(pg: Page) -> List[str]:
    """The planned runs without a result."""
    planned, missing = pg.planned, pg.missing
    L: List[str] = []
    L.append(f"## Missing runs ({len(missing)} of {len(planned)})")
    L.append("")
    if missing:
        L.append("Not finished yet (rerun `PYTHONPATH=tools nice -n 15 /usr/bin/python3 -m ppghr_tools.sweep`; "
                 "it skips the finished ones):")
        L.append("")
        L.append(", ".join(f"`{n}`" for n in missing))
    else:
        L.append("None: the sweep is complete.")
    L.append("")
    return L


def build(results_dir: Path, out_dir: Path, specs=None, title_note: Optional[str] = None,
          main_teacher: Optional[str] = None, log=print, models_dir: Optional[Path] = None,
          bench_path: Optional[Path] = None, mcu_path: Optional[Path] = None) -> dict:
    """Write README.md, summary.json, per_recording.csv and the figures into out_dir (module docstring);
    returns the summary."""
    import matplotlib
    matplotlib.use("Agg")

    pg = _page(results_dir, out_dir, SP.plan() if specs is None else specs, main_teacher)
    pg.out_dir.mkdir(parents=True, exist_ok=True)
    L = header_section(pg, title_note) + strategy_section(pg) + mlp_section(pg)
    L += heatmap_section(pg) + curves_section(pg) + resnet_vs_mlp_section(pg) + pulse_section(pg)
    # shipped models (defaults: models/, results/bench/shipped.json, docs/mcu-footprint.md)
    shipped_lines, pg.summary["shipped"] = shipped_section(
        Path(models_dir) if models_dir else D.REPO / "models",
        Path(bench_path) if bench_path else D.REPO / "results" / "bench" / "shipped.json",
        Path(mcu_path) if mcu_path else D.REPO / "docs" / "mcu-footprint.md")
    L += shipped_lines
    L += per_recording_section(pg.res, pg.finished_names, pg.main_teacher, pg.out_dir)
    L += runs_section(pg) + missing_section(pg)
    (pg.out_dir / "README.md").write_text("\n".join(L))
    (pg.out_dir / "summary.json").write_text(json.dumps(pg.summary, indent=1, default=lambda o: None) + "\n")
    log(f"[results] {len(pg.planned) - len(pg.missing)} of {len(pg.planned)} runs finished; wrote "
        f"{pg.out_dir}/README.md, summary.json and the figures")
    return pg.summary


# ---- per recording: per_recording.csv (every finished run) and a table of the scratch and dkd
# students and the main teacher

def per_recording_section(res: Dict[str, dict], names: Sequence[str], main_teacher: Optional[str],
                          out_dir: Path) -> List[str]:
    rows = []
    for n in names:
        for rid, m in sorted(res[n]["test"].get("per_recording", {}).items()):
            rows.append((n, rid, m["windows"], m["mae_argmax"], m["mae_weighted"]))
    with open(out_dir / "per_recording.csv", "w") as f:
        f.write("run,recording,windows,mae_argmax,mae_weighted\n")
        for n, rid, w, a, b in rows:
            f.write(f"{n},{rid},{w},{a:.4f},{b:.4f}\n")
    cols = []          # (label, {fold: result}) for the main teacher, then scratch / dkd per ResNet student size
    T = Table(res)
    for student, strategy, teacher in ([(main_teacher, "scratch", None)] if main_teacher else []) + [
            (f"resnet{k}", st, None if st == "scratch" else main_teacher) for k in (1, 2, 6, 10)
            for st in ("scratch", "dkd")]:
        got = {f: T.get(student, strategy, teacher, f) for f in FOLD_KEYS}
        if any(got.values()):
            cols.append((f"{student} {strategy}" + (" (teacher)" if student == main_teacher else ""), got))
    L = ["## Per recording (per_recording.csv)", "",
         "Test MAE (argmax, BPM) of each recording; each recording is in the test subset of one fold. "
         "Every finished run's per-recording MAEs (argmax and weighted) are in per_recording.csv.", ""]
    if not cols:
        return L + ["No results yet.", ""]
    recs = sorted({rid for _, got in cols for r in got.values() if r
                   for rid in r["test"].get("per_recording", {})})
    L.append("| recording | " + " | ".join(c for c, _ in cols) + " |")
    L.append("|---|" + "---|" * len(cols))
    for rid in recs:
        cells = []
        for _, got in cols:
            v = None
            for r in got.values():
                if r and rid in r["test"].get("per_recording", {}):
                    v = r["test"]["per_recording"][rid]["mae_argmax"]
            cells.append(_fmt(v, 2))
        L.append(f"| {rid} | " + " | ".join(cells) + " |")
    L.append("")
    return L


# ---- shipped models: each model card (models/*.json) beside its C++ latency and memory
# (results/bench/shipped.json, written by bench_shipped.py) and its microcontroller footprint
# (docs/mcu-footprint.md, where that page has the architecture).

SHIPPED_BENCH_CMD = "nice -n 5 cmake --build build -j1 --target ppghr_bench && " + BS.COMMAND


def _load_json(path: Path) -> Optional[dict]:
    try:
        d = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return d if isinstance(d, dict) else None


def load_mcu_footprint(path: Path) -> Dict[str, dict]:
    """Per network, from docs/mcu-footprint.md's tables (rows with opt "Os"): flash and RAM bytes
    and instructions per inference (the highest over its windows). Empty when the page is missing
    or its tables have other headers."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return {}
    wanted = {"flash": "**flash**", "ram": "**RAM**", "instructions": "instructions / inference"}
    out: Dict[str, dict] = {}
    header: Optional[List[str]] = None
    for line in lines:
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            continue
        if set("".join(cells)) <= set("-: ") or header[:2] != ["network", "opt"] or cells[1] != "Os":
            continue
        for key, title in wanted.items():
            col = next((i for i, h in enumerate(header) if title in h), None)
            if col is None or col >= len(cells):
                continue
            numbers = [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", cells[col].split("(")[0])]
            if numbers:
                out.setdefault(cells[0], {})[key] = max(numbers)
    return out


def _card_fold_mae(card: dict) -> Dict[str, Optional[float]]:
    """Test MAE (argmax; a regression head's "mae") per fold label, from the card and its other_fold."""
    maes: Dict[str, Optional[float]] = {}
    for d, mae in ((card, card.get("test") or {}), (card.get("other_fold") or {}, card.get("other_fold") or {})):
        v = mae.get("mae_argmax", mae.get("mae"))
        if d.get("train_subset") and v is not None:
            maes[FOLD_LABEL.get(d["train_subset"], f"{d['train_subset']}->{d.get('test_subset')}")] = float(v)
    return maes


def _card_parameters(card: dict) -> Optional[int]:
    p = card.get("parameters")
    if isinstance(p, dict):
        p = p.get("blob_floats", next(iter(p.values()), None))
    return int(p) if isinstance(p, (int, float)) else None


def _int(v: Optional[float]) -> str:
    return "-" if v is None else f"{int(round(v)):,}"


def shipped_section(models_dir: Path, bench_path: Path, mcu_path: Optional[Path] = None) -> Tuple[List[str], dict]:
    """The "Shipped models" section of the results page (markdown lines) and its summary.json entry."""
    cards = BS.load_model_cards(models_dir)
    bench = _load_json(bench_path) or {}
    per_arch = bench.get("archs") or {}
    mcu = load_mcu_footprint(mcu_path) if mcu_path else {}
    try:
        default_blob = (Path(models_dir) / "DEFAULT").read_text().strip()
    except OSError:
        default_blob = None
    folds = [FOLD_LABEL[f] for f in FOLD_KEYS]
    L = ["## Shipped models", ""]
    models = []
    if not cards:
        L += [f"No model cards in {Path(models_dir).name}/ (models/*.json) yet.", ""]
        return L, {"models": models, "bench": None, "missing_bench": []}
    L.append("Accuracy from each model card (models/<name>.json); latency and memory of the same architecture "
             "from the C++ benchmark `BM_predict/<arch>` (results/bench/shipped.json, written by "
             "tools/ppghr_tools/bench_shipped.py)" + ("; microcontroller flash, RAM and instructions per window "
                                                     "from docs/mcu-footprint.md (Cortex-M4F, -Os)" if mcu else "")
             + ".")
    L.append("")
    head = ["model", "arch", "parameters", "blob bytes"] + [f"MAE {f}" for f in folds] + [
        "mean", "C++ latency (us/window)", "windows/s", "RAM (network object, bytes)"]
    if mcu:
        head += ["MCU flash (bytes)", "MCU RAM (bytes)", "MCU instructions/window"]
    L.append("| " + " | ".join(head) + " |")
    L.append("|" + "---|" * len(head))
    missing = []
    for c in cards:
        arch = c["arch"]
        maes = _card_fold_mae(c)
        mean = sum(maes[f] for f in folds) / len(folds) if all(f in maes for f in folds) else None
        blob_bytes = c.get("blob_bytes")
        if blob_bytes is None and c.get("blob") and (Path(models_dir) / c["blob"]).is_file():
            blob_bytes = (Path(models_dir) / c["blob"]).stat().st_size
        b = per_arch.get(arch)
        if b is None and arch not in missing:
            missing.append(arch)
        m = mcu.get(arch, {})
        row = {"name": c["name"], "arch": arch, "blob": c.get("blob"), "default": c.get("blob") == default_blob,
               "parameters": _card_parameters(c), "blob_bytes": blob_bytes, "test_mae": maes, "mean_mae": mean,
               "latency_us": b and b.get("cpu_time_us"), "real_time_us": b and b.get("real_time_us"),
               "windows_per_s": b and b.get("windows_per_s"), "memory_bytes": b and b.get("memory_bytes"),
               "weight_bytes": b and b.get("weight_bytes"), "scratch_bytes": b and b.get("scratch_bytes"),
               "macs": b and b.get("macs"), "mcu": m or None}
        models.append(row)
        cells = [f"{c['name']}{' (default)' if row['default'] else ''}", arch, _int(row["parameters"]),
                 _int(blob_bytes)] + [_fmt(maes.get(f)) for f in folds] + [
            _fmt(mean), _fmt(row["latency_us"], 1), _int(row["windows_per_s"]), _int(row["memory_bytes"])]
        if mcu:
            cells += [_int(m.get("flash")), _int(m.get("ram")), _int(m.get("instructions"))]
        L.append("| " + " | ".join(cells) + " |")
    L.append("")
    L.append("MAE: test MAE (argmax, BPM) from the card: its blob's (`test`) and the same recipe's trained on the "
             "other subset (`other_fold`). Parameters: the floats the blob stores. RAM: sizeof of the C++ network "
             "object (float32 weights, scratch, result: `memory_bytes` of the class), what one instance needs.")
    L.append("")
    if bench:
        cfg, ctx = bench.get("build") or {}, bench.get("context") or {}
        flags = cfg.get("ppghr_bench_cxx_flags") or cfg.get("cmake_cxx_flags", "?")
        load = ", ".join(f"{x:.2f}" for x in ctx.get("load_avg", []))
        L.append(f"Latency: CPU time of one `predict()` call (one thread; median of {bench.get('repetitions', '?')} "
                 f"repetitions), {cfg.get('build_type', '?')} build `{cfg.get('build_dir', '?')}` "
                 f"({cfg.get('compiler', '?')}, `{flags}`; instruction set: {cfg.get('isa', '?')}), "
                 f"{ctx.get('num_cpus', '?')} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz, load average {load or '?'}, "
                 f"{bench.get('date', '?')}. The real time (longer on a loaded machine), MACs, GFLOP/s and the "
                 f"weight/scratch split are in results/bench/shipped.json. A -DPPGHR_NATIVE=ON build (README, "
                 f"\"Benchmarks\") is faster on machines with AVX2/AVX-512 (`PPGHR_BUILD_DIR=build-native` "
                 f"points bench_shipped at one).")
        L.append("")
    if missing:
        L.append(f"No C++ benchmark numbers yet for: {', '.join(f'`{a}`' for a in missing)} (\"-\"). Produce them with "
                 f"`{SHIPPED_BENCH_CMD}`, then rebuild this page.")
    else:
        L.append(f"Rerun the benchmarks with `{SHIPPED_BENCH_CMD}`, then rebuild this page.")
    L.append("")
    summary = {"models": models, "missing_bench": missing,
               "bench": None if not bench else {k: bench.get(k) for k in ("date", "binary", "build", "repetitions",
                                                                     "statistic")}}
    return L, summary


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results-dir", default=str(D.REPO / "results" / "runs"))
    ap.add_argument("--out", default=str(D.REPO / "docs" / "results"))
    ap.add_argument("--main-teacher", default=None, help="teacher of the strategy table (default resnet12 or the "
                                                          "largest with results)")
    ap.add_argument("--models-dir", default=str(D.REPO / "models"), help="model cards of the shipped models")
    ap.add_argument("--bench", default=str(D.REPO / "results" / "bench" / "shipped.json"),
                    help="their C++ latency and memory (ppghr_tools.bench_shipped)")
    args = ap.parse_args(argv)
    specs = SP.plan()
    mt = args.main_teacher
    if mt is None:
        want = f"resnet{SP.MAIN_TEACHER}"
        res = load_results(Path(args.results_dir))
        if any(r.get("teacher") == want for r in res.values()):
            mt = want
    build(Path(args.results_dir), Path(args.out), specs=specs, main_teacher=mt, models_dir=Path(args.models_dir),
          bench_path=Path(args.bench))
    return 0


if __name__ == "__main__":
    sys.exit(main())
