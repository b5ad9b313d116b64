// ppghr-estimate: heart rate from a recording with a model blob or the built-in spectral estimator.
//
//   ppghr-estimate --model M.ppgw|spectral --csv rec.csv [--rate HZ] [--ref ref.csv] [--decode MODE] [--format csv|json] [--out F]
//   ppghr-estimate --model M.ppgw|spectral --dataset DIR --recording ID [--decode MODE] ...
//   ppghr-estimate --model M.ppgw|spectral --eval DIR [--subset NAME] [--decode MODE] [--format csv|json] [--windows-out F.csv]
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
// Bad input: every error is one line on stderr and exit status 2. Inputs must be regular files (a
// directory, /dev/zero or a FIFO is refused before reading), a CSV line is at most 1 MiB and has no
// NUL byte, a UTF-8 byte-order mark before the header is skipped, CRLF line ends are accepted, the
// time column must increase line by line. --out and --windows-out are written to a temporary file
// beside the target and renamed onto it only when every byte was written (a failed run, e.g. a full
// disk, leaves no half-written file and an earlier file of that name intact); a target that exists
// and is not a regular file (/dev/null, /dev/stdout) is written directly, errors checked.
#include <ppghr/ppghr.hpp>
#include <ppghr/spectral/estimator.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <csignal>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "cli/decode.hpp"
#include "cli/json.hpp"

namespace {

// Temporary output files not yet renamed onto their targets (OutFile): die() removes them.
std::vector<std::string>& pending_outputs() {
  static std::vector<std::string> v;
  return v;
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "ppghr-estimate: error: %s\n", msg.c_str());
  for (const auto& p : pending_outputs()) std::remove(p.c_str());
  std::exit(2);
}

std::string errno_text() { return std::strerror(errno); }

constexpr int kMaxPpgChannels = 4;

// ---- input -------------------------------------------------------------------------------------

struct Recording {
  std::string name;              // for messages: the CSV path, or the data set's recording id
  std::string subset;            // data set only
  double rate_hz = 0;  // Hz, integer or not (e.g. 25.6)
  int ppg_channels = 1;          // C
  std::vector<float> ppg;        // N x C, sample-major; NaN = missing
  std::vector<float> acc;        // x, y, z per sample (sample-major); empty when the input has none
  std::string acc_source;        // where the accelerometer data is looked for (for messages)
  std::vector<float> ref_hr;     // per window k (NaN = none); empty when no reference
  float adc_min = 0, adc_max = 0;  // rails when known
  std::size_t samples() const { return ppg.size() / std::size_t(ppg_channels); }
};

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

constexpr std::size_t kMaxLineBytes = std::size_t(1) << 20;       // a CSV line
constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t(1) << 32;  // any input file (4 GiB)

// An input must be an existing regular file of at most kMaxFileBytes: a directory, a device such
// as /dev/zero (endless) or a FIFO is refused before anything is read.
void require_regular_file(const std::string& path, const char* what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) die(std::string("cannot open ") + what + "'" + path + "': " + errno_text());
  if (S_ISDIR(st.st_mode)) die(std::string("cannot read ") + what + "'" + path + "': it is a directory");
  if (!S_ISREG(st.st_mode)) die(std::string("cannot read ") + what + "'" + path + "': not a regular file");
  if (std::uintmax_t(st.st_size) > kMaxFileBytes)
    die(std::string("cannot read ") + what + "'" + path + "': " + std::to_string(st.st_size) + " bytes, more than 4 GiB");
}

std::ifstream open_or_die(const std::string& path) {
  require_regular_file(path, "");
  std::ifstream f(path, std::ios::binary);
  if (!f) die("cannot open '" + path + "': " + errno_text());
  return f;
}

// std::getline with limits: a line of more than kMaxLineBytes or with a NUL byte is an error
// (lineno: the number of the line being read, for the message). False at the end of the file.
bool read_line(std::ifstream& f, std::string& line, const std::string& path, int lineno) {
  line.clear();
  std::streambuf* sb = f.rdbuf();
  for (;;) {
    const int c = sb->sbumpc();
    if (c == std::char_traits<char>::eof()) return !line.empty();
    if (c == '\n') return true;
    if (c == '\0') die("'" + path + "' line " + std::to_string(lineno) + ": a NUL byte (not a text CSV file?)");
    if (line.size() >= kMaxLineBytes)
      die("'" + path + "' line " + std::to_string(lineno) + ": longer than " + std::to_string(kMaxLineBytes) + " bytes");
    line.push_back(static_cast<char>(c));
  }
}

// The header line, without a UTF-8 byte-order mark.
bool read_header(std::ifstream& f, std::string& line, const std::string& path) {
  if (!read_line(f, line, path, 1)) return false;
  if (line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);
  return true;
}

// Per-window reference from a CSV with columns time,hr (time = window start in seconds).
std::vector<float> read_ref_csv(const std::string& path) {
  auto f = open_or_die(path);
  std::string line;
  if (!read_header(f, line, path)) die("'" + path + "' is empty");
  const auto cols = split(line, ',');
  const auto t = std::find(cols.begin(), cols.end(), "time"), h = std::find(cols.begin(), cols.end(), "hr");
  if (t == cols.end() || h == cols.end())
    die("'" + path + "': a reference CSV needs the columns time,hr (window start in s, BPM); header is '" + line + "'");
  const std::size_t ti = t - cols.begin(), hi = h - cols.begin();
  std::vector<float> ref;
  int lineno = 1;
  while (read_line(f, line, path, lineno + 1)) {
    ++lineno;
    if (line.empty() || line == "\r") continue;
    const auto v = split(line, ',');
    float tv, hv;
    if (v.size() != cols.size() || !parse_float(v[ti], tv) || !parse_float(v[hi], hv))
      die("'" + path + "' line " + std::to_string(lineno) + ": cannot read '" + line + "'");
    const long k = std::lround(tv / ppghr::kStrideSeconds);
    if (k < 0 || std::fabs(tv - k * ppghr::kStrideSeconds) > 1e-3f)
      die("'" + path + "' line " + std::to_string(lineno) + ": time " + v[ti] + " is not a window start (0, 2, 4, ... s)");
    if (ref.size() <= static_cast<std::size_t>(k)) ref.resize(k + 1, std::nanf(""));
    ref[k] = hv;
  }
  return ref;
}

Recording read_csv(const std::string& path, double rate_opt) {
  Recording r;
  r.name = path;
  r.acc_source = "columns acc_x, acc_y, acc_z";
  auto f = open_or_die(path);
  std::string line;
  if (!read_header(f, line, path)) die("'" + path + "' is empty");
  const auto cols = split(line, ',');
  const std::string where = "'" + path + "': header '" + line + "'";
  for (std::size_t i = 0; i < cols.size(); ++i) {
    if (cols[i].empty()) die(where + ": column " + std::to_string(i + 1) + " has no name");
    if (std::count(cols.begin(), cols.end(), cols[i]) > 1) die(where + ": column '" + cols[i] + "' appears twice");
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
      if (col("ppg") >= 0) die(where + ": give the PPG as 'ppg' or as 'ppg0', 'ppg1', ..., not both");
      if (static_cast<int>(ippg.size()) != c)
        die(where + ": PPG channels are numbered from ppg0 without holes (ppg" + std::to_string(c) + " without ppg" +
            std::to_string(ippg.size()) + ")");
      ippg.push_back(col("ppg" + std::to_string(c)));
    }
  if (ippg.empty()) die("'" + path + "': the header has no 'ppg' column (header: '" + line + "'; expected e.g. time,ppg,acc_x,acc_y,acc_z or time,ppg0,ppg1,...)");
  if (ippg.size() > kMaxPpgChannels)
    die(where + ": " + std::to_string(ippg.size()) + " PPG channels, at most " + std::to_string(kMaxPpgChannels));
  r.ppg_channels = static_cast<int>(ippg.size());
  const long itime = col("time"), ihr = col("hr");
  const long iacc[3] = {col("acc_x"), col("acc_y"), col("acc_z")};
  const int n_acc = (iacc[0] >= 0) + (iacc[1] >= 0) + (iacc[2] >= 0);
  if (n_acc != 0 && n_acc != 3)
    die("'" + path + "': accelerometer columns come as the three acc_x, acc_y, acc_z (header: '" + line + "')");
  std::vector<float> times, hr_samples;
  int lineno = 1;
  while (read_line(f, line, path, lineno + 1)) {
    ++lineno;
    if (line.empty() || line == "\r") continue;
    const auto v = split(line, ',');
    if (v.size() != cols.size())
      die("'" + path + "' line " + std::to_string(lineno) + ": " + std::to_string(v.size()) + " values for " +
          std::to_string(cols.size()) + " columns");
    // Cell i as a number (empty or nan: NaN); `finite`: NaN is an error too.
    auto number = [&](long i, bool finite = false) {
      float x;
      if (!parse_float(v[i], x) || (finite && !std::isfinite(x)))
        die("'" + path + "' line " + std::to_string(lineno) + ": " + cols[i] + " '" + v[i] + "' is not a number");
      return x;
    };
    for (const long ip : ippg) r.ppg.push_back(number(ip));
    if (n_acc == 3)
      for (const long ia : iacc) r.acc.push_back(number(ia));
    if (itime >= 0) {
      const float t = number(itime, true);
      if (!times.empty() && !(t > times.back()))
        die("'" + path + "' line " + std::to_string(lineno) + ": time " + v[itime] + " does not come after the previous line's");
      times.push_back(t);
    }
    if (ihr >= 0) hr_samples.push_back(number(ihr));
  }
  if (r.ppg.empty()) die("'" + path + "' has a header but no samples");
  // The rate from the time column: its mean step, to the nearest integer when within 0.1% of one
  // (timestamp jitter; 102.4 Hz is 0.4% from 102), else to 0.001 Hz (non-integer rates such as 25.6
  // or 102.4 Hz; the times are read as float).
  double rate_from_time = 0;
  auto hz_text = [](double hz) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", hz);
    return std::string(b);
  };
  if (times.size() >= 2) {
    const double dt = (times.back() - times.front()) / double(times.size() - 1);
    if (!(dt > 0)) die("'" + path + "': the time column does not increase");
    const double integer = double(std::lround(1.0 / dt));
    rate_from_time = std::fabs(1.0 / dt - integer) <= 1e-3 * integer ? integer : std::round(1000.0 / dt) / 1000.0;
  }
  if (rate_opt > 0) {
    if (rate_from_time > 0 && std::fabs(rate_from_time - rate_opt) > 0.01 * rate_opt)
      die("--rate " + hz_text(rate_opt) + " Hz disagrees with the time column of '" + path + "' (" +
          hz_text(rate_from_time) + " Hz)");
    r.rate_hz = rate_opt;
  } else if (rate_from_time > 0) {
    r.rate_hz = rate_from_time;
  } else {
    die("'" + path + "' has no time column: give the sensor rate with --rate HZ");
  }
  if (!hr_samples.empty()) {  // per-sample reference -> per window mean
    const double fs = r.rate_hz, seconds = double(r.samples()) / fs;
    const std::size_t w = seconds < ppghr::kWindowSeconds ? 0 : std::size_t((seconds - ppghr::kWindowSeconds) / ppghr::kStrideSeconds) + 1;
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

// ---- the ../shared/data layout -------------------------------------------------------------------

struct IndexEntry {
  std::string id, subset;
  double fs = 0;
  int ppg_channels = -1;    // -1: index.json does not say (then from the file size / n_samples)
  long n_samples = -1, n_windows = -1;
  float adc_max = 0;        // from "ppg_adc": "<B>-bit" -> 2^B - 1; 0: unknown
  double acc_to_g = 1.0;    // from the accelerometer's unit (g, or m/s^2)
};

struct Dataset {
  std::string dir, index_path, name;  // name: index.json's "name", else the directory
  std::vector<IndexEntry> entries;
};

// The accelerometer's unit, from a description such as "N x 3 sample-major (x, y, z) in g":
// m/s^2 -> 1 / 9.80665, g (or nothing said) -> 1.
double acc_scale_from_text(const std::string& t) {
  if (t.find("m/s^2") != std::string::npos || t.find("m/s2") != std::string::npos || t.find("m s^-2") != std::string::npos)
    return 1.0 / 9.80665;
  return 1.0;
}

bool is_whole(double v) { return std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15; }

Dataset read_index(const std::string& dir) {
  Dataset ds;
  ds.dir = dir;
  ds.index_path = dir + "/index.json";
  ds.name = dir;
  const std::string& ip = ds.index_path;
  auto f = open_or_die(ip);
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  cli::json::Value root;
  std::string err;
  if (!cli::json::parse(text, root, err)) die("'" + ip + "' is not valid JSON: " + err);
  if (!root.is_object()) die("'" + ip + "' is not a JSON object");
  if (const auto* n = root.get("name"); n && n->is_string() && !n->string.empty()) ds.name = n->string;
  const auto* recs = root.get("recordings");
  if (!recs || !recs->is_array()) die("'" + ip + "' has no \"recordings\" array");
  // The data set's accelerometer unit: "format": {"files": {"rec/<id>.acc.f32": "... in g"}}.
  double acc_default = 1.0;
  if (const auto* fmt = root.get("format"))
    if (const auto* files = fmt->get("files"))
      if (const auto* a = files->get("rec/<id>.acc.f32"); a && a->is_string()) acc_default = acc_scale_from_text(a->string);
  for (std::size_t k = 0; k < recs->array.size(); ++k) {
    const auto& o = recs->array[k];
    const std::string at = "'" + ip + "': recording " + std::to_string(k) + " of \"recordings\"";
    if (!o.is_object()) die(at + " is not an object");
    IndexEntry e;
    const auto* id = o.get("id");
    if (!id || !id->is_string() || id->string.empty()) die(at + " has no \"id\" string");
    e.id = id->string;
    if (e.id.find('/') != std::string::npos) die(at + ": id '" + e.id + "' contains '/'");
    const std::string at_id = "'" + ip + "': recording '" + e.id + "'";
    for (const auto& prev : ds.entries)
      if (prev.id == e.id) die(at_id + " is listed twice");
    const auto* fs = o.get("fs_hz");
    if (!fs || !fs->is_number() || !(fs->number > 0) || !std::isfinite(fs->number))
      die(at_id + " has no positive number \"fs_hz\"");
    if (fs->number > 1e6) {
      char b[32];
      std::snprintf(b, sizeof b, "%g", fs->number);
      die(at_id + ": \"fs_hz\" " + b + " is not a sensor rate");
    }
    e.fs = fs->number;
    if (const auto* s = o.get("subset"); s && s->is_string()) e.subset = s->string;
    if (const auto* c = o.get("n_ppg_channels")) {
      if (!c->is_number() || !is_whole(c->number) || c->number < 1 || c->number > 64)
        die(at_id + ": \"n_ppg_channels\" is not a channel count (1..64)");
      e.ppg_channels = static_cast<int>(c->number);
    }
    if (const auto* n = o.get("n_samples")) {
      if (!n->is_number() || !is_whole(n->number) || n->number < 0) die(at_id + ": \"n_samples\" is not a sample count");
      e.n_samples = static_cast<long>(n->number);
    }
    if (const auto* n = o.get("n_windows")) {
      if (!n->is_number() || !is_whole(n->number) || n->number < 0) die(at_id + ": \"n_windows\" is not a window count");
      e.n_windows = static_cast<long>(n->number);
    }
    if (const auto* a = o.get("ppg_adc"); a && a->is_string()) {
      const int bits = std::atoi(a->string.c_str());
      if (bits >= 2 && bits <= 32 && a->string.find("-bit") != std::string::npos) e.adc_max = float(std::ldexp(1.0, bits) - 1.0);
    }
    e.acc_to_g = acc_default;
    if (const auto* u = o.get("acc_unit"); u && u->is_string()) e.acc_to_g = acc_scale_from_text(u->string);
    ds.entries.push_back(e);
  }
  return ds;
}

std::string read_bytes(const std::string& path) {
  auto f = open_or_die(path);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// A little-endian float32 file of frames of `frame` values; its size must be a whole number of frames.
std::vector<float> read_f32(const std::string& path, int frame = 1) {
  const std::string bytes = read_bytes(path);
  const std::size_t frame_bytes = 4u * std::size_t(frame);
  if (bytes.size() % frame_bytes != 0)
    die("'" + path + "': size " + std::to_string(bytes.size()) + " bytes is not a whole number of " +
        (frame == 1 ? std::string("float32 values") : std::to_string(frame) + "-value float32 frames (" + std::to_string(frame_bytes) + " bytes)"));
  std::vector<float> v(bytes.size() / 4);
  const ppghr::TensorSource src(reinterpret_cast<const unsigned char*>(bytes.data()), v.size());
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = src[i];
  return v;
}

bool file_exists(const std::string& path) { return static_cast<bool>(std::ifstream(path)); }

// with_acc: also reads rec/<id>.acc.f32 (N x 3, x y z, scaled to g), when it exists.
Recording read_dataset(const Dataset& ds, const IndexEntry& e, bool with_acc) {
  Recording r;
  r.name = e.id;
  r.subset = e.subset;
  r.rate_hz = e.fs;  // integer or not (the preprocessor takes 16..1024 Hz)
  const std::string base = ds.dir + "/rec/" + e.id;
  const std::string ppg_path = base + ".ppg.f32";
  r.acc_source = base + ".acc.f32";
  const std::string bytes = read_bytes(ppg_path);
  int ch = e.ppg_channels;
  if (ch < 0) {  // not in index.json: from the file size and n_samples, else one channel
    ch = 1;
    if (e.n_samples > 0) {
      const std::size_t values = bytes.size() / 4;
      if (bytes.size() % 4 != 0 || values % std::size_t(e.n_samples) != 0 || values == 0)
        die("'" + ppg_path + "': size " + std::to_string(bytes.size()) + " bytes is not a whole number of channels of " +
            std::to_string(e.n_samples) + " float32 samples (n_samples in index.json)");
      if (values / std::size_t(e.n_samples) > 64)  // the bound n_ppg_channels has in index.json
        die("'" + ppg_path + "': size " + std::to_string(bytes.size()) + " bytes makes " + std::to_string(values / std::size_t(e.n_samples)) +
            " channels of " + std::to_string(e.n_samples) + " float32 samples (n_samples in index.json); at most 64");
      ch = static_cast<int>(values / std::size_t(e.n_samples));
    }
  }
  r.ppg = read_f32(ppg_path, ch);
  r.ppg_channels = ch;
  if (r.ppg.empty()) die("'" + ppg_path + "' holds no samples");
  if (e.n_samples >= 0 && static_cast<long>(r.samples()) != e.n_samples)
    die("'" + ppg_path + "': " + std::to_string(r.samples()) + " samples of " + std::to_string(ch) + " channel(s), index.json says " +
        std::to_string(e.n_samples));
  if (with_acc && file_exists(r.acc_source)) {
    r.acc = read_f32(r.acc_source, 3);
    if (r.acc.size() != 3 * r.samples())
      die("'" + r.acc_source + "': " + std::to_string(r.acc.size() / 3) + " samples, not one per PPG sample (" +
          std::to_string(r.samples()) + ")");
    if (e.acc_to_g != 1.0)
      for (float& a : r.acc) a = static_cast<float>(a * e.acc_to_g);
  }
  const std::string hr_path = base + ".hr.f32";
  if (file_exists(hr_path)) r.ref_hr = read_f32(hr_path);
  // The labels (or index.json's n_windows) need (2 (W - 1) + 8) s of signal.
  const long w = !r.ref_hr.empty() ? static_cast<long>(r.ref_hr.size()) : e.n_windows;
  if (w > 0) {
    const double need_s = double(ppghr::kStrideSeconds) * double(w - 1) + ppghr::kWindowSeconds;
    // Compared as doubles: n_windows up to 1e15 at up to 1e6 Hz needs more samples than a size_t holds.
    const double need = std::ceil(need_s * e.fs - 1e-6);
    if (double(r.samples()) < need) {
      char nb[32];
      std::snprintf(nb, sizeof nb, "%.0f", need);
      die("'" + ppg_path + "': " + std::to_string(r.samples()) + " samples is shorter than its " + std::to_string(w) + " labels need (" +
          nb + " = (2 x " + std::to_string(w - 1) + " + 8) s at " + std::to_string(e.fs) + " Hz" +
          (!r.ref_hr.empty() ? ", labels in '" + hr_path + "')" : ", n_windows in index.json)"));
    }
  }
  if (e.adc_max > 0) r.adc_max = e.adc_max;
  return r;
}

// ---- PPG channel selection (--channels) ------------------------------------------------------------

// "all" -> empty (every channel of the recording); "0,2" -> {0, 2}.
std::vector<int> parse_channels(const std::string& s) {
  std::vector<int> out;
  if (s == "all") return out;
  for (const auto& t : split(s, ',')) {
    char* end = nullptr;
    const long c = std::strtol(t.c_str(), &end, 10);
    if (t.empty() || *end != '\0' || c < 0 || c >= 64) die("--channels '" + s + "': give 'all' or PPG channel numbers from 0, e.g. 0 or 0,2");
    if (std::find(out.begin(), out.end(), int(c)) != out.end()) die("--channels '" + s + "' names channel " + t + " twice");
    out.push_back(int(c));
  }
  if (out.empty()) die("--channels '" + s + "': no channel");
  if (out.size() > kMaxPpgChannels) die("--channels '" + s + "': at most " + std::to_string(kMaxPpgChannels) + " PPG channels");
  return out;
}

std::vector<int> resolve_channels(const std::vector<int>& sel, const Recording& r) {
  if (sel.empty()) {
    std::vector<int> all;
    for (int c = 0; c < r.ppg_channels && c < kMaxPpgChannels; ++c) all.push_back(c);
    return all;
  }
  for (int c : sel)
    if (c >= r.ppg_channels)
      die("--channels: '" + r.name + "' has " + std::to_string(r.ppg_channels) + " PPG channel(s) (0.." + std::to_string(r.ppg_channels - 1) +
          "), no channel " + std::to_string(c));
  return sel;
}

// ---- running an estimator --------------------------------------------------------------------------

// One window as the Monitor reported it (before decoding).
struct Window {
  double time = 0;
  ppghr::SignalStatus status = ppghr::SignalStatus::ok;
  float hr = 0, hr_clamped = 0, ref = std::nanf("");
};

struct RunOut {
  std::vector<Window> windows;
  std::vector<cli::Probs> probs;  // per window when the estimator has a probability vector (zeros when not ok)
  std::vector<int> channels;      // PPG channels used
  bool accelerometer = false;     // the accelerometer went in
  std::size_t acc_flat = 0;       // windows whose accelerometer held one value (WindowResult::acc_flat)
};

struct Options {
  ppghr::Tracking tracking = ppghr::Tracking::none;  // none or recent_mean_clamp (--track-clamp)
  float adc_min = 0, adc_max = 0;
  bool adc_given = false;
  std::vector<int> channels;  // --channels (empty: all)
};

// Starts Monitor M on est for recording r: the given front end, the options' tracking, the ADC
// rails from --adc-min / --adc-max or else the recording's; dies with the reason if init() refuses.
template <class M, class Est, class PreConfig>
void init_monitor(M& mon, Est& est, const PreConfig& preprocessing, const Recording& r, const Options& o) {
  typename M::Config cfg;
  cfg.preprocessing = preprocessing;
  cfg.tracking = o.tracking;
  if (o.adc_given) cfg.adc_min = o.adc_min, cfg.adc_max = o.adc_max;
  else cfg.adc_min = r.adc_min, cfg.adc_max = r.adc_max;
  const ppghr::DspStatus st = mon.init(est, cfg);
  if (st != ppghr::DspStatus::ok)
    die("sensor rate " + std::to_string(r.rate_hz) + " Hz of '" + r.name + "': " + ppghr::dsp_status_name(st));
}

// Streams a recording through a Monitor M (already init()ed): frames are the chosen PPG channels,
// then (acc_in_frame) the accelerometer x, y, z, or zeros when the recording has none.
template <class M>
RunOut stream(M& mon, const Recording& r, const std::vector<int>& ppg_ch, bool acc_in_frame) {
  constexpr std::size_t C = M::channels;
  const std::size_t P = ppg_ch.size(), n = r.samples();
  if (P + (acc_in_frame ? 3 : 0) != C) die("internal: frame layout");
  std::vector<float> frames(C * n, 0.f);
  std::vector<unsigned char> missing(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t c = 0; c < P; ++c) {
      const float x = r.ppg[i * std::size_t(r.ppg_channels) + std::size_t(ppg_ch[c])];
      frames[C * i + c] = x;
      if (std::isnan(x)) missing[i] = 1;
    }
    if (acc_in_frame && !r.acc.empty())
      for (std::size_t a = 0; a < 3; ++a) frames[C * i + P + a] = r.acc[3 * i + a];
  }
  RunOut out;
  out.channels = ppg_ch;
  out.accelerometer = acc_in_frame && !r.acc.empty();
  auto sink = [&](const ppghr::WindowResult& e) {
    if (e.status == ppghr::SignalStatus::too_short) return;
    Window w;
    w.time = e.start_s;
    w.status = e.status;
    w.hr = e.bpm;
    w.hr_clamped = e.bpm_tracked;
    out.acc_flat += e.acc_flat ? 1 : 0;
    if (e.index < r.ref_hr.size()) w.ref = r.ref_hr[e.index];
    out.windows.push_back(w);
    if constexpr (M::has_probabilities) {
      cli::Probs p{};
      if (e.ok() && e.probabilities) std::copy(e.probabilities, e.probabilities + ppghr::kNumClasses, p.begin());
      out.probs.push_back(p);
    }
  };
  // Feed in chunks of one second, as a sensor driver would; a missing PPG sample as a gap.
  const std::size_t chunk = std::max<std::size_t>(1, static_cast<std::size_t>(r.rate_hz));
  for (std::size_t i = 0; i < n;) {
    if (missing[i]) {
      (void)mon.push_gap(1, sink);
      ++i;
      continue;
    }
    std::size_t k = 0;
    while (k < chunk && i + k < n && !missing[i + k]) ++k;
    (void)mon.push(frames.data() + C * i, k, sink);
    i += k;
  }
  bool too_short = false;
  (void)mon.finish([&](const ppghr::WindowResult& e) {
    if (e.status == ppghr::SignalStatus::too_short) too_short = true;
    sink(e);
  });
  if (too_short)
    std::fprintf(stderr, "ppghr-estimate: '%s': %.1f s of signal is too short for one 8 s window (status too_short)\n",
                 r.name.c_str(), double(n) / r.rate_hz);
  if (out.accelerometer && out.acc_flat > 0)
    std::fprintf(stderr, "ppghr-estimate: note: '%s': the accelerometer held one value through %zu of %zu windows (stopped or stuck?): motion not seen there\n",
                 r.name.c_str(), out.acc_flat, out.windows.size());
  return out;
}

class Runner {
 public:
  virtual ~Runner() = default;
  virtual RunOut run(const Recording& r, const Options& o) = 0;
  /// The recording's accelerometer is read (PULSE needs it; the spectral estimator uses it when there).
  virtual bool wants_acc() const = 0;
  /// False for a regression head: no probability vector, so no confidence and no decoding.
  virtual bool has_probabilities() const = 0;
  /// The confidence calibration for decode mode `mode` (the recording with / without its
  /// accelerometer): the estimator's table where it has one (the spectral estimator), otherwise
  /// the identity (no knots: the raw confidence).
  virtual ppghr::Calibration calibration(const cli::DecodeSpec& mode, bool accelerometer) const {
    (void)mode;
    (void)accelerometer;
    return {};
  }
  /// The HMM the decoders run over this estimator's probabilities (default: the BAMI-1 prior).
  virtual cli::DecoderModel decoder_model() const { return {}; }
};

// Exits with one line naming the blob, the load status and where it failed, unless rep is ok.
void check_load(const ppghr::LoadReport& rep, const std::string& path) {
  if (rep.ok()) return;
  std::ostringstream m;
  m << "cannot load '" << path << "': " << ppghr::status_name(rep.status);
  if (rep.tensor_index >= 0) m << " at tensor " << rep.tensor_index << " '" << rep.tensor_name << "'";
  m << " (expected " << rep.expected << ", found " << rep.found << ", offset " << rep.offset << ")";
  die(m.str());
}

// A runner over the recording's chosen PPG channels (1..4): Self::run_c<P>(r, o, channels) for P of them.
template <class Self>
class MultiChannelRunner : public Runner {
 public:
  RunOut run(const Recording& r, const Options& o) override {
    const std::vector<int> ch = resolve_channels(o.channels, r);
    Self& self = static_cast<Self&>(*this);
    switch (ch.size()) {
      case 1: return self.template run_c<1>(r, o, ch);
      case 2: return self.template run_c<2>(r, o, ch);
      case 3: return self.template run_c<3>(r, o, ch);
      default: return self.template run_c<4>(r, o, ch);
    }
  }
};

// The networks this tool runs: every one of the library's registry (models/registry.hpp); their
// names, listed in errors.
std::string net_list() {
  std::string list;
  ppghr::registry::for_each([&](const auto& e) { list += (list.empty() ? "" : ", ") + std::string(e.name); });
  return list;
}

// A network: ResNet / MLP take one PPG channel, band-passed and z-scored per window
// (ResNetPreprocessor); PULSE takes one PPG channel + ACC x, y, z in sensor units
// (PulsePreprocessor::raw_config): the network normalises its input with its blob's constants.
// The PPG channel is 0, or the one --channels names.
template <class Net, class Pre>
class NetRunner final : public Runner {
  using M = ppghr::Monitor<Net, Pre>;
  static constexpr int C = M::channels;
  static_assert(C == 1 || C == 4, "a frame is PPG alone or PPG + ACC x, y, z");

 public:
  NetRunner(const std::vector<unsigned char>& blob, const std::string& path, const char* name)
      : net_(std::make_unique<Net>()), name_(name) {
    check_load(net_->load(blob.data(), blob.size()), path);
  }
  bool wants_acc() const override { return C == 4; }
  bool has_probabilities() const override { return M::has_probabilities; }

  RunOut run(const Recording& r, const Options& o) override {
    if (C == 4 && r.acc.empty())
      die("'" + r.name + "' has no accelerometer data (" + r.acc_source + "), which " + name_ +
          " needs: PULSE takes PPG + 3-axis accelerometer");
    const std::vector<int> ch = resolve_channels(o.channels, r);
    if (!o.channels.empty() && ch.size() != 1)
      die("--channels: " + name_ + " takes one PPG channel (e.g. --channels 0); the spectral estimator takes several");
    auto mon = std::make_unique<M>();
    if constexpr (C == 4) init_monitor(*mon, *net_, Pre::raw_config(r.rate_hz), r, o);
    else init_monitor(*mon, *net_, Pre::zscore_config(r.rate_hz), r, o);
    return stream(*mon, r, {ch.front()}, C == 4);
  }

 private:
  std::unique_ptr<Net> net_;
  std::string name_;
};

// Any SpecNet of the registry behind one type, so that SpectralNet<P, AnySpecNet>, its Monitor and
// the streaming code are compiled once per channel count P, not once per network (24 of them: the
// tool's compile time). The network is chosen at run time (set<Net>(), one allocation at set-up);
// predict() costs one virtual call more.
class AnySpecNet {
 public:
  using result_type = ppghr::Prediction<float>;
  static constexpr std::size_t input_size = ppghr::specnet::kInputSize;

  template <class Net>
  void set() {
    static_assert(Net::input_size == input_size && std::is_same_v<typename Net::result_type, result_type>,
                  "AnySpecNet: a 180-class network over the spectral features");
    impl_ = std::make_unique<Impl<Net>>();
  }
  ppghr::LoadReport load(const void* data, std::size_t size) noexcept { return impl_->load(data, size); }
  ppghr::LoadReport load_file(const char* path) noexcept { return impl_->load_file(path); }
  bool loaded() const noexcept { return impl_ && impl_->loaded(); }
  const result_type& predict(const float* features) noexcept { return impl_->predict(features); }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual ppghr::LoadReport load(const void* data, std::size_t size) noexcept = 0;
    virtual ppghr::LoadReport load_file(const char* path) noexcept = 0;
    virtual bool loaded() const noexcept = 0;
    virtual const result_type& predict(const float* features) noexcept = 0;
  };
  template <class Net>
  struct Impl final : Base {
    std::unique_ptr<Net> net = std::make_unique<Net>();
    ppghr::LoadReport load(const void* data, std::size_t size) noexcept override { return net->load(data, size); }
    ppghr::LoadReport load_file(const char* path) noexcept override { return net->load_file(path); }
    bool loaded() const noexcept override { return net->loaded(); }
    const result_type& predict(const float* features) noexcept override { return net->predict(features); }
  };
  std::unique_ptr<Base> impl_;
};

// A spectral network (SpecNet<N, W>): the spectral estimator's features of the chosen PPG channels
// (+ the accelerometer), then the network (SpectralNet<P, AnySpecNet>).
class SpectralNetRunner final : public MultiChannelRunner<SpectralNetRunner> {
 public:
  template <class Net>
  static std::unique_ptr<SpectralNetRunner> make(const std::vector<unsigned char>& blob, const std::string& path,
                                                 const char* name) {
    auto r = std::unique_ptr<SpectralNetRunner>(new SpectralNetRunner(blob, path, name));
    r->set_ = [](AnySpecNet& n) { n.set<Net>(); };
    // Load once up front so a bad blob fails here, before any recording is read.
    AnySpecNet probe;
    r->set_(probe);
    check_load(probe.load(r->blob_.data(), r->blob_.size()), r->path_);
    return r;
  }
  bool wants_acc() const override { return true; }
  bool has_probabilities() const override { return true; }

  template <int P>
  RunOut run_c(const Recording& r, const Options& o, const std::vector<int>& ch) {
    using Est = ppghr::SpectralNet<P, AnySpecNet>;
    using Pre = typename Est::preprocessor;
    using M = ppghr::Monitor<Est, Pre>;
    auto est = std::make_unique<Est>();
    set_(est->net());
    check_load(est->load(blob_.data(), blob_.size()), path_);
    const bool acc = !r.acc.empty();
    est->set_accelerometer(acc);
    if (!acc && !warned_no_acc_) {
      std::fprintf(stderr, "ppghr-estimate: note: no accelerometer: %s runs on the PPG spectra alone ('%s': no %s)\n",
                   name_.c_str(), r.name.c_str(), r.acc_source.c_str());
      warned_no_acc_ = true;
    }
    auto mon = std::make_unique<M>();
    init_monitor(*mon, *est, Est::preprocessing_config(r.rate_hz), r, o);
    return stream(*mon, r, ch, true);
  }

 private:
  SpectralNetRunner(const std::vector<unsigned char>& blob, const std::string& path, const char* name)
      : blob_(blob), path_(path), name_(name) {}
  std::vector<unsigned char> blob_;
  std::string path_, name_;
  void (*set_)(AnySpecNet&) = nullptr;  // AnySpecNet::set<Net> of this runner's network
  bool warned_no_acc_ = false;
};

std::unique_ptr<Runner> make_net_runner(const std::string& path, const std::string& arch, std::string& arch_out) {
  require_regular_file(path, "model ");
  std::ifstream f(path, std::ios::binary);
  if (!f) die("cannot open model '" + path + "': " + errno_text());
  const std::vector<unsigned char> blob((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (blob.size() < 24 || std::memcmp(blob.data(), "PPGW", 4) != 0) die("'" + path + "' is not a ppghr model blob (bad magic)");
  const std::uint64_t fp = ppghr::registry::read_fingerprint(blob.data(), blob.size());
  // The registry's network with this fingerprint; with --arch, it must be that one.
  std::unique_ptr<Runner> runner;
  std::string found_name;
  (void)ppghr::registry::visit(fp, [&](const auto& e) {
    using E = std::decay_t<decltype(e)>;
    using Net = typename E::type;
    found_name = e.name;
    if (!arch.empty() && arch != e.name) return;
    if constexpr (E::input == ppghr::registry::Input::spectral)
      runner = SpectralNetRunner::make<Net>(blob, path, e.name);
    else if constexpr (E::input == ppghr::registry::Input::pulse)
      runner = std::make_unique<NetRunner<Net, ppghr::PulsePreprocessor>>(blob, path, e.name);
    else
      runner = std::make_unique<NetRunner<Net, ppghr::ResNetPreprocessor>>(blob, path, e.name);
  });
  if (!arch.empty() && !ppghr::registry::visit(arch.c_str(), [](const auto&) {}))
    die("--arch " + arch + " is not a network this tool runs (" + net_list() + ")");
  if (!runner) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "0x%016llx", static_cast<unsigned long long>(fp));
    if (!found_name.empty())
      die("'" + path + "' is a blob for another network (" + found_name + "), not --arch " + arch);
    die("'" + path + "' is a blob for a network this tool does not run (architecture fingerprint " + hex +
        "; it runs " + net_list() + ")");
  }
  arch_out = found_name;
  return runner;
}

// The built-in spectral estimator for the recording's chosen PPG channels (1..4) + the
// accelerometer (zeros, and set_accelerometer(false), when the recording has none).
class SpectralRunner final : public MultiChannelRunner<SpectralRunner> {
 public:
  bool wants_acc() const override { return true; }
  bool has_probabilities() const override { return true; }
  ppghr::Calibration calibration(const cli::DecodeSpec& mode, bool accelerometer) const override {
    return cli::spectral_calibration(mode, accelerometer);
  }

  template <int P>
  RunOut run_c(const Recording& r, const Options& o, const std::vector<int>& ch) {
    using Est = ppghr::SpectralEstimator<P>;
    using Pre = typename Est::preprocessor;
    using M = ppghr::Monitor<Est, Pre>;
    auto est = std::make_unique<Est>();
    const bool acc = !r.acc.empty();
    est->set_accelerometer(acc);
    if (!acc && !warned_no_acc_) {
      std::fprintf(stderr, "ppghr-estimate: note: no accelerometer: motion not suppressed, confidence lowered ('%s': no %s)\n",
                   r.name.c_str(), r.acc_source.c_str());
      warned_no_acc_ = true;
    }
    auto mon = std::make_unique<M>();
    init_monitor(*mon, *est, Est::preprocessing_config(r.rate_hz), r, o);
    return stream(*mon, r, ch, true);
  }

 private:
  bool warned_no_acc_ = false;
};

// ---- decoding: a recording's windows -> the rows printed -------------------------------------------

struct Row {
  double time;
  float hr, hr_tracked, confidence, confidence_raw, ref;  // confidence NaN: no probability vector
  ppghr::SignalStatus status;
};

// decode: over the probability vectors; clamp (--track-clamp): hr_tracked from the Monitor's
// RecentMeanClamp, confidence from the window's own probabilities.
std::vector<Row> decode_rows(const RunOut& run, const cli::DecodeSpec& spec, bool clamp, const Runner& runner) {
  const std::size_t n = run.windows.size();
  std::vector<Row> rows(n);
  cli::Decoded d;
  if (runner.has_probabilities()) {
    std::vector<unsigned char> ok(n);
    for (std::size_t k = 0; k < n; ++k) ok[k] = run.windows[k].status == ppghr::SignalStatus::ok;
    d = cli::decode(clamp ? cli::DecodeSpec{} : spec, runner.decoder_model(), run.probs, ok);
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

// ---- metrics -----------------------------------------------------------------------------------

// The MAE of the ok windows that have a reference, raw and decoded, and the decoded MAE at a
// coverage: the ok windows sorted by confidence (most confident first, ties in window order),
// the first ceil(p n / 100) of them.
struct Stats {
  std::size_t windows = 0, n = 0;
  double sum_raw = 0, sum_dec = 0;
  std::vector<std::pair<float, double>> conf_err;  // (confidence, |decoded - ref|), in window order
  void add(const std::vector<Row>& rows) {
    for (const Row& r : rows) {
      ++windows;
      if (!std::isfinite(r.ref) || r.status != ppghr::SignalStatus::ok) continue;
      const double e_raw = std::fabs(double(r.hr) - double(r.ref)), e_dec = std::fabs(double(r.hr_tracked) - double(r.ref));
      sum_raw += e_raw;
      sum_dec += e_dec;
      conf_err.emplace_back(r.confidence, e_dec);
      ++n;
    }
  }
  double mae_raw() const { return n ? sum_raw / n : std::nan(""); }
  double mae_decoded() const { return n ? sum_dec / n : std::nan(""); }
  double coverage_mae(int percent) const {
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
};

constexpr int kCoverages[3] = {50, 80, 100};

// ---- output --------------------------------------------------------------------------------------

// v printed with fmt, or `none` when it is NaN / infinite.
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
void write_rows(std::FILE* out, const std::vector<Row>& rows, bool json, bool with_ref, int hr_decimals, int tracked_decimals) {
  const char* hr_fmt = hr_decimals == 0 ? "%.0f" : "%.3f";
  const char* tr_fmt = tracked_decimals == 0 ? "%.0f" : tracked_decimals == 2 ? "%.2f" : "%.3f";
  if (json) {
    std::fprintf(out, "[\n");
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      const bool ok = r.status == ppghr::SignalStatus::ok;
      std::fprintf(out, "  {\"time\": %.1f, \"hr\": %s, \"hr_tracked\": %s, \"confidence\": %s, \"status\": \"%s\"",
                   r.time, ok ? number_or(r.hr, "%.9g", "null").c_str() : "null", ok ? number_or(r.hr_tracked, "%.9g", "null").c_str() : "null",
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
                 ok ? number_or(r.hr_tracked, tr_fmt, "").c_str() : "", conf.c_str(), ppghr::signal_status_name(r.status));
    if (with_ref) std::fprintf(out, ",%s", number_or(r.ref, "%.3f", "").c_str());
    std::fprintf(out, "\n");
  }
}

// --windows-out: every window of every recording, values exact (%.9g: a float read back is the same float).
void write_windows_header(std::FILE* f) {
  std::fprintf(f, "recording,subset,index,time,ref_hr,hr,hr_decoded,confidence,confidence_raw,status\n");
}
void write_windows(std::FILE* f, const std::string& id, const std::string& subset, const std::vector<Row>& rows) {
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const Row& r = rows[k];
    const bool ok = r.status == ppghr::SignalStatus::ok;
    std::fprintf(f, "%s,%s,%zu,%.1f,%s,%s,%s,%s,%s,%s\n", id.c_str(), subset.c_str(), k, r.time, number_or(r.ref, "%.9g", "").c_str(),
                 ok ? number_or(r.hr, "%.9g", "").c_str() : "", ok ? number_or(r.hr_tracked, "%.9g", "").c_str() : "",
                 ok ? number_or(r.confidence, "%.9g", "").c_str() : "", ok ? number_or(r.confidence_raw, "%.9g", "").c_str() : "",
                 ppghr::signal_status_name(r.status));
  }
}

// An output file written atomically: open() writes to "<path>.tmp<pid>" beside the target and
// close() renames it onto the target when every write succeeded; any failure (a full disk, a
// file-size limit) removes the temporary file and exits 2, so the target is either the complete
// new output or what it was before. An empty path is stdout; an existing target that is not a
// regular file (/dev/null, /dev/stdout, a FIFO) is written directly. Every write is checked.
class OutFile {
 public:
  explicit OutFile(std::string path) : path_(std::move(path)) {
    if (path_.empty()) {
      f_ = stdout;
      return;
    }
    struct stat st {};
    if (::stat(path_.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) die("cannot write '" + path_ + "': it is a directory");
    direct_ = ::stat(path_.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
    tmp_ = direct_ ? path_ : path_ + ".tmp" + std::to_string(::getpid());
    f_ = std::fopen(tmp_.c_str(), "w");
    if (!f_) die("cannot write '" + path_ + "': " + errno_text());
    if (!direct_) pending_outputs().push_back(tmp_);
  }
  OutFile(const OutFile&) = delete;
  OutFile& operator=(const OutFile&) = delete;
  ~OutFile() {
    if (f_ && f_ != stdout) {  // not closed: an error path; leave no partial file
      std::fclose(f_);
      if (!direct_) std::remove(tmp_.c_str());
    }
    forget();
  }
  std::FILE* get() const { return f_; }
  /// Flushes, checks every write, and (a regular file) renames the temporary file onto the target.
  void close() {
    const bool write_error = std::ferror(f_) != 0;
    const int saved = errno;
    if (f_ == stdout) {
      if (std::fflush(stdout) != 0 || write_error) die(std::string("cannot write the output: ") + std::strerror(write_error ? saved : errno));
      f_ = nullptr;
      return;
    }
    std::FILE* f = f_;
    f_ = nullptr;
    const bool close_error = std::fclose(f) != 0;
    if (write_error || close_error) {
      const std::string why = std::strerror(write_error ? saved : errno);
      if (!direct_) std::remove(tmp_.c_str());
      die("cannot write '" + path_ + "': " + why + (direct_ ? "" : " (nothing written there)"));
    }
    if (!direct_ && std::rename(tmp_.c_str(), path_.c_str()) != 0) {
      const std::string why = errno_text();
      std::remove(tmp_.c_str());
      die("cannot write '" + path_ + "': " + why);
    }
    forget();
  }

 private:
  void forget() {
    auto& p = pending_outputs();
    if (!direct_) p.erase(std::remove(p.begin(), p.end(), tmp_), p.end());
  }
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
  bool direct_ = false;
};

void usage() {
  std::fprintf(stderr,
               "usage: ppghr-estimate --model M.ppgw|spectral (--csv FILE [--rate HZ] | --dataset DIR --recording ID | --eval DIR)\n"
               "                      [--ref REF.csv] [--arch NAME] [--channels all|0|0,2|...] [--decode MODE | --track | --track-clamp]\n"
               "                      [--format csv|json] [--out FILE] [--windows-out FILE.csv] [--adc-min X --adc-max Y] [--subset NAME]\n"
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
               "                    windows, MAE raw and decoded, decoded MAE at 50/80/100%% coverage\n"
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
               "no probabilities: hr and hr_tracked have 3 decimals, confidence is empty (CSV) / null (JSON).\n");
}

std::string json_number(double v, const char* fmt = "%.4f") { return number_or(v, fmt, "null"); }

std::string json_int_list(const std::vector<int>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace

int main(int argc, char** argv) {
  // Past a file-size limit (ulimit -f) a write fails with EFBIG instead of killing the process, so
  // OutFile reports it and removes its temporary file.
  std::signal(SIGXFSZ, SIG_IGN);
  std::string model, csv, dataset, recording, eval_dir, ref, arch, format = "csv", out_path, subset, windows_out;
  std::string decode_arg, channels_arg;
  bool track = false, track_clamp = false;
  double rate = 0;  // --rate, Hz (integer or not)
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--model") model = value();
    else if (a == "--csv") csv = value();
    else if (a == "--dataset") dataset = value();
    else if (a == "--recording") recording = value();
    else if (a == "--eval") eval_dir = value();
    else if (a == "--ref") ref = value();
    else if (a == "--arch") arch = value();
    else if (a == "--format") format = value();
    else if (a == "--out") out_path = value();
    else if (a == "--windows-out") windows_out = value();
    else if (a == "--subset") subset = value();
    else if (a == "--decode") decode_arg = value();
    else if (a == "--channels") channels_arg = value();
    else if (a == "--track") track = true;
    else if (a == "--track-clamp") track_clamp = true;
    else if (a == "--rate") {
      const std::string v = value();
      char* end = nullptr;
      const double r = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(r > 0) || !std::isfinite(r))
        die("--rate '" + v + "' is not a sensor rate in Hz (a positive number, e.g. 50 or 25.6)");
      rate = r;
    } else if (a == "--adc-min" || a == "--adc-max") {
      float v;
      if (!parse_float(value(), v) || !std::isfinite(v)) die(a + " needs a number");
      (a == "--adc-min" ? opt.adc_min : opt.adc_max) = v;
      opt.adc_given = true;
    } else if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else {
      usage();
      die("unknown option '" + a + "'");
    }
  }
  if (model.empty()) {
    usage();
    die("--model is required");
  }
  if (format != "csv" && format != "json") die("--format must be csv or json");
  const int inputs = !csv.empty() + !dataset.empty() + !eval_dir.empty();
  if (inputs != 1) {
    usage();
    die("give exactly one of --csv, --dataset, --eval");
  }
  // Decoding: --decode MODE, --track (= online), --track-clamp (the PULSE clamp); one of them.
  cli::DecodeSpec spec;
  if (track + track_clamp + !decode_arg.empty() > 1) {
    if (!(track && decode_arg == "online" && !track_clamp))
      die("give one of --decode, --track (= --decode online), --track-clamp");
  }
  if (track) spec.mode = cli::DecodeMode::online;
  if (!decode_arg.empty()) {
    std::string err;
    if (!cli::parse_decode(decode_arg, spec, err)) die(err);
  }
  opt.tracking = track_clamp ? ppghr::Tracking::recent_mean_clamp : ppghr::Tracking::none;
  if (!channels_arg.empty()) opt.channels = parse_channels(channels_arg);

  std::string arch_name;
  std::unique_ptr<Runner> runner;
  if (model == "spectral") {
    if (!arch.empty() && arch != "spectral") die("--arch " + arch + " with --model spectral");
    runner = std::make_unique<SpectralRunner>();
    arch_name = "spectral";
  } else {
    runner = make_net_runner(model, arch, arch_name);
  }
  if (spec.mode != cli::DecodeMode::none && !runner->has_probabilities())
    die((track ? std::string("--track") : "--decode " + spec.name()) + " needs a probability vector per window, and " + arch_name +
        " has a regression head (one BPM per window): use --track-clamp (the PULSE authors' clamp of the estimates) or no tracking");
  const std::string decode_name = track_clamp ? "track-clamp" : spec.name();
  const bool decoding = track_clamp || spec.mode != cli::DecodeMode::none;
  const bool with_acc = runner->wants_acc();
  std::unique_ptr<OutFile> wout;
  if (!windows_out.empty()) {
    wout = std::make_unique<OutFile>(windows_out);
    write_windows_header(wout->get());
  }

  if (!eval_dir.empty()) {
    const Dataset ds = read_index(eval_dir);
    struct PerRec {
      std::string id, subset;
      Stats s;
    };
    std::vector<PerRec> per;
    Stats all;
    std::vector<int> channels_used;
    bool acc_all = true;
    for (const auto& e : ds.entries) {
      if (!subset.empty() && e.subset != subset) continue;
      const Recording r = read_dataset(ds, e, with_acc);
      const RunOut run = runner->run(r, opt);
      if (per.empty()) channels_used = run.channels;
      acc_all = acc_all && run.accelerometer;
      const auto rows = decode_rows(run, spec, track_clamp, *runner);
      if (wout) write_windows(wout->get(), e.id, e.subset, rows);
      PerRec p{e.id, e.subset, {}};
      p.s.add(rows);
      all.add(rows);
      per.push_back(std::move(p));
    }
    if (wout) wout->close();
    int n_rec = 0;
    double sum_rec = 0, sum_rec_dec = 0;
    for (const auto& p : per)
      if (p.s.n) sum_rec += p.s.mae_raw(), sum_rec_dec += p.s.mae_decoded(), ++n_rec;
    if (per.empty()) die("no recording" + (subset.empty() ? std::string() : " of subset '" + subset + "'") + " in '" + ds.index_path + "'");
    if (n_rec == 0) die("no labelled ok window in the recordings" + (subset.empty() ? std::string() : " of subset '" + subset + "'") + " of '" + ds.index_path + "'");
    OutFile out_file(out_path);
    std::FILE* out = out_file.get();
    if (format == "json") {
      std::fprintf(out, "{\"dataset\": %s, \"dir\": %s, \"model\": %s, \"decode\": %s, \"channels\": %s, \"accelerometer\": %s,\n",
                   cli::json::quote(ds.name).c_str(), cli::json::quote(eval_dir).c_str(), cli::json::quote(arch_name).c_str(),
                   cli::json::quote(decode_name).c_str(), json_int_list(channels_used).c_str(), acc_all ? "true" : "false");
      if (!subset.empty()) std::fprintf(out, " \"subset\": %s,\n", cli::json::quote(subset).c_str());
      auto coverage = [](const Stats& s) {
        std::string c = "{";
        for (int i = 0; i < 3; ++i)
          c += (i ? ", \"" : "\"") + std::to_string(kCoverages[i]) + "\": " + json_number(s.coverage_mae(kCoverages[i]));
        return c + "}";
      };
      std::fprintf(out, " \"recordings\": [\n");
      for (std::size_t i = 0; i < per.size(); ++i) {
        const auto& p = per[i];
        std::fprintf(out,
                     "  {\"id\": %s, \"subset\": %s, \"windows\": %zu, \"ok\": %zu, \"mae_raw\": %s, \"mae_decoded\": %s, \"coverage\": %s}%s\n",
                     cli::json::quote(p.id).c_str(), cli::json::quote(p.subset).c_str(), p.s.windows, p.s.n,
                     json_number(p.s.mae_raw()).c_str(), json_number(p.s.mae_decoded()).c_str(), coverage(p.s).c_str(),
                     i + 1 < per.size() ? "," : "");
      }
      std::fprintf(out, " ],\n \"overall\": {\"recordings\": %d, \"windows\": %zu, \"ok\": %zu, \"mae_raw\": %s, \"mae_decoded\": %s, \"coverage\": %s}}\n",
                   n_rec, all.windows, all.n, json_number(all.mae_raw()).c_str(), json_number(all.mae_decoded()).c_str(),
                   coverage(all).c_str());
    } else {
      std::fprintf(out, "recording,subset,windows,ok,mae_raw,mae_decoded,mae_decoded_50,mae_decoded_80,mae_decoded_100\n");
      for (const auto& p : per) {
        std::fprintf(out, "%s,%s,%zu,%zu,%s,%s", p.id.c_str(), p.subset.c_str(), p.s.windows, p.s.n, number_or(p.s.mae_raw(), "%.3f", "").c_str(),
                     number_or(p.s.mae_decoded(), "%.3f", "").c_str());
        for (int c : kCoverages) std::fprintf(out, ",%s", number_or(p.s.coverage_mae(c), "%.3f", "").c_str());
        std::fprintf(out, "\n");
      }
      // The last line: test_shipped_models.sh reads its ": MAE x BPM".
      std::fprintf(out, "# %s on %d recordings%s: MAE %.3f BPM over %zu ok windows of %zu (mean of per-recording MAE %.3f)",
                   arch_name.c_str(), n_rec, subset.empty() ? "" : (" of " + subset).c_str(), all.mae_raw(), all.n, all.windows,
                   sum_rec / n_rec);
      if (decoding) std::fprintf(out, "; decoded (%s) %.3f BPM (per-recording mean %.3f)", decode_name.c_str(), all.mae_decoded(), sum_rec_dec / n_rec);
      std::fprintf(out, "; coverage 50%% %s, 80%% %s, 100%% %s BPM\n", number_or(all.coverage_mae(50), "%.3f", "n/a").c_str(),
                   number_or(all.coverage_mae(80), "%.3f", "n/a").c_str(), number_or(all.coverage_mae(100), "%.3f", "n/a").c_str());
    }
    out_file.close();
    return 0;
  }

  Recording r;
  if (!csv.empty()) {
    r = read_csv(csv, rate);
  } else {
    if (recording.empty()) die("--dataset needs --recording ID");
    const Dataset ds = read_index(dataset);
    const auto it = std::find_if(ds.entries.begin(), ds.entries.end(), [&](const IndexEntry& e) { return e.id == recording; });
    if (it == ds.entries.end()) die("no recording '" + recording + "' in '" + ds.index_path + "'");
    if (rate > 0 && rate != it->fs)
      die("--rate " + number_or(rate, "%g", "?") + " Hz disagrees with index.json (" + number_or(it->fs, "%g", "?") + " Hz)");
    r = read_dataset(ds, *it, with_acc);
  }
  if (!ref.empty()) r.ref_hr = read_ref_csv(ref);
  const RunOut run = runner->run(r, opt);
  const auto rows = decode_rows(run, spec, track_clamp, *runner);
  if (wout) {
    write_windows(wout->get(), r.name, r.subset, rows);
    wout->close();
  }
  OutFile out_file(out_path);
  std::FILE* out = out_file.get();
  const int hr_decimals = runner->has_probabilities() ? 0 : 3;
  const int tracked_decimals = !runner->has_probabilities() ? 3 : (spec.mode == cli::DecodeMode::offline_mean && !track_clamp) ? 2 : 0;
  write_rows(out, rows, format == "json", !r.ref_hr.empty(), hr_decimals, tracked_decimals);
  out_file.close();
  if (!r.ref_hr.empty()) {
    Stats m;
    m.add(rows);
    std::fprintf(stderr, "%s, %s: MAE %.3f BPM over %zu ok windows of %zu", r.name.c_str(), arch_name.c_str(), m.mae_raw(), m.n,
                 m.windows);
    if (decoding) std::fprintf(stderr, " (tracked: %.3f BPM)", m.mae_decoded());
    std::fprintf(stderr, "\n");
  }
  return 0;
}
