// expect: padding must be in \[0, kernel\)
#include <ppghr/layers/pooling.hpp>
ppghr::MaxPool1d<float, 4, 10, 2, 2, 0, 2> bad;
