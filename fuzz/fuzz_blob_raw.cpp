// fuzz_blob_raw: the fuzzer's bytes as a weight blob, loaded into every family of fuzz_common.hpp
// (ResNet1d<1>, Mlp<1>, PulseStudent regression / classes, the per-window PULSE students, the
// SpecNet<2> behind SpectralNet<1, .>). Checks (Family::check): no crash or sanitizer report; a
// refused load leaves loaded() as it was and the weights bit-identical; a successful load predicts
// a fixed window with finite, in-range output (or a non-ok status).
#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ppghr_fuzz::init_families(false);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  for (int i = 0; i < ppghr_fuzz::kFamilies; ++i) (void)ppghr_fuzz::check_family(i, data, size);
  return 0;
}
