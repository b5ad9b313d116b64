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
