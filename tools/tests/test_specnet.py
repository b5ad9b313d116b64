"""SpecNet's PyTorch twin (models.SpecNet), its arch entries, blob export and golden vectors."""

import numpy as np
import pytest
import torch

from ppghr_tools import archs as A
from ppghr_tools import blob as B
from ppghr_tools import export as E
from ppghr_tools import golden as G
from ppghr_tools import models as M
from ppghr_tools import reference as R
from ppghr_tools import spectral as sp
from conftest import GOLDEN_DIR

SPECNETS = [n for n in A.ARCH_NAMES if A.get_arch(n).is_specnet]


def test_registry():
    assert SPECNETS == [f"specnet{n}" for n in range(1, 13)] + [f"specnet{n}w32" for n in range(1, 13)]
    for name in SPECNETS:
        a = A.get_arch(name)
        assert (a.family, a.in_channels, a.in_length, a.n_outputs) == (A.FAMILY_SPECNET, 6, 180, 180)
        assert a.width == (32 if name.endswith("w32") else 16)
        assert a.variant == int(name[len("specnet"):].split("w")[0])


def test_module_names_and_forward_definition():
    m = M.SpecNet(2, 16).double().eval()
    names = [k for k, _ in m.named_parameters()]
    assert names == ["stem.weight", "stem.bias", "blocks.0.conv1.weight", "blocks.0.conv1.bias",
                     "blocks.0.conv2.weight", "blocks.0.conv2.bias", "blocks.1.conv1.weight",
                     "blocks.1.conv1.bias", "blocks.1.conv2.weight", "blocks.1.conv2.bias",
                     "head1.weight", "head1.bias", "head2.weight", "head2.bias"]
    x = torch.rand(3, 6, 180, dtype=torch.float64)
    F = torch.nn.functional
    h = F.relu(F.conv1d(x, m.stem.weight, m.stem.bias, padding=3))
    for blk in m.blocks:
        h = h + F.conv1d(F.relu(F.conv1d(h, blk.conv1.weight, blk.conv1.bias, padding=3)),
                         blk.conv2.weight, blk.conv2.bias, padding=3)
    y = F.conv1d(F.relu(F.conv1d(h, m.head1.weight, m.head1.bias)), m.head2.weight, m.head2.bias)[:, 0]
    with torch.no_grad():
        out, feats = m(x, return_features=True)
        assert torch.equal(m(x), out)
    assert out.shape == (3, 180) and torch.allclose(out, y, atol=0, rtol=1e-12)
    assert [tuple(f.shape[1:]) for f in feats] == [(16, 180)] * 3
    with pytest.raises(ValueError):
        m(torch.zeros(1, 180, 6, dtype=torch.float64))
    with pytest.raises(ValueError):
        M.SpecNet(13)


@pytest.mark.parametrize("name", ["specnet1", "specnet2", "specnet6", "specnet12", "specnet1w32", "specnet10w32"])
def test_state_dict_spec_matches_module(name):
    arch = A.get_arch(name)
    m = M.build_model(name)
    spec = A.state_dict_spec(arch)
    assert [(k, tuple(v.shape)) for k, v in m.state_dict().items()] == [(k, tuple(s)) for k, s, _ in spec]
    assert all(req for _, _, req in spec)
    assert [(k, tuple(s)) for k, s, _ in spec] == [(k, tuple(s)) for k, s in A.blob_tensor_spec(arch)]
    assert M.count_params(m) == A.blob_float_count(arch) == A.training_param_count(arch)
    w = arch.width
    assert A.blob_float_count(arch) == (6 * w * 7 + w) + arch.variant * 2 * (w * w * 7 + w) + (w * w + w) + (w + 1)


def test_descriptor():
    words = A.descriptor(A.get_arch("specnet2"))
    assert A.format_descriptor(words).splitlines() == [
        "NET(5, 2, 6, 180, 180)",
        "CONV1D(6, 16, 180, 180, 7, 1, 1, 3, 3, 1, 1)",
        "RESIDUAL_BEGIN()", "CONV1D(16, 16, 180, 180, 7, 1, 1, 3, 3, 1, 1)",
        "CONV1D(16, 16, 180, 180, 7, 1, 1, 3, 3, 1, 0)", "SHORTCUT()", "ADD(16, 180)",
        "RESIDUAL_BEGIN()", "CONV1D(16, 16, 180, 180, 7, 1, 1, 3, 3, 1, 1)",
        "CONV1D(16, 16, 180, 180, 7, 1, 1, 3, 3, 1, 0)", "SHORTCUT()", "ADD(16, 180)",
        "CONV1D(16, 16, 180, 180, 1, 1, 1, 0, 0, 1, 1)",
        "CONV1D(16, 1, 180, 180, 1, 1, 1, 0, 0, 1, 0)"]
    fps = {A.fingerprint(A.get_arch(n)) for n in SPECNETS}
    assert len(fps) == len(SPECNETS)


@pytest.mark.parametrize("name", ["specnet1", "specnet3", "specnet12", "specnet2w32"])
def test_export_blob_read_round_trip(name):
    """state_dict -> blob -> read_blob: the same float32 tensors in table order; -> import_blob:
    the same logits; exporting the imported module gives the same bytes; the descriptor
    interpreter (docs/blob-format.md semantics) gives them too."""
    arch = A.get_arch(name)
    sd = G.random_state_dict(arch, np.random.RandomState(7))
    data = E.export_blob(arch, sd)
    blob = B.read_blob(data, arch=arch)
    assert blob.fingerprint == A.fingerprint(arch)
    assert [n for n, _ in blob.items()] == [k for k, _ in A.blob_tensor_spec(arch)]
    for k, v in blob.items():
        assert np.array_equal(v, sd[k])
    module = B.import_blob(arch, data, dtype=torch.float64)
    orig = M.build_model(name).double()
    orig.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in sd.items()}, strict=True)
    x = np.stack([G.specnet_features_window(np.random.RandomState(s)) for s in range(3)])
    with torch.no_grad():
        y0 = orig.eval()(torch.from_numpy(x))
        y1 = module(torch.from_numpy(x))
    assert torch.equal(y0, y1)
    assert E.export_module(arch, module.float()) == data
    y2 = R.run(A.descriptor(arch), blob.items(), x[0])
    assert np.max(np.abs(y2 - y0[0].numpy())) <= 1e-9 * max(1.0, float(y0.abs().max()))
    # another network's checkpoint is refused, naming the key
    with pytest.raises(E.CheckpointError):
        E.export_blob(arch, G.random_state_dict(A.get_arch("resnet1"), np.random.RandomState(0)))
    with pytest.raises(B.BlobError):
        B.read_blob(data, arch=A.get_arch("resnet2"))


def test_golden_inputs_are_spectral_features():
    """The golden inputs are spectral.features() of synthetic windows: (6, 180) row-major, the
    position row (5) exact, spectra (0-4) in [0, 1]."""
    for name in ("specnet2", "specnet10w32"):
        g = G.unpack_golden((GOLDEN_DIR / f"{name}.golden").read_bytes())
        x = g["inputs"].reshape(4, 6, 180)
        assert np.allclose(x[:, 5], sp.position_feature().astype(np.float32))
        assert np.all(x[:, :5] >= 0) and np.all(x[:, :5] <= 1 + 1e-6)
        assert np.all(x[:, 0].max(axis=1) > 0.99)          # one PPG channel: its max is 1
        assert np.all(x[:, 2] <= x[:, 0] + 1e-6)           # cleaning only removes
