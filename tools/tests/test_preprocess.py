"""ppghr_tools.preprocess: the Python twin of include/ppghr/dsp, and its parity with the C++.

Parity metric (everywhere below): for every window and channel row,
max |py - cpp| / max |py|, required <= 1e-5 (a row that Python leaves all zeros, i.e. flat or
non-finite, must be all zeros in C++ too, and the statuses must be equal).

The C++ side is tests/dsp_parity_main.cpp. It is taken from $PPGHR_BUILD_DIR (tests/ppghr_dsp_parity
or ppghr_dsp_parity there) when that is set, else from <repo>/build/tests/ppghr_dsp_parity, else
compiled here with $CXX / g++ / c++ (header-only: one command, a few seconds); the C++ tests skip,
saying why, when none of that works. The BAMI test needs <repo>/../shared/data/bami, the wrist
test <repo>/../shared/data/wrist (256 Hz); both skip, saying so, without them.

Rates off the exact polyphase path (band-limited interpolation: 200, 256, 1000 Hz, non-integer
25.6, 33.3, 102.4 Hz, ...): measured max relative difference C++ vs Python 0 (the float32 windows
are bit-identical) on the synthetic recordings and on the wrist recordings.
"""

import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import cpp_tool
import scipy.signal

from ppghr_tools import preprocess as pp

REPO = Path(__file__).resolve().parents[2]
TOL = 1e-5


# --------------------------------------------------------------------------------------------
# Python side on its own
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fs_out", [pp.RESNET_RATE, pp.PULSE_RATE])
@pytest.mark.parametrize("fs_in", pp.COMMON_SENSOR_RATES)
def test_resample_equals_upfirdn(fs_in, fs_out):
    """The gather implementation equals scipy.signal.upfirdn with the same (branch-normalised)
    prototype, read at upsampled index n*down + delay: i.e. output n sits at time n / fs_out."""
    d = pp.resampler_design(fs_in, fs_out)
    g = pp.resampler_branches(d)
    np.testing.assert_allclose(g.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    h = g.T.reshape(-1)[:d.taps] if not d.identity else np.ones(1)   # h'[p + q up] = g[p, q]
    rng = np.random.default_rng(fs_in)
    x = rng.standard_normal(30 * fs_in)
    y = pp.resample(x, fs_in, fs_out)
    z = scipy.signal.upfirdn(h, x, d.up, 1)
    n = np.arange(len(y))
    m = n * d.down + d.delay
    inner = (m - (d.taps - 1) >= 0) & (m < len(x) * d.up)   # no edge extension involved
    assert inner.sum() > 20 * fs_out
    np.testing.assert_allclose(y[inner], z[m[inner]], rtol=0, atol=1e-12)


def test_design_is_firwin_kaiser():
    d = pp.resampler_design(128, 25)
    assert (d.up, d.down, d.taps % 2) == (25, 128, 1)
    h = scipy.signal.firwin(d.taps, 12.5, window=("kaiser", d.beta), fs=25 * 128)
    g = pp.resampler_branches(d)
    hp = np.zeros(d.up * d.taps_per_phase)
    hp[:d.taps] = h
    ref = hp.reshape(d.taps_per_phase, d.up).T
    np.testing.assert_allclose(g, ref / ref.sum(axis=1, keepdims=True), rtol=0, atol=1e-15)


@pytest.mark.parametrize("fs", [pp.RESNET_RATE, pp.PULSE_RATE])
def test_sosfiltfilt_equals_filtfilt(fs):
    """Why sosfiltfilt is safe to choose: same pad length (27) and initial conditions as
    filtfilt(b, a); on real windows the two agree to ~1e-10 relative."""
    sos = pp.bandpass_sos(fs)
    b, a = scipy.signal.butter(4, [0.5, 4.0], btype="band", fs=fs)
    assert 3 * max(len(a), len(b)) == 27
    x = pp.synthetic_recording(8 * fs * 10, fs, 1)[:, 0].astype(np.float64).reshape(10, -1)
    ys = scipy.signal.sosfiltfilt(sos, x, axis=-1)
    yb = scipy.signal.filtfilt(b, a, x, axis=-1)
    rel = np.max(np.abs(ys - yb), axis=-1) / np.max(np.abs(ys), axis=-1)
    assert rel.max() < 1e-8


def test_window_count_and_shapes():
    for fs in pp.COMMON_SENSOR_RATES:
        for n in (8 * fs - 1, 8 * fs, 10 * fs - 1, 10 * fs, 37 * fs + 3):
            w = pp.windows_from_recording(pp.synthetic_recording(n, fs)[:, 0], fs)
            assert w.shape == (pp.n_windows(n, fs), 200) and w.dtype == np.float32
    w = pp.windows_from_recording(pp.synthetic_recording(20 * 50, 50, 4), 50, "pulse",
                                  input_norm=pp.PULSE_GOLDEN_NORM)
    assert w.shape == (7, 4, 256)
    with pytest.raises(ValueError):
        pp.windows_from_recording(np.zeros((1000, 3)), 50, "pulse")


def test_zscore_flat_and_non_finite():
    x = np.full(30 * 64, 30000.0, dtype=np.float32)
    w, st = pp.windows_from_recording(x, 64, return_status=True)
    assert np.all(st == pp.STATUS_FLAT) and np.all(w == 0)
    x = pp.synthetic_recording(40 * 100, 100)[:, 0]
    x[1500] = np.nan
    w, st = pp.windows_from_recording(x, 100, return_status=True)
    assert np.all(np.isfinite(w))
    assert set(np.flatnonzero(st == pp.STATUS_NON_FINITE)) >= {4, 5, 6, 7}
    ok = st == pp.STATUS_OK
    assert ok[0] and ok[-1]
    m, s = w[ok].mean(axis=-1), w[ok].std(axis=-1)
    assert np.abs(m).max() < 1e-5 and np.abs(s - 1).max() < 1e-5


def test_committed_golden_is_current():
    committed = pp.parse_golden_values((REPO / "tests" / "dsp_golden.hpp").read_text())
    fresh = pp.parse_golden_values(pp.render_golden())
    for name in committed:
        assert committed[name].shape == fresh[name].shape, name
        den = max(float(np.max(np.abs(fresh[name]))), 1e-30)
        assert float(np.max(np.abs(committed[name] - fresh[name]))) / den <= TOL, name


# --------------------------------------------------------------------------------------------
# Python vs C++
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def parity_exe(tmp_path_factory):
    return cpp_tool("ppghr_dsp_parity", "dsp_parity_main.cpp", tmp_path_factory)


def run_cpp(exe, tmp_path, x, fs, net, norm=None, chunk="1000", design=False):
    x = np.ascontiguousarray(x, dtype=np.float32)
    ch = 1 if x.ndim == 1 else x.shape[1]
    inp, out, st, des = (tmp_path / n for n in ("in.f32", "out.f32", "st.u8", "design.txt"))
    x.tofile(inp)
    cmd = [str(exe), "--net", net, "--fs", repr(float(fs)), "--channels", str(ch), "--in", str(inp),
           "--out", str(out), "--status", str(st), "--chunk", chunk]
    if norm is not None:
        cmd += ["--norm", ",".join(f"{m!r},{s!r}" for m, s in norm)]
    if design:
        cmd += ["--design", str(des)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    length = pp.WINDOW_S * pp.NETS[net][0]
    w = np.fromfile(out, dtype="<f4").reshape(-1, ch, length)
    s = np.fromfile(st, dtype=np.uint8).reshape(-1, ch)
    return w, s, (des.read_text() if design else None)


def compare(x, fs, net, cpp_w, cpp_s, norm=None):
    py_w, py_s = pp.windows_from_recording(x, fs, net, input_norm=norm, return_status=True)
    py_w = py_w.reshape(len(py_w), -1, py_w.shape[-1])
    assert py_w.shape == cpp_w.shape
    np.testing.assert_array_equal(py_s.reshape(cpp_s.shape), cpp_s)
    peak = np.max(np.abs(py_w), axis=-1)
    diff = np.max(np.abs(py_w - cpp_w), axis=-1)
    zero_rows = peak == 0
    assert np.all(diff[zero_rows] == 0)
    rel = diff[~zero_rows] / peak[~zero_rows]
    return float(rel.max()) if rel.size else 0.0


@pytest.mark.parametrize("chunk", ["1", "1000", "random"])
@pytest.mark.parametrize("fs", pp.COMMON_SENSOR_RATES)
def test_parity_synthetic_resnet(parity_exe, tmp_path, fs, chunk):
    x = pp.synthetic_recording(41 * fs + 5, fs)[:, 0]
    x[25 * fs:26 * fs] = np.float32(2500.0)   # a step, for good measure
    w, s, _ = run_cpp(parity_exe, tmp_path, x, fs, "resnet", chunk=chunk)
    assert len(w) == pp.n_windows(len(x), fs) == 17
    assert compare(x, fs, "resnet", w, s) <= TOL


@pytest.mark.parametrize("fs", pp.COMMON_SENSOR_RATES)
def test_parity_synthetic_pulse(parity_exe, tmp_path, fs):
    x = pp.synthetic_recording(23 * fs, fs, 4)
    w, s, _ = run_cpp(parity_exe, tmp_path, x, fs, "pulse", norm=pp.PULSE_GOLDEN_NORM, chunk="random")
    assert compare(x, fs, "pulse", w, s, norm=pp.PULSE_GOLDEN_NORM) <= TOL
    w, s, _ = run_cpp(parity_exe, tmp_path, x, fs, "pulse")   # no normalisation
    assert compare(x, fs, "pulse", w, s) <= TOL


def test_parity_flat_and_non_finite(parity_exe, tmp_path):
    fs = 50
    x = pp.synthetic_recording(40 * fs, fs)[:, 0]
    x[:9 * fs] = 1234.0
    x[20 * fs] = np.nan
    x[30 * fs] = np.inf
    w, s, _ = run_cpp(parity_exe, tmp_path, x, fs, "resnet", chunk="random")
    assert {0, 1, 2} <= set(s.ravel().tolist())
    assert compare(x, fs, "resnet", w, s) <= TOL


@pytest.mark.parametrize("fs", pp.COMMON_SENSOR_RATES)
def test_cpp_design_matches_python_and_scipy(parity_exe, tmp_path, fs):
    for net in ("resnet", "pulse"):
        x = pp.synthetic_recording(9 * fs, fs, 1 if net == "resnet" else 4)
        _, _, text = run_cpp(parity_exe, tmp_path, x, fs, net, design=True)
        lines = text.strip().split("\n")
        up, down, taps, k, delay = map(int, lines[0].split()[1:])
        d = pp.resampler_design(fs, pp.NETS[net][0])
        assert (up, down, taps, k, delay) == (d.up, d.down, d.taps, d.taps_per_phase, d.delay)
        branches = np.array([[float(v) for v in ln.split()] for ln in lines[1:1 + up]])
        np.testing.assert_allclose(branches, pp.resampler_branches(d), rtol=0, atol=1e-12)
        sos = np.array([[float(v) for v in ln.split()] for ln in lines[2 + up:6 + up]])
        np.testing.assert_allclose(sos, pp.bandpass_sos(pp.NETS[net][0]), rtol=0, atol=1e-12)


NEW_RATES = [16, 200, 250, 256, 400, 500, 1000, 1024, 25.6, 51.2, 102.4, 33.3]


def test_rate_range_and_paths():
    """Integer rates whose polyphase filter fits the default capacity keep the exact polyphase path
    (bit-identical with before); the others interpolate; outside [16, 1024] Hz: an error."""
    for fs in pp.COMMON_SENSOR_RATES + (16, 20, 30):
        assert pp.uses_polyphase(fs, 25) and pp.uses_polyphase(fs, 32)
    for fs in (200, 256, 1000, 1024, 25.6, 102.4, 33.3):
        assert not pp.uses_polyphase(fs, 25) and not pp.uses_polyphase(fs, 32)
        d = pp.interp_design(fs, 25)
        assert 2 * d.half <= 816
    for fs in (15.99, 1024.5, 0, float("nan")):
        with pytest.raises(ValueError):
            pp.windows_from_recording(np.zeros(20000, np.float32), fs)


@pytest.mark.parametrize("fs", [25.6, 33.3, 102.4, 256, 1000])
def test_interpolation_response(fs):
    """The Python twin alone: 0.8 x the lower Nyquist passes (< 0.05 dB), DC 30000 does not leak,
    output n is the signal at n / fs_out."""
    for fs_out in (pp.RESNET_RATE, pp.PULSE_RATE):
        nyq = 0.5 * min(fs, fs_out)
        t_in = np.arange(int(20 * fs)) / fs
        t_out = np.arange(20 * fs_out) / fs_out
        y = pp.resample(np.sin(2 * np.pi * 0.8 * nyq * t_in), fs, fs_out)
        inner = slice(2 * fs_out, 18 * fs_out)
        a = np.linalg.lstsq(np.stack([np.cos(2 * np.pi * 0.8 * nyq * t_out[inner]),
                                      np.sin(2 * np.pi * 0.8 * nyq * t_out[inner])], 1), y[inner], rcond=None)[0]
        assert abs(20 * np.log10(np.hypot(*a))) < 0.05
        y = pp.resample(30000 + 10 * np.sin(2 * np.pi * 1.5 * t_in), fs, fs_out)
        assert np.max(np.abs(y[inner] - (30000 + 10 * np.sin(2 * np.pi * 1.5 * t_out[inner])))) < 0.01


@pytest.mark.parametrize("fs", NEW_RATES)
def test_parity_synthetic_new_rates(parity_exe, tmp_path, fs):
    n = int(41 * fs) + 5
    x = pp.synthetic_recording(n, fs)[:, 0]
    w, s, _ = run_cpp(parity_exe, tmp_path, x, fs, "resnet", chunk="random")
    assert len(w) == pp.n_windows(len(x), fs) == 17
    assert compare(x, fs, "resnet", w, s) <= TOL
    x4 = pp.synthetic_recording(int(23 * fs), fs, 4)
    w, s, _ = run_cpp(parity_exe, tmp_path, x4, fs, "pulse", chunk="random")   # raw: the resampled signal
    assert compare(x4, fs, "pulse", w, s) <= TOL
    py = pp.windows_from_recording(x4, fs, "pulse")
    diff = float(np.max(np.abs(py - w)))
    print(f"{fs} Hz: pulse raw windows max |C++ - Python| = {diff:.3g}")   # measured: 0
    assert diff <= 1e-6 * float(np.max(np.abs(py)))


@pytest.fixture(scope="session")
def wrist_root():
    root = pp.REPO_ROOT.parent / "shared" / "data" / "wrist"
    if not (root / "index.json").is_file():
        pytest.skip(f"wrist data not found at {root} (it lives outside the repository, in ../shared/data/wrist)")
    return root


@pytest.mark.parametrize("rid", ["wrist_s9_walk", "wrist_s4_run"])
def test_parity_wrist_256hz(parity_exe, tmp_path, wrist_root, rid):
    """Real 256 Hz recordings (interpolation path): the ResNet windows and PULSE's raw windows."""
    import json
    entry = {e["id"]: e for e in json.loads((wrist_root / "index.json").read_text())["recordings"]}.get(rid)
    if entry is None:
        pytest.skip(f"{rid} is not in {wrist_root}/index.json")
    fs = float(entry["fs_hz"])
    ppg = np.fromfile(wrist_root / "rec" / f"{rid}.ppg.f32", dtype="<f4")
    acc = np.fromfile(wrist_root / "rec" / f"{rid}.acc.f32", dtype="<f4").reshape(-1, 3)
    w, s, _ = run_cpp(parity_exe, tmp_path, ppg, fs, "resnet", chunk="random")
    assert len(w) == pp.n_windows(len(ppg), fs) >= entry["n_windows"]
    rel = compare(ppg, fs, "resnet", w, s)
    print(f"{rid} resnet: {len(w)} windows, max relative difference {rel:.3g}")   # measured: 0
    assert rel <= TOL
    x4 = np.concatenate([ppg[:, None], acc], axis=1)
    w, s, _ = run_cpp(parity_exe, tmp_path, x4, fs, "pulse", chunk="1000")
    rel = compare(x4, fs, "pulse", w, s)
    print(f"{rid} pulse: {len(w)} windows, max relative difference {rel:.3g}")   # measured: 0
    assert rel <= TOL


@pytest.fixture(scope="session")
def bami_root():
    root = pp.bami_root()
    if not (root / "index.json").is_file():
        pytest.skip(f"BAMI data not found at {root} (it lives outside the repository, in ../shared/data/bami)")
    return root


def test_load_bami(bami_root):
    rec = pp.load_bami("BAMI1_01", bami_root)
    assert rec.fs == 50 and rec.ppg.shape == (31501, 3) and rec.acc.shape == (31501, 3)
    assert len(rec.hr) == pp.n_windows(len(rec.ppg), rec.fs) == 312
    assert pp.bami_ids(bami_root)[0] == "bami1_01"


@pytest.mark.parametrize("rid", ["BAMI1_01", "BAMI2_18"])
def test_parity_bami(parity_exe, tmp_path, bami_root, rid):
    """A real recording: channel 0 for the ResNet; PPG 0 + ACC xyz for PULSE (with constants
    made up from the recording itself: only parity is tested here). BAMI2_18 is the recording
    with 11% clipped samples."""
    rec = pp.load_bami(rid, bami_root)
    x = rec.ppg[:, 0].copy()
    w, s, _ = run_cpp(parity_exe, tmp_path, x, rec.fs, "resnet", chunk="random")
    assert len(w) >= len(rec.hr)
    rel = compare(x, rec.fs, "resnet", w, s)
    print(f"{rid} resnet: {len(w)} windows, max relative difference {rel:.3g}")
    assert rel <= TOL
    x4 = np.concatenate([rec.ppg[:, :1], rec.acc], axis=1)
    norm = [(float(np.mean(x4[:, c])), float(np.std(x4[:, c]))) for c in range(4)]
    w, s, _ = run_cpp(parity_exe, tmp_path, x4, rec.fs, "pulse", norm=norm, chunk="1")
    rel = compare(x4, rec.fs, "pulse", w, s, norm=norm)
    print(f"{rid} pulse: {len(w)} windows, max relative difference {rel:.3g}")
    assert rel <= TOL
