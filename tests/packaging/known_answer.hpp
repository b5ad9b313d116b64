// tests/packaging/known_answer.hpp - an end-to-end check shared by the packaging tests (two
// translation units, -fno-exceptions): write a blob with ppghr::blob::write_blob, load it, predict.
//
// The known answer: with every weight zero except dense.bias[kPeakClass], every activation is zero,
// so the logits are exactly the dense bias and the estimate is kPeakClass + 30 BPM whatever the
// window. A second, pseudo-random blob exercises every kernel with non-trivial values.
// Uses only <cstdio> for messages, so it builds with -fno-exceptions -fno-rtti.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include <ppghr/ppghr.hpp>

namespace ppghr_packaging {

inline constexpr int kPeakClass = 42;  // 72 BPM
inline constexpr float kPeakLogit = 4.0f;

/// All weights zero except dense.bias[kPeakClass].
struct PeakFill {
  float operator()(const ppghr::TensorSpec& spec, std::size_t k, std::uint32_t) const noexcept {
    return (std::strcmp(spec.name.text, "dense.bias") == 0 && k == std::size_t(kPeakClass)) ? kPeakLogit : 0.0f;
  }
};

/// Deterministic pseudo-random weights in [-0.1, 0.1] (BatchNorm scales in [0.9, 1.1]).
struct HashFill {
  float operator()(const ppghr::TensorSpec& spec, std::size_t k, std::uint32_t tensor) const noexcept {
    std::uint64_t x = (std::uint64_t(tensor) << 32) ^ std::uint64_t(k) ^ 0x9E3779B97F4A7C15ull;
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    const float u = static_cast<float>(x >> 40) / static_cast<float>(1u << 24);  // [0, 1)
    const float w = 0.2f * u - 0.1f;
    const std::size_t n = std::strlen(spec.name.text);
    const bool is_scale = n >= 6 && std::strcmp(spec.name.text + n - 6, ".scale") == 0;
    return is_scale ? 1.0f + w : w;
  }
};

/// One preprocessed-looking window: a 1.2 Hz sine sampled at 25 Hz.
template <class Net>
inline void make_window(float* w) noexcept {
  for (std::size_t i = 0; i < Net::input_size; ++i) w[i] = std::sin(2.0f * 3.14159265f * 1.2f * float(i) / 25.0f);
}

#define PPGHR_PACKAGING_CHECK(cond)                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::printf("%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);       \
      return __LINE__;                                                           \
    }                                                                            \
  } while (0)

/// Runs the whole check on a network of type Net. Returns 0 on success, else the failing line.
/// `logits_out` (output_size floats, may be null) receives the logits of the pseudo-random blob.
template <class Net>
int check_network(float* logits_out = nullptr) noexcept {
  std::unique_ptr<Net> net(new (std::nothrow) Net);  // networks are big: never on the stack
  PPGHR_PACKAGING_CHECK(net != nullptr);
  const std::size_t size = ppghr::blob::blob_size(*net);
  std::unique_ptr<unsigned char[]> blob(new (std::nothrow) unsigned char[size]);
  PPGHR_PACKAGING_CHECK(blob != nullptr);
  float window[Net::input_size];
  make_window<Net>(window);

  // Nothing loaded: refused.
  PPGHR_PACKAGING_CHECK(!net->loaded());
  PPGHR_PACKAGING_CHECK(net->predict(window).status == ppghr::InputStatus::not_loaded);

  // The writer refuses a buffer one byte short.
  std::size_t written = 1;
  PPGHR_PACKAGING_CHECK(ppghr::blob::write_blob(*net, PeakFill{}, blob.get(), size - 1, &written) ==
                        ppghr::Status::buffer_too_small);
  PPGHR_PACKAGING_CHECK(written == 0);

  // Known answer.
  PPGHR_PACKAGING_CHECK(ppghr::blob::write_blob(*net, PeakFill{}, blob.get(), size, &written) == ppghr::Status::ok);
  PPGHR_PACKAGING_CHECK(written == size);
  const ppghr::LoadReport r = net->load(blob.get(), written);
  if (!r.ok()) std::printf("load: %s (tensor %d)\n", ppghr::status_name(r.status), int(r.tensor_index));
  PPGHR_PACKAGING_CHECK(r.ok());
  PPGHR_PACKAGING_CHECK(net->loaded());
  {
    const auto& p = net->predict(window);
    PPGHR_PACKAGING_CHECK(p.ok());
    PPGHR_PACKAGING_CHECK(p.class_index == kPeakClass);
    PPGHR_PACKAGING_CHECK(p.bpm == float(kPeakClass + ppghr::kMinBpm));
    PPGHR_PACKAGING_CHECK(p.logits[kPeakClass] == kPeakLogit);
    float sum = 0.0f;
    for (float q : p.probabilities) sum += q;
    PPGHR_PACKAGING_CHECK(std::fabs(sum - 1.0f) < 1e-4f);
  }

  // A corrupt blob is refused and leaves the loaded weights untouched.
  PPGHR_PACKAGING_CHECK(ppghr::blob::write_blob(*net, HashFill{}, blob.get(), size, &written) == ppghr::Status::ok);
  blob[size / 2] ^= 0x40u;
  PPGHR_PACKAGING_CHECK(net->load(blob.get(), size).status == ppghr::Status::checksum_mismatch);
  PPGHR_PACKAGING_CHECK(net->predict(window).class_index == kPeakClass);

  // Pseudo-random weights: every kernel runs on non-trivial values.
  PPGHR_PACKAGING_CHECK(ppghr::blob::write_blob(*net, HashFill{}, blob.get(), size, &written) == ppghr::Status::ok);
  PPGHR_PACKAGING_CHECK(net->load(blob.get(), size).ok());
  {
    const auto& p = net->predict(window);
    PPGHR_PACKAGING_CHECK(p.ok());
    PPGHR_PACKAGING_CHECK(p.class_index >= 0 && p.class_index < ppghr::kNumClasses);
    bool all_zero = true;
    for (int i = 0; i < ppghr::kNumClasses; ++i) {
      PPGHR_PACKAGING_CHECK(std::isfinite(p.logits[i]));
      if (p.logits[i] != 0.0f) all_zero = false;
      if (logits_out) logits_out[i] = p.logits[i];
    }
    PPGHR_PACKAGING_CHECK(!all_zero);
  }

  // A window with a NaN is refused.
  window[7] = std::nanf("");
  PPGHR_PACKAGING_CHECK(net->predict(window).status == ppghr::InputStatus::non_finite);
  return 0;
}

}  // namespace ppghr_packaging
