"""Data sets in the ../shared/data layout (tools/ppghr_tools/datasets.py) and the old BAMI loaders
that now wrap it (preprocess.load_bami / bami_ids / bami_root, data.recordings / bami_root).

The error cases and the "a new data set needs no code change" case run on small fake data sets
written to tmp_path. The real-data tests need <repo>/../shared/data/{bami,wrist} and skip, saying
so, when it is absent."""

import json
from pathlib import Path

import numpy as np
import pytest

from ppghr_tools import data as D
from ppghr_tools import datasets as DS
from ppghr_tools import preprocess as P


def write_fake(root: Path, recs, name="fake set", format_files=True, acc=True):
    """recs: [(id, subset, fs, n_samples, channels, n_labels)] -> a data set in the shared layout."""
    (root / "rec").mkdir(parents=True, exist_ok=True)
    entries = []
    rng = np.random.RandomState(0)
    for rid, subset, fs, n, ch, w in recs:
        rng.standard_normal(n * ch).astype("<f4").tofile(root / "rec" / f"{rid}.ppg.f32")
        if acc:
            rng.standard_normal(n * 3).astype("<f4").tofile(root / "rec" / f"{rid}.acc.f32")
        np.full(w, 90.0, dtype="<f4").tofile(root / "rec" / f"{rid}.hr.f32")
        entries.append({"id": rid, "subset": subset, "fs_hz": fs, "n_samples": n, "n_ppg_channels": ch,
                        "n_windows": w})
    index = {"name": name, "recordings": entries}
    if format_files:
        index["format"] = {"files": {"rec/<id>.ppg.f32": "N x C, volts", "rec/<id>.acc.f32": "N x 3, g",
                                     "rec/<id>.hr.f32": "W, BPM"}}
    (root / "index.json").write_text(json.dumps(index))
    return root


def test_new_dataset_needs_no_code_change(tmp_path):
    # 25.6 Hz (non-integer), 2 PPG channels, two subsets: all from index.json.
    n = int(np.ceil((9 * 2 + 8) * 25.6))          # 10 labels
    root = write_fake(tmp_path / "shared" / "mine", [("a_1", "a", 25.6, n, 2, 10), ("b_1", "b", 100, 2600, 1, 10)])
    shared = tmp_path / "shared"
    assert DS.available(shared) == ["mine"]
    ds = DS.dataset("mine", shared=shared)
    assert ds.root == root and ds.title == "fake set"
    assert ds.subsets() == ["a", "b"] and ds.ids("A") == ["a_1"] and ds.ids("all") == ["a_1", "b_1"]
    assert ds.rates() == [25.6, 100] and ds.channel_counts() == [1, 2]
    assert ds.units == {"ppg": "N x C, volts", "acc": "N x 3, g", "hr": "W, BPM"}
    r = DS.load_recording("A_1", root)          # by path, any case
    assert r.ppg.shape == (n, 2) and r.acc.shape == (n, 3) and r.hr.shape == (10,) and r.fs == 25.6
    assert r.id == "a_1" and r.subset == "a"
    assert isinstance(DS.load_recording("b_1", root).fs, int)
    # the old entry points read it too
    rec = P.load_bami("b_1", root)
    assert rec.ppg.shape == (2600, 1) and rec.fs == 100
    assert P.bami_ids(root) == ["a_1", "b_1"]
    assert D.recordings("b", root) == ["b_1"]
    assert P.bami_root(root) == root and D.bami_root(root) == root


def test_name_resolution():
    assert DS.dataset_root(None) == DS.SHARED_DATA / "bami"
    assert DS.dataset_root("wrist") == DS.SHARED_DATA / "wrist"
    assert DS.dataset_root("some/dir") == Path("some/dir")
    assert P.bami_root() == DS.SHARED_DATA / "bami" == D.bami_root()


def test_missing_accelerometer_is_empty(tmp_path):
    root = write_fake(tmp_path / "x", [("r", "s", 50, 400, 1, 1)], acc=False)
    assert DS.load_recording("r", root).acc.shape == (0, 3)


def _one_line_naming(excinfo, path):
    msg = str(excinfo.value)
    assert "\n" not in msg, msg
    assert str(path) in msg, msg
    return msg


@pytest.mark.parametrize("text,what", [
    ("{not json", "not valid JSON"),
    ("[]", "malformed"),
    ('{"recordings": []}', "malformed"),
    ('{"recordings": [{"id": "a", "fs_hz": 50}]}', "no 'n_samples'"),
    ('{"recordings": [{"id": "a", "fs_hz": "fast", "n_samples": 10}]}', "not numbers"),
    ('{"recordings": [{"id": "a", "fs_hz": -5, "n_samples": 10}]}', "fs_hz=-5"),
    ('{"recordings": [{"id": "a", "fs_hz": 50, "n_samples": 10}, {"id": "A", "fs_hz": 50, "n_samples": 10}]}', "duplicate"),
])
def test_malformed_index_is_one_line_naming_the_file(tmp_path, text, what):
    (tmp_path / "index.json").write_text(text)
    with pytest.raises(ValueError) as e:
        DS.dataset(tmp_path)
    assert what in _one_line_naming(e, tmp_path / "index.json")
    with pytest.raises(ValueError):             # the old entry point too
        P.bami_ids(tmp_path)


def test_missing_index_names_the_file(tmp_path):
    with pytest.raises(ValueError) as e:
        DS.dataset(tmp_path / "nothing")
    _one_line_naming(e, tmp_path / "nothing" / "index.json")


def test_recording_shorter_than_its_labels(tmp_path):
    # 10 labels need (9 * 2 + 8) s = 26 s = 1300 samples at 50 Hz; give 1299.
    root = write_fake(tmp_path / "short", [("r", "s", 50, 1299, 1, 10), ("ok", "s", 50, 1300, 1, 10)])
    with pytest.raises(ValueError) as e:
        DS.load_recording("r", root)
    assert "shorter than its labels" in _one_line_naming(e, root / "rec" / "r.ppg.f32")
    with pytest.raises(ValueError):
        P.load_bami("r", root)
    DS.load_recording("ok", root)
    # fewer labels than windows is fine (BAMI-2: 361 labels for 362 windows)
    root2 = write_fake(tmp_path / "fewer", [("r", "s", 50, 5000, 1, 3)])
    assert len(DS.load_recording("r", root2).hr) == 3


def test_files_disagreeing_with_index(tmp_path):
    root = write_fake(tmp_path / "bad", [("r", "s", 50, 1300, 2, 10)])
    np.zeros(2599, dtype="<f4").tofile(root / "rec" / "r.ppg.f32")     # not whole 2-channel samples
    with pytest.raises(ValueError) as e:
        DS.load_recording("r", root)
    _one_line_naming(e, root / "rec" / "r.ppg.f32")
    np.zeros(2 * 1200, dtype="<f4").tofile(root / "rec" / "r.ppg.f32")  # fewer samples than n_samples
    with pytest.raises(ValueError) as e:
        DS.load_recording("r", root)
    assert "n_samples=1300" in _one_line_naming(e, root / "rec" / "r.ppg.f32")
    np.zeros(2 * 1300, dtype="<f4").tofile(root / "rec" / "r.ppg.f32")
    np.zeros(3 * 1299, dtype="<f4").tofile(root / "rec" / "r.acc.f32")
    with pytest.raises(ValueError) as e:
        DS.load_recording("r", root)
    _one_line_naming(e, root / "rec" / "r.acc.f32")
    (root / "rec" / "r.hr.f32").unlink()
    with pytest.raises(ValueError) as e:
        DS.load_recording("r", root)
    _one_line_naming(e, root / "rec" / "r.hr.f32")


def test_unknown_subset(tmp_path):
    root = write_fake(tmp_path / "x", [("r", "s", 50, 400, 1, 1)])
    with pytest.raises(ValueError) as e:
        D.recordings("bami9", root)
    _one_line_naming(e, root / "index.json")


# ---- real data ------------------------------------------------------------------------------------

def _real(name):
    root = DS.SHARED_DATA / name
    if not (root / "index.json").is_file():
        pytest.skip(f"data set {name!r} not found at {root} (it lives outside the repository, in ../shared/data/{name})")
    return DS.dataset(name)


def test_real_bami():
    ds = _real("bami")
    assert len(ds.ids()) == 48 and ds.subsets() == ["bami1", "bami2"]
    assert len(ds.ids("BAMI-1")) == 25 and len(ds.ids("bami2")) == 23
    assert ds.rates() == [50] and ds.channel_counts() == [3]
    r = ds.load("BAMI1_01")
    assert r.ppg.shape[1] == 3 and r.acc.shape == (len(r.ppg), 3) and r.fs == 50
    old = P.load_bami("bami1_01")
    assert np.array_equal(old.ppg, r.ppg) and np.array_equal(old.hr, r.hr) and old.fs == 50
    assert D.recordings("BAMI-2") == ds.ids("bami2")


def test_real_wrist():
    ds = _real("wrist")
    assert len(ds.ids()) == 16 and ds.subsets() == ["wrist"]
    assert ds.rates() == [256] and ds.channel_counts() == [1]
    subjects = {r["subject"] for r in ds.recordings}
    assert subjects == {"s2", "s3", "s4", "s5", "s6", "s8", "s9"}
    total = 0
    for rid in ds.ids():
        r = ds.load(rid)                      # every recording covers its labels
        assert r.ppg.shape == (len(r.ppg), 1) and r.fs == 256 and r.acc.shape == (len(r.ppg), 3)
        total += len(r.hr)
    assert total == 2464
    assert P.load_bami(ds.ids()[0], "wrist").ppg.shape[1] == 1
