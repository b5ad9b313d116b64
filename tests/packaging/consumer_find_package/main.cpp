// A downstream program using an installed ppghr: write a blob whose answer is known, load it,
// estimate a heart rate. All weights are zero except dense.bias[42], so the logits equal the
// dense bias and the estimate is 42 + 30 = 72 BPM for any window.
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include <ppghr/ppghr.hpp>

#if defined(PPGHR_EXPECT_NO_DEPS)  // packaging.consumer_find_package_no_deps
#if !defined(PPGHR_NO_EIGEN) || !defined(PPGHR_NO_SIMD)
#error "ppghr::ppghr was configured without Eigen and xsimd but does not define PPGHR_NO_EIGEN / PPGHR_NO_SIMD"
#endif
static_assert(PPGHR_HAS_SIMD == 0, "no xsimd: the reference kernels");
#endif

int main() {
  using Net = ppghr::ResNet1d<1>;
  auto net = std::make_unique<Net>();  // networks live on the heap or in static storage
  std::vector<unsigned char> blob(ppghr::blob::blob_size(*net));
  auto fill = [](const ppghr::TensorSpec& spec, std::size_t k, std::uint32_t) {
    return (std::strcmp(spec.name.text, "dense.bias") == 0 && k == 42) ? 1.0f : 0.0f;
  };
  std::size_t written = 0;
  if (ppghr::blob::write_blob(*net, fill, blob.data(), blob.size(), &written) != ppghr::Status::ok) {
    std::printf("consumer: write_blob failed\n");
    return 1;
  }
  const ppghr::LoadReport report = net->load(blob.data(), written);
  if (!report) {
    std::printf("consumer: load failed: %s\n", ppghr::status_name(report.status));
    return 1;
  }
  std::array<float, Net::input_size> window{};
  for (std::size_t i = 0; i < window.size(); ++i) window[i] = std::sin(0.3f * float(i));
  const auto& p = net->predict(window);
  if (!p.ok() || p.bpm != 72.0f) {
    std::printf("consumer: expected 72 BPM, got %g (status %d)\n", double(p.bpm), int(p.status));
    return 1;
  }
  std::printf("consumer (find_package): %g BPM, network %zu bytes\n", double(p.bpm), Net::memory_bytes);
  return 0;
}
