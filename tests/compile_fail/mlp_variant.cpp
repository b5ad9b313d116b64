// expect: the variant must be in 1..4
#include <ppghr/models/mlp.hpp>
ppghr::Mlp<5> bad;
