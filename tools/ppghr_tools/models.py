"""PyTorch modules for every network ppghr ships (networks.md), and their parameter counts.

1D-ResNet (``ResNet1D``, networks.md s.1)
    The WildPPG / hsd1503-resnet1d backbone. Its state_dict uses that code base's key names
    (first_block_conv.conv.*, first_block_bn.*, basicblock_list.<i>.{bn1,conv1.conv,bn2,conv2.conv}.*,
    final_bn.*, dense.*, dense2.*), so its checkpoints load with strict=True. ``dense2`` (Linear C->200)
    and block 0's ``bn1`` exist only so that those checkpoints load; inference never uses them.
    forward() takes (batch, 200, 1) like that code base, or (batch, 1, 200), or (batch, 200), and
    returns the 180 logits; forward(x, return_features=True) returns (logits, features) where
    features is a list of feature maps [stem, block 0, ..., block N-1] (each (batch, C, L)) for FitNets.

PULSE (``PulseTeacher``, ``PulseStudent``, networks.md s.2 and s.3)
    Key names as in the published KD_PULSE checkpoints (conv11..conv33, multihead_attn.*, layer_norm.*,
    conv4.*, dense.*, out.*). head='regression' -> ``out`` is Linear(32 -> 1) (the published models);
    head='classes' -> ``out`` is Linear(32 -> 180). Input (batch, 1, 4, 256) as in the KD_PULSE code,
    or (batch, 4, 256). The modules hold the 4 (mean, std) input-normalisation pairs in a
    NON-persistent buffer ``input_norm`` [4, 2] (so published state_dicts still load strictly) and
    apply ``(x - mean) / std`` per row first; the default is (0, 1), i.e. the input is already
    normalised. set_input_norm() changes it; the exporter stores it in the blob as tensor
    ``input_norm``. forward(x, return_features=True) returns (out, features) with features a dict:
    'stage1', 'stage2', 'stage3' (batch, C, 4, T), 'mix' (attention output (batch, 64, 16) or conv4
    output (batch, 32, 8)) and 'hidden' (batch, 32): the first head Linear's output, used by the
    PULSE relation-based distillation loss.
    Attention orientation (checked against the KD_PULSE code): nn.MultiheadAttention(16, 4,
    batch_first=True); query = (batch, 64, 16): one token per channel of the PPG row, its 16 time
    steps as the embedding; key = value = (batch, 192, 16): the ACC rows reshaped channel-major, token
    index = channel * 3 + axis. No residual; LayerNorm(16) per token; flatten index = channel * 16 + t.

MLP students (``MLP``, networks.md s.4; our choice)
    flatten 200 -> Linear -> ReLU -> Linear -> ReLU -> Linear(-> 180). Two hidden layers of equal
    width w (parameters w^2 + 382 w + 180). The four width sets are chosen so that each matches the
    inference parameter count of one of the distillation paper's ResNet students (N = 1, 2, 6, 10):
        mlp1: 40, 40    ->  17,060 parameters (resnet1:  16,692)
        mlp2: 64, 64    ->  28,724 parameters (resnet2:  27,124)
        mlp3: 216, 216  -> 129,348 parameters (resnet6: 126,196)
        mlp4: 544, 544  -> 503,924 parameters (resnet10: 508,660)
    Keys fc.<i>.weight / fc.<i>.bias. Input as for the ResNet.

SpecNet (``SpecNet``, family specnet; our choice)
    A small fully-convolutional network over the 180-class grid. Its input is not the time window
    but the (6, 180) features of spectral.features() (PPG spectrum, accelerometer spectrum x motion
    weight, the spectral estimator's cleaned spectrum, the PPG and accelerometer spectra at twice the
    class frequency, grid position), so it refines the spectral
    estimator's evidence per class. Width W (16; the w32 teachers 32), kernel 7, zero padding 3:
        x = relu(stem(x)); for each block: x = x + conv2(relu(conv1(x)))  (no activation after the add)
        logits = head2(relu(head1(x)))[:, 0]       (head1: 1x1 W -> W, head2: 1x1 W -> 1)
    Keys stem.*, blocks.<i>.conv1.*, blocks.<i>.conv2.*, head1.*, head2.*; no BatchNorm. Input
    (batch, 6, 180) (feature-major, as spectral.features() returns it).

Parameter counts: ``python3 -m ppghr_tools.models`` prints, for the ResNet, both the paper-style
count (every module parameter, including dense2 and block 0's unused bn1: what the papers quote) and
networks.md's "inference" count (without dense2), plus the number of floats in the exported blob
(BatchNorm folded or turned into scale/shift, dense2 and block 0's bn1 dropped).
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import archs as A


# --------------------------------------------------------------------------------------------
# 1D-ResNet

class SameConv1d(nn.Module):
    """Conv1d with networks.md's 'same' padding (zeros), computed from the runtime length."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, left, right = A.same_padding(x.shape[-1], self.stride, self.kernel_size)
        return self.conv(F.pad(x, (left, right), "constant", 0.0))


class BasicBlock(nn.Module):
    """Pre-activation block: [BN -> ReLU ->] conv(s) -> BN -> ReLU -> conv, plus shortcut."""

    def __init__(self, index: int, c_in: int, c_out: int, stride: int, kernel_size: int = 5,
                 dropout: float = 0.5):
        super().__init__()
        self.index = index
        self.is_first_block = index == 0
        self.in_channels = c_in
        self.out_channels = c_out
        self.stride = stride
        self.bn1 = nn.BatchNorm1d(c_in)   # unused in block 0 (kept so checkpoints load)
        self.relu1 = nn.ReLU()
        self.do1 = nn.Dropout(dropout)
        self.conv1 = SameConv1d(c_in, c_out, kernel_size, stride)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.relu2 = nn.ReLU()
        self.do2 = nn.Dropout(dropout)
        self.conv2 = SameConv1d(c_out, c_out, kernel_size, 1)

    @staticmethod
    def shortcut_pool(x: torch.Tensor) -> torch.Tensor:
        """The strided shortcut: ONE zero on the right (zero, not -inf), then max-pool k=2 s=2."""
        return F.max_pool1d(F.pad(x, (0, 1), "constant", 0.0), 2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = x
        if not self.is_first_block:
            out = self.do1(self.relu1(self.bn1(out)))
        out = self.conv1(out)
        out = self.do2(self.relu2(self.bn2(out)))
        out = self.conv2(out)
        if self.stride == 2:
            identity = self.shortcut_pool(identity)
        if self.out_channels > self.in_channels:
            before = (self.out_channels - self.in_channels) // 2
            after = self.out_channels - self.in_channels - before
            identity = F.pad(identity, (0, 0, before, after), "constant", 0.0)
        return out + identity


class ResNet1D(nn.Module):
    """The 1D-ResNet with ``n_block`` blocks (1..12); see the module docstring."""

    def __init__(self, n_block: int, n_classes: int = A.N_CLASSES, dropout: float = 0.5,
                 with_dense2: bool = True):
        super().__init__()
        self.n_block = n_block
        blocks = A.resnet_blocks(n_block)
        c0 = A.RESNET_BASE_FILTERS
        self.first_block_conv = SameConv1d(1, c0, A.RESNET_KERNEL, 1)
        self.first_block_bn = nn.BatchNorm1d(c0)
        self.first_block_relu = nn.ReLU()
        self.basicblock_list = nn.ModuleList(
            BasicBlock(b.index, b.c_in, b.c_out, b.stride, A.RESNET_KERNEL, dropout) for b in blocks)
        c = blocks[-1].c_out
        self.out_channels = c
        self.final_bn = nn.BatchNorm1d(c)
        self.final_relu = nn.ReLU()
        self.do = nn.Dropout(dropout)
        self.dense = nn.Linear(c, n_classes)
        if with_dense2:
            self.dense2 = nn.Linear(c, A.RESNET_DENSE2_OUT)   # unused by forward()

    @staticmethod
    def _as_ncl(x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            return x.unsqueeze(1)
        if x.dim() == 3:
            if x.shape[1] == 1:
                return x
            if x.shape[2] == 1:
                return x.transpose(1, 2)
        raise ValueError(f"expected input (batch, 200, 1), (batch, 1, 200) or (batch, 200); got {tuple(x.shape)}")

    def forward(self, x: torch.Tensor, return_features: bool = False):
        out = self._as_ncl(x)
        out = self.first_block_relu(self.first_block_bn(self.first_block_conv(out)))
        features = [out]
        for block in self.basicblock_list:
            out = block(out)
            features.append(out)
        out = self.final_relu(self.final_bn(out))
        out = out.mean(-1)
        out = self.dense(self.do(out))
        if return_features:
            return out, features
        return out


# --------------------------------------------------------------------------------------------
# PULSE

def window_norm(x: torch.Tensor) -> torch.Tensor:
    """Per-window normalisation of the _wn PULSE variants (op WINDOW_NORM, archs.py): x (B, 1, 4, T)
    rows [PPG, ACC x, y, z] -> the PPG row z-scored (population std, floored at PULSE_PPG_EPS); the
    ACC rows minus their own means, divided by max(sqrt(mean of their 3 variances), PULSE_ACC_FLOOR_G).
    The C++ twin is include/ppghr/layers/window_norm.hpp."""
    mean = x.mean(dim=-1, keepdim=True)
    d = x - mean
    var = (d * d).mean(dim=-1, keepdim=True)                       # (B, 1, 4, 1)
    s_ppg = torch.clamp(torch.sqrt(var[:, :, 0:1]), min=A.PULSE_PPG_EPS)
    s_acc = torch.clamp(torch.sqrt(var[:, :, 1:].mean(dim=2, keepdim=True)), min=A.PULSE_ACC_FLOOR_G)
    return torch.cat([d[:, :, 0:1] / s_ppg, d[:, :, 1:] / s_acc], dim=2)


class _PulseBase(nn.Module):
    family: int

    def __init__(self, head: str, dropout: float, window_norm: bool = False):
        super().__init__()
        if head not in ("regression", "classes"):
            raise ValueError(f"head must be 'regression' or 'classes', got {head!r}")
        self.head = head
        self.window_norm = bool(window_norm)
        self.n_outputs = 1 if head == "regression" else A.N_CLASSES
        self.stages_geom = A.pulse_stages(self.family)
        for st in self.stages_geom:
            for cv in st.convs:
                setattr(self, cv.name, nn.Conv2d(cv.c_in, cv.c_out, kernel_size=(1, cv.kernel),
                                                 dilation=(1, cv.dilation), padding=(0, cv.pad)))
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        norm = torch.tensor([[0.0, 1.0]] * A.PULSE_ROWS)
        self.register_buffer("input_norm", norm, persistent=False)

    def set_input_norm(self, pairs: Sequence[Sequence[float]]) -> None:
        """Set the 4 (mean, std) pairs, rows [PPG, ACC x, ACC y, ACC z]."""
        t = torch.as_tensor(pairs, dtype=self.input_norm.dtype).reshape(A.PULSE_ROWS, 2)
        if not torch.all(t[:, 1] > 0):
            raise ValueError("input_norm std must be > 0")
        self.input_norm.copy_(t)

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 3:
            x = x.unsqueeze(1)
        if x.dim() != 4 or x.shape[1] != 1 or x.shape[2] != A.PULSE_ROWS:
            raise ValueError(f"expected input (batch, 1, 4, T) or (batch, 4, T); got {tuple(x.shape)}")
        if self.window_norm:
            return window_norm(x)
        mean = self.input_norm[:, 0].to(x.dtype).view(1, 1, A.PULSE_ROWS, 1)
        std = self.input_norm[:, 1].to(x.dtype).view(1, 1, A.PULSE_ROWS, 1)
        return (x - mean) / std

    def emb(self, x: torch.Tensor, feats: Optional[Dict[str, torch.Tensor]] = None) -> torch.Tensor:
        drops = (self.dropout1, self.dropout2, self.dropout3)
        for s, st in enumerate(self.stages_geom):
            for cv in st.convs:
                x = F.relu(getattr(self, cv.name)(x))
            x = F.avg_pool2d(x, kernel_size=(1, st.pool), stride=(1, st.pool), ceil_mode=True)
            if feats is not None:
                feats[f"stage{s + 1}"] = x
            x = drops[s](x)
        return x


class PulseTeacher(_PulseBase):
    """PULSE teacher with PPG -> ACC cross-attention (networks.md s.2)."""

    family = A.FAMILY_PULSE_TEACHER

    def __init__(self, head: str = "regression", dropout: float = 0.5, window_norm: bool = False):
        super().__init__(head, dropout, window_norm)
        e = A.PULSE_EMBED
        self.multihead_attn = nn.MultiheadAttention(embed_dim=e, num_heads=A.PULSE_HEADS, batch_first=True)
        self.layer_norm = nn.LayerNorm(e)
        self.flatten = nn.Flatten()
        self.dense = nn.Linear(A.pulse_dense_in(self.family), A.PULSE_HIDDEN)
        self.out = nn.Linear(A.PULSE_HIDDEN, self.n_outputs)

    def forward(self, x: torch.Tensor, return_features: bool = False):
        feats: Optional[Dict[str, torch.Tensor]] = {} if return_features else None
        x = self.emb(self._prepare(x), feats)          # (B, 64, 4, 16)
        b, c, _, t = x.shape
        q = x[:, :, 0:1, :].reshape(b, c, t)            # 64 tokens: channel c of the PPG row
        kv = x[:, :, 1:4, :].reshape(b, c * 3, t)       # 192 tokens: index c * 3 + axis
        attn, _ = self.multihead_attn(q, kv, kv, need_weights=False)
        attn = self.layer_norm(attn)
        hidden = self.dense(self.flatten(attn))
        out = self.out(hidden)
        if return_features:
            feats["mix"] = attn
            feats["hidden"] = hidden
            return out, feats
        return out


class PulseStudent(_PulseBase):
    """PULSE student with modality-wise convolution (networks.md s.3)."""

    family = A.FAMILY_PULSE_STUDENT

    def __init__(self, head: str = "regression", dropout: float = 0.1, window_norm: bool = False):
        super().__init__(head, dropout, window_norm)
        c, _ = A.pulse_feature_shape(self.family)
        self.conv4 = nn.Conv2d(c, c, kernel_size=(A.PULSE_ROWS, 1), padding=(0, 0))
        self.flatten = nn.Flatten()
        self.dense = nn.Linear(A.pulse_dense_in(self.family), A.PULSE_HIDDEN)
        self.out = nn.Linear(A.PULSE_HIDDEN, self.n_outputs)

    def forward(self, x: torch.Tensor, return_features: bool = False):
        feats: Optional[Dict[str, torch.Tensor]] = {} if return_features else None
        x = self.emb(self._prepare(x), feats)          # (B, 32, 4, 8)
        mix = self.conv4(x)                             # (B, 32, 1, 8)
        hidden = self.dense(self.flatten(mix))
        out = self.out(hidden)
        if return_features:
            feats["mix"] = mix.squeeze(2)
            feats["hidden"] = hidden
            return out, feats
        return out


# --------------------------------------------------------------------------------------------
# MLP students

class MLP(nn.Module):
    """flatten 200 -> [Linear -> ReLU] x len(widths) -> Linear(-> 180). See the module docstring."""

    def __init__(self, widths: Sequence[int], n_classes: int = A.N_CLASSES,
                 in_features: int = A.RESNET_INPUT_LEN):
        super().__init__()
        dims = [in_features, *widths, n_classes]
        self.widths = tuple(widths)
        self.fc = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x: torch.Tensor, return_features: bool = False):
        out = x.reshape(x.shape[0], -1)
        feats = []
        for i, lin in enumerate(self.fc):
            out = lin(out)
            if i < len(self.fc) - 1:
                out = F.relu(out)
                feats.append(out)
        if return_features:
            return out, feats
        return out


# --------------------------------------------------------------------------------------------
# TinyCnn, the example network (include/ppghr/models/tiny_cnn.hpp)

class TinyCnn(nn.Module):
    """[200] -> Conv1d(1, 8, 5, stride 2, pad 2) + ReLU -> Conv1d(8, 16, 5, stride 2, pad 2) + ReLU
    -> mean over time -> Linear(16, 180)."""

    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv1d(1, 8, 5, stride=2, padding=2)
        self.conv1 = nn.Conv1d(8, 16, 5, stride=2, padding=2)
        self.dense = nn.Linear(16, A.N_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv1(F.relu(self.conv0(x.reshape(x.shape[0], 1, -1)))))
        return self.dense(x.mean(dim=2))


# --------------------------------------------------------------------------------------------
# SpecNet

class SpecBlock(nn.Module):
    """x + conv2(relu(conv1(x))), both convolutions W -> W, kernel 7, 180 bins kept."""

    def __init__(self, width: int):
        super().__init__()
        k = A.SPECNET_KERNEL
        self.conv1 = nn.Conv1d(width, width, k, padding=(k - 1) // 2)
        self.conv2 = nn.Conv1d(width, width, k, padding=(k - 1) // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class SpecNet(nn.Module):
    """The spectral-feature network (see the module docstring): (batch, 6, 180) -> (batch, 180)."""

    def __init__(self, n_blocks: int, width: int = 16):
        super().__init__()
        if not 1 <= n_blocks <= 12:
            raise ValueError(f"SpecNet block count must be 1..12, got {n_blocks}")
        k = A.SPECNET_KERNEL
        self.n_blocks = n_blocks
        self.width = width
        self.stem = nn.Conv1d(A.SPECNET_FEATURES, width, k, padding=(k - 1) // 2)
        self.blocks = nn.ModuleList(SpecBlock(width) for _ in range(n_blocks))
        self.head1 = nn.Conv1d(width, width, 1)
        self.head2 = nn.Conv1d(width, 1, 1)

    def forward(self, x: torch.Tensor, return_features: bool = False):
        if x.dim() != 3 or x.shape[1] != A.SPECNET_FEATURES or x.shape[2] != A.SPECNET_BINS:
            raise ValueError(f"expected input (batch, {A.SPECNET_FEATURES}, {A.SPECNET_BINS}); got {tuple(x.shape)}")
        out = F.relu(self.stem(x))
        feats = [out]
        for block in self.blocks:
            out = block(out)
            feats.append(out)
        out = self.head2(F.relu(self.head1(out)))[:, 0]
        if return_features:
            return out, feats
        return out


# --------------------------------------------------------------------------------------------
# Factory and parameter counts

def build_model(arch_name: str, **kwargs) -> nn.Module:
    """A fresh module (PyTorch default init) for one of archs.ARCH_NAMES."""
    arch = A.get_arch(arch_name)
    if arch.is_resnet:
        return ResNet1D(arch.variant, **kwargs)
    if arch.is_mlp:
        return MLP(A.MLP_WIDTHS[arch.variant], **kwargs)
    if arch.is_specnet:
        return SpecNet(arch.variant, arch.width, **kwargs)
    if arch.family == A.FAMILY_CNN:
        return TinyCnn(**kwargs)
    head = "classes" if arch.has_classes else "regression"
    if arch.family == A.FAMILY_PULSE_TEACHER:
        return PulseTeacher(head=head, window_norm=arch.window_norm, **kwargs)
    return PulseStudent(head=head, window_norm=arch.window_norm, **kwargs)


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def resnet_param_counts(n_block: int) -> Dict[str, int]:
    """{'paper': all module parameters incl. dense2 and block 0's bn1,
        'inference': networks.md's inference count = paper minus dense2,
        'blob': floats stored in the exported blob}."""
    m = ResNet1D(n_block)
    paper = count_params(m)
    inference = paper - count_params(m.dense2)
    return {"paper": paper, "inference": inference,
            "blob": A.blob_float_count(A.get_arch(f"resnet{n_block}"))}


def param_table() -> List[Tuple[str, int, Optional[int], int]]:
    """Rows (arch, paper-style params, inference params (ResNet only), blob floats)."""
    rows = []
    for name in A.ARCH_NAMES:
        arch = A.get_arch(name)
        if arch.is_resnet:
            c = resnet_param_counts(arch.variant)
            rows.append((name, c["paper"], c["inference"], c["blob"]))
        else:
            rows.append((name, count_params(build_model(name)), None, A.blob_float_count(arch)))
    return rows


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m ppghr_tools.models",
                                 description="Print the parameter counts of every ppghr network.")
    ap.parse_args(argv)
    print("paper = model.parameters() of the training module (ResNet: includes the unused dense2")
    print("        and block 0's unused bn1; the numbers the papers quote)")
    print("inference = networks.md's inference count (paper minus dense2)")
    print("blob = floats in the exported blob (BN folded / scale+shift, unused parts dropped)")
    print(f"{'arch':<20}{'paper':>12}{'inference':>12}{'blob':>12}")
    for name, paper, inference, blob in param_table():
        inf = f"{inference:,}" if inference is not None else "-"
        print(f"{name:<20}{paper:>12,}{inf:>12}{blob:>12,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
