"""Golden vectors of the C++ int8 networks (include/ppghr/int8/network.hpp, tests/test_int8.cpp).

For each architecture: golden.py's random float weights (its seed per architecture), post-training
quantisation (quant.quantize_network) on random calibration windows (golden.random_window), the
int8 blob, and test windows with quant.py's integer results. The C++ must reproduce them EXACTLY:
the int8 input, the last op's int32 accumulators and the float32 logits (docs/int8.md). numpy only,
deterministic (numpy's legacy RandomState), a few seconds for all of them.

    PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.int8_golden --out DIR [--arch NAME ...]

Files per architecture, in DIR:
  <arch>.q8.ppgw   the int8 blob (dtype 2)
  <arch>.q8c.ppgw  its compact twin (dtype 4: QNet.to_compact_blob, equal to quant.to_compact of the
                   dtype-2 blob)
  <arch>.q8io      b"PQ8G", then u32 version (1), n, input_size, outputs; then
                   float32 [n][input_size]  the windows, in the C++ float network's input layout
                                            (SpecNet: [180][6]; the others as quant.py reads them);
                   int8    [n][input_size]  quant.QNet.quantize_input of each, in the C++ int8 layout
                                            (the same layout as the window);
                   int32   [n][outputs]     the last op's accumulators (QNet.forward_int);
                   float32 [n][outputs]     the logits acc_scale * acc.
And for every shipped int8 model, models/int8/<name>.ppgw: <name>.q8io, its windows (random
plausible ones, golden.random_window of its architecture) with quant.py's results from that blob,
and <name>.q8c.ppgw, the blob's compact twin (quant.to_compact; not shipped).
The window-normalised (_wn) networks' int8 input comes from quant.window_norm_f32, which the C++
reproduces only without FP contraction (docs/int8.md): their exactness test starts from the int8
input; the input quantisation is compared separately.
"""

from __future__ import annotations

import argparse
import struct
import sys
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

from . import archs as A
from . import golden as G
from . import quant as Q

# One architecture per family and op: SpecNet (the default model's), both PULSE student inputs
# (INPUT_NORM, WINDOW_NORM + the 180-class head), the shipped ResNet, a ResNet with CHANNEL_PAD,
# an MLP, the tiny CNN.
ARCHS = ["specnet2", "pulse_student", "pulse_student_wn_cls", "resnet2", "resnet5", "mlp2", "tinycnn"]
REPO = Path(__file__).resolve().parents[2]
SHIPPED_DIR = REPO / "models" / "int8"
N_CALIB = 48
N_TEST = 12
MAGIC = b"PQ8G"
VERSION = 1


def _to_cpp_layout(arch: A.Arch, x: np.ndarray) -> np.ndarray:
    """(N, C, L) (quant.py's view of a window) -> the C++ float network's flat input layout."""
    x = np.asarray(x).reshape(-1, arch.in_channels, arch.in_length)
    if arch.is_specnet:
        x = x.transpose(0, 2, 1)  # [180][6], bin-major
    return np.ascontiguousarray(x).reshape(len(x), -1)


def case(name: str):
    """(QNet, windows (N, C, L) float32) for one architecture."""
    arch = A.get_arch(name)
    rng = np.random.RandomState(G.arch_seed(name) ^ 0x51A7)
    sd = G.random_state_dict(arch, rng)
    norm = G.random_input_norm(rng) if arch.is_pulse else None
    if norm is not None:
        from . import export as E
        from . import blob as B
        tensors = B.read_blob(E.export_blob(arch, sd, input_norm=norm), arch=arch).tensors
        tensors = dict(tensors)
    else:
        tensors = sd
    win = lambda: G.random_window(arch, rng, norm).reshape(arch.in_channels, arch.in_length)
    calib = np.stack([win() for _ in range(N_CALIB)]).astype(np.float32)
    qnet = Q.quantize_network(arch, tensors, calib)
    test = np.stack([win() for _ in range(N_TEST)]).astype(np.float32)
    return qnet, test


def io_bytes(qnet: Q.QNet, x: np.ndarray) -> bytes:
    arch = qnet.arch
    xq = qnet.quantize_input(x).reshape(len(x), arch.in_channels, arch.in_length)
    acc, logits = qnet.forward_int(x)
    n, size = len(x), arch.in_channels * arch.in_length
    out = [MAGIC, struct.pack("<4I", VERSION, n, size, acc.shape[1]),
           _to_cpp_layout(arch, x).astype("<f4").tobytes(), _to_cpp_layout(arch, xq).astype("i1").tobytes(),
           acc.astype("<i4").tobytes(), logits.astype("<f4").tobytes()]
    return b"".join(out)


def shipped_case(path: Path):
    """(QNet read from a shipped int8 blob, windows (N, C, L) float32)."""
    qnet = Q.QNet.from_blob(path.read_bytes())
    rng = np.random.RandomState(G.arch_seed(path.stem))
    norm = G.random_input_norm(rng) if qnet.arch.is_pulse else None
    x = np.stack([G.random_window(qnet.arch, rng, norm).reshape(qnet.arch.in_channels, qnet.arch.in_length)
                  for _ in range(N_TEST)]).astype(np.float32)
    return qnet, x


def generate(out: Path, names: Sequence[str], quiet: bool = False, shipped: bool = True) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(SHIPPED_DIR.glob("*.ppgw")) if shipped else []:
        qnet, x = shipped_case(path)
        (out / f"{path.stem}.q8io").write_bytes(io_bytes(qnet, x))
        (out / f"{path.stem}.q8c.ppgw").write_bytes(Q.to_compact(path.read_bytes()))
        if not quiet:
            print(f"{path.name} ({qnet.arch.name}): {len(x)} windows")
    for name in names:
        qnet, x = case(name)
        blob = qnet.to_blob()
        compact = qnet.to_compact_blob()
        if Q.to_compact(blob) != compact:
            raise AssertionError(f"{name}: quant.to_compact(dtype-2 blob) != QNet.to_compact_blob()")
        (out / f"{name}.q8.ppgw").write_bytes(blob)
        (out / f"{name}.q8c.ppgw").write_bytes(compact)
        (out / f"{name}.q8io").write_bytes(io_bytes(qnet, x))
        if not quiet:
            print(f"{name}: int8 blob {len(blob)} bytes, compact {len(compact)} bytes, {len(x)} windows")


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--arch", action="append", help=f"default: {', '.join(ARCHS)}")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    generate(a.out, a.arch or ARCHS, a.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
