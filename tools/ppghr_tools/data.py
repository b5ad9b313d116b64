"""Datasets of labelled windows from ../shared/data/bami (or any data set of that layout, by name
such as 'wrist' or by path: datasets.py), through the shared preprocessing.

Every window is made by ``preprocess.windows_from_recording`` (the Python twin of the C++ front
end, so training and the device see identical windows). Window k covers seconds [2k, 2k + 8) of a
recording and its label is hr.f32[k] (the ECG heart rate of the same span).

Folds are participant-independent by subset (networks.md / the BAMI README): train on one subset,
test on the other. The validation split, for model selection, is a fixed set of whole recordings
of the training subset (never the test subset).

The windows of a subset are cached as .npz under a cache directory (default
``<repo>/.cache/windows``, git-ignored: derived from the data, never committed).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import datasets
from . import preprocess

REPO = Path(__file__).resolve().parents[2]
DEFAULT_BAMI = REPO.parent / "shared" / "data" / "bami"
DEFAULT_CACHE = REPO / ".cache" / "windows"
N_CLASSES = 180
MIN_BPM = 30


def bami_root(root: Optional[os.PathLike] = None) -> Path:
    """A data set directory: `root` (a path or a name under ../shared/data), default bami."""
    return datasets.dataset_root(root)


def recordings(subset: str, root: Optional[os.PathLike] = None) -> List[str]:
    """Recording ids of one subset ('bami1' / 'BAMI-1', 'bami2', 'wrist', 'all'), in index order,
    of the data set `root` (name or path; default bami)."""
    return datasets.dataset(root).ids(subset)


normalise_subset = datasets.normalise_subset


def labels_from_bpm(bpm: np.ndarray) -> np.ndarray:
    """Training labels: round(bpm) - 30, clamped to [0, 179] (networks.md)."""
    return np.clip(np.rint(bpm).astype(np.int64) - MIN_BPM, 0, N_CLASSES - 1)


@dataclass
class Windows:
    x: np.ndarray          # (n, 200) float32, preprocessed
    bpm: np.ndarray        # (n,) float32 reference heart rate
    rec: np.ndarray        # (n,) int index into `ids`
    ids: List[str]

    def subset_of(self, rec_ids: Sequence[str]) -> "Windows":
        keep_idx = [self.ids.index(r) for r in rec_ids]
        mask = np.isin(self.rec, keep_idx)
        return Windows(self.x[mask], self.bpm[mask], self.rec[mask], self.ids)


def _cache_key(subset: str, net: str, root: Optional[os.PathLike] = None) -> str:
    src = Path(preprocess.__file__).read_bytes()
    where = b""
    if root is not None and bami_root(root).resolve() != DEFAULT_BAMI.resolve():
        where = str(bami_root(root).resolve()).encode()    # (bami keeps its old keys)
    return hashlib.sha256(src + normalise_subset(subset).encode() + net.encode() + where).hexdigest()[:16]


def load_windows(subset: str, net: str = "resnet", root: Optional[os.PathLike] = None,
                 cache: Optional[os.PathLike] = DEFAULT_CACHE, verbose: bool = True) -> Windows:
    """All labelled windows of a subset (PPG channel 0), preprocessed for `net`."""
    path = None
    if cache is not None:
        path = Path(cache) / f"{normalise_subset(subset)}_{net}_{_cache_key(subset, net, root)}.npz"
        if path.exists():
            z = np.load(path, allow_pickle=False)
            return Windows(z["x"], z["bpm"], z["rec"], [str(s) for s in z["ids"]])
    ids = recordings(subset, root)
    xs, bpms, recs = [], [], []
    for i, rid in enumerate(ids):
        rec = preprocess.load_bami(rid, bami_root(root))
        w, status = preprocess.windows_from_recording(rec.ppg[:, 0], rec.fs, net=net, return_status=True)
        n = min(len(w), len(rec.hr))
        # Windows the front end refuses (flat, non-finite) carry no heart rate: not used.
        keep = (status[:n] == 0) & np.isfinite(rec.hr[:n])
        xs.append(np.asarray(w[:n][keep], dtype=np.float32))
        bpms.append(np.asarray(rec.hr[:n][keep], dtype=np.float32))
        recs.append(np.full(int(keep.sum()), i, dtype=np.int64))
        if verbose:
            print(f"  {subset} {rid}: {int(keep.sum())} windows ({n - int(keep.sum())} refused)", flush=True)
    out = Windows(np.concatenate(xs), np.concatenate(bpms), np.concatenate(recs), ids)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, x=out.x, bpm=out.bpm, rec=out.rec, ids=np.array(ids))
    return out


def split_validation(ids: Sequence[str], fraction: float = 0.2, seed: int = 0) -> Tuple[List[str], List[str]]:
    """(train ids, validation ids): a seeded choice of whole recordings."""
    rng = np.random.RandomState(seed)
    order = list(rng.permutation(len(ids)))
    n_val = max(1, int(round(fraction * len(ids))))
    val = sorted(ids[i] for i in order[:n_val])
    train = [r for r in ids if r not in val]
    return train, val
