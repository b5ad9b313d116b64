// tests/packaging/two_tu_a.cpp - first of the two translation units (see two_tu.hpp).
#include <ppghr/ppghr.hpp>

#include "known_answer.hpp"
#include "two_tu.hpp"

namespace ppghr_packaging {

void tu_a_view(TuView& v) noexcept {
  v.resnet1_result = check_network<ppghr::ResNet1d<1>>(v.resnet1_logits);
  v.crc32_table = &ppghr::detail::kCrc32Table;
  v.crc32 = &ppghr::crc32;
  v.status_name = &ppghr::status_name;
  v.resnet1_memory_bytes = &ppghr::ResNet1d<1>::memory_bytes;
  v.resnet1_fingerprint = ppghr::ResNet1d<1>::fingerprint;
}

}  // namespace ppghr_packaging
