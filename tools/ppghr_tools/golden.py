"""Golden vectors for the C++ tests: blobs + expected outputs for every architecture.

    python3 -m ppghr_tools.golden --out DIR                 # DIR/<arch>.ppgw + DIR/<arch>.golden
    python3 -m ppghr_tools.golden --out DIR --blobs-only    # blobs only (numpy, no torch needed)
    python3 -m ppghr_tools.golden --golden-dir tests/golden # refresh the committed goldens
    python3 -m ppghr_tools.golden --check                   # regenerate to a temp dir, compare bytes

For each architecture (archs.ARCH_NAMES) and a fixed seed per architecture, the weights are drawn
with numpy's legacy RandomState (stable across numpy versions, independent of torch's RNG): conv /
linear weights and biases uniform in +-1/sqrt(fan_in) scaled up a little, and BatchNorm with
non-trivial statistics (gamma, beta, running mean, running var all random), PULSE with random input
normalisation pairs. The blob is exported from these weights (BatchNorm folded in float64, rounded
once to float32). Four plausible inputs are drawn (PPG-like windows, z-scored; for PULSE 4 rows,
z-scored then mapped back to raw units through the random (mean, std) pairs, since the network
normalises its own input; for SpecNet the (6, 180) spectral.features() of a synthetic PPG +
accelerometer window, see specnet_features_window). The expected outputs are computed in float64 by torch from the weights
AS STORED IN THE BLOB (blob.import_blob), i.e. exactly what a C++ reader sees, then stored as
float32. For 180-class heads an input whose top-2 logit gap is below MIN_ARGMAX_GAP is redrawn, so
'same argmax' is a fair test at 1e-4 tolerance.

.golden format (little-endian, written field by field):
    magic 'PPGG' | u32 version = 1 | u32 n_windows | u32 input_floats | u32 n_outputs |
    u32 blob_size | u32 blob_crc32 (the CRC in the blob trailer) | u64 fingerprint |
    char[64] arch name, NUL-padded | char[256] provenance, NUL-padded |
    f32 inputs[n_windows * input_floats] | f32 logits[n_windows * n_outputs] |
    f32 probs[n_windows * n_outputs]  (softmax for class heads; a copy of logits for regression)
Header: 356 bytes. Inputs are row-major as the network's input (ResNet / MLP: 200; PULSE: 4 x 256,
rows PPG, ACC x, ACC y, ACC z, raw units before the network's input normalisation; SpecNet: 6 x 180,
the features' rows, which the C++ SpecNet takes transposed, [180][6]).

Also written: fingerprints.txt (one line per arch: ``<arch> <fingerprint hex> <descriptor word
count>``) and descriptors.txt (``<arch> <word count> <words...>``).
No date or path goes into any file, so regeneration is byte-identical.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import struct
import sys
import tempfile
import zlib
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import archs as A
from . import blob as B
from . import export as E

GOLDEN_MAGIC = b"PPGG"
GOLDEN_VERSION = 1
GOLDEN_HEADER_FMT = "<4sIIIIIIQ64s256s"
GOLDEN_HEADER_SIZE = struct.calcsize(GOLDEN_HEADER_FMT)   # 356
N_WINDOWS = 4
BASE_SEED = 20240611
MIN_ARGMAX_GAP = 2e-3
# weights uniform in +-gain/sqrt(fan_in). He's sqrt(6) keeps the signal alive through PULSE's nine
# conv layers and the MLPs; the ResNet's residual sums grow with depth, so it gets a smaller gain that
# keeps resnet12's logits around 10 (float32 rounding then stays far below the 1e-4 tolerance).
WEIGHT_GAIN = {A.FAMILY_RESNET: 1.5, A.FAMILY_PULSE_TEACHER: 6 ** 0.5, A.FAMILY_PULSE_STUDENT: 6 ** 0.5,
               A.FAMILY_MLP: 6 ** 0.5, A.FAMILY_SPECNET: 1.5}

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_GOLDEN_DIR = REPO_ROOT / "tests" / "golden"


def arch_seed(name: str) -> int:
    return (BASE_SEED + zlib.crc32(name.encode("ascii"))) % (2 ** 32)


# --------------------------------------------------------------------------------------------
# Random weights

def _fan_in(shape: Tuple[int, ...]) -> int:
    n = 1
    for d in shape[1:]:
        n *= d
    return max(n, 1)


def random_state_dict(arch: A.Arch, rng: np.random.RandomState) -> Dict[str, np.ndarray]:
    """A full training-style state_dict (optional keys included) with random weights and BN stats."""
    spec = A.state_dict_spec(arch)
    shapes = {k: s for k, s, _ in spec}
    gain = WEIGHT_GAIN.get(arch.family, 1.5)  # a new family: 1.5 unless listed
    sd: Dict[str, np.ndarray] = {}
    for key, shape, _ in spec:
        prefix, leaf = key.rsplit(".", 1)
        is_bn = any(f"{prefix}.{x}" in shapes for x in ("running_mean",))
        is_ln = prefix == "layer_norm"
        if leaf == "num_batches_tracked":
            sd[key] = np.zeros((), np.int64)
            continue
        if is_bn or is_ln:
            n = shape[0]
            if leaf == "weight":
                v = rng.uniform(0.5, 1.5, n)
            elif leaf == "bias":
                v = rng.normal(0.0, 0.2, n)
            elif leaf == "running_mean":
                v = rng.normal(0.0, 0.2, n)
            else:  # running_var
                v = rng.uniform(0.3, 2.0, n)
        elif leaf in ("weight", "in_proj_weight"):
            if leaf == "in_proj_weight":
                bound = gain / np.sqrt(shape[1])
            else:
                bound = gain / np.sqrt(_fan_in(shape))
            v = rng.uniform(-bound, bound, shape)
        elif leaf in ("bias", "in_proj_bias"):
            wkey = f"{prefix}.weight" if leaf == "bias" else f"{prefix}.in_proj_weight"
            bound = 1.0 / np.sqrt(_fan_in(shapes[wkey])) if leaf == "bias" else 0.25
            v = rng.uniform(-bound, bound, shape)
        else:  # pragma: no cover
            raise ValueError(f"no rule for {key}")
        sd[key] = np.asarray(v, dtype=np.float64).astype(np.float32).reshape(shape)
    return sd


def random_input_norm(rng: np.random.RandomState) -> np.ndarray:
    ppg = [rng.uniform(-5.0, 5.0), rng.uniform(20.0, 100.0)]
    acc = [[rng.uniform(-1.0, 1.0), rng.uniform(0.2, 0.8)] for _ in range(3)]
    return np.asarray([ppg] + acc, dtype=np.float64).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Plausible inputs

def _zscore(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / x.std()


def _ppg_like(rng: np.random.RandomState, n: int, fs: float) -> np.ndarray:
    t = np.arange(n) / fs
    hr = rng.uniform(50.0, 180.0) / 60.0
    ph = rng.uniform(0, 2 * np.pi, 3)
    x = (np.sin(2 * np.pi * hr * t + ph[0]) + rng.uniform(0.2, 0.5) * np.sin(4 * np.pi * hr * t + ph[1])
         + rng.uniform(0.0, 0.8) * np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t + ph[2])
         + rng.uniform(0.05, 0.3) * rng.standard_normal(n))
    return _zscore(x)


def _acc_like(rng: np.random.RandomState, n: int, fs: float) -> np.ndarray:
    t = np.arange(n) / fs
    step = rng.uniform(1.0, 3.0)
    x = (rng.uniform(0.0, 1.0) * np.sin(2 * np.pi * step * t + rng.uniform(0, 2 * np.pi))
         + rng.uniform(0.0, 0.5) * np.sin(4 * np.pi * step * t + rng.uniform(0, 2 * np.pi))
         + 0.2 * rng.standard_normal(n))
    return _zscore(x)


def random_window(arch: A.Arch, rng: np.random.RandomState, input_norm=None) -> np.ndarray:
    """One input window, float32, flat row-major (network input)."""
    if arch.is_pulse:
        z = np.stack([_ppg_like(rng, A.PULSE_INPUT_LEN, 32.0)] +
                     [_acc_like(rng, A.PULSE_INPUT_LEN, 32.0) for _ in range(3)])
        norm = np.asarray(input_norm, dtype=np.float64)
        raw = norm[:, 0:1] + norm[:, 1:2] * z
        return raw.astype(np.float32).reshape(-1)
    if arch.is_specnet:
        return specnet_features_window(rng).astype(np.float32).reshape(-1)
    return _ppg_like(rng, A.RESNET_INPUT_LEN, 25.0).astype(np.float32)


def specnet_features_window(rng: np.random.RandomState) -> np.ndarray:
    """SpecNet's input: spectral.features() (6, 180) of a synthetic 8 s window at 25 Hz, one PPG
    channel (a pulse, its harmonic, drift and noise) plus an accelerometer (steps, their harmonic,
    noise; up to 1 g), band-passed 0.5-4 Hz like the estimator's front end."""
    from scipy import signal
    from . import spectral

    n = A.RESNET_INPUT_LEN
    ppg = 50.0 * _ppg_like(rng, n, 25.0)
    amp = rng.uniform(0.0, 1.0)
    acc = [amp * rng.uniform(0.2, 1.0) * _acc_like(rng, n, 25.0) for _ in range(3)]
    b, a = signal.butter(2, [0.5, 4.0], btype="bandpass", fs=25.0)
    x = signal.filtfilt(b, a, np.stack([ppg] + acc), axis=-1)
    return spectral.features(x, 1)


# --------------------------------------------------------------------------------------------
# One architecture

class GoldenCase:
    def __init__(self, name: str):
        self.arch = A.get_arch(name)
        self.seed = arch_seed(name)
        self.rng = np.random.RandomState(self.seed)
        self.state_dict = random_state_dict(self.arch, self.rng)
        self.input_norm = random_input_norm(self.rng) if self.arch.is_pulse else None
        self.blob = E.export_blob(self.arch, self.state_dict, input_norm=self.input_norm)
        self.blob_crc = struct.unpack_from("<I", self.blob, len(self.blob) - 4)[0]
        self.fingerprint = A.fingerprint(self.arch)

    def provenance(self, torch_version: str) -> str:
        return (f"generated by tools/ppghr_tools/golden.py (python3 -m ppghr_tools.golden); "
                f"arch {self.arch.name}; seed {self.seed} (numpy RandomState); torch {torch_version}; "
                f"outputs in float64 from the blob's float32 weights, stored as float32")

    def compute(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray, str]:
        """(inputs [n, input_floats], logits [n, n_out], probs [n, n_out]) as float32, provenance."""
        import torch

        module = B.import_blob(self.arch, self.blob, dtype=torch.float64)
        inputs, logits, probs = [], [], []
        with _deterministic_torch():
            for _ in range(N_WINDOWS):
                for attempt in range(1000):
                    x = random_window(self.arch, self.rng, self.input_norm)
                    xt = torch.from_numpy(x.astype(np.float64)).reshape(
                        (1, self.arch.in_channels, self.arch.in_length))
                    with torch.no_grad():
                        y = module(xt)[0]
                    if self.arch.has_classes:
                        top2 = torch.topk(y, 2).values
                        if float(top2[0] - top2[1]) < MIN_ARGMAX_GAP:
                            continue
                        p = torch.softmax(y, dim=0)
                    else:
                        p = y.clone()
                    break
                else:  # pragma: no cover
                    raise RuntimeError(f"{self.arch.name}: no input with a clear argmax")
                inputs.append(x)
                logits.append(y.numpy().astype(np.float32))
                probs.append(p.numpy().astype(np.float32))
        return (np.stack(inputs), np.stack(logits), np.stack(probs), self.provenance(torch.__version__))

    def golden_bytes(self) -> bytes:
        inputs, logits, probs, prov = self.compute()
        return pack_golden(self.arch.name, self.fingerprint, len(self.blob), self.blob_crc, prov,
                           inputs, logits, probs)


@contextlib.contextmanager
def _deterministic_torch():
    import torch

    threads = torch.get_num_threads()
    det = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(det)


def _fixed(text: str, size: int) -> bytes:
    raw = text.encode("ascii")
    if len(raw) >= size:
        raise ValueError(f"{text!r} longer than {size - 1} characters")
    return raw + b"\0" * (size - len(raw))


def pack_golden(arch: str, fingerprint: int, blob_size: int, blob_crc: int, provenance: str,
                inputs: np.ndarray, logits: np.ndarray, probs: np.ndarray) -> bytes:
    n, input_floats = inputs.shape
    n_out = logits.shape[1]
    head = struct.pack(GOLDEN_HEADER_FMT, GOLDEN_MAGIC, GOLDEN_VERSION, n, input_floats, n_out,
                       blob_size, blob_crc, fingerprint, _fixed(arch, 64), _fixed(provenance, 256))
    body = b"".join(np.ascontiguousarray(a, dtype="<f4").tobytes() for a in (inputs, logits, probs))
    return head + body


def unpack_golden(data: bytes) -> dict:
    (magic, version, n, input_floats, n_out, blob_size, blob_crc, fp, arch, prov) = struct.unpack_from(
        GOLDEN_HEADER_FMT, data, 0)
    if magic != GOLDEN_MAGIC or version != GOLDEN_VERSION:
        raise ValueError("not a version-1 .golden file")
    off = GOLDEN_HEADER_SIZE
    arrays = []
    for count in (n * input_floats, n * n_out, n * n_out):
        arrays.append(np.frombuffer(data, dtype="<f4", count=count, offset=off))
        off += 4 * count
    if off != len(data):
        raise ValueError(f".golden size {len(data)}, expected {off}")
    return {
        "n_windows": n, "input_floats": input_floats, "n_outputs": n_out, "blob_size": blob_size,
        "blob_crc32": blob_crc, "fingerprint": fp,
        "arch": arch.split(b"\0", 1)[0].decode("ascii"), "provenance": prov.split(b"\0", 1)[0].decode("ascii"),
        "inputs": arrays[0].reshape(n, input_floats), "logits": arrays[1].reshape(n, n_out),
        "probs": arrays[2].reshape(n, n_out),
    }


def fingerprints_text(names: Sequence[str]) -> str:
    lines = []
    for name in names:
        words = A.descriptor(A.get_arch(name))
        lines.append(f"{name} {A.fingerprint_of_words(words):#018x} {len(words)}")
    return "\n".join(lines) + "\n"


def descriptors_text(names: Sequence[str]) -> str:
    lines = []
    for name in names:
        words = A.descriptor(A.get_arch(name))
        lines.append(f"{name} {len(words)} " + " ".join(str(w) for w in words))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Driver

def generate(names: Sequence[str], blob_dir: Optional[Path], golden_dir: Optional[Path],
             blobs_only: bool = False, quiet: bool = False) -> None:
    for d in (blob_dir, golden_dir):
        if d is not None:
            d.mkdir(parents=True, exist_ok=True)
    for name in names:
        case = GoldenCase(name)
        if blob_dir is not None:
            (blob_dir / f"{name}.ppgw").write_bytes(case.blob)
        if golden_dir is not None and not blobs_only:
            (golden_dir / f"{name}.golden").write_bytes(case.golden_bytes())
        if not quiet:
            print(f"{name}: blob {len(case.blob)} bytes, crc32 {case.blob_crc:#010x}, "
                  f"fingerprint {case.fingerprint:#018x}")
    if golden_dir is not None:
        # every arch's line, also when only some goldens are regenerated (--arch): the C++ tests
        # read these two files for all networks
        (golden_dir / "fingerprints.txt").write_text(fingerprints_text(A.ARCH_NAMES))
        (golden_dir / "descriptors.txt").write_text(descriptors_text(A.ARCH_NAMES))


def _describe_difference(name: str, want: bytes, got: bytes) -> str:
    if not name.endswith(".golden"):
        return f"{name}: differs"
    try:
        w, g = unpack_golden(want), unpack_golden(got)
    except ValueError as e:
        return f"{name}: {e}"
    parts = []
    for key in ("n_windows", "input_floats", "n_outputs", "blob_size", "blob_crc32", "fingerprint",
                "arch", "provenance"):
        if w[key] != g[key]:
            parts.append(f"{key} committed {w[key]!r} regenerated {g[key]!r}")
    for key in ("inputs", "logits", "probs"):
        if w[key].shape == g[key].shape and not np.array_equal(w[key], g[key]):
            parts.append(f"{key} max abs diff {float(np.max(np.abs(w[key] - g[key]))):.3g}")
    return f"{name}: " + ("; ".join(parts) or "differs")


def check(golden_dir: Path, names: Sequence[str]) -> List[str]:
    """Regenerate into a temp dir; return a list of differences (empty = byte-identical)."""
    problems: List[str] = []
    with tempfile.TemporaryDirectory(prefix="ppghr_golden_") as tmp:
        tmp_dir = Path(tmp)
        generate(names, None, tmp_dir, quiet=True)
        for f in sorted(tmp_dir.iterdir()):
            committed = golden_dir / f.name
            if not committed.exists():
                problems.append(f"{f.name}: missing from {golden_dir}")
                continue
            want, got = committed.read_bytes(), f.read_bytes()
            if want != got:
                problems.append(_describe_difference(f.name, want, got))
        if set(names) == set(A.ARCH_NAMES):
            expected = {f.name for f in tmp_dir.iterdir()}
            for f in sorted(golden_dir.glob("*.golden")):
                if f.name not in expected:
                    problems.append(f"{f.name}: committed but no longer generated")
    return problems


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m ppghr_tools.golden",
                                 description="Write blobs and golden vectors for the C++ tests.")
    ap.add_argument("--out", type=Path, help="write <arch>.ppgw here (and .golden unless --golden-dir)")
    ap.add_argument("--golden-dir", type=Path,
                    help="write <arch>.golden, fingerprints.txt, descriptors.txt here "
                         f"(for --check: compare with this, default {DEFAULT_GOLDEN_DIR})")
    ap.add_argument("--arch", action="append", choices=A.ARCH_NAMES,
                    help="only this arch (repeatable); default: all")
    ap.add_argument("--blobs-only", action="store_true", help="write blobs only (no torch needed)")
    ap.add_argument("--check", action="store_true",
                    help="regenerate into a temp dir and compare bytes with the committed files")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    names = args.arch or A.ARCH_NAMES
    if args.check:
        golden_dir = args.golden_dir or DEFAULT_GOLDEN_DIR
        problems = check(golden_dir, names)
        if problems:
            print(f"golden check FAILED against {golden_dir}:", file=sys.stderr)
            for p in problems:
                print("  " + p, file=sys.stderr)
            return 1
        if not args.quiet:
            print(f"golden check OK: {len(names)} archs byte-identical with {golden_dir}")
        return 0
    if args.out is None and args.golden_dir is None:
        ap.error("give --out DIR and/or --golden-dir DIR (or --check)")
    golden_dir = args.golden_dir or args.out
    generate(names, args.out, golden_dir, blobs_only=args.blobs_only, quiet=args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
