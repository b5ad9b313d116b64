// examples/cli/args.hpp - ppghr-estimate's command line: parse_args() turns argv into Args or the
// one-line error (Error::show_usage: print the usage text first), never exits. Host-side tool code.
#pragma once

#include <string>
#include <vector>

#include "decode.hpp"
#include "dispatch.hpp"
#include "error.hpp"

namespace cli {

struct Args {
  bool help = false;  ///< --help / -h: print usage() and exit 0 (nothing else is checked)
  std::string model, csv, dataset, recording, eval_dir, ref, arch, out_path, subset, windows_out;
  std::string write_in_place;  ///< --write-in-place F: write --model's dtype-3 blob to F, no input
  bool json = false;         ///< --format json (default csv)
  double rate = 0;           ///< --rate, Hz (0: not given)
  bool track = false;        ///< --track (= --decode online)
  bool track_clamp = false;  ///< --track-clamp
  DecodeSpec decode;         ///< --decode (or --track)
  Options options;           ///< tracking, --adc-min/--adc-max, --channels
  /// The decoding as the outputs name it: "track-clamp" or decode.name().
  std::string decode_name() const { return track_clamp ? "track-clamp" : decode.name(); }
  /// Some decoding other than none.
  bool decoding() const { return track_clamp || decode.mode != DecodeMode::none; }
};

/// argv[1..argc-1] checked in the order the tool always did (each option, then --model,
/// --format, exactly one input, the decoding options, --channels).
Expected<Args> parse_args(int argc, const char* const* argv);

/// "all" -> empty (every channel of the recording); "0,2" -> {0, 2} (1..4 distinct, each 0..63).
Expected<std::vector<int>> parse_channels(const std::string& s);

/// The usage text (printed on stderr by main).
const char* usage_text();

}  // namespace cli
