// Unit tests of ppghr-estimate's parts (examples/cli/, library ppghr_cli): the recording readers
// (CSV, reference CSV, index.json, float32 files, the data-set layout) on good and malformed input,
// the report (decode_rows, MAE / coverage against an independent computation here, CSV / JSON rows
// parsed back), dispatch (make_runner over the registry, the spectral estimator on a sine) and the
// argument parser. Every failure is an Error returned, never an exit: a test that hit one would
// stop the runner. The end-to-end behaviour stays in tests/cli/test_cli.sh.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <numeric>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/args.hpp"
#include "cli/dispatch.hpp"
#include "cli/json.hpp"
#include "cli/recording.hpp"
#include "cli/report.hpp"

namespace {

// A private temporary directory, removed with everything in it at exit.
struct TmpDir {
  std::string path;
  TmpDir() {
    const char* t = std::getenv("TMPDIR");
    path = std::string(t && *t ? t : "/tmp") + "/ppghr_cli_parts.XXXXXX";
    if (!::mkdtemp(path.data())) std::abort();
    ::mkdir((path + "/rec").c_str(), 0700);
  }
  ~TmpDir() {
    if (std::system(("rm -rf '" + path + "'").c_str()) != 0) std::fprintf(stderr, "cannot remove %s\n", path.c_str());
  }
};
const std::string& tmpdir() {
  static const TmpDir dir;
  return dir.path;
}

std::string write(const std::string& name, const std::string& bytes) {
  const std::string path = tmpdir() + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string f32_bytes(const std::vector<float>& v) {
  std::string s(v.size() * 4, '\0');
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::uint32_t u;
    std::memcpy(&u, &v[i], 4);
    for (int b = 0; b < 4; ++b) s[4 * i + b] = char((u >> (8 * b)) & 0xFF);  // little-endian
  }
  return s;
}

// The error message of r, "" when it holds a value (doctest may print the message either way).
template <class T>
std::string why(const cli::Expected<T>& r) {
  return r ? std::string() : r.error().message;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// "time,ppg" lines at 50 Hz for n samples, value = the sample index.
std::string csv_50hz(std::size_t n, const char* eol = "\n") {
  std::string s = std::string("time,ppg") + eol;
  char b[64];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, "%.2f,%zu%s", double(i) / 50.0, i, eol);
    s += b;
  }
  return s;
}

}  // namespace

// ---- CSV -----------------------------------------------------------------------------------------

TEST_CASE("read_csv: a good file, with a byte-order mark and CRLF line ends") {
  const auto r = cli::read_csv(write("bom.csv", "\xEF\xBB\xBF" + csv_50hz(500, "\r\n")), 0);
  REQUIRE_MESSAGE(r.ok(), why(r));
  CHECK(r->rate_hz == 50);
  CHECK(r->ppg_channels == 1);
  CHECK(r->samples() == 500);
  CHECK(r->ppg[123] == 123.f);
  CHECK(r->acc.empty());
  CHECK(r->ref_hr.empty());
}

TEST_CASE("read_csv: channels, accelerometer, per-sample hr averaged per window, missing samples") {
  // 10 s at 50 Hz: windows 0 (0..8 s) and 1 (2..10 s); hr = 60 for t < 5 s, 90 after.
  std::string s = "time,ppg1,acc_x,ppg0,acc_y,acc_z,hr,other\n";
  char b[160];
  for (int i = 0; i < 500; ++i) {
    const double t = i / 50.0;
    std::snprintf(b, sizeof b, "%.2f,%d,0.1,%s,0.2,0.3,%d,x\n", t, -i, i == 7 ? "nan" : std::to_string(i).c_str(),
                  t < 5 ? 60 : 90);
    s += b;
  }
  const auto r = cli::read_csv(write("multi.csv", s), 50);
  REQUIRE_MESSAGE(r.ok(), why(r));
  CHECK(r->ppg_channels == 2);
  CHECK(r->ppg[2 * 3 + 0] == 3.f);   // ppg0 first, whatever the column order
  CHECK(r->ppg[2 * 3 + 1] == -3.f);  // then ppg1
  CHECK(std::isnan(r->ppg[2 * 7]));
  REQUIRE(r->acc.size() == 3 * 500);
  CHECK(r->acc[3 * 9 + 2] == doctest::Approx(0.3f));
  REQUIRE(r->ref_hr.size() == 2);
  // Independent: window 0 = samples 0..399 (250 at 60, 150 at 90), window 1 = 100..499 (150 at 60, 250 at 90).
  CHECK(r->ref_hr[0] == doctest::Approx((250 * 60 + 150 * 90) / 400.0));
  CHECK(r->ref_hr[1] == doctest::Approx((150 * 60 + 250 * 90) / 400.0));
}

TEST_CASE("read_csv: malformed input is an error naming the file and line") {
  struct Case {
    const char* name;
    std::string bytes;
    const char* says;
  };
  const Case cases[] = {
      {"noppg.csv", "time,green,x\n0,1,2\n", "header has no 'ppg' column"},
      {"badnum.csv", "time,ppg\n0,1\n0.02,x\n", "line 3: ppg 'x' is not a number"},
      {"inf.csv", "time,ppg\n0,1\n0.02,1e999\n", "line 3: ppg '1e999' is not a number"},
      {"badtime.csv", "time,ppg\nnan,1\n", "line 2: time 'nan' is not a number"},
      {"nonincr.csv", "time,ppg\n0,1\n0.02,2\n0.02,3\n", "line 4: time 0.02 does not come after the previous line's"},
      {"nul.csv", std::string("time,ppg\n0,1\0\n", 14), "line 2: a NUL byte"},
      {"nulhead.csv", std::string("time,p\0pg\n", 10), "line 1: a NUL byte"},
      {"cells.csv", "time,ppg\n0,1,2\n", "line 2: 3 values for 2 columns"},
      {"empty.csv", "", "is empty"},
      {"headonly.csv", "time,ppg\n", "has a header but no samples"},
      {"twice.csv", "ppg,ppg\n1,2\n", "column 'ppg' appears twice"},
      {"noname.csv", "time,,ppg\n0,1,2\n", "column 2 has no name"},
      {"both.csv", "ppg,ppg0\n1,2\n", "not both"},
      {"hole.csv", "ppg0,ppg2\n1,2\n", "ppg2 without ppg1"},
      {"five.csv", "ppg0,ppg1,ppg2,ppg3,ppg4\n1,2,3,4,5\n", "5 PPG channels, at most 4"},
      {"acc2.csv", "time,ppg,acc_x,acc_y\n0,1,2,3\n", "the three acc_x, acc_y, acc_z"},
      {"norate.csv", "ppg\n1\n2\n", "has no time column: give the sensor rate with --rate HZ"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const auto r = cli::read_csv(write(c.name, c.bytes), 0);
    REQUIRE_FALSE(r.ok());
    CHECK_MESSAGE(contains(r.error().message, c.says), r.error().message);
    CHECK_FALSE(contains(r.error().message, "\n"));
  }
  // A very long line.
  const auto longline = cli::read_csv(write("long.csv", "ppg\n" + std::string(cli::kMaxLineBytes + 1, '1') + "\n"), 50);
  REQUIRE_FALSE(longline.ok());
  CHECK(contains(longline.error().message, "line 2: longer than 1048576 bytes"));
  // --rate against the time column; not a file.
  const auto rate = cli::read_csv(write("r.csv", csv_50hz(100)), 64);
  REQUIRE_FALSE(rate.ok());
  CHECK(contains(rate.error().message, "--rate 64 Hz disagrees with the time column of"));
  CHECK(contains(cli::read_csv(tmpdir(), 50).error().message, "it is a directory"));
  CHECK(contains(cli::read_csv("/dev/zero", 50).error().message, "not a regular file"));
  CHECK(contains(cli::read_csv(tmpdir() + "/nope.csv", 50).error().message, "cannot open '"));
}

TEST_CASE("read_ref_csv: window starts, holes are NaN, errors") {
  const auto r = cli::read_ref_csv(write("ref.csv", "hr,time\r\n70,0\r\n72.5,4\r\n"));
  REQUIRE_MESSAGE(r.ok(), why(r));
  REQUIRE(r->size() == 3);
  CHECK((*r)[0] == 70.f);
  CHECK(std::isnan((*r)[1]));
  CHECK((*r)[2] == 72.5f);
  CHECK(contains(cli::read_ref_csv(write("ref1.csv", "time,hr\n3,70\n")).error().message,
                 "line 2: time 3 is not a window start"));
  CHECK(contains(cli::read_ref_csv(write("ref2.csv", "t,hr\n0,70\n")).error().message, "needs the columns time,hr"));
  CHECK(contains(cli::read_ref_csv(write("ref3.csv", "time,hr\n0,abc\n")).error().message,
                 "line 2: cannot read '0,abc'"));
}

TEST_CASE("split and parse_float") {
  CHECK(cli::split(" a , b,\r", ',') == std::vector<std::string>{"a", "b", ""});
  float v = 0;
  CHECK((cli::parse_float("NA", v) && std::isnan(v)));
  CHECK((cli::parse_float("-2.5e1", v) && v == -25.f));
  CHECK_FALSE(cli::parse_float("1.5x", v));
  CHECK_FALSE(cli::parse_float("1e400", v));
}

// ---- index.json -----------------------------------------------------------------------------------

TEST_CASE("parse_index: a good index") {
  const auto ds = cli::parse_index(R"({"name": "set", "format": {"files": {"rec/<id>.acc.f32": "N x 3 in m/s^2"}},
    "recordings": [{"id": "a", "fs_hz": 25.6, "subset": "s1", "n_ppg_channels": 2, "n_samples": 100, "n_windows": 3,
                    "ppg_adc": "12-bit unsigned"},
                   {"id": "b", "fs_hz": 50, "acc_unit": "g"}]})",
                                   "/d");
  REQUIRE_MESSAGE(ds.ok(), why(ds));
  CHECK(ds->name == "set");
  CHECK(ds->index_path == "/d/index.json");
  REQUIRE(ds->entries.size() == 2);
  const cli::IndexEntry& a = ds->entries[0];
  CHECK(a.id == "a");
  CHECK(a.fs == 25.6);
  CHECK(a.subset == "s1");
  CHECK(a.ppg_channels == 2);
  CHECK(a.n_samples == 100);
  CHECK(a.n_windows == 3);
  CHECK(a.adc_max == 4095.f);
  CHECK(a.acc_to_g == doctest::Approx(1 / 9.80665));
  CHECK(ds->entries[1].acc_to_g == 1.0);
  CHECK(ds->entries[1].ppg_channels == -1);
}

TEST_CASE("parse_index: keys are looked up in their own object only; the last of duplicate keys wins") {
  // An "id" nested inside another object, or inside a string, is not the recording's.
  auto nested = cli::parse_index(R"({"recordings": [{"subset": "a", "fs_hz": 50, "nested": {"id": "demo"}}]})", "/d");
  REQUIRE_FALSE(nested.ok());
  CHECK(nested.error().message == "'/d/index.json': recording 0 of \"recordings\" has no \"id\" string");
  auto in_string =
      cli::parse_index(R"({"recordings": [{"id": "x", "note": "\"fs_hz\": 50", "n": {"fs_hz": 50}}]})", "/d");
  REQUIRE_FALSE(in_string.ok());
  CHECK(contains(in_string.error().message, "recording 'x' has no positive number \"fs_hz\""));
  // "recordings" nested one level deeper does not count either.
  CHECK(
      contains(cli::parse_index(R"({"x": {"recordings": []}})", "/d").error().message, "has no \"recordings\" array"));
  // Duplicate keys: the last one (nlohmann-json, as the reader before it).
  auto dup = cli::parse_index(R"({"recordings": [{"id": "first", "fs_hz": 10, "id": "last", "fs_hz": 20}]})", "/d");
  REQUIRE_MESSAGE(dup.ok(), why(dup));
  CHECK(dup->entries[0].id == "last");
  CHECK(dup->entries[0].fs == 20);
}

TEST_CASE("parse_index: wrong types and values") {
  struct Case {
    const char* json;
    const char* says;
  };
  const Case cases[] = {
      {R"([])", "is not a JSON object"},
      {R"({"recordings": {}})", "has no \"recordings\" array"},
      {R"({"recordings": [1]})", "recording 0 of \"recordings\" is not an object"},
      {R"({"recordings": [{"id": 5, "fs_hz": 50}]})", "recording 0 of \"recordings\" has no \"id\" string"},
      {R"({"recordings": [{"id": "", "fs_hz": 50}]})", "has no \"id\" string"},
      {R"({"recordings": [{"id": "a/b", "fs_hz": 50}]})", "id 'a/b' contains '/'"},
      {R"({"recordings": [{"id": "a", "fs_hz": 50}, {"id": "a", "fs_hz": 50}]})", "recording 'a' is listed twice"},
      {R"({"recordings": [{"id": "a", "fs_hz": "50"}]})", "recording 'a' has no positive number \"fs_hz\""},
      {R"({"recordings": [{"id": "a", "fs_hz": -1}]})", "has no positive number \"fs_hz\""},
      {R"({"recordings": [{"id": "a", "fs_hz": true}]})", "has no positive number \"fs_hz\""},
      {R"({"recordings": [{"id": "a", "fs_hz": 1e300}]})", "\"fs_hz\" 1e+300 is not a sensor rate"},
      {R"({"recordings": [{"id": "a", "fs_hz": 50, "n_ppg_channels": 1.5}]})",
       "\"n_ppg_channels\" is not a channel count (1..64)"},
      {R"({"recordings": [{"id": "a", "fs_hz": 50, "n_ppg_channels": 65}]})", "is not a channel count"},
      {R"({"recordings": [{"id": "a", "fs_hz": 50, "n_ppg_channels": "2"}]})", "is not a channel count"},
      {R"({"recordings": [{"id": "a", "fs_hz": 50, "n_samples": -1}]})", "\"n_samples\" is not a sample count"},
      {R"({"recordings": [{"id": "a", "fs_hz": 50, "n_samples": null}]})", "\"n_samples\" is not a sample count"},
      {R"({"recordings": [{"id": "a", "fs_hz": 50, "n_windows": 1e16}]})", "\"n_windows\" is not a window count"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.json);
    const auto ds = cli::parse_index(c.json, "/d");
    REQUIRE_FALSE(ds.ok());
    CHECK_MESSAGE(contains(ds.error().message, c.says), ds.error().message);
  }
}

TEST_CASE("json::parse: malformed JSON says where and what") {
  struct Case {
    std::string text;
    const char* says;
  };
  const Case cases[] = {
      {"{\"recordings\": [", "line 1 column 17: unexpected end of file"},
      {"{\"a\": 1,}", "line 1 column 9: expected a quoted key"},
      {"{\n\"a\" 1}", "line 2 column 5: expected ':' after a key"},
      {"{\"a\": \"x\ny\"}", ": control character in a string"},
      {"{\"a\": 1e400}", ": number out of range: 1e400"},
      {std::string(100000, '['), "line 1 column 202: nested too deeply"},
      {"{\"a\": 1} x", "line 1 column 10: "},
      {"{\"a\": \"\xff\"}", "line 1 column "},  // not UTF-8
      {"", "line 1 column 1: unexpected end of file"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.text.substr(0, 40));
    const auto v = cli::json::parse(c.text);
    REQUIRE_FALSE(v.ok());
    CHECK_MESSAGE(contains(v.error().message, c.says), v.error().message);
  }
  // 201 nested arrays are fine, 202 are not.
  CHECK(cli::json::parse(std::string(201, '[') + std::string(201, ']')).ok());
  CHECK_FALSE(cli::json::parse(std::string(202, '[') + std::string(202, ']')).ok());
  // A leading byte-order mark is skipped.
  CHECK(cli::json::parse("\xEF\xBB\xBF{}").ok());
}

TEST_CASE("json::quote parses back; bytes that are not UTF-8 become U+FFFD") {
  for (const std::string& s : {std::string("plain"), std::string("q\"b\\s/\n\t\x01 \xC3\xA9 \xF0\x9F\x92\x93")}) {
    const auto v = cli::json::parse(cli::json::quote(s));
    REQUIRE(v.ok());
    CHECK(v->get<std::string>() == s);
  }
  const auto bad =
      cli::json::parse(cli::json::quote("a\xff"
                                        "b"));
  REQUIRE(bad.ok());
  CHECK(bad->get<std::string>() ==
        "a\xEF\xBF\xBD"
        "b");
}

// ---- float32 files and the data-set layout -----------------------------------------------------------

TEST_CASE("parse_f32: little-endian values in whole frames") {
  const auto v = cli::parse_f32(f32_bytes({1.5f, -2.f, 3.25f, 4.f}), 2, "x.f32");
  REQUIRE(v.ok());
  CHECK(*v == std::vector<float>{1.5f, -2.f, 3.25f, 4.f});
  const auto odd = cli::parse_f32(std::string(10, '\0'), 1, "x.f32");
  REQUIRE_FALSE(odd.ok());
  CHECK(odd.error().message == "'x.f32': size 10 bytes is not a whole number of float32 values");
  const auto frames = cli::parse_f32(std::string(12, '\0'), 2, "x.f32");
  REQUIRE_FALSE(frames.ok());
  CHECK(frames.error().message == "'x.f32': size 12 bytes is not a whole number of 2-value float32 frames (8 bytes)");
}

TEST_CASE("read_dataset: the files of one recording, and wrong-size files") {
  const std::string dir = tmpdir();
  const std::size_t n = 600;  // 12 s at 50 Hz: 3 windows
  std::vector<float> ppg(2 * n), acc(3 * n, 9.80665f);
  for (std::size_t i = 0; i < ppg.size(); ++i) ppg[i] = float(i);
  write("rec/r.ppg.f32", f32_bytes(ppg));
  write("rec/r.acc.f32", f32_bytes(acc));
  write("rec/r.hr.f32", f32_bytes({60, 61, 62}));
  auto index = [&](const std::string& extra) {
    return cli::parse_index(R"({"recordings": [{"id": "r", "fs_hz": 50, "acc_unit": "m/s^2")" + extra + "}]}", dir)
        .value();
  };
  {
    const cli::Dataset ds = index(R"(, "n_samples": 600)");  // channels from the size: 2
    const auto r = cli::read_dataset(ds, ds.entries[0], true);
    REQUIRE_MESSAGE(r.ok(), why(r));
    CHECK(r->ppg_channels == 2);
    CHECK(r->samples() == n);
    CHECK(r->ppg[5] == 5.f);
    REQUIRE(r->acc.size() == 3 * n);
    CHECK(r->acc[0] == doctest::Approx(1.0f));  // m/s^2 -> g
    CHECK(r->ref_hr == std::vector<float>{60, 61, 62});
    CHECK(cli::read_dataset(ds, ds.entries[0], false)->acc.empty());
  }
  {
    const cli::Dataset ds = index(R"(, "n_samples": 601)");
    CHECK(contains(cli::read_dataset(ds, ds.entries[0], true).error().message,
                   "is not a whole number of channels of 601 float32 samples (n_samples in index.json)"));
  }
  {
    const cli::Dataset ds = index(R"(, "n_samples": 10)");  // 120 channels
    CHECK(contains(cli::read_dataset(ds, ds.entries[0], true).error().message,
                   "makes 120 channels of 10 float32 samples"));
  }
  {
    const cli::Dataset ds = index(R"(, "n_ppg_channels": 7)");  // 1200 values
    CHECK(contains(cli::read_dataset(ds, ds.entries[0], true).error().message,
                   "is not a whole number of 7-value float32 frames (28 bytes)"));
  }
  {
    const cli::Dataset ds = index(R"(, "n_ppg_channels": 1)");  // 1200 samples: the accelerometer has 600
    CHECK(contains(cli::read_dataset(ds, ds.entries[0], true).error().message,
                   "600 samples, not one per PPG sample (1200)"));
  }
  write("rec/r.acc.f32", std::string(10, '\0'));
  {
    const cli::Dataset ds = index(R"(, "n_ppg_channels": 2)");
    CHECK(contains(cli::read_dataset(ds, ds.entries[0], true).error().message,
                   "r.acc.f32': size 10 bytes is not a whole number of 3-value"));
    CHECK(cli::read_dataset(ds, ds.entries[0], false).ok());  // not read without the accelerometer
  }
  write("rec/r.hr.f32", f32_bytes(std::vector<float>(4, 70.f)));  // 4 labels need 14 s
  {
    const cli::Dataset ds = index(R"(, "n_ppg_channels": 2)");
    CHECK(contains(cli::read_dataset(ds, ds.entries[0], false).error().message,
                   "600 samples is shorter than its 4 labels need (700 = (2 x 3 + 8) s at 50"));
  }
  std::remove((dir + "/rec/r.hr.f32").c_str());
  {
    const cli::Dataset ds = index(R"(, "n_ppg_channels": 2, "n_windows": 999999999999999, "fs_hz": 1e6)");
    CHECK(contains(cli::read_dataset(ds, ds.entries[0], false).error().message,
                   "shorter than its 999999999999999 labels need"));
  }
  write("rec/r.ppg.f32", "");
  {
    const cli::Dataset ds = index("");
    CHECK(contains(cli::read_dataset(ds, ds.entries[0], false).error().message, "r.ppg.f32' holds no samples"));
  }
  std::remove((dir + "/rec/r.ppg.f32").c_str());
  {
    const cli::Dataset ds = index("");
    CHECK(contains(cli::read_dataset(ds, ds.entries[0], false).error().message, "cannot open '"));
  }
  std::remove((dir + "/rec/r.acc.f32").c_str());
  CHECK(contains(cli::read_index(dir + "/nope").error().message, "nope/index.json"));
}

// ---- report --------------------------------------------------------------------------------------------

namespace {

cli::Row row(double t, float hr, float tracked, float conf, float ref,
             ppghr::SignalStatus st = ppghr::SignalStatus::ok) {
  cli::Row r;
  r.time = t, r.hr = hr, r.hr_tracked = tracked, r.confidence = r.confidence_raw = conf, r.ref = ref, r.status = st;
  return r;
}

// The example: 6 windows, one not ok and one without a reference (both left out).
std::vector<cli::Row> example_rows() {
  const float nan = std::nanf("");
  return {row(0, 70, 71, 0.9f, 72),
          row(2, 80, 76, 0.2f, 75),
          row(4, 60, 66, 0.5f, 64),
          row(6, 90, 90, 0.7f, nan),
          row(8, 0, 0, 0, 70, ppghr::SignalStatus::clipped),
          row(10, 100, 101, 0.5f, 99)};
}

}  // namespace

TEST_CASE("Stats: MAE and coverage on a hand-computable example") {
  cli::Stats s;
  s.add(example_rows());
  CHECK(s.windows == 6);
  REQUIRE(s.n == 4);
  // Independent computation: the four counted windows (ref finite, status ok), by hand.
  //   raw |hr - ref|:        2, 5, 4, 1   -> 12 / 4 = 3
  //   decoded |tracked-ref|: 1, 1, 2, 2   ->  6 / 4 = 1.5
  CHECK(s.mae_raw() == doctest::Approx(3.0));
  CHECK(s.mae_decoded() == doctest::Approx(1.5));
  // Coverage: confidence 0.9 (err 1), 0.5 (err 2, window 4 s), 0.5 (err 2, 10 s), 0.2 (err 1).
  // 50%: ceil(2) = 2 most confident: 1, 2 -> 1.5; 80%: ceil(3.2) = 4 -> all -> 1.5; 100%: 1.5.
  // And computed here a second way: rank by confidence with an index sort.
  const std::vector<float> conf{0.9f, 0.2f, 0.5f, 0.5f};
  const std::vector<double> err{1, 1, 2, 2};
  std::vector<std::size_t> idx(4);
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return conf[a] > conf[b]; });
  for (int p : {10, 50, 75, 80, 100}) {
    const auto keep = std::size_t(std::ceil(p * 4 / 100.0));
    double sum = 0;
    for (std::size_t i = 0; i < keep; ++i) sum += err[idx[i]];
    CAPTURE(p);
    CHECK(s.coverage_mae(p) == doctest::Approx(sum / keep));
  }
  CHECK(s.coverage_mae(50) == doctest::Approx(1.5));
  CHECK(s.coverage_mae(10) == doctest::Approx(1.0));
  // Nothing labelled: NaN; a regression head (no confidence): NaN below 100%.
  cli::Stats empty;
  empty.add({row(0, 70, 70, 0.5f, std::nanf(""))});
  CHECK(std::isnan(empty.mae_raw()));
  CHECK(std::isnan(empty.coverage_mae(100)));
  cli::Stats reg;
  reg.add({row(0, 70, 70, std::nanf(""), 72)});
  CHECK(std::isnan(reg.coverage_mae(50)));
  CHECK(reg.coverage_mae(100) == doctest::Approx(2.0));
}

namespace {

std::string written(void (*f)(std::FILE*, const void*), const void* arg) {
  std::FILE* t = std::tmpfile();
  REQUIRE(t != nullptr);
  f(t, arg);
  std::rewind(t);
  std::string s;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, t)) > 0;) s.append(buf, n);
  std::fclose(t);
  return s;
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t at = 0;
  for (std::size_t nl; (nl = s.find('\n', at)) != std::string::npos; at = nl + 1) out.push_back(s.substr(at, nl - at));
  return out;
}

}  // namespace

TEST_CASE("write_rows: CSV and JSON parse back to the rows") {
  const auto rows = example_rows();
  const std::string json = written(
      [](std::FILE* f, const void* r) {
        cli::write_rows(f, *static_cast<const std::vector<cli::Row>*>(r), true, true, 0, 2);
      },
      &rows);
  const auto j = nlohmann::json::parse(json);
  REQUIRE(j.is_array());
  REQUIRE(j.size() == rows.size());
  for (std::size_t k = 0; k < rows.size(); ++k) {
    CAPTURE(k);
    const auto& o = j[k];
    const bool ok = rows[k].status == ppghr::SignalStatus::ok;
    CHECK(o["time"].get<double>() == rows[k].time);
    CHECK(o["status"].get<std::string>() == ppghr::signal_status_name(rows[k].status));
    if (ok) {
      CHECK(o["hr"].get<float>() == rows[k].hr);  // exact (%.9g)
      CHECK(o["hr_tracked"].get<float>() == rows[k].hr_tracked);
    } else {
      CHECK(o["hr"].is_null());
      CHECK(o["hr_tracked"].is_null());
    }
    CHECK(o["confidence"].get<double>() == doctest::Approx(rows[k].confidence).epsilon(1e-4));
    if (std::isfinite(rows[k].ref))
      CHECK(o["ref_hr"].get<double>() == doctest::Approx(rows[k].ref));
    else
      CHECK(o["ref_hr"].is_null());
  }
  CHECK(contains(json,
                 "{\"time\": 0.0, \"hr\": 70, \"hr_tracked\": 71, \"confidence\": 0.9000, \"status\": \"ok\", "
                 "\"ref_hr\": 72.000}"));

  const std::string csv = written(
      [](std::FILE* f, const void* r) {
        cli::write_rows(f, *static_cast<const std::vector<cli::Row>*>(r), false, true, 0, 2);
      },
      &rows);
  const auto ls = lines(csv);
  REQUIRE(ls.size() == rows.size() + 1);
  CHECK(ls[0] == "time,hr,hr_tracked,confidence,status,ref_hr");
  CHECK(ls[1] == "0.0,70,71.00,0.9000,ok,72.000");
  CHECK(ls[4] == "6.0,90,90.00,0.7000,ok,");
  CHECK(ls[5] == "8.0,,,0,clipped,70.000");
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const auto cells = cli::split(ls[k + 1], ',');
    REQUIRE(cells.size() == 6);
    float v = 0;
    CHECK((cli::parse_float(cells[0], v) && v == float(rows[k].time)));
    if (rows[k].status == ppghr::SignalStatus::ok) CHECK((cli::parse_float(cells[2], v) && v == rows[k].hr_tracked));
  }
  // A regression head: NaN confidence is empty in CSV, null in JSON; hr with 3 decimals.
  const std::vector<cli::Row> reg{row(0, 71.23456f, 71.5f, std::nanf(""), std::nanf(""))};
  const std::string rc = written(
      [](std::FILE* f, const void* r) {
        cli::write_rows(f, *static_cast<const std::vector<cli::Row>*>(r), false, false, 3, 3);
      },
      &reg);
  CHECK(lines(rc).at(1) == "0.0,71.235,71.500,,ok");
  const std::string rj = written(
      [](std::FILE* f, const void* r) {
        cli::write_rows(f, *static_cast<const std::vector<cli::Row>*>(r), true, false, 3, 3);
      },
      &reg);
  CHECK(nlohmann::json::parse(rj)[0]["confidence"].is_null());
}

TEST_CASE("write_windows and write_eval parse back") {
  const auto rows = example_rows();
  const std::string w = written(
      [](std::FILE* f, const void* r) {
        cli::write_windows_header(f);
        cli::write_windows(f, "rec,1", "s", *static_cast<const std::vector<cli::Row>*>(r));
      },
      &rows);
  const auto ls = lines(w);
  REQUIRE(ls.size() == 7);
  CHECK(ls[0] == "recording,subset,index,time,ref_hr,hr,hr_decoded,confidence,confidence_raw,status");
  CHECK(ls[1] == "rec,1,s,0,0.0,72,70,71,0.899999976,0.899999976,ok");  // ids are not quoted: as before
  CHECK(ls[5] == "rec,1,s,4,8.0,70,,,,,clipped");

  cli::EvalReport e;
  e.dataset = "set \"q\"", e.dir = "/d", e.model = "resnet2", e.decode = "online", e.channels = {0, 1},
  e.decoding = true;
  e.recordings.push_back({"a", "s1", {}});
  e.recordings.back().stats.add(rows);
  e.recordings.push_back({"b", "s1", {}});  // no labelled window
  e.all.add(rows);
  CHECK(e.labelled() == 1);
  const std::string js = written(
      [](std::FILE* f, const void* r) { cli::write_eval(f, *static_cast<const cli::EvalReport*>(r), true); }, &e);
  const auto j = nlohmann::json::parse(js);
  CHECK(j["dataset"] == "set \"q\"");
  CHECK(j["channels"] == nlohmann::json::array({0, 1}));
  CHECK(j["accelerometer"] == true);
  CHECK(j["recordings"].size() == 2);
  CHECK(j["recordings"][0]["mae_raw"].get<double>() == doctest::Approx(3.0));
  CHECK(j["recordings"][0]["coverage"]["50"].get<double>() == doctest::Approx(1.5));
  CHECK(j["recordings"][1]["mae_raw"].is_null());
  CHECK(j["overall"]["recordings"] == 1);
  CHECK(j["overall"]["windows"] == 6);
  CHECK(j["overall"]["ok"] == 4);
  CHECK(j["overall"]["mae_decoded"].get<double>() == doctest::Approx(1.5));
  const std::string cs = written(
      [](std::FILE* f, const void* r) { cli::write_eval(f, *static_cast<const cli::EvalReport*>(r), false); }, &e);
  const auto cl = lines(cs);
  REQUIRE(cl.size() == 4);
  CHECK(cl[1] == "a,s1,6,4,3.000,1.500,1.500,1.500,1.500");
  CHECK(cl[2] == "b,s1,0,0,,,,,");
  CHECK(cl[3] ==
        "# resnet2 on 1 recordings: MAE 3.000 BPM over 4 ok windows of 6 (mean of per-recording MAE 3.000); decoded "
        "(online) "
        "1.500 BPM (per-recording mean 1.500); coverage 50% 1.500, 80% 1.500, 100% 1.500 BPM");
}

namespace {

// A Runner with fixed answers, for decode_rows.
class FakeRunner final : public cli::Runner {
 public:
  explicit FakeRunner(bool probs) : probs_(probs) {}
  cli::Expected<cli::RunOut> run(const cli::Recording&, const cli::Options&) override { return cli::fail("not here"); }
  bool wants_acc() const override { return false; }
  bool has_probabilities() const override { return probs_; }

 private:
  bool probs_;
};

}  // namespace

TEST_CASE("decode_rows: argmax and mass within 5 BPM; not-ok windows; a regression head") {
  cli::RunOut run;
  cli::Probs p{};
  p[72 - ppghr::kMinBpm] = 0.5f;   // 72 BPM
  p[76 - ppghr::kMinBpm] = 0.25f;  // within 5 of 72
  p[100 - ppghr::kMinBpm] = 0.25f;
  for (int k = 0; k < 3; ++k) {
    cli::Window w;
    w.time = 2.0 * k;
    w.hr = 72, w.hr_clamped = 70, w.ref = 71;
    if (k == 1) w.status = ppghr::SignalStatus::clipped;
    run.windows.push_back(w);
    run.probs.push_back(k == 1 ? cli::Probs{} : p);
  }
  const auto rows = cli::decode_rows(run, cli::DecodeSpec{}, false, FakeRunner(true));
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 3);
  CHECK((*rows)[0].hr_tracked == 72.f);
  CHECK((*rows)[0].confidence == doctest::Approx(0.75f));
  CHECK((*rows)[1].hr_tracked == 0.f);
  CHECK((*rows)[1].confidence == 0.f);
  CHECK((*rows)[2].ref == 71.f);
  const auto clamp = cli::decode_rows(run, cli::DecodeSpec{}, true, FakeRunner(true));
  CHECK((*clamp)[0].hr_tracked == 70.f);
  const auto reg = cli::decode_rows(run, cli::DecodeSpec{}, false, FakeRunner(false));
  CHECK((*reg)[0].hr_tracked == 72.f);
  CHECK(std::isnan((*reg)[0].confidence));
  CHECK((*reg)[1].confidence == 0.f);
  // Offline decoding of the same windows: still the 72 BPM peak.
  cli::DecodeSpec off;
  off.mode = cli::DecodeMode::offline;
  const auto o = cli::decode_rows(run, off, false, FakeRunner(true));
  REQUIRE(o.ok());
  CHECK((*o)[2].hr_tracked == 72.f);
}

TEST_CASE("OutFile: written atomically, errors returned") {
  const std::string path = tmpdir() + "/out.csv";
  {
    cli::OutFile f;
    REQUIRE(f.open(path).ok());
    std::fputs("x\n", f.get());
    CHECK_FALSE(static_cast<bool>(std::ifstream(path)));  // only the temporary file so far
    REQUIRE(f.close().ok());
  }
  std::ifstream in(path);
  std::string got;
  std::getline(in, got);
  CHECK(got == "x");
  {
    cli::OutFile f;  // destroyed before close(): the target keeps its old content
    REQUIRE(f.open(path).ok());
    std::fputs("y\n", f.get());
  }
  std::ifstream again(path);
  std::getline(again, got);
  CHECK(got == "x");
  cli::OutFile dir;
  CHECK(contains(dir.open(tmpdir()).error().message, "it is a directory"));
  cli::OutFile missing;
  CHECK(contains(missing.open(tmpdir() + "/no/such/dir.csv").error().message, "cannot write '"));
}

// ---- dispatch ---------------------------------------------------------------------------------------

TEST_CASE("make_runner: the spectral estimator, blobs of the registry, and bad models") {
  const auto sp = cli::make_runner("spectral", "");
  REQUIRE(sp.ok());
  CHECK(sp->name == "spectral");
  CHECK(sp->runner->has_probabilities());
  CHECK(sp->runner->wants_acc());
  CHECK(cli::make_runner("spectral", "resnet2").error().message == "--arch resnet2 with --model spectral");
  const std::string model = PPGHR_SOURCE_DIR "/models/resnet2_bami1.ppgw";
  const auto net = cli::make_runner(model, "");
  REQUIRE_MESSAGE(net.ok(), why(net));
  CHECK(net->name == "resnet2");
  CHECK_FALSE(net->runner->wants_acc());
  CHECK(cli::make_runner(model, "resnet2").ok());
  CHECK(cli::make_runner(model, "mlp1").error().message ==
        "'" + model + "' is a blob for another network (resnet2), not --arch mlp1");
  CHECK(contains(cli::make_runner(model, "nonet").error().message,
                 "--arch nonet is not a network this tool runs (resnet1, "));
  CHECK(contains(cli::make_runner(PPGHR_SOURCE_DIR "/README.md", "").error().message,
                 "is not a ppghr model blob (bad magic)"));
  CHECK(contains(cli::make_runner(tmpdir() + "/nope.ppgw", "").error().message, "cannot open model '"));
  CHECK(contains(cli::network_list(), "specnet12w32"));
}

TEST_CASE("Runner::run: the spectral estimator on a clean 90 BPM sine, and channel errors") {
  cli::Recording r;
  r.name = "sine";
  r.rate_hz = 50;
  r.ppg_channels = 1;
  const std::size_t n = 30 * 50;
  for (std::size_t i = 0; i < n; ++i)
    r.ppg.push_back(float(2048 + 200 * std::sin(2 * 3.14159265358979323846 * 1.5 * double(i) / 50.0)));
  r.acc_source = "none";
  cli::Options o;
  o.notes = nullptr;
  auto sp = cli::make_runner("spectral", "");
  REQUIRE(sp.ok());
  const auto run = sp->runner->run(r, o);
  REQUIRE_MESSAGE(run.ok(), why(run));
  CHECK(run->windows.size() == (30 - 8) / 2 + 1);
  CHECK(run->channels == std::vector<int>{0});
  CHECK_FALSE(run->accelerometer);
  std::size_t ok = 0;
  for (const auto& w : run->windows)
    if (w.status == ppghr::SignalStatus::ok) {
      ++ok;
      CHECK(std::fabs(w.hr - 90.f) <= 2.f);
    }
  CHECK(ok >= run->windows.size() - 1);
  o.channels = {1};
  CHECK(sp->runner->run(r, o).error().message == "--channels: 'sine' has 1 PPG channel(s) (0..0), no channel 1");
  // An unsupported rate is refused by the Monitor, as an error.
  r.rate_hz = 5;
  o.channels.clear();
  CHECK(contains(sp->runner->run(r, o).error().message, "sensor rate 5.000000 Hz of 'sine': "));
}

// ---- args -------------------------------------------------------------------------------------------

namespace {

cli::Expected<cli::Args> parse(std::vector<const char*> v) {
  v.insert(v.begin(), "ppghr-estimate");
  return cli::parse_args(int(v.size()), v.data());
}

}  // namespace

TEST_CASE("parse_args: a full command line") {
  const auto a = parse({"--model",    "m.ppgw", "--eval",        "d",     "--subset",  "s",     "--decode",  "lag:3",
                        "--format",   "json",   "--rate",        "25.6",  "--adc-min", "0",     "--adc-max", "4095",
                        "--channels", "0,2",    "--windows-out", "w.csv", "--out",     "o.json"});
  REQUIRE_MESSAGE(a.ok(), why(a));
  CHECK(a->model == "m.ppgw");
  CHECK(a->eval_dir == "d");
  CHECK(a->json);
  CHECK(a->rate == 25.6);
  CHECK(a->decode.mode == cli::DecodeMode::lag);
  CHECK(a->decode.lag == 3);
  CHECK(a->decode_name() == "lag:3");
  CHECK(a->decoding());
  CHECK(a->options.adc_given);
  CHECK(a->options.adc_max == 4095.f);
  CHECK(a->options.channels == std::vector<int>{0, 2});
  CHECK(a->options.tracking == ppghr::Tracking::none);
  const auto t = parse({"--model", "spectral", "--csv", "x", "--track", "--decode", "online"});
  REQUIRE(t.ok());
  CHECK(t->decode.mode == cli::DecodeMode::online);
  const auto c = parse({"--model", "spectral", "--csv", "x", "--track-clamp"});
  CHECK(c->options.tracking == ppghr::Tracking::recent_mean_clamp);
  CHECK(c->decode_name() == "track-clamp");
  CHECK(parse({"--bogus", "--help"}).error().show_usage);
  CHECK(parse({"--help", "--bogus"})->help);
}

TEST_CASE("parse_args: errors, in the order the tool checks them") {
  struct Case {
    std::vector<const char*> argv;
    const char* says;
    bool usage;
  };
  const Case cases[] = {
      {{"--model"}, "--model needs a value", false},
      {{"--model", "m", "--rate", "0"}, "--rate '0' is not a sensor rate in Hz", false},
      {{"--model", "m", "--rate", "50x"}, "--rate '50x' is not a sensor rate", false},
      {{"--model", "m", "--adc-min", "x"}, "--adc-min needs a number", false},
      {{"--model", "m", "--what"}, "unknown option '--what'", true},
      {{"--csv", "x"}, "--model is required", true},
      {{"--model", "m", "--csv", "x", "--format", "xml"}, "--format must be csv or json", false},
      {{"--model", "m"}, "give exactly one of --csv, --dataset, --eval", true},
      {{"--model", "m", "--csv", "x", "--eval", "d"}, "give exactly one of --csv, --dataset, --eval", true},
      {{"--model", "m", "--csv", "x", "--track", "--decode", "offline"}, "give one of --decode, --track", false},
      {{"--model", "m", "--csv", "x", "--track", "--track-clamp"}, "give one of --decode, --track", false},
      {{"--model", "m", "--csv", "x", "--decode", "lag:9"},
       "--decode lag:9: the lag is a number of windows, 1..8",
       false},
      {{"--model", "m", "--csv", "x", "--decode", "best"}, "--decode 'best' is not one of", false},
      {{"--model", "m", "--csv", "x", "--channels", "0,0"}, "--channels '0,0' names channel 0 twice", false},
      {{"--model", "m", "--csv", "x", "--channels", "0,1,2,3,4"}, "at most 4 PPG channels", false},
      {{"--model", "m", "--csv", "x", "--channels", "a"}, "give 'all' or PPG channel numbers", false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.says);
    const auto a = parse(c.argv);
    REQUIRE_FALSE(a.ok());
    CHECK_MESSAGE(contains(a.error().message, c.says), a.error().message);
    CHECK(a.error().show_usage == c.usage);
  }
  CHECK(cli::parse_channels("all")->empty());
}
