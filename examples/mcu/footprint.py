"""Write docs/mcu-footprint.md from the builds and runs of scripts/mcu.sh.

    python3 examples/mcu/footprint.py --build build-mcu --nets resnet1,resnet2[,pulse_student][,spectral1,spectral3] \
        --blob resnet1=build-mcu/m4-Os/gen/blobs/resnet1.ppgw --blob resnet2=models/resnet2_bami1.ppgw \
        --out docs/mcu-footprint.md

Reads, under --build (the layout scripts/mcu.sh makes):
    m4-Os/, m4-O2/            ELF images ppghr_mcu_<net>.elf (sizes: arm-none-eabi-size -A, nm -S)
    runs/<config>-<net>.txt    their QEMU output (instruction counts, stack high-water mark)
    runs/compare-<config>-<net>.json   compare.py summaries (host vs MCU agreement)
    runs/fit-<net>.txt         the link against mcu_1m_256k.ld: "ok" or the linker's complaint
    runs/default-resnet1.txt, m4-default/   the Eigen + xsimd build, when present
Names spectral<C> are the spectral estimator + forward filter (spectral_main.cpp, no blob): they get
their own section. No date, host name or path goes into the report, so the same tools give the same file.
Standard library only (plus binutils' arm-none-eabi-size and -nm).
"""

from __future__ import annotations

import argparse
import json
import re
import struct
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare  # noqa: E402  (examples/mcu/compare.py: the run-output parser)

CONFIGS = ("m4-Os", "m4-O2")
NET_TITLES = {
    "resnet1": "ResNet1d<1> (random weights, golden.py seed)",
    "resnet2": "ResNet1d<2> (shipped models/resnet2_bami1.ppgw)",
    "pulse_student": "PULSE student, regression head (random weights, golden.py seed)",
}
SOFT_DOUBLE = re.compile(r"^__aeabi_(d\w+|[fil]2d|[ui]2d|l2d|ul2d)$")
CODE_SECTIONS = (".isr_vector", ".text", ".ARM.exidx", ".ARM.extab", ".preinit_array", ".init_array", ".fini_array")
ALLOCATOR = re.compile(r"^(malloc|calloc|realloc|free|_malloc_r|_calloc_r|_realloc_r|_free_r|_sbrk|_sbrk_r|"
                       r"__wrap_\w+|_Zn[wa][jm]\w*|_Zd[la]Pv\w*)$")


def run_tool(*args) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def tool_version(cmd) -> str:
    try:
        return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[0].strip()
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "unknown"


def sections(elf: Path) -> dict:
    out = {}
    for line in run_tool("arm-none-eabi-size", "-A", "-d", str(elf)).splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(".") and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def symbols(elf: Path) -> dict:
    """name -> size for sized symbols (demangled), plus the raw names under key '_raw'."""
    sized, raw = {}, set()
    for line in run_tool("arm-none-eabi-nm", "-S", "-C", str(elf)).splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4:
            sized[parts[3]] = int(parts[1], 16)
    for line in run_tool("arm-none-eabi-nm", str(elf)).splitlines():
        raw.add(line.split()[-1])
    sized["_raw"] = raw
    return sized


def blob_int8(path: Path) -> dict:
    """Bytes of an int8 version of the blob's tensors: weights (ndim >= 2) int8 + one float32
    scale per output channel; everything else (biases as int32, folded BatchNorm, input norm) 4 B."""
    data = path.read_bytes()
    count = struct.unpack_from("<I", data, 24)[0]
    w8 = scales = other = floats = 0
    for i in range(count):
        e = 64 + 96 * i
        ndim = struct.unpack_from("<I", data, e + 48)[0]
        dims = struct.unpack_from("<4I", data, e + 52)[:ndim]
        n = struct.unpack_from("<Q", data, e + 80)[0]
        name = data[e:e + 48].split(b"\0", 1)[0].decode()
        floats += n
        if ndim >= 2 and name.endswith("weight"):
            w8 += n
            scales += 4 * dims[0]
        else:
            other += 4 * n
    return {"floats": floats, "int8_weights": w8, "scales": scales, "other": other,
            "total": w8 + scales + other, "tensors": count}


INPUT_SYMBOLS = ("ppghr_mcu_inputs", "ppghr_mcu_reference_bpm", "ppghr_mcu_input_source",
                 # the int8 images: quant.py's .q8io windows and results (gen_inputs.py --q8io)
                 "ppghr_mcu_q8_x", "ppghr_mcu_q8_xq", "ppghr_mcu_q8_acc", "ppghr_mcu_q8_logits")


def harness_bss(sym: dict) -> int:
    """The int8 images' .q8io self-check buffer (int8_check.hpp's static int8 input), not counted in RAM."""
    return sum(v for k, v in sym.items() if k != "_raw" and "q8io_check" in k)


def input_bytes(sym: dict) -> int:
    """The test windows (and the int8 images' reference results): listed apart from flash."""
    return sum(sym.get(k, 0) for k in INPUT_SYMBOLS)


def is_int8(net: str) -> bool:
    """<net>_int8: ppghr::Int8Net<Net> (include/ppghr/int8/network.hpp) on a compact (dtype-4) int8 blob in flash."""
    return net.endswith("_int8")


def int8_summary(run: dict) -> dict:
    """The int8 images' own check against quant.py (int8_check.hpp's quant_total record)."""
    t = run.get("quant_total")
    qi = [int(q["instructions"]) for _, q in sorted(run.get("quant", {}).items()) if "instructions" in q]
    return {"q8io": t, "kernel": run.get("int8_kernel"), "q8io_instructions": (min(qi), max(qi)) if qi else None,
            "arena_bytes": int(run["sizes"].get("arena_bytes", 0))}


def measure(build: Path, config: str, net: str) -> dict:
    elf = build / config / f"ppghr_mcu_{net}.elf"
    sec = sections(elf)
    sym = symbols(elf)
    run = compare.parse((build / "runs" / f"{config}-{net}.txt").read_text())
    cmp_path = build / "runs" / f"compare-{config}-{net}.json"
    cmp = json.loads(cmp_path.read_text()) if cmp_path.exists() else None
    inputs = input_bytes(sym)
    code = sum(sec.get(s, 0) for s in CODE_SECTIONS)
    rodata = sec.get(".rodata", 0)
    model = sec.get(".model", 0)
    data = sec.get(".data", 0)
    bss = sec.get(".bss", 0) - harness_bss(sym)
    sizes = run["sizes"]
    windows = [int(w["instructions"]) for _, w in sorted(run["windows"].items())]
    macs = int(sizes["macs"])
    return {
        "code": code, "rodata": rodata - inputs, "inputs": inputs, "model": model, "data": data, "bss": bss,
        "flash": code + rodata - inputs + model + data,
        "stack": int(run["stack"]["high_water"]), "stack_reserved": int(run["stack"]["reserved"]),
        "stack_load": int(run["stack"].get("load", 0)), "stack_predict": int(run["stack"].get("predict", 0)),
        "ram": data + bss + int(run["stack"]["high_water"]),
        "net_object": int(sizes["memory_bytes"]), "weight_bytes": int(sizes["weight_bytes"]),
        "scratch_bytes": int(sizes["scratch_bytes"]), "blob_bytes": int(sizes["blob_bytes"]),
        "params": int(sizes["params"]), "macs": macs,
        "load_instructions": int(run["load"]["instructions"]),
        "inst_min": min(windows), "inst_max": max(windows), "inst_mean": sum(windows) / len(windows),
        "per_mac": sum(windows) / len(windows) / macs,
        "calibration": (int(run["calibration"]["spin"]), int(run["calibration"]["measured"])),
        "heap_symbols": sorted(s for s in sym["_raw"] if ALLOCATOR.match(s)),
        "soft_double": sorted(s for s in sym["_raw"] if SOFT_DOUBLE.match(s)),
        "net_in_data": data >= int(sizes["memory_bytes"]),
        "compare": cmp, "windows": run["windows"], "n_windows": len(windows), **int8_summary(run),
    }


def is_spectral(net: str) -> bool:
    """spectral<C>: the estimator; specnet<N>: SpectralNet<1, SpecNet<N>> (spectral_main.cpp too)."""
    return net.startswith("spectral") or net.startswith("specnet")


def measure_spectral(build: Path, config: str, net: str) -> dict:
    """The spectral estimator + forward filter image (spectral_main.cpp) and its run."""
    elf = build / config / f"ppghr_mcu_{net}.elf"
    sec = sections(elf)
    sym = symbols(elf)
    run = compare.parse((build / "runs" / f"{config}-{net}.txt").read_text())
    cmp_path = build / "runs" / f"compare-{config}-{net}.json"
    cmp = json.loads(cmp_path.read_text()) if cmp_path.exists() else None
    inputs = input_bytes(sym)
    code = sum(sec.get(s, 0) for s in CODE_SECTIONS)
    rodata, data, bss = sec.get(".rodata", 0), sec.get(".data", 0), sec.get(".bss", 0) - harness_bss(sym)
    model = sec.get(".model", 0)  # specnet<N>: the blob
    sizes = run["sizes"]
    wins = [w for _, w in sorted(run["windows"].items())]
    predict = [int(w["predict_instructions"]) for w in wins]
    decode = [int(w["decode_instructions"]) for w in wins[1:]] or [int(wins[0]["decode_instructions"])]
    total = [int(w["instructions"]) for w in wins]
    network = [int(w["network_instructions"]) for w in wins if "network_instructions" in w]
    return {
        "code": code, "rodata": rodata - inputs, "inputs": inputs, "model": model, "data": data, "bss": bss,
        "flash": code + rodata - inputs + model + data,
        "stack": int(run["stack"]["high_water"]), "stack_reserved": int(run["stack"]["reserved"]),
        "stack_predict": int(run["stack"].get("predict", 0)), "stack_network": int(run["stack"].get("network", 0)),
        "ram": data + bss + int(run["stack"]["high_water"]),
        "network_bytes": int(sizes.get("network_bytes", 0)), "params": int(sizes.get("params", 0)),
        "macs": int(sizes.get("macs", 0)),
        "load_instructions": int(run["load"]["instructions"]) if "load" in run else 0,
        "estimator_bytes": int(sizes["estimator_bytes"]), "filter_bytes": int(sizes["filter_bytes"]),
        "channels": int(sizes["channels"]), "fft_size": int(sizes["fft_size"]),
        "predict": (min(predict), max(predict)), "decode": (min(decode), max(decode)),
        "decode_first": int(wins[0]["decode_instructions"]), "total": (min(total), max(total)),
        "startup": int(run["startup"]["instructions"]),
        "calibration": (int(run["calibration"]["spin"]), int(run["calibration"]["measured"])),
        "heap_symbols": sorted(s for s in sym["_raw"] if ALLOCATOR.match(s)),
        "soft_double": sorted(s for s in sym["_raw"] if SOFT_DOUBLE.match(s)),
        "compare": cmp, "windows": run["windows"], "input": run.get("input", ""),
        "network": (min(network), max(network)) if network else None, **int8_summary(run),
    }


def span(lo_hi) -> str:
    lo, hi = lo_hi
    return b(lo) + (f" - {b(hi)}" if hi != lo else "")


def render_spectral(est: list, m: dict, fits: dict) -> list:
    L = []
    add = L.append
    add("## The spectral estimator + forward filter")
    add("")
    add("`spectral<C>`: `ppghr::SpectralEstimator<C>` (C PPG channels + the accelerometer's 3 axes, 8-s windows at "
        "25 Hz, zero-padded 1024-point FFTs, the 180-class likelihood) followed by `ppghr::ForwardFilter::update()` "
        "(the online HMM decoder, post/decode.hpp) on each window: `examples/mcu/spectral_main.cpp`, no weights, "
        "both objects in static storage. The windows are 4 consecutive windows (stride 2 s) of a synthetic "
        "recording made by `gen_inputs.py --spectral C` (a pulse at 118-124 BPM under a stronger step artefact at "
        "160 BPM and its arm swing at 80 BPM, the motion growing from rest to ~1 g), so the filter runs over them "
        "as it would on a stream. `specnet<N>`: `ppghr::SpectralNet<1, SpecNet<N>>` (the estimator's 6 x 180 "
        "features, `SpectralEstimator<1>::features()`, through the network of family 5, W = 16, random weights "
        "from golden.py's seed, embedded as a blob and loaded at start) then the same filter, on the spectral1 "
        "windows; its 'estimator' bytes are the whole SpectralNet (estimator + network + features).")
    add("")
    add("| estimator | opt | code | constants | weights (blob) | .data | **flash** | test windows | .bss | of which estimator + filter | stack used | **RAM** |")
    add("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for net in est:
        for c in CONFIGS:
            x = m[(c, net)]
            add(f"| {net} | {c[3:]} | {b(x['code'])} | {b(x['rodata'])} | {b(x['model'])} | {b(x['data'])} | **{b(x['flash'])}** "
                f"({kb(x['flash'])}) | {b(x['inputs'])} | {b(x['bss'])} | {b(x['estimator_bytes'] + x['filter_bytes'])} "
                f"({b(x['estimator_bytes'])} + {b(x['filter_bytes'])}) | {b(x['stack'])} | **{b(x['ram'])}** ({kb(x['ram'])}) |")
    add("")
    add("The estimator object holds the FFT's two 1024-float work arrays (8 KiB; its twiddles and "
        "bit-reversal swaps are constants in flash: spectral/fft_tables.hpp), the "
        "per-channel class-grid spectra (180 floats per channel, accelerometer axes included), the Hann window, "
        "the lobe table and the result; the forward filter holds its transition model and 3 x 180 floats. "
        "Links for 1 MB / 256 KB: " + "; ".join(f"{n} {fits.get(n, 'not run')} "
                                               f"({b(256 * 1024 - m[('m4-Os', n)]['ram'])} B of RAM left)" for n in est) + ".")
    add("")
    add("Instructions (counted as for the networks above; deterministic):")
    add("")
    add("| estimator | opt | predict() (min-max over the 4 windows) | ForwardFilter::update() (windows 1-3) | **per window** (max) | start-up: static constructors |")
    add("|---|---|--:|--:|--:|--:|")
    for net in est:
        for c in CONFIGS:
            x = m[(c, net)]
            add(f"| {net} | {c[3:]} | {span(x['predict'])} | {span(x['decode'])} | **{b(x['total'][1])}** | {b(x['startup'])} |")
    add("")
    nets_sp = [n for n in est if m[("m4-Os", n)]["macs"] and m[("m4-Os", n)]["network"]]
    if nets_sp:
        add("The network alone (`SpectralNet::net().predict()` run again on the same window's features, "
            "timed apart: the front end is predict() minus this; an `_int8` network's count includes quantising "
            "the 1,080 features, the integer network, the logits and the softmax):")
        add("")
        add("| estimator | opt | MACs | predict() (front end + network) | network alone | **network instructions / MAC** | front end (predict() - network) |")
        add("|---|---|--:|--:|--:|--:|--:|")
        for net in nets_sp:
            for c in CONFIGS:
                x = m[(c, net)]
                nlo, nhi = x["network"]
                add(f"| {net} | {c[3:]} | {b(x['macs'])} | {span(x['predict'])} | {span(x['network'])} | "
                    f"**{nhi / x['macs']:.2f}** | {b(x['predict'][1] - nhi)} |")
        add("")
    for net in est:
        x = m[("m4-Os", net)]
        if x["macs"]:
            add(f"{net}: network {b(x['network_bytes'])} B (sizeof(SpecNet), {b(x['params'])} parameters), "
                f"{b(x['macs'])} MACs per window ({x['predict'][1] / x['macs']:.2f} predict() instructions per MAC at "
                f"-Os, the features included); load() {b(x['load_instructions'])} instructions at -Os.")
            add("")
    add("The first window's update() has no transition to apply (" + ", ".join(
        f"{n}: {b(m[('m4-Os', n)]['decode_first'])}" for n in est) + " instructions at -Os). For scale only, "
        "assuming 2 cycles per instruction at 64 MHz: "
        + "; ".join(f"{n} -Os ~{m[('m4-Os', n)]['total'][1] * 2 / 64e6 * 1e3:.0f} ms per window" for n in est)
        + ", against one window every 2 s. The start-up count is the estimator's constructor and the "
        "filter's, once, at reset: the FFT twiddles (512 sines and cosines), the Hann window (200 cosines), the "
        "artefact-lobe table (2 cosines per entry, 91 entries: a recurrence over the window's symmetric half) "
        "and the PPG weights (180 powers), in double, in software on the M4F; the stack peak is the "
        "constructor's 200-double Hann window.")
    add("")
    sd = sorted({s for c in CONFIGS for n in est for s in m[(c, n)]["soft_double"]})
    add("Double precision: " + ("no soft-float double routine is linked." if not sd else
        "these images link the soft-float double routines " + ", ".join(f"`{s}`" for s in sd) + ": the estimator "
        "computes its tables in double (constructor; the M4F's single-precision FPU runs them in software) and "
        "the forward filter its transition normalisers; predict() and update() use none (float only)."))
    add("")
    add("Host vs MCU (`compare.py`: the 180 probabilities and the filter's 180 beliefs within the tolerance, the "
        "same argmax and the same decoded class in every window):")
    add("")
    add("| estimator | opt | windows | heart rates MCU = host (BPM) | decoded (class) | reference (BPM) | max abs diff, probabilities | max abs diff, beliefs | tolerance | bit-identical probabilities | result |")
    add("|---|---|--:|---|---|---|--:|--:|--:|--:|---|")
    for net in est:
        for c in CONFIGS:
            s = m[(c, net)]["compare"]
            if s is None:
                add(f"| {net} | {c[3:]} | - | - | - | - | - | - | - | - | not compared |")
                continue
            hrs = ", ".join(e["mcu_bpm"] for e in s["per_window"])
            dec = ", ".join(str(e.get("decoded_mcu")) for e in s["per_window"])
            ref = ", ".join(e["ref"] for e in s["per_window"])
            add(f"| {net} | {c[3:]} | {s['windows']} | {hrs} | {dec} | {ref} | {s['max_abs_diff']:.2g} | "
                f"{s.get('belief_max_abs_diff', float('nan')):.2g} | {s['prob_tol']:g} | "
                f"{s['bit_identical_values']}/{s['values']} | {'agree' if s['ok'] else 'DISAGREE'} |")
    add("")
    add("Heap: " + "; ".join(f"{n} {c[3:]}: " + ("no allocator symbol" if not m[(c, n)]["heap_symbols"] else
                                                 "allocator symbols " + ", ".join(m[(c, n)]["heap_symbols"]))
                             for n in est for c in CONFIGS) + ".")
    add("")
    return L


def render_int8(q8: list, m: dict, fits: dict) -> list:
    """The int8 images: beside their float owning and in-place images, and their exactness."""
    if not q8:
        return []
    L = []
    add = L.append
    add("## int8 networks (`_int8` images)")
    add("")
    shipped = Path(__file__).resolve().parents[2] / "models" / "int8" / "specnet2_bami1_int8.ppgw"
    if "specnet2_int8" in q8:
        add("Weights: `pulse_student_int8` runs golden.py's random weights of the float `pulse_student` images, "
            "quantised by quant.py (`int8_golden.py`), in the compact blob (dtype 4). " + (
                "`specnet2_int8` runs the compact (dtype-4) twin of the shipped `models/int8/specnet2_bami1_int8.ppgw` "
                "(the int8 twin of the default model, models/int8/README.md), while the float `specnet2` images run golden.py's random "
                "weights: same architecture, same sizes and counts, different heart rates; its .q8io windows "
                "are `int8_golden.py`'s for that blob." if shipped.exists() else
                "`specnet2_int8` runs golden.py's random weights of the float `specnet2` images, quantised the same way."))
        add("")
    add("`ppghr::Int8Net<Net>` beside the float network copying its weights (`<net>`) and reading them in place "
        "(`<net>_flash`), at -Os (numbers from the tables above; for the spectral images RAM includes the "
        "estimator and the forward filter, and the instructions are the network alone):")
    add("")
    add("| network | image | opt | flash | blob | RAM | of which the network object | instructions / inference | **instructions / MAC** |")
    add("|---|---|---|--:|--:|--:|--:|--:|--:|")
    for n in q8:
        base = n[:-5]
        for c in CONFIGS:
            for img in (base, base + "_flash", n):
                if (c, img) not in m:
                    continue
                x = m[(c, img)]
                if is_spectral(img):
                    if not x["network"]:
                        continue
                    inst, obj = x["network"][1], x["network_bytes"]
                else:
                    inst, obj = x["inst_mean"], x["net_object"]
                kind = "int8" if is_int8(img) else ("float, in place" if img.endswith("_flash") else "float, owning")
                bold = "**" if is_int8(img) else ""
                add(f"| {base} | {img} ({kind}) | {c[3:]} | {bold}{b(x['flash'])}{bold} | {b(x['model'])} | "
                    f"{bold}{b(x['ram'])}{bold} ({kb(x['ram'])}) | {b(obj)} | {b(round(inst))} | **{inst / x['macs']:.2f}** |")
    add("")
    add("The int8 network object: " + "; ".join(
        f"{n} {b(m[('m4-Os', n)]['network_bytes'] if is_spectral(n) else m[('m4-Os', n)]['net_object'])} B "
        f"(activation buffers {b(m[('m4-Os', n)]['arena_bytes'])} B)" for n in q8)
        + ". Links for 1 MB / 256 KB: " + "; ".join(f"{n} {fits.get(n, 'not run')}" for n in q8) + ".")
    add("")
    def stack_text(n: str) -> str:
        x = m[("m4-Os", n)]
        if is_spectral(n):
            return (f"{n}: the network alone {b(x['stack_network'])} B (the estimator's `predict()`, front end "
                    f"included, and the filter's `update()`: {b(x['stack_predict'])} B)")
        return f"{n}: `predict()` {b(x['stack_predict'])} B, `load()` {b(x['stack_load'])} B"
    own = [n for n in q8 if ("m4-Os", n) in m and (m[("m4-Os", n)].get("stack_predict") or m[("m4-Os", n)].get("stack_network"))]
    if own:
        add("The stack a call uses (the stack repainted before each call, `plat::stack_mark`; the most over "
            "the windows), at -Os: " + "; ".join(stack_text(n) for n in own)
            + ". Much of it is the M4 kernel's expansion buffer, 4 bytes per unit of `PPGHR_Q8_M4_MAX_WINDOW` "
            "(examples/mcu/CMakeLists.txt sets it per image; dot_m4.hpp), and for networks with residual "
            "blocks ADD's two 256-entry int32 tables (2 KiB).")
        add("")
    add("### Exactness")
    add("")
    add("Integer results are compared for equality, not within a tolerance (`compare.py`, failing "
        "`scripts/mcu.sh` on any difference): every window's int32 accumulators of the last op and its "
        "float32 logits (`acc_scale * acc`, one multiplication), bit for bit, MCU vs the host build of the "
        "same program (x86-64 -O2; the host's `q8::dot` is the portable reference, the M4's the SMLAD "
        "kernel); and each run against quant.py, the Python reference, on the 12 .q8io windows of "
        "`int8_golden.py`: the int8 input `quantize_input()` makes of the float window (one float "
        "subtraction and one division per value: nothing for the M4F to fuse), the accumulators and the "
        "logits. A spectral image's front end is float (its features may differ in the last bits between "
        "the MCU and the host, so its int8 input could in principle differ); its probabilities (`expf`) "
        "are compared within the tolerance, as the float images' are.")
    add("")
    add("| image | opt | q8::dot on the MCU | accumulators MCU = host | logits MCU = host (bits) | .q8io windows | MCU vs quant.py: int8 inputs / accumulators / logits differing | host vs quant.py | result |")
    add("|---|---|---|--:|--:|--:|---|---|---|")
    for n in q8:
        for c in CONFIGS:
            x = m[(c, n)]
            s = (x["compare"] or {}).get("int8")
            if s is None:
                add(f"| {n} | {c[3:]} | {x['kernel']} | - | - | - | - | - | not compared |")
                continue
            def q(k):
                v = s.get(k)
                return f"{v['input_diff']} / {v['acc_diff']} / {v['logit_diff']}" if v else "-"
            wins = (s.get("q8io_mcu") or {}).get("windows", "-")
            add(f"| {n} | {c[3:]} | {x['kernel']} | {s['acc_identical']}/{s['acc_values']} | "
                f"{s['logit_identical']}/{s['logit_values']} | {wins} | {q('q8io_mcu')} | {q('q8io_host')} | "
                f"{'exact' if x['compare']['ok'] else 'DIFFERS'} |")
    add("")
    return L


def kb(n: float) -> str:
    return f"{n / 1024:.1f} KiB"


def b(n: int) -> str:
    return f"{n:,}"


def render(args, m: dict, fits: dict, default_run, int8: dict) -> str:
    nets = [n for n in args.nets if not is_spectral(n)]
    est = [n for n in args.nets if is_spectral(n)]
    gcc = tool_version(["arm-none-eabi-g++", "--version"])
    qemu = tool_version(["qemu-system-arm", "--version"])
    L = []
    add = L.append
    if not nets:  # only the spectral estimator was built
        add("# Microcontroller footprint (Cortex-M4F under QEMU)")
        add("")
        add(f"Generated by `examples/mcu/footprint.py` (`{gcc}`, `{qemu}`); do not edit by hand.")
        add("")
        L.extend(render_spectral(est, m, fits))
        return "\n".join(L)
    add("# Microcontroller footprint (Cortex-M4F under QEMU)")
    add("")
    add("Generated by `examples/mcu/footprint.py`, run by `scripts/mcu.sh` (CI); do not edit by hand. "
        "Current numbers of the current code, not targets. How the example is built and run: "
        "`examples/mcu/README.md`.")
    add("")
    add(f"- Compiler: `{gcc}`; `-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard -mthumb -fno-exceptions "
        "-fno-rtti -ffunction-sections -fdata-sections`, `--gc-sections`, newlib-nano, no start files.")
    add("- Library configuration: `PPGHR_NO_SIMD` (xsimd has no Cortex-M back end), `PPGHR_NO_EIGEN` (see "
        "\"Eigen and xsimd\" below), `PPGHR_NO_ERROR_STRINGS`, `NDEBUG`: the plain reference kernels, float32.")
    add(f"- Emulator: `{qemu}`, `-M mps2-an386 -cpu cortex-m4 -icount shift=0,align=off,sleep=off`, "
        "ARM semihosting for output and the exit code.")
    add("- One firmware image per network (`ppghr_mcu_<net>.elf`): its sections are that network's footprint, "
        "including the start-up code, the output formatting and the embedded test windows (listed apart; 4 "
        "per image, 12 for an `_int8` image, with quant.py's results for them).")
    add("")

    add("## Flash and RAM (bytes)")
    add("")
    add("Flash = code (.isr_vector + .text + .ARM.exidx + init arrays) + constants (.rodata without the test "
        "windows) + weights (.model: the blob as a const array, `blob_to_c.py`) + the .data initial image. "
        "RAM = .data + .bss + the stack high-water mark (the stack is painted at reset and scanned after the "
        "last inference; an `_int8` image's .bss here leaves out the int8 input buffer of its .q8io self-check, "
        "test scaffolding like the windows). The network object (`sizeof(Net)`) holds a float32 copy of the weights "
        "(the layers own their repacked weights; the blob in flash is only read by `load()`) plus the "
        "activation scratch and the result. A `<net>_flash` image is the same network reading its weights "
        "in place (`ppghr::in_place_t<Net>`, include/ppghr/core/storage.hpp): its blob is the dtype-3 blob "
        "of the same weights (the kernels' order, `tools/ppghr_tools/packed.py`), `load()` validates it and "
        "points the layers at it, and the network object holds only the scratch, the result and one "
        "pointer per tensor; its outputs are checked identical, to the bit, to `<net>`'s. A `<net>_int8` "
        "image is the int8 twin, `ppghr::Int8Net<Net>` (include/ppghr/int8/network.hpp, docs/int8.md): "
        "its blob is a compact int8 blob (dtype 4: int8 weights, int32 biases, per-channel requantisation, no tensor table; "
        "`tools/ppghr_tools/int8_golden.py`: golden.py's float weights quantised by quant.py) read in place "
        "like a `_flash` image's; the object holds the int8 activation buffers, the int32 accumulator "
        "scratch, the result and the tensor pointers; its windows are the .q8io windows, and its results "
        "are checked exactly against quant.py's and the host's (section \"int8 networks\").")
    add("")
    add("| network | opt | code | constants | weights (blob) | .data | **flash** | test windows | .bss | of which the network | stack used | **RAM** |")
    add("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for net in nets:
        for c in CONFIGS:
            x = m[(c, net)]
            add(f"| {net} | {c[3:]} | {b(x['code'])} | {b(x['rodata'])} | {b(x['model'])} | {b(x['data'])} | "
                f"**{b(x['flash'])}** ({kb(x['flash'])}) | {b(x['inputs'])} | {b(x['bss'])} | {b(x['net_object'])} | "
                f"{b(x['stack'])} | **{b(x['ram'])}** ({kb(x['ram'])}) |")
    add("")
    add("The network object, split (the same on the host, x86-64):")
    add("")
    add("| network | parameters | float32 weights in RAM | scratch + result (+ pointers) | sizeof(Net) | blob in flash |")
    # (an _int8 row: no weights in RAM; its scratch is the int8 activations + int32 accumulators)
    add("|---|--:|--:|--:|--:|--:|")
    for net in nets:
        x = m[("m4-Os", net)]
        in_ram = 0 if net.endswith("_flash") or is_int8(net) else x['weight_bytes']
        add(f"| {net} | {b(x['params'])} | {b(in_ram)} | {b(x['net_object'] - in_ram)} | "
            f"{b(x['net_object'])} | {b(x['blob_bytes'])} |")
    add("")
    if any(m[(c, n)]["net_in_data"] for c in CONFIGS for n in nets):
        add("**Note:** in these images the network object is in .data, so its initial image (mostly zeros) is "
            "copied from flash at reset and counted in flash: `static Net net;` is constant-initialised "
            "because the network's default constructor is constexpr.")
        add("")
    else:
        add("The network object is in .bss: zero-filled at reset, finished by its (deliberately not constexpr) "
            "default constructor, so it costs no flash. With a constexpr constructor it would be "
            "constant-initialised into .data, and its whole initial image (`sizeof(Net)`, nearly all zeros) "
            "would sit in flash and be copied at reset.")
        add("")
    add(f"Stack reserved by the linker script: {b(m[('m4-Os', nets[0])]['stack_reserved'])} bytes; the measured "
        "high-water mark above is what the program (load, predict, printing) used.")
    add("")

    add("### Does it fit a 1 MB flash / 256 KB RAM part?")
    add("")
    add("Each -Os image is also linked against `examples/mcu/mcu_1m_256k.ld` (1 MB flash, 256 KB RAM, of which "
        f"{b(m[('m4-Os', nets[0])]['stack_reserved'])} B reserved for the stack: the class of an nRF52840 or an "
        "STM32F4); the linker refuses an image that overflows a region.")
    add("")
    add("| network | links for 1 MB / 256 KB | RAM left (256 KiB - RAM above) |")
    add("|---|---|--:|")
    for net in nets:
        x = m[("m4-Os", net)]
        add(f"| {net} | {fits.get(net, 'not run')} | {b(256 * 1024 - x['ram'])} |")
    add("")

    add("## Instructions per inference")
    add("")
    add("Counted with SysTick under QEMU's `-icount shift=0`: the virtual clock advances exactly 1 ns per "
        "executed instruction and SysTick counts the board's 25 MHz CPU clock, so one tick is 40 instructions "
        "(the resolution; a 24-bit SysTick with a wrap counter makes it 64-bit). The program checks the "
        "counter on a loop of known length (`calibration` below). These are **instructions, not cycles**: QEMU "
        "does not model the M4's pipeline, flash wait states or the FPU's multi-cycle operations (on an M4F a "
        "`vfma.f32` takes 3 cycles, a VFP load or store 1-2, a taken branch 2-4), so expect more cycles than "
        "instructions; no cycle count is claimed here. "
        "The count is deterministic: `scripts/mcu.sh` runs each image twice and requires identical output, "
        "counts included. `predict()` includes the input check, softmax and argmax; `load()` validates the "
        "whole blob (CRC32 over every byte, every tensor) and copies it into the network (a `_flash` "
        "image: validates it and points at it; an `_int8` image: validates it, every int8 value range "
        "included, and points at it). An `_int8` inference is the input's quantisation, the integer network "
        "(int8 x int8 -> int32 dot products through `q8::dot`, on the M4 the SMLAD kernel of "
        "`ppghr/int8/dot_m4.hpp`; requantisation of every output to int8), the float logits and the result.")
    add("")
    add("| network | opt | MACs | instructions / inference (min-max over the windows) | **instructions / MAC** | load() instructions |")
    add("|---|---|--:|--:|--:|--:|")
    for net in nets:
        for c in CONFIGS:
            x = m[(c, net)]
            rng = f"{b(x['inst_min'])}" + (f" - {b(x['inst_max'])}" if x["inst_max"] != x["inst_min"] else "")
            add(f"| {net} | {c[3:]} | {b(x['macs'])} | {rng} | **{x['per_mac']:.2f}** | {b(x['load_instructions'])} |")
    add("")
    if max(m[(c, n)]["per_mac"] for c in CONFIGS for n in nets) > 4:
        add("Why ~6 instructions per MAC: without SIMD, `Conv1d` runs its plain loop, which accumulates into the "
            "output row in memory, so each MAC is a load of the partial sum, a load of the weight, a `vfma.f32`, "
            "a store and the loop's compare and branch (the disassembly of the 32 -> 32 convolution at -Os shows "
            "exactly that 6-instruction loop; -O2 does not change it). A scalar register tile (8-16 output "
            "channels accumulated in the 32 single-precision FPU registers, the weights loaded with `vldm`) "
            "would bring this near 1.5-2.5 instructions per MAC without changing the summation order.")
        add("")
    else:
        add("Where the instructions go: without SIMD, `Conv1d` (and so `RowConv1d`) and `ModalityConv` run a "
            "scalar register tile (`detail::ScalarTile`, layers/conv1d.hpp): a tile of output steps x output "
            "channels (6 x 4 for the 32 -> 32 convolutions: 24 accumulators of the M4F's 32 single-precision "
            "registers) accumulated in FPU registers over the whole reduction, in the plain loop's summation "
            "order. Per (tap, input channel) the 32 -> 32 convolution's inner loop at -Os is 6 input loads, 4 "
            "weight loads, 24 `vfma.f32`, 2 pointer adds and the compare and branch: 37 instructions for 24 "
            "MACs (1.54 per MAC; -O2: the same 37, scheduled differently). The rest: the steps that touch the padding and the "
            "remainder (one step x up to 24 channels, ~2.3 per MAC), bias, ReLU and the fused residual add at "
            "the store, and the layers without MACs (normalisation, pooling, softmax). The plain loop before "
            "it accumulated into the output row in memory: 6.3-6.5 instructions per MAC.")
        add("")
    cal = sorted({m[(c, n)]["calibration"] for c in CONFIGS for n in nets})
    add("Calibration (2,000,000-instruction loop): measured " + ", ".join(b(v) for _, v in cal)
        + " (one tick = 40 instructions). For scale only, assuming 2 cycles per instruction at 64 MHz: "
        + "; ".join(f"{n} -Os ~{m[('m4-Os', n)]['inst_mean'] * 2 / 64e6 * 1e3:.0f} ms" for n in nets)
        + " per window, against one window every 2 s.")
    add("")

    add("## Host vs MCU agreement")
    add("")
    add("The same `main.cpp`, built for the host (x86-64, g++, -O2, the same reference kernels) prints the "
        "same records; `examples/mcu/compare.py` requires the same argmax for every window and every "
        "probability within the stated tolerance (regression head: the BPM value within the stated tolerance). "
        "Where the windows are golden windows (tests/golden), the MCU output is also checked against torch's "
        "float64 expectation at the C++ golden test's 1e-4. The outputs are not bit-identical: the M4F build "
        "fuses multiply-adds (`vfma.f32`) and newlib's `expf` is not glibc's.")
    add("")
    add("| network | opt | windows | heart rates MCU = host (BPM) | max abs diff MCU vs host | tolerance | bit-identical values | max abs diff vs torch float64 | result |")
    add("|---|---|--:|---|--:|--:|--:|--:|---|")
    for net in nets:
        for c in CONFIGS:
            x = m[(c, net)]
            s = x["compare"]
            if s is None:
                add(f"| {net} | {c[3:]} | - | - | - | - | - | - | not compared |")
                continue
            hrs = ", ".join(e["mcu_bpm"] for e in s["per_window"])
            tol = f"{s['prob_tol']:g} (prob.)" if s["classification"] else f"{s['bpm_tol']:g} BPM"
            gd = f"{s['golden_max_abs_diff']:.2g}" if s.get("golden_max_abs_diff") is not None else "-"
            add(f"| {net} | {c[3:]} | {s['windows']} | {hrs} | {s['max_abs_diff']:.2g} | {tol} | "
                f"{s['bit_identical_values']}/{s['values']} | {gd} | {'agree' if s['ok'] else 'DISAGREE'} |")
    add("")
    refs = m[("m4-Os", "resnet2")]["windows"] if "resnet2" in nets else None
    if refs:
        add("resnet2 runs on windows 10, 60, 110 and 160 of the synthetic demo recording (examples/data/demo.csv, "
            "preprocessed on the host by the Python twin of the C++ Preprocessor); their reference heart rates are "
            + ", ".join(w["ref"] for _, w in sorted(refs.items()))
            + " BPM, and `ppghr-estimate` on the host reports the same estimates for those windows.")
        add("")

    add("## Heap")
    add("")
    add("Nothing in these images can reach the heap: the link wraps `malloc`, `calloc`, `realloc`, `free` and "
        "their `_r` forms to traps (exit code 3), there is no `_sbrk` and no heap region, and `scripts/mcu.sh` "
        "fails if any allocator symbol (or a trap) is present in an image at all:")
    add("")
    for net in nets:
        for c in CONFIGS:
            hs = m[(c, net)]["heap_symbols"]
            add(f"- {net} {c[3:]}: " + ("no allocator symbol" if not hs else "allocator symbols: " + ", ".join(hs)))
    add("- the negative test, `heap_canary.cpp` (calls `malloc`): its image contains `__wrap_malloc` and it "
        "exits with code 3 under QEMU, as it must.")
    add("")
    sd = sorted({s for c in CONFIGS for n in nets for s in m[(c, n)]["soft_double"]})
    add("Double precision: the M4F's FPU is single-precision only, so any `double` arithmetic becomes a "
        "software routine. " + ("No soft-float double routine (`__aeabi_d*`) is linked in any image."
                                if not sd else "Linked soft-float double routines: " + ", ".join(sd) + "."))
    add("")

    add("## Eigen and xsimd on the M4")
    add("")
    if default_run:
        d, r = default_run
        add(f"Built with the library's default kernel choice (`PPGHR_MCU_KERNELS=default`, resnet1, -Os): xsimd "
            f"compiles but finds no supported architecture, so `PPGHR_HAS_SIMD` is {d['simd']}; Eigen is used by "
            f"`Linear`. Flash {b(d['flash'])} vs {b(r['flash'])} B, RAM {b(d['ram'])} vs {b(r['ram'])} B, "
            f"{b(d['inst_min'])} vs {b(r['inst_min'])} instructions per inference. Eigen's GEMV references the "
            "heap (" + (", ".join(d["heap_symbols"]) or "none") + " linked; never called at run time). "
            "Not worth it: define `PPGHR_NO_EIGEN` (and `PPGHR_NO_SIMD`) on microcontrollers.")
    else:
        add("Not measured in this run.")
    add("")

    if est:
        L.extend(render_spectral(est, m, fits))

    L.extend(render_int8([n for n in args.nets if is_int8(n)], m, fits))
    owning = [n for n in nets if not n.endswith("_flash") and not is_int8(n)]
    add("## int8 vs PULSE's 37.9 kB")
    add("")
    add("The PULSE paper runs its student int8-quantised on two Cortex-M MCUs with a 37.9 kB footprint. "
        "The estimate below is computed from each float blob (weights: int8 for every conv / linear weight "
        "with one float32 scale per output channel, everything else 4 bytes (int32 biases, folded BatchNorm, "
        "input norm); activations: the float scratch at 1 byte per value); where an `_int8` image was built "
        "(section \"int8 networks\" above) the last columns are what it measures: its blob in flash, its "
        "network object in RAM (int8 activations, int32 accumulators, result, pointers) and the stack its "
        "`predict()` uses (measured by repainting the stack before each call: `plat::stack_mark`), against "
        "37,900 bytes. The image's other RAM (the test program's line buffer and its self-checks) and the "
        "stack `load()` uses (once, before any inference) are not the inference's.")
    add("")
    add("| network | float32 weights | int8 weights + scales + biases (estimate) | float32 scratch | int8 scratch (~) | int8 total (estimate) | measured `_int8`: blob + network object + predict() stack | < 37,900 B |")
    add("|---|--:|--:|--:|--:|--:|--:|---|")
    for net in owning:
        x = m[("m4-Os", net)]
        q = int8[net]
        act8 = x["scratch_bytes"] // 4
        q8 = m.get(("m4-Os", net + "_int8"))
        meas, fits_paper = "-", "-"
        if q8:
            total = q8["blob_bytes"] + q8["net_object"] + q8["stack_predict"]
            meas = (f"{b(q8['blob_bytes'])} + {b(q8['net_object'])} + {b(q8['stack_predict'])} = "
                    f"**{b(total)}** ({kb(total)})")
            fits_paper = "yes" if total < 37900 else "no"
        add(f"| {net} | {b(4 * q['floats'])} | {b(q['total'])} ({b(q['int8_weights'])} + {b(q['scales'])} + "
            f"{b(q['other'])}) | {b(x['scratch_bytes'])} | {b(act8)} | {b(q['total'] + act8)} ({kb(q['total'] + act8)}) | "
            f"{meas} | {fits_paper} |")
    add("")
    flash = [n for n in nets if n.endswith("_flash") and n[:-6] in nets]
    if flash:
        add("Weights in place from flash (the `_flash` images above) take the float32 weights out of "
            "RAM: " + "; ".join(f"{n[:-6]} {kb(m[('m4-Os', n[:-6])]['ram'])} -> {kb(m[('m4-Os', n)]['ram'])}"
                                for n in flash) + " of RAM at -Os"
            + "".join(f"; {n[:-5]} int8: {kb(m[('m4-Os', n)]['ram'])}" for n in nets if is_int8(n))
            + ". The float activations are planned at compile time (two ping-pong buffers, models/chain.hpp), "
            "the int8 ones too (`Int8Net`'s plan; the PULSE students' row ops are streamed, one row at a time "
            "and depth-first through line buffers, docs/int8.md).")
        add("")
    return "\n".join(L)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Write the MCU footprint report.")
    ap.add_argument("--build", type=Path, required=True)
    ap.add_argument("--nets", required=True, help="comma-separated: resnet1,resnet2,pulse_student")
    ap.add_argument("--blob", action="append", default=[], help="net=path of its blob (for the int8 estimate)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    args.nets = [n for n in args.nets.split(",") if n]
    blobs = dict(kv.split("=", 1) for kv in args.blob)
    m = {(c, n): (measure_spectral if is_spectral(n) else measure)(args.build, c, n)
         for c in CONFIGS for n in args.nets}
    fits = {}
    for n in args.nets:
        f = args.build / "runs" / f"fit-{n}.txt"
        fits[n] = f.read_text().strip() if f.exists() else "not run"
    default_run = None
    if (args.build / "m4-default" / "ppghr_mcu_resnet1.elf").exists() and "resnet1" in args.nets:
        d = measure(args.build, "m4-default", "resnet1")
        run = compare.parse((args.build / "runs" / "m4-default-resnet1.txt").read_text())
        d["simd"] = run["ppghr-mcu"]["simd"]
        default_run = (d, m[("m4-Os", "resnet1")])
    int8 = {n: blob_int8(Path(blobs[n])) for n in args.nets if not is_spectral(n) and not is_int8(n)}
    text = render(args, m, fits, default_run, int8)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
