"""The distillation losses (ppghr_tools.losses) against values computed by hand, and gradient checks.

The hand computations below are written out step by step in plain numpy (float64), from the
formulas of ../shared/design/networks.md section 5, without calling the code under test: 4 classes,
batch 2.
"""

import math

import numpy as np
import pytest
import torch

from ppghr_tools import losses as L

# two windows, four classes
Z_S = np.array([[1.0, 2.0, 0.5, -1.0],
                [0.3, -0.2, 1.5, 0.0]])
Z_T = np.array([[0.5, 3.0, 0.0, -0.5],
                [1.0, 0.0, 2.0, -1.0]])
Y = np.array([1, 3])          # window 0: target = teacher's argmax; window 1: target != argmax (2)


def t64(a):
    return torch.tensor(a, dtype=torch.float64)


def softmax_row(v):
    e = [math.exp(x - max(v)) for x in v]
    s = sum(e)
    return [x / s for x in e]


def ce_row(z, label):
    # -log softmax(z)[label] = logsumexp(z) - z[label]
    m = max(z)
    return m + math.log(sum(math.exp(x - m) for x in z)) - z[label]


def kl(p, q):
    # KL(p || q) = sum_i p_i (log p_i - log q_i), 0 log 0 = 0
    return sum(pi * (math.log(pi) - math.log(qi)) for pi, qi in zip(p, q) if pi > 0)


# ------------------------------------------------------------------------------------------------
# hard

def test_hard_by_hand():
    # teacher argmax: window 0 -> class 1 (3.0), window 1 -> class 2 (2.0)
    targets = [int(np.argmax(Z_T[0])), int(np.argmax(Z_T[1]))]
    assert targets == [1, 2]
    ce0 = ce_row(list(Z_S[0]), 1)
    ce1 = ce_row(list(Z_S[1]), 2)
    expected = (ce0 + ce1) / 2
    # spelled out for window 0: logsumexp([1, 2, .5, -1]) - 2
    lse0 = math.log(math.exp(1) + math.exp(2) + math.exp(0.5) + math.exp(-1))
    assert ce0 == pytest.approx(lse0 - 2.0, abs=1e-14)
    got = L.hard_loss(t64(Z_S), t64(Z_T)).item()
    assert got == pytest.approx(expected, abs=1e-12)
    # the label plays no part
    assert got == pytest.approx(L.hard_loss(t64(Z_S), t64(Z_T)).item())


# ------------------------------------------------------------------------------------------------
# soft

@pytest.mark.parametrize("T", [1.0, 2.0, 4.0])
def test_soft_by_hand(T):
    total_kl = 0.0
    total_ce = 0.0
    for i in range(2):
        p_t = softmax_row([z / T for z in Z_T[i]])
        q_s = softmax_row([z / T for z in Z_S[i]])
        total_kl += kl(p_t, q_s)
        total_ce += ce_row(list(Z_S[i]), int(Y[i]))
    kl_mean = total_kl / 2
    ce_mean = total_ce / 2
    w_ce = 0.7
    expected = T * T * kl_mean + w_ce * ce_mean
    got = L.soft_loss(t64(Z_S), t64(Z_T), torch.tensor(Y), T=T, w_ce=w_ce).item()
    assert got == pytest.approx(expected, abs=1e-12)
    # the T^2 factor: the KL part alone equals T^2 x the plain KL of the tempered distributions
    assert L.soft_kl(t64(Z_S), t64(Z_T), T).item() == pytest.approx(T * T * kl_mean, abs=1e-12)


def test_soft_zero_when_student_equals_teacher():
    z = t64(Z_T)
    assert L.soft_kl(z, z, 2.0).item() == pytest.approx(0.0, abs=1e-15)


# ------------------------------------------------------------------------------------------------
# DKD

def dkd_by_hand(z_s, z_t, y, T):
    """TCKD, NCKD (each x T^2, batch mean), from the definitions."""
    tckd = nckd = 0.0
    n = len(y)
    for i in range(n):
        p_s = softmax_row([z / T for z in z_s[i]])
        p_t = softmax_row([z / T for z in z_t[i]])
        t = int(y[i])
        # binary split [p_y, 1 - p_y]
        b_s = [p_s[t], 1.0 - p_s[t]]
        b_t = [p_t[t], 1.0 - p_t[t]]
        tckd += kl(b_t, b_s)
        # non-target distributions: softmax(z/T - 1000 onehot(y)) = the others renormalised,
        # the target's entry exp(-1000 + ...) underflows to exactly 0 in float64
        hat_s = [0.0 if k == t else p_s[k] / (1.0 - p_s[t]) for k in range(len(p_s))]
        hat_t = [0.0 if k == t else p_t[k] / (1.0 - p_t[t]) for k in range(len(p_t))]
        nckd += kl(hat_t, hat_s)
    return T * T * tckd / n, T * T * nckd / n


def test_dkd_parts_by_hand():
    T = 2.0
    tckd, nckd = dkd_by_hand(Z_S, Z_T, Y, T)
    got_t, got_n = L.dkd_parts(t64(Z_S), t64(Z_T), torch.tensor(Y), T=T)
    assert got_t.item() == pytest.approx(tckd, abs=1e-12)
    assert got_n.item() == pytest.approx(nckd, abs=1e-12)
    # spelled out for window 0 (target 1), T = 2:
    e_s = [math.exp(v / 2) for v in Z_S[0]]
    p_s_y = e_s[1] / sum(e_s)
    e_t = [math.exp(v / 2) for v in Z_T[0]]
    p_t_y = e_t[1] / sum(e_t)
    tckd0 = p_t_y * math.log(p_t_y / p_s_y) + (1 - p_t_y) * math.log((1 - p_t_y) / (1 - p_s_y))
    # without the target class: classes 0, 2, 3 renormalised
    q_s = [e_s[k] / (sum(e_s) - e_s[1]) for k in (0, 2, 3)]
    q_t = [e_t[k] / (sum(e_t) - e_t[1]) for k in (0, 2, 3)]
    nckd0 = sum(a * math.log(a / b) for a, b in zip(q_t, q_s))
    got_t0, got_n0 = L.dkd_parts(t64(Z_S[:1]), t64(Z_T[:1]), torch.tensor(Y[:1]), T=2.0)
    assert got_t0.item() == pytest.approx(4.0 * tckd0, abs=1e-12)      # T^2 = 4
    assert got_n0.item() == pytest.approx(4.0 * nckd0, abs=1e-12)


@pytest.mark.parametrize("T", [1.0, 2.0, 4.0])
def test_dkd_t_squared_factor(T):
    # the plain KLs of the tempered distributions, then the T^2 factor applied explicitly
    tckd_scaled, nckd_scaled = dkd_by_hand(Z_S, Z_T, Y, T)
    plain_t, plain_n = tckd_scaled / (T * T), nckd_scaled / (T * T)
    got_t, got_n = L.dkd_parts(t64(Z_S), t64(Z_T), torch.tensor(Y), T=T)
    assert got_t.item() == pytest.approx(T * T * plain_t, abs=1e-12)
    assert got_n.item() == pytest.approx(T * T * plain_n, abs=1e-12)
    if T != 1.0:   # the factor is really there: without it the values would differ
        assert abs(got_t.item() - plain_t) > 1e-4 and abs(got_n.item() - plain_n) > 1e-4


def test_dkd_mask_removes_target_from_nckd():
    # NCKD must not depend on the target logits at all (the -1000 mask), TCKD must.
    z_s2 = Z_S.copy()
    z_s2[0, 1] += 3.0
    z_s2[1, 3] -= 2.0
    _, n1 = L.dkd_parts(t64(Z_S), t64(Z_T), torch.tensor(Y))
    _, n2 = L.dkd_parts(t64(z_s2), t64(Z_T), torch.tensor(Y))
    assert n1.item() == pytest.approx(n2.item(), abs=1e-12)
    t1, _ = L.dkd_parts(t64(Z_S), t64(Z_T), torch.tensor(Y))
    t2, _ = L.dkd_parts(t64(z_s2), t64(Z_T), torch.tensor(Y))
    assert abs(t1.item() - t2.item()) > 1e-3


@pytest.mark.parametrize("epoch,warm", [(1, 0.05), (10, 0.5), (19, 0.95), (20, 1.0), (35, 1.0)])
def test_dkd_total_and_warmup(epoch, warm):
    T, alpha, beta, w_ce = 2.0, 1.0, 8.0, 1.0
    tckd, nckd = dkd_by_hand(Z_S, Z_T, Y, T)
    ce = (ce_row(list(Z_S[0]), 1) + ce_row(list(Z_S[1]), 3)) / 2
    assert min(epoch / 20, 1.0) == pytest.approx(warm)
    expected = w_ce * ce + warm * (alpha * tckd + beta * nckd)
    got = L.dkd_loss(t64(Z_S), t64(Z_T), torch.tensor(Y), epoch=epoch).item()   # defaults 1, 8, 2, 1
    assert got == pytest.approx(expected, abs=1e-12)
    assert L.dkd_warm(epoch) == pytest.approx(warm)


def test_dkd_other_weights():
    T, alpha, beta, w_ce = 4.0, 0.5, 2.0, 0.3
    tckd, nckd = dkd_by_hand(Z_S, Z_T, Y, T)
    ce = (ce_row(list(Z_S[0]), 1) + ce_row(list(Z_S[1]), 3)) / 2
    got = L.dkd_loss(t64(Z_S), t64(Z_T), torch.tensor(Y), epoch=40, alpha=alpha, beta=beta, T=T, w_ce=w_ce)
    assert got.item() == pytest.approx(w_ce * ce + alpha * tckd + beta * nckd, abs=1e-12)


def test_dkd_clamp_keeps_float32_finite():
    # the student is certain of the target: 1 - p_y underflows to 0 in float32; the clamp keeps
    # log(b_s) finite, so loss and gradient are finite
    z_s = torch.tensor([[0.0, 400.0, 0.0, 0.0]], dtype=torch.float32, requires_grad=True)
    z_t = torch.tensor([[0.0, 1.0, 0.5, 0.0]], dtype=torch.float32)
    loss = L.dkd_loss(z_s, z_t, torch.tensor([1]), epoch=20)
    loss.backward()
    assert torch.isfinite(loss) and torch.all(torch.isfinite(z_s.grad))


# ------------------------------------------------------------------------------------------------
# feature (FitNets)

def conv1x1_by_hand(x, w, b):
    # x (C_s, L), w (C_t, C_s), b (C_t,) -> (C_t, L)
    c_t, c_s = w.shape
    out = np.zeros((c_t, x.shape[1]))
    for o in range(c_t):
        for t in range(x.shape[1]):
            out[o, t] = b[o] + sum(w[o, c] * x[c, t] for c in range(c_s))
    return out


def test_feature_shrink_by_hand():
    rng = np.random.RandomState(3)
    f_s = rng.randn(2, 3, 5)            # student: 3 channels, 5 steps
    f_t = rng.randn(2, 4, 2)            # teacher: 4 channels, 2 steps
    reg = L.FitNetRegressor(3, 4, 2).double()
    w = rng.randn(4, 3)
    b = rng.randn(4)
    with torch.no_grad():
        reg.conv.weight.copy_(t64(w).unsqueeze(-1))
        reg.conv.bias.copy_(t64(b))
    # adaptive average pooling 5 -> 2: bin i = [floor(i*5/2), ceil((i+1)*5/2)) = [0, 3) and [2, 5)
    sq = 0.0
    for n in range(2):
        pooled = np.stack([f_s[n][:, 0:3].mean(axis=1), f_s[n][:, 2:5].mean(axis=1)], axis=1)
        mapped = conv1x1_by_hand(pooled, w, b)
        sq += ((mapped - f_t[n]) ** 2).sum()
    expected = sq / (2 * 4 * 2)
    got = L.feature_loss(t64(f_s), t64(f_t), reg).item()
    assert got == pytest.approx(expected, abs=1e-12)
    # and the strategy objective adds the label cross-entropy
    ce = (ce_row(list(Z_S[0]), 1) + ce_row(list(Z_S[1]), 3)) / 2
    tot = L.feature_strategy_loss(t64(Z_S), torch.tensor(Y), t64(f_s), t64(f_t), reg).item()
    assert tot == pytest.approx(ce + expected, abs=1e-12)


def test_feature_grow_and_mlp_by_hand():
    rng = np.random.RandomState(4)
    f_s = rng.randn(2, 2, 2)            # 2 steps -> teacher's 4
    f_t = rng.randn(2, 3, 4)
    reg = L.FitNetRegressor(2, 3, 4).double()
    w = rng.randn(3, 2)
    b = rng.randn(3)
    with torch.no_grad():
        reg.conv.weight.copy_(t64(w).unsqueeze(-1))
        reg.conv.bias.copy_(t64(b))
    # linear interpolation, align_corners=False: source position (i + 0.5) * 2/4 - 0.5 =
    # -0.25, 0.25, 0.75, 1.25, clamped to [0, 1] -> weights (1,0), (.75,.25), (.25,.75), (0,1)
    sq = 0.0
    for n in range(2):
        x0, x1 = f_s[n][:, 0], f_s[n][:, 1]
        grown = np.stack([x0, 0.75 * x0 + 0.25 * x1, 0.25 * x0 + 0.75 * x1, x1], axis=1)
        sq += ((conv1x1_by_hand(grown, w, b) - f_t[n]) ** 2).sum()
    assert L.feature_loss(t64(f_s), t64(f_t), reg).item() == pytest.approx(sq / (2 * 3 * 4), abs=1e-12)
    # MLP hidden vector (B, width): a length-1 map broadcast over the teacher's 4 steps
    h = rng.randn(2, 2)
    sq = 0.0
    for n in range(2):
        mapped = conv1x1_by_hand(np.repeat(h[n][:, None], 4, axis=1), w, b)
        sq += ((mapped - f_t[n]) ** 2).sum()
    assert L.feature_loss(t64(h), t64(f_t), reg).item() == pytest.approx(sq / (2 * 3 * 4), abs=1e-12)


def test_feature_same_length_is_plain_conv():
    rng = np.random.RandomState(5)
    f_s, f_t = rng.randn(2, 2, 3), rng.randn(2, 2, 3)
    reg = L.FitNetRegressor(2, 2, 3).double()
    with torch.no_grad():
        reg.conv.weight.copy_(torch.eye(2, dtype=torch.float64).unsqueeze(-1))
        reg.conv.bias.zero_()
    assert L.feature_loss(t64(f_s), t64(f_t), reg).item() == pytest.approx(((f_s - f_t) ** 2).mean(), abs=1e-12)


# ------------------------------------------------------------------------------------------------
# PULSE relation-based

def test_pulse_relation_by_hand():
    y_s = np.array([100.0, 80.0])
    y = np.array([104.0, 77.0])
    y_t = np.array([99.0, 85.0])
    h_s = np.array([[0.1, -0.3, 0.5], [1.0, 0.0, -1.0]])
    h_t = np.array([[0.2, 0.2, 0.0], [0.5, -0.5, 0.0]])
    b, g = 0.5, 2.0 / 3.0
    l1_label = (abs(100 - 104) + abs(80 - 77)) / 2          # 3.5
    l1_teacher = (abs(100 - 99) + abs(80 - 85)) / 2         # 3.0
    assert l1_label == 3.5 and l1_teacher == 3.0
    mse = 0.0
    for i in range(2):
        ps, pt = softmax_row(list(h_s[i])), softmax_row(list(h_t[i]))
        mse += sum((a - c) ** 2 for a, c in zip(pt, ps))
    mse /= 2 * 3
    expected = g * (b * l1_label + (1 - b) * l1_teacher) + (1 - g) * mse
    got = L.pulse_relation_loss(t64(y_s), t64(y), t64(y_t), t64(h_s), t64(h_t)).item()
    assert got == pytest.approx(expected, abs=1e-12)
    # (batch, 1) outputs, as the regression head returns them
    got2 = L.pulse_relation_loss(t64(y_s[:, None]), t64(y), t64(y_t[:, None]), t64(h_s), t64(h_t)).item()
    assert got2 == pytest.approx(expected, abs=1e-12)


# ------------------------------------------------------------------------------------------------
# gradient checks (float64)

def _leaf(a):
    return t64(a).clone().requires_grad_(True)


def test_gradcheck_hard_soft_dkd():
    z_t = t64(Z_T)
    y = torch.tensor(Y)
    assert torch.autograd.gradcheck(lambda z: L.hard_loss(z, z_t), (_leaf(Z_S),))
    assert torch.autograd.gradcheck(lambda z, zt: L.soft_loss(z, zt, y, T=2.0), (_leaf(Z_S), _leaf(Z_T)))
    for epoch in (1, 20):
        assert torch.autograd.gradcheck(lambda z: L.dkd_loss(z, z_t, y, epoch=epoch), (_leaf(Z_S),))


def test_gradcheck_feature():
    rng = np.random.RandomState(6)
    reg = L.FitNetRegressor(3, 4, 2).double()
    f_t = t64(rng.randn(2, 4, 2))

    def f(f_s, w, b):
        return torch.nn.functional.mse_loss(
            torch.nn.functional.conv1d(L.resample_time(f_s, 2), w, b), f_t)

    args = (_leaf(rng.randn(2, 3, 5)), reg.conv.weight.detach().clone().requires_grad_(True),
            reg.conv.bias.detach().clone().requires_grad_(True))
    assert torch.autograd.gradcheck(f, args)
    # through the module itself, growing in time
    reg2 = L.FitNetRegressor(3, 4, 6).double()
    f_t2 = t64(rng.randn(2, 4, 6))
    assert torch.autograd.gradcheck(lambda x: L.feature_loss(x, f_t2, reg2), (_leaf(rng.randn(2, 3, 2)),))
    assert torch.autograd.gradcheck(lambda x: L.feature_loss(x, f_t2, reg2), (_leaf(rng.randn(2, 3)),))


def test_gradcheck_pulse():
    rng = np.random.RandomState(7)
    y = t64([104.0, 77.0])
    y_t = t64([99.0, 85.0])
    h_t = t64(rng.randn(2, 32))
    # L1 is not differentiable at 0: student outputs away from y and y_t
    assert torch.autograd.gradcheck(lambda ys, hs: L.pulse_relation_loss(ys, y, y_t, hs, h_t),
                                    (_leaf([100.0, 80.0]), _leaf(rng.randn(2, 32))))


def test_pulse_relation_classes_by_hand():
    """The 180-class heads' relation loss: w_ce * CE + the relation loss on the probability-
    weighted mean BPM (30 + k) of student and teacher."""
    rng = np.random.RandomState(3)
    z_s, z_t = rng.standard_normal((2, 180)), rng.standard_normal((2, 180))
    h_s, h_t = rng.standard_normal((2, 32)), rng.standard_normal((2, 32))
    y = np.array([70, 12])
    bpm = np.arange(180) + 30.0

    def p(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    ce = -np.mean(np.log(p(z_s)[np.arange(2), y]))
    e_s, e_t = p(z_s) @ bpm, p(z_t) @ bpm
    rel = (2 / 3) * (0.5 * np.mean(np.abs(e_s - (y + 30))) + 0.5 * np.mean(np.abs(e_s - e_t))) \
        + (1 / 3) * np.mean((p(h_s) - p(h_t)) ** 2)
    got = L.pulse_relation_loss_classes(t64(z_s), torch.from_numpy(y), t64(z_t), t64(h_s), t64(h_t)).item()
    assert got == pytest.approx(ce + rel, abs=1e-10)
