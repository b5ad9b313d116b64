"""Architecture registry: names, geometry, blob descriptors, fingerprints and tensor lists.

Each network is one list of layer specs (``layers(arch)``; a layer spec gives its descriptor record,
its blob tensors, its training state_dict keys and how export / import convert them); descriptor(),
fingerprint(), state_dict_spec(), blob_tensor_spec(), export.export_tensors() and
blob.blob_to_state_dict() all walk that list.

This module needs numpy only (no torch), so blobs can be written and checked without PyTorch.
Everything here follows docs/blob-format.md; networks.md (shared/design) gives the networks.

Architecture names (``ARCH_NAMES``):
  resnet1 .. resnet12             1D-ResNet with N blocks, 180 classes          (family 1, variant N)
  pulse_teacher, pulse_teacher_cls PULSE teacher, regression / 180-class head   (family 2, variant 0 / 1)
  pulse_student, pulse_student_cls PULSE student, regression / 180-class head   (family 3, variant 0 / 1)
  pulse_teacher_wn, pulse_teacher_wn_cls, pulse_student_wn, pulse_student_wn_cls
                                  the same networks with per-window input normalisation inside the
                                  network (op WINDOW_NORM in place of INPUT_NORM; no input_norm tensor)
  mlp1 .. mlp4                    MLP students, width set 1..4                   (family 4, variant 1..4)
  specnet1 .. specnet12           SpecNet over the spectral features, N blocks,  (family 5, variant N)
                                  width 16
  specnet1w32 .. specnet12w32     the same at width 32 (the teachers)            (family 5, variant N)

MLP width sets (hidden layers; see models.py for why): ``MLP_WIDTHS``.
"""

from __future__ import annotations

import dataclasses
import struct
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

# --------------------------------------------------------------------------------------------
# Constants shared with the blob format

N_CLASSES = 180           # class k = (30 + k) BPM
BN_EPS = 1e-5
RESNET_INPUT_LEN = 200    # 8 s at 25 Hz
RESNET_BASE_FILTERS = 32
RESNET_KERNEL = 5
RESNET_DENSE2_OUT = 200   # the training module's unused second head
PULSE_ROWS = 4            # PPG, ACC x, ACC y, ACC z
PULSE_INPUT_LEN = 256     # 8 s at 32 Hz
PULSE_EMBED = 16
PULSE_HEADS = 4
PULSE_HIDDEN = 32
# Per-window normalisation of the _wn PULSE variants (op WINDOW_NORM): the PPG row is z-scored over
# the window; the three accelerometer rows lose their own mean and share one divisor, the root of
# their mean variance, floored at PULSE_ACC_FLOOR_G g (so a resting wrist's sensor noise is not
# blown up to unit variance, and the axes keep their relative amplitude). Our choice.
PULSE_ACC_FLOOR_G = 0.05
PULSE_ACC_FLOOR_UG = 50000       # the same floor in micro-g, the descriptor's word
PULSE_PPG_EPS = 1e-6             # floor of the PPG row's std (a flat row is the monitor's to flag)
SPECNET_FEATURES = 6      # spectral.features(): PPG, acc, cleaned spectra; PPG, acc at 2x the class frequency; position
SPECNET_BINS = N_CLASSES  # one position per heart-rate class
SPECNET_KERNEL = 7
SPECNET_WIDTHS = (16, 32)

FAMILY_RESNET = 1
FAMILY_PULSE_TEACHER = 2
FAMILY_PULSE_STUDENT = 3
FAMILY_MLP = 4
FAMILY_SPECNET = 5
FAMILY_CNN = 6  # TinyCnn, the example network (docs/blob-format.md)

HEAD_REGRESSION = 0
HEAD_CLASSES = 1

# op codes (docs/blob-format.md, "Architecture fingerprint")
OP_NET = 1
OP_CONV1D = 2
OP_AFFINE = 3
OP_MAXPOOL1D = 4
OP_AVGPOOL1D = 5
OP_GLOBAL_AVG_POOL = 6
OP_LINEAR = 7
OP_CHANNEL_PAD = 8
OP_RESIDUAL_BEGIN = 9
OP_SHORTCUT = 10
OP_ADD = 11
OP_INPUT_NORM = 12
OP_ROW_CONV = 13
OP_ROW_AVGPOOL = 14
OP_CROSS_ATTENTION = 15
OP_LAYER_NORM = 16
OP_MODALITY_CONV = 17
OP_WINDOW_NORM = 18

# number of words after the op code, per op
OP_WORDS = {
    OP_NET: 5,
    OP_CONV1D: 11,
    OP_AFFINE: 3,
    OP_MAXPOOL1D: 8,
    OP_AVGPOOL1D: 5,
    OP_GLOBAL_AVG_POOL: 2,
    OP_LINEAR: 3,
    OP_CHANNEL_PAD: 3,
    OP_RESIDUAL_BEGIN: 0,
    OP_SHORTCUT: 0,
    OP_ADD: 2,
    OP_INPUT_NORM: 2,
    OP_ROW_CONV: 12,
    OP_ROW_AVGPOOL: 6,
    OP_CROSS_ATTENTION: 8,
    OP_LAYER_NORM: 2,
    OP_MODALITY_CONV: 5,
    OP_WINDOW_NORM: 3,
}

OP_NAMES = {
    OP_NET: "NET", OP_CONV1D: "CONV1D", OP_AFFINE: "AFFINE", OP_MAXPOOL1D: "MAXPOOL1D",
    OP_AVGPOOL1D: "AVGPOOL1D", OP_GLOBAL_AVG_POOL: "GLOBAL_AVG_POOL", OP_LINEAR: "LINEAR",
    OP_CHANNEL_PAD: "CHANNEL_PAD", OP_RESIDUAL_BEGIN: "RESIDUAL_BEGIN", OP_SHORTCUT: "SHORTCUT",
    OP_ADD: "ADD", OP_INPUT_NORM: "INPUT_NORM", OP_ROW_CONV: "ROW_CONV",
    OP_ROW_AVGPOOL: "ROW_AVGPOOL", OP_CROSS_ATTENTION: "CROSS_ATTENTION",
    OP_LAYER_NORM: "LAYER_NORM", OP_MODALITY_CONV: "MODALITY_CONV", OP_WINDOW_NORM: "WINDOW_NORM",
}

ACT_NONE = 0
ACT_RELU = 1

# MLP students: two hidden layers of equal width; each set matches the inference parameter
# count of one of the paper's ResNet students (N = 1, 2, 6, 10). See models.py.
MLP_WIDTHS: Dict[int, Tuple[int, ...]] = {
    1: (40, 40),     # 17,060 params  ~ resnet1  (16,692)
    2: (64, 64),     # 28,724 params  ~ resnet2  (27,124)
    3: (216, 216),   # 129,348 params ~ resnet6  (126,196)
    4: (544, 544),   # 503,924 params ~ resnet10 (508,660)
}


# --------------------------------------------------------------------------------------------
# Arch registry

@dataclasses.dataclass(frozen=True)
class Arch:
    name: str
    family: int
    variant: int
    in_channels: int      # input rows (PULSE: 4) or channels (1)
    in_length: int
    n_outputs: int
    width: int = 0        # SpecNet: channels of its convolutions (16 or 32); 0 otherwise
    window_norm: bool = False  # PULSE: per-window normalisation inside the network (the _wn names)

    @property
    def input_floats(self) -> int:
        return self.in_channels * self.in_length

    @property
    def is_resnet(self) -> bool:
        return self.family == FAMILY_RESNET

    @property
    def is_pulse(self) -> bool:
        return self.family in (FAMILY_PULSE_TEACHER, FAMILY_PULSE_STUDENT)

    @property
    def is_mlp(self) -> bool:
        return self.family == FAMILY_MLP

    @property
    def is_specnet(self) -> bool:
        return self.family == FAMILY_SPECNET

    @property
    def has_classes(self) -> bool:
        return self.n_outputs == N_CLASSES


def _build_registry() -> Dict[str, Arch]:
    reg: Dict[str, Arch] = {}
    for n in range(1, 13):
        reg[f"resnet{n}"] = Arch(f"resnet{n}", FAMILY_RESNET, n, 1, RESNET_INPUT_LEN, N_CLASSES)
    for idx in sorted(MLP_WIDTHS):
        reg[f"mlp{idx}"] = Arch(f"mlp{idx}", FAMILY_MLP, idx, 1, RESNET_INPUT_LEN, N_CLASSES)
    for base, fam in (("pulse_teacher", FAMILY_PULSE_TEACHER), ("pulse_student", FAMILY_PULSE_STUDENT)):
        for wn, suffix in ((False, ""), (True, "_wn")):
            name = base + suffix
            reg[name] = Arch(name, fam, HEAD_REGRESSION, PULSE_ROWS, PULSE_INPUT_LEN, 1, window_norm=wn)
            reg[name + "_cls"] = Arch(name + "_cls", fam, HEAD_CLASSES, PULSE_ROWS, PULSE_INPUT_LEN, N_CLASSES,
                                      window_norm=wn)
    for width, suffix in ((16, ""), (32, "w32")):
        for n in range(1, 13):
            name = f"specnet{n}{suffix}"
            reg[name] = Arch(name, FAMILY_SPECNET, n, SPECNET_FEATURES, SPECNET_BINS, N_CLASSES, width)
    reg["tinycnn"] = Arch("tinycnn", FAMILY_CNN, 1, 1, RESNET_INPUT_LEN, N_CLASSES)
    return reg


ARCHS: Dict[str, Arch] = _build_registry()
ARCH_NAMES: List[str] = list(ARCHS)


def get_arch(name: str) -> Arch:
    try:
        return ARCHS[name]
    except KeyError:
        raise ValueError(f"unknown arch {name!r}; known: {', '.join(ARCH_NAMES)}") from None


# --------------------------------------------------------------------------------------------
# 1D-ResNet geometry (networks.md section 1)

def same_padding(length: int, stride: int, kernel: int) -> Tuple[int, int, int]:
    """'Same' padding of networks.md: returns (l_out, pad_left, pad_right)."""
    out = (length + stride - 1) // stride
    p = max(0, (out - 1) * stride + kernel - length)
    left = p // 2
    return out, left, p - left


@dataclasses.dataclass(frozen=True)
class ResBlock:
    index: int
    c_in: int
    c_out: int
    stride: int
    l_in: int
    l_out: int
    pad_left: int
    pad_right: int


def resnet_blocks(n_blocks: int) -> List[ResBlock]:
    if not 1 <= n_blocks <= 12:
        raise ValueError(f"ResNet block count must be 1..12, got {n_blocks}")
    blocks = []
    length = RESNET_INPUT_LEN
    for i in range(n_blocks):
        if i == 0:
            ci = co = RESNET_BASE_FILTERS
        else:
            ci = RESNET_BASE_FILTERS * 2 ** ((i - 1) // 4)
            co = 2 * ci if i % 4 == 0 else ci
        s = 2 if i % 2 == 1 else 1
        lo, pl, pr = same_padding(length, s, RESNET_KERNEL)
        blocks.append(ResBlock(i, ci, co, s, length, lo, pl, pr))
        length = lo
    return blocks


def resnet_out_channels(n_blocks: int) -> int:
    return resnet_blocks(n_blocks)[-1].c_out


# --------------------------------------------------------------------------------------------
# PULSE geometry (networks.md sections 2 and 3)

@dataclasses.dataclass(frozen=True)
class PulseConv:
    name: str        # state_dict prefix, e.g. "conv11"
    c_in: int
    c_out: int
    kernel: int
    dilation: int
    pad: int         # symmetric


@dataclasses.dataclass(frozen=True)
class PulseStage:
    convs: Tuple[PulseConv, ...]
    pool: int


def pulse_stages(family: int) -> List[PulseStage]:
    if family == FAMILY_PULSE_TEACHER:
        chans = [(1, 32), (32, 48), (48, 64)]
        kernels = [5, 5, 5]
        dils = [2, 2, 2]
        pads = [4, 4, 4]
        pools = [4, 2, 2]
    elif family == FAMILY_PULSE_STUDENT:
        chans = [(1, 16), (16, 24), (24, 32)]
        kernels = [3, 3, 3]
        dils = [2, 3, 4]
        pads = [2, 3, 4]
        pools = [4, 4, 2]
    else:
        raise ValueError(f"not a PULSE family: {family}")
    stages = []
    for s, ((ci, co), k, d, p, pool) in enumerate(zip(chans, kernels, dils, pads, pools), start=1):
        convs = tuple(
            PulseConv(f"conv{s}{j}", ci if j == 1 else co, co, k, d, p) for j in (1, 2, 3)
        )
        stages.append(PulseStage(convs, pool))
    return stages


def pulse_feature_shape(family: int) -> Tuple[int, int]:
    """(channels, steps) after the three temporal stages."""
    length = PULSE_INPUT_LEN
    stages = pulse_stages(family)
    for st in stages:
        length //= st.pool
    return stages[-1].convs[-1].c_out, length


def pulse_dense_in(family: int) -> int:
    c, t = pulse_feature_shape(family)
    if family == FAMILY_PULSE_TEACHER:
        return c * PULSE_EMBED      # 64 query tokens x 16 (t == 16 == embed)
    return c * t                   # student: 32 x 8


# --------------------------------------------------------------------------------------------
# Layer specs. Each layer is written once: its descriptor record (op code and words), the
# training state_dict keys it owns (key, shape, required), its blob tensors (name, shape), how
# the exporter makes those tensors from the state_dict (BatchNorm folded in float64, rounded once
# to float32) and how the importer puts them back. A network is a list of layers (``layers()``);
# a ``Residual`` nests its main path and its shortcut. descriptor(), state_dict_spec(),
# blob_tensor_spec(), export.export_tensors() and blob.blob_to_state_dict() all walk that list.
#
# Adding a network: a function returning its layers (conv1d, affine, linear, row_conv, modality_conv,
# cross_attention, layer_norm, InputNorm, Unused, op(...) for records without tensors, residual),
# its entry in _build_registry() and in layers(), and its PyTorch twin in models.py with the same
# state_dict keys; the golden vectors (golden.py) and the C++ registry then follow.

KeySpec = Tuple[str, Tuple[int, ...], bool]
Tensor = Tuple[str, Tuple[int, ...]]


def to_numpy(v) -> np.ndarray:
    """A state_dict value (torch tensor or array-like) as a numpy array, without importing torch."""
    if hasattr(v, "detach"):
        v = v.detach().cpu().numpy()
    return np.asarray(v)


def _f64(sd, key: str) -> np.ndarray:
    return to_numpy(sd[key]).astype(np.float64)


def fold_conv_bn(w, b, gamma, beta, mean, var, eps: float = BN_EPS):
    """conv -> BN fold in float64, rounded once to float32."""
    s = gamma / np.sqrt(var + eps)
    w2 = w * s.reshape((-1,) + (1,) * (w.ndim - 1))
    b2 = (b - mean) * s + beta
    return w2.astype(np.float32), b2.astype(np.float32)


def bn_affine(gamma, beta, mean, var, eps: float = BN_EPS):
    """BN -> (scale, shift) in float64, rounded once to float32."""
    scale = gamma / np.sqrt(var + eps)
    shift = beta - mean * scale
    return scale.astype(np.float32), shift.astype(np.float32)


def input_norm_array(input_norm) -> np.ndarray:
    a = np.asarray(input_norm, dtype=np.float64).reshape(PULSE_ROWS, 2)
    if not np.all(np.isfinite(a)) or not np.all(a[:, 1] > 0):
        raise ValueError(f"input_norm must be 4 finite (mean, std>0) pairs, got {a.tolist()}")
    return a.astype(np.float32)


def _bn_keys(prefix: str, c: int, required: bool) -> List[KeySpec]:
    return [(f"{prefix}.weight", (c,), required), (f"{prefix}.bias", (c,), required),
            (f"{prefix}.running_mean", (c,), required), (f"{prefix}.running_var", (c,), required),
            (f"{prefix}.num_batches_tracked", (), False)]


def _bn_stats(sd, prefix: str):
    return tuple(_f64(sd, f"{prefix}.{k}") for k in ("weight", "bias", "running_mean", "running_var"))


def _bn_import(sd, prefix: str, c: int, scale=None, shift=None) -> None:
    """An imported BatchNorm: identity (folded away or unused), or weight = scale, bias = shift.
    running_var stays float64: loaded into a float64 module var + eps == 1 to the last bit; a float32
    module rounds it (relative error ~3e-8 in the BN scale)."""
    sd[f"{prefix}.weight"] = np.ones(c, np.float32) if scale is None else scale
    sd[f"{prefix}.bias"] = np.zeros(c, np.float32) if shift is None else shift
    sd[f"{prefix}.running_mean"] = np.zeros(c, np.float64)
    sd[f"{prefix}.running_var"] = np.full(c, 1.0 - BN_EPS, np.float64)
    sd[f"{prefix}.num_batches_tracked"] = np.zeros((), np.int64)


@dataclasses.dataclass(frozen=True)
class Layer:
    """One descriptor record (``op`` and its words; no record when op is None) and the tensors it
    takes: ``name.<key>`` for each (key, shape) of ``params``, copied from / to the state_dict."""
    op: Optional[int] = None
    record: Tuple[int, ...] = ()
    name: str = ""
    params: Tuple[Tuple[str, Tuple[int, ...]], ...] = ()

    def words(self) -> List[int]:
        if self.op is None:
            return []
        assert len(self.record) == OP_WORDS[self.op], (OP_NAMES[self.op], self.record)
        return [self.op] + [int(x) for x in self.record]

    def tensors(self) -> List[Tensor]:
        """Blob tensors (name, shape)."""
        return [(f"{self.name}.{k}", s) for k, s in self.params]

    def sd_keys(self) -> List[KeySpec]:
        """Training state_dict keys (key, shape, required)."""
        return [(k, s, True) for k, s in self.tensors()]

    def export(self, sd, input_norm=None) -> List[Tuple[str, np.ndarray]]:
        """State_dict -> blob tensors (name, float32 array)."""
        return [(k, _f64(sd, k).astype(np.float32)) for k, _ in self.tensors()]

    def import_(self, t, sd, extra: dict) -> None:
        """Blob tensors t -> state_dict entries (and extra["input_norm"])."""
        for k, _ in self.tensors():
            sd[k] = t[k]


def op(code: int, *words: int) -> Layer:
    """A record without tensors (pooling, channel pad, window norm, NET, the residual markers)."""
    return Layer(code, tuple(int(w) for w in words))


def _wb(c_out: int, *w_shape: int):
    return (("weight", tuple(w_shape)), ("bias", (c_out,)))


@dataclasses.dataclass(frozen=True)
class Conv1d(Layer):
    """CONV1D; ``bn`` names a BatchNorm after it that the exporter folds into it (imported as identity)."""
    bn: Optional[str] = None

    def sd_keys(self):
        return super().sd_keys() + (_bn_keys(self.bn, self.record[1], True) if self.bn else [])

    def export(self, sd, input_norm=None):
        if self.bn is None:
            return super().export(sd)
        (wk, _), (bk, _) = self.tensors()
        w, b = fold_conv_bn(_f64(sd, wk), _f64(sd, bk), *_bn_stats(sd, self.bn))
        return [(wk, w), (bk, b)]

    def import_(self, t, sd, extra):
        super().import_(t, sd, extra)
        if self.bn:
            _bn_import(sd, self.bn, self.record[1])


def conv1d(name, c_in, c_out, l_in, l_out, kernel, stride=1, pad=(0, 0), act=ACT_NONE, bn=None) -> Conv1d:
    return Conv1d(OP_CONV1D, (c_in, c_out, l_in, l_out, kernel, stride, 1, pad[0], pad[1], 1, act), name,
                  _wb(c_out, c_out, c_in, kernel), bn)


def row_conv(name, rows, c_in, c_out, length, kernel, dilation, pad, act=ACT_RELU) -> Layer:
    """ROW_CONV: the same Conv2d (1 x kernel) over each input row; keeps the length."""
    assert length + 2 * pad - dilation * (kernel - 1) == length
    return Layer(OP_ROW_CONV, (rows, c_in, c_out, length, length, kernel, 1, dilation, pad, pad, 1, act), name,
                 _wb(c_out, c_out, c_in, 1, kernel))


def linear(name, n_in, n_out, act=ACT_NONE) -> Layer:
    """LINEAR over the flattened current tensor."""
    return Layer(OP_LINEAR, (n_in, n_out, act), name, _wb(n_out, n_out, n_in))


def modality_conv(name, c_in, c_out, rows, length, act=ACT_NONE) -> Layer:
    """MODALITY_CONV: Conv2d (rows x 1) mixing the rows."""
    return Layer(OP_MODALITY_CONV, (c_in, c_out, rows, length, act), name, _wb(c_out, c_out, c_in, rows, 1))


def cross_attention(name, embed, *record) -> Layer:
    """CROSS_ATTENTION (nn.MultiheadAttention); record: channels, rows, length, heads, q_row, q_rows,
    kv_row, kv_rows."""
    e = embed
    return Layer(OP_CROSS_ATTENTION, tuple(record), name, (("in_proj_weight", (3 * e, e)), ("in_proj_bias", (3 * e,)),
                                                          ("out_proj.weight", (e, e)), ("out_proj.bias", (e,))))


def layer_norm(name, tokens, features) -> Layer:
    return Layer(OP_LAYER_NORM, (tokens, features), name, (("weight", (features,)), ("bias", (features,))))


@dataclasses.dataclass(frozen=True)
class Affine(Layer):
    """AFFINE(channels, length, act) from the BatchNorm ``name``: the blob holds ``name.scale`` /
    ``name.shift`` (imported as weight = scale, bias = shift)."""

    def sd_keys(self):
        return _bn_keys(self.name, self.record[0], True)

    def export(self, sd, input_norm=None):
        return list(zip((k for k, _ in self.tensors()), bn_affine(*_bn_stats(sd, self.name))))

    def import_(self, t, sd, extra):
        _bn_import(sd, self.name, self.record[0], *(t[k] for k, _ in self.tensors()))


def affine(bn, channels, length, act) -> Affine:
    return Affine(OP_AFFINE, (channels, length, act), bn, (("scale", (channels,)), ("shift", (channels,))))


@dataclasses.dataclass(frozen=True)
class Unused(Layer):
    """Parameters of the training module that inference never uses (ResNet dense2, block 0's bn1):
    optional state_dict keys, no record, no blob tensor; imported as zeros (a BatchNorm: identity)."""
    bn_channels: int = 0          # > 0: a BatchNorm of this many channels; else ``params`` (a Linear)

    def tensors(self):
        return []

    def sd_keys(self):
        if self.bn_channels:
            return _bn_keys(self.name, self.bn_channels, False)
        return [(f"{self.name}.{k}", s, False) for k, s in self.params]

    def import_(self, t, sd, extra):
        if self.bn_channels:
            _bn_import(sd, self.name, self.bn_channels)
        for k, s in self.params:
            sd[f"{self.name}.{k}"] = np.zeros(s, np.float32)


@dataclasses.dataclass(frozen=True)
class InputNorm(Layer):
    """INPUT_NORM(rows, length): per-row (mean, std) of the training set, tensor ``input_norm``
    [rows, 2]; not a state_dict key: the module's buffer, export's --input-norm or the checkpoint's
    ``input_norm`` entry, else (0, 1)."""

    def tensors(self):
        return [("input_norm", (self.record[0], 2))]

    def sd_keys(self):
        return []

    def export(self, sd, input_norm=None):
        if input_norm is None:
            input_norm = sd.get("input_norm") if "input_norm" in sd else [[0.0, 1.0]] * self.record[0]
        return [("input_norm", input_norm_array(to_numpy(input_norm)))]

    def import_(self, t, sd, extra):
        extra["input_norm"] = t["input_norm"]


@dataclasses.dataclass(frozen=True)
class Residual(Layer):
    """RESIDUAL_BEGIN, the main path, SHORTCUT, the shortcut path, ADD(channels, length)."""
    body: Tuple[Layer, ...] = ()
    shortcut: Tuple[Layer, ...] = ()

    def leaves(self) -> List[Layer]:
        return [op(OP_RESIDUAL_BEGIN), *self.body, op(OP_SHORTCUT), *self.shortcut, op(OP_ADD, *self.record)]


def residual(body, shortcut, channels, length) -> Residual:
    return Residual(None, (channels, length), body=tuple(body), shortcut=tuple(shortcut))


def flatten(layers: Sequence[Layer]) -> List[Layer]:
    """The layers in forward order with each Residual expanded into its records."""
    out: List[Layer] = []
    for layer in layers:
        out += flatten(layer.leaves()) if isinstance(layer, Residual) else [layer]
    return out


# --------------------------------------------------------------------------------------------
# The networks as lists of layers

def _resnet_layers(arch: Arch) -> List[Layer]:
    k, c0, n_in = RESNET_KERNEL, RESNET_BASE_FILTERS, RESNET_INPUT_LEN
    _, pl, pr = same_padding(n_in, 1, k)
    out: List[Layer] = [conv1d("first_block_conv.conv", 1, c0, n_in, n_in, k, pad=(pl, pr), act=ACT_RELU,
                               bn="first_block_bn")]
    for b in resnet_blocks(arch.variant):
        p = f"basicblock_list.{b.index}"
        _, pl2, pr2 = same_padding(b.l_out, 1, k)
        bn1 = f"{p}.bn1"       # the first block skips its bn1 (the module keeps one)
        body = [affine(bn1, b.c_in, b.l_in, ACT_RELU) if b.index > 0 else Unused(name=bn1, bn_channels=b.c_in),
                conv1d(f"{p}.conv1.conv", b.c_in, b.c_out, b.l_in, b.l_out, k, b.stride,
                       pad=(b.pad_left, b.pad_right), act=ACT_RELU, bn=f"{p}.bn2"),
                conv1d(f"{p}.conv2.conv", b.c_out, b.c_out, b.l_out, b.l_out, k, pad=(pl2, pr2))]
        shortcut = []
        if b.stride == 2:
            shortcut.append(op(OP_MAXPOOL1D, b.c_in, b.l_in, b.l_out, 2, 2, 0, 1, 0))
        if b.c_out > b.c_in:
            shortcut.append(op(OP_CHANNEL_PAD, b.c_in, b.c_out, (b.c_out - b.c_in) // 2))
        out.append(residual(body, shortcut, b.c_out, b.l_out))
    last = resnet_blocks(arch.variant)[-1]
    c = last.c_out
    return out + [affine("final_bn", c, last.l_out, ACT_RELU), op(OP_GLOBAL_AVG_POOL, c, last.l_out),
                  linear("dense", c, N_CLASSES),
                  Unused(name="dense2", params=_wb(RESNET_DENSE2_OUT, RESNET_DENSE2_OUT, c))]


def _pulse_layers(arch: Arch) -> List[Layer]:
    rows, length = PULSE_ROWS, PULSE_INPUT_LEN
    out: List[Layer] = [op(OP_WINDOW_NORM, rows, length, PULSE_ACC_FLOOR_UG) if arch.window_norm
                        else InputNorm(OP_INPUT_NORM, (rows, length))]
    for st in pulse_stages(arch.family):
        for cv in st.convs:
            out.append(row_conv(cv.name, rows, cv.c_in, cv.c_out, length, cv.kernel, cv.dilation, cv.pad))
        out.append(op(OP_ROW_AVGPOOL, rows, st.convs[-1].c_out, length, length // st.pool, st.pool, st.pool))
        length //= st.pool
    c, t = pulse_feature_shape(arch.family)
    if arch.family == FAMILY_PULSE_TEACHER:
        # query: row 0 (PPG), 1 row; keys/values: rows 1..3 (ACC x, y, z)
        out += [cross_attention("multihead_attn", PULSE_EMBED, c, rows, t, PULSE_HEADS, 0, 1, 1, 3),
                layer_norm("layer_norm", c, t)]
    else:
        out.append(modality_conv("conv4", c, c, rows, t))
    return out + [linear("dense", pulse_dense_in(arch.family), PULSE_HIDDEN),
                  linear("out", PULSE_HIDDEN, arch.n_outputs)]


def _mlp_layers(arch: Arch) -> List[Layer]:
    dims = mlp_dims(arch.variant)
    n_lin = len(dims) - 1
    return [linear(f"fc.{i}", a, b, ACT_RELU if i < n_lin - 1 else ACT_NONE)
            for i, (a, b) in enumerate(zip(dims[:-1], dims[1:]))]


def _specnet_layers(arch: Arch) -> List[Layer]:
    # every convolution keeps the 180 bins: stride 1, zero padding (k - 1) / 2 on each side
    c, k, n = arch.width, SPECNET_KERNEL, SPECNET_BINS
    pad = ((k - 1) // 2,) * 2
    out: List[Layer] = [conv1d("stem", SPECNET_FEATURES, c, n, n, k, pad=pad, act=ACT_RELU)]
    for i in range(arch.variant):
        out.append(residual((conv1d(f"blocks.{i}.conv1", c, c, n, n, k, pad=pad, act=ACT_RELU),
                             conv1d(f"blocks.{i}.conv2", c, c, n, n, k, pad=pad)), (), c, n))
    return out + [conv1d("head1", c, c, n, n, 1, act=ACT_RELU), conv1d("head2", c, 1, n, n, 1)]


def _cnn_layers(arch: Arch) -> List[Layer]:
    # TinyCnn: two stride-2 convolutions (kernel 5, zero padding 2), global average pool, dense
    return [conv1d("conv0", 1, 8, 200, 100, 5, stride=2, pad=(2, 2), act=ACT_RELU),
            conv1d("conv1", 8, 16, 100, 50, 5, stride=2, pad=(2, 2), act=ACT_RELU),
            op(OP_GLOBAL_AVG_POOL, 16, 50), linear("dense", 16, N_CLASSES)]


def layers(arch: Arch) -> List[Layer]:
    """The network in forward order, NET record first; see flatten() for the records."""
    arch = get_arch(arch) if isinstance(arch, str) else arch
    body = {FAMILY_RESNET: _resnet_layers, FAMILY_PULSE_TEACHER: _pulse_layers, FAMILY_PULSE_STUDENT: _pulse_layers,
            FAMILY_MLP: _mlp_layers, FAMILY_SPECNET: _specnet_layers, FAMILY_CNN: _cnn_layers}[arch.family](arch)
    return [op(OP_NET, arch.family, arch.variant, arch.in_channels, arch.in_length, arch.n_outputs)] + body


def mlp_dims(variant: int) -> List[int]:
    if variant not in MLP_WIDTHS:
        raise ValueError(f"unknown MLP width set {variant}; known: {sorted(MLP_WIDTHS)}")
    return [RESNET_INPUT_LEN, *MLP_WIDTHS[variant], N_CLASSES]


# --------------------------------------------------------------------------------------------
# Walkers: descriptor (docs/blob-format.md), training state_dict spec, blob tensor table

def descriptor(arch: Arch) -> List[int]:
    """The architecture descriptor: a list of u32 words, one record per op in forward order."""
    return [w for layer in flatten(layers(arch)) for w in layer.words()]


def state_dict_spec(arch: Arch) -> List[KeySpec]:
    """Training state_dict keys: (key, shape, required). Used to validate checkpoints and to draw
    random weights. Optional keys are those inference never uses."""
    return [s for layer in flatten(layers(arch)) for s in layer.sd_keys()]


def blob_tensor_spec(arch: Arch) -> List[Tensor]:
    """Blob tensors (name, shape) in table order."""
    return [t for layer in flatten(layers(arch)) for t in layer.tensors()]


FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3


def fnv1a64(data: bytes) -> int:
    h = FNV_OFFSET
    for byte in data:
        h ^= byte
        h = (h * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


def descriptor_bytes(words: Sequence[int]) -> bytes:
    return struct.pack(f"<{len(words)}I", *words)


def fingerprint_of_words(words: Sequence[int]) -> int:
    return fnv1a64(descriptor_bytes(words))


def fingerprint(arch: Arch) -> int:
    return fingerprint_of_words(descriptor(arch))


def arch_of_fingerprint(fp: int) -> Arch:
    """The architecture whose fingerprint is fp (a blob's header); ValueError when none is."""
    for n in ARCH_NAMES:
        a = get_arch(n)
        if fingerprint(a) == fp:
            return a
    raise ValueError(f"no known architecture has fingerprint {fp:#018x}")


def format_descriptor(words: Sequence[int]) -> str:
    """Human-readable descriptor, one op per line."""
    lines = []
    i = 0
    while i < len(words):
        code = words[i]
        n = OP_WORDS[code]
        args = words[i + 1:i + 1 + n]
        lines.append(f"{OP_NAMES[code]}({', '.join(str(a) for a in args)})")
        i += 1 + n
    return "\n".join(lines)


def blob_float_count(arch: Arch) -> int:
    total = 0
    for _, shape in blob_tensor_spec(arch):
        n = 1
        for d in shape:
            n *= d
        total += n
    return total


def training_param_count(arch: Arch, include_optional: bool = True) -> int:
    """Sum of trainable parameter sizes in the training state_dict (running stats excluded)."""
    total = 0
    for key, shape, required in state_dict_spec(arch):
        if key.endswith(("running_mean", "running_var", "num_batches_tracked")):
            continue
        if not required and not include_optional:
            continue
        n = 1
        for d in shape:
            n *= d
        total += n
    return total
