// examples/cli/error.hpp - how ppghr-estimate's parts report failure: a helper returns an
// Expected<T> (its value, or an Error with the one-line message), never exits; only main() prints
// the message ("ppghr-estimate: error: ...") and returns exit status 2. Host-side tool code.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace cli {

struct Error {
  std::string message;      ///< one line, without the "ppghr-estimate: error: " prefix
  bool show_usage = false;  ///< main() prints the usage text before the message (argument errors)
};

/// A value of T or the Error that prevented it.
template <class T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit on purpose
  Expected(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

/// Success, or the Error.
template <>
class [[nodiscard]] Expected<void> {
 public:
  Expected() = default;
  Expected(Error error) : e_(std::move(error)) {}  // NOLINT
  bool ok() const { return !e_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *e_; }

 private:
  std::optional<Error> e_;
};

using Status = Expected<void>;

/// An Error with this message (reads as `return fail("...")`).
inline Error fail(std::string message) { return Error{std::move(message), false}; }

}  // namespace cli
