// ppghr_compare_ppghr: the ppghr engine of the comparison harness (benchmarks/compare/compare.py).
//
// A line protocol on stdin / stdout, the same for every engine's worker:
//   load NAME DIR     load DIR/NAME.ppgw and the input window DIR/NAME.input.f32  -> "ok" | "err ..."
//   out NAME          the network's output for that window                        -> "out v0 v1 ..."
//   time NAME INNER   INNER back-to-back predict() calls                          -> "ns <wall> <cpu>"
//                     (nanoseconds per call: steady clock, and this thread's CPU time)
//   bytes NAME        (ppghr only) the network's compile-time memory  -> "bytes <weights> <scratch> <object> <MACs>"
//   rss               peak and current resident set (VmHWM, VmRSS)              -> "rss <peak kB> <now kB>"
//   quit
// NAME: any network of the registry (models/registry.hpp); compare.py uses resnet1 resnet2 resnet6
// resnet10 resnet12 (180 logits), pulse_teacher pulse_student (regression heads: one BPM value).
// Timed is predict(), the whole public call: input check,
// forward pass and, for the classifiers, softmax and argmax (work the other engines do not do).
#include <ppghr/ppghr.hpp>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Engine {
  virtual ~Engine() = default;
  virtual bool load(const std::string& blob) = 0;
  virtual void predict(const float* x) = 0;
  virtual std::vector<float> output() const = 0;
  virtual std::string bytes() const = 0;
};

template <class Net>
struct NetEngine final : Engine {
  std::unique_ptr<Net> net = std::make_unique<Net>();  // one allocation at start-up, off the stack
  bool load(const std::string& blob) override { return net->load_file(blob.c_str()).ok(); }
  void predict(const float* x) override { (void)net->predict(x); }
  std::string bytes() const override {
    return std::to_string(Net::weight_bytes) + " " + std::to_string(Net::scratch_bytes) + " " +
           std::to_string(Net::memory_bytes) + " " + std::to_string(Net::macs);
  }
  std::vector<float> output() const override {
    const auto& r = net->last();
    if constexpr (std::is_same_v<typename Net::result_type, ppghr::Prediction<float>>)
      return std::vector<float>(r.logits.begin(), r.logits.end());
    else
      return {r.bpm};
  }
};

// Any network of the library's registry (models/registry.hpp), by name.
std::unique_ptr<Engine> make(const std::string& name) {
  std::unique_ptr<Engine> engine;
  (void)ppghr::registry::visit(name.c_str(), [&](const auto& e) {
    engine = std::make_unique<NetEngine<typename std::decay_t<decltype(e)>::type>>();
  });
  return engine;
}

std::vector<float> read_f32(const std::string& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return {};
  const auto bytes = static_cast<std::size_t>(f.tellg());
  std::vector<float> v(bytes / sizeof(float));
  f.seekg(0);
  f.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * sizeof(float)));
  return v;
}

double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return 1e9 * double(ts.tv_sec) + double(ts.tv_nsec);
}

// VmHWM (peak resident set of this process image) and VmRSS from /proc/self/status, in kB.
// Not getrusage's ru_maxrss: Linux carries that over exec from the forked parent (the Python
// driver), so it reads the parent's size for a small worker.
long status_kb(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string k;
  long v = -1;
  while (f >> k) {
    if (k == key) {
      f >> v;
      break;
    }
    f.ignore(1 << 12, '\n');
  }
  return v;
}

struct Loaded {
  std::unique_ptr<Engine> engine;
  std::vector<float> input;
};

}  // namespace

int main() {
  std::map<std::string, Loaded> nets;
  std::string line;
  std::cout.setf(std::ios::unitbuf);
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd, name;
    in >> cmd >> name;
    if (cmd == "quit") break;
    if (cmd == "rss") {
      std::cout << "rss " << status_kb("VmHWM:") << " " << status_kb("VmRSS:") << "\n";
    } else if (cmd == "load") {
      std::string dir;
      in >> dir;
      Loaded l{make(name), read_f32(dir + "/" + name + ".input.f32")};
      if (!l.engine) {
        std::cout << "err unknown network " << name << "\n";
      } else if (l.input.empty()) {
        std::cout << "err no input " << dir << "/" << name << ".input.f32\n";
      } else if (!l.engine->load(dir + "/" + name + ".ppgw")) {
        std::cout << "err blob " << dir << "/" << name << ".ppgw does not load\n";
      } else {
        l.engine->predict(l.input.data());
        nets[name] = std::move(l);
        std::cout << "ok\n";
      }
    } else if (nets.count(name) == 0) {
      std::cout << "err not loaded " << name << "\n";
    } else if (cmd == "out") {
      Loaded& l = nets[name];
      l.engine->predict(l.input.data());
      std::ostringstream o;
      o.precision(9);
      o << "out";
      for (float v : l.engine->output()) o << " " << v;
      std::cout << o.str() << "\n";
    } else if (cmd == "time") {
      long inner = 1;
      in >> inner;
      Loaded& l = nets[name];
      const double c0 = thread_cpu_ns();
      const auto t0 = std::chrono::steady_clock::now();
      for (long i = 0; i < inner; ++i) l.engine->predict(l.input.data());
      const auto t1 = std::chrono::steady_clock::now();
      const double c1 = thread_cpu_ns();
      std::cout << "ns " << std::chrono::duration<double, std::nano>(t1 - t0).count() / double(inner) << " "
                << (c1 - c0) / double(inner) << "\n";
    } else if (cmd == "bytes") {
      std::cout << "bytes " << nets[name].engine->bytes() << "\n";
    } else {
      std::cout << "err unknown command " << cmd << "\n";
    }
  }
  return 0;
}
