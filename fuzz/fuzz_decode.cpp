// fuzz_decode: the HMM decoders of post/decode.hpp (forward filter, fixed-lag smoother, Viterbi,
// forward-backward posterior, the posterior helpers, Calibration) on arbitrary probability
// sequences, priors and likelihood models, and the spectral estimator's spectrum / peak code
// (SpectralEstimator<2>::predict and features(), configure()) on arbitrary windows and parameters.
//
// Input: byte 0 = what (bit 0: decoders, else spectral), then:
//  decoders: byte 1 = prior (0 bami1, 1 gaussian(sigma = byte 2 / 4), 2 bytes as the 61 prior
//    values, 3 floats from the input), byte 3/4 = likelihood floor / power (from a table, NaN and
//    negative included), byte 5 = flags (bit 0: normalise each window, bit 1: evidence flags from
//    the input, bit 2: raw float probabilities); then the windows, 180 values each (a byte
//    through a table of specials, or 4-byte floats), at most 64 windows.
//  spectral: byte 1 = parameter set (0 defaults, else fields from the input), then the
//    window's 5 x 200 floats: bytes through a table of specials and a scaled ramp, or raw floats.
// Checks: no crash; a configure() that succeeds gives beliefs / posteriors that are finite, >= 0
// and sum to 1 (within 1e-3), argmax and paths in 0..179, for any finite non-negative input (and
// argmax / paths in range for any input at all); a refused configure() is reported and changes
// nothing; the spectral estimator returns ok only with finite probabilities summing to 1 and a
// heart rate in 30..209, and finite features.
#include "fuzz_common.hpp"

#include <ppghr/post/decode.hpp>
#include <ppghr/spectral/estimator.hpp>

#include <limits>

namespace {

constexpr int N = ppghr::kNumClasses;
constexpr int kMaxWindows = 64;
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

struct In {
  const std::uint8_t* p;
  std::size_t n, i = 0;
  std::uint8_t u8() { return i < n ? p[i++] : 0; }
  float f32() {
    std::uint32_t u = 0;
    for (int k = 0; k < 4; ++k) u |= std::uint32_t(u8()) << (8 * k);
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  bool more() const { return i < n; }
};

float table(std::uint8_t b) {
  switch (b) {
    case 255: return kNaN;
    case 254: return kInf;
    case 253: return -1.f;
    case 252: return 1e38f;
    case 251: return std::numeric_limits<float>::denorm_min();
    case 250: return -0.f;
    default: return float(b) / 250.f;
  }
}
float param(std::uint8_t b) {
  switch (b % 8) {
    case 0: return kNaN;
    case 1: return -1.f;
    case 2: return 0.f;
    case 3: return kInf;
    default: return float(b) / 64.f;
  }
}

bool finite_nonneg(const float* v, std::size_t n) {
  for (std::size_t k = 0; k < n; ++k)
    if (!std::isfinite(v[k]) || v[k] < 0.f) return false;
  return true;
}
void check_distribution(const float* v, const char* what) {
  double s = 0;
  for (int j = 0; j < N; ++j) {
    if (!std::isfinite(v[j]) || v[j] < 0.f) ppghr_fuzz::fail("a distribution holds a negative or non-finite value", what, j, v[j]);
    s += v[j];
  }
  if (std::fabs(s - 1.0) > 1e-3) ppghr_fuzz::fail("a distribution does not sum to 1", what, s);
}
void check_class(int c, const char* what) {
  if (c < 0 || c >= N) ppghr_fuzz::fail("class index out of range", what, c);
}

void decoders(In& in) {
  ppghr::TransitionPrior prior;
  const std::uint8_t kind = in.u8(), sigma = in.u8();
  switch (kind % 4) {
    case 0: prior = ppghr::TransitionPrior::bami1(); break;
    case 1: prior = ppghr::TransitionPrior::gaussian(float(sigma) / 4.f); break;
    case 2: for (auto& v : prior.p) v = table(in.u8()); prior.floor = table(in.u8()); break;
    default: for (auto& v : prior.p) v = in.f32(); prior.floor = in.f32(); break;
  }
  ppghr::LikelihoodModel lik;
  lik.floor = param(in.u8());
  lik.power = param(in.u8());
  const std::uint8_t flags = in.u8();
  std::vector<float> p;
  std::vector<std::uint8_t> ev;
  while (in.more() && p.size() < std::size_t(kMaxWindows) * N) {
    ev.push_back((flags & 2) ? in.u8() & 1 : 1);
    const std::size_t row = p.size();
    for (int j = 0; j < N; ++j) p.push_back((flags & 4) ? in.f32() : table(in.u8()));
    if (flags & 1) {
      double s = 0;
      for (int j = 0; j < N; ++j) s += p[row + j];
      if (s > 0 && std::isfinite(s))
        for (int j = 0; j < N; ++j) p[row + j] = float(p[row + j] / s);
    }
  }
  const std::size_t T = p.size() / N;
  const bool clean = finite_nonneg(p.data(), p.size());

  ppghr::HmmModel<N> model;
  const ppghr::DecodeStatus st = model.configure(prior, lik);
  if (st != ppghr::DecodeStatus::ok) {
    // Refused: the model keeps its previous (default) parameters; the decoders keep working.
    if (st != ppghr::DecodeStatus::bad_argument) ppghr_fuzz::fail("configure: unexpected status", "hmm", double(st));
  }
  // Whether the outputs must be proper distributions: a valid model and clean input. (A valid
  // model may still overflow for huge powers; only finite / in-range class indices are required.)
  const bool strict = clean && st == ppghr::DecodeStatus::ok && lik.power <= 4.f && prior.floor > 0.f;

  ppghr::ForwardFilter ff;
  (void)ff.configure(prior, lik);
  ppghr::LagSmoother<4> ls;
  const int lag = int(flags >> 4) % 6;  // 4 and 5 are refused
  const ppghr::DecodeStatus lst = ls.configure(prior, lik, lag);
  if ((lag > 4) != (lst == ppghr::DecodeStatus::bad_argument) && st == ppghr::DecodeStatus::ok)
    ppghr_fuzz::fail("LagSmoother::configure: lag range", "lag", lag, double(lst));
  long outputs = 0;
  for (std::size_t k = 0; k < T; ++k) {
    const float* row = ev[k] ? p.data() + k * N : nullptr;
    check_class(ff.update(row), "forward filter");
    if (strict) check_distribution(ff.belief().data(), "forward filter");
    if (ls.push(row)) {
      ++outputs;
      if (ls.output_index() != long(k) - ls.lag()) ppghr_fuzz::fail("lag smoother output index", "lag", double(ls.output_index()), double(k));
      if (strict) check_distribution(ls.posterior().data(), "lag smoother");
      check_class(int(ppghr::posterior_argmax_bpm(ls.posterior().data())) - ppghr::kMinBpm, "lag smoother");
    }
  }
  outputs += ls.flush([&](long, const float* post) {
    if (strict) check_distribution(post, "lag smoother flush");
  });
  if (outputs != long(T)) ppghr_fuzz::fail("lag smoother: windows in != windows out", "lag", double(outputs), double(T));

  std::vector<float> post(T * N), ws(ppghr::forward_backward_workspace_floats<N>(T));
  double log_ev = 0;
  if (ppghr::forward_backward(model, p.data(), ev.data(), T, post.data(), ws.data(), ws.size(), &log_ev) !=
      ppghr::DecodeStatus::ok)
    ppghr_fuzz::fail("forward_backward refused valid buffers", "fb");
  for (std::size_t k = 0; k < T; ++k) {
    if (strict) check_distribution(post.data() + k * N, "forward-backward");
    const float m = ppghr::posterior_mean_bpm<N>(post.data() + k * N);
    if (strict && !(m >= 30.f && m <= 209.f)) ppghr_fuzz::fail("posterior mean out of range", "fb", m);
    const float mass = ppghr::posterior_mass_within<N>(post.data() + k * N, ppghr::posterior_argmax_bpm<N>(post.data() + k * N));
    if (strict && !(mass >= 0.f && mass <= 1.001f)) ppghr_fuzz::fail("posterior mass out of [0, 1]", "fb", mass);
  }
  // Too small a workspace is reported, never overrun.
  if (T > 0 && ppghr::forward_backward(model, p.data(), ev.data(), T, post.data(), ws.data(), ws.size() - 1) !=
                   ppghr::DecodeStatus::workspace_too_small)
    ppghr_fuzz::fail("forward_backward: small workspace not reported", "fb");

  std::vector<float> vws(ppghr::viterbi_workspace_floats<N>(T));
  std::vector<std::int16_t> back(ppghr::viterbi_backpointer_count<N>(T) + 1);
  std::vector<int> path(T + 1, -7);
  float score = 0;
  if (ppghr::viterbi(model, p.data(), ev.data(), T, path.data(), vws.data(), vws.size(), back.data(),
                     back.size(), &score) != ppghr::DecodeStatus::ok)
    ppghr_fuzz::fail("viterbi refused valid buffers", "viterbi");
  for (std::size_t k = 0; k < T; ++k) check_class(path[k], "viterbi");
  if (T > 1 && ppghr::viterbi(model, p.data(), ev.data(), T, path.data(), vws.data(), vws.size(), back.data(),
                              ppghr::viterbi_backpointer_count<N>(T) - 1) != ppghr::DecodeStatus::workspace_too_small)
    ppghr_fuzz::fail("viterbi: small back-pointer buffer not reported", "viterbi");

  // Calibration: a table from the input; apply() only on valid tables, and stays in [y0, ylast].
  ppghr::Calibration cal;
  cal.knots = int(in.u8() % 40) - 4;
  for (int k = 0; k < ppghr::Calibration::kMaxKnots; ++k) {
    cal.x[k] = table(in.u8());
    cal.y[k] = table(in.u8());
  }
  if (cal.valid() && cal.knots > 0) {
    for (int k = 0; k < 8; ++k) {
      const float raw = table(in.u8());
      const float c = cal.apply(raw);
      if (!(c >= cal.y[0] && c <= cal.y[cal.knots - 1])) ppghr_fuzz::fail("calibration out of its table's range", "calibration", raw, c);
    }
  }
}

void spectral(In& in) {
  static auto* est = new ppghr::SpectralEstimator<2>();
  using E = ppghr::SpectralEstimator<2>;
  ppghr::SpectralParams sp;
  const std::uint8_t ps = in.u8();
  if (ps != 0) {
    sp.motion_ref_g = param(in.u8());
    sp.acc_peaks = int(in.u8() % 7) - 1;
    sp.acc_peak_rel = param(in.u8()) / 4.f;
    sp.half_weight = param(in.u8()) / 4.f;
    sp.double_weight = param(in.u8()) / 4.f;
    sp.three_half_weight = param(in.u8()) / 4.f;
    sp.search = int(in.u8() % 20) - 2;
    sp.ppg_weight_exponent = param(in.u8());
    sp.ppg_weight_ref_bpm = param(in.u8()) * 40.f;
    sp.power = param(in.u8());
    sp.floor = param(in.u8()) / 8.f;
  }
  const ppghr::SpectralParams before = est->params();
  if (est->configure(sp) != ppghr::DspStatus::ok &&
      std::memcmp(&before, &est->params(), sizeof before) != 0)
    ppghr_fuzz::fail("a refused configure() changed the parameters", "spectral");
  est->set_accelerometer((ps & 1) == 0);
  const std::uint8_t how = in.u8();
  std::vector<float> w(E::input_size);
  const float scale = std::ldexp(1.f, int(how % 128) - 64);
  for (std::size_t k = 0; k < w.size(); ++k) {
    if (how & 128) {
      w[k] = in.more() ? in.f32() : 0.f;
    } else {
      const std::uint8_t b = in.u8();
      w[k] = b >= 250 ? table(b) : scale * (float(b) - 128.f + float(std::sin(0.4 * double(k))));
    }
  }
  const auto& r = est->predict(w.data());
  if (r.ok()) {
    if (!(r.bpm >= 30.f && r.bpm <= 209.f)) ppghr_fuzz::fail("spectral: ok with a heart rate out of range", "spectral", r.bpm);
    check_class(r.class_index, "spectral");
    if (!ppghr_fuzz::allowed("nonfinite_output")) check_distribution(r.probabilities.data(), "spectral");
  }
  std::vector<float> feat(E::feature_size, -7.f);
  if (est->features(w.data(), feat.data()) == ppghr::InputStatus::ok) {
    for (std::size_t k = 0; k < feat.size(); ++k)
      if (!std::isfinite(feat[k]) && !ppghr_fuzz::allowed("nonfinite_output"))
        ppghr_fuzz::fail("spectral: ok features with a non-finite value", "features", double(k), feat[k]);
  }
  for (int a = 0; a < est->artefact_count(); ++a)
    if (!(est->artefact_bpm(a) > 0.f && est->artefact_bpm(a) < 300.f)) ppghr_fuzz::fail("artefact out of range", "spectral", est->artefact_bpm(a));
  if (est->artefact_count() < 0 || est->artefact_count() > E::max_artefacts) ppghr_fuzz::fail("artefact count", "spectral", est->artefact_count());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  In in{data, size, 1};
  if (data[0] & 1) decoders(in);
  else spectral(in);
  return 0;
}
