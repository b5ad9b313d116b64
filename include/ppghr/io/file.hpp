// ppghr/io/file.hpp - loading a blob from a file path (hosts; embedded targets have no files and
// use the in-memory load). Either into a caller-supplied buffer (read_file, no allocation), or
// with load_file(): one temporary allocation of the file's size (nothrow new), freed on return.
#pragma once

#include <cstddef>
#include <cstdio>
#include <memory>
#include <new>

#include "ppghr/core/status.hpp"
#include "ppghr/io/blob.hpp"

namespace ppghr {

namespace detail {
struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

// Size of an open file, or -1.
inline long file_size(std::FILE* f) noexcept {
  if (std::fseek(f, 0, SEEK_END) != 0) return -1;
  const long n = std::ftell(f);
  if (std::fseek(f, 0, SEEK_SET) != 0) return -1;
  return n;
}
}  // namespace detail

/// Reads the whole file into buffer[0, capacity); *size receives its size. file_error when it
/// cannot be opened or read; buffer_too_small when it does not fit (nothing is read then).
[[nodiscard]] inline Status read_file(const char* path, unsigned char* buffer, std::size_t capacity,
                                      std::size_t* size) noexcept {
  if (size) *size = 0;
  detail::FilePtr f(std::fopen(path, "rb"));
  if (!f) return Status::file_error;
  const long n = detail::file_size(f.get());
  if (n < 0) return Status::file_error;
  if (static_cast<unsigned long>(n) > capacity) return Status::buffer_too_small;
  if (std::fread(buffer, 1, static_cast<std::size_t>(n), f.get()) != static_cast<std::size_t>(n)) return Status::file_error;
  if (size) *size = static_cast<std::size_t>(n);
  return Status::ok;
}

/// Loads a blob file into `net`, all-or-nothing like the in-memory load. LoadReport::status is
/// file_error (with `found` = bytes read) when the file cannot be opened, read or buffered.
template <class Net>
[[nodiscard]] LoadReport load_file(Net& net, const char* path) noexcept {
  LoadReport r;
  r.status = Status::file_error;
  detail::FilePtr f(std::fopen(path, "rb"));
  if (!f) return r;
  const long n = detail::file_size(f.get());
  if (n < 0) return r;
  std::unique_ptr<unsigned char[]> bytes(new (std::nothrow) unsigned char[n > 0 ? static_cast<std::size_t>(n) : 1]);
  if (!bytes) return r;
  const std::size_t got = std::fread(bytes.get(), 1, static_cast<std::size_t>(n), f.get());
  if (got != static_cast<std::size_t>(n)) {
    r.found = got;
    return r;
  }
  return load_blob(net, bytes.get(), got);
}

}  // namespace ppghr
