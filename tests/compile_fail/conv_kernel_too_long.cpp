// expect: the dilated kernel is longer than the padded input
#include <ppghr/layers/conv1d.hpp>
ppghr::Conv1d<float, 4, 4, 5, 3, 1, /*dilation*/ 4> bad;
