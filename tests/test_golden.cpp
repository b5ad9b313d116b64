// Golden parity with the PyTorch twin: for every network the C++ side has, the blob made by
// tools/ppghr_tools/golden.py loads, and the C++ logits equal PyTorch's (computed in float64,
// stored as float32) within max abs difference 1e-4, with the same argmax.
// The blobs are regenerated at test time (ctest fixture `golden_blobs`, numpy only) into
// PPGHR_GOLDEN_BLOB_DIR; their size and CRC must equal what the committed .golden files record,
// so the committed expectations and the regenerated weights are the same ones.
#include <doctest/doctest.h>

#include <ppghr/ppghr.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.hpp"

#ifndef PPGHR_GOLDEN_DIR
#error "PPGHR_GOLDEN_DIR must point to tests/golden"
#endif
#ifndef PPGHR_GOLDEN_BLOB_DIR
#error "PPGHR_GOLDEN_BLOB_DIR must point to the generated blobs"
#endif

using namespace ppghr;

namespace {

constexpr double kTolerance = 1e-4;

std::vector<unsigned char> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<unsigned char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

struct Golden {
  std::uint32_t n_windows = 0, input_floats = 0, n_outputs = 0, blob_size = 0, blob_crc = 0;
  std::uint64_t fingerprint = 0;
  std::string arch, provenance;
  std::vector<float> inputs, logits, probs;
};

bool parse_golden(const std::vector<unsigned char>& b, Golden& g) {
  if (b.size() < 356 || std::memcmp(b.data(), "PPGG", 4) != 0 || blob::read_u32(b.data() + 4) != 1) return false;
  g.n_windows = blob::read_u32(b.data() + 8);
  g.input_floats = blob::read_u32(b.data() + 12);
  g.n_outputs = blob::read_u32(b.data() + 16);
  g.blob_size = blob::read_u32(b.data() + 20);
  g.blob_crc = blob::read_u32(b.data() + 24);
  g.fingerprint = blob::read_u64(b.data() + 28);
  g.arch.assign(reinterpret_cast<const char*>(b.data() + 36), strnlen(reinterpret_cast<const char*>(b.data() + 36), 64));
  g.provenance.assign(reinterpret_cast<const char*>(b.data() + 100), strnlen(reinterpret_cast<const char*>(b.data() + 100), 256));
  const std::size_t ni = std::size_t(g.n_windows) * g.input_floats, no = std::size_t(g.n_windows) * g.n_outputs;
  if (b.size() != 356 + 4 * (ni + 2 * no)) return false;
  auto take = [&](std::size_t off, std::size_t n, std::vector<float>& out) {
    out.resize(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = TensorSource(b.data() + off, n)[i];
  };
  take(356, ni, g.inputs);
  take(356 + 4 * ni, no, g.logits);
  take(356 + 4 * (ni + no), no, g.probs);
  return true;
}

std::map<std::string, std::string> fingerprint_file() {
  std::map<std::string, std::string> m;
  std::ifstream f(std::string(PPGHR_GOLDEN_DIR) + "/fingerprints.txt");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream ss(line);
    std::string arch, fp;
    if (ss >> arch >> fp) m[arch] = fp;
  }
  return m;
}

std::string hex(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

template <class Net>
void check_golden(const std::string& arch) {
  INFO("arch " << arch);
  // The fingerprint the Python exporter computes equals the C++ constexpr one.
  const auto fps = fingerprint_file();
  REQUIRE_MESSAGE(fps.count(arch) == 1, "tests/golden/fingerprints.txt has no line for " << arch);
  CHECK(fps.at(arch) == hex(Net::fingerprint));

  Golden g;
  REQUIRE_MESSAGE(parse_golden(read_all(std::string(PPGHR_GOLDEN_DIR) + "/" + arch + ".golden"), g),
                  "cannot read tests/golden/" << arch << ".golden");
  CHECK(g.arch == arch);
  CHECK(g.fingerprint == Net::fingerprint);
  REQUIRE(g.input_floats == Net::input_size);
  REQUIRE(g.n_outputs == static_cast<std::uint32_t>(kNumClasses));
  REQUIRE(g.n_windows >= 1);

  const std::string blob_path = std::string(PPGHR_GOLDEN_BLOB_DIR) + "/" + arch + ".ppgw";
  const auto bytes = read_all(blob_path);
  REQUIRE_MESSAGE(!bytes.empty(), "missing " << blob_path << ": run `ctest -R golden_blobs` (or "
                                              "PYTHONPATH=tools python3 -m ppghr_tools.golden --out DIR --blobs-only)");
  CHECK(bytes.size() == g.blob_size);
  CHECK(blob::read_u32(bytes.data() + bytes.size() - 4) == g.blob_crc);

  auto net = std::make_unique<Net>();
  const LoadReport r = net->load(bytes.data(), bytes.size());
  INFO("load: " << status_name(r.status) << " tensor " << r.tensor_index << " " << r.tensor_name);
  REQUIRE(r.ok());

  double worst = 0;
  for (std::uint32_t w = 0; w < g.n_windows; ++w) {
    const float* x = g.inputs.data() + std::size_t(w) * g.input_floats;
    const float* expected = g.logits.data() + std::size_t(w) * g.n_outputs;
    const float* expected_p = g.probs.data() + std::size_t(w) * g.n_outputs;
    const auto& p = net->predict(x);
    REQUIRE(p.ok());
    const double d = ppghr_test::max_abs_diff(p.logits.data(), expected, kNumClasses);
    worst = d > worst ? d : worst;
    CHECK(d <= kTolerance);
    CHECK(p.class_index == argmax(expected, kNumClasses));
    CHECK(ppghr_test::max_abs_diff(p.probabilities.data(), expected_p, kNumClasses) <= kTolerance);
  }
  MESSAGE(arch << ": max abs logit difference vs PyTorch " << worst << " over " << g.n_windows << " windows ("
               << g.provenance << ")");
}

}  // namespace

TEST_SUITE("golden") {
  TEST_CASE("ResNet1d N = 1..12 match PyTorch") {
    check_golden<ResNet1d<1>>("resnet1");
    check_golden<ResNet1d<2>>("resnet2");
    check_golden<ResNet1d<3>>("resnet3");
    check_golden<ResNet1d<4>>("resnet4");
    check_golden<ResNet1d<5>>("resnet5");
    check_golden<ResNet1d<6>>("resnet6");
    check_golden<ResNet1d<7>>("resnet7");
    check_golden<ResNet1d<8>>("resnet8");
    check_golden<ResNet1d<9>>("resnet9");
    check_golden<ResNet1d<10>>("resnet10");
    check_golden<ResNet1d<11>>("resnet11");
    check_golden<ResNet1d<12>>("resnet12");
  }
  TEST_CASE("MLP students match PyTorch") {
    check_golden<Mlp<1>>("mlp1");
    check_golden<Mlp<2>>("mlp2");
    check_golden<Mlp<3>>("mlp3");
    check_golden<Mlp<4>>("mlp4");
  }
}
