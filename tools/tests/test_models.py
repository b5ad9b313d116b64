"""The PyTorch modules match networks.md: parameter counts, shapes, key names, forward conventions."""

import numpy as np
import pytest
import torch

from ppghr_tools import archs as A
from ppghr_tools import models as M
from ppghr_tools import golden as G

# networks.md section 1
PAPER_COUNTS = [23292, 33724, 44156, 54588, 97852, 139196, 180540, 221884, 369852, 534460, 699068, 863676]
INFERENCE_N1, INFERENCE_N12 = 16692, 837876
# networks.md shapes table: (ci, co, stride, l_in, l_out) for blocks 0..11
BLOCK_TABLE = [(32, 32, 1, 200, 200), (32, 32, 2, 200, 100), (32, 32, 1, 100, 100), (32, 32, 2, 100, 50),
               (32, 64, 1, 50, 50), (64, 64, 2, 50, 25), (64, 64, 1, 25, 25), (64, 64, 2, 25, 13),
               (64, 128, 1, 13, 13), (128, 128, 2, 13, 7), (128, 128, 1, 7, 7), (128, 128, 2, 7, 4)]


@pytest.mark.parametrize("n", range(1, 13))
def test_resnet_param_counts(n):
    c = M.resnet_param_counts(n)
    assert c["paper"] == PAPER_COUNTS[n - 1]
    final_c = A.resnet_out_channels(n)
    assert c["inference"] == PAPER_COUNTS[n - 1] - (final_c * 200 + 200)   # without dense2
    assert c["paper"] == A.training_param_count(A.get_arch(f"resnet{n}"))
    if n == 1:
        assert c["inference"] == INFERENCE_N1
    if n == 12:
        assert c["inference"] == INFERENCE_N12


def test_resnet_geometry_matches_networks_md():
    blocks = A.resnet_blocks(12)
    assert [(b.c_in, b.c_out, b.stride, b.l_in, b.l_out) for b in blocks] == BLOCK_TABLE


def test_same_padding():
    assert A.same_padding(200, 1, 5) == (200, 2, 2)
    assert A.same_padding(200, 2, 5) == (100, 1, 2)
    assert A.same_padding(25, 2, 5) == (13, 2, 2)
    assert A.same_padding(7, 2, 5) == (4, 2, 2)


def test_pulse_param_counts():
    assert M.count_params(M.PulseTeacher()) == 131825
    assert M.count_params(M.PulseStudent()) == 27241
    assert M.count_params(M.PulseTeacher(head="classes")) == 131825 - 33 + 32 * 180 + 180
    assert M.count_params(M.PulseStudent(head="classes")) == 27241 - 33 + 32 * 180 + 180
    t = M.PulseTeacher()
    convs = sum(M.count_params(getattr(t, f"conv{s}{j}")) for s in (1, 2, 3) for j in (1, 2, 3))
    assert convs == 97872
    assert M.count_params(t.multihead_attn) == 1088
    assert M.count_params(t.layer_norm) == 32
    assert M.count_params(t.dense) + M.count_params(t.out) == 32833


def test_mlp_param_counts_span_resnet_students():
    counts = [M.count_params(M.build_model(f"mlp{k}")) for k in sorted(A.MLP_WIDTHS)]
    assert counts == [17060, 28724, 129348, 503924]
    for w, c in zip(A.MLP_WIDTHS.values(), counts):
        assert c == w[0] ** 2 + 382 * w[0] + 180


@pytest.mark.parametrize("name", A.ARCH_NAMES)
def test_state_dict_keys_and_shapes_match_spec(name):
    arch = A.get_arch(name)
    m = M.build_model(name)
    sd = m.state_dict()
    spec = {k: s for k, s, _ in A.state_dict_spec(arch)}
    assert set(sd) == set(spec)
    for k, v in sd.items():
        assert tuple(v.shape) == tuple(spec[k]), k
    # a state_dict with the code base's key names loads strictly
    rnd = G.random_state_dict(arch, np.random.RandomState(0))
    m.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in rnd.items()}, strict=True)


def test_resnet_input_layouts_and_features():
    m = M.ResNet1D(12).eval()
    x = torch.randn(3, 200)
    with torch.no_grad():
        y1 = m(x.unsqueeze(-1))          # (batch, 200, 1) like the code base
        y2 = m(x.unsqueeze(1))           # (batch, 1, 200)
        y3 = m(x)                        # (batch, 200)
        y4, feats = m(x, return_features=True)
    assert y1.shape == (3, 180)
    assert torch.equal(y1, y2) and torch.equal(y1, y3) and torch.equal(y1, y4)
    assert [tuple(f.shape[1:]) for f in feats] == [(32, 200)] + [(co, lo) for _, co, _, _, lo in BLOCK_TABLE]


def test_resnet_shortcut_pads_one_zero_right():
    # block 7: 25 -> 13 with a max-pooled shortcut; at odd length the last pooled value is max(x, 0)
    blk = M.BasicBlock(7, 64, 64, 2)
    for p in blk.parameters():
        torch.nn.init.zeros_(p)
    blk.eval()
    x = -torch.rand(1, 64, 25) - 0.1          # all negative
    with torch.no_grad():
        y = blk(x)
    assert torch.all(y[..., 12] == 0)          # max(x[24], 0) = 0, not x[24]
    assert torch.equal(y[..., :12], torch.maximum(x[..., 0:24:2], x[..., 1:24:2]))


def test_resnet_channel_pad_position():
    blk = M.BasicBlock(4, 32, 64, 1)
    for p in blk.parameters():
        torch.nn.init.zeros_(p)
    blk.eval()
    x = torch.rand(1, 32, 50) + 1
    with torch.no_grad():
        y = blk(x)
    assert torch.all(y[:, :16] == 0) and torch.all(y[:, 48:] == 0)
    assert torch.equal(y[:, 16:48], x)


@pytest.mark.parametrize("cls,mix", [(M.PulseTeacher, (64, 16)), (M.PulseStudent, (32, 8))])
@pytest.mark.parametrize("head,n_out", [("regression", 1), ("classes", 180)])
def test_pulse_forward_shapes(cls, mix, head, n_out):
    m = cls(head=head).eval()
    x = torch.randn(2, 1, 4, 256)
    with torch.no_grad():
        y = m(x)
        y2, feats = m(x.squeeze(1), return_features=True)
    assert y.shape == (2, n_out)
    assert torch.equal(y, y2)
    assert tuple(feats["mix"].shape[1:]) == mix
    assert tuple(feats["hidden"].shape) == (2, 32)
    assert tuple(feats["stage3"].shape[1:3]) == (mix[0], 4)


def test_pulse_input_norm_applied_per_row():
    torch.manual_seed(0)
    m = M.PulseStudent().eval().double()
    norm = torch.tensor([[3.0, 50.0], [-0.5, 0.3], [0.1, 0.6], [0.4, 0.4]], dtype=torch.float64)
    z = torch.randn(2, 4, 256, dtype=torch.float64)
    with torch.no_grad():
        y_ref = m(z)
        m.set_input_norm(norm)
        y = m(norm[:, 0:1] + norm[:, 1:2] * z)
    assert torch.allclose(y, y_ref, rtol=0, atol=1e-10)


def test_pulse_attention_orientation():
    """Queries are the 64 channel tokens of the PPG row; keys/values the 192 ACC tokens."""
    torch.manual_seed(1)
    m = M.PulseTeacher().eval()
    x = torch.randn(1, 4, 256)
    with torch.no_grad():
        _, f = m(x, return_features=True)
        emb = f["stage3"]                                    # (1, 64, 4, 16)
        q = emb[:, :, 0, :]                                  # (1, 64, 16)
        kv = emb[:, :, 1:, :].reshape(1, 192, 16)
        ref, _ = m.multihead_attn(q, kv, kv)
        # keys/values are a set: permuting them must not change the output
        perm = torch.randperm(192)
        ref2, _ = m.multihead_attn(q, kv[:, perm], kv[:, perm])
    assert torch.allclose(m.layer_norm(ref), f["mix"], atol=1e-6)
    assert torch.allclose(ref, ref2, atol=1e-6)
    assert f["mix"].shape == (1, 64, 16)


def test_models_cli_prints_table(capsys):
    assert M.main([]) == 0
    out = capsys.readouterr().out
    assert "863,676" in out and "837,876" in out and "23,292" in out and "16,692" in out
    assert "131,825" in out and "27,241" in out


# ------------------------------------------------------------------------------------------------
# PULSE per-window variants (*_wn): models.window_norm, the C++ twin's definition (window_norm.hpp)

def _window_norm_numpy(x: np.ndarray) -> np.ndarray:
    """float64 definition: PPG row z-scored; the ACC rows centred and divided by one shared
    divisor sqrt(mean of their variances) floored at A.PULSE_ACC_FLOOR_G."""
    x = np.asarray(x, np.float64)
    m = x.mean(axis=-1, keepdims=True)
    d = x - m
    v = (d ** 2).mean(axis=-1)
    s_ppg = np.maximum(np.sqrt(v[..., 0]), A.PULSE_PPG_EPS)[..., None]
    s_acc = np.maximum(np.sqrt(v[..., 1:].mean(axis=-1)), A.PULSE_ACC_FLOOR_G)[..., None, None]
    return np.concatenate([d[..., 0:1, :] / s_ppg[..., None], d[..., 1:, :] / s_acc], axis=-2)


@pytest.mark.parametrize("acc_scale", [1.0, 0.2, 0.003])
def test_window_norm_matches_definition(acc_scale):
    rng = np.random.RandomState(1)
    x = rng.standard_normal((3, 1, 4, 256))
    x[:, :, 0] = 30000 + 150 * x[:, :, 0]
    x[:, :, 1:] = acc_scale * x[:, :, 1:] + np.array([0.1, -0.9, 0.3])[None, None, :, None]
    y = M.window_norm(torch.from_numpy(x)).numpy()
    assert np.allclose(y, _window_norm_numpy(x), rtol=0, atol=1e-9)
    assert np.allclose(y[:, :, 0].std(axis=-1), 1.0, atol=1e-9)
    acc_rms = np.sqrt((y[:, :, 1:] ** 2).mean(axis=(-1, -2)))
    if acc_scale >= 0.2:
        assert np.allclose(acc_rms, 1.0, atol=1e-9)     # the shared divisor
    else:
        assert np.all(acc_rms < 0.1)                     # the floor: a resting wrist stays small


def test_pulse_wn_ignores_ppg_gain_and_offset():
    torch.manual_seed(0)
    for name in ("pulse_teacher_wn_cls", "pulse_student_wn"):
        m = M.build_model(name).eval().double()
        assert m.window_norm
        x = torch.randn(2, 4, 256, dtype=torch.float64)
        x2 = x.clone()
        x2[:, 0] = 40.0 * x[:, 0] - 7000.0
        with torch.no_grad():
            assert torch.allclose(m(x), m(x2), rtol=0, atol=1e-9)


def test_pulse_wn_archs_descriptor_and_blob():
    from ppghr_tools import blob as B
    from ppghr_tools import export as E
    for base in ("pulse_teacher", "pulse_student"):
        for suffix in ("", "_cls"):
            plain, wn = A.get_arch(base + suffix), A.get_arch(base + "_wn" + suffix)
            d_plain, d_wn = A.descriptor(plain), A.descriptor(wn)
            assert d_wn[6:10] == [A.OP_WINDOW_NORM, 4, 256, A.PULSE_ACC_FLOOR_UG]
            assert d_plain[6:9] == [A.OP_INPUT_NORM, 4, 256]
            assert d_wn[10:] == d_plain[9:]                   # the rest of the network is the same
            assert A.fingerprint(wn) != A.fingerprint(plain)
            assert A.blob_float_count(wn) == A.blob_float_count(plain) - 8   # no input_norm tensor
    m = M.build_model("pulse_student_wn_cls").eval()
    data = E.export_blob(A.get_arch("pulse_student_wn_cls"), m.state_dict())
    blob = B.read_blob(data, arch=A.get_arch("pulse_student_wn_cls"))
    assert "input_norm" not in [e.name for e in blob.entries]
    m2 = B.import_blob("pulse_student_wn_cls", data)
    x = torch.randn(3, 4, 256) * 100 + 500
    with torch.no_grad():
        assert torch.equal(m(x), m2(x))
