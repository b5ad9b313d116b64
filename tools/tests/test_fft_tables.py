"""include/ppghr/spectral/fft_tables.hpp is what tools/ppghr_tools/fft_tables.py writes (the C++
test tests/test_spectral.cpp holds the header equal to RadixTwoFft's own computation, bit for bit)."""
import numpy as np

from ppghr_tools import fft_tables


def test_header_is_up_to_date():
    assert fft_tables.HEADER.read_text() == fft_tables.render()


def test_twiddles_are_the_dft_roots():
    wr, wi = fft_tables.twiddles(16)
    h = 8  # the last stage: exp(-2 pi i k / 16), k < 8
    k = np.arange(h)
    assert np.allclose(wr[h:2 * h], np.cos(2 * np.pi * k / 16), atol=1e-7)
    assert np.allclose(wi[h:2 * h], -np.sin(2 * np.pi * k / 16), atol=1e-7)
    assert wr[0] == 1.0 and wi[0] == 0.0
