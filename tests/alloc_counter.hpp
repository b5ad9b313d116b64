// Counts heap allocations made by the test process (see main.cpp).
#pragma once

#include <atomic>

#if defined(__SANITIZE_ADDRESS__)
#define PPGHR_TEST_WRAP_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PPGHR_TEST_WRAP_MALLOC 0
#endif
#endif
#if !defined(PPGHR_TEST_WRAP_MALLOC)
#if defined(__GLIBC__) || defined(__linux__)
#define PPGHR_TEST_WRAP_MALLOC 1
#else
#define PPGHR_TEST_WRAP_MALLOC 0
#endif
#endif

namespace ppghr_test {
extern std::atomic<long> g_allocations;

/// Allocations made while the object lived.
class AllocationScope {
 public:
  AllocationScope() : start_(g_allocations.load()) {}
  [[nodiscard]] long count() const { return g_allocations.load() - start_; }

 private:
  long start_;
};
}  // namespace ppghr_test
