"""Distillation losses, exactly as ../shared/design/networks.md section 5.

Notation: z_s, z_t student / teacher logits (batch, 180); y the integer label (batch,); T the
temperature; B the batch size. Every loss is averaged over the batch.

hard_loss(z_s, z_t)
    CE(z_s, argmax(z_t)): cross-entropy against the teacher's argmax class. No label term
    (networks.md: "Hard: cross-entropy against argmax(z_t)").

soft_loss(z_s, z_t, y, T=2, w_ce=1)   (Hinton et al. 2015)
    T^2 * KL(softmax(z_t / T) || softmax(z_s / T)) + w_ce * CE(z_s, y),
    KL summed over the classes and averaged over the batch (F.kl_div(..., reduction='batchmean')).
    networks.md gives no temperature for the soft loss; we use DKD's T = 2 so that the two
    logit-matching strategies differ only in the decoupling.

dkd_loss(z_s, z_t, y, epoch, alpha=1, beta=8, T=2, w_ce=1, warmup=20)   (Zhao et al. 2022)
    As mdistiller's DKD (mdistiller/distillers/DKD.py):
      p = softmax(z / T) for each model; b = [p_y, sum of the other p] (= [p_y, 1 - p_y]);
      TCKD = T^2 * KL(b_t || b_s), with b_s clamped to >= eps before the log (mdistiller takes
             torch.log(b_s) directly, which is -inf when b_s underflows to 0 in float32);
      p^ = softmax(z / T - 1000 * onehot(y))  (the target class masked out);
      NCKD = T^2 * KL(p^_t || p^_s)  (log-softmax for the student, as mdistiller);
      loss = w_ce * CE(z_s, y) + warm * (alpha * TCKD + beta * NCKD),
      warm = min(epoch / warmup, 1) with `epoch` counted from 1 as in mdistiller's trainer
      (epoch 1 -> 0.05, epoch >= 20 -> 1).
    The paper's setting alpha 1, beta 8, T 2, w_ce 1 are the defaults (mdistiller's own default T is 4).

FitNetRegressor / feature_loss(f_s, f_t, regressor)   (FitNets, Romero et al. 2015)
    The extra module is a 1x1 Conv1d(C_s -> C_t) with bias (nothing else: no BN, no ReLU). The
    student map is first resampled in time to the teacher's length L_t (resample_time):
      L_s > L_t: F.adaptive_avg_pool1d (averaging, i.e. anti-aliased, e.g. 200 -> 4 for a 1-block
                 student and a 12-block teacher);
      L_s < L_t: F.interpolate(mode='linear', align_corners=False) (e.g. 7 -> 100 for a 10-block
                 student and a 2-block teacher; an MLP student's hidden vector is a map of length
                 1, so it is broadcast: the regressor then matches the teacher map's time profile
                 with a constant, i.e. effectively its time mean);
      equal: unchanged.
    Both resamplers and the 1x1 conv are linear, so their order does not matter (resampling first
    is cheaper). loss = MSE(regressor(f_s), f_t), the mean over batch, channels and time. The full
    training objective of the 'feature' strategy is w_ce * CE(z_s, y) + w_feat * feature_loss
    (feature_strategy_loss; networks.md: "the loss adds the mean squared error"), w_ce = w_feat = 1.
    Which stages are matched: the LAST block's output of each network (ResNet: features[-1] of
    forward(x, return_features=True), i.e. the block output before final_bn / ReLU / pooling;
    MLP: the last hidden activation, as (B, width, 1)). See distill.py.

pulse_relation_loss(y_s, y, y_t, h_s, h_t, b=0.5, g=2/3)   (PULSE, Kasnesis et al.)
    g * (b * L1(y_s, y) + (1 - b) * L1(y_s, y_t)) + (1 - g) * MSE(softmax(h_t), softmax(h_s)),
    y_* the regressed BPM (batch,) or (batch, 1), h the 32-d output of the first head Linear,
    softmax over its 32 entries; L1 and MSE are means (over the batch, and the 32 entries for MSE).

Every function is differentiable in the student's inputs (z_s, f_s, the regressor, y_s, h_s); the
teacher's tensors are used as constants (pass them detached / precomputed). tools/tests/test_losses.py
checks each against values computed by hand in numpy and with torch.autograd.gradcheck.
"""

from __future__ import annotations

from typing import Dict, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

DKD_ALPHA = 1.0
DKD_BETA = 8.0
DKD_T = 2.0
DKD_WARMUP = 20
W_CE = 1.0
SOFT_T = 2.0
W_FEAT = 1.0
PULSE_B = 0.5
PULSE_G = 2.0 / 3.0
B_S_EPS = 1e-7          # clamp of DKD's binary student distribution before the log
MASK_MAGNITUDE = 1000.0


def hard_loss(z_s: torch.Tensor, z_t: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the student against the teacher's argmax class."""
    return F.cross_entropy(z_s, z_t.argmax(dim=1))


def soft_kl(z_s: torch.Tensor, z_t: torch.Tensor, T: float = SOFT_T) -> torch.Tensor:
    """T^2 * KL(softmax(z_t / T) || softmax(z_s / T)), batch mean."""
    log_p_s = F.log_softmax(z_s / T, dim=1)
    p_t = F.softmax(z_t / T, dim=1)
    return (T * T) * F.kl_div(log_p_s, p_t, reduction="batchmean")


def soft_loss(z_s: torch.Tensor, z_t: torch.Tensor, y: torch.Tensor, T: float = SOFT_T,
              w_ce: float = W_CE) -> torch.Tensor:
    """Hinton: T^2 * KL(softmax(z_t/T) || softmax(z_s/T)) + w_ce * CE(z_s, y)."""
    return soft_kl(z_s, z_t, T) + w_ce * F.cross_entropy(z_s, y)


def dkd_parts(z_s: torch.Tensor, z_t: torch.Tensor, y: torch.Tensor, T: float = DKD_T,
              eps: float = B_S_EPS) -> Tuple[torch.Tensor, torch.Tensor]:
    """(TCKD, NCKD), each already multiplied by T^2 and averaged over the batch."""
    gt = F.one_hot(y, z_s.shape[1]).to(z_s.dtype)
    other = 1.0 - gt
    p_s = F.softmax(z_s / T, dim=1)
    p_t = F.softmax(z_t / T, dim=1)
    # binary split [p_y, sum of the others], as mdistiller's cat_mask
    b_s = torch.cat([(p_s * gt).sum(1, keepdim=True), (p_s * other).sum(1, keepdim=True)], dim=1)
    b_t = torch.cat([(p_t * gt).sum(1, keepdim=True), (p_t * other).sum(1, keepdim=True)], dim=1)
    log_b_s = torch.log(b_s.clamp_min(eps))
    n = z_s.shape[0]
    tckd = F.kl_div(log_b_s, b_t, reduction="sum") * (T * T) / n
    p_t_hat = F.softmax(z_t / T - MASK_MAGNITUDE * gt, dim=1)
    log_p_s_hat = F.log_softmax(z_s / T - MASK_MAGNITUDE * gt, dim=1)
    nckd = F.kl_div(log_p_s_hat, p_t_hat, reduction="sum") * (T * T) / n
    return tckd, nckd


def dkd_warm(epoch: int, warmup: int = DKD_WARMUP) -> float:
    """min(epoch / warmup, 1), epoch counted from 1."""
    return min(float(epoch) / float(warmup), 1.0)


def dkd_loss(z_s: torch.Tensor, z_t: torch.Tensor, y: torch.Tensor, epoch: int, alpha: float = DKD_ALPHA,
             beta: float = DKD_BETA, T: float = DKD_T, w_ce: float = W_CE, warmup: int = DKD_WARMUP,
             eps: float = B_S_EPS) -> torch.Tensor:
    """w_ce * CE(z_s, y) + min(epoch / warmup, 1) * (alpha * TCKD + beta * NCKD)."""
    tckd, nckd = dkd_parts(z_s, z_t, y, T, eps)
    return w_ce * F.cross_entropy(z_s, y) + dkd_warm(epoch, warmup) * (alpha * tckd + beta * nckd)


def resample_time(x: torch.Tensor, length: int) -> torch.Tensor:
    """(B, C, L) -> (B, C, length): adaptive average pooling to shrink, linear interpolation to grow."""
    cur = x.shape[-1]
    if cur == length:
        return x
    if cur > length:
        return F.adaptive_avg_pool1d(x, length)
    return F.interpolate(x, size=length, mode="linear", align_corners=False)


class FitNetRegressor(nn.Module):
    """1x1 Conv1d(C_s -> C_t) applied to the student map resampled to the teacher's length."""

    def __init__(self, student_channels: int, teacher_channels: int, teacher_length: int):
        super().__init__()
        self.teacher_length = int(teacher_length)
        self.conv = nn.Conv1d(student_channels, teacher_channels, kernel_size=1)

    def forward(self, f_s: torch.Tensor) -> torch.Tensor:
        if f_s.dim() == 2:                       # MLP hidden vector: a map of length 1
            f_s = f_s.unsqueeze(-1)
        return self.conv(resample_time(f_s, self.teacher_length))


def feature_loss(f_s: torch.Tensor, f_t: torch.Tensor, regressor: FitNetRegressor) -> torch.Tensor:
    """MSE(regressor(f_s), f_t), mean over batch, channels and time."""
    return F.mse_loss(regressor(f_s), f_t)


def feature_strategy_loss(z_s: torch.Tensor, y: torch.Tensor, f_s: torch.Tensor, f_t: torch.Tensor,
                          regressor: FitNetRegressor, w_ce: float = W_CE, w_feat: float = W_FEAT) -> torch.Tensor:
    """The 'feature' strategy's objective: w_ce * CE(z_s, y) + w_feat * feature_loss."""
    return w_ce * F.cross_entropy(z_s, y) + w_feat * feature_loss(f_s, f_t, regressor)


def pulse_relation_loss(y_s: torch.Tensor, y: torch.Tensor, y_t: torch.Tensor, h_s: torch.Tensor,
                        h_t: torch.Tensor, b: float = PULSE_B, g: float = PULSE_G) -> torch.Tensor:
    """g * (b * L1(y_s, y) + (1 - b) * L1(y_s, y_t)) + (1 - g) * MSE(softmax(h_t), softmax(h_s))."""
    y_s = y_s.reshape(-1)
    y = y.reshape(-1).to(y_s.dtype)
    y_t = y_t.reshape(-1).to(y_s.dtype)
    l1 = b * F.l1_loss(y_s, y) + (1.0 - b) * F.l1_loss(y_s, y_t)
    rel = F.mse_loss(F.softmax(h_s, dim=1), F.softmax(h_t.to(h_s.dtype), dim=1))
    return g * l1 + (1.0 - g) * rel


def pulse_relation_loss_classes(z_s: torch.Tensor, y: torch.Tensor, z_t: torch.Tensor, h_s: torch.Tensor,
                                h_t: torch.Tensor, b: float = PULSE_B, g: float = PULSE_G,
                                w_ce: float = W_CE) -> torch.Tensor:
    """PULSE's relation loss for the 180-class heads (distill.py, *_cls): w_ce * CE(z_s, y) +
    pulse_relation_loss with each network's BPM = its probability-weighted mean over the classes
    (30 + k BPM); y holds class indices."""
    bpm = torch.arange(z_s.shape[1], dtype=z_s.dtype, device=z_s.device) + 30.0
    y_s = F.softmax(z_s, dim=1) @ bpm
    y_t = F.softmax(z_t.to(z_s.dtype), dim=1) @ bpm
    return w_ce * F.cross_entropy(z_s, y) + pulse_relation_loss(y_s, y.to(z_s.dtype) + 30.0, y_t, h_s, h_t, b, g)


STRATEGIES = ("scratch", "hard", "soft", "dkd", "feature")


def describe() -> Dict[str, object]:
    """The hyperparameters, for result files."""
    return {"soft": {"T": SOFT_T, "w_ce": W_CE},
            "dkd": {"alpha": DKD_ALPHA, "beta": DKD_BETA, "T": DKD_T, "w_ce": W_CE, "warmup_epochs": DKD_WARMUP,
                    "b_s_clamp": B_S_EPS},
            "feature": {"w_ce": W_CE, "w_feat": W_FEAT, "stages": "last block of each network",
                        "regressor": "1x1 Conv1d with bias",
                        "time_resampling": "adaptive_avg_pool1d to shrink, linear interpolation to grow"},
            "hard": {"target": "argmax of the teacher's logits", "label_term": False},
            "pulse_relation": {"b": PULSE_B, "g": PULSE_G,
                               "classes_heads": "w_ce * CE + the relation loss on the probability-weighted "
                                                "mean BPM", "w_ce": W_CE}}
