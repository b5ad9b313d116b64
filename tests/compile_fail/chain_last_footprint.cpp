// expect: the last layer may not write more than out_size values
#include <ppghr/layers/linear.hpp>
#include <ppghr/models/resnet1d.hpp>
// Block 1 writes its pre-activation (200 x 32 values) into its output buffer before its result
// (100 x 32): as the last layer it would overrun the caller's output.
ppghr::Chain<float, ppghr::Linear<float, 4, 6400>, ppghr::resnet::Block<float, 1>> bad;
