"""spectrain.py: the vectorised features with augmentation against spectral.features (the twin of
the C++ front end), what each augmentation does to a known signal, and a tiny training smoke run."""

import json

import numpy as np
import pytest

from ppghr_tools import datasets as DS
from ppghr_tools import spectrain as st
from ppghr_tools import spectral as sp

FS = 50.0


def synthetic(seconds=40, hr=90.0, step=120.0, acc_g=0.6, n_ppg=3, seed=0, motion_amp=200.0):
    """A recording: PPG = pulse at hr (with a second harmonic) + motion at the step rate; acc = the step."""
    rng = np.random.RandomState(seed)
    t = np.arange(int(seconds * FS)) / FS
    f, m = hr / 60.0, step / 60.0
    ppg = np.stack([2000 + 300 * np.sin(2 * np.pi * f * t + c) + 120 * np.sin(4 * np.pi * f * t + 0.3 + c)
                    + motion_amp * np.sin(2 * np.pi * m * t + 0.5 * c) + 5 * rng.randn(len(t)) for c in range(n_ppg)], 1)
    acc = np.stack([acc_g * np.sin(2 * np.pi * m * t + a) + 0.01 * rng.randn(len(t)) for a in range(3)], 1)
    hr_lab = np.full(int((seconds - 8) // 2 + 1), hr, dtype=np.float32)
    return DS.Recording(ppg.astype(np.float32), acc.astype(np.float32), hr_lab, FS, "synth", "synth")


@pytest.mark.parametrize("n_ppg,has_acc", [(1, True), (3, True), (3, False)])
def test_batch_features_equal_the_twin(n_ppg, has_acc):
    rec = synthetic(n_ppg=n_ppg)
    if not has_acc:
        rec = rec._replace(acc=np.zeros((0, 3), np.float32))
    r = st.recording_spectra(rec)
    got = st.recording_features(r).astype(np.float64)
    w, _ = sp.recording_windows(rec.ppg, rec.acc if has_acc else None, rec.fs)
    want = np.stack([sp.features(x, n_ppg, accelerometer=has_acc) for x in w[:len(got)]])
    assert got.shape == want.shape == (len(got), sp.N_FEATURES, sp.N_CLASSES)
    diff = np.abs(got - want).max()
    assert diff < 1e-6, diff     # float32 storage of float64 features; measured ~1e-7


def test_scale_moves_the_pulse_and_keeps_the_rest():
    r = st.recording_spectra(synthetic(hr=90.0, step=150.0))
    n = len(r["hr"])
    base = st.batch_features(r["ppg"], r["acc"], r["motion"], True)
    s = np.full(n, 1.2)
    scaled = st.batch_features(r["ppg"], r["acc"], r["motion"], True, scale=s)
    # the pulse (feature 0's peak away from the step) moves from 90 to 108 BPM, the step from 150 to 180
    assert abs(30 + int(np.argmax(base[0, 0, :100])) - 90) <= 1
    assert abs(30 + int(np.argmax(scaled[0, 0, :110])) - 108) <= 1
    assert abs(30 + int(np.argmax(scaled[0, 1])) - 180) <= 1
    # the position row never moves
    np.testing.assert_array_equal(scaled[:, 5], base[:, 5])


def test_pulse_shape_removes_the_fundamental_only():
    r = st.recording_spectra(synthetic(hr=80.0, acc_g=0.0, motion_amp=0.0))
    n = len(r["hr"])
    base = st.batch_features(r["ppg"], r["acc"], r["motion"], True)
    fund = np.stack([np.full(n, 80.0), np.zeros(n)], axis=1)       # gain 0: the fundamental's lobe gone
    cut = st.batch_features(r["ppg"], r["acc"], r["motion"], True, fundamental=fund)
    b80, b160 = 80 - 30, 160 - 30
    # the lobe's centre scaled by g = 0, its shoulders less (measured: 0.057 of the new max is left at 80)
    assert base[0, 0, b80] > 0.9 and cut[0, 0, b80] < 0.1
    assert abs(30 + int(np.argmax(cut[0, 0])) - 80) > 2
    # the harmonic is untouched: feature 3 at 80 BPM (the PPG at 160, relative to the max) grows
    assert cut[0, 3, b80] > 2 * base[0, 3, b80]


def test_motion_mix_adds_an_artefact_the_accelerometer_shows():
    r = st.recording_spectra(synthetic(hr=80.0, step=120.0))
    n = len(r["hr"])
    C = r["ppg"].shape[1]
    mix = np.full((n, C), 3.0)
    ms = np.full(n, 1.5)            # the second source at 1.5 x the step: 180 BPM
    f = st.batch_features(r["ppg"], r["acc"], r["motion"], True, motion_mix=mix, motion_scale=ms)
    assert abs(30 + int(np.argmax(f[0, 0])) - 180) <= 1             # dominates the PPG
    assert f[0, 1, 180 - 30] > 0.5                                  # and the accelerometer shows it


def test_augmented_pool_labels_follow_the_scale():
    recs = {"a": st.recording_spectra(synthetic(hr=100.0))}
    aug = st.Augment(p_scale=1.0, s_min=0.8, s_max=1.25, p_keep=1.0, p_motion=0.0, p_noise=0.0, p_shape=0.0)
    x, y = _pool_no_cache(recs, aug)
    assert x.shape[1:] == (sp.N_FEATURES, sp.N_CLASSES)
    # each window's pulse peak (feature 0 below the step's) sits at its label
    peaks = 30 + np.argmax(x[:, 0, :95], axis=1)
    assert np.all(np.abs(peaks - (30 + y)) <= 1)
    assert y.min() < 100 - 30 < y.max()                             # the scale moved labels both ways


def _pool_no_cache(recs, aug, copies=3, seed=5):
    old = st.CACHE
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as d:
        st.CACHE = Path(d)
        try:
            return st.augmented_pool(recs, aug, copies, seed, verbose=False)
        finally:
            st.CACHE = old


def test_tiny_training_run(tmp_path, monkeypatch):
    if "bami" not in DS.available():
        pytest.skip("../shared/data/bami is absent: the training smoke run needs it")
    monkeypatch.setattr(st, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(st, "RUNS", tmp_path / "runs")
    spec = st.RunSpec(arch="specnet1", train="bami1", eval="", passes=1, copies=1, batch=512)
    r = st.train_run(spec, verbose=False)
    assert (tmp_path / "runs" / spec.name / "model.pt").is_file()
    saved = json.loads((tmp_path / "results" / f"{spec.name}.json").read_text())
    assert saved["metrics"]["val"]["windows"] > 1000
    assert saved["metrics"]["val"]["online"] < 30.0                 # it learnt something (untrained: ~50)
    # distillation from it (as its own teacher) runs through every strategy's code path
    monkeypatch.setattr(st.RunSpec, "teacher_spec", lambda self: spec)
    for strat in ("hard", "dkd", "feature"):
        st.train_run(st.RunSpec(arch="specnet1", strategy=strat, teacher="specnet1", train="bami1", eval="",
                                passes=1, copies=1, batch=512, tag="t"), verbose=False)
    assert r["params"] > 0
