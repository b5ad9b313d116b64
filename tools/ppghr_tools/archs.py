"""Architecture registry: names, geometry, blob descriptors, fingerprints and tensor lists.

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
# Training state_dict specs: (key, shape, required). Used to validate checkpoints and to draw
# random weights. Optional keys are those inference never uses.

KeySpec = Tuple[str, Tuple[int, ...], bool]


def _bn_keys(prefix: str, c: int, required: bool) -> List[KeySpec]:
    return [
        (f"{prefix}.weight", (c,), required),
        (f"{prefix}.bias", (c,), required),
        (f"{prefix}.running_mean", (c,), required),
        (f"{prefix}.running_var", (c,), required),
        (f"{prefix}.num_batches_tracked", (), False),
    ]


def state_dict_spec(arch: Arch) -> List[KeySpec]:
    spec: List[KeySpec] = []
    if arch.is_resnet:
        n = arch.variant
        k = RESNET_KERNEL
        c0 = RESNET_BASE_FILTERS
        spec += [("first_block_conv.conv.weight", (c0, 1, k), True),
                 ("first_block_conv.conv.bias", (c0,), True)]
        spec += _bn_keys("first_block_bn", c0, True)
        for b in resnet_blocks(n):
            p = f"basicblock_list.{b.index}"
            spec += _bn_keys(f"{p}.bn1", b.c_in, b.index > 0)
            spec += [(f"{p}.conv1.conv.weight", (b.c_out, b.c_in, k), True),
                     (f"{p}.conv1.conv.bias", (b.c_out,), True)]
            spec += _bn_keys(f"{p}.bn2", b.c_out, True)
            spec += [(f"{p}.conv2.conv.weight", (b.c_out, b.c_out, k), True),
                     (f"{p}.conv2.conv.bias", (b.c_out,), True)]
        c = resnet_out_channels(n)
        spec += _bn_keys("final_bn", c, True)
        spec += [("dense.weight", (N_CLASSES, c), True), ("dense.bias", (N_CLASSES,), True),
                 ("dense2.weight", (RESNET_DENSE2_OUT, c), False),
                 ("dense2.bias", (RESNET_DENSE2_OUT,), False)]
    elif arch.is_pulse:
        for st in pulse_stages(arch.family):
            for cv in st.convs:
                spec += [(f"{cv.name}.weight", (cv.c_out, cv.c_in, 1, cv.kernel), True),
                         (f"{cv.name}.bias", (cv.c_out,), True)]
        c, t = pulse_feature_shape(arch.family)
        if arch.family == FAMILY_PULSE_TEACHER:
            e = PULSE_EMBED
            spec += [("multihead_attn.in_proj_weight", (3 * e, e), True),
                     ("multihead_attn.in_proj_bias", (3 * e,), True),
                     ("multihead_attn.out_proj.weight", (e, e), True),
                     ("multihead_attn.out_proj.bias", (e,), True),
                     ("layer_norm.weight", (e,), True),
                     ("layer_norm.bias", (e,), True)]
        else:
            spec += [("conv4.weight", (c, c, PULSE_ROWS, 1), True), ("conv4.bias", (c,), True)]
        d_in = pulse_dense_in(arch.family)
        spec += [("dense.weight", (PULSE_HIDDEN, d_in), True), ("dense.bias", (PULSE_HIDDEN,), True),
                 ("out.weight", (arch.n_outputs, PULSE_HIDDEN), True),
                 ("out.bias", (arch.n_outputs,), True)]
    elif arch.is_mlp:
        dims = mlp_dims(arch.variant)
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            spec += [(f"fc.{i}.weight", (b, a), True), (f"fc.{i}.bias", (b,), True)]
    elif arch.is_specnet:
        w, k = arch.width, SPECNET_KERNEL
        spec += [("stem.weight", (w, SPECNET_FEATURES, k), True), ("stem.bias", (w,), True)]
        for i in range(arch.variant):
            for conv in ("conv1", "conv2"):
                spec += [(f"blocks.{i}.{conv}.weight", (w, w, k), True), (f"blocks.{i}.{conv}.bias", (w,), True)]
        spec += [("head1.weight", (w, w, 1), True), ("head1.bias", (w,), True),
                 ("head2.weight", (1, w, 1), True), ("head2.bias", (1,), True)]
    else:  # pragma: no cover
        raise ValueError(arch.name)
    return spec


def mlp_dims(variant: int) -> List[int]:
    if variant not in MLP_WIDTHS:
        raise ValueError(f"unknown MLP width set {variant}; known: {sorted(MLP_WIDTHS)}")
    return [RESNET_INPUT_LEN, *MLP_WIDTHS[variant], N_CLASSES]


# --------------------------------------------------------------------------------------------
# Descriptors (docs/blob-format.md)

def descriptor(arch: Arch) -> List[int]:
    """The architecture descriptor: a list of u32 words, one record per op in forward order."""
    w: List[int] = []

    def op(code: int, *words: int) -> None:
        assert len(words) == OP_WORDS[code], (OP_NAMES[code], words)
        w.append(code)
        w.extend(int(x) for x in words)

    op(OP_NET, arch.family, arch.variant, arch.in_channels, arch.in_length, arch.n_outputs)
    if arch.is_resnet:
        k = RESNET_KERNEL
        c0 = RESNET_BASE_FILTERS
        _, pl, pr = same_padding(RESNET_INPUT_LEN, 1, k)
        op(OP_CONV1D, 1, c0, RESNET_INPUT_LEN, RESNET_INPUT_LEN, k, 1, 1, pl, pr, 1, ACT_RELU)
        for b in resnet_blocks(arch.variant):
            op(OP_RESIDUAL_BEGIN)
            if b.index > 0:
                op(OP_AFFINE, b.c_in, b.l_in, ACT_RELU)
            op(OP_CONV1D, b.c_in, b.c_out, b.l_in, b.l_out, k, b.stride, 1, b.pad_left, b.pad_right, 1, ACT_RELU)
            _, pl2, pr2 = same_padding(b.l_out, 1, k)
            op(OP_CONV1D, b.c_out, b.c_out, b.l_out, b.l_out, k, 1, 1, pl2, pr2, 1, ACT_NONE)
            op(OP_SHORTCUT)
            if b.stride == 2:
                op(OP_MAXPOOL1D, b.c_in, b.l_in, b.l_out, 2, 2, 0, 1, 0)
            if b.c_out > b.c_in:
                op(OP_CHANNEL_PAD, b.c_in, b.c_out, (b.c_out - b.c_in) // 2)
            op(OP_ADD, b.c_out, b.l_out)
        last = resnet_blocks(arch.variant)[-1]
        op(OP_AFFINE, last.c_out, last.l_out, ACT_RELU)
        op(OP_GLOBAL_AVG_POOL, last.c_out, last.l_out)
        op(OP_LINEAR, last.c_out, N_CLASSES, ACT_NONE)
    elif arch.is_pulse:
        rows = PULSE_ROWS
        length = PULSE_INPUT_LEN
        if arch.window_norm:
            op(OP_WINDOW_NORM, rows, length, PULSE_ACC_FLOOR_UG)
        else:
            op(OP_INPUT_NORM, rows, length)
        for st in pulse_stages(arch.family):
            for cv in st.convs:
                l_out = length + 2 * cv.pad - cv.dilation * (cv.kernel - 1)
                assert l_out == length
                op(OP_ROW_CONV, rows, cv.c_in, cv.c_out, length, l_out, cv.kernel, 1, cv.dilation,
                   cv.pad, cv.pad, 1, ACT_RELU)
            c = st.convs[-1].c_out
            op(OP_ROW_AVGPOOL, rows, c, length, length // st.pool, st.pool, st.pool)
            length //= st.pool
        c, t = pulse_feature_shape(arch.family)
        if arch.family == FAMILY_PULSE_TEACHER:
            # query: row 0 (PPG), 1 row; keys/values: rows 1..3 (ACC x, y, z)
            op(OP_CROSS_ATTENTION, c, rows, t, PULSE_HEADS, 0, 1, 1, 3)
            op(OP_LAYER_NORM, c, t)
        else:
            op(OP_MODALITY_CONV, c, c, rows, t, ACT_NONE)
        op(OP_LINEAR, pulse_dense_in(arch.family), PULSE_HIDDEN, ACT_NONE)
        op(OP_LINEAR, PULSE_HIDDEN, arch.n_outputs, ACT_NONE)
    elif arch.is_mlp:
        dims = mlp_dims(arch.variant)
        n_lin = len(dims) - 1
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            op(OP_LINEAR, a, b, ACT_RELU if i < n_lin - 1 else ACT_NONE)
    elif arch.is_specnet:
        # every convolution keeps the 180 bins: stride 1, zero padding (k - 1) / 2 on each side
        c, k, n = arch.width, SPECNET_KERNEL, SPECNET_BINS
        pad = (k - 1) // 2
        op(OP_CONV1D, SPECNET_FEATURES, c, n, n, k, 1, 1, pad, pad, 1, ACT_RELU)
        for _ in range(arch.variant):
            op(OP_RESIDUAL_BEGIN)
            op(OP_CONV1D, c, c, n, n, k, 1, 1, pad, pad, 1, ACT_RELU)
            op(OP_CONV1D, c, c, n, n, k, 1, 1, pad, pad, 1, ACT_NONE)
            op(OP_SHORTCUT)
            op(OP_ADD, c, n)
        op(OP_CONV1D, c, c, n, n, 1, 1, 1, 0, 0, 1, ACT_RELU)
        op(OP_CONV1D, c, 1, n, n, 1, 1, 1, 0, 0, 1, ACT_NONE)
    return w


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


# --------------------------------------------------------------------------------------------
# Blob tensor lists: (name, shape) in table order

def blob_tensor_spec(arch: Arch) -> List[Tuple[str, Tuple[int, ...]]]:
    t: List[Tuple[str, Tuple[int, ...]]] = []
    if arch.is_resnet:
        k = RESNET_KERNEL
        c0 = RESNET_BASE_FILTERS
        t += [("first_block_conv.conv.weight", (c0, 1, k)), ("first_block_conv.conv.bias", (c0,))]
        for b in resnet_blocks(arch.variant):
            p = f"basicblock_list.{b.index}"
            if b.index > 0:
                t += [(f"{p}.bn1.scale", (b.c_in,)), (f"{p}.bn1.shift", (b.c_in,))]
            t += [(f"{p}.conv1.conv.weight", (b.c_out, b.c_in, k)), (f"{p}.conv1.conv.bias", (b.c_out,)),
                  (f"{p}.conv2.conv.weight", (b.c_out, b.c_out, k)), (f"{p}.conv2.conv.bias", (b.c_out,))]
        c = resnet_out_channels(arch.variant)
        t += [("final_bn.scale", (c,)), ("final_bn.shift", (c,)),
              ("dense.weight", (N_CLASSES, c)), ("dense.bias", (N_CLASSES,))]
    elif arch.is_pulse:
        if not arch.window_norm:
            t.append(("input_norm", (PULSE_ROWS, 2)))
        t += [(k, s) for (k, s, req) in state_dict_spec(arch)]
    elif arch.is_mlp or arch.is_specnet:
        t += [(k, s) for (k, s, req) in state_dict_spec(arch)]
    return t


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
