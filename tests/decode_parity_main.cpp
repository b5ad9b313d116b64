// ppghr_decode_parity: runs the decoders of ppghr/post/decode.hpp (N = 180) on a file of
// per-window probabilities, for the Python/C++ parity test (tools/tests/test_decode.py), which
// compares the outputs with ppghr_tools.decode on the same inputs.
//
//   ppghr_decode_parity --in P.f32 --windows T --out DIR [--mask M.u8] [--prior Q.f32]
//                       [--floor F] [--lik-floor F] [--power X] [--lag L]
//                       [--calib KNOTS.f32 --raw RAW.f32]
//
// P.f32: float32 T x 180, row-major. M.u8: T bytes (0: no evidence). Q.f32: 61 float32, p(delta)
// for delta = -30..30 (default: the BAMI-1 prior). L <= 64 (default 3).
// Writes DIR/forward.f32 (T x 180, BasicForwardFilter beliefs), DIR/lag.f32 (T x 180, LagSmoother
// outputs by window index, flush() included), DIR/fb.f32 (T x 180, forward_backward),
// DIR/viterbi.i32 (T classes), DIR/scalars.f64 (viterbi log score, forward-backward log evidence),
// DIR/summary.f32 (T x 3: posterior mean, argmax (BPM) and mass within +-5 BPM of the argmax, of
// fb). With --calib (K x, then K y, float32) and --raw: DIR/calib.f32 (apply() of every raw score).
// Exit status: 0 ok, 2 bad usage, 3 I/O error, 4 a decoder returned an error.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ppghr/post/decode.hpp"

namespace {

constexpr int N = ppghr::kNumClasses;

int usage(const char* why) {
  std::fprintf(stderr, "ppghr_decode_parity: %s\n", why);
  return 2;
}

template <class T>
bool read_all(const std::string& path, std::vector<T>& v) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  T buf[1024];
  std::size_t got;
  while ((got = std::fread(buf, sizeof(T), 1024, f)) > 0) v.insert(v.end(), buf, buf + got);
  std::fclose(f);
  return true;
}

template <class T>
bool write_all(const std::string& path, const std::vector<T>& v) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  const bool ok = std::fwrite(v.data(), sizeof(T), v.size(), f) == v.size();
  return std::fclose(f) == 0 && ok;
}

}  // namespace

int main(int argc, char** argv) {
  std::string in, out, mask_path, prior_path, calib_path, raw_path;
  long T = -1;
  float floor = 1e-3f;
  ppghr::LikelihoodModel lik;
  int lag = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) return usage(("missing value for " + k).c_str());
    const std::string v = argv[++i];
    if (k == "--in") in = v;
    else if (k == "--out") out = v;
    else if (k == "--windows") T = std::atol(v.c_str());
    else if (k == "--mask") mask_path = v;
    else if (k == "--prior") prior_path = v;
    else if (k == "--floor") floor = std::strtof(v.c_str(), nullptr);
    else if (k == "--lik-floor") lik.floor = std::strtof(v.c_str(), nullptr);
    else if (k == "--power") lik.power = std::strtof(v.c_str(), nullptr);
    else if (k == "--lag") lag = std::atoi(v.c_str());
    else if (k == "--calib") calib_path = v;
    else if (k == "--raw") raw_path = v;
    else return usage(("unknown option " + k).c_str());
  }
  if (in.empty() || out.empty() || T < 1) return usage("--in, --out and --windows are required");

  std::vector<float> p;
  if (!read_all(in, p) || p.size() != static_cast<std::size_t>(T) * N) return usage("--in must hold T x 180 float32");
  std::vector<std::uint8_t> mask;
  if (!mask_path.empty() && (!read_all(mask_path, mask) || mask.size() != static_cast<std::size_t>(T)))
    return usage("--mask must hold T bytes");
  ppghr::TransitionPrior prior = ppghr::TransitionPrior::bami1(floor);
  if (!prior_path.empty()) {
    std::vector<float> q;
    if (!read_all(prior_path, q) || q.size() != ppghr::kDeltaCount) return usage("--prior must hold 61 float32");
    for (int d = 0; d < ppghr::kDeltaCount; ++d) prior.p[d] = q[d];
  }
  const std::uint8_t* ev = mask.empty() ? nullptr : mask.data();
  auto row = [&](long k) -> const float* { return ev && !ev[k] ? nullptr : p.data() + k * N; };

  // Online: forward filter and lag smoother.
  static ppghr::ForwardFilter filter;
  static ppghr::LagSmoother<64> smoother;
  if (filter.configure(prior, lik) != ppghr::DecodeStatus::ok) return 4;
  if (smoother.configure(prior, lik, lag) != ppghr::DecodeStatus::ok) return 4;
  std::vector<float> fwd(static_cast<std::size_t>(T) * N), lagged(static_cast<std::size_t>(T) * N, -1.f);
  long emitted = 0;
  for (long k = 0; k < T; ++k) {
    if (ev && !ev[k]) filter.skip();
    else (void)filter.update(row(k));
    for (int j = 0; j < N; ++j) fwd[k * N + j] = filter.belief()[j];
    if (smoother.push(row(k))) {
      const long t = smoother.output_index();
      if (t != k - lag) return 4;
      for (int j = 0; j < N; ++j) lagged[t * N + j] = smoother.posterior()[j];
      ++emitted;
    }
  }
  long expect = emitted;
  smoother.flush([&](long t, const float* post) {
    if (t != expect++) return;
    for (int j = 0; j < N; ++j) lagged[t * N + j] = post[j];
  });
  if (expect != T) return 4;

  // Offline.
  ppghr::HmmModel<N> model;
  if (model.configure(prior, lik) != ppghr::DecodeStatus::ok) return 4;
  std::vector<float> fb(static_cast<std::size_t>(T) * N), ws(ppghr::forward_backward_workspace_floats<N>(T));
  double log_evidence = 0.0;
  if (ppghr::forward_backward(model, p.data(), ev, T, fb.data(), ws.data(), ws.size(), &log_evidence) !=
      ppghr::DecodeStatus::ok)
    return 4;
  std::vector<float> vws(ppghr::viterbi_workspace_floats<N>(T));
  std::vector<std::int16_t> back(ppghr::viterbi_backpointer_count<N>(T));
  std::vector<int> path(T);
  float score = 0.f;
  if (ppghr::viterbi(model, p.data(), ev, T, path.data(), vws.data(), vws.size(), back.data(), back.size(), &score) !=
      ppghr::DecodeStatus::ok)
    return 4;
  std::vector<float> summary;
  for (long k = 0; k < T; ++k) {
    const float* g = fb.data() + k * N;
    const float am = ppghr::posterior_argmax_bpm(g);
    summary.push_back(ppghr::posterior_mean_bpm(g));
    summary.push_back(am);
    summary.push_back(ppghr::posterior_mass_within(g, am, 5.f));
  }
  std::vector<std::int32_t> path32(path.begin(), path.end());
  const std::vector<double> scalars{static_cast<double>(score), log_evidence};
  if (!write_all(out + "/forward.f32", fwd) || !write_all(out + "/lag.f32", lagged) ||
      !write_all(out + "/fb.f32", fb) || !write_all(out + "/viterbi.i32", path32) ||
      !write_all(out + "/scalars.f64", scalars) || !write_all(out + "/summary.f32", summary))
    return 3;

  if (!calib_path.empty()) {
    std::vector<float> knots, raw;
    if (!read_all(calib_path, knots) || knots.size() % 2 || knots.size() / 2 > ppghr::Calibration::kMaxKnots)
      return usage("--calib must hold K x then K y float32, K <= 32");
    if (!read_all(raw_path, raw)) return usage("--raw unreadable");
    ppghr::Calibration c;
    c.knots = static_cast<int>(knots.size() / 2);
    for (int k = 0; k < c.knots; ++k) {
      c.x[k] = knots[k];
      c.y[k] = knots[c.knots + k];
    }
    if (!c.valid()) return usage("--calib is not a valid table");
    std::vector<float> cal;
    for (float r : raw) cal.push_back(c.apply(r));
    if (!write_all(out + "/calib.f32", cal)) return 3;
  }
  std::printf("%ld windows decoded\n", T);
  return 0;
}
