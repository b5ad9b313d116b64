"""Exporter: checkpoint validation errors name the key; the CLI on state_dicts and modules."""

import numpy as np
import pytest
import torch

from ppghr_tools import archs as A
from ppghr_tools import blob as B
from ppghr_tools import export as E
from ppghr_tools import golden as G
from ppghr_tools import models as M


def _sd(name, seed=0):
    return G.random_state_dict(A.get_arch(name), np.random.RandomState(seed))


@pytest.mark.parametrize("name,key", [("resnet4", "basicblock_list.2.bn2.running_var"),
                                      ("resnet1", "dense.bias"),
                                      ("pulse_teacher", "multihead_attn.in_proj_weight"),
                                      ("pulse_student_cls", "conv4.weight"),
                                      ("mlp3", "fc.1.weight")])
def test_missing_key_named(name, key):
    sd = _sd(name)
    del sd[key]
    with pytest.raises(E.CheckpointError) as ei:
        E.export_blob(name, sd)
    assert ei.value.key == key and key in str(ei.value) and "missing" in str(ei.value)


def test_unexpected_key_named():
    sd = _sd("resnet2")
    sd["basicblock_list.2.conv1.conv.weight"] = np.zeros((32, 32, 5), np.float32)   # a resnet3 key
    with pytest.raises(E.CheckpointError) as ei:
        E.export_blob("resnet2", sd)
    assert ei.value.key == "basicblock_list.2.conv1.conv.weight" and "unexpected" in str(ei.value)


def test_wrong_shape_named():
    sd = _sd("pulse_teacher")
    sd["out.weight"] = np.zeros((180, 32), np.float32)          # a _cls head into the regression arch
    with pytest.raises(E.CheckpointError) as ei:
        E.export_blob("pulse_teacher", sd)
    assert ei.value.key == "out.weight" and "[180, 32]" in str(ei.value) and "[1, 32]" in str(ei.value)


def test_optional_keys_may_be_absent():
    sd = _sd("resnet3")
    full = E.export_blob("resnet3", sd)
    for k in [k for k in sd if k.startswith(("dense2.", "basicblock_list.0.bn1.")) or
              k.endswith("num_batches_tracked")]:
        del sd[k]
    assert E.export_blob("resnet3", sd) == full


def test_nan_weight_named():
    sd = _sd("mlp1")
    sd["fc.2.bias"] = sd["fc.2.bias"].copy()
    sd["fc.2.bias"][3] = np.nan
    with pytest.raises(E.CheckpointError) as ei:
        E.export_blob("mlp1", sd)
    assert ei.value.key == "fc.2.bias"


def test_cli_state_dict_and_module(tmp_path, capsys):
    m = M.build_model("resnet6")
    sd_path = tmp_path / "r6_sd.pt"
    mod_path = tmp_path / "r6_mod.pt"
    torch.save(m.state_dict(), sd_path)
    torch.save(m, mod_path)
    out1, out2 = tmp_path / "a.ppgw", tmp_path / "b.ppgw"
    assert E.main(["--arch", "resnet6", "--checkpoint", str(sd_path), "--out", str(out1)]) == 0
    assert E.main(["--arch", "resnet6", "--checkpoint", str(mod_path), "--out", str(out2)]) == 0
    assert out1.read_bytes() == out2.read_bytes()
    B.read_blob(out1, arch="resnet6")
    assert "resnet6" in capsys.readouterr().out


def test_cli_wrong_arch_names_key(tmp_path, capsys):
    path = tmp_path / "r2.pt"
    torch.save(M.build_model("resnet2").state_dict(), path)
    rc = E.main(["--arch", "resnet3", "--checkpoint", str(path), "--out", str(tmp_path / "x.ppgw")])
    assert rc == 2
    assert "basicblock_list.2." in capsys.readouterr().err
    assert not (tmp_path / "x.ppgw").exists()


def test_cli_pulse_input_norm(tmp_path):
    path = tmp_path / "s.pt"
    torch.save(M.PulseStudent().state_dict(), path)
    out = tmp_path / "s.ppgw"
    assert E.main(["--arch", "pulse_student", "--checkpoint", str(path), "--out", str(out),
                   "--input-norm", "1,2,3,4,5,6,7,8"]) == 0
    norm = B.read_blob(out, arch="pulse_student").tensors["input_norm"]
    assert norm.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]


def test_cli_input_norm_with_a_leading_minus(tmp_path):
    """The published constants start with a negative mean: the CLI must take them as a value."""
    model = M.build_model("pulse_student")
    ck = tmp_path / "s.pt"
    torch.save(model.state_dict(), ck)
    out = tmp_path / "s.ppgw"
    norm = "-0.0005,85.9549,-0.5196,0.3501,0.1493,0.6334,0.3673,0.4099"
    assert E.main(["--arch", "pulse_student", "--checkpoint", str(ck), "--out", str(out), "--input-norm", norm]) == 0
    b = B.read_blob(out.read_bytes(), "pulse_student")
    np.testing.assert_allclose(b.tensors["input_norm"][0], [-0.0005, 85.9549], rtol=1e-6)


def test_reader_refuses_a_non_positive_input_norm_std():
    good = B.read_blob(E.export_module("pulse_student", M.build_model("pulse_student")), "pulse_student")
    tensors = [(name, np.array(arr)) for name, arr in good.tensors.items()]
    tensors[0][1][1, 1] = 0.0  # input_norm is the first tensor; row 1's std -> 0
    assert tensors[0][0] == "input_norm"
    data = B.write_blob(tensors, A.fingerprint(A.get_arch("pulse_student")))
    with pytest.raises(B.BlobError) as e:
        B.read_blob(data, "pulse_student")
    assert "invalid_weight" in str(e.value) or getattr(e.value, "code", "") == "invalid_weight"
