// examples/cli/decode.hpp - ppghr-estimate's decoding step: one function from a recording's
// sequence of probability vectors (and which windows are ok) to a decoded heart rate and a raw
// confidence per window. Host-side tool code (std::vector), never part of the library.
//
// Modes (--decode):
//   none          hr = argmax of the window's probabilities; confidence = their mass within +-5 BPM
//   online        forward filter: P(x_k | windows 0..k); estimate = its argmax, confidence = its
//                 mass within +-5 BPM of that
//   lag:N         fixed-lag smoother: P(x_k | windows 0..k+N) (N windows = 2N s of delay, N 1..8)
//   viterbi       the most probable path; confidence = the forward-backward posterior's mass
//                 within +-5 BPM of the path's class
//   offline       forward-backward posterior P(x_k | the whole recording): argmax
//   offline-mean  the same posterior's mean (not rounded); confidence = its mass within +-5 BPM
// A window that is not ok gives no evidence (the decoders only let the belief spread there) and
// no heart rate (NaN here).
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <ppghr/post/decode.hpp>
#include <ppghr/spectral/calibration.hpp>

#include "error.hpp"

namespace cli {

using Probs = std::array<float, ppghr::kNumClasses>;

enum class DecodeMode { none, online, lag, viterbi, offline, offline_mean };

struct DecodeSpec {
  DecodeMode mode = DecodeMode::none;
  int lag = 0;  ///< windows, DecodeMode::lag only
  static constexpr int kMaxLag = 8;

  std::string name() const {
    switch (mode) {
      case DecodeMode::none: return "none";
      case DecodeMode::online: return "online";
      case DecodeMode::lag: return "lag:" + std::to_string(lag);
      case DecodeMode::viterbi: return "viterbi";
      case DecodeMode::offline: return "offline";
      case DecodeMode::offline_mean: return "offline-mean";
    }
    return "?";
  }
};

/// Parses none|online|lag:N|viterbi|offline|offline-mean; false with a message otherwise.
inline bool parse_decode(const std::string& s, DecodeSpec& out, std::string& err) {
  out = DecodeSpec{};
  if (s == "none") return true;
  if (s == "online") return out.mode = DecodeMode::online, true;
  if (s == "viterbi") return out.mode = DecodeMode::viterbi, true;
  if (s == "offline") return out.mode = DecodeMode::offline, true;
  if (s == "offline-mean") return out.mode = DecodeMode::offline_mean, true;
  if (s.compare(0, 4, "lag:") == 0) {
    const std::string n = s.substr(4);
    char* end = nullptr;
    const long v = std::strtol(n.c_str(), &end, 10);
    if (!n.empty() && *end == '\0' && v >= 1 && v <= DecodeSpec::kMaxLag) {
      out.mode = DecodeMode::lag;
      out.lag = static_cast<int>(v);
      return true;
    }
    err = "--decode " + s + ": the lag is a number of windows, 1.." + std::to_string(DecodeSpec::kMaxLag);
    return false;
  }
  err = "--decode '" + s + "' is not one of none, online, lag:N, viterbi, offline, offline-mean";
  return false;
}

/// The mass of the classes whose BPM lies within +-tol_bpm of bpm.
inline float mass_within(const float* p, double bpm, double tol_bpm = 5.0) {
  double m = 0;
  for (int c = 0; c < ppghr::kNumClasses; ++c)
    if (std::fabs(double(c + ppghr::kMinBpm) - bpm) <= tol_bpm + 1e-9) m += p[c];
  return static_cast<float>(m);
}

inline int argmax_class(const float* p) {
  int best = 0;
  for (int c = 1; c < ppghr::kNumClasses; ++c)
    if (p[c] > p[best]) best = c;
  return best;
}

struct Decoded {
  std::vector<float> bpm;         ///< per window; NaN where the window is not ok
  std::vector<float> confidence;  ///< raw (uncalibrated), per window; NaN where not ok
};

/// The HMM the decoders run: the transition prior and how probabilities become a likelihood.
/// Default: the prior learnt from the BAMI-1 labels, l = p + 1e-3.
struct DecoderModel {
  ppghr::TransitionPrior prior = ppghr::TransitionPrior::bami1();
  ppghr::LikelihoodModel likelihood{};
};

/// The spectral estimator's calibration table for a decode mode, with or without the
/// accelerometer (ppghr::spectral_calibration: the tables ppghr_tools.calibrate fitted on the
/// BAMI-1 windows); the identity (no knots: the raw confidence) for a mode it has no table for.
inline ppghr::Calibration spectral_calibration(const DecodeSpec& spec, bool accelerometer) {
  switch (spec.mode) {
    case DecodeMode::none: return ppghr::spectral_calibration(ppghr::SpectralDecode::none, accelerometer);
    case DecodeMode::online: return ppghr::spectral_calibration(ppghr::SpectralDecode::online, accelerometer);
    case DecodeMode::lag:
      return spec.lag == 3 ? ppghr::spectral_calibration(ppghr::SpectralDecode::lag3, accelerometer) : ppghr::Calibration{};
    case DecodeMode::offline: return ppghr::spectral_calibration(ppghr::SpectralDecode::offline, accelerometer);
    case DecodeMode::viterbi:
    case DecodeMode::offline_mean: break;
  }
  return ppghr::Calibration{};
}

/// probs[k]: window k's probability vector (anything where ok[k] == 0); ok[k]: 1 when window k
/// has evidence. Returns the decoded heart rate and the raw confidence of every window, or the
/// error when the decoder refuses its parameters or the recording.
inline Expected<Decoded> decode(const DecodeSpec& spec, const DecoderModel& model, const std::vector<Probs>& probs,
                      const std::vector<unsigned char>& ok) {
  constexpr int N = ppghr::kNumClasses;
  const std::size_t n = probs.size();
  Decoded d;
  d.bpm.assign(n, std::nanf(""));
  d.confidence.assign(n, std::nanf(""));
  // Window k's estimate and its confidence from a distribution over the classes.
  auto take_argmax = [&](std::size_t k, const float* post) {
    const int c = argmax_class(post);
    d.bpm[k] = float(c + ppghr::kMinBpm);
    d.confidence[k] = mass_within(post, c + ppghr::kMinBpm);
  };
  if (spec.mode == DecodeMode::none) {
    for (std::size_t k = 0; k < n; ++k)
      if (ok[k]) take_argmax(k, probs[k].data());
    return d;
  }
  if (n == 0) return d;
  std::vector<std::uint8_t> evidence(ok.begin(), ok.end());
  const float* p = probs.front().data();  // T x N, row-major: std::array<float, N> rows are contiguous
  static_assert(sizeof(Probs) == sizeof(float) * N, "Probs rows must be contiguous");
  switch (spec.mode) {
    case DecodeMode::online: {
      ppghr::ForwardFilter f;
      if (f.configure(model.prior, model.likelihood) != ppghr::DecodeStatus::ok) return fail("bad decoder parameters");
      for (std::size_t k = 0; k < n; ++k) {
        (void)f.update(ok[k] ? probs[k].data() : nullptr);
        if (ok[k]) take_argmax(k, f.belief().data());
      }
      return d;
    }
    case DecodeMode::lag: {
      auto s = std::make_unique<ppghr::LagSmoother<DecodeSpec::kMaxLag>>();
      if (s->configure(model.prior, model.likelihood, spec.lag) != ppghr::DecodeStatus::ok) return fail("bad decoder parameters");
      auto emit = [&](long t, const float* post) {
        if (t >= 0 && std::size_t(t) < n && ok[std::size_t(t)]) take_argmax(std::size_t(t), post);
      };
      for (std::size_t k = 0; k < n; ++k)
        if (s->push(ok[k] ? probs[k].data() : nullptr)) emit(s->output_index(), s->posterior().data());
      (void)s->flush(emit);
      return d;
    }
    default: break;
  }
  // Offline: the forward-backward posterior of every window (Viterbi takes its confidence from it).
  ppghr::HmmModel<> hmm;
  if (hmm.configure(model.prior, model.likelihood) != ppghr::DecodeStatus::ok) return fail("bad decoder parameters");
  std::vector<float> post(n * std::size_t(N)), work(ppghr::forward_backward_workspace_floats<>(n));
  if (ppghr::forward_backward(hmm, p, evidence.data(), n, post.data(), work.data(), work.size()) != ppghr::DecodeStatus::ok)
    return fail("forward-backward failed");
  auto row = [&](std::size_t k) { return post.data() + k * std::size_t(N); };
  if (spec.mode == DecodeMode::offline) {
    for (std::size_t k = 0; k < n; ++k)
      if (ok[k]) take_argmax(k, row(k));
  } else if (spec.mode == DecodeMode::offline_mean) {
    for (std::size_t k = 0; k < n; ++k)
      if (ok[k]) {
        d.bpm[k] = ppghr::posterior_mean_bpm<>(row(k));
        d.confidence[k] = mass_within(row(k), d.bpm[k]);
      }
  } else {  // viterbi
    std::vector<int> path(n);
    std::vector<float> vwork(ppghr::viterbi_workspace_floats<>(n));
    std::vector<std::int16_t> back(ppghr::viterbi_backpointer_count<>(n));
    if (ppghr::viterbi(hmm, p, evidence.data(), n, path.data(), vwork.data(), vwork.size(), back.data(), back.size()) !=
        ppghr::DecodeStatus::ok)
      return fail("Viterbi failed");
    for (std::size_t k = 0; k < n; ++k)
      if (ok[k]) {
        d.bpm[k] = float(path[k] + ppghr::kMinBpm);
        d.confidence[k] = mass_within(row(k), d.bpm[k]);
      }
  }
  return d;
}

}  // namespace cli
