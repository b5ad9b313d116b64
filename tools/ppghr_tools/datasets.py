"""Data sets in the ../shared/data layout, by name or by path.

Every data set under ``<repo>/../shared/data/<name>/`` (``bami``, ``wrist``, and any other dropped
in) has the same layout (see ../shared/data/bami/README.md):

  index.json                 {"name", "format": {...}, "recordings": [{"id", "subset", "fs_hz",
                              "n_samples", "n_windows", "n_ppg_channels"?, ...}, ...]}
  rec/<id>.ppg.f32           N x C float32 little-endian, sample-major, C PPG channels (channel 0 first)
  rec/<id>.acc.f32           N x 3 float32 (x, y, z), in g
  rec/<id>.hr.f32            W float32: reference heart rate (BPM) of seconds [2k, 2k + 8)

Everything that varies between data sets (the rate, the number of PPG channels, the units) is read
from index.json, so a new data set needs no code change: ``load_recording("wrist_s9_walk",
"wrist")`` or ``dataset("/some/dir")``. A recording's PPG channel count is its ``n_ppg_channels``
entry when present, else 3 (BAMI's index predates the field). Units come from ``format.files``
(the descriptions of the .f32 files) and, per recording, ``acc_unit_note`` / ``ppg_adc``.

Errors: a missing / unparsable / malformed index.json, a recording whose files disagree with it, or
a recording shorter than its labels raise ValueError with a one-line message naming the file.
An unknown data set name raises ValueError too (listing the ones found).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Union

import numpy as np

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
DEFAULT_DATASET = "bami"
WINDOW_S = 8.0
STRIDE_S = 2.0
DEFAULT_PPG_CHANNELS = 3      # BAMI's index.json has no n_ppg_channels field

PathLike = Union[str, os.PathLike]


class Recording(NamedTuple):
    """One recording. Same first four fields as preprocess.BamiRecording."""
    ppg: np.ndarray   # (N, C) float32, raw device units; channel 0 first
    acc: np.ndarray   # (N, 3) float32, g; (0, 3) when the data set has no accelerometer file
    hr: np.ndarray    # (W,) float32, BPM of seconds [2k, 2k + 8)
    fs: float         # Hz (an int when the rate is a whole number)
    id: str = ""
    subset: str = ""
    meta: Optional[dict] = None   # the recording's index.json entry


@dataclass
class Dataset:
    """A data set's index.json, checked. `recordings` are the index entries in index order."""
    name: str                      # directory name ('bami', 'wrist', ...)
    root: Path
    title: str                     # index.json "name"
    recordings: List[dict]
    units: Dict[str, str] = field(default_factory=dict)   # 'ppg' / 'acc' / 'hr' -> description

    @property
    def index_path(self) -> Path:
        return self.root / "index.json"

    def ids(self, subset: Optional[str] = None) -> List[str]:
        """Recording ids in index order; of one subset when given (any spelling: 'BAMI-1' = 'bami1';
        'all' or None = every recording)."""
        if subset is None or normalise_subset(subset) == "all":
            return [r["id"] for r in self.recordings]
        want = normalise_subset(subset)
        out = [r["id"] for r in self.recordings if normalise_subset(str(r.get("subset", ""))) == want]
        if not out:
            raise ValueError(f"{self.index_path}: no recordings of subset {subset!r} (subsets: {', '.join(self.subsets())})")
        return out

    def subsets(self) -> List[str]:
        """Subset names in order of first appearance."""
        out: List[str] = []
        for r in self.recordings:
            s = str(r.get("subset", ""))
            if s not in out:
                out.append(s)
        return out

    def entry(self, recording_id: str) -> dict:
        rid = recording_id.lower()
        for r in self.recordings:
            if r["id"].lower() == rid:
                return r
        raise KeyError(f"no recording {recording_id!r} in {self.index_path}")

    def fs(self, recording_id: str) -> float:
        return _rate(self.entry(recording_id)["fs_hz"])

    def ppg_channels(self, recording_id: str) -> int:
        return int(self.entry(recording_id).get("n_ppg_channels", DEFAULT_PPG_CHANNELS))

    def rates(self) -> List[float]:
        return sorted({_rate(r["fs_hz"]) for r in self.recordings})

    def channel_counts(self) -> List[int]:
        return sorted({int(r.get("n_ppg_channels", DEFAULT_PPG_CHANNELS)) for r in self.recordings})

    def load(self, recording_id: str, check_labels: bool = True) -> Recording:
        return load_recording(recording_id, self, check_labels=check_labels)

    def hr(self, recording_id: str) -> np.ndarray:
        """Only the labels (no PPG read)."""
        e = self.entry(recording_id)
        return _read_f32(self.root / "rec" / f"{e['id']}.hr.f32")


def normalise_subset(subset: str) -> str:
    """'BAMI-1' -> 'bami1' (the spelling of index.json)."""
    return subset.lower().replace("-", "").replace("_", "")


def _rate(v) -> float:
    f = float(v)
    return int(f) if f.is_integer() else f


def available(shared: Optional[PathLike] = None) -> List[str]:
    """Names of the data sets found under ../shared/data (directories holding an index.json)."""
    base = Path(shared) if shared is not None else SHARED_DATA
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / "index.json").is_file())


def dataset_root(name_or_path: Optional[PathLike] = None, shared: Optional[PathLike] = None) -> Path:
    """The directory of a data set: None -> ../shared/data/bami; a bare name without a path
    separator that is not an existing directory ('bami', 'wrist') -> ../shared/data/<name>;
    anything else is a path. Does not check that it exists (see dataset())."""
    if name_or_path is None:
        name_or_path = DEFAULT_DATASET
    s = os.fspath(name_or_path)
    p = Path(s)
    if os.sep not in s and "/" not in s and not p.is_dir():
        return (Path(shared) if shared is not None else SHARED_DATA) / s
    return p


def dataset(name_or_path: Optional[PathLike] = None, shared: Optional[PathLike] = None) -> Dataset:
    """Reads and checks a data set's index.json (see the module doc for the errors)."""
    root = dataset_root(name_or_path, shared)
    index_path = root / "index.json"
    if not index_path.is_file():
        found = available(shared)
        raise ValueError(f"{index_path}: no such data set index (data sets found under "
                         f"{Path(shared) if shared is not None else SHARED_DATA}: {', '.join(found) or 'none'})")
    try:
        index = json.loads(index_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{index_path}: not valid JSON ({_one_line(e)})") from None
    if not isinstance(index, dict) or not isinstance(index.get("recordings"), list) or not index["recordings"]:
        raise ValueError(f"{index_path}: malformed index: needs a non-empty 'recordings' list")
    seen = set()
    for i, r in enumerate(index["recordings"]):
        where = f"{index_path}: recordings[{i}]"
        if not isinstance(r, dict):
            raise ValueError(f"{where}: malformed entry (not an object)")
        for key in ("id", "fs_hz", "n_samples"):
            if key not in r:
                raise ValueError(f"{where}: malformed entry: no '{key}'")
        if not isinstance(r["id"], str) or not r["id"] or "/" in r["id"]:
            raise ValueError(f"{where}: malformed entry: 'id' must be a file name stem, got {r['id']!r}")
        if r["id"].lower() in seen:
            raise ValueError(f"{where}: duplicate id {r['id']!r}")
        seen.add(r["id"].lower())
        try:
            fs = float(r["fs_hz"])
            n = int(r["n_samples"])
            ch = int(r.get("n_ppg_channels", DEFAULT_PPG_CHANNELS))
        except (TypeError, ValueError):
            raise ValueError(f"{where} ({r['id']}): malformed entry: fs_hz / n_samples / n_ppg_channels are not numbers") from None
        if not (math.isfinite(fs) and fs > 0) or n < 0 or ch < 1 or n != float(r["n_samples"]):
            raise ValueError(f"{where} ({r['id']}): malformed entry: fs_hz={r['fs_hz']!r}, "
                             f"n_samples={r['n_samples']!r}, n_ppg_channels={ch}")
    files = (index.get("format") or {}).get("files") or {}
    units = {}
    for key, desc in files.items():
        for kind in ("ppg", "acc", "hr"):
            if key.endswith(f".{kind}.f32"):
                units[kind] = str(desc)
    return Dataset(root.name, root, str(index.get("name", root.name)), index["recordings"], units)


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())


def _read_f32(path: Path) -> np.ndarray:
    try:
        return np.fromfile(path, dtype="<f4")
    except OSError as e:
        raise ValueError(f"{path}: cannot read ({_one_line(e)})") from None


def labels_needed_samples(n_labels: int, fs: float) -> int:
    """Samples a recording needs so that its last label's window [2(W-1), 2(W-1) + 8) s is inside it."""
    if n_labels <= 0:
        return 0
    return int(math.ceil(((n_labels - 1) * STRIDE_S + WINDOW_S) * fs - 1e-9))


def load_recording(recording_id: str, ds: Union[Dataset, PathLike, None] = None,
                   check_labels: bool = True) -> Recording:
    """One recording of a data set (a Dataset, a name, or a path; default bami): PPG (N, C) with C
    from index.json, accelerometer (N, 3) (empty when the file is absent), labels, rate.
    ValueError naming the file when a file disagrees with index.json or (check_labels) the
    recording is shorter than its labels."""
    if not isinstance(ds, Dataset):
        ds = dataset(ds)
    e = ds.entry(recording_id)
    rid = e["id"]
    fs = _rate(e["fs_hz"])
    ch = int(e.get("n_ppg_channels", DEFAULT_PPG_CHANNELS))
    n = int(e["n_samples"])
    rec = ds.root / "rec"
    ppg_path, acc_path, hr_path = rec / f"{rid}.ppg.f32", rec / f"{rid}.acc.f32", rec / f"{rid}.hr.f32"
    for p in (ppg_path, hr_path):
        if not p.is_file():
            raise ValueError(f"{p}: missing (listed in {ds.index_path})")
    ppg = _read_f32(ppg_path)
    if ppg.size % ch != 0:
        raise ValueError(f"{ppg_path}: {ppg.size} values are not a whole number of {ch}-channel samples")
    ppg = ppg.reshape(-1, ch)
    if len(ppg) != n:
        raise ValueError(f"{ppg_path}: {len(ppg)} samples of {ch} channels, index.json says n_samples={n}")
    if acc_path.is_file():
        acc = _read_f32(acc_path)
        if acc.size % 3 != 0 or acc.size // 3 != n:
            raise ValueError(f"{acc_path}: {acc.size} values, expected {n} samples x 3 axes (index.json n_samples)")
        acc = acc.reshape(-1, 3)
    else:
        acc = np.zeros((0, 3), dtype=np.float32)
    hr = _read_f32(hr_path)
    if check_labels:
        need = labels_needed_samples(len(hr), fs)
        if n < need:
            raise ValueError(f"{ppg_path}: recording shorter than its labels ({n} samples at {fs} Hz = "
                             f"{n / fs:.2f} s; {hr_path.name} has {len(hr)} labels, needing {need} samples)")
    return Recording(ppg, acc, hr, fs, rid, str(e.get("subset", "")), e)


def resolve_arg(value: Optional[str]) -> Dataset:
    """For command-line options: a data set name or path (None = bami)."""
    return dataset(value)
