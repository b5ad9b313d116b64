"""ppghr_tools.decode (the Python twin of include/ppghr/post/decode.hpp): brute-force references,
the generated prior, calibration, and the C++ parity.

Parity metric: max |py - cpp| over every posterior entry (forward filter, lag smoother,
forward-backward), required <= PARITY_TOL = 2e-5 (float32 C++ against float64 Python; measured
~1e-6 to 5e-6, printed with -s); Viterbi paths equal (or, where they differ, both paths' float64
log scores equal within 1e-4 absolute: a float32 near-tie; measured <= 1e-5 on 300-window
inputs, the C++ log score itself within 1e-6 relative); calibration apply() within 1e-6.

The C++ side is tests/decode_parity_main.cpp, taken from $PPGHR_BUILD_DIR (tests/ppghr_decode_parity)
when set, else <repo>/build/tests/ppghr_decode_parity, else compiled here with $CXX / g++ / c++;
the parity tests skip, saying why, when none of that works. The --check test and the BAMI-label
test need <repo>/../shared/data/bami and skip without it.
"""

import itertools
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import cpp_tool

from ppghr_tools import decode as D

REPO = Path(__file__).resolve().parents[2]
PARITY_TOL = 2e-5
N = D.NUM_CLASSES


# --------------------------------------------------------------------------------------------
# Brute force on a small state space
# --------------------------------------------------------------------------------------------

def small_problem(seed, n=5, T=6, masked=()):
    rng = np.random.default_rng(seed)
    q = rng.random(2 * D.MAX_DELTA + 1) + 0.05
    if seed % 2 == 0:       # symmetric for even seeds, a drift for odd ones
        q = 0.5 * (q + q[::-1])
    prior = D.TransitionPrior(q=q / q.sum(), floor=0.05)
    A = D.transition_matrix(prior, n)
    p = rng.dirichlet(np.full(n, 0.5), size=T)
    mask = np.ones(T, dtype=bool)
    mask[list(masked)] = False
    return D.likelihoods(p, mask, likelihood_floor=1e-3, power=0.8), A


def enumerate_paths(L, A):
    T, n = L.shape
    paths = np.array(list(itertools.product(range(n), repeat=T)))
    logw = np.log(1.0 / n) + np.log(L[0, paths[:, 0]])
    for k in range(1, T):
        logw += np.log(A[paths[:, k - 1], paths[:, k]]) + np.log(L[k, paths[:, k]])
    return paths, logw


@pytest.mark.parametrize("seed,masked", [(0, ()), (1, (0,)), (2, (2, 3)), (3, (5,)), (4, (0, 1, 2, 3, 4, 5))])
def test_viterbi_and_marginals_equal_enumeration(seed, masked):
    L, A = small_problem(seed, masked=masked)
    T, n = L.shape
    paths, logw = enumerate_paths(L, A)
    path, score = D.viterbi(L, A)
    best = int(np.argmax(logw))
    # Windows without evidence and a symmetric q make exact ties: compare the path itself only
    # where the best is unique; its score must always be the maximum.
    if np.sort(logw)[-2] < logw[best] - 1e-9:
        np.testing.assert_array_equal(path, paths[best])
    assert score == pytest.approx(logw[best], rel=1e-12, abs=1e-12)
    assert D.path_log_score(path, L, A) == pytest.approx(logw[best], rel=1e-12, abs=1e-12)
    w = np.exp(logw - logw.max())
    w /= w.sum()
    marg = np.zeros((T, n))
    for k in range(T):
        np.add.at(marg[k], paths[:, k], w)
    fb = D.forward_backward(L, A)
    np.testing.assert_allclose(fb, marg, rtol=0, atol=1e-12)
    # The lag smoother with a lag covering the rest of the recording is forward-backward.
    np.testing.assert_allclose(D.lag_smoother(L, A, T), fb, rtol=0, atol=1e-12)
    # ... and with lag 0 the forward filter, whose last row is the last marginal.
    fwd = D.forward_filter(L, A)
    np.testing.assert_allclose(D.lag_smoother(L, A, 0), fwd, rtol=0, atol=1e-15)
    np.testing.assert_allclose(fwd[-1], marg[-1], rtol=0, atol=1e-12)
    # Lag l: row k conditions on windows 0..k+l: the marginal of a truncated enumeration.
    for lag in (1, 2):
        sm = D.lag_smoother(L, A, lag)
        for k in range(T):
            e = min(k + lag, T - 1)
            pp, lw = enumerate_paths(L[:e + 1], A)
            ww = np.exp(lw - lw.max())
            m = np.zeros(n)
            np.add.at(m, pp[:, k], ww)
            np.testing.assert_allclose(sm[k], m / m.sum(), rtol=0, atol=1e-12)


def test_transition_matrix_rows_and_edges():
    prior = D.TransitionPrior(q=D.gaussian_prior(3.0).q, floor=1e-3)
    A = D.transition_matrix(prior)
    np.testing.assert_allclose(A.sum(axis=1), 1.0, atol=1e-12)
    # Row-normalised over the valid classes: the edge row keeps all its in-band mass.
    assert A[0, :31].sum() == pytest.approx(1 - 1e-3 + 31e-3 / N, abs=1e-12)
    assert A[0, 0] > A[90, 90]


def test_fit_transition_prior_counts_and_shape():
    seqs = [np.array([100.2, 100.4, 101.6, 99.5, np.nan, 80.0, 200.0]), np.array([60.0, 62.0])]
    # rounded: 100,100,102,100,-,80,200 -> deltas 0, 2, -2 (nan breaks two), 120 dropped; then +2
    pr = D.fit_transition_prior(seqs, pseudocount=0.0, kernel=None)
    assert pr.transitions == 4 and pr.dropped == 1
    c = D.MAX_DELTA
    assert pr.q[c] == pytest.approx(0.25) and pr.q[c + 2] == pytest.approx(0.375) == pr.q[c - 2]
    assert pr.q.sum() == pytest.approx(1.0)
    sm = D.fit_transition_prior(seqs)
    assert np.all(sm.q > 0) and np.allclose(sm.q, sm.q[::-1])


def test_flat_likelihood_does_not_drift_and_edges_hold():
    A = D.transition_matrix(D.fit_transition_prior([np.arange(100, 160, 0.7)]))
    T = 200
    flat = D.likelihoods(np.full((T, N), 1.0 / N))
    for dec in (D.forward_filter(flat, A), D.forward_backward(flat, A)):
        # a flat likelihood keeps the belief near the stationary law: no mass piles at an edge
        assert dec[-1].max() < 3.0 / N
    for c in (0, N - 1, 90):
        p = np.full((T, N), 1e-4)
        p[:, c] = 1.0
        L = D.likelihoods(p / p.sum(axis=1, keepdims=True))
        assert np.all(np.argmax(D.forward_filter(L, A), axis=1) == c)
        assert np.all(np.argmax(D.forward_backward(L, A), axis=1) == c)
        assert np.all(D.viterbi(L, A)[0] == c)


# --------------------------------------------------------------------------------------------
# Calibration
# --------------------------------------------------------------------------------------------

def test_pav_is_isotonic_least_squares():
    rng = np.random.default_rng(0)
    y = rng.random(40) + np.linspace(0, 1, 40)
    s, e, v, w = D.pav(y)
    fit = np.concatenate([[vi] * (ei - si) for si, ei, vi in zip(s, e, v)])
    assert np.all(np.diff(fit) >= -1e-15)
    # block means are the means of their samples, and the fit beats any other monotone candidate
    for si, ei, vi in zip(s, e, v):
        assert vi == pytest.approx(y[si:ei].mean())
    assert ((fit - y) ** 2).sum() <= ((np.maximum.accumulate(y) - y) ** 2).sum() + 1e-12


def test_fit_calibration_recovers_a_known_map():
    rng = np.random.default_rng(1)
    raw = rng.random(20000)
    truth = lambda r: 0.1 + 0.8 * r ** 2   # noqa: E731
    correct = rng.random(raw.size) < truth(raw)
    x, y = D.fit_calibration(raw, correct)
    assert 2 <= len(x) <= D.MAX_KNOTS and np.all(np.diff(x) > 0) and np.all(np.diff(y) >= 0)
    grid = np.linspace(0.05, 0.95, 19)
    assert np.max(np.abs(D.apply_calibration((x, y), grid) - truth(grid))) < 0.08
    rows, ece_raw = D.calibration_curve(raw, correct, 10)
    _, ece_cal = D.calibration_curve(D.apply_calibration((x, y), raw), correct, 10)
    assert ece_cal < 0.02 < ece_raw
    # clamping at the ends, identity without knots
    assert D.apply_calibration((x, y), [-1.0, 2.0]).tolist() == [y[0], y[-1]]
    assert D.apply_calibration((np.zeros(0), np.zeros(0)), [0.3])[0] == np.float32(0.3)


# --------------------------------------------------------------------------------------------
# The generated prior
# --------------------------------------------------------------------------------------------

def bami_dir():
    d = D.DEFAULT_DATA
    if not (d / "index.json").is_file():
        pytest.skip(f"BAMI data not found at {d} (it lives outside the repository, in ../shared/data/bami)")
    return d


def test_prior_header_is_current():
    d = bami_dir()
    r = subprocess.run([sys.executable, "-m", "ppghr_tools.decode", "--check", "--data", str(d)],
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO / "tools")})
    assert r.returncode == 0, r.stdout + r.stderr


def test_bami_prior_shape():
    d = bami_dir()
    pr, n = D.bami_prior(d)
    s = pr.summary()
    print("BAMI-1 prior:", n, "recordings,", pr.transitions, "transitions,", s)
    assert n == 25 and pr.transitions > 9000
    half = pr.q[D.MAX_DELTA:]
    assert np.all(np.diff(half) <= 1e-12)          # non-increasing in |delta| after the smoothing
    assert 0.3 < s["P(|d|<=1)"] < 0.7 and s["P(|d|>5)"] < 0.15


# --------------------------------------------------------------------------------------------
# C++ parity
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def parity_exe(tmp_path_factory):
    return cpp_tool("ppghr_decode_parity", "decode_parity_main.cpp", tmp_path_factory)


def run_cpp(exe, tmp_path, p, mask=None, prior=None, floor=1e-3, lik_floor=1e-3, power=1.0, lag=3, calib=None, raw=None):
    T = p.shape[0]
    p.astype("<f4").tofile(tmp_path / "p.f32")
    cmd = [str(exe), "--in", str(tmp_path / "p.f32"), "--windows", str(T), "--out", str(tmp_path),
           "--floor", repr(floor), "--lik-floor", repr(lik_floor), "--power", repr(power), "--lag", str(lag)]
    if mask is not None:
        np.asarray(mask, dtype=np.uint8).tofile(tmp_path / "m.u8")
        cmd += ["--mask", str(tmp_path / "m.u8")]
    if prior is not None:
        np.asarray(prior, dtype="<f4").tofile(tmp_path / "q.f32")
        cmd += ["--prior", str(tmp_path / "q.f32")]
    if calib is not None:
        np.concatenate([calib[0], calib[1]]).astype("<f4").tofile(tmp_path / "k.f32")
        np.asarray(raw, dtype="<f4").tofile(tmp_path / "raw.f32")
        cmd += ["--calib", str(tmp_path / "k.f32"), "--raw", str(tmp_path / "raw.f32")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rd = lambda name, dt: np.fromfile(tmp_path / name, dtype=dt)   # noqa: E731
    out = {k: rd(k + ".f32", "<f4").reshape(T, N) for k in ("forward", "lag", "fb")}
    out["viterbi"] = rd("viterbi.i32", "<i4")
    out["scalars"] = rd("scalars.f64", "<f8")
    out["summary"] = rd("summary.f32", "<f4").reshape(T, 3)
    if calib is not None:
        out["calib"] = rd("calib.f32", "<f4")
    return out


def bami_q():
    """The q the C++ uses by default: the committed header's table."""
    text = (REPO / "include" / "ppghr" / "post" / "prior_bami.hpp").read_text()
    body = text.split("kBamiTransitionPrior[61] = {")[1].split("}")[0]
    return np.array([float(v.strip().rstrip("f")) for v in body.split(",") if v.strip()])


def compare(p, cpp, mask=None, q=None, floor=1e-3, lik_floor=1e-3, power=1.0, lag=3, label=""):
    q = bami_q() if q is None else np.asarray(q, dtype=np.float32).astype(np.float64)
    A = D.transition_matrix(D.TransitionPrior(q=q / q.sum(), floor=np.float32(floor)))
    L = D.likelihoods(p.astype(np.float32).astype(np.float64), mask, likelihood_floor=np.float32(lik_floor),
                      power=np.float32(power))
    fwd, fb, sm = D.forward_filter(L, A), D.forward_backward(L, A), D.lag_smoother(L, A, lag)
    diffs = {"forward": np.abs(fwd - cpp["forward"]).max(), "lag": np.abs(sm - cpp["lag"]).max(),
             "fb": np.abs(fb - cpp["fb"]).max()}
    print(f"{label}: max |py - cpp| " + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items()))
    for k, v in diffs.items():
        assert v <= PARITY_TOL, (k, v)
    path, score = D.viterbi(L, A)
    cpath = cpp["viterbi"].astype(np.int64)
    if not np.array_equal(path, cpath):
        s_cpp = D.path_log_score(cpath, L, A)
        assert abs(s_cpp - score) <= 1e-4, "Viterbi paths differ beyond a near-tie"
        print(f"{label}: Viterbi near-tie, {np.sum(path != cpath)} windows differ, log scores {score:.6f} vs {s_cpp:.6f}")
    print(f"{label}: Viterbi log score py {score:.6f} cpp {cpp['scalars'][0]:.6f}")
    assert cpp["scalars"][0] == pytest.approx(score, rel=2e-6)
    # log evidence: sum of the log normalisers
    n = L.shape[1]
    b = np.full(n, 1.0 / n)
    log_z = 0.0
    for k in range(L.shape[0]):
        a = (b if k == 0 else A.T @ b) * L[k]
        log_z += np.log(a.sum())
        b = a / a.sum()
    assert cpp["scalars"][1] == pytest.approx(log_z, rel=1e-5)
    am = D.posterior_argmax_bpm(fb)
    summ = cpp["summary"]
    np.testing.assert_allclose(summ[:, 0], D.posterior_mean_bpm(fb), rtol=0, atol=1e-3)
    same = summ[:, 1] == am        # argmax may differ only at a float near-tie
    assert same.mean() > 0.99
    np.testing.assert_allclose(summ[same, 2], D.posterior_mass_within(fb[same], am[same], 5.0), rtol=0, atol=PARITY_TOL)
    return diffs


def random_inputs(seed, T):
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.full(N, 0.05), size=T)


def real_looking_inputs(seed, T, hr=None):
    """A heart-rate trajectory (or the given one) seen through a network-like softmax: a peak of
    width ~3 BPM at the truth, 15% of windows locked on a motion artefact elsewhere, and noise."""
    rng = np.random.default_rng(seed)
    if hr is None:
        hr = np.clip(110 + np.cumsum(rng.normal(0, 1.5, T)), 40, 200)
    c = np.arange(N) + D.MIN_BPM
    logits = np.empty((T, N))
    for k in range(T):
        centre = hr[k] if rng.random() > 0.15 else rng.uniform(40, 200)
        logits[k] = -0.5 * ((c - centre) / 3.0) ** 2 * rng.uniform(0.5, 2) + rng.normal(0, 0.7, N)
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("seed,lag,power,floor,masked", [
    (0, 0, 1.0, 1e-3, False), (1, 3, 1.0, 1e-3, True), (2, 7, 0.6, 1e-2, True), (3, 64, 1.3, 1e-4, False)])
def test_parity_random(parity_exe, tmp_path, seed, lag, power, floor, masked):
    T = 80
    p = random_inputs(seed, T)
    mask = None
    if masked:
        mask = np.random.default_rng(seed + 100).random(T) > 0.2
        mask[0] = seed % 2 == 0     # also a first window without evidence
    cpp = run_cpp(parity_exe, tmp_path, p, mask=mask, floor=floor, power=power, lag=lag)
    compare(p, cpp, mask=mask, floor=floor, power=power, lag=lag, label=f"random seed {seed}")


@pytest.mark.parametrize("seed,lag", [(10, 5), (11, 15)])
def test_parity_real_looking(parity_exe, tmp_path, seed, lag):
    T = 300
    p = real_looking_inputs(seed, T)
    mask = np.ones(T, dtype=bool)
    mask[100:112] = False       # a gap of 24 s without evidence
    cpp = run_cpp(parity_exe, tmp_path, p, mask=mask, lag=lag)
    compare(p, cpp, mask=mask, lag=lag, label=f"real-looking seed {seed}")
    # a Gaussian prior given on the command line
    q = D.gaussian_prior(3.0).q
    cpp = run_cpp(parity_exe, tmp_path, p, prior=q, lag=lag)
    compare(p, cpp, q=q, lag=lag, label=f"real-looking seed {seed}, gaussian prior")
    # an asymmetric prior (a drift upwards): catches a reversed kernel in either direction
    q = D.gaussian_prior(4.0).q * np.linspace(0.5, 1.5, 2 * D.MAX_DELTA + 1)
    cpp = run_cpp(parity_exe, tmp_path, p, prior=q, floor=1e-2, lag=lag)
    compare(p, cpp, q=q, floor=1e-2, lag=lag, label=f"real-looking seed {seed}, drifting prior")


def test_parity_bami_labels(parity_exe, tmp_path):
    """Probabilities made from a real BAMI-2 label trajectory (the prior is learnt on BAMI-1)."""
    d = bami_dir()
    hr = np.fromfile(d / "rec" / "bami2_03.hr.f32", dtype="<f4").astype(np.float64)
    p = real_looking_inputs(7, len(hr), hr=hr)
    cpp = run_cpp(parity_exe, tmp_path, p, lag=10)
    compare(p, cpp, lag=10, label="bami2_03 labels")


def test_parity_calibration(parity_exe, tmp_path):
    rng = np.random.default_rng(3)
    raw = rng.random(5000)
    x, y = D.fit_calibration(raw, rng.random(raw.size) < raw ** 1.5)
    probe = np.concatenate([rng.random(2000), x, [-0.5, 0.0, 1.0, 1.5], (x[:-1] + x[1:]) / 2]).astype(np.float32)
    p = random_inputs(0, 2)
    cpp = run_cpp(parity_exe, tmp_path, p, calib=(x, y), raw=probe)
    py = D.apply_calibration((x, y), probe)
    diff = np.abs(py - cpp["calib"]).max()
    print(f"calibration: {len(x)} knots, max |py - cpp| {diff:.2e}")
    assert diff <= 1e-6
