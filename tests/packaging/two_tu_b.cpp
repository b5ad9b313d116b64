// tests/packaging/two_tu_b.cpp - second translation unit and main(): the same header entities
// seen from both units must be one entity, and ResNet1d<1> (instantiated in both) and ResNet1d<2>
// (only here) must load, predict and agree.
#include <cstdio>
#include <cstring>

#include <ppghr/ppghr.hpp>

#include "known_answer.hpp"
#include "two_tu.hpp"

namespace ppghr_packaging {

void tu_b_view(TuView& v) noexcept {
  v.resnet1_result = check_network<ppghr::ResNet1d<1>>(v.resnet1_logits);
  v.crc32_table = &ppghr::detail::kCrc32Table;
  v.crc32 = &ppghr::crc32;
  v.status_name = &ppghr::status_name;
  v.resnet1_memory_bytes = &ppghr::ResNet1d<1>::memory_bytes;
  v.resnet1_fingerprint = ppghr::ResNet1d<1>::fingerprint;
}

}  // namespace ppghr_packaging

int main() {
  using namespace ppghr_packaging;
  static TuView a, b;
  tu_a_view(a);
  tu_b_view(b);
  int failures = 0;
  auto expect = [&](bool ok, const char* what) {
    if (!ok) {
      std::printf("two_tu: FAILED: %s\n", what);
      ++failures;
    }
  };
  expect(a.resnet1_result == 0, "ResNet1d<1> end-to-end check in TU a (value = failing line of known_answer.hpp)");
  expect(b.resnet1_result == 0, "ResNet1d<1> end-to-end check in TU b");
  expect(check_network<ppghr::ResNet1d<2>>() == 0, "ResNet1d<2> end-to-end check in TU b");
  expect(std::memcmp(a.resnet1_logits, b.resnet1_logits, sizeof a.resnet1_logits) == 0,
         "ResNet1d<1> gives the same logits from both TUs");
  expect(a.crc32_table == b.crc32_table, "ppghr::detail::kCrc32Table is one object (inline variable)");
  expect(a.crc32 == b.crc32, "ppghr::crc32 has one address (inline function)");
  expect(a.status_name == b.status_name, "ppghr::status_name has one address");
  expect(a.resnet1_memory_bytes == b.resnet1_memory_bytes, "ResNet1d<1>::memory_bytes is one object");
  expect(a.resnet1_fingerprint == b.resnet1_fingerprint, "ResNet1d<1>::fingerprint agrees");
  expect(*a.resnet1_memory_bytes == sizeof(ppghr::ResNet1d<1>), "memory_bytes == sizeof");
  if (failures == 0) std::printf("two_tu: ok (ResNet1d<1> in two TUs, ResNet1d<2>, one copy of inline entities)\n");
  return failures == 0 ? 0 : 1;
}
