// expect: output channels must be >= input channels
#include <ppghr/layers/channel_pad.hpp>
ppghr::ChannelPad<float, 64, 32, 10> bad;
