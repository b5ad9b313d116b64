"""dtype-3 blobs: the weights in the C++ kernels' own order, for networks that read them in place.

    python3 -m ppghr_tools.packed models/specnet2_bami1.ppgw --out specnet2.flash.ppgw

A dtype-3 blob (docs/blob-format.md, "dtype 3") is the dtype-1 blob of the same weights with
version 1.1, dtype 3 and the data of four kinds of tensor reordered the way the C++ layers store
them (the table keeps the PyTorch names and shapes):

    Conv1d / RowConv1d .weight   [out][in/g][kernel] ([out][in/g][1][kernel]) -> [g][kernel][in/g][out/g]
    ModalityConv .weight         [out][in][rows][1]                          -> [rows][in][out]
    the PULSE student's dense    [out][channels * length], column c * length + t -> column t * channels + c
    attention .out_proj.weight   [out][in]                                   -> [in][out]

`ppghr::in_place_t<Net>` (include/ppghr/core/storage.hpp) loads such a blob without copying it;
`ppghr::blob::write_packed_blob()` and `ppghr-estimate --write-in-place` write the same bytes from C++
(tests/cli/test_cli.sh checks they are identical). The microcontroller example embeds one
(examples/mcu, the `_flash` images). numpy only.
"""

from __future__ import annotations

import argparse
import struct
import sys
import zlib
from typing import Dict, Optional, Sequence

import numpy as np

from . import archs as A
from .blob import read_blob, write_blob

DTYPE_PACKED = 3
VERSION_MINOR_PACKED = 1


def _conv_order(w: np.ndarray, groups: int) -> np.ndarray:
    """[out][in/g][kernel] -> [g][kernel][in/g][out/g]."""
    out, cin_g, k = w.shape
    return w.reshape(groups, out // groups, cin_g, k).transpose(0, 3, 2, 1)


def kernel_order(arch: A.Arch, tensors: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """Each tensor's values in the order the C++ layer stores them (flat, float32), by name."""
    out = {k: np.ascontiguousarray(v, dtype=np.float32).reshape(-1) for k, v in tensors.items()}
    student = arch.family == A.FAMILY_PULSE_STUDENT
    for layer in A.flatten(A.layers(arch)):
        if layer.op == A.OP_CONV1D:
            k = f"{layer.name}.weight"
            out[k] = _conv_order(tensors[k], layer.record[9]).reshape(-1)
        elif layer.op == A.OP_ROW_CONV:
            k = f"{layer.name}.weight"
            w = tensors[k]
            out[k] = _conv_order(w.reshape(w.shape[0], w.shape[1], w.shape[3]), layer.record[10]).reshape(-1)
        elif layer.op == A.OP_MODALITY_CONV:
            k = f"{layer.name}.weight"
            out[k] = tensors[k][:, :, :, 0].transpose(2, 1, 0).reshape(-1)
        elif layer.op == A.OP_CROSS_ATTENTION:
            k = f"{layer.name}.out_proj.weight"
            out[k] = tensors[k].T.reshape(-1)
        elif layer.op == A.OP_LINEAR and student and layer.name == "dense":
            c, t = A.pulse_feature_shape(arch.family)
            k = "dense.weight"
            w = tensors[k]
            out[k] = w.reshape(w.shape[0], c, t).transpose(0, 2, 1).reshape(-1)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def pack_blob(src) -> bytes:
    """The dtype-3 blob of a dtype-1 blob (bytes or a path): same size, names, shapes and placement."""
    b = read_blob(src)
    if b.dtype != 1:
        raise ValueError(f"expected a dtype-1 blob (PyTorch order), found dtype {b.dtype}")
    arch = A.arch_of_fingerprint(b.fingerprint)
    flat = kernel_order(arch, dict(b.tensors))
    # The table keeps the PyTorch shapes; only the data's order changes.
    data = bytearray(write_blob([(k, flat[k].reshape(v.shape)) for k, v in b.tensors.items()], b.fingerprint))
    struct.pack_into("<H", data, 6, VERSION_MINOR_PACKED)
    struct.pack_into("<I", data, 12, DTYPE_PACKED)
    struct.pack_into("<I", data, len(data) - 4, zlib.crc32(bytes(data[:-4])) & 0xFFFFFFFF)
    return bytes(data)


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("blob", help="a dtype-1 .ppgw blob")
    ap.add_argument("--out", required=True, help="where to write the dtype-3 blob")
    a = ap.parse_args(argv)
    data = pack_blob(a.blob)
    with open(a.out, "wb") as f:
        f.write(data)
    print(f"wrote {len(data)} bytes (dtype 3, the kernels' order) to {a.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
