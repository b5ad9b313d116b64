"""Checkpoint -> weight blob exporter (docs/blob-format.md).

    python3 -m ppghr_tools.export --arch resnet6 --checkpoint x.pt --out x.ppgw
    python3 -m ppghr_tools.export --arch pulse_teacher --checkpoint t.pt --out t.ppgw \\
        --input-norm m0,s0,m1,s1,m2,s2,m3,s3

``--checkpoint`` is a state_dict saved with torch.save (or a whole module, or a dict holding the
state_dict under 'state_dict' / 'model_state_dict'). It is checked against the architecture's
training state_dict (see archs.state_dict_spec): a missing key, an unexpected key or a wrong shape
raises CheckpointError naming the key. Keys inference never uses (ResNet dense2, block 0's bn1,
num_batches_tracked) may be absent.

BatchNorm is folded in float64 and rounded once to float32 (eps 1e-5), as the format says:
conv -> BN pairs are folded into the conv; the other BNs become <name>.scale / <name>.shift.
PULSE blobs carry the 4 (mean, std) input-normalisation pairs as tensor ``input_norm`` [4, 2]; they
come from --input-norm (rows PPG, ACC x, ACC y, ACC z), else from an ``input_norm`` entry in the
checkpoint, else (0, 1) (input already normalised) with a warning.

The numpy entry points (``export_tensors``, ``export_blob``) need no torch; loading a .pt file does.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import OrderedDict
from typing import List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import archs as A
from . import blob as B


class CheckpointError(ValueError):
    """A checkpoint does not match the architecture. ``key`` names the offending state_dict key."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key


# the per-layer conversions live with the layer specs (archs.py); these names stay importable here
_to_numpy = A.to_numpy
fold_conv_bn = A.fold_conv_bn
bn_affine = A.bn_affine
_input_norm_array = A.input_norm_array


def load_checkpoint(path: Union[str, os.PathLike]) -> "OrderedDict[str, np.ndarray]":
    """torch.load a state_dict / module / wrapper dict and return name -> numpy array."""
    import torch

    obj = torch.load(path, map_location="cpu")
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, Mapping):
        for wrapper in ("state_dict", "model_state_dict"):
            if wrapper in obj and isinstance(obj[wrapper], Mapping):
                obj = obj[wrapper]
                break
    if not isinstance(obj, Mapping):
        raise CheckpointError("<file>", f"{os.fspath(path)} holds a {type(obj).__name__}, "
                                        "not a state_dict or module")
    out: "OrderedDict[str, np.ndarray]" = OrderedDict()
    for k, v in obj.items():
        if k.startswith("module."):     # saved from nn.DataParallel
            k = k[len("module."):]
        out[k] = _to_numpy(v)
    return out


def validate_state_dict(arch: Union[str, A.Arch], sd: Mapping[str, object]) -> None:
    """Raise CheckpointError naming the first missing / unexpected / wrongly shaped key."""
    arch = A.get_arch(arch) if isinstance(arch, str) else arch
    spec = A.state_dict_spec(arch)
    known = {k for k, _, _ in spec}
    for key, shape, required in spec:
        if key not in sd:
            if required:
                raise CheckpointError(key, f"missing from the checkpoint for {arch.name}")
            continue
        found = tuple(np.shape(_to_numpy(sd[key])))
        if found != tuple(shape):
            raise CheckpointError(key, f"shape {list(found)}, expected {list(shape)} for {arch.name}")
    for key in sd:
        if key == "input_norm" and arch.is_pulse:
            continue
        if key not in known:
            raise CheckpointError(key, f"unexpected key for {arch.name}")


def export_tensors(arch: Union[str, A.Arch], sd: Mapping[str, object],
                   input_norm=None) -> List[Tuple[str, np.ndarray]]:
    """Training state_dict -> blob tensor list (name, float32 array) in table order."""
    arch = A.get_arch(arch) if isinstance(arch, str) else arch
    validate_state_dict(arch, sd)
    out = [t for layer in A.flatten(A.layers(arch)) for t in layer.export(sd, input_norm)]
    # the table must be exactly the documented one
    spec = A.blob_tensor_spec(arch)
    assert [(n, tuple(a.shape)) for n, a in out] == [(n, tuple(s)) for n, s in spec], arch.name
    for name, arr in out:
        if not np.all(np.isfinite(arr)):
            raise CheckpointError(name, "non-finite value after export (NaN/Inf weight or BN variance)")
    return out


def export_blob(arch: Union[str, A.Arch], sd: Mapping[str, object], out_path=None,
                input_norm=None) -> bytes:
    """Export a state_dict to blob bytes (and write them to out_path when given)."""
    arch = A.get_arch(arch) if isinstance(arch, str) else arch
    data = B.write_blob(export_tensors(arch, sd, input_norm), A.fingerprint(arch))
    if out_path is not None:
        with open(out_path, "wb") as f:
            f.write(data)
    return data


def export_module(arch: Union[str, A.Arch], module, out_path=None) -> bytes:
    """Export a models.py module (its input_norm buffer included for PULSE)."""
    sd = OrderedDict((k, _to_numpy(v)) for k, v in module.state_dict().items())
    norm = _to_numpy(module.input_norm) if hasattr(module, "input_norm") else None
    return export_blob(arch, sd, out_path, input_norm=norm)


def _parse_norm(text: str) -> List[List[float]]:
    vals = [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
    if len(vals) != 2 * A.PULSE_ROWS:
        raise argparse.ArgumentTypeError("--input-norm needs 8 numbers: m0,s0,m1,s1,m2,s2,m3,s3")
    return [vals[i:i + 2] for i in range(0, len(vals), 2)]


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m ppghr_tools.export",
                                 description="Export a PyTorch checkpoint to a ppghr weight blob.")
    ap.add_argument("--arch", required=True, choices=A.ARCH_NAMES)
    ap.add_argument("--checkpoint", required=True, help="state_dict (or module) saved with torch.save")
    ap.add_argument("--out", required=True, help="output blob path (.ppgw)")
    ap.add_argument("--input-norm", type=_parse_norm, default=None,
                    help="PULSE only: m0,s0,m1,s1,m2,s2,m3,s3 (rows PPG, ACC x, ACC y, ACC z)")
    # "--input-norm -0.0005,85.9,..." starts with a minus: argparse would take the value for an
    # option, so glue it to its flag first.
    argv = list(sys.argv[1:] if argv is None else argv)
    for i in range(len(argv) - 1):
        if argv[i] == "--input-norm":
            argv[i:i + 2] = [f"--input-norm={argv[i + 1]}"]
            break
    args = ap.parse_args(argv)
    arch = A.get_arch(args.arch)
    if args.input_norm is not None and (not arch.is_pulse or arch.window_norm):
        ap.error("--input-norm applies to the PULSE archs with training-set constants only (not the _wn ones)")
    try:
        sd = load_checkpoint(args.checkpoint)
        if arch.is_pulse and not arch.window_norm and args.input_norm is None and "input_norm" not in sd:
            print("warning: no --input-norm given; storing (0, 1) for every row "
                  "(the input must then be normalised already)", file=sys.stderr)
        data = export_blob(arch, sd, args.out, input_norm=args.input_norm)
    except CheckpointError as e:
        print(f"error: checkpoint does not match {arch.name}: {e}", file=sys.stderr)
        return 2
    blob = B.read_blob(data, arch=arch)
    print(f"{args.out}: {arch.name}, {len(blob.entries)} tensors, {blob.total_size} bytes, "
          f"fingerprint {blob.fingerprint:#018x}, crc32 {blob.crc32:#010x}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
