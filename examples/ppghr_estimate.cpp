// ppghr-estimate: heart rate from a recording with a model blob.
//
//   ppghr-estimate --model M.ppgw --csv rec.csv [--rate HZ] [--ref ref.csv] [--track | --track-clamp] [--format csv|json] [--out F]
//   ppghr-estimate --model M.ppgw --dataset DIR --recording ID [--track] ...
//   ppghr-estimate --model M.ppgw --eval DIR [--subset bami2] [--track]
//
// CSV input: a header naming the columns `ppg` (required), `acc_x`, `acc_y`, `acc_z` (required by
// the PULSE networks, else ignored), `time` (seconds, optional: gives the rate when --rate is
// absent) and `hr` (optional per-sample reference). An empty or `nan` PPG cell is a missing sample
// (status gap). Dataset input: the ../shared/data layout (index.json gives each recording's rate;
// rec/<id>.ppg.f32, .hr.f32, and .acc.f32 for PULSE).
// Output: one line per window: time (window start, s), hr, hr_tracked, confidence, status[, ref_hr].
// With a reference it prints the MAE of the ok windows (raw and tracked) to stderr.
// The network is recognised from the blob's architecture fingerprint (any ResNet1d<1..12>,
// Mlp<1..4>, PulseTeacher / PulseStudent with either head); --arch insists on one and reports a
// blob for another network as such.
// PULSE (pulse_teacher, pulse_student and their _cls 180-class heads) takes PPG + 3-axis ACC,
// resampled to 32 Hz and not normalised here (the network normalises its input with the constants
// in its blob). The regression heads (pulse_teacher, pulse_student) give one BPM per window, no
// probability vector: hr is printed with 3 decimals, confidence is empty (CSV) / null (JSON), and
// --track (HMM over probability vectors) is refused; --track-clamp works on the BPM values.
#include <ppghr/ppghr.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace {

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "ppghr-estimate: error: %s\n", msg.c_str());
  std::exit(2);
}

std::string errno_text() { return std::strerror(errno); }

// ---- input -------------------------------------------------------------------------------------

struct Recording {
  std::string name;
  int rate_hz = 0;
  std::vector<float> ppg;        // one value per sample; NaN = missing
  std::vector<float> acc;        // x, y, z per sample (sample-major); empty when the input has none
  std::string acc_source;        // where the accelerometer data is looked for (for messages)
  std::vector<float> ref_hr;     // per window k (NaN = none); empty when no reference
  float adc_min = 0, adc_max = 0;  // rails when known
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

std::ifstream open_or_die(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) die("cannot open '" + path + "': " + errno_text());
  return f;
}

// Per-window reference from a CSV with columns time,hr (time = window start in seconds).
std::vector<float> read_ref_csv(const std::string& path) {
  auto f = open_or_die(path);
  std::string line;
  if (!std::getline(f, line)) die("'" + path + "' is empty");
  const auto cols = split(line, ',');
  const auto t = std::find(cols.begin(), cols.end(), "time"), h = std::find(cols.begin(), cols.end(), "hr");
  if (t == cols.end() || h == cols.end())
    die("'" + path + "': a reference CSV needs the columns time,hr (window start in s, BPM); header is '" + line + "'");
  const std::size_t ti = t - cols.begin(), hi = h - cols.begin();
  std::vector<float> ref;
  int lineno = 1;
  while (std::getline(f, line)) {
    ++lineno;
    if (line.empty()) continue;
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

Recording read_csv(const std::string& path, int rate_opt) {
  Recording r;
  r.name = path;
  r.acc_source = "columns acc_x, acc_y, acc_z";
  auto f = open_or_die(path);
  std::string line;
  if (!std::getline(f, line)) die("'" + path + "' is empty");
  const auto cols = split(line, ',');
  auto col = [&](const char* name) -> long {
    const auto it = std::find(cols.begin(), cols.end(), name);
    return it == cols.end() ? -1 : static_cast<long>(it - cols.begin());
  };
  const long ippg = col("ppg"), itime = col("time"), ihr = col("hr");
  if (ippg < 0) die("'" + path + "': the header has no 'ppg' column (header: '" + line + "'; expected e.g. time,ppg,acc_x,acc_y,acc_z)");
  const long iacc[3] = {col("acc_x"), col("acc_y"), col("acc_z")};
  const int n_acc = (iacc[0] >= 0) + (iacc[1] >= 0) + (iacc[2] >= 0);
  if (n_acc != 0 && n_acc != 3)
    die("'" + path + "': accelerometer columns come as the three acc_x, acc_y, acc_z (header: '" + line + "')");
  std::vector<float> times, hr_samples;
  int lineno = 1;
  while (std::getline(f, line)) {
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
    r.ppg.push_back(number(ippg));
    if (n_acc == 3)
      for (const long ia : iacc) r.acc.push_back(number(ia));
    if (itime >= 0) times.push_back(number(itime, true));
    if (ihr >= 0) hr_samples.push_back(number(ihr));
  }
  if (r.ppg.empty()) die("'" + path + "' has a header but no samples");
  int rate_from_time = 0;
  if (times.size() >= 2) {
    const double dt = (times.back() - times.front()) / double(times.size() - 1);
    if (!(dt > 0)) die("'" + path + "': the time column does not increase");
    rate_from_time = static_cast<int>(std::lround(1.0 / dt));
    if (std::fabs(1.0 / dt - rate_from_time) > 0.01 * rate_from_time)
      die("'" + path + "': the time column gives " + std::to_string(1.0 / dt) + " Hz, not an integer rate");
  }
  if (rate_opt > 0) {
    if (rate_from_time > 0 && rate_from_time != rate_opt)
      die("--rate " + std::to_string(rate_opt) + " Hz disagrees with the time column of '" + path + "' (" +
          std::to_string(rate_from_time) + " Hz)");
    r.rate_hz = rate_opt;
  } else if (rate_from_time > 0) {
    r.rate_hz = rate_from_time;
  } else {
    die("'" + path + "' has no time column: give the sensor rate with --rate HZ");
  }
  if (!hr_samples.empty()) {  // per-sample reference -> per window mean
    const std::size_t w = r.ppg.size() / r.rate_hz < 8 ? 0 : (r.ppg.size() / r.rate_hz - 8) / 2 + 1;
    for (std::size_t k = 0; k < w; ++k) {
      double s = 0;
      std::size_t n = 0;
      for (std::size_t i = 2 * k * r.rate_hz; i < (2 * k + 8) * r.rate_hz && i < hr_samples.size(); ++i)
        if (std::isfinite(hr_samples[i])) s += hr_samples[i], ++n;
      r.ref_hr.push_back(n ? float(s / n) : std::nanf(""));
    }
  }
  return r;
}

// ---- the ../shared/data layout -------------------------------------------------------------------

struct IndexEntry {
  std::string id, subset, adc;
  int fs = 0, ppg_channels = 3;
  long n_samples = -1;
};

std::string json_string_field(const std::string& obj, const std::string& key) {
  const auto p = obj.find("\"" + key + "\"");
  if (p == std::string::npos) return "";
  const auto q1 = obj.find('"', obj.find(':', p) + 1);
  const auto q2 = obj.find('"', q1 + 1);
  return (q1 == std::string::npos || q2 == std::string::npos) ? "" : obj.substr(q1 + 1, q2 - q1 - 1);
}
long json_int_field(const std::string& obj, const std::string& key, long dflt) {
  const auto p = obj.find("\"" + key + "\"");
  if (p == std::string::npos) return dflt;
  return std::strtol(obj.c_str() + obj.find(':', p) + 1, nullptr, 10);
}

// The objects of index.json's "recordings" array (a small scanner, enough for that file).
std::vector<IndexEntry> read_index(const std::string& dir) {
  auto f = open_or_die(dir + "/index.json");
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto arr = text.find("\"recordings\"");
  if (arr == std::string::npos) die("'" + dir + "/index.json' has no \"recordings\" list");
  std::vector<IndexEntry> out;
  std::size_t i = text.find('[', arr) + 1;
  int depth = 0;
  std::size_t start = 0;
  bool in_str = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (in_str) {
      if (c == '\\') ++i;
      else if (c == '"') in_str = false;
      continue;
    }
    if (c == '"') in_str = true;
    else if (c == '{') {
      if (depth++ == 0) start = i;
    } else if (c == '}') {
      if (--depth == 0) {
        const std::string obj = text.substr(start, i - start + 1);
        IndexEntry e;
        e.id = json_string_field(obj, "id");
        e.subset = json_string_field(obj, "subset");
        e.adc = json_string_field(obj, "ppg_adc");
        e.fs = static_cast<int>(json_int_field(obj, "fs_hz", 0));
        e.ppg_channels = static_cast<int>(json_int_field(obj, "n_ppg_channels", 3));
        e.n_samples = json_int_field(obj, "n_samples", -1);
        if (!e.id.empty()) out.push_back(e);
      }
    } else if (c == ']' && depth == 0) {
      break;
    }
  }
  return out;
}

std::vector<float> read_f32(const std::string& path) {
  auto f = open_or_die(path);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.size() % 4 != 0) die("'" + path + "' is not a float32 file (size " + std::to_string(bytes.size()) + ")");
  std::vector<float> v(bytes.size() / 4);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = ppghr::TensorSource(reinterpret_cast<const unsigned char*>(bytes.data()), v.size())[i];
  return v;
}

// with_acc: also reads rec/<id>.acc.f32 (N x 3, x y z), when it exists.
Recording read_dataset(const std::string& dir, const IndexEntry& e, bool with_acc) {
  Recording r;
  r.name = e.id;
  r.rate_hz = e.fs;
  r.acc_source = dir + "/rec/" + e.id + ".acc.f32";
  if (e.fs <= 0) die("index.json gives no valid fs_hz for '" + e.id + "'");
  const auto ppg = read_f32(dir + "/rec/" + e.id + ".ppg.f32");
  const int ch = e.ppg_channels > 0 ? e.ppg_channels : 1;
  if (ppg.size() % ch != 0) die("'" + e.id + ".ppg.f32' is not a whole number of " + std::to_string(ch) + "-channel samples");
  r.ppg.resize(ppg.size() / ch);
  for (std::size_t i = 0; i < r.ppg.size(); ++i) r.ppg[i] = ppg[i * ch];  // channel 0
  if (e.n_samples >= 0 && static_cast<long>(r.ppg.size()) != e.n_samples)
    die("'" + e.id + "': " + std::to_string(r.ppg.size()) + " samples, index.json says " + std::to_string(e.n_samples));
  if (with_acc && std::ifstream(r.acc_source)) {
    r.acc = read_f32(r.acc_source);
    if (r.acc.size() != 3 * r.ppg.size())
      die("'" + r.acc_source + "': " + std::to_string(r.acc.size()) + " values, not 3 per PPG sample (" +
          std::to_string(3 * r.ppg.size()) + ")");
  }
  std::ifstream hr(dir + "/rec/" + e.id + ".hr.f32");
  if (hr) r.ref_hr = read_f32(dir + "/rec/" + e.id + ".hr.f32");
  if (e.adc == "12-bit") r.adc_max = 4095.f;
  if (e.adc == "16-bit") r.adc_max = 65535.f;
  return r;
}

// ---- running a network ---------------------------------------------------------------------------

struct Row {
  double time;
  float hr, hr_tracked, confidence, ref;  // confidence NaN: the network has no probability vector
  ppghr::SignalStatus status;
};

struct Options {
  ppghr::Tracking tracking = ppghr::Tracking::none;
  float adc_min = 0, adc_max = 0;
  bool adc_given = false;
};

// A network the tool runs, with its front end: ResNet / MLP take PPG alone, band-passed and
// z-scored per window (ResNetPreprocessor); PULSE takes PPG + ACC x, y, z in sensor units
// (PulsePreprocessor::raw_config): the network normalises its input with its blob's constants.
template <class Net, class Pre = ppghr::ResNetPreprocessor>
struct NetInfo {
  using type = Net;
  using pre = Pre;
  const char* name;
};
template <class Net>
using PulseInfo = NetInfo<Net, ppghr::PulsePreprocessor>;
using PulseHead = ppghr::pulse::Head;

using KnownNets = std::tuple<NetInfo<ppghr::ResNet1d<1>>, NetInfo<ppghr::ResNet1d<2>>, NetInfo<ppghr::ResNet1d<3>>,
                             NetInfo<ppghr::ResNet1d<4>>, NetInfo<ppghr::ResNet1d<5>>, NetInfo<ppghr::ResNet1d<6>>,
                             NetInfo<ppghr::ResNet1d<7>>, NetInfo<ppghr::ResNet1d<8>>, NetInfo<ppghr::ResNet1d<9>>,
                             NetInfo<ppghr::ResNet1d<10>>, NetInfo<ppghr::ResNet1d<11>>, NetInfo<ppghr::ResNet1d<12>>,
                             NetInfo<ppghr::Mlp<1>>, NetInfo<ppghr::Mlp<2>>, NetInfo<ppghr::Mlp<3>>, NetInfo<ppghr::Mlp<4>>,
                             PulseInfo<ppghr::PulseTeacher<PulseHead::regression>>,
                             PulseInfo<ppghr::PulseTeacher<PulseHead::classes>>,
                             PulseInfo<ppghr::PulseStudent<PulseHead::regression>>,
                             PulseInfo<ppghr::PulseStudent<PulseHead::classes>>>;
const KnownNets kNets{{"resnet1"}, {"resnet2"}, {"resnet3"}, {"resnet4"}, {"resnet5"}, {"resnet6"},
                      {"resnet7"}, {"resnet8"}, {"resnet9"}, {"resnet10"}, {"resnet11"}, {"resnet12"},
                      {"mlp1"},    {"mlp2"},    {"mlp3"},    {"mlp4"},
                      {"pulse_teacher"}, {"pulse_teacher_cls"}, {"pulse_student"}, {"pulse_student_cls"}};
const char* const kNetList = "resnet1..resnet12, mlp1..mlp4, pulse_teacher, pulse_teacher_cls, pulse_student, pulse_student_cls";

class Runner {
 public:
  virtual ~Runner() = default;
  virtual std::vector<Row> run(const Recording& r, const Options& o) = 0;
  /// 1: PPG; 4: PPG + ACC x, y, z (the recording must have acc).
  virtual int channels() const = 0;
  /// False for a regression head: no probability vector, so no confidence and no --track.
  virtual bool has_probabilities() const = 0;
};

template <class Net, class Pre>
class RunnerFor final : public Runner {
  using M = ppghr::Monitor<Net, Pre>;

 public:
  RunnerFor(const std::vector<unsigned char>& blob, const std::string& path, const char* name)
      : net_(std::make_unique<Net>()), name_(name) {
    const ppghr::LoadReport rep = net_->load(blob.data(), blob.size());
    if (!rep.ok()) {
      std::ostringstream m;
      m << "cannot load '" << path << "': " << ppghr::status_name(rep.status);
      if (rep.tensor_index >= 0) m << " at tensor " << rep.tensor_index << " '" << rep.tensor_name << "'";
      m << " (expected " << rep.expected << ", found " << rep.found << ", offset " << rep.offset << ")";
      die(m.str());
    }
  }
  int channels() const override { return M::channels; }
  bool has_probabilities() const override { return M::has_probabilities; }

  std::vector<Row> run(const Recording& r, const Options& o) override {
    constexpr std::size_t C = M::channels;
    static_assert(C == 1 || C == 4, "a frame is PPG alone or PPG + ACC x, y, z");
    if (C == 4 && r.acc.empty())
      die("'" + r.name + "' has no accelerometer data (" + r.acc_source + "), which " + name_ +
          " needs: PULSE takes PPG + 3-axis accelerometer");
    auto mon = std::make_unique<M>();
    typename M::Config cfg;
    if constexpr (C == 4) cfg.preprocessing = Pre::raw_config(r.rate_hz);
    else cfg.preprocessing = Pre::zscore_config(r.rate_hz);
    cfg.tracking = o.tracking;
    if (o.adc_given) cfg.adc_min = o.adc_min, cfg.adc_max = o.adc_max;
    else cfg.adc_min = r.adc_min, cfg.adc_max = r.adc_max;
    const ppghr::DspStatus st = mon->init(*net_, cfg);
    if (st != ppghr::DspStatus::ok)
      die("sensor rate " + std::to_string(r.rate_hz) + " Hz of '" + r.name + "': " + ppghr::dsp_status_name(st));
    // Frames as the monitor takes them: PPG, then (PULSE) ACC x, y, z of the same sample.
    std::vector<float> frames(C * r.ppg.size());
    for (std::size_t i = 0; i < r.ppg.size(); ++i) {
      frames[C * i] = r.ppg[i];
      for (std::size_t a = 1; a < C; ++a) frames[C * i + a] = r.acc[3 * i + a - 1];
    }
    std::vector<Row> rows;
    auto sink = [&](const ppghr::WindowResult& e) {
      Row row{e.start_s, e.bpm, e.bpm_tracked, M::has_probabilities ? e.confidence : std::nanf(""), std::nanf(""), e.status};
      if (e.index < r.ref_hr.size()) row.ref = r.ref_hr[e.index];
      if (e.status != ppghr::SignalStatus::too_short) rows.push_back(row);
    };
    // Feed in chunks of one second, as a sensor driver would; a missing PPG sample as a gap.
    const std::size_t chunk = static_cast<std::size_t>(r.rate_hz);
    for (std::size_t i = 0; i < r.ppg.size();) {
      if (std::isnan(r.ppg[i])) {
        (void)mon->push_gap(1, sink);
        ++i;
        continue;
      }
      std::size_t n = 0;
      while (n < chunk && i + n < r.ppg.size() && !std::isnan(r.ppg[i + n])) ++n;
      (void)mon->push(frames.data() + C * i, n, sink);
      i += n;
    }
    bool too_short = false;
    (void)mon->finish([&](const ppghr::WindowResult& e) {
      if (e.status == ppghr::SignalStatus::too_short) too_short = true;
      sink(e);
    });
    if (too_short)
      std::fprintf(stderr, "ppghr-estimate: '%s': %.1f s of signal is too short for one 8 s window (status too_short)\n",
                   r.name.c_str(), double(r.ppg.size()) / r.rate_hz);
    return rows;
  }

 private:
  std::unique_ptr<Net> net_;
  std::string name_;
};

std::unique_ptr<Runner> make_runner(const std::string& path, const std::string& arch, std::string& arch_out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) die("cannot open model '" + path + "': " + errno_text());
  const std::vector<unsigned char> blob((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (blob.size() < 24 || std::memcmp(blob.data(), "PPGW", 4) != 0) die("'" + path + "' is not a ppghr model blob (bad magic)");
  const std::uint64_t fp = ppghr::blob::read_u64(blob.data() + ppghr::blob::kOffFingerprint);
  std::unique_ptr<Runner> runner;
  std::string found_name;
  std::apply(
      [&](const auto&... info) {
        auto try_one = [&](const auto& i) {
          using Info = std::decay_t<decltype(i)>;
          using Net = typename Info::type;
          if (Net::fingerprint == fp) found_name = i.name;
          if (!runner && Net::fingerprint == fp && (arch.empty() || arch == i.name))
            runner = std::make_unique<RunnerFor<Net, typename Info::pre>>(blob, path, i.name);
        };
        (try_one(info), ...);
      },
      kNets);
  if (!arch.empty()) {
    bool known = false;
    std::apply([&](const auto&... info) { ((known = known || arch == info.name), ...); }, kNets);
    if (!known) die("--arch " + arch + " is not a network this tool runs (" + kNetList + ")");
  }
  if (!runner) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "0x%016llx", static_cast<unsigned long long>(fp));
    if (!found_name.empty())
      die("'" + path + "' is a blob for another network (" + found_name + "), not --arch " + arch);
    die("'" + path + "' is a blob for a network this tool does not run (architecture fingerprint " + hex +
        "; it runs " + kNetList + ")");
  }
  arch_out = found_name;
  return runner;
}

// ---- output --------------------------------------------------------------------------------------

struct Mae {
  double sum = 0, sum_tracked = 0;
  std::size_t n = 0, windows = 0, with_ref = 0;
  void add(const std::vector<Row>& rows) {
    for (const Row& r : rows) {
      ++windows;
      if (!std::isfinite(r.ref)) continue;
      ++with_ref;
      if (r.status != ppghr::SignalStatus::ok) continue;
      sum += std::fabs(r.hr - r.ref);
      sum_tracked += std::fabs(r.hr_tracked - r.ref);
      ++n;
    }
  }
  double mae() const { return n ? sum / n : std::nan(""); }
  double mae_tracked() const { return n ? sum_tracked / n : std::nan(""); }
};

// v printed with fmt, or `none` when it is NaN / infinite.
std::string number_or(float v, const char* fmt, const char* none) {
  if (!std::isfinite(v)) return none;
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, double(v));
  return buf;
}

// hr_decimals: 0 for a 180-class head (whole BPM), 3 for a regression head. A NaN confidence (a
// regression head has none) prints empty in CSV, null in JSON.
void write_rows(std::FILE* out, const std::vector<Row>& rows, bool json, bool with_ref, int hr_decimals) {
  const char* hr_fmt = hr_decimals == 0 ? "%.0f" : "%.3f";
  if (json) {
    std::fprintf(out, "[\n");
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      const bool ok = r.status == ppghr::SignalStatus::ok;
      std::fprintf(out, "  {\"time\": %.1f, \"hr\": %s, \"hr_tracked\": %s, \"confidence\": %s, \"status\": \"%s\"",
                   r.time, ok ? std::to_string(r.hr).c_str() : "null", ok ? std::to_string(r.hr_tracked).c_str() : "null",
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
                 ok ? number_or(r.hr_tracked, hr_fmt, "").c_str() : "", conf.c_str(), ppghr::signal_status_name(r.status));
    if (with_ref) std::fprintf(out, ",%s", number_or(r.ref, "%.3f", "").c_str());
    std::fprintf(out, "\n");
  }
}

void usage() {
  std::fprintf(stderr,
               "usage: ppghr-estimate --model M.ppgw (--csv FILE [--rate HZ] | --dataset DIR --recording ID | --eval DIR)\n"
               "                      [--ref REF.csv] [--arch NAME] [--track | --track-clamp] [--format csv|json]\n"
               "                      [--out FILE] [--adc-min X --adc-max Y] [--subset NAME]\n"
               "  --model M.ppgw    a blob for resnet1..resnet12, mlp1..mlp4, pulse_teacher, pulse_student\n"
               "                    (regression heads) or pulse_teacher_cls, pulse_student_cls (180 classes);\n"
               "                    the network is recognised from the blob, --arch NAME insists on one\n"
               "  --csv FILE        header with a 'ppg' column (and optional time, acc_x, acc_y, acc_z, hr);\n"
               "                    PULSE blobs need the three acc columns (accelerometer, any unit the\n"
               "                    model was trained with, e.g. g)\n"
               "  --rate HZ         sensor rate (integer Hz), when the CSV has no time column\n"
               "  --dataset DIR     ../shared/data layout (index.json + rec/<id>.ppg.f32, .hr.f32, and\n"
               "                    .acc.f32 for PULSE); with --recording ID\n"
               "  --eval DIR        every recording of a dataset: MAE per recording and overall\n"
               "  --ref REF.csv     reference heart rate per window (columns time,hr)\n"
               "  --track           hr_tracked = HMM forward filter over the probability vectors (not for\n"
               "                    pulse_teacher / pulse_student: a regression head has none)\n"
               "  --track-clamp     hr_tracked = the PULSE authors' 10-window clamp of the estimates\n"
               "  --adc-min/--adc-max  the PPG ADC's rails for clipping detection\n"
               "Output per window: time,hr,hr_tracked,confidence,status[,ref_hr]. confidence = probability\n"
               "mass within +-5 BPM of hr (0 for a window that is not ok). A regression head (pulse_teacher,\n"
               "pulse_student) gives one BPM per window and no probabilities: hr and hr_tracked have 3\n"
               "decimals, confidence is empty (CSV) / null (JSON).\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, csv, dataset, recording, eval_dir, ref, arch, format = "csv", out_path, subset;
  int rate = 0;
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
    else if (a == "--subset") subset = value();
    else if (a == "--track") opt.tracking = ppghr::Tracking::hmm;
    else if (a == "--track-clamp") opt.tracking = ppghr::Tracking::recent_mean_clamp;
    else if (a == "--rate") {
      const std::string v = value();
      char* end = nullptr;
      const long r = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || r <= 0 || r > 100000) die("--rate '" + v + "' is not a sensor rate in Hz (a positive integer)");
      rate = static_cast<int>(r);
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
  std::string arch_name;
  auto runner = make_runner(model, arch, arch_name);
  if (opt.tracking == ppghr::Tracking::hmm && !runner->has_probabilities())
    die("--track needs a probability vector per window, and " + arch_name +
        " has a regression head (one BPM per window): use --track-clamp (the PULSE authors' clamp of the estimates) or no tracking");
  const bool with_acc = runner->channels() == 4;

  if (!eval_dir.empty()) {
    const auto index = read_index(eval_dir);
    Mae all;
    double sum_rec = 0, sum_rec_tracked = 0;
    int n_rec = 0;
    std::printf("recording,windows,ok,mae%s\n", opt.tracking != ppghr::Tracking::none ? ",mae_tracked" : "");
    for (const auto& e : index) {
      if (!subset.empty() && e.subset != subset) continue;
      const Recording r = read_dataset(eval_dir, e, with_acc);
      const auto rows = runner->run(r, opt);
      Mae m;
      m.add(rows);
      all.add(rows);
      if (m.n) {
        sum_rec += m.mae();
        sum_rec_tracked += m.mae_tracked();
        ++n_rec;
      }
      std::printf("%s,%zu,%zu,%.3f", e.id.c_str(), m.windows, m.n, m.mae());
      if (opt.tracking != ppghr::Tracking::none) std::printf(",%.3f", m.mae_tracked());
      std::printf("\n");
    }
    if (n_rec == 0) die("no recording" + (subset.empty() ? std::string() : " of subset '" + subset + "'") + " in '" + eval_dir + "'");
    std::printf("# %s on %d recordings%s: MAE %.3f BPM over %zu ok windows of %zu (mean of per-recording MAE %.3f)",
                arch_name.c_str(), n_rec, subset.empty() ? "" : (" of " + subset).c_str(), all.mae(), all.n, all.windows,
                sum_rec / n_rec);
    if (opt.tracking != ppghr::Tracking::none) std::printf("; tracked %.3f (per-recording mean %.3f)", all.mae_tracked(), sum_rec_tracked / n_rec);
    std::printf("\n");
    return 0;
  }

  Recording r;
  if (!csv.empty()) {
    r = read_csv(csv, rate);
  } else {
    if (recording.empty()) die("--dataset needs --recording ID");
    const auto index = read_index(dataset);
    const auto it = std::find_if(index.begin(), index.end(), [&](const IndexEntry& e) { return e.id == recording; });
    if (it == index.end()) die("no recording '" + recording + "' in '" + dataset + "/index.json'");
    if (rate > 0 && rate != it->fs)
      die("--rate " + std::to_string(rate) + " Hz disagrees with index.json (" + std::to_string(it->fs) + " Hz)");
    r = read_dataset(dataset, *it, with_acc);
  }
  if (!ref.empty()) r.ref_hr = read_ref_csv(ref);
  const auto rows = runner->run(r, opt);
  std::FILE* out = stdout;
  if (!out_path.empty()) {
    out = std::fopen(out_path.c_str(), "w");
    if (!out) die("cannot write '" + out_path + "': " + errno_text());
  }
  write_rows(out, rows, format == "json", !r.ref_hr.empty(), runner->has_probabilities() ? 0 : 3);
  if (out != stdout) std::fclose(out);
  if (!r.ref_hr.empty()) {
    Mae m;
    m.add(rows);
    std::fprintf(stderr, "%s, %s: MAE %.3f BPM over %zu ok windows of %zu", r.name.c_str(), arch_name.c_str(), m.mae(), m.n,
                 m.windows);
    if (opt.tracking != ppghr::Tracking::none) std::fprintf(stderr, " (tracked: %.3f BPM)", m.mae_tracked());
    std::fprintf(stderr, "\n");
  }
  return 0;
}
