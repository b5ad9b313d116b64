// examples/cli/json.cpp - see json.hpp.
#include "json.hpp"

#include <algorithm>
#include <cstddef>

namespace cli::json {
namespace {

using Json = nlohmann::json;

// nlohmann's DOM builder with a depth limit and the parse error kept (its own parse_error only
// sets a flag when exceptions are off). sax_parse() calls these by the static type, so hiding the
// base's members is enough.
class Builder : public nlohmann::detail::json_sax_dom_parser<Json> {
  using Base = nlohmann::detail::json_sax_dom_parser<Json>;

 public:
  explicit Builder(Json& root) : Base(root, false) {}
  bool start_object(std::size_t n) { return deeper() && Base::start_object(n); }
  bool end_object() { return --depth_, Base::end_object(); }
  bool start_array(std::size_t n) { return deeper() && Base::start_array(n); }
  bool end_array() { return --depth_, Base::end_array(); }
  bool parse_error(std::size_t position, const std::string& token, const nlohmann::detail::exception& ex) {
    failed_ = true;
    position_ = position;
    token_ = token;
    id_ = ex.id;
    what_ = ex.what();
    return false;
  }

  bool too_deep_ = false, failed_ = false;
  std::size_t position_ = 0;
  std::string token_, what_;
  int id_ = 0;

 private:
  bool deeper() {
    if (++depth_ <= kMaxDepth) return true;
    too_deep_ = true;
    return false;
  }
  int depth_ = 0;
};

// "line L column C" of byte `at` (0-based) of text.
std::string where(const std::string& text, std::size_t at) {
  at = std::min(at, text.size());
  std::size_t line = 1, col = 1;
  for (std::size_t k = 0; k < at; ++k) {
    if (text[k] == '\n')
      ++line, col = 1;
    else
      ++col;
  }
  return "line " + std::to_string(line) + " column " + std::to_string(col);
}

// The byte that opens the (kMaxDepth + 1)-th nested container (the text before it parsed).
std::size_t too_deep_at(const std::string& text) {
  int depth = 0;
  bool in_string = false, escape = false;
  for (std::size_t k = 0; k < text.size(); ++k) {
    const char c = text[k];
    if (in_string) {
      if (escape)
        escape = false;
      else if (c == '\\')
        escape = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return k;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return text.size();
}

// nlohmann's message in the words this tool used before it (tests/cli/test_cli.sh holds them):
// the common cases by name, anything else as nlohmann says it (without its own position prefix).
std::string message(const Builder& b) {
  if (b.id_ == 406) return "number out of range: " + b.token_;
  const std::string& w = b.what_;
  if (w.find("unexpected end of input") != std::string::npos) return "unexpected end of file";
  if (w.find("control character") != std::string::npos) return "control character in a string";
  if (w.find("while parsing object key") != std::string::npos) return "expected a quoted key";
  if (w.find("while parsing object separator") != std::string::npos) return "expected ':' after a key";
  const std::size_t colon = w.find(": ");
  return colon == std::string::npos ? w : w.substr(colon + 2);
}

}  // namespace

Expected<nlohmann::json> parse(const std::string& text) {
  Json root;
  Builder b(root);
  const bool ok = Json::sax_parse(text, &b, Json::input_format_t::json, true, false);
  if (ok && !b.failed_ && !b.too_deep_) return root;
  if (b.too_deep_ && !b.failed_) return fail(where(text, too_deep_at(text)) + ": nested too deeply");
  // position_: bytes read, the offending one (or the end of the text) last.
  return fail(where(text, b.position_ > 0 ? b.position_ - 1 : 0) + ": " + message(b));
}

std::string quote(const std::string& s) { return Json(s).dump(-1, ' ', false, Json::error_handler_t::replace); }

}  // namespace cli::json
