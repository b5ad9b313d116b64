// tests/packaging/two_tu.hpp - what the two translation units of the link test expose to each
// other. Both include <ppghr/ppghr.hpp>; a non-inline definition in any header makes the link fail
// with a duplicate symbol, and a header entity with internal linkage shows up as two addresses.
#pragma once

#include <cstddef>
#include <cstdint>

#include <ppghr/ppghr.hpp>

namespace ppghr_packaging {

struct TuView {
  int resnet1_result;                      // check_network<ResNet1d<1>>() in this TU
  float resnet1_logits[ppghr::kNumClasses];
  const void* crc32_table;                 // &ppghr::detail::kCrc32Table (inline variable)
  std::uint32_t (*crc32)(const unsigned char*, std::size_t, std::uint32_t) noexcept;
  const char* (*status_name)(ppghr::Status) noexcept;
  const std::size_t* resnet1_memory_bytes;  // &ResNet1d<1>::memory_bytes (template static member)
  std::uint64_t resnet1_fingerprint;
};

void tu_a_view(TuView& v) noexcept;  // defined in two_tu_a.cpp
void tu_b_view(TuView& v) noexcept;  // defined in two_tu_b.cpp

}  // namespace ppghr_packaging
