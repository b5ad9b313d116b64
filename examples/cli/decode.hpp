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
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <ppghr/ppghr.hpp>

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

/// probs[k]: window k's probability vector (anything where ok[k] == 0); ok[k]: 1 when window k
/// has evidence. Returns the decoded heart rate and the raw confidence of every window.
inline Decoded decode(const DecodeSpec& spec, const std::vector<Probs>& probs, const std::vector<unsigned char>& ok) {
  const std::size_t n = probs.size();
  Decoded d;
  d.bpm.assign(n, std::nanf(""));
  d.confidence.assign(n, std::nanf(""));
  switch (spec.mode) {
    case DecodeMode::none:
      for (std::size_t k = 0; k < n; ++k) {
        if (!ok[k]) continue;
        const int c = argmax_class(probs[k].data());
        d.bpm[k] = float(c + ppghr::kMinBpm);
        d.confidence[k] = mass_within(probs[k].data(), c + ppghr::kMinBpm);
      }
      return d;
    case DecodeMode::online: {
      // Until include/ppghr/post/decode.hpp lands: the tracker the Monitor's Tracking::hmm runs.
      ppghr::HeartRateTracker t;
      for (std::size_t k = 0; k < n; ++k) {
        if (!ok[k]) {
          if (t.started()) t.skip();
          continue;
        }
        const int c = t.update(probs[k].data());
        d.bpm[k] = float(c + ppghr::kMinBpm);
        d.confidence[k] = mass_within(t.belief().data(), c + ppghr::kMinBpm);
      }
      return d;
    }
    default: break;
  }
  std::fprintf(stderr, "ppghr-estimate: error: --decode %s is not available yet (include/ppghr/post/decode.hpp)\n",
               spec.name().c_str());
  std::exit(2);
}

}  // namespace cli
