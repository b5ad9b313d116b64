"""Write the input windows the microcontroller example embeds, as a C/C++ header.

    PYTHONPATH=tools python3 examples/mcu/gen_inputs.py --golden tests/golden/resnet1.golden --out inputs.h
    PYTHONPATH=tools python3 examples/mcu/gen_inputs.py --demo examples/data/demo.csv \
        --net resnet --windows 10,60,110,160 --out inputs.h

--golden: the committed golden windows of a network (tests/golden/<arch>.golden: seeded inputs
    whose top-2 logit gap is large enough for "same argmax" to be a fair test; the file also holds
    torch's float64 expectations, which scripts/mcu.sh compares the MCU output with).
--spectral C: 4 consecutive 8-s windows (stride 2 s) of a synthetic 25-Hz recording for the spectral
    estimator (SpectralEstimator<C>: C PPG channels, then acc x, y, z in g, channel-major): a pulse
    ramping from 118 to 124 BPM under a stronger step artefact at 160 BPM and its arm swing at
    80 BPM, whose amplitude (and the accelerometer's) grows from rest to ~1 g; fixed-seed noise.
    The reference heart rate of a window is the pulse's mean rate over it.
--demo: windows k of the synthetic demo recording (examples/data/demo.csv, 50 Hz), preprocessed
    on the host by ppghr_tools.preprocess.windows_from_recording, the Python twin of the C++
    Preprocessor ('resnet': 25 Hz, band-pass, z-score; 'pulse': 32 Hz, 4 rows, raw units), with the
    reference heart rate of each window from demo_hr.csv.

Values are written as C99/C++17 hexadecimal float literals, so the MCU and the host build read
bit-identical float32 inputs. The header declares (static, include it in one translation unit):

    PPGHR_MCU_INPUT_WINDOWS, PPGHR_MCU_INPUT_FLOATS      macros
    ppghr_mcu_inputs[W][F]            const float
    ppghr_mcu_reference_bpm[W]        const float (-1: no reference)
    ppghr_mcu_input_source            const char[] (what the windows are)

--q8io FILE (the int8 images): also the windows of an int8_golden.py .q8io file with quant.py's
exact results, for the program to check itself against:

    PPGHR_MCU_Q8_WINDOWS, PPGHR_MCU_Q8_SIZE, PPGHR_MCU_Q8_OUTPUTS      macros
    ppghr_mcu_q8_x[W][S]        const float      the float windows (the network's input layout)
    ppghr_mcu_q8_xq[W][S]       const int8_t     quant.QNet.quantize_input of each
    ppghr_mcu_q8_acc[W][O]      const int32_t    the last op's int32 accumulators
    ppghr_mcu_q8_logits[W][O]   const uint32_t   the float32 logits' bit patterns
Alone (no other source), the .q8io windows are also the main windows (ppghr_mcu_q8_x is then
ppghr_mcu_inputs, not a second copy); --q8io-windows N keeps the first N.
"""

from __future__ import annotations

import argparse
import csv
import struct
import sys
from pathlib import Path

import numpy as np


def _hex(v: np.float32) -> str:
    return float(v).hex() + "f"


def read_q8io(path: Path, n_max: int = 0) -> dict:
    """An int8_golden.py .q8io file (format in ppghr_tools/int8_golden.py's docstring)."""
    data = path.read_bytes()
    magic, version, n, size, outputs = struct.unpack_from("<4sIIII", data, 0)
    if magic != b"PQ8G" or version != 1:
        raise ValueError(f"{path}: not a version-1 .q8io file")
    off = 20
    x = np.frombuffer(data, "<f4", n * size, off).reshape(n, size)
    off += 4 * n * size
    xq = np.frombuffer(data, "i1", n * size, off).reshape(n, size)
    off += n * size
    acc = np.frombuffer(data, "<i4", n * outputs, off).reshape(n, outputs)
    off += 4 * n * outputs
    logits = np.frombuffer(data, "<u4", n * outputs, off).reshape(n, outputs)
    if off + 4 * n * outputs != len(data):
        raise ValueError(f"{path}: {len(data)} bytes, expected {off + 4 * n * outputs}")
    k = n if n_max <= 0 else min(n, n_max)
    return {"x": x[:k], "xq": xq[:k], "acc": acc[:k], "logits": logits[:k], "n": k, "size": size,
            "outputs": outputs, "name": path.name}


def render_q8(q: dict, alias: bool) -> list:
    """The .q8io arrays (module docstring)."""
    w, s, o = q["n"], q["size"], q["outputs"]
    out = ["", f"/* int8 reference: {q['name']} (quant.py's exact results), {w} windows */",
           f"#define PPGHR_MCU_Q8_WINDOWS {w}", f"#define PPGHR_MCU_Q8_SIZE {s}", f"#define PPGHR_MCU_Q8_OUTPUTS {o}"]
    if alias:
        out.append("#define ppghr_mcu_q8_x ppghr_mcu_inputs")
    else:
        out.append("static const float ppghr_mcu_q8_x[PPGHR_MCU_Q8_WINDOWS][PPGHR_MCU_Q8_SIZE] = {")
        for row in q["x"]:
            out.append("  {")
            for i in range(0, s, 8):
                out.append("    " + ", ".join(_hex(v) for v in row[i:i + 8]) + ",")
            out.append("  },")
        out.append("};")

    def table(ctype, name, dims, rows, fmt, per_line):
        out.append(f"static const {ctype} {name}{dims} = {{")
        for row in rows:
            out.append("  {")
            for i in range(0, len(row), per_line):
                out.append("    " + ", ".join(fmt(v) for v in row[i:i + per_line]) + ",")
            out.append("  },")
        out.append("};")

    table("int8_t", "ppghr_mcu_q8_xq", "[PPGHR_MCU_Q8_WINDOWS][PPGHR_MCU_Q8_SIZE]", q["xq"], lambda v: str(int(v)), 24)
    # INT32_MIN cannot be written as a literal: -2147483647 - 1
    table("int32_t", "ppghr_mcu_q8_acc", "[PPGHR_MCU_Q8_WINDOWS][PPGHR_MCU_Q8_OUTPUTS]", q["acc"],
          lambda v: f"({int(v) + 1} - 1)" if int(v) == -2**31 else str(int(v)), 12)
    table("uint32_t", "ppghr_mcu_q8_logits", "[PPGHR_MCU_Q8_WINDOWS][PPGHR_MCU_Q8_OUTPUTS]", q["logits"],
          lambda v: f"0x{int(v):08x}u", 8)
    return out


def render(inputs: np.ndarray, reference, source: str, generator_args: str, q8=None, q8_alias=False) -> str:
    inputs = np.asarray(inputs, dtype=np.float32)
    w, f = inputs.shape
    if not np.all(np.isfinite(inputs)):
        raise ValueError("non-finite input value")
    out = [
        f"/* Generated by examples/mcu/gen_inputs.py {generator_args}. Do not edit. */",
        "#ifndef PPGHR_MCU_INPUTS_H",
        "#define PPGHR_MCU_INPUTS_H",
        "",
        f"#define PPGHR_MCU_INPUT_WINDOWS {w}",
        f"#define PPGHR_MCU_INPUT_FLOATS {f}",
        "",
    ] + (["#include <stdint.h>", ""] if q8 is not None else []) + [
        f"static const char ppghr_mcu_input_source[] = \"{source}\";",
        "",
        "static const float ppghr_mcu_reference_bpm[PPGHR_MCU_INPUT_WINDOWS] = {"
        + ", ".join(_hex(np.float32(r)) for r in reference) + "};",
        "",
        "static const float ppghr_mcu_inputs[PPGHR_MCU_INPUT_WINDOWS][PPGHR_MCU_INPUT_FLOATS] = {",
    ]
    for row in inputs:
        out.append("  {")
        for i in range(0, f, 8):
            out.append("    " + ", ".join(_hex(v) for v in row[i:i + 8]) + ",")
        out.append("  },")
    out.append("};")
    if q8 is not None:
        out += render_q8(q8, q8_alias)
    out += ["", "#endif /* PPGHR_MCU_INPUTS_H */", ""]
    return "\n".join(out)


def from_golden(path: Path):
    from ppghr_tools.golden import unpack_golden

    g = unpack_golden(path.read_bytes())
    return g["inputs"], [-1.0] * g["n_windows"], f"golden {g['arch']} ({path.name}, {g['n_windows']} windows)"


def from_demo(csv_path: Path, hr_path: Path, net: str, windows):
    from ppghr_tools.preprocess import windows_from_recording

    with csv_path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    t = np.array([float(r["time"]) for r in rows])
    fs = int(round(1.0 / float(np.median(np.diff(t)))))
    cols = ["ppg"] if net == "resnet" else ["ppg", "acc_x", "acc_y", "acc_z"]
    sig = np.array([[float(r[c]) for c in cols] for r in rows], dtype=np.float64)
    wins = windows_from_recording(sig[:, 0] if net == "resnet" else sig, fs, net)
    wins = wins.reshape(len(wins), -1)
    ref = {}
    if hr_path.exists():
        with hr_path.open(newline="") as fh:
            for r in csv.DictReader(fh):
                ref[int(round(float(r["time"]) / 2.0))] = float(r["hr"])
    for k in windows:
        if not 0 <= k < len(wins):
            raise ValueError(f"window {k} out of range (the recording has {len(wins)})")
    ks = ",".join(str(k) for k in windows)
    source = f"demo {csv_path.name}, {net} windows {ks} (8 s from 2k s), preprocessed on the host"
    return wins[list(windows)], [ref.get(k, -1.0) for k in windows], source


def from_spectral(channels: int, n_windows: int = 4):
    fs, length, stride = 25.0, 200, 50
    n = length + stride * (n_windows - 1)
    t = np.arange(n) / fs
    rng = np.random.RandomState(2026)
    hr = 118.0 + 6.0 * t / t[-1]                       # BPM
    phase = 2 * np.pi * np.cumsum(hr / 60.0) / fs
    step = 160.0 / 60.0                                # Hz
    env = np.clip(t / t[-1], 0.0, 1.0)                 # motion from rest to full
    ppg = []
    for c in range(channels):
        ppg.append(100.0 * np.sin(phase + 0.3 * c) + env * (250.0 * np.sin(2 * np.pi * step * t + 1.0)
                   + 60.0 * np.sin(np.pi * step * t)) + 2.0 * rng.standard_normal(n))
    acc = [env * np.sin(2 * np.pi * step * t + 1.0) + 0.01 * rng.standard_normal(n),
           env * 0.4 * np.sin(np.pi * step * t) + 0.01 * rng.standard_normal(n),
           0.01 * rng.standard_normal(n)]
    sig = np.array(ppg + acc)                          # [C + 3][n]
    wins = np.stack([sig[:, k * stride:k * stride + length].reshape(-1) for k in range(n_windows)])
    ref = [float(np.mean(hr[k * stride:k * stride + length])) for k in range(n_windows)]
    source = (f"synthetic spectral{channels}: {n_windows} windows of 8 s every 2 s at 25 Hz, pulse 118-124 BPM, "
              "step artefact 160 BPM + arm swing 80 BPM from rest to 1 g, seed 2026")
    return wins, ref, source


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--golden", type=Path, help="a tests/golden/<arch>.golden file")
    src.add_argument("--demo", type=Path, help="a demo recording CSV (time, ppg, acc_x, acc_y, acc_z)")
    src.add_argument("--spectral", type=int, metavar="C", help="synthetic windows for SpectralEstimator<C>")
    ap.add_argument("--hr", type=Path, help="reference HR CSV for --demo (default: <demo>_hr.csv)")
    ap.add_argument("--net", choices=["resnet", "pulse"], default="resnet", help="preprocessing for --demo")
    ap.add_argument("--windows", default="10,60,110,160", help="window indices k for --demo")
    ap.add_argument("--q8io", type=Path, help="an int8_golden.py .q8io file (module docstring)")
    ap.add_argument("--q8io-windows", type=int, default=0, help="keep the first N .q8io windows (0: all)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    q8 = read_q8io(args.q8io, args.q8io_windows) if args.q8io else None
    alias = False
    if args.golden is None and args.spectral is None and args.demo is None:
        if q8 is None:
            ap.error("one of --golden, --demo, --spectral or --q8io is required")
        inputs, ref, source = q8["x"], [-1.0] * q8["n"], f"q8io {q8['name']} ({q8['n']} windows, quant.py's int8 results)"
        gen, alias = "", True
    elif args.golden is not None:
        inputs, ref, source = from_golden(args.golden)
        gen = f"--golden {args.golden.name}"
    elif args.spectral is not None:
        inputs, ref, source = from_spectral(args.spectral)
        gen = f"--spectral {args.spectral}"
    else:
        hr = args.hr or args.demo.with_name(args.demo.stem + "_hr.csv")
        windows = [int(k) for k in args.windows.split(",") if k.strip()]
        inputs, ref, source = from_demo(args.demo, hr, args.net, windows)
        gen = f"--demo {args.demo.name} --net {args.net} --windows {args.windows}"
    if q8 is not None:
        gen += f" --q8io {args.q8io.name}" + (f" --q8io-windows {args.q8io_windows}" if args.q8io_windows else "")
    text = render(inputs, ref, source, gen.strip(), q8, alias)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if not args.out.exists() or args.out.read_text() != text:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
