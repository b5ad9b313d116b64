"""int8 quantisation (tools/ppghr_tools/quant.py, docs/int8.md): the fixed-point primitives against
exact rational references, every int8 op against a plain loop over Python ints (exact equality),
an int8 network against its float twin, and the int8 blob (dtype 2) round trip and error codes."""

import math
import struct
import zlib
from collections import OrderedDict
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from ppghr_tools import archs as A
from ppghr_tools import blob as B
from ppghr_tools import quant as Q

REPO = Path(__file__).resolve().parents[2]
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


# --- exact references (Python ints and Fractions) --------------------------------------------

def ref_srdhm(a: int, b: int) -> int:
    # a * b / 2^31 rounded to nearest, ties toward +inf (that is what the nudge + truncation does),
    # saturated at INT32_MIN * INT32_MIN
    if a == b == I32_MIN:
        return I32_MAX
    return math.floor(Fraction(a * b, 1 << 31) + Fraction(1, 2))


def ref_round_away(fr: Fraction) -> int:
    return math.floor(fr + Fraction(1, 2)) if fr >= 0 else -math.floor(-fr + Fraction(1, 2))


def ref_rdbpot(x: int, e: int) -> int:
    return ref_round_away(Fraction(x, 1 << e))


def ref_requantize(acc: int, m: int, shift: int) -> int:
    x = max(I32_MIN, min(I32_MAX, acc * (1 << max(shift, 0))))
    return ref_rdbpot(ref_srdhm(x, m), max(-shift, 0))


def _edge_ints(rng, n):
    edges = [0, 1, -1, 2, -2, I32_MIN, I32_MAX, I32_MIN + 1, I32_MAX - 1, 1 << 30, -(1 << 30), (1 << 30) + 1,
             -(1 << 30) - 1, 12345, -12345]
    return edges + [int(v) for v in rng.randint(I32_MIN, I32_MAX, n, dtype=np.int64)] + \
        [int(v) for v in rng.randint(-(1 << 16), 1 << 16, n)]


# --- primitives ------------------------------------------------------------------------------

def test_srdhm_exact():
    rng = np.random.RandomState(1)
    xs = _edge_ints(rng, 150)
    ms = _edge_ints(rng, 30)
    a = np.array([x for x in xs for _ in ms], np.int64)
    b = np.array([m for _ in xs for m in ms], np.int64)
    got = Q.srdhm(a, b)
    want = [ref_srdhm(int(x), int(y)) for x, y in zip(a, b)]
    assert got.tolist() == want
    assert int(Q.srdhm(I32_MIN, I32_MIN)) == I32_MAX
    # ties: a * b = +-2^30 is exactly half an output step: +0.5 -> 1, -0.5 -> 0 (toward +inf)
    assert int(Q.srdhm(1 << 15, 1 << 15)) == 1 and int(Q.srdhm(-(1 << 15), 1 << 15)) == 0
    assert int(Q.srdhm(3 << 29, 1 << 1)) == 2 and int(Q.srdhm(-(3 << 29), 2)) == -1


def test_rdbpot_exact_and_ties():
    rng = np.random.RandomState(2)
    xs = _edge_ints(rng, 200)
    for e in (0, 1, 2, 5, 13, 30, 31):
        got = Q.rdbpot(np.array(xs, np.int64), e)
        assert got.tolist() == [ref_rdbpot(x, e) for x in xs], e
    # ties away from zero
    assert Q.rdbpot(np.array([3, -3, 5, -5, 2, -2]), 1).tolist() == [2, -2, 3, -3, 1, -1]
    assert Q.rdbpot(np.array([6, -6, 7, -7]), 2).tolist() == [2, -2, 2, -2]
    # per-element exponents
    assert Q.rdbpot(np.array([6, 6, 6]), np.array([0, 1, 2])).tolist() == [6, 3, 2]


def test_requantize_exact_with_negative_and_positive_shifts():
    rng = np.random.RandomState(3)
    accs = [0, 1, -1, 1000, -1000, (1 << 24) + 7, -(1 << 24) - 7, I32_MAX, I32_MIN] + \
        [int(v) for v in rng.randint(-(1 << 26), 1 << 26, 300)]
    for real in (1e-9, 3.1e-6, 0.000123, 0.0271, 0.4999, 0.5, 0.75, 0.9999999, 1.0, 1.7, 13.0, 2.0 ** -31 * 1.5):
        m, sh = Q.quantize_multiplier(real)
        got = Q.requantize(np.array(accs, np.int64), m, sh)
        assert got.tolist() == [ref_requantize(a, m, sh) for a in accs], real
        # and it is acc * real to within one step where nothing saturates
        ok = [abs(a * real) < 2 ** 30 and abs(a) * 2 ** max(sh, 0) < 2 ** 31 for a in accs]
        err = np.abs(got.astype(np.float64) - np.array(accs, np.float64) * real)[ok]
        assert err.max() <= 1.0 + 1e-9, real
    # per-channel arrays broadcast
    acc = rng.randint(-100000, 100000, (4, 3, 5)).astype(np.int64)
    mm = [Q.quantize_multiplier(r) for r in (0.01, 0.3, 2.5)]
    got = Q.requantize(acc, np.array([m for m, _ in mm])[None, :, None], np.array([s for _, s in mm])[None, :, None])
    want = [[[ref_requantize(int(acc[i, c, t]), *mm[c]) for t in range(5)] for c in range(3)] for i in range(4)]
    assert got.tolist() == want


def test_quantize_multiplier():
    rng = np.random.RandomState(4)
    for real in list(np.exp(rng.uniform(np.log(1e-8), np.log(100.0), 500))) + [0.5, 0.25, 1.0, 2.0 ** -20]:
        m, sh = Q.quantize_multiplier(real)
        assert (1 << 30) <= m < (1 << 31)
        q, e = math.frexp(real)
        assert (m, sh) == (ref_round_away(Fraction(q) * (1 << 31)), e) or (m, sh) == (1 << 30, e + 1)
        assert abs(m * 2.0 ** (sh - 31) - real) <= real * 2.0 ** -31
    assert Q.quantize_multiplier(0.0) == (0, 0)
    assert Q.quantize_multiplier(2.0 ** -40) == (0, 0)                  # shift < -31 flushed to zero
    assert Q.quantize_multiplier(1.0 - 2.0 ** -40) == (1 << 30, 1)      # q rounds up to 1: carried into the shift
    assert Q.quantize_multiplier(0.5) == (1 << 30, 0)
    with pytest.raises(ValueError):
        Q.quantize_multiplier(-1.0)


def test_quantize_rounding_and_clamp():
    x = np.array([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, np.float32(0.49999997), 1e9, -1e9, 0.0], np.float32)
    assert Q.quantize(x, 1.0, 0).tolist() == [1, -1, 2, -2, 3, -3, 0, 127, -128, 0]
    assert Q.quantize(x, 1.0, -128).tolist() == [-127, -128, -126, -128, -125, -128, -128, 127, -128, -128]
    # the division is float32: 0.3 / 0.1 in float32 is 3.0000002 -> 3 (float64 would say 2.9999999999999996)
    assert int(Q.quantize(np.float32(0.3), np.float32(0.1), 0)) == 3
    # offset subtracted in float32 first
    assert Q.quantize(np.array([3.0, 1.0], np.float32), np.float32(0.5), 0, np.float32(1.0)).tolist() == [4, 0]
    s, z = Q.choose_qparams(0.0, 2.55)
    assert z == -128 and Q.dequantize(Q.quantize(np.float32(1.0), s, z), s, z) == pytest.approx(1.0, abs=float(s))
    s, z = Q.choose_qparams(-1.0, 1.0)
    assert s == np.float32(2.0 / 255) and z == -1    # -128 + 1 / s = -0.5000000x -> -1 (half away from zero)
    s, z = Q.choose_qparams(0.5, 3.0)               # widened to include 0
    assert z == -128 and s == np.float32(3.0 / 255)
    assert Q.choose_qparams(0.0, 0.0) == (np.float32(1.0), -128)


def test_choose_qparams_zero_point_exact():
    s, z = Q.choose_qparams(-1.0, 1.0)
    assert z == int(Q.round_half_away(-128 + 1.0 / float(s)))
    assert Q.quantize(np.float32(0.0), s, z) == z             # the real 0 is exactly representable


# --- int8 ops against plain loops --------------------------------------------------------------

def _rq(acc, m, sh, z, act):
    y = ref_requantize(acc, int(m), int(sh)) + z
    return max(max(-128, z) if act else -128, min(127, y))


def _rand_layer(rng, co, wshape):
    w = rng.randint(-127, 128, (co,) + wshape).astype(np.int8)
    b = rng.randint(-5000, 5000, co).astype(np.int32)
    mm = [Q.quantize_multiplier(r) for r in np.exp(rng.uniform(np.log(1e-4), np.log(0.05), co))]
    return w, b, np.array([m for m, _ in mm], np.int32), np.array([s for _, s in mm], np.int32)


@pytest.mark.parametrize("stride,dil,pl,pr,act", [(1, 1, 3, 3, 1), (2, 1, 2, 2, 0), (1, 2, 2, 2, 1), (2, 3, 0, 1, 0)])
def test_conv1d_int_matches_loop(stride, dil, pl, pr, act):
    rng = np.random.RandomState(10 + stride + dil)
    n, ci, co, length, k = 2, 3, 4, 11, 3
    l_out = (length + pl + pr - dil * (k - 1) - 1) // stride + 1
    x = rng.randint(-128, 128, (n, ci, length))
    zi, zo = int(rng.randint(-128, 128)), int(rng.randint(-128, 128))
    w, b, m, sh = _rand_layer(rng, co, (k, ci))
    got = Q.conv1d_int(x, zi, w, b, m, sh, zo, act, l_out, stride, dil, pl, pr)
    want = np.zeros((n, co, l_out), np.int64)
    for i in range(n):
        for o in range(co):
            for t in range(l_out):
                acc = int(b[o])
                for kk in range(k):
                    p = t * stride + dil * kk - pl
                    if 0 <= p < length:
                        for c in range(ci):
                            acc += int(w[o, kk, c]) * (int(x[i, c, p]) - zi)
                want[i, o, t] = _rq(acc, m[o], sh[o], zo, act)
    assert np.array_equal(got, want)


def test_row_conv_linear_modality_affine_match_loops():
    rng = np.random.RandomState(20)
    # ROW_CONV: every row its own conv1d
    n, ci, co, rows, length, k, dil, pad = 2, 2, 3, 4, 9, 3, 2, 2
    x = rng.randint(-128, 128, (n, ci, rows, length))
    w, b, m, sh = _rand_layer(rng, co, (k, ci))
    got = Q.row_conv_int(x, 5, w, b, m, sh, -7, 1, length, 1, dil, pad, pad)
    for r in range(rows):
        assert np.array_equal(got[:, :, r], Q.conv1d_int(x[:, :, r], 5, w, b, m, sh, -7, 1, length, 1, dil, pad, pad))
    # LINEAR
    x = rng.randint(-128, 128, (3, 10))
    w, b, m, sh = _rand_layer(rng, 6, (10,))
    got = Q.linear_int(x, -3, w, b, m, sh, 4, 0)
    want = [[_rq(int(b[o]) + sum(int(w[o, j]) * (int(x[i, j]) + 3) for j in range(10)), m[o], sh[o], 4, 0)
             for o in range(6)] for i in range(3)]
    assert got.tolist() == want
    # MODALITY_CONV: w [co][rows][ci]
    x = rng.randint(-128, 128, (2, 3, 4, 5))
    w, b, m, sh = _rand_layer(rng, 2, (4, 3))
    got = Q.modality_conv_int(x, 11, w, b, m, sh, -128, 1)
    want = [[[_rq(int(b[o]) + sum(int(w[o, h, c]) * (int(x[i, c, h, t]) - 11) for h in range(4) for c in range(3)),
                  m[o], sh[o], -128, 1) for t in range(5)] for o in range(2)] for i in range(2)]
    assert got.tolist() == want
    # AFFINE (depthwise 1x1)
    x = rng.randint(-128, 128, (2, 3, 7))
    w, b, m, sh = _rand_layer(rng, 3, ())
    got = Q.affine_int(x, -20, w, b, m, sh, -100, 1)
    want = [[[_rq(int(b[c]) + int(w[c]) * (int(x[i, c, t]) + 20), m[c], sh[c], -100, 1) for t in range(7)]
             for c in range(3)] for i in range(2)]
    assert got.tolist() == want


def test_add_int_matches_loop_and_float():
    rng = np.random.RandomState(30)
    for s1, s2, so in ((0.02, 0.05, 0.06), (0.1, 0.1, 0.15), (0.3, 0.01, 0.2)):
        m, sh = Q.add_params(s1, s2, so)
        assert (sh[:2] <= 0).all()
        x1, x2 = rng.randint(-128, 128, 500), rng.randint(-128, 128, 500)
        z1, z2, zo = -10, 30, 3
        got = Q.add_int(x1, z1, x2, z2, m, sh, zo)
        want = []
        for a, c in zip(x1.tolist(), x2.tolist()):
            v1 = ref_requantize((a - z1) << 20, int(m[0]), int(sh[0]))
            v2 = ref_requantize((c - z2) << 20, int(m[1]), int(sh[1]))
            want.append(max(-128, min(127, ref_requantize(v1 + v2, int(m[2]), int(sh[2])) + zo)))
        assert got.tolist() == want
        real = (x1 - z1) * np.float32(s1) + (x2 - z2) * np.float32(s2)
        exact = np.clip(real / so + zo, -128, 127)
        assert np.abs(got - exact).max() <= 1.0 + 1e-6     # within one output step of the real sum


def test_pools_and_channel_pad_match_loops():
    rng = np.random.RandomState(40)
    x = rng.randint(-128, 128, (2, 3, 12))
    # average pool: raw sum, rounding division half away from zero
    got = Q.avgpool_int(x, 3, 4, 4)
    for i in range(2):
        for c in range(3):
            for t in range(3):
                s = sum(int(v) for v in x[i, c, 4 * t:4 * t + 4])
                assert got[i, c, t] == ref_round_away(Fraction(s, 4))
    assert Q.div_round_away(np.array([2, -2, 6, -6, 5, -5, 7, -7]), 4).tolist() == [1, -1, 2, -2, 1, -1, 2, -2]
    assert Q.div_round_away(np.array([3, -3, 4, -4]), 3).tolist() == [1, -1, 1, -1]
    g = Q.global_avgpool_int(x)
    assert g.tolist() == [[ref_round_away(Fraction(int(x[i, c].sum()), 12)) for c in range(3)] for i in range(2)]
    r = Q.avgpool_int(rng.randint(-128, 128, (2, 3, 4, 8)), 4, 2, 2)
    assert r.shape == (2, 3, 4, 4)
    # max pool: zero padding is the zero point, -inf padding never wins
    x = rng.randint(-128, 128, (1, 2, 7))
    got = Q.maxpool_int(x, 50, 4, 2, 2, 0, 1, 0)
    xp = np.concatenate([x, np.full((1, 2, 1), 50)], axis=2)
    assert got.tolist() == [[[int(xp[0, c, 2 * t:2 * t + 2].max()) for t in range(4)] for c in range(2)]]
    got = Q.maxpool_int(x, 50, 4, 2, 2, 0, 1, 1)
    assert got[0, :, 3].tolist() == [int(x[0, c, 6]) for c in range(2)]
    p = Q.channel_pad_int(x, -9, 5, 1)
    assert p.shape == (1, 5, 7) and (p[0, 0] == -9).all() and (p[0, 3:] == -9).all() and np.array_equal(p[0, 1:3], x[0])


def test_window_norm_f32_is_the_cpp_float_loop():
    # include/ppghr/layers/window_norm.hpp WindowNorm<float>::forward, written as its loops over
    # numpy float32 scalars (sequential sums, every operation rounded to float32): exact equality
    f = np.float32
    rng = np.random.RandomState(50)
    rows, length = 4, 16
    x = (rng.randn(3, rows, length) * np.array([800.0, 0.1, 0.3, 0.02])[None, :, None] + 3.0).astype(f)
    got = Q.window_norm_f32(x, (rows, length, 50000))
    for w in range(3):
        mean, var = [], []
        for r in range(rows):
            s_ = f(0)
            for t in range(length):
                s_ = f(s_ + x[w, r, t])
            m = f(s_ / f(length))
            q = f(0)
            for t in range(length):
                d = f(x[w, r, t] - m)
                q = f(q + f(d * d))
            mean.append(m)
            var.append(f(q / f(length)))
        acc = f(0)
        for r in range(1, rows):
            acc = f(acc + var[r])
        s_ppg = max(f(np.sqrt(var[0])), f(1e-6))
        s_acc = max(f(np.sqrt(f(acc / f(rows - 1)))), f(50000 * 1e-6))
        for r in range(rows):
            for t in range(length):
                assert got[w, r, t] == f(f(x[w, r, t] - mean[r]) / (s_ppg if r == 0 else s_acc))


# --- networks ------------------------------------------------------------------------------------

def _random_tensors(arch, seed):
    rng = np.random.RandomState(seed)
    t = OrderedDict()
    for n, s in A.blob_tensor_spec(arch):
        if n == "input_norm":
            t[n] = np.array([[1.0, 2.0], [0.0, 1.0], [0.5, 0.5], [0.0, 3.0]], np.float32)
        elif n.endswith(".scale"):
            t[n] = (1 + 0.1 * rng.randn(*s)).astype(np.float32)
        else:
            fan_in = int(np.prod(s[1:])) if len(s) > 1 else 10
            t[n] = (rng.randn(*s) / np.sqrt(fan_in)).astype(np.float32)
    return t


def test_int8_specnet_close_to_float():
    # Bound: |int8 - float| <= 4% of the float logits' range on held-out random inputs (a few output
    # steps of 1/255 of the calibrated range through 6 requantised layers), and the float twin equals
    # the blob interpreter (reference.py) to 1e-12.
    from ppghr_tools import reference as R
    arch = A.get_arch("specnet2")
    t = _random_tensors(arch, 0)
    rng = np.random.RandomState(1)
    calib = rng.rand(200, 6, 180)
    calib[:, 5] = (np.arange(180) + 30 - 120) / 100.0
    x = rng.rand(20, 6, 180)
    x[:, 5] = calib[0, 5]
    net = Q.quantize_network(arch, t, calib)
    zf = net.forward_float(x)
    zr = np.stack([R.run(A.descriptor(arch), list(t.items()), xi) for xi in x[:3]])
    assert np.abs(zf[:3] - zr).max() < 1e-12
    q, zq = net.forward_int(x)
    assert q.dtype == np.int32 and zq.dtype == np.float32 and q.shape == (20, 180)
    err = np.abs(zq - zf).max() / (zf.max() - zf.min())
    assert err < 0.04, err
    # the float logits are exactly acc_scale * (float) acc of the last op (head2, one channel)
    assert np.array_equal(zq, net.t["head2.acc_scale"][0] * q.astype(np.float32))
    # the comparison variant: int8 logits, dequantised
    v = Q.quantize_network(arch, t, calib, int8_logits=True)
    qv, zv = v.forward_int(x)
    s, z = v.t["head2.out_scale"][0], int(v.t["head2.out_zero_point"][0])
    assert qv.dtype == np.int8 and np.array_equal(zv, np.float32(s) * (qv.astype(np.int64) - z).astype(np.float32))
    assert np.abs(zv - zf).max() / (zf.max() - zf.min()) < 0.04
    with pytest.raises(ValueError):
        v.to_blob()
    # the trace: every quantised activation, the last op's int32 accumulators
    tr = net.forward_trace(x[:2])
    assert list(tr) == ["input", "stem", "blocks.0.conv1", "blocks.0.conv2", "blocks.0.add", "blocks.1.conv1",
                        "blocks.1.conv2", "blocks.1.add", "head1", "head2"]
    assert np.array_equal(tr["head2"][0].reshape(2, -1), q[:2])


@pytest.mark.parametrize("name", ["tinycnn", "resnet3", "mlp1", "pulse_student_cls", "pulse_student_wn_cls"])
def test_int8_other_families_run_and_stay_close(name):
    arch = A.get_arch(name)
    t = _random_tensors(arch, 2)
    rng = np.random.RandomState(3)
    x = rng.randn(128, arch.in_channels, arch.in_length)
    net = Q.quantize_network(arch, t, x[:120])
    zf = net.forward_float(x[120:])
    _, zq = net.forward_int(x[120:])
    # random weights and inputs, calibrated on 120 windows: within 6% of the logits' range
    assert np.abs(zq - zf).max() / (zf.max() - zf.min()) < 0.06


def test_teacher_is_not_quantised():
    with pytest.raises(NotImplementedError):
        Q.int8_tensor_spec("pulse_teacher_cls")


# --- the int8 blob -------------------------------------------------------------------------------

def _int8_blob(name="specnet1"):
    arch = A.get_arch(name)
    rng = np.random.RandomState(5)
    net = Q.quantize_network(arch, _random_tensors(arch, 4), rng.rand(50, arch.in_channels, arch.in_length))
    return arch, net, net.to_blob()


def _reseal(buf):
    total = len(buf)
    struct.pack_into("<I", buf, total - 4, zlib.crc32(bytes(buf[:total - 4])) & 0xFFFFFFFF)
    return bytes(buf)


def test_int8_blob_round_trip():
    arch, net, data = _int8_blob()
    magic, vmaj, vmin, bom, dtype = struct.unpack_from("<4sHHII", data, 0)
    assert (magic, vmaj, vmin, dtype) == (b"PPGW", 1, 1, 2)
    b = B.read_blob(data, arch=arch)
    spec = Q.int8_tensor_spec(arch)
    assert [e.name for e in b.entries] == [n for n, _, _ in spec]
    assert b.element_types == [et for _, _, et in spec]
    for i, (n, dims, et) in enumerate(spec):
        assert struct.unpack_from("<I", data, 64 + 96 * i + 68)[0] == et
        assert b.tensors[n].dtype == {1: np.float32, 2: np.int8, 3: np.int32}[et]
        assert np.array_equal(b.tensors[n], net.t[n]) and b.entries[i].offset % 64 == 0
    # canonical placement: align64(element size x count) per tensor
    _, offs, total = B.layout([d for _, d, _ in spec], [B.ETYPE_SIZE[et] for _, _, et in spec])
    assert [e.offset for e in b.entries] == offs and total == len(data)
    back = Q.QNet.from_blob(data)
    assert back.arch == arch and back.to_blob() == data
    x = np.random.RandomState(6).rand(4, arch.in_channels, arch.in_length)
    assert np.array_equal(back.forward_int(x)[0], net.forward_int(x)[0])
    with pytest.raises(B.BlobError) as ei:
        B.blob_to_state_dict(arch, b)
    assert ei.value.code == "wrong_dtype"


def test_float_blobs_unchanged(tmp_path):
    # a dtype 1 blob still writes byte-identical (golden CRCs) with version 1.0 and zero entry words
    for p in sorted((REPO / "models").glob("*.ppgw")):
        data = p.read_bytes()
        b = B.read_blob(data)
        assert b.dtype == 1 and b.element_types is None
        assert B.write_blob(b.items(), b.fingerprint) == data, p.name
        assert struct.unpack_from("<HH", data, 4) == (1, 0)


def test_dtype3_reads_as_float_and_is_refused_by_the_importer():
    arch = A.get_arch("specnet1")
    t = _random_tensors(arch, 7)
    buf = bytearray(B.write_blob(list(t.items()), A.fingerprint(arch)))
    struct.pack_into("<I", buf, 12, 3)
    data = _reseal(buf)
    b = B.read_blob(data, arch=arch)
    assert b.dtype == 3 and all(a.dtype == np.float32 for a in b.tensors.values())
    with pytest.raises(B.BlobError) as ei:
        B.blob_to_state_dict(arch, b)
    assert ei.value.code == "wrong_dtype" and "kernels' order" in str(ei.value)


def test_corrupt_int8_blobs_rejected():
    arch, net, data = _int8_blob()

    def code(buf, a=arch):
        with pytest.raises(B.BlobError) as ei:
            B.read_blob(_reseal(bytearray(buf)), arch=a)
        return ei.value

    spec = Q.int8_tensor_spec(arch)
    iw = next(i for i, (_, _, et) in enumerate(spec) if et == 2)           # the first int8 weight
    buf = bytearray(data)
    struct.pack_into("<I", buf, 64 + 96 * iw + 68, 7)                       # no such element type
    e = code(buf)
    assert e.code == "bad_table" and e.tensor_index == iw
    e = code(buf, None)                                                     # also without an arch
    assert e.code == "bad_table"
    buf = bytearray(data)
    struct.pack_into("<I", buf, 64 + 96 * iw + 68, 3)                       # int8 stored claimed int32
    assert code(buf).code == "size_mismatch"
    buf = bytearray(data)
    struct.pack_into("<Q", buf, 64 + 96 * iw + 80, int(np.prod(spec[iw][1])) + 1)   # wrong count
    assert code(buf).code == "bad_table"
    buf = bytearray(data)
    struct.pack_into("<I", buf, 64 + 52, 5)                                 # wrong dims of tensor 0
    assert code(buf).code == "size_mismatch"
    buf = bytearray(data)
    struct.pack_into("<I", buf, 24, len(spec) - 1)                          # wrong tensor count
    assert code(buf).code == "size_mismatch"
    buf = bytearray(data)
    struct.pack_into("<I", buf, 12, 9)
    assert code(buf).code == "wrong_dtype"
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 1
    with pytest.raises(B.BlobError) as ei:
        B.read_blob(bytes(flipped), arch=arch)
    assert ei.value.code == "checksum_mismatch"
    # a float32 int8-blob tensor that is not finite
    i_scale = next(i for i, (n, _, _) in enumerate(spec) if n.endswith("out_scale"))
    buf = bytearray(data)
    struct.pack_into("<f", buf, B.read_blob(data).entries[i_scale].offset, float("nan"))
    assert code(buf).code == "non_finite_weight"


# --- real data (skips without ../shared) -----------------------------------------------------------

def test_specnet2_int8_on_a_real_recording():
    from ppghr_tools import datasets as DS
    from ppghr_tools import spectrain as ST
    if "bami" not in DS.available():
        pytest.skip("../shared/data/bami not found: the real-data int8 check needs it")
    blob = REPO / "models" / "specnet2_bami1.ppgw"
    ds = DS.dataset("bami")
    ids = [r for r in ds.ids() if r.startswith("bami1_")]
    feats = [ST.recording_features(ST.recording_spectra(DS.load_recording(r, ds))) for r in (ids[0], ids[-1])]
    fb = B.read_blob(blob)
    net = Q.quantize_network("specnet2", fb.tensors, feats[0])             # calibrate on one recording
    zf = net.forward_float(feats[1])
    _, zq = net.forward_int(feats[1])
    # on another recording: the int8 argmax is the float one or its neighbour (the logits' output
    # step, 1/255 of their calibrated range, is wider than the float top-2 gap in about half the
    # windows: docs/int8.md) in >= 95% of the windows
    d = np.abs(zf.argmax(1) - zq.argmax(1))
    assert (d <= 1).mean() >= 0.95, (d <= 1).mean()
    assert d.mean() < 1.0
