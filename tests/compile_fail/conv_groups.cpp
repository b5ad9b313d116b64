// expect: groups must divide both the input and the output channel counts
#include <ppghr/layers/conv1d.hpp>
ppghr::Conv1d<float, 6, 8, 20, 3, 1, 1, 1, 1, /*groups*/ 4> bad;
