"""tools/ppghr_tools/packed.py: the kernels' order of each tensor against element-by-element loops
written from the C++ layers' packed_index() formulas; the dtype-3 header; a dtype-1 round trip.
(tests/cli/test_cli.sh checks the packed bytes equal the C++ writer's, ppghr-estimate --write-in-place.)"""

import struct
import zlib

import numpy as np
import pytest

from ppghr_tools import archs as A
from ppghr_tools import packed
from ppghr_tools.blob import read_blob, write_blob


def _random_tensors(arch, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for layer in A.flatten(A.layers(arch)):
        for name, shape in layer.tensors():
            out[name] = rng.uniform(0.5, 1.5, size=shape).astype(np.float32)
    return out


def _conv_loop(w, groups):
    out_c, cin_g, k = w.shape
    cout_g = out_c // groups
    p = np.zeros(w.size, np.float32)
    for o in range(out_c):
        g, og = divmod(o, cout_g)
        for c in range(cin_g):
            for j in range(k):  # Conv1d::packed_index(g, j, c, og)
                p[((g * k + j) * cin_g + c) * cout_g + og] = w[o, c, j]
    return p


@pytest.mark.parametrize("name", ["tinycnn", "specnet1", "resnet2", "pulse_student", "pulse_teacher_cls", "mlp1"])
def test_kernel_order_matches_the_cpp_index_formulas(name):
    arch = A.get_arch(name)
    t = _random_tensors(arch)
    got = packed.kernel_order(arch, t)
    assert set(got) == set(t)
    changed = 0
    for layer in A.flatten(A.layers(arch)):
        if layer.op == A.OP_CONV1D:
            w = t[f"{layer.name}.weight"]
            np.testing.assert_array_equal(got[f"{layer.name}.weight"], _conv_loop(w, layer.record[9]))
            changed += 1
        elif layer.op == A.OP_ROW_CONV:
            w = t[f"{layer.name}.weight"]
            np.testing.assert_array_equal(got[f"{layer.name}.weight"], _conv_loop(w[:, :, 0, :], layer.record[10]))
            changed += 1
        elif layer.op == A.OP_MODALITY_CONV:
            w = t[f"{layer.name}.weight"]  # ModalityConv::packed_index(h, c, o) = (h * CIn + c) * COut + o
            cout, cin, rows, _ = w.shape
            p = np.zeros(w.size, np.float32)
            for o in range(cout):
                for c in range(cin):
                    for h in range(rows):
                        p[(h * cin + c) * cout + o] = w[o, c, h, 0]
            np.testing.assert_array_equal(got[f"{layer.name}.weight"], p)
            changed += 1
        elif layer.op == A.OP_CROSS_ATTENTION:
            w = t[f"{layer.name}.out_proj.weight"]  # out_weight_t[k * Embed + f] = w[f][k]
            e = w.shape[0]
            p = np.zeros(w.size, np.float32)
            for f in range(e):
                for k in range(e):
                    p[k * e + f] = w[f, k]
            np.testing.assert_array_equal(got[f"{layer.name}.out_proj.weight"], p)
            changed += 1
        elif layer.op == A.OP_LINEAR and arch.family == A.FAMILY_PULSE_STUDENT and layer.name == "dense":
            w = t["dense.weight"]  # FlattenLinear: W'[o][t * C + c] = W[o][c * L + t]
            c_n, l_n = A.pulse_feature_shape(arch.family)
            p = np.zeros(w.size, np.float32)
            for o in range(w.shape[0]):
                for c in range(c_n):
                    for s in range(l_n):
                        p[o * c_n * l_n + s * c_n + c] = w[o, c * l_n + s]
            np.testing.assert_array_equal(got["dense.weight"], p)
            changed += 1
    for name_, arr in t.items():  # every other tensor as it is
        if not any(name_ == f"{layer.name}.weight" or name_ == f"{layer.name}.out_proj.weight"
                   for layer in A.flatten(A.layers(arch)) if layer.op in (A.OP_CONV1D, A.OP_ROW_CONV, A.OP_MODALITY_CONV,
                                                               A.OP_CROSS_ATTENTION)) and name_ != "dense.weight":
            np.testing.assert_array_equal(got[name_], arr.reshape(-1))
    assert changed > 0 or arch.is_mlp
    # every convolution weight of the blob was checked (nested ones too: the residual blocks')
    convs = sum(1 for k, v in t.items() if v.ndim >= 3)
    assert changed - (1 if arch.family == A.FAMILY_PULSE_STUDENT else 0) - sum(
        1 for layer in A.flatten(A.layers(arch)) if layer.op == A.OP_CROSS_ATTENTION) == convs


def test_pack_blob_header_size_and_round_trip():
    arch = A.get_arch("pulse_student")
    t = _random_tensors(arch, 3)
    order = [name for layer in A.flatten(A.layers(arch)) for name, _ in layer.tensors()]
    plain = write_blob([(k, t[k]) for k in order], A.fingerprint(arch))
    flash = packed.pack_blob(plain)
    assert len(flash) == len(plain)
    assert struct.unpack_from("<4sHHII", flash, 0) == (b"PPGW", 1, 1, 0x01020304, 3)
    assert flash[16:24] == plain[16:24]
    assert struct.unpack_from("<I", flash, len(flash) - 4)[0] == zlib.crc32(flash[:-4]) & 0xFFFFFFFF
    # the table (names, shapes, offsets) is the dtype-1 blob's
    n = struct.unpack_from("<I", plain, 24)[0]
    assert flash[64:64 + 96 * n] == plain[64:64 + 96 * n]
    # a dtype-1 blob only
    with pytest.raises(ValueError):
        packed.pack_blob(flash)
    # the data: each tensor in kernel order at its dtype-1 offset
    b = read_blob(plain)
    want = packed.kernel_order(arch, dict(b.tensors))
    for e in b.entries:
        got = np.frombuffer(flash, "<f4", count=e.count, offset=e.offset)
        np.testing.assert_array_equal(got, want[e.name])
