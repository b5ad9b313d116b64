// examples/cli/recording.cpp - see recording.hpp.
#include "recording.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include <sys/stat.h>

#include <ppghr/core/tensor.hpp>
#include <ppghr/dsp/common.hpp>

#include "json.hpp"

namespace cli {
namespace {

std::string errno_text() { return std::strerror(errno); }

std::string hz_text(double hz) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", hz);
  return b;
}

Expected<std::ifstream> open_file(const std::string& path) {
  if (Status s = require_regular_file(path, ""); !s) return s.error();
  std::ifstream f(path, std::ios::binary);
  if (!f) return fail("cannot open '" + path + "': " + errno_text());
  return f;
}

// std::getline with limits: a line of more than kMaxLineBytes or with a NUL byte is an error
// (lineno: the number of the line being read, for the message). false at the end of the file.
Expected<bool> read_line(std::ifstream& f, std::string& line, const std::string& path, int lineno) {
  line.clear();
  std::streambuf* sb = f.rdbuf();
  for (;;) {
    const int c = sb->sbumpc();
    if (c == std::char_traits<char>::eof()) return !line.empty();
    if (c == '\n') return true;
    if (c == '\0') return fail("'" + path + "' line " + std::to_string(lineno) + ": a NUL byte (not a text CSV file?)");
    if (line.size() >= kMaxLineBytes)
      return fail("'" + path + "' line " + std::to_string(lineno) + ": longer than " + std::to_string(kMaxLineBytes) +
                  " bytes");
    line.push_back(static_cast<char>(c));
  }
}

// The header line, without a UTF-8 byte-order mark; an empty file is an error.
Status read_header(std::ifstream& f, std::string& line, const std::string& path) {
  auto got = read_line(f, line, path, 1);
  if (!got) return got.error();
  if (!*got) return fail("'" + path + "' is empty");
  if (line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
  return {};
}

// The accelerometer's unit, from a description such as "N x 3 sample-major (x, y, z) in g":
// m/s^2 -> 1 / 9.80665, g (or nothing said) -> 1.
double acc_scale_from_text(const std::string& t) {
  if (t.find("m/s^2") != std::string::npos || t.find("m/s2") != std::string::npos ||
      t.find("m s^-2") != std::string::npos)
    return 1.0 / 9.80665;
  return 1.0;
}

bool is_whole(double v) { return std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15; }

// Member `key` of object o (nullptr when absent or o is not an object).
const nlohmann::json* member(const nlohmann::json& o, const char* key) {
  if (!o.is_object()) return nullptr;
  const auto it = o.find(key);
  return it == o.end() ? nullptr : &*it;
}
const std::string* string_member(const nlohmann::json& o, const char* key) {
  const auto* m = member(o, key);
  return m && m->is_string() ? m->get_ptr<const std::string*>() : nullptr;
}

bool file_exists(const std::string& path) { return static_cast<bool>(std::ifstream(path)); }

}  // namespace

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream ss(line);
  while (std::getline(ss, cur, sep)) {
    while (!cur.empty() && (cur.back() == '\r' || cur.back() == ' ')) cur.pop_back();
    while (!cur.empty() && cur.front() == ' ') cur.erase(cur.begin());
    out.push_back(cur);
  }
  if (!line.empty() && line.back() == sep) out.emplace_back();
  return out;
}

bool parse_float(const std::string& s, float& v) {
  if (s.empty() || s == "nan" || s == "NaN" || s == "NA") {
    v = std::nanf("");
    return true;
  }
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0' || errno == ERANGE) return false;
  v = static_cast<float>(d);
  return true;
}

Status require_regular_file(const std::string& path, const char* what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fail(std::string("cannot open ") + what + "'" + path + "': " + errno_text());
  if (S_ISDIR(st.st_mode)) return fail(std::string("cannot read ") + what + "'" + path + "': it is a directory");
  if (!S_ISREG(st.st_mode)) return fail(std::string("cannot read ") + what + "'" + path + "': not a regular file");
  if (std::uintmax_t(st.st_size) > kMaxFileBytes)
    return fail(std::string("cannot read ") + what + "'" + path + "': " + std::to_string(st.st_size) +
                " bytes, more than 4 GiB");
  return {};
}

Expected<std::string> read_file(const std::string& path) {
  auto f = open_file(path);
  if (!f) return f.error();
  return std::string((std::istreambuf_iterator<char>(*f)), std::istreambuf_iterator<char>());
}

Expected<std::vector<float>> read_ref_csv(const std::string& path) {
  auto f = open_file(path);
  if (!f) return f.error();
  std::string line;
  if (Status s = read_header(*f, line, path); !s) return s.error();
  const auto cols = split(line, ',');
  const auto t = std::find(cols.begin(), cols.end(), "time"), h = std::find(cols.begin(), cols.end(), "hr");
  if (t == cols.end() || h == cols.end())
    return fail("'" + path + "': a reference CSV needs the columns time,hr (window start in s, BPM); header is '" +
                line + "'");
  const std::size_t ti = t - cols.begin(), hi = h - cols.begin();
  std::vector<float> ref;
  for (int lineno = 2;; ++lineno) {
    auto got = read_line(*f, line, path, lineno);
    if (!got) return got.error();
    if (!*got) break;
    if (line.empty() || line == "\r") continue;
    const auto v = split(line, ',');
    float tv, hv;
    if (v.size() != cols.size() || !parse_float(v[ti], tv) || !parse_float(v[hi], hv))
      return fail("'" + path + "' line " + std::to_string(lineno) + ": cannot read '" + line + "'");
    const long k = std::lround(tv / ppghr::kStrideSeconds);
    if (k < 0 || std::fabs(tv - k * ppghr::kStrideSeconds) > 1e-3f)
      return fail("'" + path + "' line " + std::to_string(lineno) + ": time " + v[ti] +
                  " is not a window start (0, 2, 4, ... s)");
    if (ref.size() <= static_cast<std::size_t>(k)) ref.resize(k + 1, std::nanf(""));
    ref[k] = hv;
  }
  return ref;
}

Expected<Recording> read_csv(const std::string& path, double rate_opt) {
  Recording r;
  r.name = path;
  r.acc_source = "columns acc_x, acc_y, acc_z";
  auto f = open_file(path);
  if (!f) return f.error();
  std::string line;
  if (Status s = read_header(*f, line, path); !s) return s.error();
  const auto cols = split(line, ',');
  const std::string where = "'" + path + "': header '" + line + "'";
  for (std::size_t i = 0; i < cols.size(); ++i) {
    if (cols[i].empty()) return fail(where + ": column " + std::to_string(i + 1) + " has no name");
    if (std::count(cols.begin(), cols.end(), cols[i]) > 1)
      return fail(where + ": column '" + cols[i] + "' appears twice");
  }
  auto col = [&](const std::string& name) -> long {
    const auto it = std::find(cols.begin(), cols.end(), name);
    return it == cols.end() ? -1 : static_cast<long>(it - cols.begin());
  };
  // PPG: `ppg` alone, or ppg0, ppg1, ... numbered from 0 without holes.
  std::vector<long> ippg;
  if (col("ppg") >= 0) ippg.push_back(col("ppg"));
  for (int c = 0; c < 16; ++c)
    if (col("ppg" + std::to_string(c)) >= 0) {
      if (col("ppg") >= 0) return fail(where + ": give the PPG as 'ppg' or as 'ppg0', 'ppg1', ..., not both");
      if (static_cast<int>(ippg.size()) != c)
        return fail(where + ": PPG channels are numbered from ppg0 without holes (ppg" + std::to_string(c) +
                    " without ppg" + std::to_string(ippg.size()) + ")");
      ippg.push_back(col("ppg" + std::to_string(c)));
    }
  if (ippg.empty())
    return fail("'" + path + "': the header has no 'ppg' column (header: '" + line +
                "'; expected e.g. time,ppg,acc_x,acc_y,acc_z or time,ppg0,ppg1,...)");
  if (ippg.size() > kMaxPpgChannels)
    return fail(where + ": " + std::to_string(ippg.size()) + " PPG channels, at most " +
                std::to_string(kMaxPpgChannels));
  r.ppg_channels = static_cast<int>(ippg.size());
  const long itime = col("time"), ihr = col("hr");
  const long iacc[3] = {col("acc_x"), col("acc_y"), col("acc_z")};
  const int n_acc = (iacc[0] >= 0) + (iacc[1] >= 0) + (iacc[2] >= 0);
  if (n_acc != 0 && n_acc != 3)
    return fail("'" + path + "': accelerometer columns come as the three acc_x, acc_y, acc_z (header: '" + line + "')");
  std::vector<float> times, hr_samples;
  for (int lineno = 2;; ++lineno) {
    auto got = read_line(*f, line, path, lineno);
    if (!got) return got.error();
    if (!*got) break;
    if (line.empty() || line == "\r") continue;
    const auto v = split(line, ',');
    if (v.size() != cols.size())
      return fail("'" + path + "' line " + std::to_string(lineno) + ": " + std::to_string(v.size()) + " values for " +
                  std::to_string(cols.size()) + " columns");
    // Cell i as a number (empty or nan: NaN); `finite`: NaN is an error too.
    std::string bad;
    auto number = [&](long i, bool finite = false) {
      float x = 0;
      if (bad.empty() && (!parse_float(v[i], x) || (finite && !std::isfinite(x))))
        bad = "'" + path + "' line " + std::to_string(lineno) + ": " + cols[i] + " '" + v[i] + "' is not a number";
      return x;
    };
    for (const long ip : ippg) r.ppg.push_back(number(ip));
    if (n_acc == 3)
      for (const long ia : iacc) r.acc.push_back(number(ia));
    if (!bad.empty()) return fail(bad);
    if (itime >= 0) {
      const float t = number(itime, true);
      if (!bad.empty()) return fail(bad);
      if (!times.empty() && !(t > times.back()))
        return fail("'" + path + "' line " + std::to_string(lineno) + ": time " + v[itime] +
                    " does not come after the previous line's");
      times.push_back(t);
    }
    if (ihr >= 0) hr_samples.push_back(number(ihr));
    if (!bad.empty()) return fail(bad);
  }
  if (r.ppg.empty()) return fail("'" + path + "' has a header but no samples");
  // The rate from the time column: its mean step, to the nearest integer when within 0.1% of one
  // (timestamp jitter; 102.4 Hz is 0.4% from 102), else to 0.001 Hz (non-integer rates such as 25.6
  // or 102.4 Hz; the times are read as float).
  double rate_from_time = 0;
  if (times.size() >= 2) {
    const double dt = (times.back() - times.front()) / double(times.size() - 1);
    if (!(dt > 0)) return fail("'" + path + "': the time column does not increase");
    const double integer = double(std::lround(1.0 / dt));
    rate_from_time = std::fabs(1.0 / dt - integer) <= 1e-3 * integer ? integer : std::round(1000.0 / dt) / 1000.0;
  }
  if (rate_opt > 0) {
    if (rate_from_time > 0 && std::fabs(rate_from_time - rate_opt) > 0.01 * rate_opt)
      return fail("--rate " + hz_text(rate_opt) + " Hz disagrees with the time column of '" + path + "' (" +
                  hz_text(rate_from_time) + " Hz)");
    r.rate_hz = rate_opt;
  } else if (rate_from_time > 0) {
    r.rate_hz = rate_from_time;
  } else {
    return fail("'" + path + "' has no time column: give the sensor rate with --rate HZ");
  }
  if (!hr_samples.empty()) {  // per-sample reference -> per window mean
    const double fs = r.rate_hz, seconds = double(r.samples()) / fs;
    const std::size_t w = seconds < ppghr::kWindowSeconds
                              ? 0
                              : std::size_t((seconds - ppghr::kWindowSeconds) / ppghr::kStrideSeconds) + 1;
    for (std::size_t k = 0; k < w; ++k) {
      double s = 0;
      std::size_t n = 0;
      const auto i0 = std::size_t(std::ceil(ppghr::kStrideSeconds * k * fs - 1e-9));
      const auto i1 = std::size_t(std::ceil((ppghr::kStrideSeconds * k + ppghr::kWindowSeconds) * fs - 1e-9));
      for (std::size_t i = i0; i < i1 && i < hr_samples.size(); ++i)
        if (std::isfinite(hr_samples[i])) s += hr_samples[i], ++n;
      r.ref_hr.push_back(n ? float(s / n) : std::nanf(""));
    }
  }
  return r;
}

Expected<Dataset> parse_index(const std::string& text, const std::string& dir) {
  Dataset ds;
  ds.dir = dir;
  ds.index_path = dir + "/index.json";
  ds.name = dir;
  const std::string& ip = ds.index_path;
  auto parsed = json::parse(text);
  if (!parsed) return fail("'" + ip + "' is not valid JSON: " + parsed.error().message);
  const nlohmann::json& root = *parsed;
  if (!root.is_object()) return fail("'" + ip + "' is not a JSON object");
  if (const auto* n = string_member(root, "name"); n && !n->empty()) ds.name = *n;
  const auto* recs = member(root, "recordings");
  if (!recs || !recs->is_array()) return fail("'" + ip + "' has no \"recordings\" array");
  // The data set's accelerometer unit: "format": {"files": {"rec/<id>.acc.f32": "... in g"}}.
  double acc_default = 1.0;
  if (const auto* fmt = member(root, "format"))
    if (const auto* files = member(*fmt, "files"))
      if (const auto* a = string_member(*files, "rec/<id>.acc.f32")) acc_default = acc_scale_from_text(*a);
  for (std::size_t k = 0; k < recs->size(); ++k) {
    const auto& o = (*recs)[k];
    const std::string at = "'" + ip + "': recording " + std::to_string(k) + " of \"recordings\"";
    if (!o.is_object()) return fail(at + " is not an object");
    IndexEntry e;
    const auto* id = string_member(o, "id");
    if (!id || id->empty()) return fail(at + " has no \"id\" string");
    e.id = *id;
    if (e.id.find('/') != std::string::npos) return fail(at + ": id '" + e.id + "' contains '/'");
    const std::string at_id = "'" + ip + "': recording '" + e.id + "'";
    for (const auto& prev : ds.entries)
      if (prev.id == e.id) return fail(at_id + " is listed twice");
    const auto* fs = member(o, "fs_hz");
    const double fs_hz = fs && fs->is_number() ? fs->get<double>() : 0.0;
    if (!(fs_hz > 0) || !std::isfinite(fs_hz)) return fail(at_id + " has no positive number \"fs_hz\"");
    if (fs_hz > 1e6) return fail(at_id + ": \"fs_hz\" " + hz_text(fs_hz) + " is not a sensor rate");
    e.fs = fs_hz;
    if (const auto* s = string_member(o, "subset")) e.subset = *s;
    if (const auto* c = member(o, "n_ppg_channels")) {
      const double v = c->is_number() ? c->get<double>() : -1.0;
      if (!is_whole(v) || v < 1 || v > kMaxIndexChannels)
        return fail(at_id + ": \"n_ppg_channels\" is not a channel count (1..64)");
      e.ppg_channels = static_cast<int>(v);
    }
    if (const auto* n = member(o, "n_samples")) {
      const double v = n->is_number() ? n->get<double>() : -1.0;
      if (!is_whole(v) || v < 0) return fail(at_id + ": \"n_samples\" is not a sample count");
      e.n_samples = static_cast<long>(v);
    }
    if (const auto* n = member(o, "n_windows")) {
      const double v = n->is_number() ? n->get<double>() : -1.0;
      if (!is_whole(v) || v < 0) return fail(at_id + ": \"n_windows\" is not a window count");
      e.n_windows = static_cast<long>(v);
    }
    if (const auto* a = string_member(o, "ppg_adc")) {
      const int bits = std::atoi(a->c_str());
      if (bits >= 2 && bits <= 32 && a->find("-bit") != std::string::npos)
        e.adc_max = float(std::ldexp(1.0, bits) - 1.0);
    }
    e.acc_to_g = acc_default;
    if (const auto* u = string_member(o, "acc_unit")) e.acc_to_g = acc_scale_from_text(*u);
    ds.entries.push_back(e);
  }
  return ds;
}

Expected<Dataset> read_index(const std::string& dir) {
  auto text = read_file(dir + "/index.json");
  if (!text) return text.error();
  return parse_index(*text, dir);
}

Expected<std::vector<float>> parse_f32(const std::string& bytes, int frame, const std::string& path) {
  const std::size_t frame_bytes = 4u * std::size_t(frame);
  if (bytes.size() % frame_bytes != 0)
    return fail("'" + path + "': size " + std::to_string(bytes.size()) + " bytes is not a whole number of " +
                (frame == 1
                     ? std::string("float32 values")
                     : std::to_string(frame) + "-value float32 frames (" + std::to_string(frame_bytes) + " bytes)"));
  std::vector<float> v(bytes.size() / 4);
  const ppghr::TensorSource src(reinterpret_cast<const unsigned char*>(bytes.data()), v.size());
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = src[i];
  return v;
}

Expected<std::vector<float>> read_f32(const std::string& path, int frame) {
  auto bytes = read_file(path);
  if (!bytes) return bytes.error();
  return parse_f32(*bytes, frame, path);
}

Expected<Recording> read_dataset(const Dataset& ds, const IndexEntry& e, bool with_acc) {
  Recording r;
  r.name = e.id;
  r.subset = e.subset;
  r.rate_hz = e.fs;  // integer or not (the preprocessor takes 16..1024 Hz)
  const std::string base = ds.dir + "/rec/" + e.id;
  const std::string ppg_path = base + ".ppg.f32";
  r.acc_source = base + ".acc.f32";
  auto bytes = read_file(ppg_path);
  if (!bytes) return bytes.error();
  int ch = e.ppg_channels;
  if (ch < 0) {  // not in index.json: from the file size and n_samples, else one channel
    ch = 1;
    if (e.n_samples > 0) {
      const std::size_t size = bytes->size(), values = size / 4;
      if (size % 4 != 0 || values % std::size_t(e.n_samples) != 0 || values == 0)
        return fail("'" + ppg_path + "': size " + std::to_string(size) +
                    " bytes is not a whole number of channels of " + std::to_string(e.n_samples) +
                    " float32 samples (n_samples in index.json)");
      if (values / std::size_t(e.n_samples) > std::size_t(kMaxIndexChannels))  // the bound n_ppg_channels has
        return fail("'" + ppg_path + "': size " + std::to_string(size) + " bytes makes " +
                    std::to_string(values / std::size_t(e.n_samples)) + " channels of " + std::to_string(e.n_samples) +
                    " float32 samples (n_samples in index.json); at most 64");
      ch = static_cast<int>(values / std::size_t(e.n_samples));
    }
  }
  auto ppg = parse_f32(*bytes, ch, ppg_path);
  if (!ppg) return ppg.error();
  r.ppg = std::move(*ppg);
  r.ppg_channels = ch;
  if (r.ppg.empty()) return fail("'" + ppg_path + "' holds no samples");
  if (e.n_samples >= 0 && static_cast<long>(r.samples()) != e.n_samples)
    return fail("'" + ppg_path + "': " + std::to_string(r.samples()) + " samples of " + std::to_string(ch) +
                " channel(s), index.json says " + std::to_string(e.n_samples));
  if (with_acc && file_exists(r.acc_source)) {
    auto acc = read_f32(r.acc_source, 3);
    if (!acc) return acc.error();
    r.acc = std::move(*acc);
    if (r.acc.size() != 3 * r.samples())
      return fail("'" + r.acc_source + "': " + std::to_string(r.acc.size() / 3) + " samples, not one per PPG sample (" +
                  std::to_string(r.samples()) + ")");
    if (e.acc_to_g != 1.0)
      for (float& a : r.acc) a = static_cast<float>(a * e.acc_to_g);
  }
  const std::string hr_path = base + ".hr.f32";
  if (file_exists(hr_path)) {
    auto hr = read_f32(hr_path);
    if (!hr) return hr.error();
    r.ref_hr = std::move(*hr);
  }
  // The labels (or index.json's n_windows) need (2 (W - 1) + 8) s of signal.
  const long w = !r.ref_hr.empty() ? static_cast<long>(r.ref_hr.size()) : e.n_windows;
  if (w > 0) {
    const double need_s = double(ppghr::kStrideSeconds) * double(w - 1) + ppghr::kWindowSeconds;
    // Compared as doubles: n_windows up to 1e15 at up to 1e6 Hz needs more samples than a size_t holds.
    const double need = std::ceil(need_s * e.fs - 1e-6);
    if (double(r.samples()) < need) {
      char nb[32];
      std::snprintf(nb, sizeof nb, "%.0f", need);
      return fail("'" + ppg_path + "': " + std::to_string(r.samples()) + " samples is shorter than its " +
                  std::to_string(w) + " labels need (" + nb + " = (2 x " + std::to_string(w - 1) + " + 8) s at " +
                  std::to_string(e.fs) + " Hz" +
                  (!r.ref_hr.empty() ? ", labels in '" + hr_path + "')" : ", n_windows in index.json)"));
    }
  }
  if (e.adc_max > 0) r.adc_max = e.adc_max;
  return r;
}

}  // namespace cli
