// ppghr/dsp/dsp.hpp - umbrella header of the preprocessing (sensor stream -> network windows):
// resampling, windowing, band-pass, normalisation and the Preprocessor that chains them.
#pragma once

#include "ppghr/dsp/bandpass.hpp"
#include "ppghr/dsp/common.hpp"
#include "ppghr/dsp/normalize.hpp"
#include "ppghr/dsp/preprocessor.hpp"
#include "ppghr/dsp/resampler.hpp"
#include "ppghr/dsp/windower.hpp"
