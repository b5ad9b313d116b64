// Helpers shared by the unit tests: seeded random data and comparison.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace ppghr_test {

/// A 64-byte-aligned byte buffer (the vector's own storage is only malloc-aligned), with `shift`
/// extra bytes in front so that data() can be deliberately misaligned.
class AlignedBytes {
 public:
  explicit AlignedBytes(std::size_t n, std::size_t shift = 0) : raw_(n + shift + 64), n_(n) {
    const auto addr = reinterpret_cast<std::uintptr_t>(raw_.data());
    base_ = static_cast<std::size_t>((64 - addr % 64) % 64) + shift;
  }
  unsigned char* data() { return raw_.data() + base_; }
  [[nodiscard]] std::size_t size() const { return n_; }

 private:
  std::vector<unsigned char> raw_;
  std::size_t n_, base_ = 0;
};

inline std::vector<float> random_vector(std::size_t n, std::uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

inline double max_abs_diff(const float* a, const float* b, std::size_t n) {
  double m = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
    if (!(d <= m)) m = d;  // NaN propagates as a failure
  }
  return m;
}

}  // namespace ppghr_test
