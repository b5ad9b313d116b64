"""The published KD_PULSE checkpoints (outside the repo, ../shared/models/kd_pulse) load strictly,
run without NaN, and survive export -> blob -> import."""

import numpy as np
import pytest
import torch

from ppghr_tools import archs as A
from ppghr_tools import blob as B
from ppghr_tools import export as E
from ppghr_tools import models as M
from ppghr_tools import reference as R

CASES = [("pulse_teacher", "pulse_teacher_subject5.pt", M.PulseTeacher, 131825),
         ("pulse_student", "pulse_student_subject5.pt", M.PulseStudent, 27241)]


@pytest.mark.parametrize("arch,fname,cls,n_params", CASES)
def test_published_checkpoint_loads_strict_and_runs(kd_pulse_dir, arch, fname, cls, n_params):
    sd = torch.load(kd_pulse_dir / fname, map_location="cpu")
    m = cls(head="regression")
    m.load_state_dict(sd, strict=True)
    m.eval()
    assert sum(v.numel() for v in sd.values()) == n_params
    torch.manual_seed(0)
    x = torch.randn(8, 1, 4, 256)
    with torch.no_grad():
        y = m(x)
    assert y.shape == (8, 1)
    assert torch.all(torch.isfinite(y))


@pytest.mark.parametrize("arch,fname,cls,n_params", CASES)
def test_published_checkpoint_blob_round_trip(kd_pulse_dir, tmp_path, arch, fname, cls, n_params):
    out = tmp_path / f"{arch}.ppgw"
    norm = "0,1,0,1,0,1,0,1"      # exercise the CLI; the real pairs are in the models' README
    assert E.main(["--arch", arch, "--checkpoint", str(kd_pulse_dir / fname), "--out", str(out),
                   "--input-norm", norm]) == 0
    blob = B.read_blob(out, arch=arch)
    imported = B.import_blob(arch, out)
    m = cls()
    m.load_state_dict(torch.load(kd_pulse_dir / fname, map_location="cpu"), strict=True)
    m.eval()
    torch.manual_seed(1)
    x = torch.randn(4, 4, 256)
    with torch.no_grad():
        assert torch.equal(m(x), imported(x))
    y_ref = R.run(A.descriptor(A.get_arch(arch)), blob.items(), x[0].double().numpy())
    assert abs(float(y_ref[0]) - float(m.double()(x[:1].double())[0, 0])) < 1e-9
