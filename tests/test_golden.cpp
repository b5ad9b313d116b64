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
#include <type_traits>
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

static_assert(std::is_same_v<registry::network_t<registry::index_of("specnet10w32")>, SpecNet<10, 32>>,
              "registry: lookup by name at compile time");
static_assert(std::is_same_v<registry::network_t<registry::index_of("pulse_student_wn_cls")>,
                             PulseStudent<pulse::Head::classes, float, pulse::Input::window>>,
              "registry: lookup by name at compile time");
static_assert(registry::index_of("resnet13") == registry::count, "registry: an unknown name is not found");

TEST_CASE("registry: every network once, with the names and fingerprints of tools' ARCHS (tests/golden/fingerprints.txt)") {
  const auto fps = fingerprint_file();
  REQUIRE(fps.size() == registry::count);
  std::map<std::string, int> seen;
  registry::for_each([&](const auto& e) {
    using Net = typename std::decay_t<decltype(e)>::type;
    INFO("registry entry " << e.name);
    CHECK(++seen[e.name] == 1);
    REQUIRE(fps.count(e.name) == 1);
    CHECK(fps.at(e.name) == hex(Net::fingerprint));
    // visit() by name and by fingerprint find this entry, and no other.
    int calls = 0;
    CHECK(registry::visit(e.name, [&](const auto& v) { ++calls; CHECK(std::decay_t<decltype(v)>::type::fingerprint == Net::fingerprint); }));
    CHECK(registry::visit(Net::fingerprint, [&](const auto& v) { ++calls; CHECK(std::strcmp(v.name, e.name) == 0); }));
    CHECK(calls == 2);
    // The input kind follows the family.
    constexpr bool pulse = std::decay_t<decltype(e)>::input == registry::Input::pulse;
    constexpr bool spectral = std::decay_t<decltype(e)>::input == registry::Input::spectral;
    CHECK(pulse == (std::string(e.name).rfind("pulse_", 0) == 0));
    CHECK(spectral == (std::string(e.name).rfind("specnet", 0) == 0));
  });
  CHECK(seen.size() == registry::count);
  CHECK_FALSE(registry::visit("resnet13", [](const auto&) {}));
  CHECK_FALSE(registry::visit(static_cast<const char*>(nullptr), [](const auto&) {}));
  CHECK_FALSE(registry::visit(std::uint64_t{0x0807060504030201ull}, [](const auto&) {}));
}

TEST_SUITE("golden") {
  // In the golden suite (ctest "golden", which requires the golden_blobs fixture): it reads a
  // generated blob, which the "unit" run may start before golden_blobs has written.
  TEST_CASE("registry::read_fingerprint: a real blob's header; 0 for bytes that are not a blob") {
    const auto g = ppghr_test::load_golden<SpecNet<2>>("specnet2");
    const auto blob = ppghr_test::load_golden_blob("specnet2", g);
    CHECK(registry::read_fingerprint(blob.data(), blob.size()) == SpecNet<2>::fingerprint);
    CHECK(registry::read_fingerprint(blob.data(), 23) == 0);
    CHECK(registry::read_fingerprint(nullptr, 100) == 0);
    std::vector<unsigned char> other = blob;
    other[0] = 'X';
    CHECK(registry::read_fingerprint(other.data(), other.size()) == 0);
  }

  // Every classifier of the registry (ResNet1d, Mlp, SpecNet, TinyCnn); the PULSE networks, whose
  // outputs differ (regression heads), have their golden test in test_pulse.cpp.
  TEST_CASE("every ResNet1d, MLP, SpecNet and TinyCnn of the registry matches PyTorch") {
    int checked = 0;
    registry::for_each([&](const auto& e) {
      if constexpr (std::decay_t<decltype(e)>::input != registry::Input::pulse) {
        check_golden<typename std::decay_t<decltype(e)>::type>(e.name);
        ++checked;
      }
    });
    CHECK(checked == int(registry::count) - 8);  // all but the 8 PULSE networks
  }
}
