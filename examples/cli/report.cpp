// examples/cli/report.cpp - see report.hpp.
#include "report.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include <sys/stat.h>
#include <unistd.h>

#include "json.hpp"

namespace cli {

Expected<std::vector<Row>> decode_rows(const RunOut& run, const DecodeSpec& spec, bool clamp, const Runner& runner) {
  const std::size_t n = run.windows.size();
  std::vector<Row> rows(n);
  Decoded d;
  if (runner.has_probabilities()) {
    std::vector<unsigned char> ok(n);
    for (std::size_t k = 0; k < n; ++k) ok[k] = run.windows[k].status == ppghr::SignalStatus::ok;
    auto decoded = decode(clamp ? DecodeSpec{} : spec, runner.decoder_model(), run.probs, ok);
    if (!decoded) return decoded.error();
    d = std::move(*decoded);
  }
  const ppghr::Calibration cal = clamp ? ppghr::Calibration{} : runner.calibration(spec, run.accelerometer);
  for (std::size_t k = 0; k < n; ++k) {
    const Window& w = run.windows[k];
    Row& r = rows[k];
    r.time = w.time;
    r.status = w.status;
    r.ref = w.ref;
    r.hr = w.hr;
    const bool ok = w.status == ppghr::SignalStatus::ok;
    if (!runner.has_probabilities()) {
      r.hr_tracked = clamp ? w.hr_clamped : w.hr;
      r.confidence = r.confidence_raw = ok ? std::nanf("") : 0.f;
      continue;
    }
    if (!ok) {
      r.hr_tracked = 0;
      r.confidence = r.confidence_raw = 0;
      continue;
    }
    r.hr_tracked = clamp ? w.hr_clamped : d.bpm[k];
    r.confidence_raw = d.confidence[k];
    r.confidence = cal.apply(r.confidence_raw);
  }
  return rows;
}

// ---- statistics ----------------------------------------------------------------------------------

void Stats::add(const std::vector<Row>& rows) {
  for (const Row& r : rows) {
    ++windows;
    if (!std::isfinite(r.ref) || r.status != ppghr::SignalStatus::ok) continue;
    const double e_raw = std::fabs(double(r.hr) - double(r.ref)),
                 e_dec = std::fabs(double(r.hr_tracked) - double(r.ref));
    sum_raw += e_raw;
    sum_dec += e_dec;
    conf_err.emplace_back(r.confidence, e_dec);
    ++n;
  }
}

double Stats::mae_raw() const { return n ? sum_raw / n : std::nan(""); }
double Stats::mae_decoded() const { return n ? sum_dec / n : std::nan(""); }

double Stats::coverage_mae(int percent) const {
  if (n == 0) return std::nan("");
  if (percent >= 100) return mae_decoded();
  for (const auto& ce : conf_err)
    if (!std::isfinite(ce.first)) return std::nan("");  // no confidence (a regression head)
  std::vector<std::pair<float, double>> s = conf_err;
  std::stable_sort(s.begin(), s.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  const std::size_t keep = (std::size_t(percent) * n + 99) / 100;
  double sum = 0;
  for (std::size_t i = 0; i < keep; ++i) sum += s[i].second;
  return keep ? sum / keep : std::nan("");
}

// ---- rows ------------------------------------------------------------------------------------------

std::string number_or(double v, const char* fmt, const char* none) {
  if (!std::isfinite(v)) return none;
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// CSV, for people: hr with hr_decimals (0 for a 180-class head: whole BPM; 3 for a regression head),
// hr_tracked with tracked_decimals (the same; 2 for offline-mean). JSON, for programs: hr and
// hr_tracked exact (%.9g: the float read back is the same float; a whole BPM prints as an integer).
// A NaN confidence (a regression head has none) prints empty in CSV, null in JSON.
void write_rows(std::FILE* out, const std::vector<Row>& rows, bool json, bool with_ref, int hr_decimals,
                int tracked_decimals) {
  const char* hr_fmt = hr_decimals == 0 ? "%.0f" : "%.3f";
  const char* tr_fmt = tracked_decimals == 0 ? "%.0f" : tracked_decimals == 2 ? "%.2f" : "%.3f";
  if (json) {
    std::fprintf(out, "[\n");
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      const bool ok = r.status == ppghr::SignalStatus::ok;
      std::fprintf(out, "  {\"time\": %.1f, \"hr\": %s, \"hr_tracked\": %s, \"confidence\": %s, \"status\": \"%s\"",
                   r.time, ok ? number_or(r.hr, "%.9g", "null").c_str() : "null",
                   ok ? number_or(r.hr_tracked, "%.9g", "null").c_str() : "null",
                   number_or(r.confidence, "%.4f", "null").c_str(), ppghr::signal_status_name(r.status));
      if (with_ref) std::fprintf(out, ", \"ref_hr\": %s", number_or(r.ref, "%.3f", "null").c_str());
      std::fprintf(out, "}%s\n", i + 1 < rows.size() ? "," : "");
    }
    std::fprintf(out, "]\n");
    return;
  }
  std::fprintf(out, "time,hr,hr_tracked,confidence,status%s\n", with_ref ? ",ref_hr" : "");
  for (const Row& r : rows) {
    const bool ok = r.status == ppghr::SignalStatus::ok;
    const std::string conf = std::isnan(r.confidence) ? "" : ok ? number_or(r.confidence, "%.4f", "") : "0";
    std::fprintf(out, "%.1f,%s,%s,%s,%s", r.time, ok ? number_or(r.hr, hr_fmt, "").c_str() : "",
                 ok ? number_or(r.hr_tracked, tr_fmt, "").c_str() : "", conf.c_str(),
                 ppghr::signal_status_name(r.status));
    if (with_ref) std::fprintf(out, ",%s", number_or(r.ref, "%.3f", "").c_str());
    std::fprintf(out, "\n");
  }
}

void write_windows_header(std::FILE* f) {
  std::fprintf(f, "recording,subset,index,time,ref_hr,hr,hr_decoded,confidence,confidence_raw,status\n");
}

void write_windows(std::FILE* f, const std::string& id, const std::string& subset, const std::vector<Row>& rows) {
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const Row& r = rows[k];
    const bool ok = r.status == ppghr::SignalStatus::ok;
    std::fprintf(f, "%s,%s,%zu,%.1f,%s,%s,%s,%s,%s,%s\n", id.c_str(), subset.c_str(), k, r.time,
                 number_or(r.ref, "%.9g", "").c_str(), ok ? number_or(r.hr, "%.9g", "").c_str() : "",
                 ok ? number_or(r.hr_tracked, "%.9g", "").c_str() : "",
                 ok ? number_or(r.confidence, "%.9g", "").c_str() : "",
                 ok ? number_or(r.confidence_raw, "%.9g", "").c_str() : "", ppghr::signal_status_name(r.status));
  }
}

// ---- --eval ------------------------------------------------------------------------------------------

int EvalReport::labelled() const {
  int n = 0;
  for (const auto& p : recordings) n += p.stats.n ? 1 : 0;
  return n;
}

namespace {

std::string json_number(double v) { return number_or(v, "%.4f", "null"); }

std::string json_int_list(const std::vector<int>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

std::string json_coverage(const Stats& s) {
  std::string c = "{";
  for (int i = 0; i < 3; ++i)
    c += (i ? ", \"" : "\"") + std::to_string(kCoverages[i]) + "\": " + json_number(s.coverage_mae(kCoverages[i]));
  return c + "}";
}

}  // namespace

void write_eval(std::FILE* out, const EvalReport& e, bool json) {
  int n_rec = 0;
  double sum_rec = 0, sum_rec_dec = 0;
  for (const auto& p : e.recordings)
    if (p.stats.n) sum_rec += p.stats.mae_raw(), sum_rec_dec += p.stats.mae_decoded(), ++n_rec;
  const Stats& all = e.all;
  if (json) {
    std::fprintf(
        out, "{\"dataset\": %s, \"dir\": %s, \"model\": %s, \"decode\": %s, \"channels\": %s, \"accelerometer\": %s,\n",
        json::quote(e.dataset).c_str(), json::quote(e.dir).c_str(), json::quote(e.model).c_str(),
        json::quote(e.decode).c_str(), json_int_list(e.channels).c_str(), e.accelerometer ? "true" : "false");
    if (!e.subset.empty()) std::fprintf(out, " \"subset\": %s,\n", json::quote(e.subset).c_str());
    std::fprintf(out, " \"recordings\": [\n");
    for (std::size_t i = 0; i < e.recordings.size(); ++i) {
      const auto& p = e.recordings[i];
      std::fprintf(out,
                   "  {\"id\": %s, \"subset\": %s, \"windows\": %zu, \"ok\": %zu, \"mae_raw\": %s, \"mae_decoded\": "
                   "%s, \"coverage\": %s}%s\n",
                   json::quote(p.id).c_str(), json::quote(p.subset).c_str(), p.stats.windows, p.stats.n,
                   json_number(p.stats.mae_raw()).c_str(), json_number(p.stats.mae_decoded()).c_str(),
                   json_coverage(p.stats).c_str(), i + 1 < e.recordings.size() ? "," : "");
    }
    std::fprintf(out,
                 " ],\n \"overall\": {\"recordings\": %d, \"windows\": %zu, \"ok\": %zu, \"mae_raw\": %s, "
                 "\"mae_decoded\": %s, \"coverage\": %s}}\n",
                 n_rec, all.windows, all.n, json_number(all.mae_raw()).c_str(), json_number(all.mae_decoded()).c_str(),
                 json_coverage(all).c_str());
    return;
  }
  std::fprintf(out, "recording,subset,windows,ok,mae_raw,mae_decoded,mae_decoded_50,mae_decoded_80,mae_decoded_100\n");
  for (const auto& p : e.recordings) {
    std::fprintf(out, "%s,%s,%zu,%zu,%s,%s", p.id.c_str(), p.subset.c_str(), p.stats.windows, p.stats.n,
                 number_or(p.stats.mae_raw(), "%.3f", "").c_str(),
                 number_or(p.stats.mae_decoded(), "%.3f", "").c_str());
    for (int c : kCoverages) std::fprintf(out, ",%s", number_or(p.stats.coverage_mae(c), "%.3f", "").c_str());
    std::fprintf(out, "\n");
  }
  // The last line: test_shipped_models.sh reads its ": MAE x BPM".
  std::fprintf(out, "# %s on %d recordings%s: MAE %.3f BPM over %zu ok windows of %zu (mean of per-recording MAE %.3f)",
               e.model.c_str(), n_rec, e.subset.empty() ? "" : (" of " + e.subset).c_str(), all.mae_raw(), all.n,
               all.windows, sum_rec / n_rec);
  if (e.decoding)
    std::fprintf(out, "; decoded (%s) %.3f BPM (per-recording mean %.3f)", e.decode.c_str(), all.mae_decoded(),
                 sum_rec_dec / n_rec);
  std::fprintf(
      out, "; coverage 50%% %s, 80%% %s, 100%% %s BPM\n", number_or(all.coverage_mae(50), "%.3f", "n/a").c_str(),
      number_or(all.coverage_mae(80), "%.3f", "n/a").c_str(), number_or(all.coverage_mae(100), "%.3f", "n/a").c_str());
}

// ---- OutFile -------------------------------------------------------------------------------------------

OutFile::~OutFile() {
  if (f_ && f_ != stdout) {  // not closed: an error path; leave no partial file
    std::fclose(f_);
    if (!direct_) std::remove(tmp_.c_str());
  }
}

Status OutFile::open(const std::string& path) {
  path_ = path;
  if (path_.empty()) {
    f_ = stdout;
    return {};
  }
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    return fail("cannot write '" + path_ + "': it is a directory");
  direct_ = ::stat(path_.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
  tmp_ = direct_ ? path_ : path_ + ".tmp" + std::to_string(::getpid());
  f_ = std::fopen(tmp_.c_str(), "w");
  if (!f_) return fail("cannot write '" + path_ + "': " + std::strerror(errno));
  return {};
}

Status OutFile::close() {
  const bool write_error = std::ferror(f_) != 0;
  const int saved = errno;
  if (f_ == stdout) {
    f_ = nullptr;
    if (std::fflush(stdout) != 0 || write_error)
      return fail(std::string("cannot write the output: ") + std::strerror(write_error ? saved : errno));
    return {};
  }
  std::FILE* f = f_;
  f_ = nullptr;
  const bool close_error = std::fclose(f) != 0;
  if (write_error || close_error) {
    const std::string why = std::strerror(write_error ? saved : errno);
    if (!direct_) std::remove(tmp_.c_str());
    return fail("cannot write '" + path_ + "': " + why + (direct_ ? "" : " (nothing written there)"));
  }
  if (!direct_ && std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp_.c_str());
    return fail("cannot write '" + path_ + "': " + why);
  }
  return {};
}

}  // namespace cli
