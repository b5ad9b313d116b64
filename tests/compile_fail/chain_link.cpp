// expect: a layer's in_size differs from the previous layer's out_size
#include <ppghr/layers/linear.hpp>
#include <ppghr/models/chain.hpp>
ppghr::Chain<float, ppghr::Linear<float, 4, 8>, ppghr::Linear<float, 9, 3>> bad;
