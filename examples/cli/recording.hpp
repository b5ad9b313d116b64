// examples/cli/recording.hpp - ppghr-estimate's recording readers: the recording CSV, the
// per-window reference CSV, and the ../shared/data layout (index.json + rec/<id>.ppg.f32, .acc.f32,
// .hr.f32). Every reader returns its result or the one-line error (never exits). Host-side tool
// code (std::string, std::vector), never part of the library.
//
// Limits: inputs must be regular files of at most 4 GiB (a directory, /dev/zero or a FIFO is refused
// before reading); a CSV line is at most 1 MiB and has no NUL byte; a UTF-8 byte-order mark before
// the header is skipped; CRLF line ends are accepted; the time column must increase line by line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "error.hpp"

namespace cli {

constexpr int kMaxPpgChannels = 4;                                 ///< channels a CSV may have
constexpr int kMaxIndexChannels = 64;                              ///< n_ppg_channels in index.json
constexpr std::size_t kMaxLineBytes = std::size_t(1) << 20;        ///< a CSV line
constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t(1) << 32;  ///< any input file (4 GiB)

/// A recording in memory.
struct Recording {
  std::string name;                ///< for messages: the CSV path, or the data set's recording id
  std::string subset;              ///< data set only
  double rate_hz = 0;              ///< Hz, integer or not (e.g. 25.6)
  int ppg_channels = 1;            ///< C
  std::vector<float> ppg;          ///< N x C, sample-major; NaN = missing
  std::vector<float> acc;          ///< x, y, z per sample (sample-major); empty when the input has none
  std::string acc_source;          ///< where the accelerometer data is looked for (for messages)
  std::vector<float> ref_hr;       ///< per window k (NaN = none); empty when no reference
  float adc_min = 0, adc_max = 0;  ///< rails when known
  std::size_t samples() const { return ppg.size() / std::size_t(ppg_channels); }
};

/// One recording of index.json's "recordings".
struct IndexEntry {
  std::string id, subset;
  double fs = 0;
  int ppg_channels = -1;  ///< -1: index.json does not say (then from the file size / n_samples)
  long n_samples = -1, n_windows = -1;
  float adc_max = 0;      ///< from "ppg_adc": "<B>-bit" -> 2^B - 1; 0: unknown
  double acc_to_g = 1.0;  ///< from the accelerometer's unit (g, or m/s^2)
};

struct Dataset {
  std::string dir, index_path, name;  ///< name: index.json's "name", else the directory
  std::vector<IndexEntry> entries;
};

/// Splits a CSV line at sep; cells lose surrounding spaces and a trailing '\r'.
std::vector<std::string> split(const std::string& line, char sep);

/// A CSV cell as a number: empty, nan, NaN, NA -> NaN; false when it is not a number.
bool parse_float(const std::string& s, float& v);

/// OK when `path` is a regular file of at most kMaxFileBytes; `what` prefixes the path in the
/// message ("" or "model ").
Status require_regular_file(const std::string& path, const char* what);

/// The whole file (after require_regular_file).
Expected<std::string> read_file(const std::string& path);

/// The recording CSV (header naming ppg or ppg0.., optional acc_x/y/z, time, hr). rate_hz > 0 is
/// --rate (checked against the time column); 0: the rate from the time column.
Expected<Recording> read_csv(const std::string& path, double rate_hz);

/// The per-window reference CSV (columns time,hr; time = window start in s): hr per window index.
Expected<std::vector<float>> read_ref_csv(const std::string& path);

/// index.json's text (of the data set in dir; index_path names it in messages).
Expected<Dataset> parse_index(const std::string& text, const std::string& dir);

/// DIR/index.json.
Expected<Dataset> read_index(const std::string& dir);

/// Little-endian float32 values in frames of `frame` values; the size must be whole frames
/// (`path` names the bytes in the message).
Expected<std::vector<float>> parse_f32(const std::string& bytes, int frame, const std::string& path);

/// A float32 file (read_file + parse_f32).
Expected<std::vector<float>> read_f32(const std::string& path, int frame = 1);

/// Recording e of ds: rec/<id>.ppg.f32 (channels from the index, else from the size and n_samples,
/// else one), with_acc: also rec/<id>.acc.f32 (N x 3, scaled to g) when it exists, and the labels
/// rec/<id>.hr.f32 when they exist; the signal must be long enough for the labels (or n_windows).
Expected<Recording> read_dataset(const Dataset& ds, const IndexEntry& e, bool with_acc);

}  // namespace cli
