"""Exports the comparison's networks for every engine, from the same weights.

    PYTHONPATH=tools python3 benchmarks/compare/export_models.py --out DIR [--nets resnet1,resnet6]

For each network: the deterministic random-weight blob of ppghr_tools.golden (DIR/<net>.ppgw,
numpy only), the PyTorch twin holding exactly those weights (blob.import_blob), traced to
TorchScript (DIR/<net>.pt) and exported to ONNX (DIR/<net>.onnx), one fixed input window
(DIR/<net>.input.f32, raw float32) and the twin's float32 output for it (DIR/<net>.torch.f32), the
reference every engine is checked against before timing. Also DIR/trivial_<n>.onnx: y = x + 1 on
an input of the same shape, for measuring the ONNX Runtime binding's per-call overhead.

One change for ONNX only, the same function: the ResNet's strided shortcut, max_pool(pad(x, one
zero on the right), 2, 2), is exported as max(x[0::2], pad(x[1::2])). ONNX Runtime's Pad_Fusion
(a level-1 graph optimisation) folds a zero Pad into the following MaxPool's pads, which pad with
-inf, so the fused graph gives wrong outputs whenever a pair near the end is all negative
(resnet10 / resnet12 logits off by 0.1-0.5). Disabling Pad_Fusion instead would also unfuse the
"same" padding of every conv and cost ORT 8-13%, so the graph is written in a form it cannot
mis-fuse. The output check against the PyTorch twin covers this export too.
Without torch only the blobs and inputs are written (the ppghr engine still runs).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

NETS = ["resnet1", "resnet2", "resnet6", "resnet10", "resnet12", "pulse_teacher", "pulse_student"]
OPSET = 13  # opset 13: supported by Debian's torch 1.13 exporter and by every current ONNX Runtime


def input_shape(net: str):
    return (1, 4, 256) if net.startswith("pulse") else (1, 1, 200)


def make_input(net: str) -> np.ndarray:
    rng = np.random.RandomState(20260611)
    x = rng.standard_normal(input_shape(net)).astype(np.float32)
    if net.startswith("pulse"):  # raw units: the network z-scores each row itself
        x = x * np.array([50.0, 0.3, 0.3, 0.3], np.float32).reshape(1, 4, 1) + \
            np.array([500.0, 0.0, 0.0, 1.0], np.float32).reshape(1, 4, 1)
    return x


def _onnx_safe_shortcut_pool(x):
    """models.BasicBlock.shortcut_pool written as Slice/Pad/Max (see above): same values."""
    import torch
    import torch.nn.functional as F
    even, odd = x[..., 0::2], x[..., 1::2]
    if even.shape[-1] != odd.shape[-1]:
        odd = F.pad(odd, (0, 1), "constant", 0.0)
    return torch.maximum(even, odd)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--nets", default=",".join(NETS))
    args = ap.parse_args(argv)
    nets = [n for n in args.nets.split(",") if n]
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    import warnings
    warnings.filterwarnings("ignore")  # TracerWarnings on the twins' input-shape checks
    from ppghr_tools import golden
    golden.main(["--out", str(out), "--blobs-only", "--quiet"] + sum((["--arch", n] for n in nets), []))
    for net in nets:
        make_input(net).tofile(out / f"{net}.input.f32")

    try:
        import torch
    except ImportError:
        print("export: no torch in this python: wrote blobs and inputs only", file=sys.stderr)
        return 0
    from ppghr_tools import blob as B

    torch.set_num_threads(1)
    shapes = set()
    for net in nets:
        module = B.import_blob(net, out / f"{net}.ppgw")
        x = torch.from_numpy(make_input(net))
        with torch.no_grad():
            y = module(x).numpy().astype(np.float32)
            y.tofile(out / f"{net}.torch.f32")
            traced = torch.jit.trace(module, (x,), check_trace=True)
            traced = torch.jit.freeze(traced.eval())
            traced.save(str(out / f"{net}.pt"))
            from ppghr_tools import models as M
            original = M.BasicBlock.__dict__["shortcut_pool"]
            M.BasicBlock.shortcut_pool = staticmethod(_onnx_safe_shortcut_pool)
            try:
                if not np.array_equal(module(x).numpy().astype(np.float32), y):
                    raise RuntimeError(f"{net}: the ONNX-safe shortcut changes the output")
                torch.onnx.export(module, (x,), str(out / f"{net}.onnx"), opset_version=OPSET,
                                  input_names=["x"], output_names=["y"], do_constant_folding=True)
            finally:
                M.BasicBlock.shortcut_pool = original
        shapes.add(tuple(x.shape))
        print(f"export: {net}: output {tuple(y.shape)}, .pt and .onnx written", file=sys.stderr)

    class AddOne(torch.nn.Module):
        def forward(self, x):
            return x + 1.0

    for shape in sorted(shapes):
        n = int(np.prod(shape))
        torch.onnx.export(AddOne(), (torch.zeros(shape),), str(out / f"trivial_{n}.onnx"), opset_version=OPSET,
                          input_names=["x"], output_names=["y"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
