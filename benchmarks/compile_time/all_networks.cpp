// One translation unit instantiating every network (ResNet1d<1..12>, Mlp<1..4>, both PULSE
// networks with both heads) and using its whole public path (load, predict), for measuring how
// long ppghr takes to compile: benchmarks/compile_time/measure.sh.
#include <ppghr/ppghr.hpp>

#include <cstddef>
#include <memory>
#include <utility>

namespace {

template <class Net>
float run(const void* blob, std::size_t size, const float* window) {
  auto net = std::make_unique<Net>();
  if (!net->load(blob, size).ok()) return -1.f;
  const auto& r = net->predict(window);
  if constexpr (std::is_same_v<typename Net::result_type, ppghr::Prediction<float>>)
    return static_cast<float>(r.class_index);
  else
    return r.bpm;
}

template <int... N>
float resnets(const void* blob, std::size_t size, const float* window, std::integer_sequence<int, N...>) {
  return (run<ppghr::ResNet1d<N + 1>>(blob, size, window) + ...);
}
template <int... N>
float mlps(const void* blob, std::size_t size, const float* window, std::integer_sequence<int, N...>) {
  return (run<ppghr::Mlp<N + 1>>(blob, size, window) + ...);
}

}  // namespace

float ppghr_compile_time_all(const void* blob, std::size_t size, const float* window) {
  using ppghr::pulse::Head;
  return resnets(blob, size, window, std::make_integer_sequence<int, 12>{}) +
         mlps(blob, size, window, std::make_integer_sequence<int, 4>{}) +
         run<ppghr::PulseTeacher<Head::regression>>(blob, size, window) +
         run<ppghr::PulseTeacher<Head::classes>>(blob, size, window) +
         run<ppghr::PulseStudent<Head::regression>>(blob, size, window) +
         run<ppghr::PulseStudent<Head::classes>>(blob, size, window);
}
