// examples/cli/args.cpp - see args.hpp.
#include "args.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace cli {

Expected<std::vector<int>> parse_channels(const std::string& s) {
  std::vector<int> out;
  if (s == "all") return out;
  for (const auto& t : split(s, ',')) {
    char* end = nullptr;
    const long c = std::strtol(t.c_str(), &end, 10);
    if (t.empty() || *end != '\0' || c < 0 || c >= 64)
      return fail("--channels '" + s + "': give 'all' or PPG channel numbers from 0, e.g. 0 or 0,2");
    if (std::find(out.begin(), out.end(), int(c)) != out.end())
      return fail("--channels '" + s + "' names channel " + t + " twice");
    out.push_back(int(c));
  }
  if (out.empty()) return fail("--channels '" + s + "': no channel");
  if (out.size() > kMaxPpgChannels)
    return fail("--channels '" + s + "': at most " + std::to_string(kMaxPpgChannels) + " PPG channels");
  return out;
}

Expected<Args> parse_args(int argc, const char* const* argv) {
  Args a;
  std::string format = "csv", decode_arg, channels_arg;
  for (int i = 1; i < argc; ++i) {
    const std::string opt = argv[i];
    // The option's value (argv[++i]); false when it is the last argument.
    std::string v;
    auto value = [&]() {
      if (i + 1 >= argc) return false;
      v = argv[++i];
      return true;
    };
    std::string* target = nullptr;
    if (opt == "--model")
      target = &a.model;
    else if (opt == "--csv")
      target = &a.csv;
    else if (opt == "--dataset")
      target = &a.dataset;
    else if (opt == "--recording")
      target = &a.recording;
    else if (opt == "--eval")
      target = &a.eval_dir;
    else if (opt == "--ref")
      target = &a.ref;
    else if (opt == "--arch")
      target = &a.arch;
    else if (opt == "--format")
      target = &format;
    else if (opt == "--out")
      target = &a.out_path;
    else if (opt == "--windows-out")
      target = &a.windows_out;
    else if (opt == "--write-in-place")
      target = &a.write_in_place;
    else if (opt == "--subset")
      target = &a.subset;
    else if (opt == "--decode")
      target = &decode_arg;
    else if (opt == "--channels")
      target = &channels_arg;
    if (target) {
      if (!value()) return fail(opt + " needs a value");
      *target = v;
    } else if (opt == "--track") {
      a.track = true;
    } else if (opt == "--track-clamp") {
      a.track_clamp = true;
    } else if (opt == "--rate") {
      if (!value()) return fail(opt + " needs a value");
      char* end = nullptr;
      const double r = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(r > 0) || !std::isfinite(r))
        return fail("--rate '" + v + "' is not a sensor rate in Hz (a positive number, e.g. 50 or 25.6)");
      a.rate = r;
    } else if (opt == "--adc-min" || opt == "--adc-max") {
      if (!value()) return fail(opt + " needs a value");
      float x;
      if (!parse_float(v, x) || !std::isfinite(x)) return fail(opt + " needs a number");
      (opt == "--adc-min" ? a.options.adc_min : a.options.adc_max) = x;
      a.options.adc_given = true;
    } else if (opt == "--help" || opt == "-h") {
      a.help = true;
      return a;
    } else {
      return Error{"unknown option '" + opt + "'", true};
    }
  }
  if (a.model.empty()) return Error{"--model is required", true};
  if (format != "csv" && format != "json") return fail("--format must be csv or json");
  a.json = format == "json";
  const int inputs = !a.csv.empty() + !a.dataset.empty() + !a.eval_dir.empty();
  if (!a.write_in_place.empty()) {
    if (inputs != 0) return fail("--write-in-place converts --model only: give no --csv, --dataset or --eval");
    if (a.model == "spectral") return fail("--write-in-place needs a network blob, not --model spectral");
    return a;
  }
  if (inputs != 1) return Error{"give exactly one of --csv, --dataset, --eval", true};
  // Decoding: --decode MODE, --track (= online), --track-clamp (the PULSE clamp); one of them.
  if (a.track + a.track_clamp + !decode_arg.empty() > 1 && !(a.track && decode_arg == "online" && !a.track_clamp))
    return fail("give one of --decode, --track (= --decode online), --track-clamp");
  if (a.track) a.decode.mode = DecodeMode::online;
  if (!decode_arg.empty()) {
    std::string err;
    if (!parse_decode(decode_arg, a.decode, err)) return fail(err);
  }
  a.options.tracking = a.track_clamp ? ppghr::Tracking::recent_mean_clamp : ppghr::Tracking::none;
  if (!channels_arg.empty()) {
    auto ch = parse_channels(channels_arg);
    if (!ch) return ch.error();
    a.options.channels = std::move(*ch);
  }
  return a;
}

const char* usage_text() {
  return "usage: ppghr-estimate --model M.ppgw|spectral (--csv FILE [--rate HZ] | --dataset DIR --recording ID | "
         "--eval DIR)\n"
         "                      [--ref REF.csv] [--arch NAME] [--channels all|0|0,2|...] [--decode MODE | --track | "
         "--track-clamp]\n"
         "                      [--format csv|json] [--out FILE] [--windows-out FILE.csv] [--adc-min X --adc-max Y] "
         "[--subset NAME]\n"
         "       ppghr-estimate --model M.ppgw --write-in-place OUT.ppgw\n"
         "  --write-in-place F  write M's weights as a dtype-3 blob (the kernels' order, for a network\n"
         "                    that reads its weights in place from flash: ppghr::in_place_t) and exit\n"
         "  --model M.ppgw    a blob for any network of the library's registry (resnet1..12, mlp1..4,\n"
         "                    pulse_teacher / pulse_student (regression heads), their _cls (180 classes)\n"
         "                    and _wn / _wn_cls (per-window normalisation), specnet1..12, specnet1..12w32);\n"
         "                    the network is recognised from the blob, --arch NAME insists on one\n"
         "  --model spectral  the built-in accelerometer-aware spectral estimator (no blob)\n"
         "  --channels SEL    PPG channels in: all (default) or a list from 0 (spectral: 1..4 of them;\n"
         "                    networks: one, default 0)\n"
         "  --csv FILE        header with 'ppg' or 'ppg0','ppg1',... (1..4 PPG channels), and optional\n"
         "                    time, acc_x, acc_y, acc_z, hr; PULSE blobs need the three acc columns\n"
         "                    (accelerometer, any unit the model was trained with, e.g. g)\n"
         "  --rate HZ         sensor rate, when the CSV has no time column\n"
         "  --dataset DIR     a data set of the ../shared/data layout (index.json + rec/<id>.ppg.f32,\n"
         "                    .acc.f32, .hr.f32; rate, channels, units from index.json); with --recording ID\n"
         "  --eval DIR        every recording of a data set: per recording and overall, windows, ok\n"
         "                    windows, MAE raw and decoded, decoded MAE at 50/80/100% coverage\n"
         "  --subset NAME     --eval: only the recordings of that subset\n"
         "  --windows-out F   also write every window (recording,subset,index,time,ref_hr,hr,hr_decoded,\n"
         "                    confidence,confidence_raw,status)\n"
         "  --ref REF.csv     reference heart rate per window (columns time,hr)\n"
         "  --decode MODE     hr_tracked and confidence from: none (default: the window's argmax and its\n"
         "                    mass within +-5 BPM), online (forward filter), lag:N (fixed-lag smoother,\n"
         "                    N = 1..8 windows = 2N s of delay), viterbi (best path; confidence from the\n"
         "                    forward-backward posterior), offline (forward-backward posterior argmax),\n"
         "                    offline-mean (posterior mean); not for pulse_teacher / pulse_student\n"
         "  --track           = --decode online\n"
         "  --track-clamp     hr_tracked = the PULSE authors' 10-window clamp of the estimates\n"
         "  --adc-min/--adc-max  the PPG ADC's rails for clipping detection (default: from index.json's\n"
         "                    \"ppg_adc\": \"<B>-bit ...\" -> 0 and 2^B - 1; equal values, e.g. 0 0: no rails,\n"
         "                    a window is clipped by its plateaus at the running extremes)\n"
         "Output per window: time,hr,hr_tracked,confidence,status[,ref_hr]. confidence: the probability\n"
         "mass within +-5 BPM of the estimate in the decoder's belief (0 for a window that is not ok),\n"
         "calibrated to P(within 5 BPM) for the spectral estimator where it has a table (--decode none,\n"
         "online, lag:3, offline; with and without accelerometer); otherwise, and for networks, the\n"
         "raw mass (networks have no calibration yet; --windows-out also gives confidence_raw).\n"
         "A regression head (pulse_teacher, pulse_student) gives one BPM per window and\n"
         "no probabilities: hr and hr_tracked have 3 decimals, confidence is empty (CSV) / null (JSON).\n";
}

}  // namespace cli
