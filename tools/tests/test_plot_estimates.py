"""ppghr_tools.plot_estimates on made-up per-window CSVs: the PNG is written, the MAE is right."""

import math

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from ppghr_tools import plot_estimates as P

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _write(path, text):
    path.write_text(text)
    return path


@pytest.fixture()
def made_up(tmp_path):
    t = 2.0 * np.arange(40)
    ref = 70 + 0.8 * t
    status = ["ok"] * 40
    for k in range(10, 14):
        status[k] = "low_confidence"
    status[20] = "non-finite"
    status[30] = "flat"
    hr = ref + np.where(np.arange(40) % 2 == 0, 1.0, -1.0)      # |error| = 1 on every window
    hr[10:14] = ref[10:14] + 5.0                                # |error| = 5 on low-confidence ones
    lines = ["time,hr,confidence,status,ref_hr"]
    for k in range(40):
        h = "" if status[k] in ("non-finite", "flat") else f"{hr[k]:.3f}"
        lines.append(f"{t[k]:.1f},{h},{0.2 if status[k] != 'ok' else 0.9:.2f},{status[k]},{ref[k]:.3f}")
    est = _write(tmp_path / "estimates.csv", "\n".join(lines) + "\n")
    refp = _write(tmp_path / "ref.csv", "time,hr\n" + "".join(f"{a:.1f},{b:.3f}\n" for a, b in zip(t, ref)))
    return est, refp


def test_plot_with_reference_file(made_up, tmp_path):
    est, ref = made_up
    out = tmp_path / "sub" / "plot.png"
    s = P.plot(est, ref, out)
    assert out.exists() and out.read_bytes()[:8] == PNG_MAGIC and out.stat().st_size > 10_000
    assert s["windows"] == 40 and s["ok_windows"] == 34
    assert math.isclose(s["mae_ok"], 1.0, abs_tol=1e-6)
    assert math.isclose(s["mae_all"], (34 * 1.0 + 4 * 5.0) / 38, abs_tol=1e-6)
    assert s["matched"] == 38


def test_plot_ref_column_and_cli(made_up, tmp_path, capsys):
    est, _ = made_up
    out = tmp_path / "plot2.png"
    assert P.main([str(est), "--out", str(out), "--title", "made up"]) == 0
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert "MAE 1.00 BPM" in capsys.readouterr().out


def test_plot_minimal_columns(tmp_path):
    est = _write(tmp_path / "e.csv", "time,hr\n0,70\n2,71\n4,nan\n6,73\n")
    out = tmp_path / "p.png"
    s = P.plot(est, None, out)
    assert out.exists() and s["windows"] == 4 and s["ok_windows"] == 4 and "mae_ok" not in s


def test_missing_column_is_an_error(tmp_path):
    est = _write(tmp_path / "e.csv", "time,bpm\n0,70\n")
    with pytest.raises(ValueError, match="hr"):
        P.plot(est, None, tmp_path / "p.png")


def test_reference_matched_by_time():
    got = P.match_reference(np.array([0.0, 2.0, 5.0, 8.0]), np.array([8.0, 0.0, 2.0]),
                            np.array([80.0, 60.0, 70.0]))
    assert got[0] == 60.0 and got[1] == 70.0 and math.isnan(got[2]) and got[3] == 80.0
