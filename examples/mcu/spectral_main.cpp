// examples/mcu/spectral_main.cpp - the spectral heart-rate estimator (include/ppghr/spectral/) and
// the online decoder (ForwardFilter, include/ppghr/post/decode.hpp) on a microcontroller: no
// weights, no heap; per embedded window predict() then the forward filter's update(), with the
// instructions of each, the 180 probabilities and the filter's belief printed for the comparison
// with the host build of the same file (scripts/mcu.sh, compare.py).
//
//   PPGHR_MCU_SPECTRAL C   SpectralEstimator<C>: C PPG channels + acc x, y, z at 25 Hz, 8 s windows
//   PPGHR_MCU_SPECNET N    (optional) instead of the estimator, SpectralNet<C, SpecNet<N>>: its
//                          features (SpectralEstimator<C>::features) through SpecNet<N> (W = 16),
//                          weights from the embedded blob ppghr_mcu_model.h (random, golden.py's
//                          seed); the load is timed (load instructions=...) like main.cpp's
//   PPGHR_MCU_INT8         (with PPGHR_MCU_SPECNET) SpectralNet<C, Int8Net<SpecNet<N>>>: the int8 twin
//                          reading the embedded compact (dtype-4) blob in place; prints acc / logit records
//                          and checks itself against quant.py's .q8io results (int8_check.hpp)
// The windows (ppghr_mcu_inputs.h, gen_inputs.py --spectral C) are consecutive windows of one
// synthetic recording, so the filter runs over them in order as it would on a stream.
//
// Output records (see main.cpp for the common ones; the host prints instructions=0):
//   ppghr-mcu platform=... net=spectral<C> | specnet<N> simd=0|1 eigen=0|1   (the image's name)
//   sizes estimator_bytes=... filter_bytes=... memory_bytes=... channels=... input_floats=... fft_size=...
//   startup instructions=...   reset to app_main: the static constructors (the estimator's twiddle,
//                              Hann and lobe tables, the filter's transition normalisers)
//   window W status=ok class=C bpm=B ref=R instructions=(predict + update) predict_instructions=...
//          decode_instructions=... decoded=D decoded_bpm=... artefacts=...
//   out W <180 probabilities, float32 bit patterns>      belief W <the filter's 180 posteriors>
#include <cstddef>
#include <cstdint>

#include <ppghr/core/crc32.hpp>
#include <ppghr/core/simd.hpp>
// specnet.hpp before decode.hpp: prediction.hpp's finish_classification() calls argmax(x, n)
// unqualified from ppghr::detail, where decode.hpp's detail::argmax<N>(x) would hide it.
#if defined(PPGHR_MCU_SPECNET)
#include <ppghr/models/specnet.hpp>
#endif
#include <ppghr/post/decode.hpp>
#include <ppghr/spectral/estimator.hpp>

#if defined(PPGHR_MCU_SPECNET)
#include "ppghr_mcu_model.h"
#endif

#include "line.hpp"
#include "platform.hpp"
#include "ppghr_mcu_inputs.h"
#if defined(PPGHR_MCU_INT8)
#include "int8_check.hpp"
#endif

namespace {

#if !defined(PPGHR_MCU_SPECTRAL) || PPGHR_MCU_SPECTRAL < 1 || PPGHR_MCU_SPECTRAL > 4
#error "define PPGHR_MCU_SPECTRAL to the number of PPG channels (1..4)"
#endif
#if defined(PPGHR_MCU_SPECNET) && defined(PPGHR_MCU_INT8)
using Est = ppghr::SpectralNet<PPGHR_MCU_SPECTRAL, ppghr::Int8Net<ppghr::SpecNet<PPGHR_MCU_SPECNET>>>;
#if defined(PPGHR_Q8_M4_MAX_WINDOW)
static_assert(PPGHR_Q8_M4_MAX_WINDOW <= ppghr::Int8Net<ppghr::SpecNet<PPGHR_MCU_SPECNET>>::dot_window,
              "a bound above Int8Net<Net>::dot_window only makes the M4 kernel's stack buffer larger");
#endif
#elif defined(PPGHR_MCU_SPECNET) && defined(PPGHR_MCU_IN_PLACE)
// The _flash image: the network reads its weights where they lie, in the embedded dtype-3 blob.
using Est = ppghr::SpectralNet<PPGHR_MCU_SPECTRAL, ppghr::in_place_t<ppghr::SpecNet<PPGHR_MCU_SPECNET>>>;
#elif defined(PPGHR_MCU_SPECNET)
using Est = ppghr::SpectralNet<PPGHR_MCU_SPECTRAL, ppghr::SpecNet<PPGHR_MCU_SPECNET>>;
#else
using Est = ppghr::SpectralEstimator<PPGHR_MCU_SPECTRAL>;
#endif
static_assert(Est::input_size == PPGHR_MCU_INPUT_FLOATS, "the embedded windows do not fit this estimator");

#if defined(PPGHR_MCU_SPECNET) && defined(PPGHR_MCU_INT8)
constexpr std::uint64_t kParams = Est::network_type::float_network::param_count;
#elif defined(PPGHR_MCU_SPECNET)
constexpr std::uint64_t kParams = Est::network_type::param_count;
#endif

// The image's name on the first output line: specnet<N> or spectral<C> (compare.py checks that the
// MCU and host runs name the same network).
#if defined(PPGHR_MCU_SPECNET)
constexpr const char* kNetPrefix = " net=specnet";
constexpr std::uint64_t kNetNumber = PPGHR_MCU_SPECNET;
#else
constexpr const char* kNetPrefix = " net=spectral";
constexpr std::uint64_t kNetNumber = PPGHR_MCU_SPECTRAL;
#endif

#if defined(PPGHR_NO_EIGEN)
constexpr int kEigen = 0;
#else
constexpr int kEigen = 1;
#endif

// Static storage (.bss on the MCU): the estimator is ~20 KB, more than the stack.
Est g_est;
ppghr::ForwardFilter g_filter;

void hex_vector(const char* key, int w, const float* v, int n) noexcept {
  Line& l = g_line;
  l.str(key).str(" ").u64(static_cast<std::uint64_t>(w));
  for (int i = 0; i < n; ++i) l.str(" ").hex32(bits(v[i]), false);
  l.flush();
}

}  // namespace

int plat::app_main() noexcept {
  // Instructions since SysTick started, just before the static constructors ran.
  const std::uint64_t startup = plat::instructions();
  Line& l = g_line;
  l.str("ppghr-mcu platform=").str(plat::name()).str(kNetPrefix).u64(kNetNumber);
  l.str(" simd=").u64(PPGHR_HAS_SIMD).str(" eigen=").u64(kEigen).flush();
  l.str("sizes estimator_bytes=").u64(sizeof(Est)).str(" filter_bytes=").u64(sizeof(ppghr::ForwardFilter));
  l.str(" memory_bytes=").u64(sizeof(Est) + sizeof(ppghr::ForwardFilter)).str(" channels=").u64(Est::channels);
  l.str(" input_floats=").u64(Est::input_size).str(" fft_size=").u64(ppghr::spectral::kFftSize);
#if defined(PPGHR_MCU_SPECNET)
  l.str(" network_bytes=").u64(sizeof(Est::network_type)).str(" params=").u64(kParams);
  l.str(" macs=").u64(Est::network_type::macs);
#endif
#if defined(PPGHR_MCU_INT8)
  l.str(" int8=1 arena_bytes=").u64(Est::network_type::arena_bytes);
#endif
  l.flush();
  l.str("input ").str(ppghr_mcu_input_source).flush();
#if defined(PPGHR_MCU_INT8)
  print_int8_kernel();
#endif

  std::uint64_t t0 = plat::instructions();
  std::uint64_t t1 = plat::instructions();
  const std::uint64_t overhead = t1 - t0;
  t0 = plat::instructions();
  plat::spin(1000000);
  t1 = plat::instructions();
  l.str("calibration spin=2000000 measured=").u64(t1 - t0).str(" overhead=").u64(overhead).flush();
  l.str("startup instructions=").u64(startup).flush();
#if defined(PPGHR_MCU_SPECNET)
  t0 = plat::instructions();
  const ppghr::LoadReport rep = g_est.load(ppghr_mcu_model, ppghr_mcu_model_size);
  t1 = plat::instructions();
  l.str("load status=").str(rep.ok() ? "ok" : "failed").str(" bytes=").u64(ppghr_mcu_model_size);
  l.str(" instructions=").u64(t1 - t0).flush();
  if (!rep.ok()) return 2;
  const auto artefacts = [] { return g_est.estimator().artefact_count(); };
#else
  const auto artefacts = [] { return g_est.artefact_count(); };
#endif

  std::uint32_t crc = 0;
  int refused = 0;
  std::size_t predict_stack = 0, network_stack = 0;  // the most predict() / the network alone used
  for (int w = 0; w < PPGHR_MCU_INPUT_WINDOWS; ++w) {
    std::size_t mark = plat::stack_mark();
    t0 = plat::instructions();
    const ppghr::Prediction<float>& p = g_est.predict(ppghr_mcu_inputs[w]);
    t1 = plat::instructions();
    const int decoded = g_filter.update(p.ok() ? p.probabilities.data() : nullptr);
    const std::uint64_t t2 = plat::instructions();
    const std::size_t used = plat::stack_since(mark);  // predict()'s and update()'s (not timed)
    if (used > predict_stack) predict_stack = used;
    if (!p.ok()) ++refused;
#if defined(PPGHR_MCU_SPECNET)
    // The network alone on the same features (the front end's cost is predict's minus this): the
    // same prediction again, into the same result.
    std::uint64_t network = 0;
    if (p.ok()) {
      mark = plat::stack_mark();
      const std::uint64_t t3 = plat::instructions();
      (void)g_est.net().predict(g_est.features());
      network = plat::instructions() - t3;
      const std::size_t net_used = plat::stack_since(mark);
      if (net_used > network_stack) network_stack = net_used;
    }
#endif
    l.str("window ").u64(static_cast<std::uint64_t>(w)).str(" status=").str(p.ok() ? "ok" : "refused");
    l.str(" class=").i64(p.class_index).str(" bpm=").fixed3(p.bpm).str(" ref=").fixed3(ppghr_mcu_reference_bpm[w]);
    l.str(" instructions=").u64(t2 - t0).str(" predict_instructions=").u64(t1 - t0);
    l.str(" decode_instructions=").u64(t2 - t1).str(" decoded=").i64(decoded);
    l.str(" decoded_bpm=").fixed3(g_filter.argmax_bpm()).str(" artefacts=").i64(artefacts());
#if defined(PPGHR_MCU_SPECNET)
    l.str(" network_instructions=").u64(network);
#endif
    l.flush();
    hex_vector("out", w, p.probabilities.data(), ppghr::kNumClasses);
    hex_vector("belief", w, g_filter.belief().data(), ppghr::kNumClasses);
    crc = ppghr::crc32(reinterpret_cast<const unsigned char*>(p.probabilities.data()), sizeof p.probabilities, crc);
#if defined(PPGHR_MCU_INT8)
    crc = print_int8(w, g_est.net(), crc);
#endif
  }
#if defined(PPGHR_MCU_INT8) && defined(PPGHR_MCU_Q8_WINDOWS)
  if (q8io_check(g_est.net()) != 0) ++refused;  // not exactly quant.py's: the run fails
#endif
  l.str("checksum crc32=").hex32(crc).str(" windows=").u64(PPGHR_MCU_INPUT_WINDOWS).flush();
  l.str("stack high_water=").u64(plat::stack_high_water()).str(" reserved=").u64(plat::stack_reserved());
  l.str(" predict=").u64(predict_stack).str(" network=").u64(network_stack).flush();
  l.str("end status=").str(refused == 0 ? "ok" : "refused").flush();
  return refused == 0 ? 0 : 1;
}
