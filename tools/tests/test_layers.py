"""The layer specs of archs.py: every walker derives from one list per network, and each layer's
import is the inverse of its export (numpy only, no torch)."""

import numpy as np
import pytest

from ppghr_tools import archs as A
from ppghr_tools import blob as B
from ppghr_tools import export as E
from ppghr_tools import golden as G


@pytest.mark.parametrize("name", A.ARCH_NAMES)
def test_walkers_agree(name):
    arch = A.get_arch(name)
    leaves = A.flatten(A.layers(arch))
    assert not any(isinstance(layer, A.Residual) for layer in leaves)
    assert A.descriptor(arch) == [w for layer in leaves for w in layer.words()]
    assert A.blob_tensor_spec(arch) == [t for layer in leaves for t in layer.tensors()]
    names = [n for n, _ in A.blob_tensor_spec(arch)]
    assert len(set(names)) == len(names)
    # a blob tensor is a state_dict key copied, a folded conv (its BN's keys come along) or a
    # BatchNorm's scale / shift; input_norm is the only one from outside the state_dict
    keys = {k for k, _, _ in A.state_dict_spec(arch)}
    for n in names:
        base = n.rsplit(".", 1)[0]
        assert n in keys or n == "input_norm" or (n.endswith((".scale", ".shift")) and f"{base}.running_var" in keys), n


@pytest.mark.parametrize("name", A.ARCH_NAMES)
def test_import_inverts_export(name):
    """export -> blob -> import -> export gives the same tensors to the bit: each layer's import_
    puts back what its export took (a folded BN as identity, scale/shift as weight/bias with zero
    mean and var 1 - eps, unused parts as zeros / identity)."""
    arch = A.get_arch(name)
    rng = np.random.RandomState(7)
    sd = G.random_state_dict(arch, rng)
    norm = G.random_input_norm(rng) if arch.is_pulse else None
    t1 = E.export_tensors(arch, sd, input_norm=norm)
    blob = B.read_blob(B.write_blob(t1, A.fingerprint(arch)), arch=arch)
    sd2, norm2 = B.blob_to_state_dict(arch, blob)
    assert list(sd2) == [k for k, _, _ in A.state_dict_spec(arch)]     # every key, in the module's order
    assert (norm2 is None) == (arch.window_norm or not arch.is_pulse)
    t2 = E.export_tensors(arch, sd2, input_norm=norm2)
    assert [n for n, _ in t1] == [n for n, _ in t2]
    for (n, a), (_, b) in zip(t1, t2):
        # a BN folded once more through the identity: scale 1 / sqrt(1 - eps + eps) == 1 exactly
        assert np.array_equal(a, b), n


def test_residual_expands_to_markers():
    body = (A.conv1d("c", 2, 2, 8, 8, 3, pad=(1, 1)),)
    res = A.residual(body, (A.op(A.OP_CHANNEL_PAD, 2, 4, 1),), 4, 8)
    words = [w for layer in A.flatten([res]) for w in layer.words()]
    assert A.format_descriptor(words).splitlines() == [
        "RESIDUAL_BEGIN()", "CONV1D(2, 2, 8, 8, 3, 1, 1, 1, 1, 1, 0)", "SHORTCUT()", "CHANNEL_PAD(2, 4, 1)",
        "ADD(4, 8)"]
    assert [t for layer in A.flatten([res]) for t in layer.tensors()] == [("c.weight", (2, 2, 3)), ("c.bias", (2,))]
