"""The compact int8 blob (dtype 4, docs/blob-format.md): written from a QNet and converted from a
dtype-2 blob byte for byte alike, read back into a QNet whose forward_int gives identical integers
(max abs difference 0, logits bit for bit), corrupt blobs refused with their own code."""

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from ppghr_tools import archs as A
from ppghr_tools import blob as B
from ppghr_tools import golden as G
from ppghr_tools import int8_golden as IG
from ppghr_tools import quant as Q

REPO = Path(__file__).resolve().parents[2]
SHIPPED = sorted((REPO / "models" / "int8").glob("*.ppgw"))


def _reseal(buf) -> bytes:
    buf = bytearray(buf)
    struct.pack_into("<I", buf, len(buf) - 4, zlib.crc32(bytes(buf[:-4])) & 0xFFFFFFFF)
    return bytes(buf)


def _same_int(a: Q.QNet, b: Q.QNet, x) -> None:
    acc_a, log_a = a.forward_int(x)
    acc_b, log_b = b.forward_int(x)
    assert np.array_equal(acc_a, acc_b)                                   # max abs difference 0
    assert np.array_equal(log_a.astype("<f4").view("<u4"), log_b.astype("<f4").view("<u4"))


@pytest.mark.parametrize("name", ["specnet2", "pulse_student", "resnet5", "mlp2"])
def test_compact_round_trip(name):
    qnet, x = IG.case(name)
    arch = qnet.arch
    data = qnet.to_compact_blob()
    spec = Q.compact_tensor_spec(arch)
    assert len(spec) == len(Q.int8_tensor_spec(arch)) - sum(Q.is_documentation_only(n) for n, _, _ in
                                                            Q.int8_tensor_spec(arch))
    assert not any(n.endswith((".weight_scale", ".out_scale")) for n, _, _ in spec)
    assert any(n.endswith(".acc_scale") for n, _, _ in spec) and spec[0][0] == "input.offset"
    magic, vmaj, vmin, bom, dtype, fp, count, hsize, total, payload = struct.unpack_from("<4sHHIIQIIQQ", data, 0)
    assert (magic, vmaj, vmin, bom, dtype) == (b"PPGW", 1, 2, 0x01020304, 4)
    assert (fp, count, hsize, total, payload) == (A.fingerprint(arch), len(spec), 64, len(data), 64)
    assert data[48:64] == bytes(16)
    # sizes follow from the architecture: align4(element size x count) per tensor, then the CRC
    sizes = [B.ETYPE_SIZE[et] * int(np.prod(d)) for _, d, et in spec]
    assert len(data) == 64 + sum((s + 3) // 4 * 4 for s in sizes) + 4
    assert len(data) < len(qnet.to_blob())
    b = B.read_blob(data)
    assert b.dtype == 4 and [e.name for e in b.entries] == [n for n, _, _ in spec]
    assert all(e.offset % 4 == 0 for e in b.entries) and b.element_types == [et for _, _, et in spec]
    for n, _, _ in spec:
        assert b.tensors[n].dtype == qnet.t[n].dtype and np.array_equal(b.tensors[n], qnet.t[n])
    back = Q.QNet.from_blob(data)
    assert back.arch == arch and back.compact and not qnet.compact
    assert back.to_compact_blob() == data and qnet.to_compact_blob() == data      # deterministic
    _same_int(qnet, back, x)
    with pytest.raises(ValueError):
        back.to_blob()                        # the documentation-only scales are gone
    # the pure converter (no model) gives the same bytes as the direct writer
    assert Q.to_compact(qnet.to_blob()) == data


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_models_convert_and_run_identically(path):
    data = Q.to_compact(path)
    assert data == Q.to_compact(path.read_bytes())
    full = Q.QNet.from_blob(path.read_bytes())
    back = Q.QNet.from_blob(data)
    assert len(data) < path.stat().st_size
    assert Q.to_compact(full.to_blob()) == data == full.to_compact_blob()
    rng = np.random.RandomState(3)
    norm = G.random_input_norm(rng) if full.arch.is_pulse else None
    x = np.stack([G.random_window(full.arch, rng, norm).reshape(full.arch.in_channels, full.arch.in_length)
                  for _ in range(6)]).astype(np.float32)
    _same_int(full, back, x)


def test_cli_to_compact_and_compact_flag(tmp_path, capsys):
    src = REPO / "models" / "int8" / "specnet2_bami1_int8.ppgw"
    out = tmp_path / "c.ppgw"
    assert Q.main(["--to-compact", str(src), "--out", str(out)]) == 0
    assert out.read_bytes() == Q.to_compact(src)
    assert "compact" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        Q.main(["--to-compact", str(src), "--out", str(out), "--compact"])
    with pytest.raises(SystemExit):
        Q.main(["--out", str(out)])          # neither --model nor --to-compact


def test_corrupt_compact_blobs_refused(monkeypatch):
    qnet, _ = IG.case("specnet2")
    arch = qnet.arch
    data = qnet.to_compact_blob()

    def code(buf, reseal=True, a=arch):
        with pytest.raises(B.BlobError) as ei:
            B.read_blob(_reseal(buf) if reseal else bytes(buf), arch=a)
        return ei.value.code

    assert code(data[:-1], reseal=False) == "truncated"
    flipped = bytearray(data)
    flipped[200] ^= 1
    assert code(flipped, reseal=False) == "checksum_mismatch"
    buf = bytearray(data)
    struct.pack_into("<I", buf, 24, len(Q.compact_tensor_spec(arch)) - 1)
    assert code(buf) == "size_mismatch"                                        # tensor count
    buf = bytearray(data[:-4] + bytes(4) + data[-4:])
    struct.pack_into("<Q", buf, 32, len(buf))
    assert code(buf) == "size_mismatch"                                        # total size
    buf = bytearray(data)
    struct.pack_into("<I", buf, 28, 128)
    assert code(buf) == "bad_table"                                            # header size
    buf = bytearray(data)
    struct.pack_into("<Q", buf, 40, 128)
    assert code(buf) == "bad_table"                                            # payload offset
    buf = bytearray(data)
    struct.pack_into("<I", buf, 12, 9)
    assert code(buf) == "wrong_dtype"
    assert code(data, reseal=False, a=A.get_arch("specnet6")) == "arch_mismatch"
    buf = bytearray(data)
    struct.pack_into("<f", buf, len(data) - 8, float("nan"))                   # the last acc_scale
    assert code(buf) == "non_finite_weight"
    with pytest.raises(B.BlobError) as ei:
        Q.to_compact(data)                                                     # not a dtype-2 blob
    assert ei.value.code == "wrong_dtype"
    with pytest.raises(B.BlobError) as ei:
        Q.QNet.from_blob(qnet.to_blob()[:100])
    assert ei.value.code == "truncated"

    # Padding: no registry network has an int8 weight whose size is not a multiple of 4, so a
    # stand-in spec with a 3-value weight (one padding byte) checks that the padding must be zero.
    spec = [("input.offset", (1,), 1), ("input.scale", (1,), 1), ("input.zero_point", (1,), 3),
            ("x.weight", (1, 3), 2), ("x.bias", (1,), 3), ("x.acc_scale", (1,), 1)]
    monkeypatch.setattr(Q, "compact_tensor_spec", lambda a: spec)
    arrays = [np.zeros(1, np.float32), np.ones(1, np.float32), np.zeros(1, np.int32),
              np.array([[1, -2, 3]], np.int8), np.array([5], np.int32), np.ones(1, np.float32)]
    odd = B.write_compact_blob(list(zip([n for n, _, _ in spec], arrays)), A.fingerprint(arch))
    assert len(odd) == 64 + 12 + 4 + 4 + 4 + 4 and odd[64 + 12 + 3] == 0
    b = B.read_blob(odd, arch=arch)
    assert np.array_equal(b.tensors["x.weight"], arrays[3]) and b.entries[4].offset == 64 + 16
    buf = bytearray(odd)
    buf[64 + 12 + 3] = 1
    with pytest.raises(B.BlobError) as ei:
        B.read_blob(_reseal(buf), arch=arch)
    assert ei.value.code == "bad_table" and ei.value.tensor_name == "x.weight"
