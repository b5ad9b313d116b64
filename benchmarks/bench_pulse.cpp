// predict() of the PULSE teacher and student, both heads, registered as BM_predict/pulse_teacher,
// pulse_teacher_cls, pulse_student, pulse_student_cls (regression / 180-class head: the names of
// tools/ppghr_tools/archs.py), and the per-window-normalised 180-class pair pulse_teacher_wn_cls,
// pulse_student_wn_cls (WindowNorm in place of InputNorm): one 8 s window (4 rows x 256 samples, raw units) per iteration,
// fixed-seed weights and input_norm pairs. Reports windows per second (items/s), GFLOP/s, % of
// the measured FMA peak (bench_common.hpp) and the network's MACs and memory as counters.
// Registered beside the ResNet benchmarks in ppghr_bench (bench_resnet.cpp holds BENCHMARK_MAIN).
#include <benchmark/benchmark.h>

#include <ppghr/ppghr.hpp>

#include <random>

#include "bench_common.hpp"

namespace {

struct PulseFill {
  std::mt19937 rng{4321};
  std::uniform_real_distribution<float> u{-0.1f, 0.1f};
  bool has_input_norm = true;  ///< tensor 0 is input_norm (false for the per-window variants)
  float operator()(const ppghr::TensorSpec&, std::size_t k, std::uint32_t index) {
    if (index == 0 && has_input_norm) return k % 2 == 0 ? 0.f : 1.f;  // input_norm: (mean 0, std 1) per row
    return u(rng);
  }
};

/// The per-window variants' blob has no input_norm tensor: every tensor is a weight.
PulseFill window_fill() {
  PulseFill f;
  f.has_input_norm = false;
  return f;
}

using ppghr::pulse::Head;
using ppghr_bench::register_predict;
[[maybe_unused]] const auto* const kTeacher =
    register_predict<ppghr::PulseTeacher<Head::regression>>("pulse_teacher", PulseFill{});
[[maybe_unused]] const auto* const kTeacherCls =
    register_predict<ppghr::PulseTeacher<Head::classes>>("pulse_teacher_cls", PulseFill{});
[[maybe_unused]] const auto* const kStudent =
    register_predict<ppghr::PulseStudent<Head::regression>>("pulse_student", PulseFill{});
[[maybe_unused]] const auto* const kStudentCls =
    register_predict<ppghr::PulseStudent<Head::classes>>("pulse_student_cls", PulseFill{});
using ppghr::pulse::Input;
[[maybe_unused]] const auto* const kTeacherWn = register_predict<ppghr::PulseTeacher<Head::classes, float, Input::window>>(
    "pulse_teacher_wn_cls", window_fill());
[[maybe_unused]] const auto* const kStudentWn = register_predict<ppghr::PulseStudent<Head::classes, float, Input::window>>(
    "pulse_student_wn_cls", window_fill());

}  // namespace
