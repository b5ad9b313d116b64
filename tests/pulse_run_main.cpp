// ppghr_pulse_run: runs a PULSE blob over windows from a file, for tools/tests/test_pulse_bami.py
// (the published checkpoints on real BAMI windows) and for ad-hoc checks.
//
//   ppghr_pulse_run ARCH BLOB WINDOWS OUT
//
// ARCH: a PULSE network of the registry: pulse_teacher | pulse_teacher_cls | pulse_student |
// pulse_student_cls, and the per-window _wn / _wn_cls variants.
// WINDOWS: little-endian float32, n x 1024 (each window rows PPG, ACC x, ACC y, ACC z x 256
// samples, raw units). OUT receives little-endian float32, n x outputs: the BPM (regression heads)
// or the 180 logits (class heads); NaN for a window predict() refused.
// Prints one line: arch, windows, outputs, microseconds per window. Exit status 0 on success,
// 1 on a bad argument or file, 2 when the blob does not load (with the LoadReport).
#include <ppghr/ppghr.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace {

std::vector<float> read_floats(const char* path, bool& ok) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  ok = static_cast<bool>(f);
  if (!ok) return {};
  const std::streamsize bytes = f.tellg();
  f.seekg(0);
  std::vector<unsigned char> raw(static_cast<std::size_t>(bytes));
  ok = bytes % 4 == 0 && static_cast<bool>(f.read(reinterpret_cast<char*>(raw.data()), bytes));
  std::vector<float> v(raw.size() / 4);
  const ppghr::TensorSource src(raw.data(), v.size());  // little-endian whatever the host
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = src[i];
  return v;
}

bool write_floats(const char* path, const std::vector<float>& v) {
  std::vector<unsigned char> raw(4 * v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::uint32_t u;
    std::memcpy(&u, &v[i], 4);
    ppghr::blob::write_u32(raw.data() + 4 * i, u);
  }
  std::ofstream f(path, std::ios::binary);
  return static_cast<bool>(f.write(reinterpret_cast<const char*>(raw.data()), static_cast<std::streamsize>(raw.size())));
}

template <class Net>
int run(const char* arch, const char* blob_path, const std::vector<float>& windows, const char* out_path) {
  auto net = std::make_unique<Net>();
  const ppghr::LoadReport r = net->load_file(blob_path);
  if (!r.ok()) {
    std::cerr << "ppghr_pulse_run: " << blob_path << ": " << ppghr::status_name(r.status) << " (tensor "
              << r.tensor_index << " '" << r.tensor_name << "', expected " << r.expected << ", found " << r.found
              << ", offset " << r.offset << ")\n";
    return 2;
  }
  const std::size_t n = windows.size() / Net::input_size;
  constexpr int no = Net::outputs;
  std::vector<float> out(n * no, std::numeric_limits<float>::quiet_NaN());
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t w = 0; w < n; ++w) {
    const auto& p = net->predict(windows.data() + w * Net::input_size);
    if (!p.ok()) continue;
    if constexpr (no == 1) {
      out[w] = p.bpm;
    } else {
      for (int k = 0; k < no; ++k) out[w * no + k] = p.logits[k];
    }
  }
  const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  if (!write_floats(out_path, out)) {
    std::cerr << "ppghr_pulse_run: cannot write " << out_path << "\n";
    return 1;
  }
  std::cout << arch << ": " << n << " windows, " << no << " outputs each, " << (n ? us / n : 0.0)
            << " us/window\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: ppghr_pulse_run ARCH BLOB WINDOWS OUT\n"
                 "  ARCH: a PULSE network of the registry (pulse_teacher[_wn][_cls], pulse_student[_wn][_cls])\n";
    return 1;
  }
  const std::string arch = argv[1];
  bool ok = false;
  const auto windows = read_floats(argv[3], ok);
  if (!ok || windows.size() % ppghr::pulse::kInputSize != 0) {
    std::cerr << "ppghr_pulse_run: " << argv[3] << " is not n x 1024 float32\n";
    return 1;
  }
  // Any PULSE network of the library's registry (models/registry.hpp), by name.
  int rc = 1;
  bool pulse = false;
  (void)ppghr::registry::visit(arch.c_str(), [&](const auto& e) {
    using E = std::decay_t<decltype(e)>;
    if constexpr (E::input == ppghr::registry::Input::pulse) {
      pulse = true;
      rc = run<typename E::type>(argv[1], argv[2], windows, argv[4]);
    }
  });
  if (pulse) return rc;
  std::cerr << "ppghr_pulse_run: " << arch << " is not a PULSE network of the registry\n";
  return 1;
}
