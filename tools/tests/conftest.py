"""Shared fixtures. Run from the repository root:

    PYTHONPATH=tools /usr/bin/python3 -m pytest -q tools/tests
"""

import sys
from pathlib import Path

import pytest

TOOLS_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = TOOLS_DIR.parent
if str(TOOLS_DIR) not in sys.path:          # also works without PYTHONPATH=tools
    sys.path.insert(0, str(TOOLS_DIR))

KD_PULSE_DIR = REPO_ROOT.parent / "shared" / "models" / "kd_pulse"
GOLDEN_DIR = REPO_ROOT / "tests" / "golden"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def kd_pulse_dir() -> Path:
    if not KD_PULSE_DIR.is_dir():
        pytest.skip(f"published PULSE checkpoints not found at {KD_PULSE_DIR} "
                    "(they live outside the repository, in ../shared/models/kd_pulse)")
    return KD_PULSE_DIR


@pytest.fixture(autouse=True, scope="session")
def _torch_threads():
    import torch
    torch.set_num_threads(min(2, torch.get_num_threads()))
    yield


def cpp_tool(name: str, source: str, tmp_path_factory):
    """A C++ test program of tests/ for a parity test: from $PPGHR_BUILD_DIR (tests/<name>) when set,
    else <repo>/build/tests/<name>, else compiled here from tests/<source> with $CXX / g++ / c++
    (header-only: one command, a few seconds). Skips, saying why, when none of that works."""
    import os
    import shutil
    import subprocess
    build = os.environ.get("PPGHR_BUILD_DIR")
    if build:
        for cand in (Path(build) / "tests" / name, Path(build) / name):
            if cand.is_file():
                return cand
        pytest.skip(f"PPGHR_BUILD_DIR={build} has no {name} (build it: cmake --build {build} --target {name})")
    cand = REPO_ROOT / "build" / "tests" / name
    if cand.is_file():
        return cand
    cxx = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
    if not cxx:
        pytest.skip(f"{name} not built and no C++ compiler to build it (set PPGHR_BUILD_DIR)")
    out = tmp_path_factory.mktemp(name) / name
    cmd = [cxx, "-std=c++17", "-O2", "-I", str(REPO_ROOT / "include"), str(REPO_ROOT / "tests" / source), "-o", str(out)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"could not compile tests/{source}: " + r.stderr[-2000:])
    return out
