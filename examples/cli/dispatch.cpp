// examples/cli/dispatch.cpp - see dispatch.hpp. Every network of the registry is compiled here
// (the tool's compile time): ResNet / MLP / PULSE through NetRunner, the SpecNets through one
// SpectralNetRunner over a type-erased AnySpecNet, and the spectral estimator.
#include "dispatch.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <type_traits>

#include <ppghr/ppghr.hpp>
#include <ppghr/spectral/estimator.hpp>

namespace cli {
namespace {

// The error naming the blob, the load status and where it failed (rep not ok).
Error load_error(const ppghr::LoadReport& rep, const std::string& path) {
  std::ostringstream m;
  m << "cannot load '" << path << "': " << ppghr::status_name(rep.status);
  if (rep.tensor_index >= 0) m << " at tensor " << rep.tensor_index << " '" << rep.tensor_name << "'";
  m << " (expected " << rep.expected << ", found " << rep.found << ", offset " << rep.offset << ")";
  return fail(m.str());
}

// Starts Monitor M on est for recording r: the given front end, the options' tracking, the ADC
// rails from --adc-min / --adc-max or else the recording's; the reason when init() refuses.
template <class M, class Est, class PreConfig>
Status init_monitor(M& mon, Est& est, const PreConfig& preprocessing, const Recording& r, const Options& o) {
  typename M::Config cfg;
  cfg.preprocessing = preprocessing;
  cfg.tracking = o.tracking;
  if (o.adc_given)
    cfg.adc_min = o.adc_min, cfg.adc_max = o.adc_max;
  else
    cfg.adc_min = r.adc_min, cfg.adc_max = r.adc_max;
  const ppghr::SignalStatus st = mon.init(est, cfg);
  if (st != ppghr::SignalStatus::ok)
    return fail("sensor rate " + std::to_string(r.rate_hz) + " Hz of '" + r.name + "': " + ppghr::status_name(st));
  return {};
}

// Streams a recording through a Monitor M (already init()ed): frames are the chosen PPG channels,
// then (acc_in_frame) the accelerometer x, y, z, or zeros when the recording has none.
template <class M>
RunOut stream(M& mon, const Recording& r, const std::vector<int>& ppg_ch, bool acc_in_frame, std::FILE* notes) {
  constexpr std::size_t C = M::channels;
  const std::size_t P = ppg_ch.size(), n = r.samples();
  std::vector<float> frames(C * n, 0.f);
  std::vector<unsigned char> missing(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t c = 0; c < P; ++c) {
      const float x = r.ppg[i * std::size_t(r.ppg_channels) + std::size_t(ppg_ch[c])];
      frames[C * i + c] = x;
      if (std::isnan(x)) missing[i] = 1;
    }
    if (acc_in_frame && !r.acc.empty())
      for (std::size_t a = 0; a < 3; ++a) frames[C * i + P + a] = r.acc[3 * i + a];
  }
  RunOut out;
  out.channels = ppg_ch;
  out.accelerometer = acc_in_frame && !r.acc.empty();
  auto sink = [&](const ppghr::WindowResult& e) {
    if (e.status == ppghr::SignalStatus::too_short) return;
    Window w;
    w.time = e.start_s;
    w.status = e.status;
    w.hr = e.bpm;
    w.hr_clamped = e.bpm_tracked;
    out.acc_flat += e.acc_flat ? 1 : 0;
    if (e.index < r.ref_hr.size()) w.ref = r.ref_hr[e.index];
    out.windows.push_back(w);
    if constexpr (M::has_probabilities) {
      Probs p{};
      if (e.ok() && e.probabilities) std::copy(e.probabilities, e.probabilities + ppghr::kNumClasses, p.begin());
      out.probs.push_back(p);
    }
  };
  // Feed in chunks of one second, as a sensor driver would; a missing PPG sample as a gap.
  const std::size_t chunk = std::max<std::size_t>(1, static_cast<std::size_t>(r.rate_hz));
  for (std::size_t i = 0; i < n;) {
    if (missing[i]) {
      (void)mon.push_gap(1, sink);
      ++i;
      continue;
    }
    std::size_t k = 0;
    while (k < chunk && i + k < n && !missing[i + k]) ++k;
    (void)mon.push(frames.data() + C * i, k, sink);
    i += k;
  }
  bool too_short = false;
  (void)mon.finish([&](const ppghr::WindowResult& e) {
    if (e.status == ppghr::SignalStatus::too_short) too_short = true;
    sink(e);
  });
  if (too_short && notes)
    std::fprintf(notes, "ppghr-estimate: '%s': %.1f s of signal is too short for one 8 s window (status too_short)\n",
                 r.name.c_str(), double(n) / r.rate_hz);
  if (out.accelerometer && out.acc_flat > 0 && notes)
    std::fprintf(notes,
                 "ppghr-estimate: note: '%s': the accelerometer held one value through %zu of %zu windows (stopped or "
                 "stuck?): motion not seen there\n",
                 r.name.c_str(), out.acc_flat, out.windows.size());
  return out;
}

// A runner over the recording's chosen PPG channels (1..4): Self::run_c<P>(r, o, channels) for P of them.
template <class Self>
class MultiChannelRunner : public Runner {
 public:
  Expected<RunOut> run(const Recording& r, const Options& o) override {
    auto ch = resolve_channels(o.channels, r);
    if (!ch) return ch.error();
    Self& self = static_cast<Self&>(*this);
    switch (ch->size()) {
      case 1: return self.template run_c<1>(r, o, *ch);
      case 2: return self.template run_c<2>(r, o, *ch);
      case 3: return self.template run_c<3>(r, o, *ch);
      default: return self.template run_c<4>(r, o, *ch);
    }
  }
};

// A model blob's bytes at a 64-byte-aligned address (an int8 network reads its weights in place:
// Status::misaligned otherwise), kept by the runner for as long as its networks run.
class AlignedBlob {
 public:
  AlignedBlob() = default;
  explicit AlignedBlob(const std::vector<unsigned char>& b) : raw_(b.size() + ppghr::kAlign), size_(b.size()) {
    const auto addr = reinterpret_cast<std::uintptr_t>(raw_.data());
    off_ = static_cast<std::size_t>((ppghr::kAlign - addr % ppghr::kAlign) % ppghr::kAlign);
    if (size_ > 0) std::memcpy(raw_.data() + off_, b.data(), size_);
  }
  const unsigned char* data() const { return raw_.data() + off_; }
  std::size_t size() const { return size_; }

 private:
  std::vector<unsigned char> raw_;
  std::size_t size_ = 0, off_ = 0;
};

// Any network of one input size and result type behind one type, so that a Monitor (and the
// streaming code) is compiled once per kind of network, not once per network (the tool's compile
// time): the SpecNets (float and int8) and the int8 time-domain networks. The network is chosen at
// run time (set<Net>(), one allocation at set-up); predict() costs one virtual call more.
template <std::size_t InputSize, class Result>
class AnyNet {
 public:
  using result_type = Result;
  static constexpr std::size_t input_size = InputSize;

  template <class Net>
  void set() {
    static_assert(Net::input_size == input_size && std::is_same_v<typename Net::result_type, result_type>,
                  "AnyNet: the network's input size and result type");
    impl_ = std::make_unique<Impl<Net>>();
  }
  ppghr::LoadReport load(const void* data, std::size_t size) noexcept { return impl_->load(data, size); }
  bool loaded() const noexcept { return impl_ && impl_->loaded(); }
  const result_type& predict(const float* window) noexcept { return impl_->predict(window); }

 private:
  struct Base {
    virtual ~Base() = default;
    virtual ppghr::LoadReport load(const void* data, std::size_t size) noexcept = 0;
    virtual bool loaded() const noexcept = 0;
    virtual const result_type& predict(const float* window) noexcept = 0;
  };
  template <class Net>
  struct Impl final : Base {
    std::unique_ptr<Net> net = std::make_unique<Net>();
    ppghr::LoadReport load(const void* data, std::size_t size) noexcept override { return net->load(data, size); }
    bool loaded() const noexcept override { return net->loaded(); }
    const result_type& predict(const float* window) noexcept override { return net->predict(window); }
  };
  std::unique_ptr<Base> impl_;
};

// A network: ResNet / MLP take one PPG channel, band-passed and z-scored per window
// (ResNetPreprocessor); PULSE takes one PPG channel + ACC x, y, z in sensor units
// (PulsePreprocessor::raw_config): the network normalises its input with its blob's constants.
// The PPG channel is 0, or the one --channels names.
template <class Net, class Pre>
class NetRunner final : public Runner {
  using M = ppghr::Monitor<Net, Pre>;
  static constexpr int C = M::channels;
  static_assert(C == 1 || C == 4, "a frame is PPG alone or PPG + ACC x, y, z");

 public:
  /// set: for Net = AnyNet<...>, which network it is (AnyNet::set<X>).
  static Expected<std::unique_ptr<Runner>> make(const std::vector<unsigned char>& blob, const std::string& path,
                                                const std::string& name, void (*set)(Net&) = nullptr) {
    std::unique_ptr<NetRunner> r(new NetRunner(name));
    r->blob_ = AlignedBlob(blob);  // an int8 network reads it in place
    if (set != nullptr) set(*r->net_);
    const ppghr::LoadReport rep = r->net_->load(r->blob_.data(), r->blob_.size());
    if (!rep.ok()) return load_error(rep, path);
    return std::unique_ptr<Runner>(std::move(r));
  }
  bool wants_acc() const override { return C == 4; }
  bool has_probabilities() const override { return M::has_probabilities; }

  Expected<RunOut> run(const Recording& r, const Options& o) override {
    if (C == 4 && r.acc.empty())
      return fail("'" + r.name + "' has no accelerometer data (" + r.acc_source + "), which " + name_ +
                  " needs: PULSE takes PPG + 3-axis accelerometer");
    auto ch = resolve_channels(o.channels, r);
    if (!ch) return ch.error();
    if (!o.channels.empty() && ch->size() != 1)
      return fail("--channels: " + name_ +
                  " takes one PPG channel (e.g. --channels 0); the spectral estimator takes several");
    auto mon = std::make_unique<M>();
    Status st;
    if constexpr (C == 4)
      st = init_monitor(*mon, *net_, Pre::raw_config(r.rate_hz), r, o);
    else
      st = init_monitor(*mon, *net_, Pre::zscore_config(r.rate_hz), r, o);
    if (!st) return st.error();
    return stream(*mon, r, {ch->front()}, C == 4, o.notes);
  }

 private:
  explicit NetRunner(const std::string& name) : net_(std::make_unique<Net>()), name_(name) {}
  std::unique_ptr<Net> net_;
  AlignedBlob blob_;
  std::string name_;
};

// Every SpecNet of the registry (float or int8) behind one type: SpectralNet<P, AnySpecNet>, its
// Monitor and the streaming code are compiled once per channel count P.
using AnySpecNet = AnyNet<ppghr::specnet::kInputSize, ppghr::Prediction<float>>;

// A spectral network (SpecNet<N, W>): the spectral estimator's features of the chosen PPG channels
// (+ the accelerometer), then the network (SpectralNet<P, AnySpecNet>).
class SpectralNetRunner final : public MultiChannelRunner<SpectralNetRunner> {
 public:
  template <class Net>
  static Expected<std::unique_ptr<Runner>> make(const std::vector<unsigned char>& blob, const std::string& path,
                                                const std::string& name) {
    std::unique_ptr<SpectralNetRunner> r(new SpectralNetRunner(blob, path, name));
    r->set_ = [](AnySpecNet& n) { n.set<Net>(); };
    // Load once up front so a bad blob fails here, before any recording is read.
    AnySpecNet probe;
    r->set_(probe);
    const ppghr::LoadReport rep = probe.load(r->blob_.data(), r->blob_.size());
    if (!rep.ok()) return load_error(rep, r->path_);
    return std::unique_ptr<Runner>(std::move(r));
  }
  bool wants_acc() const override { return true; }
  bool has_probabilities() const override { return true; }

  template <int P>
  Expected<RunOut> run_c(const Recording& r, const Options& o, const std::vector<int>& ch) {
    using Est = ppghr::SpectralNet<P, AnySpecNet>;
    using Pre = typename Est::preprocessor;
    using M = ppghr::Monitor<Est, Pre>;
    auto est = std::make_unique<Est>();
    set_(est->net());
    const ppghr::LoadReport rep = est->load(blob_.data(), blob_.size());
    if (!rep.ok()) return load_error(rep, path_);
    const bool acc = !r.acc.empty();
    est->set_accelerometer(acc);
    if (!acc && !warned_no_acc_) {
      if (o.notes)
        std::fprintf(o.notes,
                     "ppghr-estimate: note: no accelerometer: %s runs on the PPG spectra alone ('%s': no %s)\n",
                     name_.c_str(), r.name.c_str(), r.acc_source.c_str());
      warned_no_acc_ = true;
    }
    auto mon = std::make_unique<M>();
    if (Status st = init_monitor(*mon, *est, Est::preprocessing_config(r.rate_hz), r, o); !st) return st.error();
    return stream(*mon, r, ch, true, o.notes);
  }

 private:
  SpectralNetRunner(const std::vector<unsigned char>& blob, const std::string& path, const std::string& name)
      : blob_(blob), path_(path), name_(name) {}
  AlignedBlob blob_;  // an int8 network reads it in place
  std::string path_, name_;
  void (*set_)(AnySpecNet&) = nullptr;  // AnySpecNet::set<Net> of this runner's network
  bool warned_no_acc_ = false;
};

// The built-in spectral estimator for the recording's chosen PPG channels (1..4) + the
// accelerometer (zeros, and set_accelerometer(false), when the recording has none).
class SpectralRunner final : public MultiChannelRunner<SpectralRunner> {
 public:
  bool wants_acc() const override { return true; }
  bool has_probabilities() const override { return true; }
  ppghr::Calibration calibration(const DecodeSpec& mode, bool accelerometer) const override {
    return spectral_calibration(mode, accelerometer);
  }

  template <int P>
  Expected<RunOut> run_c(const Recording& r, const Options& o, const std::vector<int>& ch) {
    using Est = ppghr::SpectralEstimator<P>;
    using Pre = typename Est::preprocessor;
    using M = ppghr::Monitor<Est, Pre>;
    auto est = std::make_unique<Est>();
    const bool acc = !r.acc.empty();
    est->set_accelerometer(acc);
    if (!acc && !warned_no_acc_) {
      if (o.notes)
        std::fprintf(
            o.notes,
            "ppghr-estimate: note: no accelerometer: motion not suppressed, confidence lowered ('%s': no %s)\n",
            r.name.c_str(), r.acc_source.c_str());
      warned_no_acc_ = true;
    }
    auto mon = std::make_unique<M>();
    if (Status st = init_monitor(*mon, *est, Est::preprocessing_config(r.rate_hz), r, o); !st) return st.error();
    return stream(*mon, r, ch, true, o.notes);
  }

 private:
  bool warned_no_acc_ = false;
};

// The bytes of the model blob file `path` (a regular file starting with the blob magic).
Expected<std::vector<unsigned char>> read_model(const std::string& path) {
  if (Status s = require_regular_file(path, "model "); !s) return s.error();
  std::ifstream f(path, std::ios::binary);
  if (!f) return fail("cannot open model '" + path + "': " + std::strerror(errno));
  std::vector<unsigned char> blob((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (blob.size() < 24 || std::memcmp(blob.data(), "PPGW", 4) != 0)
    return fail("'" + path + "' is not a ppghr model blob (bad magic)");
  return blob;
}

// The error for a blob whose fingerprint no network of the registry has.
Error unknown_network(const std::string& path, std::uint64_t fp) {
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%016llx", static_cast<unsigned long long>(fp));
  return Error{"'" + path + "' is a blob for a network this tool does not run (architecture fingerprint " + hex +
               "; it runs " + network_list() + ")"};
}

Expected<MadeRunner> make_net_runner(const std::string& path, const std::string& arch) {
  auto read = read_model(path);
  if (!read) return read.error();
  const std::vector<unsigned char>& blob = *read;
  const std::uint64_t fp = ppghr::registry::read_fingerprint(blob.data(), blob.size());
  // an int8 blob, with its tensor table (dtype 2) or compact (dtype 4): Int8Net::load takes both
  const std::uint32_t dtype = ppghr::blob::read_u32(blob.data() + ppghr::blob::kOffDtype);
  const bool int8 = dtype == ppghr::blob::kDtypeInt8 || dtype == ppghr::blob::kDtypeInt8Compact;
  // The registry's network with this fingerprint; with --arch, it must be that one.
  std::unique_ptr<Runner> runner;
  std::string found_name;
  std::optional<Error> load_failed;
  (void)ppghr::registry::visit(fp, [&](const auto& e) {
    using E = std::decay_t<decltype(e)>;
    using Net = typename E::type;
    found_name = e.name;
    if (!arch.empty() && arch != e.name) return;
    Expected<std::unique_ptr<Runner>> made = [&]() -> Expected<std::unique_ptr<Runner>> {
      if (int8) {  // an int8 blob (docs/int8.md): the network's int8 twin, weights read in place
        if constexpr (ppghr::has_int8_form_v<Net>) {
          using Q = ppghr::Int8Net<Net>;
          using Any = AnyNet<Q::input_size, typename Q::result_type>;
          const std::string name = std::string(e.name) + " int8";
          if constexpr (E::input == ppghr::registry::Input::spectral)
            return SpectralNetRunner::make<Q>(blob, path, name);
          else if constexpr (E::input == ppghr::registry::Input::pulse)
            return NetRunner<Any, ppghr::PulsePreprocessor>::make(blob, path, name, [](Any& n) { n.template set<Q>(); });
          else
            return NetRunner<Any, ppghr::ResNetPreprocessor>::make(blob, path, name, [](Any& n) { n.template set<Q>(); });
        } else {
          return fail("'" + path + "' is an int8 blob of " + e.name + ", which has no int8 form (docs/int8.md)");
        }
      }
      if constexpr (E::input == ppghr::registry::Input::spectral)
        return SpectralNetRunner::make<Net>(blob, path, e.name);
      else if constexpr (E::input == ppghr::registry::Input::pulse)
        return NetRunner<Net, ppghr::PulsePreprocessor>::make(blob, path, e.name);
      else
        return NetRunner<Net, ppghr::ResNetPreprocessor>::make(blob, path, e.name);
    }();
    if (made)
      runner = std::move(*made);
    else
      load_failed = made.error();
  });
  if (load_failed) return *load_failed;
  if (!arch.empty() && !ppghr::registry::visit(arch.c_str(), [](const auto&) {}))
    return fail("--arch " + arch + " is not a network this tool runs (" + network_list() + ")");
  if (!runner) {
    if (!found_name.empty())
      return fail("'" + path + "' is a blob for another network (" + found_name + "), not --arch " + arch);
    return unknown_network(path, fp);
  }
  return MadeRunner{std::move(runner), int8 ? found_name + " int8" : found_name};
}

}  // namespace

std::string network_list() {
  std::string list;
  ppghr::registry::for_each([&](const auto& e) { list += (list.empty() ? "" : ", ") + std::string(e.name); });
  return list;
}

Expected<std::vector<int>> resolve_channels(const std::vector<int>& sel, const Recording& r) {
  if (sel.empty()) {
    std::vector<int> all;
    for (int c = 0; c < r.ppg_channels && c < kMaxPpgChannels; ++c) all.push_back(c);
    return all;
  }
  for (int c : sel)
    if (c >= r.ppg_channels)
      return fail("--channels: '" + r.name + "' has " + std::to_string(r.ppg_channels) + " PPG channel(s) (0.." +
                  std::to_string(r.ppg_channels - 1) + "), no channel " + std::to_string(c));
  return sel;
}

Expected<std::vector<unsigned char>> in_place_blob(const std::string& path, std::string& name) {
  auto read = read_model(path);
  if (!read) return read.error();
  const std::vector<unsigned char>& blob = *read;
  const std::uint64_t fp = ppghr::registry::read_fingerprint(blob.data(), blob.size());
  std::optional<Expected<std::vector<unsigned char>>> out;
  (void)ppghr::registry::visit(fp, [&](const auto& e) {
    using Net = typename std::decay_t<decltype(e)>::type;
    name = e.name;
    auto net = std::make_unique<Net>();
    const ppghr::LoadReport rep = net->load(blob.data(), blob.size());
    if (!rep.ok()) {
      out = load_error(rep, path);
      return;
    }
    std::vector<unsigned char> packed(ppghr::blob::blob_size(*net));
    std::size_t n = 0;
    const ppghr::Status st = ppghr::blob::write_packed_blob(*net, packed.data(), packed.size(), &n);
    if (st != ppghr::Status::ok) out = fail(std::string("cannot write the in-place blob: ") + ppghr::status_name(st));
    else out = std::move(packed);
  });
  if (!out) return unknown_network(path, fp);
  return std::move(*out);
}

Expected<MadeRunner> make_runner(const std::string& model, const std::string& arch) {
  if (model == "spectral") {
    if (!arch.empty() && arch != "spectral") return fail("--arch " + arch + " with --model spectral");
    return MadeRunner{std::make_unique<SpectralRunner>(), "spectral"};
  }
  return make_net_runner(model, arch);
}

}  // namespace cli
