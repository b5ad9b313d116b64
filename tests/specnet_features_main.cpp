// ppghr_specnet_features: runs ppghr::SpectralEstimator<C>::features (and, with --blob, the whole
// SpectralNet<C, SpecNet<2>>) over windows from a file, for the Python/C++ parity test
// tools/tests/test_specnet_features.py (ppghr_tools.spectral.features and the PyTorch SpecNet).
//
//   ppghr_specnet_features --ppg C --in IN.f32 --out OUT.f32 [--no-acc] [--blob specnet2.ppgw]
//
// IN.f32: float32 windows [W][C + 3][200] (PPG channels, then acc x, y, z). OUT.f32: per window the
// 1080 features as features() writes them ([180][6], bin-major), then with --blob the 180 logits of
// SpectralNet<C, SpecNet<2>>::predict (NaN when it refused the window). Exit 0 on success, 2 on bad
// usage or a refused window / blob, 3 on an I/O error.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "ppghr/models/specnet.hpp"

namespace {

int usage(const char* why) {
  std::fprintf(stderr, "ppghr_specnet_features: %s\n", why);
  return 2;
}

template <int C>
int run(const std::vector<float>& in, bool acc, const std::string& blob, const std::string& out_path) {
  using SN = ppghr::SpectralNet<C, ppghr::SpecNet<2>>;
  auto est = std::make_unique<ppghr::SpectralEstimator<C>>();
  auto sn = std::make_unique<SN>();
  est->set_accelerometer(acc);
  sn->set_accelerometer(acc);
  if (!blob.empty() && !sn->load_file(blob.c_str()).ok()) return usage("the blob does not load into SpecNet<2>");
  if (in.size() % SN::input_size != 0) return usage("the input is not a whole number of windows");
  const std::size_t w = in.size() / SN::input_size;
  std::vector<float> out;
  std::vector<float> f(SN::feature_size);
  for (std::size_t k = 0; k < w; ++k) {
    const float* x = in.data() + k * SN::input_size;
    if (est->features(x, f.data()) != ppghr::InputStatus::ok) return usage("a window was refused");
    out.insert(out.end(), f.begin(), f.end());
    if (!blob.empty()) {
      const ppghr::Prediction<float>& p = sn->predict(x);
      for (float v : p.logits) out.push_back(p.ok() ? v : NAN);
    }
  }
  std::FILE* fo = std::fopen(out_path.c_str(), "wb");
  if (!fo) return 3;
  const bool ok = std::fwrite(out.data(), sizeof(float), out.size(), fo) == out.size();
  return std::fclose(fo) == 0 && ok ? 0 : 3;
}

}  // namespace

int main(int argc, char** argv) {
  int ppg = 0;
  bool acc = true;
  std::string in_path, out_path, blob;
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
    else if (a == "--blob") blob = v;
    else return usage("unknown option");
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
    case 1: return run<1>(in, acc, blob, out_path);
    case 2: return run<2>(in, acc, blob, out_path);
    case 3: return run<3>(in, acc, blob, out_path);
    case 4: return run<4>(in, acc, blob, out_path);
    default: return usage("--ppg must be 1..4");
  }
}
