// examples/cli/json.hpp - ppghr-estimate's JSON through nlohmann-json: parse() reads a document
// (RFC 8259, UTF-8; a malformed one is reported with its line and column, in the wording the tool
// has always used for the common cases) and quote() writes a string literal. Host-side tool code;
// nlohmann-json is a dependency of the tool, never of the header library.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "error.hpp"

namespace cli::json {

/// Containers nested deeper than this are refused ("nested too deeply") before the DOM grows.
constexpr int kMaxDepth = 201;

/// Parses `text`; an error reads "line L column C: what" (L, C from 1, C in bytes).
Expected<nlohmann::json> parse(const std::string& text);

/// `s` as a JSON string literal, quotes included; bytes that are not UTF-8 become U+FFFD.
std::string quote(const std::string& s);

}  // namespace cli::json
