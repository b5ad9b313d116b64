// Reading the golden files of tests/golden/ (format: tests/golden/README.md, ".golden format
// (version 1)") and the blobs the golden_blobs ctest fixture regenerates from the same seeds.
#pragma once

#include <doctest/doctest.h>

#include <ppghr/core/tensor.hpp>
#include <ppghr/io/blob.hpp>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#ifndef PPGHR_GOLDEN_DIR
#error "PPGHR_GOLDEN_DIR must point to tests/golden"
#endif
#ifndef PPGHR_GOLDEN_BLOB_DIR
#error "PPGHR_GOLDEN_BLOB_DIR must point to the generated blobs"
#endif

namespace ppghr_test {

struct Golden {
  std::uint32_t n_windows = 0, input_floats = 0, n_outputs = 0, blob_size = 0, blob_crc = 0;
  std::uint64_t fingerprint = 0;
  std::string arch, provenance;
  std::vector<float> inputs, outputs, probs;  // outputs: logits, or the regression value
};

inline std::vector<unsigned char> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<unsigned char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

inline bool parse_golden(const std::vector<unsigned char>& b, Golden& g) {
  using ppghr::blob::read_u32;
  if (b.size() < 356 || std::memcmp(b.data(), "PPGG", 4) != 0 || read_u32(b.data() + 4) != 1) return false;
  g.n_windows = read_u32(b.data() + 8);
  g.input_floats = read_u32(b.data() + 12);
  g.n_outputs = read_u32(b.data() + 16);
  g.blob_size = read_u32(b.data() + 20);
  g.blob_crc = read_u32(b.data() + 24);
  g.fingerprint = ppghr::blob::read_u64(b.data() + 28);
  g.arch.assign(reinterpret_cast<const char*>(b.data() + 36), strnlen(reinterpret_cast<const char*>(b.data() + 36), 64));
  g.provenance.assign(reinterpret_cast<const char*>(b.data() + 100), strnlen(reinterpret_cast<const char*>(b.data() + 100), 256));
  const std::size_t ni = std::size_t(g.n_windows) * g.input_floats, no = std::size_t(g.n_windows) * g.n_outputs;
  if (b.size() != 356 + 4 * (ni + 2 * no)) return false;
  auto take = [&](std::size_t off, std::size_t n, std::vector<float>& out) {
    out.resize(n);
    const ppghr::TensorSource src(b.data() + off, n);
    for (std::size_t i = 0; i < n; ++i) out[i] = src[i];
  };
  take(356, ni, g.inputs);
  take(356 + 4 * ni, no, g.outputs);
  take(356 + 4 * (ni + no), no, g.probs);
  return true;
}

/// tests/golden/<arch>.golden, checked against the network's fingerprint and input size.
template <class Net>
Golden load_golden(const std::string& arch) {
  Golden g;
  REQUIRE_MESSAGE(parse_golden(read_all(std::string(PPGHR_GOLDEN_DIR) + "/" + arch + ".golden"), g),
                  "cannot read tests/golden/" << arch << ".golden");
  CHECK(g.arch == arch);
  CHECK(g.fingerprint == Net::fingerprint);
  REQUIRE(g.input_floats == Net::input_size);
  REQUIRE(g.n_windows >= 1);
  return g;
}

/// The regenerated blob of `arch`: byte-for-byte the one the golden was made from (size + CRC).
inline std::vector<unsigned char> load_golden_blob(const std::string& arch, const Golden& g) {
  const std::string path = std::string(PPGHR_GOLDEN_BLOB_DIR) + "/" + arch + ".ppgw";
  auto bytes = read_all(path);
  REQUIRE_MESSAGE(!bytes.empty(), "missing " << path << ": run `ctest -R golden_blobs` (or "
                                      "PYTHONPATH=tools python3 -m ppghr_tools.golden --out DIR --blobs-only)");
  CHECK(bytes.size() == g.blob_size);
  CHECK(ppghr::blob::read_u32(bytes.data() + bytes.size() - 4) == g.blob_crc);
  return bytes;
}

}  // namespace ppghr_test
