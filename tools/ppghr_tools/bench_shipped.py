"""Latency and memory of each shipped network (models/*.json) from the C++ benchmarks.

    nice -n 5 cmake --build build -j1 --target ppghr_bench
    PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.bench_shipped [--build-dir build] [--repetitions 5]
        [--arch resnet2 ...] [--models-dir models] [--out results/bench/shipped.json]

Runs <build dir>/benchmarks/ppghr_bench (build dir: --build-dir, else $PPGHR_BUILD_DIR, else build/)
with --benchmark_format=json on the benchmark BM_predict/<arch> of every architecture a model card
names (models/*.json, key "arch"; the benchmark names are the architecture names of archs.py, see
benchmarks/bench_common.hpp register_predict), --repetitions times each, and writes
results/bench/shipped.json: the date, how the benchmark binary was built (CMakeCache.txt and the
target's flags.make: build type, compiler, flags, PPGHR_NATIVE, i.e. whether -march=native was on),
the machine context Google Benchmark reports (CPU, caches, load average), and per architecture the
median over the repetitions (min and max beside) of the real and CPU time per window (us),
windows/s (Google Benchmark's items_per_second, from CPU time), GFLOP/s, % of the measured FMA
peak, MACs, and the network's memory: memory_bytes = sizeof(Net) (weights, scratch, result: the RAM
one network object needs), weight_bytes and scratch_bytes. A card whose architecture has no
benchmark in the binary is listed under "missing" with the reason.

Latency depends on the build: the default build/ is Release with the compiler's default instruction
set (no -march: SSE2 on x86-64); a -DPPGHR_NATIVE=ON build (README, "Benchmarks") is several times
faster on a machine with AVX-512. The CPU time is the thread's own: on a loaded machine it stays
close to the idle figure while the real time grows, so the results page shows CPU time.
Takes ~4 s per architecture. tools/ppghr_tools/results.py puts these numbers beside each shipped
model's accuracy in docs/results/ ("Shipped models").
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[2]
GENERATOR = "tools/ppghr_tools/bench_shipped.py"
COMMAND = "PYTHONPATH=tools /usr/bin/python3 -m ppghr_tools.bench_shipped"
DEFAULT_OUT = REPO / "results" / "bench" / "shipped.json"
DEFAULT_MODELS = REPO / "models"
BENCH_PREFIX = "BM_predict/"


def bench_name(arch: str) -> str:
    """The benchmark of an architecture (benchmarks/bench_common.hpp register_predict)."""
    return BENCH_PREFIX + arch


def load_model_cards(models_dir: Path) -> List[dict]:
    """The model cards (models/*.json with an "arch"), sorted by file name; "name" defaults to the stem."""
    cards = []
    for p in sorted(Path(models_dir).glob("*.json")):
        try:
            card = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(card, dict) and isinstance(card.get("arch"), str):
            card.setdefault("name", p.stem)
            cards.append(card)
    return cards


def shipped_archs(models_dir: Path) -> List[str]:
    """The architectures the model cards in models_dir name, sorted, each once."""
    return sorted({c["arch"] for c in load_model_cards(models_dir)})


def default_build_dir() -> Path:
    return Path(os.environ.get("PPGHR_BUILD_DIR") or REPO / "build")


def _rel(p: Path) -> str:
    try:
        return Path(p).resolve().relative_to(REPO).as_posix()
    except ValueError:
        return str(p)


def read_build_config(build_dir: Path) -> dict:
    """How the benchmark binary was configured, from the build dir's CMakeCache.txt, the compiler's
    CMakeCXXCompiler.cmake and the ppghr_bench target's flags.make (the exact compile flags)."""
    build_dir = Path(build_dir)
    cache: Dict[str, str] = {}
    try:
        for line in (build_dir / "CMakeCache.txt").read_text().splitlines():
            m = re.match(r"^([A-Za-z0-9_]+):[A-Z]+=(.*)$", line)
            if m:
                cache[m.group(1)] = m.group(2)
    except OSError:
        return {"build_dir": _rel(build_dir), "error": "no CMakeCache.txt"}
    build_type = cache.get("CMAKE_BUILD_TYPE", "")
    native = cache.get("PPGHR_NATIVE", "OFF").upper() in ("ON", "1", "TRUE", "YES")
    cfg = {"build_dir": _rel(build_dir), "build_type": build_type or "(none)",
           "cxx_compiler": cache.get("CMAKE_CXX_COMPILER", ""),
           "cmake_cxx_flags": " ".join(f for f in (cache.get("CMAKE_CXX_FLAGS", ""),
                                                   cache.get(f"CMAKE_CXX_FLAGS_{build_type.upper()}", "")) if f),
           "ppghr_native": native, "ppghr_sanitize": cache.get("PPGHR_SANITIZE", "OFF").upper() == "ON",
           "isa": "-march=native (PPGHR_NATIVE=ON)" if native else
                  "compiler default, no -march (PPGHR_NATIVE=OFF; SSE2 on x86-64)"}
    for f in sorted(build_dir.glob("CMakeFiles/*/CMakeCXXCompiler.cmake")):
        text = f.read_text()
        ident = re.search(r'set\(CMAKE_CXX_COMPILER_ID "([^"]*)"\)', text)
        ver = re.search(r'set\(CMAKE_CXX_COMPILER_VERSION "([^"]*)"\)', text)
        if ident and ver:
            cfg["compiler"] = f"{ident.group(1)} {ver.group(1)}"
    flags = build_dir / "benchmarks" / "CMakeFiles" / "ppghr_bench.dir" / "flags.make"
    if flags.is_file():
        m = re.search(r"^CXX_FLAGS = (.*)$", flags.read_text(), re.M)
        if m:
            cfg["ppghr_bench_cxx_flags"] = m.group(1).strip()
    return cfg


def _stats(values: Sequence[float]) -> dict:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def summarize(gb: dict, archs: Sequence[str]) -> Dict[str, dict]:
    """Per architecture: median (min, max) over the repetitions of Google Benchmark's JSON output.
    Uses the per-repetition entries (run_type "iteration"), so one repetition works too."""
    to_us = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}
    out: Dict[str, dict] = {}
    for arch in archs:
        runs = [b for b in gb.get("benchmarks", [])
                if b.get("run_name", b.get("name")) == bench_name(arch) and b.get("run_type", "iteration") == "iteration"
                and not b.get("error_occurred")]
        if not runs:
            continue
        scale = [to_us[b.get("time_unit", "ns")] for b in runs]
        real = _stats([b["real_time"] * s for b, s in zip(runs, scale)])
        cpu = _stats([b["cpu_time"] * s for b, s in zip(runs, scale)])
        last = runs[-1]
        out[arch] = {
            "benchmark": bench_name(arch), "repetitions": len(runs),
            "iterations": int(statistics.median(b["iterations"] for b in runs)),
            "real_time_us": real["median"], "real_time_us_min": real["min"], "real_time_us_max": real["max"],
            "cpu_time_us": cpu["median"], "cpu_time_us_min": cpu["min"], "cpu_time_us_max": cpu["max"],
            "windows_per_s": round(statistics.median(b.get("items_per_second", 0.0) for b in runs), 1),
            "gflops": round(statistics.median(b.get("GFLOP/s", 0.0) for b in runs), 2),
            "peak_percent": round(statistics.median(b.get("%peak", 0.0) for b in runs), 1),
            "macs": int(last.get("MACs", 0)),
            "memory_bytes": int(last.get("memory_bytes", 0)),
            "weight_bytes": int(last.get("weight_bytes", 0)),
            "scratch_bytes": int(last.get("scratch_bytes", 0)),
        }
    return out


def list_benchmarks(binary: Path) -> List[str]:
    r = subprocess.run([str(binary), "--benchmark_list_tests"], capture_output=True, text=True, check=True)
    return r.stdout.split()


def run(binary: Path, archs: Sequence[str], repetitions: int, min_time: Optional[str] = None) -> dict:
    """Google Benchmark's JSON output for BM_predict/<arch> of every arch (which must exist)."""
    pattern = "^(" + "|".join(re.escape(bench_name(a)) for a in archs) + ")$"
    args = [str(binary), f"--benchmark_filter={pattern}", "--benchmark_format=json",
            f"--benchmark_repetitions={repetitions}"]
    if min_time:
        args.append(f"--benchmark_min_time={min_time}")
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{shlex.join(args)} failed ({r.returncode}): {r.stderr[-2000:]}")
    gb = json.loads(r.stdout)
    gb["args"] = args[1:]
    return gb


def bench_shipped(archs: Sequence[str], build_dir: Path, repetitions: int = 5, min_time: Optional[str] = None,
                  command: str = COMMAND, log=print) -> dict:
    binary = Path(build_dir) / "benchmarks" / "ppghr_bench"
    if not binary.is_file():
        raise FileNotFoundError(f"{binary} not found: build it with "
                                f"`nice -n 5 cmake --build {_rel(Path(build_dir))} -j1 --target ppghr_bench`")
    available = set(list_benchmarks(binary))
    present = [a for a in archs if bench_name(a) in available]
    missing = {a: f"no benchmark {bench_name(a)} in {_rel(binary)} (rebuild ppghr_bench; new architectures need "
                  f"a register_predict line in benchmarks/)" for a in archs if a not in present}
    gb: dict = {"context": {}, "benchmarks": [], "args": []}
    if present:
        log(f"[bench_shipped] {_rel(binary)}: {', '.join(bench_name(a) for a in present)}, "
            f"{repetitions} repetitions")
        gb = run(binary, present, repetitions, min_time)
    per_arch = summarize(gb, present)
    for a in present:
        if a not in per_arch:
            missing[a] = f"{bench_name(a)} reported no result (error or skipped)"
    return {
        "generated_by": GENERATOR,
        "command": command,
        "date": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "binary": _rel(binary),
        "benchmark_args": gb.get("args", []),
        "build": read_build_config(Path(build_dir)),
        "repetitions": repetitions,
        "statistic": f"median over {repetitions} repetitions (min and max beside); one thread; cpu_time is the "
                     "thread's CPU time; windows_per_s = 1 / cpu_time (Google Benchmark's items_per_second)",
        "context": gb.get("context", {}),
        "archs": per_arch,
        "missing": missing,
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=None, help="CMake build dir holding benchmarks/ppghr_bench "
                                                       "(default $PPGHR_BUILD_DIR, else build/)")
    ap.add_argument("--models-dir", default=str(DEFAULT_MODELS), help="model cards (*.json) naming the archs")
    ap.add_argument("--arch", action="append", default=None, help="benchmark this arch instead of the cards' "
                                                                   "(repeatable)")
    ap.add_argument("--repetitions", type=int, default=5)
    ap.add_argument("--min-time", default=None, help="passed as --benchmark_min_time (default: the library's)")
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    args = ap.parse_args(argv)
    build_dir = Path(args.build_dir) if args.build_dir else default_build_dir()
    archs = args.arch or shipped_archs(Path(args.models_dir))
    extra = list(argv if argv is not None else sys.argv[1:])
    command = COMMAND + ("" if not extra else " " + shlex.join(extra))
    if os.environ.get("PPGHR_BUILD_DIR") and not args.build_dir:
        command = f"PPGHR_BUILD_DIR={shlex.quote(os.environ['PPGHR_BUILD_DIR'])} " + command
    result = bench_shipped(archs, build_dir, args.repetitions, args.min_time, command)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    for a, r in result["archs"].items():
        print(f"[bench_shipped] {a}: {r['cpu_time_us']:.1f} us/window CPU ({r['real_time_us']:.1f} real), "
              f"{r['windows_per_s']:,.0f} windows/s, {r['memory_bytes']:,} bytes")
    for a, why in result["missing"].items():
        print(f"[bench_shipped] {a}: MISSING: {why}")
    print(f"[bench_shipped] wrote {_rel(out)} ({result['build'].get('build_type')}, {result['build'].get('isa')})")
    return 0 if not result["missing"] else 1


if __name__ == "__main__":
    sys.exit(main())
