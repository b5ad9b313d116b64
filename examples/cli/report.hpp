// examples/cli/report.hpp - what ppghr-estimate prints: a recording's windows decoded into rows,
// the MAE and coverage statistics, the rows as CSV or JSON, the --windows-out CSV, the --eval
// summary, and an output file written atomically. Host-side tool code, never part of the library.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "dispatch.hpp"
#include "error.hpp"

namespace cli {

/// One printed window.
struct Row {
  double time = 0;                                                                        ///< window start, s
  float hr = 0, hr_tracked = 0, confidence = 0, confidence_raw = 0, ref = std::nanf("");  ///< confidence NaN: none
  ppghr::SignalStatus status = ppghr::SignalStatus::ok;
};

/// A run's windows as rows: hr_tracked and confidence decoded with `spec` over the probability
/// vectors (calibrated with the runner's table), or with clamp (--track-clamp) the Monitor's
/// RecentMeanClamp and the window's own confidence. A window that is not ok: hr_tracked 0,
/// confidence 0; a regression head (no probabilities): confidence NaN on ok windows.
Expected<std::vector<Row>> decode_rows(const RunOut& run, const DecodeSpec& spec, bool clamp, const Runner& runner);

/// The MAE of the ok windows that have a reference, raw and decoded, and the decoded MAE at a
/// coverage: the ok windows sorted by confidence (most confident first, ties in window order),
/// the first ceil(p n / 100) of them.
struct Stats {
  std::size_t windows = 0, n = 0;  ///< rows seen; ok rows with a finite reference
  double sum_raw = 0, sum_dec = 0;
  std::vector<std::pair<float, double>> conf_err;  ///< (confidence, |decoded - ref|), in window order
  void add(const std::vector<Row>& rows);
  double mae_raw() const;      ///< NaN when n == 0
  double mae_decoded() const;  ///< NaN when n == 0
  /// NaN when n == 0 or (percent < 100) some confidence is not finite (a regression head).
  double coverage_mae(int percent) const;
};

constexpr int kCoverages[3] = {50, 80, 100};

/// v printed with the printf format fmt, or `none` when it is NaN / infinite.
std::string number_or(double v, const char* fmt, const char* none);

/// The rows, CSV (header time,hr,hr_tracked,confidence,status[,ref_hr]; hr with hr_decimals 0 or
/// 3, hr_tracked with tracked_decimals 0, 2 or 3, confidence %.4f, empty when NaN) or JSON (an
/// array of objects; hr, hr_tracked exact (%.9g), null when not ok; confidence %.4f or null).
void write_rows(std::FILE* out, const std::vector<Row>& rows, bool json, bool with_ref, int hr_decimals,
                int tracked_decimals);

/// --windows-out: the header, then every window of a recording, values exact (%.9g).
void write_windows_header(std::FILE* f);
void write_windows(std::FILE* f, const std::string& id, const std::string& subset, const std::vector<Row>& rows);

/// The --eval summary.
struct EvalReport {
  struct PerRecording {
    std::string id, subset;
    Stats stats;
  };
  std::string dataset, dir, model, decode, subset;  ///< subset: --subset ("" when all)
  std::vector<int> channels;                        ///< of the first recording
  bool accelerometer = true;                        ///< every recording had it
  bool decoding = false;                            ///< a decode mode other than none (the CSV says it)
  std::vector<PerRecording> recordings;
  Stats all;
  /// Recordings with at least one labelled ok window.
  int labelled() const;
};

/// The summary as JSON (the per-recording and overall MAE and coverage, %.4f, null when none) or
/// CSV (a line per recording and a closing "# ..." line with the overall numbers; needs labelled() > 0).
void write_eval(std::FILE* out, const EvalReport& e, bool json);

/// An output file written atomically: open() writes to "<path>.tmp<pid>" beside the target and
/// close() renames it onto the target when every write succeeded; a failure, or destruction before
/// close(), removes the temporary file, so the target is either the complete new output or what it
/// was before. An empty path is stdout; an existing target that is not a regular file (/dev/null,
/// /dev/stdout, a FIFO) is written directly. Every write is checked.
class OutFile {
 public:
  OutFile() = default;
  OutFile(const OutFile&) = delete;
  OutFile& operator=(const OutFile&) = delete;
  ~OutFile();
  Status open(const std::string& path);
  std::FILE* get() const { return f_; }
  /// Flushes, checks every write, and (a regular file) renames the temporary file onto the target.
  Status close();

 private:
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
  bool direct_ = false;
};

}  // namespace cli
