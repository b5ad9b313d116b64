// ppghr_spectral_parity: runs ppghr::SpectralEstimator over windows from a file, for the Python/C++
// parity test (tools/tests/test_spectral.py), which compares its output with
// ppghr_tools.spectral.likelihoods on the same windows.
//
//   ppghr_spectral_parity --ppg C --in IN.f32 --out OUT.f32 [--no-acc] [--set NAME=VALUE ...]
//
// IN.f32: float32 windows [W][C + 3][200] (PPG channels, then acc x, y, z). OUT.f32: per window the
// 180 probabilities, then motion, artefact count and the class index (as floats): 183 values.
// --set overrides a SpectralParams field by name. Exit 0 on success, 2 on bad usage or a parameter
// configure() refuses, 3 on an I/O error.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ppghr/spectral/estimator.hpp"

namespace {

int usage(const char* why) {
  std::fprintf(stderr, "ppghr_spectral_parity: %s\n", why);
  return 2;
}

bool set_param(ppghr::SpectralParams& p, const std::string& kv) {
  const auto eq = kv.find('=');
  if (eq == std::string::npos) return false;
  const std::string k = kv.substr(0, eq);
  const double v = std::strtod(kv.c_str() + eq + 1, nullptr);
  if (k == "motion_ref_g") p.motion_ref_g = float(v);
  else if (k == "acc_peaks") p.acc_peaks = int(v);
  else if (k == "acc_peak_rel") p.acc_peak_rel = float(v);
  else if (k == "half_weight") p.half_weight = float(v);
  else if (k == "double_weight") p.double_weight = float(v);
  else if (k == "three_half_weight") p.three_half_weight = float(v);
  else if (k == "search") p.search = int(v);
  else if (k == "ppg_weight_exponent") p.ppg_weight_exponent = float(v);
  else if (k == "ppg_weight_ref_bpm") p.ppg_weight_ref_bpm = float(v);
  else if (k == "power") p.power = float(v);
  else if (k == "floor") p.floor = float(v);
  else return false;
  return true;
}

template <int C>
int run(const std::vector<float>& in, bool acc, const ppghr::SpectralParams& params, const std::string& out_path) {
  using Est = ppghr::SpectralEstimator<C>;
  auto est = std::make_unique<Est>();
  if (est->configure(params) != ppghr::DspStatus::ok) return usage("a --set value is out of its domain");
  est->set_accelerometer(acc);
  if (in.size() % Est::input_size != 0) return usage("the input is not a whole number of windows");
  const std::size_t w = in.size() / Est::input_size;
  std::vector<float> out;
  out.reserve(w * (ppghr::kNumClasses + 3));
  for (std::size_t k = 0; k < w; ++k) {
    const ppghr::Prediction<float>& p = est->predict(in.data() + k * Est::input_size);
    for (float v : p.probabilities) out.push_back(v);
    out.push_back(est->motion());
    out.push_back(float(est->artefact_count()));
    out.push_back(float(p.class_index));
  }
  std::FILE* f = std::fopen(out_path.c_str(), "wb");
  if (!f) return 3;
  const bool ok = std::fwrite(out.data(), sizeof(float), out.size(), f) == out.size();
  return std::fclose(f) == 0 && ok ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  int ppg = 0;
  bool acc = true;
  std::string in_path, out_path;
  ppghr::SpectralParams params;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--no-acc") {
      acc = false;
      continue;
    }
    if (i + 1 >= argc) return usage("an option lacks its value");
    const std::string v = argv[++i];
    if (a == "--ppg") ppg = std::atoi(v.c_str());
    else if (a == "--in") in_path = v;
    else if (a == "--out") out_path = v;
    else if (a == "--set") {
      if (!set_param(params, v)) return usage("--set NAME=VALUE with a SpectralParams field");
    } else {
      return usage("unknown option");
    }
  }
  if (in_path.empty() || out_path.empty()) return usage("--in and --out are required");
  std::FILE* f = std::fopen(in_path.c_str(), "rb");
  if (!f) return 3;
  std::vector<float> in;
  float buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, sizeof(float), 4096, f)) > 0) in.insert(in.end(), buf, buf + n);
  std::fclose(f);
  switch (ppg) {
    case 1: return run<1>(in, acc, params, out_path);
    case 2: return run<2>(in, acc, params, out_path);
    case 3: return run<3>(in, acc, params, out_path);
    case 4: return run<4>(in, acc, params, out_path);
    default: return usage("--ppg must be 1..4");
  }
}
