"""Plot per-window heart-rate estimates against a reference; save a PNG.

Usage (from the repository root)::

    PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.plot_estimates estimates.csv \\
        --ref examples/data/demo_hr.csv --out plot.png

``estimates.csv`` is the command-line tool's per-window output: a header with at least ``time``
(window start, s) and ``hr`` (BPM), and optionally ``confidence``, ``status`` (``ok`` or a reason
the window has no trusted estimate) and ``ref_hr``. Empty, ``nan`` or non-numeric values count as
missing. The reference (``--ref``, a ``time,hr`` CSV such as ``examples/data/demo_hr.csv``) is
matched to the estimates by window start time; without ``--ref`` the ``ref_hr`` column is used
when present.

The figure: top panel, estimate (dots joined by a line) and reference over time, with each window
whose status is not ``ok`` shaded over its stride, one colour per status; bottom panel, the
confidence (when present) and the absolute error (when a reference is present). The title gives
the MAE over the ``ok`` windows and over all windows with an estimate. Uses matplotlib's Agg
backend (no display needed).
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

STATUS_COLOURS = ["#f28e2b", "#e15759", "#b07aa1", "#9c755f", "#76b7b2", "#edc948", "#bab0ac",
                  "#ff9da7"]


def _num(s: Optional[str]) -> float:
    if s is None:
        return math.nan
    try:
        return float(s)
    except ValueError:
        return math.nan


def read_table(path: Path) -> Dict[str, list]:
    """Columns of a CSV with a header row; numeric columns as float arrays (NaN when missing)."""
    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh, skipinitialspace=True)]
    if not rows:
        raise ValueError(f"{path}: no data rows")
    cols: Dict[str, list] = {}
    for key in rows[0].keys():
        if key is None:
            continue
        name = key.strip().lower()
        vals = [r.get(key) for r in rows]
        if name == "status":
            cols[name] = [(v or "").strip() or "ok" for v in vals]
        else:
            cols[name] = np.array([_num(v) for v in vals])
    for need in ("time", "hr"):
        if need not in cols:
            raise ValueError(f"{path}: missing column '{need}' (have {sorted(cols)})")
    return cols


def match_reference(t: np.ndarray, ref_t: np.ndarray, ref_hr: np.ndarray, tol: float = 1e-3) -> np.ndarray:
    """Reference HR at each estimate time (NaN where no reference window starts within tol)."""
    out = np.full(len(t), np.nan)
    if len(ref_t) == 0:
        return out
    order = np.argsort(ref_t)
    rt, rh = ref_t[order], ref_hr[order]
    j = np.clip(np.searchsorted(rt, t), 1, len(rt) - 1) if len(rt) > 1 else np.zeros(len(t), int)
    for i, ti in enumerate(t):
        cands = [j[i]] if len(rt) == 1 else [j[i] - 1, j[i]]
        best = min(cands, key=lambda c: abs(rt[c] - ti))
        if abs(rt[best] - ti) <= tol:
            out[i] = rh[best]
    return out


def plot(estimates: Path, ref: Optional[Path] = None, out: Path = Path("plot.png"),
         title: Optional[str] = None, dpi: int = 110) -> Dict[str, float]:
    """Draw the figure into ``out``; returns a summary (windows, ok windows, MAEs)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    est = read_table(Path(estimates))
    t, hr = est["time"], est["hr"]
    n = len(t)
    status: List[str] = est.get("status", ["ok"] * n)
    conf = est.get("confidence")
    if ref is not None:
        r = read_table(Path(ref))
        ref_t, ref_hr = r["time"], r["hr"]
        ref_at = match_reference(t, ref_t, ref_hr)
        ref_label = Path(ref).name
    elif "ref_hr" in est:
        ref_t, ref_hr = t, est["ref_hr"]
        ref_at = ref_hr
        ref_label = "ref_hr column"
    else:
        ref_t = ref_hr = ref_at = None
        ref_label = ""

    ok = np.array([s == "ok" for s in status])
    have = np.isfinite(hr)
    summary: Dict[str, float] = {"windows": n, "ok_windows": int(ok.sum())}
    if ref_at is not None:
        err = np.abs(hr - ref_at)
        m_all = have & np.isfinite(ref_at)
        m_ok = m_all & ok
        summary["mae_ok"] = float(err[m_ok].mean()) if m_ok.any() else math.nan
        summary["mae_all"] = float(err[m_all].mean()) if m_all.any() else math.nan
        summary["matched"] = int(m_all.sum())
        summary["matched_ok"] = int(m_ok.sum())

    stride = float(np.median(np.diff(np.sort(t)))) if n > 1 else 2.0
    if not np.isfinite(stride) or stride <= 0:
        stride = 2.0
    others = sorted({s for s in status if s != "ok"})
    colour = {s: STATUS_COLOURS[i % len(STATUS_COLOURS)] for i, s in enumerate(others)}

    show_lower = conf is not None or ref_at is not None
    fig, axes = plt.subplots(2 if show_lower else 1, 1, figsize=(12, 6.5 if show_lower else 4.5),
                             sharex=True, squeeze=False,
                             gridspec_kw={"height_ratios": [3, 1.3]} if show_lower else None)
    ax = axes[0, 0]
    # shade runs of consecutive windows with the same non-ok status
    for ax_ in axes[:, 0]:
        i = 0
        order = np.argsort(t)
        while i < n:
            s = status[order[i]]
            j = i
            while j + 1 < n and status[order[j + 1]] == s and t[order[j + 1]] - t[order[j]] <= 1.5 * stride:
                j += 1
            if s != "ok":
                ax_.axvspan(t[order[i]], t[order[j]] + stride, color=colour[s], alpha=0.22, lw=0)
            i = j + 1
    if ref_t is not None:
        ax.plot(ref_t, ref_hr, color="black", lw=1.6, label=f"reference ({ref_label})", zorder=2)
    ax.plot(t, hr, color="#4e79a7", lw=0.8, alpha=0.7, zorder=3)
    ax.plot(t[ok], hr[ok], "o", color="#4e79a7", ms=3.2, label="estimate (ok)", zorder=4)
    if (~ok & have).any():
        ax.plot(t[~ok & have], hr[~ok & have], "x", color="#555555", ms=4, label="estimate (not ok)",
                zorder=4)
    ax.set_ylabel("heart rate (BPM)")
    ax.grid(True, alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    handles += [Patch(facecolor=colour[s], alpha=0.35, label=f"status: {s}") for s in others]
    ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.9)
    head = title or Path(estimates).name
    if ref_at is not None:
        head += (f"   MAE {summary['mae_ok']:.2f} BPM over {summary['matched_ok']} ok windows with a reference"
                 f"  |  {summary['mae_all']:.2f} BPM over all {summary['matched']} with an estimate and a reference")
    else:
        head += f"   {int(ok.sum())} of {n} windows ok"
    ax.set_title(head, fontsize=10)

    if show_lower:
        lo = axes[1, 0]
        if ref_at is not None:
            lo.plot(t, np.abs(hr - ref_at), color="#e15759", lw=1.0, label="|estimate - reference| (BPM)")
            lo.set_ylabel("abs error (BPM)")
        if conf is not None:
            tw = lo.twinx() if ref_at is not None else lo
            tw.plot(t, conf, color="#59a14f", lw=1.0, label="confidence")
            tw.set_ylabel("confidence")
            if ref_at is not None:
                h1, l1 = lo.get_legend_handles_labels()
                h2, l2 = tw.get_legend_handles_labels()
                lo.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=8, framealpha=0.9)
            else:
                lo.legend(loc="upper left", fontsize=8)
        elif ref_at is not None:
            lo.legend(loc="upper left", fontsize=8)
        lo.grid(True, alpha=0.3)
        lo.set_xlabel("window start (s)")
    else:
        ax.set_xlabel("window start (s)")
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return summary


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description="Plot per-window HR estimates against a reference.")
    ap.add_argument("estimates", help="per-window CSV: time,hr[,confidence][,status][,ref_hr]")
    ap.add_argument("--ref", default=None, help="reference CSV time,hr (e.g. examples/data/demo_hr.csv)")
    ap.add_argument("--out", default="plot.png", help="output PNG (default plot.png)")
    ap.add_argument("--title", default=None)
    ap.add_argument("--dpi", type=int, default=110)
    a = ap.parse_args(argv)
    s = plot(Path(a.estimates), Path(a.ref) if a.ref else None, Path(a.out), a.title, a.dpi)
    msg = f"wrote {a.out}: {s['windows']} windows, {s['ok_windows']} ok"
    if "mae_ok" in s:
        msg += f", MAE {s['mae_ok']:.2f} BPM (ok windows), {s['mae_all']:.2f} BPM (all)"
    print(msg)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
