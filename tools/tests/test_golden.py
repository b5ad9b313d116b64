"""Committed golden vectors are current and consistent; fingerprints are stable and distinct."""

import numpy as np
import pytest

from ppghr_tools import archs as A
from ppghr_tools import blob as B
from ppghr_tools import golden as G
from ppghr_tools import reference as R
from conftest import GOLDEN_DIR


def test_fnv1a64_known_values():
    assert A.fnv1a64(b"") == 0xCBF29CE484222325
    assert A.fnv1a64(b"a") == 0xAF63DC4C8601EC8C
    assert A.fnv1a64(b"foobar") == 0x85944171F73967E8


def test_fingerprints_deterministic_and_distinct():
    fps = {name: A.fingerprint(A.get_arch(name)) for name in A.ARCH_NAMES}
    assert fps == {name: A.fingerprint(A.get_arch(name)) for name in A.ARCH_NAMES}
    assert len(set(fps.values())) == len(fps)
    assert A.fingerprint_of_words(A.descriptor(A.get_arch("resnet1"))) == fps["resnet1"]


def test_descriptor_records_well_formed():
    for name in A.ARCH_NAMES:
        words = A.descriptor(A.get_arch(name))
        i = 0
        while i < len(words):
            assert words[i] in A.OP_WORDS, (name, i)
            i += 1 + A.OP_WORDS[words[i]]
        assert i == len(words)
        assert all(0 <= w < 2 ** 32 for w in words)


def test_golden_check_byte_identical():
    problems = G.check(GOLDEN_DIR, A.ARCH_NAMES)
    assert problems == [], "\n".join(problems)


def test_fingerprints_txt():
    lines = (GOLDEN_DIR / "fingerprints.txt").read_text().splitlines()
    assert [l.split()[0] for l in lines] == A.ARCH_NAMES
    for line in lines:
        name, fp, n = line.split()
        words = A.descriptor(A.get_arch(name))
        assert int(fp, 16) == A.fingerprint_of_words(words) and int(n) == len(words)


@pytest.mark.parametrize("name", A.ARCH_NAMES)
def test_golden_file_consistent_with_blob(name):
    g = G.unpack_golden((GOLDEN_DIR / f"{name}.golden").read_bytes())
    arch = A.get_arch(name)
    case = G.GoldenCase(name)
    assert g["arch"] == name and g["n_windows"] == 4
    assert g["input_floats"] == arch.input_floats and g["n_outputs"] == arch.n_outputs
    assert g["blob_size"] == len(case.blob)
    assert g["blob_crc32"] == B.read_blob(case.blob, arch=arch).crc32
    assert g["fingerprint"] == A.fingerprint(arch)
    assert "golden.py" in g["provenance"] and str(case.seed) in g["provenance"]
    assert np.all(np.isfinite(g["logits"])) and np.all(np.isfinite(g["inputs"]))
    if arch.has_classes:
        assert np.allclose(g["probs"].sum(axis=1), 1.0, atol=1e-5)
        top2 = np.sort(g["logits"], axis=1)[:, -2:]
        assert np.all(top2[:, 1] - top2[:, 0] >= G.MIN_ARGMAX_GAP * 0.99)
    else:
        assert np.array_equal(g["probs"], g["logits"])
    # the blob's own descriptor semantics reproduce the stored logits (float32 storage)
    blob = B.read_blob(case.blob, arch=arch)
    y = R.run(A.descriptor(arch), blob.items(), g["inputs"][0].astype(np.float64))
    assert np.max(np.abs(y - g["logits"][0])) <= 1e-5 * max(1.0, np.max(np.abs(y)))


@pytest.mark.parametrize("name,mutate", [
    ("resnet8", lambda w: _edit(w, A.OP_MAXPOOL1D, 8, 1)),          # -inf instead of zero padding
    ("resnet9", lambda w: _edit(w, A.OP_CHANNEL_PAD, 3, 0)),        # padded channels after, not around
    ("resnet3", lambda w: _edit_conv_pad(w)),                       # left/right padding swapped
    ("pulse_teacher_cls", lambda w: _edit(w, A.OP_CROSS_ATTENTION, 4, 1)),  # one head
    ("pulse_student_cls", lambda w: _edit(w, A.OP_ROW_CONV, 8, 1)),  # dilation 1
])
def test_golden_outputs_catch_plausible_mistakes(name, mutate):
    """A C++ reader that misreads one of these details must fail the 1e-4 golden comparison."""
    case = G.GoldenCase(name)
    g = G.unpack_golden((GOLDEN_DIR / f"{name}.golden").read_bytes())
    blob = B.read_blob(case.blob, arch=name)
    words = A.descriptor(A.get_arch(name))
    wrong = mutate(list(words))
    diffs = []
    for k in range(g["n_windows"]):
        x = g["inputs"][k].astype(np.float64)
        diffs.append(np.max(np.abs(R.run(wrong, blob.items(), x) - g["logits"][k])))
    assert max(diffs) > 1e-3


def _edit(words, op, index, value):
    """Set word `index` (1-based after the op code) of every record of `op`."""
    i = 0
    while i < len(words):
        code = words[i]
        if code == op:
            words[i + index] = value
        i += 1 + A.OP_WORDS[code]
    return words


def _edit_conv_pad(words):
    i = 0
    while i < len(words):
        code = words[i]
        if code == A.OP_CONV1D and words[i + 6] == 2:      # stride-2 convs: (1, 2) -> (2, 1)
            words[i + 8], words[i + 9] = words[i + 9], words[i + 8]
        i += 1 + A.OP_WORDS[code]
    return words
