"""int8_golden.py: the files tests/test_int8.cpp reads (format, determinism, agreement with the blob)."""
import struct

import numpy as np

from ppghr_tools import int8_golden as IG
from ppghr_tools import quant as Q


def _read_io(data: bytes):
    assert data[:4] == IG.MAGIC
    version, n, size, outputs = struct.unpack_from("<4I", data, 4)
    assert version == IG.VERSION
    off = 20
    x = np.frombuffer(data, "<f4", n * size, off).reshape(n, size); off += 4 * n * size
    xq = np.frombuffer(data, "i1", n * size, off).reshape(n, size); off += n * size
    acc = np.frombuffer(data, "<i4", n * outputs, off).reshape(n, outputs); off += 4 * n * outputs
    logits = np.frombuffer(data, "<f4", n * outputs, off).reshape(n, outputs); off += 4 * n * outputs
    assert off == len(data)
    return x, xq, acc, logits


def test_files_are_deterministic_and_match_the_blob(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        IG.generate(d, ["specnet1", "mlp1"], quiet=True, shipped=False)
    for name in ("specnet1", "mlp1"):
        for suffix in (".q8.ppgw", ".q8c.ppgw", ".q8io"):
            assert (a / (name + suffix)).read_bytes() == (b / (name + suffix)).read_bytes()
        qnet = Q.QNet.from_blob((a / f"{name}.q8.ppgw").read_bytes())
        assert (a / f"{name}.q8c.ppgw").read_bytes() == Q.to_compact((a / f"{name}.q8.ppgw").read_bytes())
        x, xq, acc, logits = _read_io((a / f"{name}.q8io").read_bytes())
        arch = qnet.arch
        # the windows are in the C++ layout: SpecNet's [180][6] is quant.py's (6, 180) transposed
        xw = x.reshape(len(x), arch.in_length, arch.in_channels).transpose(0, 2, 1) if arch.is_specnet else x
        acc2, logits2 = qnet.forward_int(xw)
        assert np.array_equal(acc, acc2) and np.array_equal(logits.view("<u4"), logits2.astype("<f4").view("<u4"))
        q = qnet.quantize_input(xw).reshape(len(x), arch.in_channels, arch.in_length)
        q = q.transpose(0, 2, 1) if arch.is_specnet else q
        assert np.array_equal(xq, q.reshape(len(x), -1))
        assert len(np.unique(acc)) > 10  # not a constant output


def test_shipped_int8_models_have_windows(tmp_path):
    IG.generate(tmp_path, [], quiet=True)
    shipped = sorted(IG.SHIPPED_DIR.glob("*.ppgw"))
    assert len(shipped) >= 2
    for p in shipped:
        x, xq, acc, logits = _read_io((tmp_path / f"{p.stem}.q8io").read_bytes())
        assert len(x) == IG.N_TEST and np.isfinite(logits).all()
        assert (tmp_path / f"{p.stem}.q8c.ppgw").read_bytes() == Q.to_compact(p)   # the compact twin
