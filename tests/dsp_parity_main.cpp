// ppghr_dsp_parity: runs ppghr::Preprocessor over a raw recording file, for the Python/C++
// parity test (tools/tests/test_preprocess.py), which compares its output with
// ppghr_tools.preprocess.windows_from_recording on the same file.
//
//   ppghr_dsp_parity --net resnet|pulse --fs HZ --channels C --in IN.f32 --out OUT.f32
//                    [--status OUT.u8] [--chunk N | --chunk random] [--norm m0,s0,m1,s1,...]
//                    [--design OUT.txt]
//
// IN.f32: little-endian float32, N x C, sample-major. OUT.f32: float32 windows [W][C][L];
// OUT.u8: one status byte per window and channel (0 ok, 1 flat, 2 non-finite). --chunk pushes the
// recording N frames at a time (default 1000), or in seeded random chunks of 1..4096. --norm: the
// (mean, std) pairs of the 'global' normalisation (pulse); without it pulse uses none.
// --design writes the resampler's branches and the band-pass sections as text (%.17g).
// Supported: resnet with C = 1 or 3, pulse with C = 4. Exit status 0 on success, 2 on bad usage,
// 3 on an I/O error, 4 when init() fails.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ppghr/dsp/dsp.hpp"

namespace {

struct Args {
  std::string net = "resnet", in, out, status, design;
  double fs = 0;  // Hz, integer or not (e.g. 25.6)
  int channels = 1;
  long chunk = 1000;  // 0: random
  std::vector<double> norm;
};

int usage(const char* why) {
  std::fprintf(stderr, "ppghr_dsp_parity: %s\n", why);
  return 2;
}

template <class P>
int run(const Args& a) {
  constexpr int C = P::channels;
  typename P::Config cfg = P::zscore_config(a.fs);
  if (a.net == "pulse") {
    cfg.bandpass = false;
    cfg.normalization = ppghr::Normalization::none;
    if (!a.norm.empty()) {
      if (a.norm.size() != 2 * std::size_t(C)) return usage("--norm needs one (mean, std) pair per channel");
      cfg.normalization = ppghr::Normalization::global;
      for (int c = 0; c < C; ++c) {
        cfg.mean[c] = a.norm[2 * c];
        cfg.stddev[c] = a.norm[2 * c + 1];
      }
    }
  }
  static P pre;  // ~30-40 KB: static storage, as the header recommends
  const ppghr::DspStatus st = pre.init(cfg);
  if (st != ppghr::DspStatus::ok) {
    std::fprintf(stderr, "ppghr_dsp_parity: init failed: %s\n", ppghr::dsp_status_name(st));
    return 4;
  }

  std::FILE* f = std::fopen(a.in.c_str(), "rb");
  if (!f) return usage("cannot open --in");
  std::vector<float> x;
  float buf[4096];
  std::size_t got;
  while ((got = std::fread(buf, sizeof(float), 4096, f)) > 0) x.insert(x.end(), buf, buf + got);
  std::fclose(f);
  if (x.size() % C != 0) return usage("--in size is not a multiple of the channel count");
  const std::size_t n = x.size() / C;

  std::vector<float> windows;
  std::vector<unsigned char> status;
  std::uint64_t expect = 0;
  bool in_order = true;
  auto sink = [&](const typename P::Window& w) {
    in_order = in_order && w.index == expect++;
    windows.insert(windows.end(), w.data, w.data + P::window_size);
    for (int c = 0; c < C; ++c) status.push_back(static_cast<unsigned char>(w.status[c]));
  };
  std::mt19937 rng(12345);
  std::uniform_int_distribution<long> len(1, 4096);
  for (std::size_t i = 0; i < n;) {
    const std::size_t k = std::min<std::size_t>(n - i, static_cast<std::size_t>(a.chunk > 0 ? a.chunk : len(rng)));
    if (pre.push(x.data() + i * C, k, sink) != ppghr::DspStatus::ok) return 4;
    i += k;
  }
  if (pre.finish(sink) != ppghr::DspStatus::ok) return 4;
  if (!in_order || pre.windows() != P::windows_in_recording(n, a.fs)) {
    std::fprintf(stderr, "ppghr_dsp_parity: %llu windows, expected %llu\n",
                 static_cast<unsigned long long>(pre.windows()),
                 static_cast<unsigned long long>(P::windows_in_recording(n, a.fs)));
    return 4;
  }

  std::FILE* o = std::fopen(a.out.c_str(), "wb");
  if (!o || std::fwrite(windows.data(), sizeof(float), windows.size(), o) != windows.size()) return 3;
  std::fclose(o);
  if (!a.status.empty()) {
    std::FILE* s = std::fopen(a.status.c_str(), "wb");
    if (!s || std::fwrite(status.data(), 1, status.size(), s) != status.size()) return 3;
    std::fclose(s);
  }
  if (!a.design.empty()) {
    std::FILE* d = std::fopen(a.design.c_str(), "w");
    if (!d) return 3;
    const ppghr::ResamplerDesign& r = pre.resampler().design();
    if (pre.resampler().interpolating()) {
      const ppghr::InterpDesign& di = pre.resampler().interp_design_used();
      std::fprintf(d, "interp %.17g %.17g %d\n", di.ratio, di.step, di.half);
    } else {
      std::fprintf(d, "resampler %d %d %d %d %d\n", r.up, r.down, r.taps, r.taps_per_phase, r.delay);
    }
    for (int p = 0; p < r.up && !pre.resampler().interpolating(); ++p) {
      for (int q = 0; q < r.taps_per_phase; ++q)
        std::fprintf(d, "%s%.17g", q ? " " : "", pre.resampler().branch_tap(p, q));
      std::fprintf(d, "\n");
    }
    ppghr::ButterworthBandpass<4> bp;
    if (bp.design(double(P::rate_hz)) != ppghr::DspStatus::ok) return 4;
    std::fprintf(d, "sos %d\n", 4);
    for (const auto& s : bp.sos) std::fprintf(d, "%.17g %.17g %.17g %.17g %.17g %.17g\n", s[0], s[1], s[2], s[3], s[4], s[5]);
    std::fclose(d);
  }
  std::printf("%zu frames -> %zu windows\n", n, status.size() / C);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) return usage(("missing value for " + k).c_str());
    const std::string v = argv[++i];
    if (k == "--net") a.net = v;
    else if (k == "--fs") a.fs = std::strtod(v.c_str(), nullptr);
    else if (k == "--channels") a.channels = std::atoi(v.c_str());
    else if (k == "--in") a.in = v;
    else if (k == "--out") a.out = v;
    else if (k == "--status") a.status = v;
    else if (k == "--design") a.design = v;
    else if (k == "--chunk") a.chunk = v == "random" ? 0 : std::atol(v.c_str());
    else if (k == "--norm") {
      const char* p = v.c_str();
      char* end = nullptr;
      while (*p) {
        a.norm.push_back(std::strtod(p, &end));
        if (end == p) return usage("bad --norm");
        p = *end == ',' ? end + 1 : end;
      }
    } else {
      return usage(("unknown option " + k).c_str());
    }
  }
  if (a.in.empty() || a.out.empty() || a.fs <= 0) return usage("--in, --out and --fs are required");
  if (a.chunk < 0) return usage("--chunk must be positive or 'random'");
  if (a.net == "resnet" && a.channels == 1) return run<ppghr::Preprocessor<ppghr::kResNetRateHz, 1>>(a);
  if (a.net == "resnet" && a.channels == 3) return run<ppghr::Preprocessor<ppghr::kResNetRateHz, 3>>(a);
  if (a.net == "pulse" && a.channels == 4) return run<ppghr::Preprocessor<ppghr::kPulseRateHz, 4>>(a);
  return usage("supported: --net resnet --channels 1|3, --net pulse --channels 4");
}
