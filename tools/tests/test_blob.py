"""Blob writer/reader against docs/blob-format.md; export -> import round trip; reference oracle."""

import struct
import zlib

import numpy as np
import pytest
import torch

from ppghr_tools import archs as A
from ppghr_tools import blob as B
from ppghr_tools import export as E
from ppghr_tools import golden as G
from ppghr_tools import reference as R


def _case(name):
    arch = A.get_arch(name)
    rng = np.random.RandomState(123)
    sd = G.random_state_dict(arch, rng)
    norm = G.random_input_norm(rng) if arch.is_pulse else None
    return arch, sd, norm, E.export_blob(arch, sd, input_norm=norm)


def _reseal(buf: bytearray) -> bytes:
    total = struct.unpack_from("<Q", buf, 32)[0]
    struct.pack_into("<I", buf, total - 4, zlib.crc32(bytes(buf[:total - 4])))
    return bytes(buf)


@pytest.mark.parametrize("name", ["resnet1", "resnet12", "mlp2", "pulse_teacher", "pulse_student_cls"])
def test_header_fields_crc_alignment(name):
    arch, _, _, data = _case(name)
    magic, vmaj, vmin, bom, dtype, fp, count, hsize, total, payload = struct.unpack_from(
        "<4sHHIIQIIQQ", data, 0)
    assert data[:4] == b"PPGW" and magic == b"PPGW"
    assert (vmaj, vmin) == (1, 0)
    assert data[8:12] == bytes([4, 3, 2, 1]) and bom == 0x01020304
    assert dtype == 1
    assert fp == A.fingerprint(arch)
    spec = A.blob_tensor_spec(arch)
    assert count == len(spec)
    assert hsize == 64
    assert total == len(data)
    assert data[48:64] == bytes(16)
    assert payload % 64 == 0 and payload == -(-(64 + 96 * count) // 64) * 64
    assert data[64 + 96 * count:payload] == bytes(payload - 64 - 96 * count)
    assert struct.unpack_from("<I", data, total - 4)[0] == zlib.crc32(data[:total - 4])
    expect_off = payload
    for i, (ename, eshape) in enumerate(spec):
        e = 64 + 96 * i
        raw_name, ndim, d0, d1, d2, d3, res0, off, n, res1 = struct.unpack_from("<48sI4IIQQQ", data, e)
        assert raw_name.rstrip(b"\0").decode() == ename
        assert raw_name == ename.encode().ljust(48, b"\0")
        assert ndim == len(eshape) and (d0, d1, d2, d3)[:ndim] == tuple(eshape)
        assert all(d == 0 for d in (d0, d1, d2, d3)[ndim:])
        assert res0 == 0 and res1 == 0
        assert n == int(np.prod(eshape))
        assert off % 64 == 0 and off == expect_off       # canonical placement
        pad_end = off + (-(-4 * n // 64)) * 64
        assert data[off + 4 * n:pad_end] == bytes(pad_end - off - 4 * n)
        expect_off = pad_end
    assert total == expect_off + 4 and (total - 4) % 64 == 0


def test_pulse_input_norm_first_and_values():
    arch, sd, norm, data = _case("pulse_teacher")
    blob = B.read_blob(data, arch=arch)
    first = blob.entries[0]
    assert first.name == "input_norm" and first.dims == (4, 2)
    assert np.array_equal(blob.tensors["input_norm"], norm)


def test_bn_folding_float64_rounded_once():
    arch, sd, _, data = _case("resnet2")
    blob = B.read_blob(data, arch=arch)
    g, b, m, v = (sd[f"basicblock_list.1.bn2.{k}"].astype(np.float64)
                  for k in ("weight", "bias", "running_mean", "running_var"))
    w = sd["basicblock_list.1.conv1.conv.weight"].astype(np.float64)
    cb = sd["basicblock_list.1.conv1.conv.bias"].astype(np.float64)
    s = g / np.sqrt(v + 1e-5)
    assert np.array_equal(blob.tensors["basicblock_list.1.conv1.conv.weight"],
                          (w * s[:, None, None]).astype(np.float32))
    assert np.array_equal(blob.tensors["basicblock_list.1.conv1.conv.bias"], ((cb - m) * s + b).astype(np.float32))
    g1, b1, m1, v1 = (sd[f"basicblock_list.1.bn1.{k}"].astype(np.float64)
                      for k in ("weight", "bias", "running_mean", "running_var"))
    sc = g1 / np.sqrt(v1 + 1e-5)
    assert np.array_equal(blob.tensors["basicblock_list.1.bn1.scale"], sc.astype(np.float32))
    assert np.array_equal(blob.tensors["basicblock_list.1.bn1.shift"], (b1 - m1 * sc).astype(np.float32))
    assert "basicblock_list.0.bn1.scale" not in blob.tensors and "dense2.weight" not in blob.tensors


@pytest.mark.parametrize("name", A.ARCH_NAMES)
def test_export_import_round_trip(name):
    """The imported module gives the original module's outputs (float64, up to the float32
    rounding of the folded weights: 1e-6 relative to the output scale)."""
    arch, sd, norm, data = _case(name)
    orig = E_module(arch, sd, norm)
    imported = B.import_blob(arch, data, dtype=torch.float64)
    x = torch.from_numpy(np.stack([G.random_window(arch, np.random.RandomState(s), norm)
                                   for s in range(3)]).astype(np.float64))
    x = x.reshape(3, arch.in_channels, arch.in_length)
    with torch.no_grad():
        y0 = orig(x)
        y1 = imported(x)
    scale = max(1.0, float(y0.abs().max()))
    assert float((y0 - y1).abs().max()) <= 1e-6 * scale
    # and exporting the imported module again gives the same bytes
    assert E.export_module(arch, imported.float()) == data


def E_module(arch, sd, norm):
    from ppghr_tools import models as M
    m = M.build_model(arch.name).double()
    m.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in sd.items()}, strict=True)
    if norm is not None:
        m.set_input_norm(torch.from_numpy(norm.astype(np.float64)))
    return m.eval()


@pytest.mark.parametrize("name", ["resnet1", "resnet5", "resnet12", "mlp1", "pulse_teacher_cls",
                                  "pulse_student"])
def test_reference_interpreter_matches_torch(name):
    """The descriptor + tensor list alone (docs/blob-format.md semantics) define the network."""
    arch, _, norm, data = _case(name)
    blob = B.read_blob(data, arch=arch)
    module = B.import_blob(arch, data, dtype=torch.float64)
    x = G.random_window(arch, np.random.RandomState(5), norm).astype(np.float64)
    with torch.no_grad():
        y = module(torch.from_numpy(x).reshape(1, arch.in_channels, arch.in_length))[0].numpy()
    yr = R.run(A.descriptor(arch), blob.items(), x)
    assert np.max(np.abs(y - yr)) <= 1e-9 * max(1.0, np.max(np.abs(y)))


def test_write_is_deterministic():
    assert _case("resnet3")[3] == _case("resnet3")[3]


# --- reader errors, one per code, in the doc's order ------------------------------------------

def _corrupt(data, off, fmt, value, reseal=True):
    buf = bytearray(data)
    struct.pack_into(fmt, buf, off, value)
    return _reseal(buf) if reseal else bytes(buf)


def test_reader_error_codes():
    arch, _, _, data = _case("resnet2")
    B.read_blob(data, arch=arch)      # the good one passes

    def code(d, a=arch):
        with pytest.raises(B.BlobError) as ei:
            B.read_blob(d, arch=a)
        return ei.value

    assert code(data[:40]).code == "truncated"
    assert code(data[:-1]).code == "truncated"
    assert code(b"XXXX" + data[4:]).code == "bad_magic"
    assert code(_corrupt(data, 8, "<I", 0x04030201)).code == "wrong_byte_order"
    assert code(_corrupt(data, 8, "<I", 0x11223344)).code == "bad_magic"
    assert code(_corrupt(data, 4, "<H", 2)).code == "unsupported_version"
    B.read_blob(_corrupt(data, 6, "<H", 7), arch=arch)          # a newer minor still loads
    assert code(_corrupt(data, 12, "<I", 5)).code == "wrong_dtype"         # 2 (int8), 3 and 4 (compact int8) are defined now
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x40
    assert code(bytes(flipped)).code == "checksum_mismatch"
    err = code(data, A.get_arch("resnet3"))
    assert err.code == "arch_mismatch"
    # wrong dims of tensor 2 (names it)
    e2 = 64 + 96 * 2
    err = code(_corrupt(data, e2 + 52, "<I", 31))
    assert err.code == "size_mismatch" and err.tensor_index == 2 and "first_block_conv" not in str(err)
    assert "basicblock_list.0.conv1.conv.weight" in str(err)
    # misaligned data offset
    off = struct.unpack_from("<Q", data, e2 + 72)[0]
    err = code(_corrupt(data, e2 + 72, "<Q", off + 4))
    assert err.code == "bad_table" and err.tensor_index == 2
    err = code(_corrupt(data, 28, "<I", 96))
    assert err.code == "bad_table"
    # non-finite weight
    buf = bytearray(data)
    struct.pack_into("<f", buf, off + 8, float("nan"))
    err = code(_reseal(buf))
    assert err.code == "non_finite_weight" and err.tensor_name == "basicblock_list.0.conv1.conv.weight"


def test_writer_rejects_bad_tensors():
    with pytest.raises(ValueError, match="non-finite"):
        B.write_blob([("a", np.array([1.0, np.inf]))], 0)
    with pytest.raises(ValueError, match="characters"):
        B.write_blob([("x" * 48, np.zeros(2))], 0)
    with pytest.raises(ValueError, match="ndim"):
        B.write_blob([("a", np.zeros((1, 1, 1, 1, 1)))], 0)
