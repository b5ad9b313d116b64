// ppghr/post/decode.hpp: the decoders against brute force (every path enumerated, 5 classes x 6
// windows) and against a dense double-precision reference (70 classes, where the +-30 band and
// the uniform jump both matter); lag smoother == forward-backward / forward filter at the extreme
// lags; windows without evidence everywhere; zero allocations; edges; argument checks.
// The C++ <-> Python parity is tools/tests/test_decode.py (ctest: decode_parity_python).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "alloc_counter.hpp"
#include "ppghr/post/decode.hpp"

namespace {

using ppghr::DecodeStatus;

template <int N>
struct Problem {
  ppghr::HmmModel<N> model;
  ppghr::TransitionPrior prior;
  ppghr::LikelihoodModel lik;
  int T = 0;
  std::vector<float> p;               // T x N
  std::vector<std::uint8_t> evidence;  // T
};

template <int N>
Problem<N> make_problem(unsigned seed, int T, std::vector<int> masked, float floor = 0.05f, float power = 0.8f,
                        float sigma = 0.f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  Problem<N> pr;
  if (sigma > 0.f) {
    pr.prior = ppghr::TransitionPrior::gaussian(sigma, floor);
  } else {
    // symmetric for even seeds, asymmetric (a drift) for odd ones: catches a reversed kernel
    for (int d = 0; d <= ppghr::kMaxDelta; ++d) {
      const float v = u(rng) + 0.05f;
      pr.prior.p[ppghr::kMaxDelta + d] = v;
      pr.prior.p[ppghr::kMaxDelta - d] = seed % 2 ? u(rng) + 0.05f : v;
    }
    pr.prior.floor = floor;
  }
  pr.lik.floor = 1e-3f;
  pr.lik.power = power;
  REQUIRE(pr.model.configure(pr.prior, pr.lik) == DecodeStatus::ok);
  pr.T = T;
  pr.p.resize(static_cast<std::size_t>(T) * N);
  for (int k = 0; k < T; ++k) {
    float s = 0.f;
    for (int j = 0; j < N; ++j) {
      const float v = std::pow(u(rng), 3.f);
      pr.p[k * N + j] = v;
      s += v;
    }
    for (int j = 0; j < N; ++j) pr.p[k * N + j] /= s;
  }
  pr.evidence.assign(T, 1);
  for (int k : masked) pr.evidence[k] = 0;
  return pr;
}

template <int N>
double lik_of(const Problem<N>& pr, int k, int j) {
  if (!pr.evidence[k]) return 1.0;
  return std::pow(static_cast<double>(pr.p[k * N + j]) + pr.lik.floor, static_cast<double>(pr.lik.power));
}

// Every path: the best one (and whether it is unique) and the marginals of windows 0..T-1
// conditioned on windows 0..last.
template <int N>
struct Enumeration {
  std::vector<int> best;
  double best_log = -1e300, second_log = -1e300;
  std::vector<double> marg;  // T x N
};

template <int N>
Enumeration<N> enumerate(const Problem<N>& pr, int last) {
  const int T = last + 1;
  Enumeration<N> e;
  e.marg.assign(static_cast<std::size_t>(T) * N, 0.0);
  std::vector<int> path(T, 0);
  long total = 1;
  for (int k = 0; k < T; ++k) total *= N;
  std::vector<double> logw(total);
  double mx = -1e300;
  for (long code = 0; code < total; ++code) {
    long c = code;
    for (int k = T - 1; k >= 0; --k) {
      path[k] = static_cast<int>(c % N);
      c /= N;
    }
    double lw = std::log(1.0 / N) + std::log(lik_of(pr, 0, path[0]));
    for (int k = 1; k < T; ++k)
      lw += std::log(static_cast<double>(pr.model.a(path[k - 1], path[k]))) + std::log(lik_of(pr, k, path[k]));
    logw[code] = lw;
    if (lw > e.best_log) {
      e.second_log = e.best_log;
      e.best_log = lw;
      e.best = path;
    } else if (lw > e.second_log) {
      e.second_log = lw;
    }
    mx = std::max(mx, lw);
  }
  double z = 0.0;
  for (long code = 0; code < total; ++code) {
    const double w = std::exp(logw[code] - mx);
    z += w;
    long c = code;
    for (int k = T - 1; k >= 0; --k) {
      e.marg[k * N + static_cast<int>(c % N)] += w;
      c /= N;
    }
  }
  for (double& m : e.marg) m /= z;
  return e;
}

template <int N>
std::vector<float> run_fb(const Problem<N>& pr) {
  std::vector<float> post(static_cast<std::size_t>(pr.T) * N), ws(ppghr::forward_backward_workspace_floats<N>(pr.T));
  REQUIRE(ppghr::forward_backward(pr.model, pr.p.data(), pr.evidence.data(), pr.T, post.data(), ws.data(), ws.size()) ==
          DecodeStatus::ok);
  return post;
}

template <int N>
std::vector<int> run_viterbi(const Problem<N>& pr, float* score = nullptr) {
  std::vector<float> ws(ppghr::viterbi_workspace_floats<N>(pr.T));
  std::vector<std::int16_t> back(ppghr::viterbi_backpointer_count<N>(pr.T));
  std::vector<int> path(pr.T);
  REQUIRE(ppghr::viterbi(pr.model, pr.p.data(), pr.evidence.data(), pr.T, path.data(), ws.data(), ws.size(),
                         back.data(), back.size(), score) == DecodeStatus::ok);
  return path;
}

template <int N>
const float* row(const Problem<N>& pr, int k) {
  return pr.evidence[k] ? pr.p.data() + k * N : nullptr;
}

// LagSmoother outputs by window index (push + flush).
template <int MaxLag, int N>
std::vector<float> run_lag(const Problem<N>& pr, int lag) {
  static ppghr::LagSmoother<MaxLag, N> s;
  REQUIRE(s.configure(pr.prior, pr.lik, lag) == DecodeStatus::ok);
  std::vector<float> out(static_cast<std::size_t>(pr.T) * N, -1.f);
  for (int k = 0; k < pr.T; ++k) {
    const bool ready = s.push(row(pr, k));
    CHECK(ready == (k >= lag));
    if (ready) {
      CHECK(s.output_index() == k - lag);
      std::copy(s.posterior().begin(), s.posterior().end(), out.begin() + (k - lag) * N);
    }
  }
  long next = pr.T > lag ? pr.T - lag : 0;
  const int n = s.flush([&](long t, const float* post) {
    CHECK(t == next++);
    std::copy(post, post + N, out.begin() + t * N);
  });
  CHECK(n == std::min(lag, pr.T));
  CHECK(next == pr.T);
  return out;
}

template <int N>
std::vector<float> run_forward(const Problem<N>& pr) {
  ppghr::BasicForwardFilter<N> f;
  REQUIRE(f.configure(pr.prior, pr.lik) == DecodeStatus::ok);
  std::vector<float> out;
  for (int k = 0; k < pr.T; ++k) {
    if (pr.evidence[k]) (void)f.update(row(pr, k));
    else f.skip();
    out.insert(out.end(), f.belief().begin(), f.belief().end());
  }
  return out;
}

template <class A, class B>
double max_diff(const A& a, const B& b) {
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i]));
  return m;
}

// Dense double-precision reference: A built entry by entry from the definition.
template <int N>
struct Dense {
  std::vector<double> a;  // N x N
  explicit Dense(const Problem<N>& pr) : a(static_cast<std::size_t>(N) * N) {
    double s = 0.0;
    for (float v : pr.prior.p) s += v;
    for (int i = 0; i < N; ++i) {
      double z = 0.0;
      for (int j = 0; j < N; ++j)
        if (std::abs(j - i) <= ppghr::kMaxDelta) z += pr.prior.p[j - i + ppghr::kMaxDelta] / s;
      for (int j = 0; j < N; ++j) {
        const double q = std::abs(j - i) <= ppghr::kMaxDelta ? pr.prior.p[j - i + ppghr::kMaxDelta] / s : 0.0;
        a[i * N + j] = (1.0 - pr.prior.floor) * q / z + pr.prior.floor / N;
      }
    }
  }
};

}  // namespace

TEST_CASE("decode: Viterbi and forward-backward equal the enumeration of every path (5 classes x 6 windows)") {
  const std::vector<std::vector<int>> masks{{}, {0}, {2, 3}, {5}, {0, 5}};
  for (unsigned seed = 0; seed < masks.size(); ++seed) {
    CAPTURE(seed);
    const auto pr = make_problem<5>(seed, 6, masks[seed]);
    const auto e = enumerate(pr, 5);
    float score = 0.f;
    const auto path = run_viterbi(pr, &score);
    // the path's own log score is the maximum (also under ties)
    double lw = std::log(1.0 / 5) + std::log(lik_of(pr, 0, path[0]));
    for (int k = 1; k < 6; ++k) lw += std::log(double(pr.model.a(path[k - 1], path[k]))) + std::log(lik_of(pr, k, path[k]));
    CHECK(lw == doctest::Approx(e.best_log).epsilon(1e-6));
    CHECK(score == doctest::Approx(e.best_log).epsilon(1e-5));
    if (e.second_log < e.best_log - 1e-4) CHECK(path == e.best);
    const auto fb = run_fb(pr);
    CHECK(max_diff(fb, e.marg) <= 2e-6);
    // lag >= remaining windows: forward-backward; lag 0: the forward filter
    CHECK(max_diff(run_lag<8>(pr, 6), e.marg) <= 2e-6);
    CHECK(max_diff(run_lag<8>(pr, 8), e.marg) <= 2e-6);
    const auto fwd = run_forward(pr);
    CHECK(max_diff(run_lag<8>(pr, 0), fwd) == 0.0);
    for (int j = 0; j < 5; ++j) CHECK(fwd[5 * 5 + j] == doctest::Approx(e.marg[5 * 5 + j]).epsilon(1e-5));
    // lag 2: window k conditioned on windows 0..k+2, from the truncated enumeration
    const auto sm = run_lag<8>(pr, 2);
    for (int k = 0; k < 6; ++k) {
      const auto ek = enumerate(pr, std::min(k + 2, 5));
      for (int j = 0; j < 5; ++j) CHECK(sm[k * 5 + j] == doctest::Approx(ek.marg[k * 5 + j]).epsilon(1e-5));
    }
  }
}

TEST_CASE("decode: the banded kernels equal a dense reference (70 classes: band edges and jumps matter)") {
  constexpr int N = 70;
  for (unsigned seed = 0; seed < 6; ++seed) {
    CAPTURE(seed);
    auto pr = make_problem<N>(100 + seed, 40, {3, 4, 5, 39}, seed % 2 ? 0.2f : 1e-3f, 1.f, 12.f);
    if (seed >= 4) {  // evidence that jumps beyond the +-30 band, down and up: the path must jump
      for (int k = 0; k < pr.T; ++k) {
        const int c = (k / 5) % 2 ? 60 - (k % 3) : 5 + (k % 4);
        for (int j = 0; j < N; ++j) pr.p[k * N + j] = j == c ? 0.9f : 0.1f / (N - 1);
      }
    }
    if (seed >= 2) {  // a drifting (asymmetric) prior
      for (int d = 0; d < ppghr::kDeltaCount; ++d) pr.prior.p[d] *= 1.f + 0.03f * static_cast<float>(d);
      REQUIRE(pr.model.configure(pr.prior, pr.lik) == DecodeStatus::ok);
    }
    const Dense<N> dense(pr);
    // A entries
    double da = 0.0;
    for (int i = 0; i < N; ++i)
      for (int j = 0; j < N; ++j) da = std::max(da, std::fabs(pr.model.a(i, j) - dense.a[i * N + j]));
    CHECK(da <= 1e-7);
    // forward-backward in double
    const int T = pr.T;
    std::vector<double> alpha(T * N), post(T * N), beta(N, 1.0), tmp(N);
    for (int k = 0; k < T; ++k) {
      double s = 0.0;
      for (int j = 0; j < N; ++j) {
        double pred = 0.0;
        if (k == 0) pred = 1.0 / N;
        else
          for (int i = 0; i < N; ++i) pred += alpha[(k - 1) * N + i] * dense.a[i * N + j];
        alpha[k * N + j] = pred * lik_of(pr, k, j);
        s += alpha[k * N + j];
      }
      for (int j = 0; j < N; ++j) alpha[k * N + j] /= s;
    }
    for (int k = T - 1; k >= 0; --k) {
      double s = 0.0;
      for (int j = 0; j < N; ++j) s += post[k * N + j] = alpha[k * N + j] * beta[j];
      for (int j = 0; j < N; ++j) post[k * N + j] /= s;
      double bs = 0.0;
      for (int i = 0; i < N; ++i) {
        tmp[i] = 0.0;
        for (int j = 0; j < N; ++j) tmp[i] += dense.a[i * N + j] * lik_of(pr, k, j) * beta[j];
        bs += tmp[i];
      }
      for (int i = 0; i < N; ++i) beta[i] = tmp[i] / bs;
    }
    CHECK(max_diff(run_fb(pr), post) <= 2e-6);
    CHECK(max_diff(run_lag<64>(pr, 64), post) <= 2e-6);
    CHECK(max_diff(run_forward(pr), alpha) <= 2e-6);
    // Viterbi in double, full O(N^2) maximisation (lowest predecessor on ties)
    std::vector<double> delta(N), next(N);
    std::vector<int> back(T * N);
    for (int j = 0; j < N; ++j) delta[j] = std::log(1.0 / N) + std::log(lik_of(pr, 0, j));
    for (int k = 1; k < T; ++k) {
      for (int j = 0; j < N; ++j) {
        int arg = 0;
        double best = -1e300;
        for (int i = 0; i < N; ++i) {
          const double v = delta[i] + std::log(dense.a[i * N + j]);
          if (v > best) best = v, arg = i;
        }
        next[j] = best + std::log(lik_of(pr, k, j));
        back[k * N + j] = arg;
      }
      delta = next;
    }
    std::vector<int> ref(T);
    ref[T - 1] = static_cast<int>(std::max_element(delta.begin(), delta.end()) - delta.begin());
    for (int k = T - 1; k > 0; --k) ref[k - 1] = back[k * N + ref[k]];
    float score = 0.f;
    const auto path = run_viterbi(pr, &score);
    CHECK(score == doctest::Approx(*std::max_element(delta.begin(), delta.end())).epsilon(1e-5));
    CHECK(path == ref);
    if (seed >= 4) CHECK(path[12] - path[9] < -ppghr::kMaxDelta);
    if (seed >= 4) CHECK(path[17] - path[14] > ppghr::kMaxDelta);
  }
}

TEST_CASE("decode: update / push / flush never allocate") {
  std::vector<float> p(ppghr::kNumClasses, 0.f);
  p[80] = 0.6f;
  p[81] = 0.4f;
  static ppghr::ForwardFilter f;
  static ppghr::LagSmoother<16> s;
  REQUIRE(f.configure(ppghr::TransitionPrior::bami1(), 1e-3f) == DecodeStatus::ok);
  REQUIRE(s.configure(ppghr::TransitionPrior::bami1(), {}, 16) == DecodeStatus::ok);
  float sink = 0.f;
  ppghr_test::AllocationScope scope;
  for (int k = 0; k < 100; ++k) {
    const float* in = k % 7 == 3 ? nullptr : p.data();
    (void)f.update(in);
    if (s.push(in)) sink += s.posterior()[80];
  }
  f.skip();
  (void)s.flush([&](long, const float* post) { sink += post[80]; });
  CHECK(scope.count() == 0);
  CHECK(sink > 0.f);
}

TEST_CASE("decode: edges hold a peaked likelihood, a flat one does not drift to an edge") {
  constexpr int N = ppghr::kNumClasses;
  const ppghr::TransitionPrior prior = ppghr::TransitionPrior::bami1();
  ppghr::HmmModel<N> m;
  REQUIRE(m.configure(prior, {}) == DecodeStatus::ok);
  // rows of A sum to 1 (the edge rows included)
  for (int i : {0, 1, 29, 30, 90, 150, 178, 179}) {
    double s = 0.0;
    for (int j = 0; j < N; ++j) s += m.a(i, j);
    CHECK(s == doctest::Approx(1.0).epsilon(1e-5));
  }
  const int T = 300;
  for (int c : {0, 179, 90}) {
    CAPTURE(c);
    std::vector<float> p(static_cast<std::size_t>(T) * N, 1e-4f);
    for (int k = 0; k < T; ++k) p[k * N + c] = 1.f - 179e-4f;
    ppghr::ForwardFilter f;
    REQUIRE(f.configure(prior, {}) == DecodeStatus::ok);
    for (int k = 0; k < T; ++k) CHECK(f.update(p.data() + k * N) == c);
    std::vector<float> post(p.size()), ws(ppghr::forward_backward_workspace_floats(T));
    REQUIRE(ppghr::forward_backward(m, p.data(), nullptr, T, post.data(), ws.data(), ws.size()) == DecodeStatus::ok);
    CHECK(ppghr::posterior_argmax_bpm(post.data()) == float(30 + c));
    CHECK(ppghr::posterior_argmax_bpm(post.data() + (T - 1) * N) == float(30 + c));
    CHECK(ppghr::posterior_mass_within(post.data() + 100 * N, float(30 + c)) > 0.99f);
    std::vector<float> vws(ppghr::viterbi_workspace_floats(T));
    std::vector<std::int16_t> back(ppghr::viterbi_backpointer_count(T));
    std::vector<int> path(T);
    REQUIRE(ppghr::viterbi(m, p.data(), nullptr, T, path.data(), vws.data(), vws.size(), back.data(), back.size()) ==
            DecodeStatus::ok);
    CHECK(std::count(path.begin(), path.end(), c) == T);
  }
  // Flat likelihood (or none): the belief stays near uniform; no mass piles up at 30 or 209 BPM.
  std::vector<float> flat(N, 1.f / N);
  ppghr::ForwardFilter f;
  REQUIRE(f.configure(prior, {}) == DecodeStatus::ok);
  for (int k = 0; k < 1000; ++k) (void)f.update(k % 2 ? flat.data() : nullptr);
  const auto& b = f.belief();
  const float mx = *std::max_element(b.begin(), b.end());
  CHECK(mx < 1.05f / N);
  CHECK(b[0] <= b[90]);
  CHECK(b[179] <= b[90]);
  const int am = f.argmax();
  CHECK(am > 5);
  CHECK(am < N - 6);
}

TEST_CASE("decode: posterior helpers and calibration") {
  std::vector<float> post(ppghr::kNumClasses, 0.f);
  post[70] = 0.5f;   // 100 BPM
  post[76] = 0.3f;   // 106 BPM
  post[60] = 0.2f;   // 90 BPM
  CHECK(ppghr::posterior_mean_bpm(post.data()) == doctest::Approx(100 + 0.3 * 6 - 0.2 * 10));
  CHECK(ppghr::posterior_argmax_bpm(post.data()) == 100.f);
  CHECK(ppghr::posterior_mass_within(post.data(), 100.f) == doctest::Approx(0.5));
  CHECK(ppghr::posterior_mass_within(post.data(), 101.f) == doctest::Approx(0.8));

  ppghr::Calibration c;
  CHECK(c.apply(0.37f) == 0.37f);  // no knots: identity
  c.knots = 3;
  c.x = {0.2f, 0.5f, 0.9f};
  c.y = {0.1f, 0.4f, 0.95f};
  CHECK(c.valid());
  CHECK(c.apply(0.f) == 0.1f);
  CHECK(c.apply(0.2f) == 0.1f);
  CHECK(c.apply(0.35f) == doctest::Approx(0.25f));
  CHECK(c.apply(0.5f) == doctest::Approx(0.4f));
  CHECK(c.apply(0.7f) == doctest::Approx(0.675f));
  CHECK(c.apply(1.f) == 0.95f);
  c.y[2] = 0.3f;
  CHECK(!c.valid());  // not monotone
}

TEST_CASE("decode: invalid parameters and small buffers are refused") {
  ppghr::HmmModel<> m;
  ppghr::TransitionPrior bad = ppghr::TransitionPrior::bami1();
  bad.floor = 1.f;
  CHECK(m.configure(bad, {}) == DecodeStatus::bad_argument);
  bad = ppghr::TransitionPrior{};  // all zero
  CHECK(m.configure(bad, {}) == DecodeStatus::bad_argument);
  ppghr::LikelihoodModel lik;
  lik.power = 0.f;
  CHECK(m.configure(ppghr::TransitionPrior::bami1(), lik) == DecodeStatus::bad_argument);
  lik = {};
  lik.floor = -1.f;
  CHECK(m.configure(ppghr::TransitionPrior::bami1(), lik) == DecodeStatus::bad_argument);
  // the previous (default) configuration stays
  CHECK(m.likelihood_model().floor == 1e-3f);
  ppghr::LagSmoother<4> s;
  CHECK(s.configure(ppghr::TransitionPrior::bami1(), {}, 5) == DecodeStatus::bad_argument);
  CHECK(s.configure(ppghr::TransitionPrior::bami1(), {}, -1) == DecodeStatus::bad_argument);

  std::vector<float> p(3 * ppghr::kNumClasses, 1.f / ppghr::kNumClasses), post(p.size());
  std::vector<float> ws(ppghr::forward_backward_workspace_floats(3) - 1);
  CHECK(ppghr::forward_backward(m, p.data(), nullptr, 3, post.data(), ws.data(), ws.size()) ==
        DecodeStatus::workspace_too_small);
  std::vector<float> vws(ppghr::viterbi_workspace_floats(3));
  std::vector<std::int16_t> back(ppghr::viterbi_backpointer_count(3) - 1);
  std::vector<int> path(3);
  CHECK(ppghr::viterbi(m, p.data(), nullptr, 3, path.data(), vws.data(), vws.size(), back.data(), back.size()) ==
        DecodeStatus::workspace_too_small);
}
