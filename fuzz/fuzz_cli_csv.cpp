// fuzz_cli_csv: the readers of ppghr-estimate (examples/cli/recording.hpp, json.hpp) on arbitrary
// files: the recording CSV reader read_csv(), the data set index reader read_index() (index.json
// through cli::json::parse, nlohmann-json, and its checks), the data set's float32 files
// (read_dataset(): index.json + rec/<id>.ppg.f32, .acc.f32, .hr.f32), plus the JSON reader alone
// and its quote() round trip.
//
// The readers return their errors (cli::Expected), so a reported error ends the input cleanly
// while a crash, a sanitizer report, a hang or an unbounded allocation still show. They take a
// path, so each input is written to a file in a private temporary directory first.
//
// Input: byte 0 = what (0: CSV, 1: index.json, 2: JSON alone, 3: a data set); for the CSV byte 1 =
// --rate (0: none, else one of kRates); the rest is the file's bytes. A data set: byte 1 = flags
// (bit 0: write .acc.f32, bit 1: write .hr.f32, bit 2: read with the accelerometer), bytes 2-7 =
// the lengths of index.json, .ppg.f32 and .acc.f32 (u16 each, cut to what is there), then those
// files' bytes, and the rest is .hr.f32; the float files are written for the first two recordings
// of the index (ids up to 200 bytes without NUL) and read with read_dataset().
// Checks: no crash; an error is one non-empty line; a CSV read without error gives 1..4 PPG
// channels, a whole number of frames, an accelerometer of 0 or 3 values per frame, a positive
// finite rate, and a reference that is finite or NaN; an index read without error gives entries
// with a non-empty id without '/', a positive finite rate <= 1e6 and distinct ids; a data set
// recording read without error has its index rate, 1..64 channels, whole frames, at least one
// sample, n_samples of them when the index says so, an accelerometer of 0 or 3 values per sample
// (none unless asked for) and, when its labels or n_windows are known, enough samples for them;
// a JSON error says its line and column; quote(s) parses back to s for any UTF-8 s (other bytes
// become U+FFFD, and quoting that again changes nothing).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/stat.h>
#include <unistd.h>

#include <ppghr/dsp/common.hpp>

#include "cli/json.hpp"
#include "cli/recording.hpp"

using cli::Dataset;
using cli::IndexEntry;
using cli::Recording;

namespace {

constexpr double kRates[] = {16, 25, 25.6, 50, 64, 128, 1024, 0.001, 1e9};

[[noreturn]] void fail(const char* what, double a = 0) {
  std::fprintf(stderr, "ppghr fuzz check failed: %s (%g)\n", what, a);
  std::abort();
}

const std::string& workdir() {
  // Never destroyed: the atexit handler below runs after static destructors would have.
  static const std::string* const dir = [] {
    const char* t = std::getenv("TMPDIR");
    auto* d = new std::string(std::string(t && *t ? t : "/tmp") + "/ppghr_fuzz_cli.XXXXXX");
    if (!::mkdtemp(d->data())) fail("mkdtemp");
    std::atexit([] {
      std::remove((workdir() + "/rec.csv").c_str());
      std::remove((workdir() + "/index.json").c_str());
      ::rmdir((workdir() + "/rec").c_str());
      ::rmdir(workdir().c_str());
    });
    return d;
  }();
  return *dir;
}

void write_file(const std::string& path, const std::uint8_t* p, std::size_t n) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) fail("cannot write the temporary file");
  if (n && std::fwrite(p, 1, n, f) != n) fail("short write");
  std::fclose(f);
}

// r's value into out; false when the reader returned an error (which must be one non-empty line).
template <class T>
bool no_error(cli::Expected<T>&& r, T& out) {
  if (!r) {
    const std::string& m = r.error().message;
    if (m.empty() || m.find('\n') != std::string::npos) fail("an error message that is not one line", double(m.size()));
    return false;
  }
  out = std::move(*r);
  return true;
}

// Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
bool valid_utf8(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n;
    std::uint32_t cp;
    if (b < 0x80) n = 1, cp = b;
    else if ((b & 0xE0) == 0xC0) n = 2, cp = b & 0x1F;
    else if ((b & 0xF0) == 0xE0) n = 3, cp = b & 0x0F;
    else if ((b & 0xF8) == 0xF0) n = 4, cp = b & 0x07;
    else return false;
    if (i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = cp << 6 | (c & 0x3F);
    }
    static constexpr std::uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return false;
    i += n;
  }
  return true;
}

void check_csv(const std::uint8_t* p, std::size_t n, double rate) {
  const std::string path = workdir() + "/rec.csv";
  write_file(path, p, n);
  Recording r;
  if (!no_error(cli::read_csv(path, rate), r)) return;
  if (r.ppg_channels < 1 || r.ppg_channels > 4) fail("PPG channel count", r.ppg_channels);
  if (r.ppg.empty() || r.ppg.size() % std::size_t(r.ppg_channels) != 0) fail("PPG values not whole frames", double(r.ppg.size()));
  if (!r.acc.empty() && r.acc.size() != 3 * r.samples()) fail("accelerometer values per frame", double(r.acc.size()));
  if (!(r.rate_hz > 0) || !std::isfinite(r.rate_hz)) fail("rate", r.rate_hz);
  for (const float h : r.ref_hr)
    if (std::isinf(h)) fail("an infinite reference heart rate", h);
}

void check_index(const std::uint8_t* p, std::size_t n) {
  write_file(workdir() + "/index.json", p, n);
  Dataset ds;
  if (!no_error(cli::read_index(workdir()), ds)) return;
  for (std::size_t k = 0; k < ds.entries.size(); ++k) {
    const IndexEntry& e = ds.entries[k];
    if (e.id.empty() || e.id.find('/') != std::string::npos) fail("index: bad id accepted", double(k));
    if (!(e.fs > 0) || !(e.fs <= 1e6)) fail("index: bad rate accepted", e.fs);
    if (e.ppg_channels != -1 && (e.ppg_channels < 1 || e.ppg_channels > 64)) fail("index: channel count", e.ppg_channels);
    for (std::size_t j = 0; j < k; ++j)
      if (ds.entries[j].id == e.id) fail("index: duplicate id accepted", double(k));
  }
}

void check_json(const std::uint8_t* p, std::size_t n) {
  const std::string text(reinterpret_cast<const char*>(p), n);
  const auto v = cli::json::parse(text);
  if (!v && v.error().message.compare(0, 5, "line ") != 0) fail("a JSON error without its position");
  // quote() / parse() round trip on the raw bytes: exact for UTF-8, U+FFFD for the rest.
  const std::string q = cli::json::quote(text);
  const auto s = cli::json::parse(q);
  if (!s || !s->is_string()) fail("quote() does not parse back to a string", double(n));
  const std::string& back = s->get_ref<const std::string&>();
  if (valid_utf8(text) ? back != text : (!valid_utf8(back) || cli::json::quote(back) != q))
    fail("quote() does not parse back to the same string", double(n));
}

// Index + float files: read_index(), then read_dataset() for the first two recordings.
void check_dataset(const std::uint8_t* p, std::size_t n) {
  if (n < 7) return;
  const std::uint8_t flags = p[0];
  std::size_t len[3], at = 7;
  for (int k = 0; k < 3; ++k) {
    len[k] = std::min<std::size_t>(std::size_t(p[1 + 2 * k]) | std::size_t(p[2 + 2 * k]) << 8, n - at);
    at += len[k];
  }
  const std::uint8_t* index = p + 7;
  const std::uint8_t* ppg = index + len[0];
  const std::uint8_t* acc = ppg + len[1];
  const std::uint8_t* hr = acc + len[2];
  const std::size_t hr_len = n - at;
  write_file(workdir() + "/index.json", index, len[0]);
  ::mkdir((workdir() + "/rec").c_str(), 0700);
  Dataset ds;
  if (!no_error(cli::read_index(workdir()), ds)) return;
  for (std::size_t k = 0; k < ds.entries.size() && k < 2; ++k) {
    const IndexEntry& e = ds.entries[k];
    if (e.id.size() > 200 || e.id.find('\0') != std::string::npos) continue;
    const std::string base = workdir() + "/rec/" + e.id;
    write_file(base + ".ppg.f32", ppg, len[1]);
    if (flags & 1) write_file(base + ".acc.f32", acc, len[2]);
    if (flags & 2) write_file(base + ".hr.f32", hr, hr_len);
    const bool with_acc = (flags & 4) != 0;
    Recording r;
    const bool read = no_error(cli::read_dataset(ds, e, with_acc), r);
    for (const char* ext : {".ppg.f32", ".acc.f32", ".hr.f32"}) std::remove((base + ext).c_str());
    if (!read) continue;
    if (r.rate_hz != e.fs) fail("data set: the rate is not the index's", r.rate_hz);
    if (r.ppg_channels < 1 || r.ppg_channels > 64) fail("data set: channel count", r.ppg_channels);
    if (r.ppg.empty() || r.ppg.size() % std::size_t(r.ppg_channels) != 0) fail("data set: PPG values not whole frames", double(r.ppg.size()));
    if (e.ppg_channels != -1 && r.ppg_channels != e.ppg_channels) fail("data set: channels differ from the index", r.ppg_channels);
    if (e.n_samples >= 0 && long(r.samples()) != e.n_samples) fail("data set: n_samples differs from the index", double(r.samples()));
    if (!r.acc.empty() && (!with_acc || r.acc.size() != 3 * r.samples())) fail("data set: accelerometer values", double(r.acc.size()));
    const long w = !r.ref_hr.empty() ? long(r.ref_hr.size()) : e.n_windows;
    if (w > 0 && double(r.samples()) < (double(ppghr::kStrideSeconds) * double(w - 1) + ppghr::kWindowSeconds) * e.fs * (1 - 1e-9) - 1)
      fail("data set: fewer samples than the labels need", double(r.samples()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  switch (data[0] % 4) {
    case 0: {
      const double rate = data[1] == 0 ? 0.0 : kRates[data[1] % (sizeof kRates / sizeof kRates[0])];
      check_csv(data + 2, size - 2, rate);
      break;
    }
    case 1: check_index(data + 1, size - 1); break;
    case 2: check_json(data + 1, size - 1); break;
    default: check_dataset(data + 1, size - 1); break;
  }
  return 0;
}
