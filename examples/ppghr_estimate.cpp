// ppghr-estimate: heart rate from a recording with a model blob or the built-in spectral estimator.
//
//   ppghr-estimate --model M.ppgw|spectral --csv rec.csv [--rate HZ] [--ref ref.csv] [--decode MODE] [--format
//   csv|json] [--out F] ppghr-estimate --model M.ppgw|spectral --dataset DIR --recording ID [--decode MODE] ...
//   ppghr-estimate --model M.ppgw|spectral --eval DIR [--subset NAME] [--decode MODE] [--format csv|json]
//   [--windows-out F.csv]
//
// CSV input: a header naming the PPG column(s), `ppg` or `ppg0`, `ppg1`, ... (1 to 4 channels),
// and optionally `acc_x`, `acc_y`, `acc_z` (the three together), `time` (seconds: gives the rate
// when --rate is absent) and `hr` (per-sample reference); other columns are ignored. An empty or
// `nan` PPG cell is a missing sample (status gap).
// Data-set input: the ../shared/data layout, any data set of it: DIR/index.json lists the
// recordings ("recordings": [{"id", "fs_hz", and optionally "subset", "n_samples",
// "n_ppg_channels", "n_windows", "ppg_adc": "12-bit"...}]); DIR/rec/<id>.ppg.f32 (N x C float32,
// sample-major), .acc.f32 (N x 3, in g), .hr.f32 (one label per window).
// Output: one line per window: time (window start, s), hr, hr_tracked (the decoded estimate),
// confidence, status[, ref_hr]. With a reference it prints the MAE of the ok windows (raw and
// decoded) to stderr. --eval: per recording and overall, windows, ok windows, the MAE of the raw
// and of the decoded estimate, and the decoded MAE at 50 / 80 / 100% coverage (the ok windows
// taken in order of confidence, most confident first).
// The network is recognised from the blob's architecture fingerprint: any network of the
// library's registry (include/ppghr/models/registry.hpp: ResNet1d<1..12>, Mlp<1..4>, PulseTeacher /
// PulseStudent with either head and either front end, SpecNet<1..12> at widths 16 and 32);
// --arch insists on one and reports a blob for another network as such. `--model spectral` is the
// built-in accelerometer-aware spectral estimator (no blob): PPG channels chosen with --channels,
// plus the accelerometer. A spectral network (specnet*: models/specnet.hpp) takes the same channels
// and front end as `--model spectral` and runs its network over the estimator's features.
// PULSE (pulse_teacher, pulse_student and their _cls 180-class heads) takes PPG + 3-axis ACC,
// resampled to 32 Hz and not normalised here (the network normalises its input with the constants
// in its blob). The regression heads (pulse_teacher, pulse_student) give one BPM per window, no
// probability vector: hr is printed with 3 decimals, confidence is empty (CSV) / null (JSON), and
// --track / --decode (over probability vectors) are refused; --track-clamp works on the BPM values.
// Bad input: every error is one line on stderr and exit status 2 (the parts in examples/cli/ return
// their errors; only main prints one and exits). Inputs must be regular files (a
// directory, /dev/zero or a FIFO is refused before reading), a CSV line is at most 1 MiB and has no
// NUL byte, a UTF-8 byte-order mark before the header is skipped, CRLF line ends are accepted, the
// time column must increase line by line. --out and --windows-out are written to a temporary file
// beside the target and renamed onto it only when every byte was written (a failed run, e.g. a full
// disk, leaves no half-written file and an earlier file of that name intact); a target that exists
// and is not a regular file (/dev/null, /dev/stdout) is written directly, errors checked.
//
// The parts (library ppghr_cli, examples/cli/, unit tests in tests/cli/test_cli_parts.cpp): args
// (the command line), recording (CSV and data-set readers), dispatch (the registry's networks and
// the spectral estimator behind one Runner), report (rows, MAE / coverage, CSV / JSON writers,
// atomic output files), json (nlohmann-json), decode (the HMM decoders).
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "cli/dispatch.hpp"
#include "cli/recording.hpp"
#include "cli/report.hpp"

namespace {

int error(const cli::Error& e) {
  if (e.show_usage) std::fputs(cli::usage_text(), stderr);
  std::fprintf(stderr, "ppghr-estimate: error: %s\n", e.message.c_str());
  return 2;
}

// --eval: every recording of the data set (of --subset), the summary to --out.
cli::Status eval(const cli::Args& a, cli::Runner& runner, const std::string& model_name, cli::OutFile* wout) {
  auto ds = cli::read_index(a.eval_dir);
  if (!ds) return ds.error();
  cli::EvalReport rep;
  rep.dataset = ds->name, rep.dir = a.eval_dir, rep.model = model_name, rep.decode = a.decode_name(),
  rep.subset = a.subset;
  rep.decoding = a.decoding();
  for (const auto& e : ds->entries) {
    if (!a.subset.empty() && e.subset != a.subset) continue;
    auto r = cli::read_dataset(*ds, e, runner.wants_acc());
    if (!r) return r.error();
    auto run = runner.run(*r, a.options);
    if (!run) return run.error();
    if (rep.recordings.empty()) rep.channels = run->channels;
    rep.accelerometer = rep.accelerometer && run->accelerometer;
    auto rows = cli::decode_rows(*run, a.decode, a.track_clamp, runner);
    if (!rows) return rows.error();
    if (wout) cli::write_windows(wout->get(), e.id, e.subset, *rows);
    rep.recordings.push_back({e.id, e.subset, {}});
    rep.recordings.back().stats.add(*rows);
    rep.all.add(*rows);
  }
  if (wout)
    if (cli::Status s = wout->close(); !s) return s;
  const std::string of_subset = a.subset.empty() ? std::string() : " of subset '" + a.subset + "'";
  if (rep.recordings.empty()) return cli::fail("no recording" + of_subset + " in '" + ds->index_path + "'");
  if (rep.labelled() == 0)
    return cli::fail("no labelled ok window in the recordings" + of_subset + " of '" + ds->index_path + "'");
  cli::OutFile out;
  if (cli::Status s = out.open(a.out_path); !s) return s;
  cli::write_eval(out.get(), rep, a.json);
  return out.close();
}

// --csv or --dataset --recording: the windows of one recording to --out, its MAE to stderr.
cli::Status one(const cli::Args& a, cli::Runner& runner, const std::string& model_name, cli::OutFile* wout) {
  cli::Recording r;
  if (!a.csv.empty()) {
    auto got = cli::read_csv(a.csv, a.rate);
    if (!got) return got.error();
    r = std::move(*got);
  } else {
    if (a.recording.empty()) return cli::fail("--dataset needs --recording ID");
    auto ds = cli::read_index(a.dataset);
    if (!ds) return ds.error();
    const auto it = std::find_if(ds->entries.begin(), ds->entries.end(),
                                 [&](const cli::IndexEntry& e) { return e.id == a.recording; });
    if (it == ds->entries.end()) return cli::fail("no recording '" + a.recording + "' in '" + ds->index_path + "'");
    if (a.rate > 0 && a.rate != it->fs)
      return cli::fail("--rate " + cli::number_or(a.rate, "%g", "?") + " Hz disagrees with index.json (" +
                       cli::number_or(it->fs, "%g", "?") + " Hz)");
    auto got = cli::read_dataset(*ds, *it, runner.wants_acc());
    if (!got) return got.error();
    r = std::move(*got);
  }
  if (!a.ref.empty()) {
    auto ref = cli::read_ref_csv(a.ref);
    if (!ref) return ref.error();
    r.ref_hr = std::move(*ref);
  }
  auto run = runner.run(r, a.options);
  if (!run) return run.error();
  auto rows = cli::decode_rows(*run, a.decode, a.track_clamp, runner);
  if (!rows) return rows.error();
  if (wout) {
    cli::write_windows(wout->get(), r.name, r.subset, *rows);
    if (cli::Status s = wout->close(); !s) return s;
  }
  cli::OutFile out;
  if (cli::Status s = out.open(a.out_path); !s) return s;
  const bool probs = runner.has_probabilities();
  const int hr_decimals = probs ? 0 : 3;
  const int tracked_decimals = !probs ? 3 : (a.decode.mode == cli::DecodeMode::offline_mean && !a.track_clamp) ? 2 : 0;
  cli::write_rows(out.get(), *rows, a.json, !r.ref_hr.empty(), hr_decimals, tracked_decimals);
  if (cli::Status s = out.close(); !s) return s;
  if (!r.ref_hr.empty()) {
    cli::Stats m;
    m.add(*rows);
    std::fprintf(stderr, "%s, %s: MAE %.3f BPM over %zu ok windows of %zu", r.name.c_str(), model_name.c_str(),
                 m.mae_raw(), m.n, m.windows);
    if (a.decoding()) std::fprintf(stderr, " (tracked: %.3f BPM)", m.mae_decoded());
    std::fprintf(stderr, "\n");
  }
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  // Past a file-size limit (ulimit -f) a write fails with EFBIG instead of killing the process, so
  // OutFile reports it and removes its temporary file.
  std::signal(SIGXFSZ, SIG_IGN);
  auto args = cli::parse_args(argc, argv);
  if (!args) return error(args.error());
  const cli::Args& a = *args;
  if (a.help) {
    std::fputs(cli::usage_text(), stderr);
    return 0;
  }
  if (!a.write_in_place.empty()) {
    std::string name;
    auto packed = cli::in_place_blob(a.model, name);
    if (!packed) return error(packed.error());
    cli::OutFile out;
    if (cli::Status s = out.open(a.write_in_place); !s) return error(s.error());
    std::fwrite(packed->data(), 1, packed->size(), out.get());
    if (cli::Status s = out.close(); !s) return error(s.error());
    std::fprintf(stderr, "%s: wrote %zu bytes, the dtype-3 (in-place) blob of %s, to '%s'\n", name.c_str(),
                 packed->size(), a.model.c_str(), a.write_in_place.c_str());
    return 0;
  }
  auto made = cli::make_runner(a.model, a.arch);
  if (!made) return error(made.error());
  cli::Runner& runner = *made->runner;
  if (a.decode.mode != cli::DecodeMode::none && !runner.has_probabilities())
    return error(
        cli::fail((a.track ? std::string("--track") : "--decode " + a.decode.name()) +
                  " needs a probability vector per window, and " + made->name +
                  " has a regression head (one BPM per window): use --track-clamp (the PULSE authors' clamp of the "
                  "estimates) or no tracking"));
  std::unique_ptr<cli::OutFile> wout;
  if (!a.windows_out.empty()) {
    wout = std::make_unique<cli::OutFile>();
    if (cli::Status s = wout->open(a.windows_out); !s) return error(s.error());
    cli::write_windows_header(wout->get());
  }
  const cli::Status done =
      !a.eval_dir.empty() ? eval(a, runner, made->name, wout.get()) : one(a, runner, made->name, wout.get());
  return done ? 0 : error(done.error());
}
