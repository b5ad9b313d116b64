"""The "Shipped models" section of docs/results (results.py) and its benchmark numbers
(bench_shipped.py): fake model cards, a fake Google Benchmark output and a fake CMake build dir."""

import json
import re

import pytest

from ppghr_tools import bench_shipped as BS
from ppghr_tools import results as RS


def _quiet(*_a, **_k):
    pass


def _card(name, arch, mae12, mae21):
    return {"name": name, "arch": arch, "blob": f"{name}.ppgw", "blob_bytes": 517520,
            "parameters": {"blob_floats": 129348, "paper_style": 129348},
            "train_subset": "bami1", "test_subset": "bami2", "test": {"windows": 10, "mae_argmax": mae12},
            "other_fold": {"train_subset": "bami2", "test_subset": "bami1", "mae_argmax": mae21}}


BENCH = {"generated_by": BS.GENERATOR, "date": "2026-01-02T03:04:05+00:00", "repetitions": 5,
         "build": {"build_dir": "build", "build_type": "Release", "compiler": "GNU 12.2.0",
                   "ppghr_bench_cxx_flags": "-O3 -DNDEBUG", "isa": "compiler default, no -march"},
         "context": {"num_cpus": 2, "mhz_per_cpu": 2596, "load_avg": [1.0, 2.0, 3.0]},
         "archs": {"mlp3": {"cpu_time_us": 12.345, "real_time_us": 13.0, "windows_per_s": 81004.5,
                            "memory_bytes": 530000, "weight_bytes": 517392, "scratch_bytes": 1800, "macs": 129000}},
         "missing": {}}

MCU = """# footprint

| network | opt | code | **flash** | .bss | **RAM** |
|---|---|--:|--:|--:|--:|
| mlp3 | Os | 10 | **1,000** (1.0 KiB) | 5 | **2,000** (2.0 KiB) |
| mlp3 | O2 | 10 | **9,999** (9.8 KiB) | 5 | **9,999** (9.8 KiB) |

| network | opt | MACs | instructions / inference (min-max over 4 windows) | **instructions / MAC** |
|---|---|--:|--:|--:|
| mlp3 | Os | 129,000 | 2,990 - 3,000 | **0.02** |
"""


@pytest.fixture
def shipped(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "mlp3_x.json").write_text(json.dumps(_card("mlp3_x", "mlp3", 7.1, 8.3)))
    (models / "resnet4_y.json").write_text(json.dumps(_card("resnet4_y", "resnet4", 6.5, 9.5)))
    (models / "not_a_card.json").write_text("{broken")
    (models / "DEFAULT").write_text("mlp3_x.ppgw\n")
    bench = tmp_path / "bench" / "shipped.json"
    bench.parent.mkdir()
    bench.write_text(json.dumps(BENCH))
    mcu = tmp_path / "mcu-footprint.md"
    mcu.write_text(MCU)
    return tmp_path, models, bench, mcu


def test_results_shipped_section_renders_numbers(shipped):
    tmp_path, models, bench, mcu = shipped
    (tmp_path / "runs").mkdir()
    summary = RS.build(tmp_path / "runs", tmp_path / "docs", specs=[], log=_quiet, models_dir=models,
                       bench_path=bench, mcu_path=mcu)
    text = (tmp_path / "docs" / "README.md").read_text()
    assert "## Shipped models" in text
    # name (default), arch, parameters, blob bytes, MAE 1->2, 2->1, mean, us/window, windows/s, RAM, MCU flash/RAM/instr
    assert ("| mlp3_x (default) | mlp3 | 129,348 | 517,520 | 7.100 | 8.300 | 7.700 | 12.3 | 81,004 | 530,000 | "
            "1,000 | 2,000 | 3,000 |") in text
    assert "| resnet4_y | resnet4 | 129,348 | 517,520 | 6.500 | 9.500 | 8.000 | - | - | - | - | - | - |" in text
    assert "No C++ benchmark numbers yet for: `resnet4`" in text and "ppghr_tools.bench_shipped" in text
    assert "Release build `build` (GNU 12.2.0, `-O3 -DNDEBUG`" in text and "median of 5 repetitions" in text
    sh = summary["shipped"]
    assert [m["name"] for m in sh["models"]] == ["mlp3_x", "resnet4_y"] and sh["missing_bench"] == ["resnet4"]
    m = sh["models"][0]
    assert m["latency_us"] == 12.345 and m["memory_bytes"] == 530000 and m["test_mae"] == {"1->2": 7.1, "2->1": 8.3}
    assert m["mcu"] == {"flash": 1000, "ram": 2000, "instructions": 3000} and m["default"]
    assert json.loads((tmp_path / "docs" / "summary.json").read_text())["shipped"]["models"][1]["latency_us"] is None


def test_results_shipped_section_without_bench_or_cards(shipped, tmp_path):
    _, models, _, _ = shipped
    lines, s = RS.shipped_section(models, tmp_path / "absent.json", tmp_path / "absent.md")
    text = "\n".join(lines)
    assert s["bench"] is None and s["missing_bench"] == ["mlp3", "resnet4"]
    assert "MCU" not in text and "| mlp3_x (default) | mlp3 | 129,348 | 517,520 | 7.100 | 8.300 | 7.700 | - | - | - |" in text
    empty = tmp_path / "empty"
    empty.mkdir()
    lines, s = RS.shipped_section(empty, tmp_path / "absent.json")
    assert s == {"models": [], "bench": None, "missing_bench": []} and "No model cards" in "\n".join(lines)


def _gb_entry(name, rep, cpu_ns, real_ns, run_type="iteration"):
    e = {"name": name if run_type == "iteration" else f"{name}_median", "run_name": name, "run_type": run_type,
         "repetitions": 3, "repetition_index": rep, "iterations": 1000 + rep, "real_time": real_ns,
         "cpu_time": cpu_ns, "time_unit": "ns", "%peak": 70.0 + rep, "GFLOP/s": 40.0, "MACs": 3109760.0,
         "items_per_second": 1e9 / cpu_ns, "memory_bytes": 186048.0, "scratch_bytes": 78380.0,
         "weight_bytes": 107472.0}
    if run_type == "aggregate":
        e["aggregate_name"] = "median"
    return e


def test_results_bench_shipped_summarize_and_build_config(tmp_path):
    gb = {"context": {}, "benchmarks": [
        _gb_entry("BM_predict/resnet2", 0, 150000.0, 160000.0), _gb_entry("BM_predict/resnet2", 1, 140000.0, 200000.0),
        _gb_entry("BM_predict/resnet2", 2, 190000.0, 190000.0),
        _gb_entry("BM_predict/resnet2", 0, 1.0, 1.0, run_type="aggregate"),  # ignored: computed from the reps
        _gb_entry("BM_predict/resnet20", 0, 5.0, 5.0)]}
    s = BS.summarize(gb, ["resnet2", "mlp1"])
    assert list(s) == ["resnet2"]
    r = s["resnet2"]
    assert r["repetitions"] == 3 and r["cpu_time_us"] == 150.0 and r["cpu_time_us_min"] == 140.0
    assert r["cpu_time_us_max"] == 190.0 and r["real_time_us"] == 190.0 and r["peak_percent"] == 71.0
    assert r["memory_bytes"] == 186048 and r["weight_bytes"] == 107472 and r["macs"] == 3109760
    assert r["windows_per_s"] == pytest.approx(1e9 / 150000.0, abs=0.1)

    build = tmp_path / "build"
    (build / "benchmarks" / "CMakeFiles" / "ppghr_bench.dir").mkdir(parents=True)
    (build / "CMakeFiles" / "3.25.1").mkdir(parents=True)
    (build / "CMakeCache.txt").write_text("CMAKE_BUILD_TYPE:STRING=Release\nCMAKE_CXX_FLAGS:STRING=\n"
                                          "CMAKE_CXX_FLAGS_RELEASE:STRING=-O3 -DNDEBUG\nPPGHR_NATIVE:BOOL=ON\n")
    (build / "CMakeFiles" / "3.25.1" / "CMakeCXXCompiler.cmake").write_text(
        'set(CMAKE_CXX_COMPILER_ID "GNU")\nset(CMAKE_CXX_COMPILER_VERSION "12.2.0")\n')
    (build / "benchmarks" / "CMakeFiles" / "ppghr_bench.dir" / "flags.make").write_text(
        "# x\nCXX_FLAGS = -O3 -DNDEBUG -march=native\n")
    cfg = BS.read_build_config(build)
    assert cfg["build_type"] == "Release" and cfg["ppghr_native"] and "-march=native" in cfg["isa"]
    assert cfg["cmake_cxx_flags"] == "-O3 -DNDEBUG" and cfg["ppghr_bench_cxx_flags"] == "-O3 -DNDEBUG -march=native"
    assert cfg["compiler"] == "GNU 12.2.0"
    with pytest.raises(FileNotFoundError, match="--target ppghr_bench"):
        BS.bench_shipped(["resnet2"], build, log=_quiet)


def test_results_bench_shipped_archs_from_cards(shipped):
    _, models, _, _ = shipped
    assert BS.shipped_archs(models) == ["mlp3", "resnet4"]
    assert BS.bench_name("pulse_student_cls") == "BM_predict/pulse_student_cls"


def test_results_bench_shipped_runs_the_real_binary(repo_root, tmp_path):
    """One short repetition of a real benchmark, when build/ has a ppghr_bench with BM_predict/*."""
    build = repo_root / "build"
    binary = build / "benchmarks" / "ppghr_bench"
    if not binary.is_file() or "BM_predict/mlp1" not in BS.list_benchmarks(binary):
        pytest.skip("build/benchmarks/ppghr_bench with BM_predict/* not built")
    r = BS.bench_shipped(["mlp1", "no_such_arch"], build, repetitions=1, min_time="0.01", log=_quiet)
    m = r["archs"]["mlp1"]
    assert m["cpu_time_us"] > 0 and m["windows_per_s"] > 0 and m["macs"] == 200 * 40 + 40 * 40 + 40 * 180
    assert m["memory_bytes"] >= m["weight_bytes"] + m["scratch_bytes"] > 0
    assert 0 < m["peak_percent"] < 200 and re.search(r"no benchmark BM_predict/no_such_arch", r["missing"]["no_such_arch"])
    assert r["build"]["build_type"] and r["context"]["num_cpus"] >= 1
