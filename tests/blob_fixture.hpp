// Building blobs for tests: random weights (PyTorch order) for any network, written with the
// library's blob writer, kept beside the tensors so tests can run a reference model on them.
#pragma once

#include <ppghr/io/blob_writer.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace ppghr_test {

struct TensorRecord {
  std::string name;
  std::vector<std::uint32_t> dims;
  std::vector<float> data;
};

struct CollectSpecs {
  std::vector<TensorRecord>* out;
  template <class Setter>
  void operator()(const ppghr::TensorSpec& spec, Setter&&) {
    TensorRecord r;
    r.name = spec.name.text;
    r.dims.assign(spec.dims, spec.dims + spec.ndim);
    r.data.resize(static_cast<std::size_t>(spec.count()));
    out->push_back(std::move(r));
  }
};

/// Random weights for every tensor of `net`: scales, shifts and biases near 1 / 0, conv and
/// dense weights scaled by 1/sqrt(fan_in) so activations stay O(1) through deep networks.
template <class Net>
std::vector<TensorRecord> random_tensors(Net& net, std::uint32_t seed) {
  std::vector<TensorRecord> ts;
  CollectSpecs c{&ts};
  net.visit_tensors(c);
  std::mt19937 rng(seed);
  for (auto& t : ts) {
    const bool is_weight = t.name.size() > 7 && t.name.compare(t.name.size() - 7, 7, ".weight") == 0;
    const bool is_scale = t.name.size() > 6 && t.name.compare(t.name.size() - 6, 6, ".scale") == 0;
    double fan_in = 1;
    for (std::size_t d = 1; d < t.dims.size(); ++d) fan_in *= t.dims[d];
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    for (auto& v : t.data) {
      if (is_weight) v = static_cast<float>(u(rng) * std::sqrt(3.0 / fan_in));
      else if (is_scale) v = 0.5f + 0.5f * (u(rng) + 1.f);
      else v = 0.2f * u(rng);
    }
  }
  return ts;
}

template <class Net>
std::vector<unsigned char> make_blob(Net& net, const std::vector<TensorRecord>& ts,
                                     std::uint64_t fingerprint = Net::fingerprint) {
  std::vector<unsigned char> bytes(ppghr::blob::blob_size(net));
  std::size_t written = 0;
  auto fill = [&](const ppghr::TensorSpec&, std::size_t k, std::uint32_t index) { return ts[index].data[k]; };
  const auto st = ppghr::blob::write_blob(net, fill, bytes.data(), bytes.size(), &written, fingerprint);
  if (st != ppghr::Status::ok || written != bytes.size()) bytes.clear();
  return bytes;
}

}  // namespace ppghr_test
