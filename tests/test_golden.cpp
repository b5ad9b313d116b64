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

#include "golden_file.hpp"
#include "test_util.hpp"

using namespace ppghr;

namespace {

constexpr double kTolerance = 1e-4;

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

// The golden inputs are row-major as PyTorch takes them ([channels][length]); the C++ networks
// take [length][channels]. Only SpecNet has more than one channel and length (its features
// [6][180] -> [180][6]); for the others the two layouts are the same.
template <class Net>
std::vector<float> as_cpp_input(const float* x) {
  std::vector<float> v(x, x + Net::input_size);
  if constexpr (Net::input_size == specnet::kInputSize) {
    for (int f = 0; f < specnet::kFeatures; ++f)
      for (int b = 0; b < specnet::kBins; ++b) v[std::size_t(b) * specnet::kFeatures + f] = x[f * specnet::kBins + b];
  }
  return v;
}

template <class Net>
void check_golden(const std::string& arch) {
  INFO("arch " << arch);
  // The fingerprint the Python exporter computes equals the C++ constexpr one.
  const auto fps = fingerprint_file();
  REQUIRE_MESSAGE(fps.count(arch) == 1, "tests/golden/fingerprints.txt has no line for " << arch);
  CHECK(fps.at(arch) == hex(Net::fingerprint));

  const ppghr_test::Golden g = ppghr_test::load_golden<Net>(arch);
  REQUIRE(g.n_outputs == static_cast<std::uint32_t>(kNumClasses));
  const auto bytes = ppghr_test::load_golden_blob(arch, g);

  auto net = std::make_unique<Net>();
  const LoadReport r = net->load(bytes.data(), bytes.size());
  INFO("load: " << status_name(r.status) << " tensor " << r.tensor_index << " " << r.tensor_name);
  REQUIRE(r.ok());

  double worst = 0;
  for (std::uint32_t w = 0; w < g.n_windows; ++w) {
    const std::vector<float> x = as_cpp_input<Net>(g.inputs.data() + std::size_t(w) * g.input_floats);
    const float* expected = g.outputs.data() + std::size_t(w) * g.n_outputs;
    const float* expected_p = g.probs.data() + std::size_t(w) * g.n_outputs;
    const auto& p = net->predict(x.data());
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
  TEST_CASE("SpecNet matches PyTorch") {
    check_golden<SpecNet<1>>("specnet1");
    check_golden<SpecNet<2>>("specnet2");
    check_golden<SpecNet<6>>("specnet6");
    check_golden<SpecNet<10>>("specnet10");
    check_golden<SpecNet<12>>("specnet12");
    check_golden<SpecNet<1, 32>>("specnet1w32");
    check_golden<SpecNet<10, 32>>("specnet10w32");
    check_golden<SpecNet<12, 32>>("specnet12w32");
  }
}
