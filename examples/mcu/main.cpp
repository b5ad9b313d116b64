// examples/mcu/main.cpp - ppghr on a microcontroller: load a network from a weight blob that is a
// const array in flash, through the ordinary load() API, run it on a few embedded windows, print
// the heart rates and the raw output vectors, a checksum, instruction counts and the stack used.
//
// The same file builds for the Cortex-M4F (platform_m4.cpp) and for the host
// (platform_host.cpp); scripts/mcu.sh runs both and compares their outputs. Which network:
// PPGHR_MCU_NET, its name in the library's registry (models/registry.hpp), chosen at compile time;
// CMakeLists.txt builds "resnet1", "resnet2" (the shipped models/resnet2_bami1.ppgw) and
// "pulse_student" (the published PULSE student, regression head).
// The generated headers (CMakeLists.txt): ppghr_mcu_model.h (tools/ppghr_tools/blob_to_c.py)
// and ppghr_mcu_inputs.h (gen_inputs.py).
// PPGHR_MCU_INT8 (the <net>_int8 images): ppghr::Int8Net<Net>, the int8 twin, reading the compact
// (dtype-4) int8 blob in place; it also prints each window's int32 accumulators and logits (acc, logit: the host
// must print the same, exactly) and checks itself against quant.py's results on the .q8io windows
// (quant, quant_total: int8_check.hpp); its sizes line has weight_bytes=0 (no weights in RAM) and
// scratch_bytes = Int8Net::activation_bytes.
//
// Output, one record per line, "key=value" fields; the host prints instructions=0:
//   ppghr-mcu platform=... net=... simd=0|1 eigen=0|1
//   sizes params=... macs=... memory_bytes=... weight_bytes=... scratch_bytes=... activation_floats=...
//         blob_bytes=...                      (one line)
//   calibration spin=2000000 measured=... overhead=...
//   load status=ok instructions=...
//   window W status=ok class=C bpm=B ref=R instructions=...
//   out W <outputs as float32 bit patterns, hex: 180 probabilities or 1 BPM value>
//   checksum crc32=0x... windows=...
//   stack high_water=... reserved=...
//   end status=ok
// No printf: newlib's float formatting allocates (and pulls in most of stdio), so numbers are
// formatted here, by hand, into a static line buffer.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <ppghr/core/crc32.hpp>
#include <ppghr/core/status.hpp>
#include <ppghr/models/registry.hpp>

#include "line.hpp"
#include "platform.hpp"
#include "ppghr_mcu_inputs.h"
#include "ppghr_mcu_model.h"
#if defined(PPGHR_MCU_INT8)
#include "int8_check.hpp"
#endif

namespace {

#ifndef PPGHR_MCU_NET
#error "define PPGHR_MCU_NET to a network's name in the registry, e.g. -DPPGHR_MCU_NET=\"resnet2\""
#endif
static_assert(ppghr::registry::index_of(PPGHR_MCU_NET) < ppghr::registry::count,
              "PPGHR_MCU_NET is not a network of the registry (models/registry.hpp)");
#if defined(PPGHR_MCU_INT8)
// The _int8 image: the int8 twin, its weights read in place from the embedded compact (dtype-4) blob.
using FloatNet = ppghr::registry::network_t<ppghr::registry::index_of(PPGHR_MCU_NET)>;
using Net = ppghr::Int8Net<FloatNet>;
#if defined(PPGHR_Q8_M4_MAX_WINDOW)
static_assert(PPGHR_Q8_M4_MAX_WINDOW <= Net::dot_window,
              "a bound above Int8Net<Net>::dot_window only makes the M4 kernel's stack buffer larger");
#endif
#elif defined(PPGHR_MCU_IN_PLACE)
// The _flash image: the network reads its weights where they lie, in the embedded dtype-3 blob.
using Net = ppghr::in_place_t<ppghr::registry::network_t<ppghr::registry::index_of(PPGHR_MCU_NET)>>;
#else
using Net = ppghr::registry::network_t<ppghr::registry::index_of(PPGHR_MCU_NET)>;
#endif
constexpr const char* kNetName = PPGHR_MCU_NET;

static_assert(Net::input_size == PPGHR_MCU_INPUT_FLOATS, "the embedded windows do not fit this network");

#if defined(PPGHR_NO_EIGEN)
constexpr int kEigen = 0;
#else
constexpr int kEigen = 1;
#endif

// The network in static storage (.bss on the MCU): it is far too big for the stack.
Net g_net;

// Prints one window's result; returns the crc32 continued over its output vector.
[[maybe_unused]] std::uint32_t report(int w, const ppghr::Prediction<float>& p, std::uint64_t instructions, std::uint32_t crc) noexcept {
  Line& l = g_line;
  l.str("window ").u64(static_cast<std::uint64_t>(w)).str(" status=").str(p.ok() ? "ok" : "refused");
  l.str(" class=").i64(p.class_index).str(" bpm=").fixed3(p.bpm).str(" ref=").fixed3(ppghr_mcu_reference_bpm[w]);
  l.str(" instructions=").u64(instructions).flush();
  l.str("out ").u64(static_cast<std::uint64_t>(w));
  for (float q : p.probabilities) l.str(" ").hex32(bits(q), false);
  l.flush();
  return ppghr::crc32(reinterpret_cast<const unsigned char*>(p.probabilities.data()), sizeof p.probabilities, crc);
}

// The regression heads (pulse_student): one BPM value.
[[maybe_unused]] std::uint32_t report(int w, const ppghr::Estimate<float>& e, std::uint64_t instructions, std::uint32_t crc) noexcept {
  Line& l = g_line;
  l.str("window ").u64(static_cast<std::uint64_t>(w)).str(" status=").str(e.ok() ? "ok" : "refused");
  l.str(" class=-1 bpm=").fixed3(e.bpm).str(" ref=").fixed3(ppghr_mcu_reference_bpm[w]);
  l.str(" instructions=").u64(instructions).flush();
  l.str("out ").u64(static_cast<std::uint64_t>(w)).str(" ").hex32(bits(e.bpm), false).flush();
  return ppghr::crc32(reinterpret_cast<const unsigned char*>(&e.bpm), sizeof e.bpm, crc);
}

}  // namespace

int plat::app_main() noexcept {
  Line& l = g_line;
  l.str("ppghr-mcu platform=").str(plat::name()).str(" net=").str(kNetName);
  l.str(" simd=").u64(PPGHR_HAS_SIMD).str(" eigen=").u64(kEigen).flush();
#if defined(PPGHR_MCU_INT8)
  l.str("sizes params=").u64(FloatNet::param_count).str(" macs=").u64(Net::macs);
  l.str(" memory_bytes=").u64(sizeof(Net)).str(" weight_bytes=0");
  l.str(" scratch_bytes=").u64(Net::activation_bytes).str(" activation_floats=0");
  l.str(" blob_bytes=").u64(ppghr_mcu_model_size).str(" int8=1 arena_bytes=").u64(Net::arena_bytes);
  l.str(" streams_rows=").u64(Net::streams_rows ? 1 : 0).flush();
#else
  l.str("sizes params=").u64(Net::param_count).str(" macs=").u64(Net::macs);
  l.str(" memory_bytes=").u64(sizeof(Net)).str(" weight_bytes=").u64(Net::weight_bytes);
  l.str(" scratch_bytes=").u64(Net::scratch_bytes).str(" activation_floats=").u64(Net::activation_size);
  l.str(" blob_bytes=").u64(ppghr_mcu_model_size).flush();
#endif
  l.str("input ").str(ppghr_mcu_input_source).flush();
#if defined(PPGHR_MCU_INT8)
  print_int8_kernel();
#endif

  // The counter's calibration: 1,000,000 x (subs; bne) is 2,000,000 instructions.
  std::uint64_t t0 = plat::instructions();
  std::uint64_t t1 = plat::instructions();
  const std::uint64_t overhead = t1 - t0;
  t0 = plat::instructions();
  plat::spin(1000000);
  t1 = plat::instructions();
  l.str("calibration spin=2000000 measured=").u64(t1 - t0).str(" overhead=").u64(overhead).flush();

  // Load straight from flash: validated (header, CRC32, fingerprint, every tensor) then copied
  // (the _flash images: then pointed at, nothing copied).
  std::size_t mark = plat::stack_mark();
  t0 = plat::instructions();
  const ppghr::LoadReport r = g_net.load(ppghr_mcu_model, ppghr_mcu_model_size);
  t1 = plat::instructions();
  const std::size_t load_stack = plat::stack_since(mark);
  l.str("load status=").str(r.ok() ? "ok" : "failed").str(" code=").u64(static_cast<unsigned>(r.status));
  l.str(" instructions=").u64(t1 - t0).flush();
  if (!r.ok()) {
    l.str("end status=load_failed").flush();
    return 1;
  }

  std::uint32_t crc = 0;
  int refused = 0;
  std::size_t predict_stack = 0;
  for (int w = 0; w < PPGHR_MCU_INPUT_WINDOWS; ++w) {
    mark = plat::stack_mark();
    t0 = plat::instructions();
    const auto& p = g_net.predict(ppghr_mcu_inputs[w]);
    t1 = plat::instructions();
    const std::size_t used = plat::stack_since(mark);
    if (used > predict_stack) predict_stack = used;
    if (!p.ok()) ++refused;
    crc = report(w, p, t1 - t0, crc);
#if defined(PPGHR_MCU_INT8)
    crc = print_int8(w, g_net, crc);
#endif
  }
#if defined(PPGHR_MCU_INT8) && defined(PPGHR_MCU_Q8_WINDOWS)
  if (q8io_check(g_net) != 0) ++refused;  // not exactly quant.py's: the run fails
#endif
  l.str("checksum crc32=").hex32(crc).str(" windows=").u64(PPGHR_MCU_INPUT_WINDOWS).flush();
  // high_water: the whole program's (load, predict, the self-checks, printing); load / predict: each call's own
  l.str("stack high_water=").u64(plat::stack_high_water()).str(" reserved=").u64(plat::stack_reserved());
  l.str(" load=").u64(load_stack).str(" predict=").u64(predict_stack).flush();
  l.str("end status=").str(refused == 0 ? "ok" : "refused").flush();
  return refused == 0 ? 0 : 1;
}
