// ppghr_compare_torch: the LibTorch engine of the comparison harness (same line protocol as
// ppghr_worker.cpp). Runs DIR/NAME.pt (TorchScript traced and frozen from the PyTorch twin holding
// the blob's weights, export_models.py) on one intra-op and one inter-op thread, in inference
// mode. Timed is module.forward() on the prepared input tensor.
#include <torch/script.h>

#include <ATen/Parallel.h>
#include <time.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

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
  torch::jit::script::Module module;
  std::vector<torch::jit::IValue> inputs;
};

}  // namespace

int main() {
  at::set_num_threads(1);
  at::set_num_interop_threads(1);
  c10::InferenceMode guard;
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
      const auto x = read_f32(dir + "/" + name + ".input.f32");
      if (x.empty()) {
        std::cout << "err no input\n";
        continue;
      }
      try {
        Loaded l{torch::jit::load(dir + "/" + name + ".pt"), {}};
        l.module.eval();
        const bool pulse = name.rfind("pulse", 0) == 0;
        const std::vector<int64_t> shape = pulse ? std::vector<int64_t>{1, 4, 256} : std::vector<int64_t>{1, 1, 200};
        l.inputs.emplace_back(torch::from_blob(const_cast<float*>(x.data()), shape, torch::kFloat32).clone());
        (void)l.module.forward(l.inputs);
        nets[name] = std::move(l);
        std::cout << "ok\n";
      } catch (const std::exception& e) {
        std::string msg = e.what();
        std::cout << "err " << msg.substr(0, msg.find('\n')) << "\n";
      }
    } else if (nets.count(name) == 0) {
      std::cout << "err not loaded " << name << "\n";
    } else if (cmd == "out") {
      Loaded& l = nets[name];
      const at::Tensor y = l.module.forward(l.inputs).toTensor().contiguous();
      std::ostringstream o;
      o.precision(9);
      o << "out";
      const float* p = y.data_ptr<float>();
      for (int64_t i = 0; i < y.numel(); ++i) o << " " << p[i];
      std::cout << o.str() << "\n";
    } else if (cmd == "time") {
      long inner = 1;
      in >> inner;
      Loaded& l = nets[name];
      const double c0 = thread_cpu_ns();
      const auto t0 = std::chrono::steady_clock::now();
      for (long i = 0; i < inner; ++i) {
        const at::Tensor y = l.module.forward(l.inputs).toTensor();
        (void)y;
      }
      const auto t1 = std::chrono::steady_clock::now();
      const double c1 = thread_cpu_ns();
      std::cout << "ns " << std::chrono::duration<double, std::nano>(t1 - t0).count() / double(inner) << " "
                << (c1 - c0) / double(inner) << "\n";
    } else {
      std::cout << "err unknown command " << cmd << "\n";
    }
  }
  return 0;
}
