"""Synthetic demo recording (ppghr_tools.synth): determinism, physiology, spectra, formats."""

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import butter, filtfilt

from ppghr_tools import synth as S

REPO_ROOT = Path(__file__).resolve().parents[2]

DEMO_PREFIX = REPO_ROOT / "examples" / "data" / "demo"
DEMO_ARGS = dict(fs=50.0, minutes=6.0, seed=2026)     # the command in examples/data/README.md


@pytest.fixture(scope="module")
def rec():
    return S.generate(S.SynthParams(**DEMO_ARGS))


def _peak_hz(x, fs, lo, hi, nfft=4096):
    x = (x - x.mean()) * np.hanning(len(x))
    p = np.abs(np.fft.rfft(x, nfft)) ** 2
    f = np.fft.rfftfreq(nfft, 1.0 / fs)
    m = (f >= lo) & (f <= hi)
    return f[m][np.argmax(p[m])]


def test_regeneration_is_byte_identical(rec, tmp_path):
    a = S.write_csv(rec, tmp_path / "a" / "demo")
    b = S.write_csv(S.generate(S.SynthParams(**DEMO_ARGS)), tmp_path / "b" / "demo")
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes()
    committed = [DEMO_PREFIX.with_name("demo.csv"), DEMO_PREFIX.with_name("demo_hr.csv")]
    if not all(p.exists() for p in committed):
        pytest.skip("examples/data/demo*.csv not present")
    for new, old in zip(a, committed):
        nb, ob = new.read_bytes(), old.read_bytes()
        if nb != ob:
            nl, ol = nb.decode().splitlines(), ob.decode().splitlines()
            diff = sum(x != y for x, y in zip(nl, ol)) + abs(len(nl) - len(ol))
            pytest.fail(f"{old.name}: regeneration differs in {diff} of {len(ol)} lines; rerun the "
                        "command in examples/data/README.md if the model was changed on purpose")


def test_csv_format(rec, tmp_path):
    sig, hr = S.write_csv(rec, tmp_path / "demo")
    lines = sig.read_text().splitlines()
    assert lines[0] == "time,ppg,acc_x,acc_y,acc_z"
    assert len(lines) == 1 + 18000
    data = np.loadtxt(sig, delimiter=",", skiprows=1)
    assert np.allclose(data[:, 0], np.arange(18000) / 50.0, atol=1e-4)
    assert np.array_equal(data[:, 1], rec.ppg)
    assert np.allclose(data[:, 2:], rec.acc, atol=6e-6)
    hl = hr.read_text().splitlines()
    assert hl[0] == "time,hr"
    h = np.loadtxt(hr, delimiter=",", skiprows=1)
    assert h.shape == (177, 2)                        # floor((360 - 8) / 2) + 1
    assert np.array_equal(h[:, 0], 2.0 * np.arange(177))
    assert np.allclose(h[:, 1], rec.hr_windows, atol=5e-4)
    assert sig.stat().st_size < 1_500_000


def test_values_sane(rec):
    for x in (rec.ppg, rec.acc, rec.hr_windows, rec.hr_inst):
        assert np.all(np.isfinite(x))
    assert np.array_equal(rec.ppg, np.round(rec.ppg))
    assert rec.ppg.min() >= 0 and rec.ppg.max() <= 4095
    assert rec.clip_fraction < 1e-3
    assert 1800 < np.median(rec.ppg) < 2300
    still = rec.activity == 0
    norm = np.linalg.norm(rec.acc, axis=1)
    assert abs(np.median(norm[still]) - 1.0) < 0.02      # gravity only when still
    assert np.median(rec.acc[still, 2]) > 0.9            # ... mostly on z
    assert norm.max() < 4.0
    assert np.allclose(rec.acc * 4096, np.round(rec.acc * 4096))
    assert 30 < rec.hr_inst.min() and rec.hr_inst.max() < 200


def test_hr_trajectory(rec):
    hr, fl = rec.hr_windows, rec.window_flags()
    rest = hr[fl["phase"] == "rest"]
    assert 65 <= rest.mean() <= 75 and rest.min() > 60 and rest.max() < 80
    ex = hr[fl["phase"] == "exercise"]
    assert 150 <= hr.max() <= 160 and ex.max() == hr.max()
    assert ex[-5:].mean() - ex[:5].mean() > 60               # ramps up during exercise
    end = hr[-10:]                                           # last ~28 s
    assert 84 <= end.mean() <= 96
    # hr[k] is the mean instantaneous HR over [2k, 2k + 8) s
    t = rec.t
    for k in (0, 50, 100, 176):
        m = (t >= 2 * k) & (t < 2 * k + 8)
        assert abs(rec.hr_inst[m].mean() - hr[k]) < 0.5


def test_window_hr_exact():
    rr = 0.75
    beats = np.arange(-2, 40) * rr
    starts, hr = S.window_hr(beats, n_samples=20 * 50, fs=50.0)
    assert np.array_equal(starts, np.arange(7) * 2.0)      # 20 s -> windows at 0..12 s
    assert np.allclose(hr, 80.0)


def test_ppg_peak_tracks_hr_in_clean_windows(rec):
    fs = rec.params.fs
    b, a = butter(4, [0.5 / (fs / 2), 4.0 / (fs / 2)], btype="band")
    x = filtfilt(b, a, rec.ppg)
    fl = rec.window_flags()
    n_win = int(8 * fs)
    err = {}
    for k, s in enumerate(rec.window_start):
        if fl["burst"][k] or fl["moving"][k]:
            continue
        i0 = int(round(s * fs))
        pk = 60 * _peak_hz(x[i0:i0 + n_win], fs, 0.5, 4.0)
        err.setdefault(fl["phase"][k], []).append(abs(pk - rec.hr_windows[k]))
    rest = np.array(err["rest"])
    assert len(rest) >= 15
    assert np.mean(rest < 3.0) >= 0.9, rest
    rec_ = np.array(err["recovery"])
    assert np.mean(rec_ < 3.0) >= 0.8, rec_


def test_motion_shows_in_acc_and_leaks_into_ppg(rec):
    fs = rec.params.fs
    fl = rec.window_flags()
    n_win = int(8 * fs)
    hits = total = 0
    for k, s in enumerate(rec.window_start):
        if fl["phase"][k] != "exercise" or fl["burst"][k]:
            continue
        i0 = int(round(s * fs))
        seg = slice(i0, i0 + n_win)
        if rec.activity[seg].min() < 0.5:
            continue
        cad = rec.cadence[seg].mean()
        assert 2.25 <= cad <= 2.85
        acc = rec.acc[seg] - rec.acc[seg].mean(axis=0)
        f = np.fft.rfftfreq(4096, 1.0 / fs)
        p = sum(np.abs(np.fft.rfft(acc[:, i] * np.hanning(n_win), 4096)) ** 2 for i in range(3))
        m = (f > 0.5) & (f < 6.0)
        pk = f[m][np.argmax(p[m])]
        total += 1
        hits += min(abs(pk - cad), abs(pk - cad / 2)) < 0.1
    assert total >= 50 and hits / total >= 0.95
    # the artifact exists only with motion, and is a sizeable fraction of the pulse while running
    art, pulse = rec.components["artifact"], rec.components["pulse"]
    run = rec.activity > 0.8
    still = rec.activity == 0
    burst = np.zeros(len(rec.t), dtype=bool)
    for a, b in rec.bursts:
        burst |= (rec.t >= a - 2) & (rec.t < b + 2)
    assert art[still & ~burst].std() < 2.0
    assert 0.5 * pulse[run].std() < art[run].std() < 3.0 * pulse[run].std()
    acc_dyn = rec.acc[run] - rec.acc[run].mean(axis=0)
    c = np.corrcoef(art[run], acc_dyn @ np.asarray(rec.params.coupling))[0, 1]
    assert c > 0.6


def test_other_rate_and_shared_layout(tmp_path):
    r = S.generate(S.SynthParams(fs=25.0, minutes=1.0, seed=7))
    assert len(r.t) == 1500 and r.acc.shape == (1500, 3) and r.ppg3.shape == (1500, 3)
    assert len(r.hr_windows) == 27
    root = S.write_shared(r, tmp_path / "shared", "synth_x")
    ppg = np.fromfile(root / "rec" / "synth_x.ppg.f32", dtype="<f4").reshape(-1, 3)
    acc = np.fromfile(root / "rec" / "synth_x.acc.f32", dtype="<f4").reshape(-1, 3)
    hr = np.fromfile(root / "rec" / "synth_x.hr.f32", dtype="<f4")
    assert ppg.shape == (1500, 3) and acc.shape == (1500, 3) and hr.shape == (27,)
    assert np.array_equal(ppg[:, 0], r.ppg.astype(np.float32))
    c = np.corrcoef(ppg.T)
    assert c[0, 1] > 0.9 and c[0, 2] > 0.9 and not np.array_equal(ppg[:, 0], ppg[:, 1])
    idx = json.loads((root / "index.json").read_text())
    assert idx[0]["id"] == "synth_x" and idx[0]["fs_hz"] == 25.0 and idx[0]["n_windows"] == 27
    assert S.generate(S.SynthParams(fs=25.0, minutes=1.0, seed=8)).ppg.tolist() != r.ppg.tolist()


def test_cli(tmp_path, capsys):
    assert S.main(["--out", str(tmp_path / "x"), "--minutes", "0.5", "--seed", "1",
                   "--shared-dir", str(tmp_path / "sh")]) == 0
    assert (tmp_path / "x.csv").exists() and (tmp_path / "x_hr.csv").exists()
    assert (tmp_path / "sh" / "rec" / "synth_demo.ppg.f32").exists()
    assert "windows" in capsys.readouterr().out
