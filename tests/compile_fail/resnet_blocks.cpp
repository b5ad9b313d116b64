// expect: the block count N must be in 1..12
#include <ppghr/models/resnet1d.hpp>
ppghr::ResNet1d<13> bad;
