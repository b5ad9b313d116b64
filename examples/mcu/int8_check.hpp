// examples/mcu/int8_check.hpp - the int8 images' records (main.cpp and spectral_main.cpp with
// -DPPGHR_MCU_INT8): the integer results the MCU and host builds must print identically, and the
// self-check against quant.py's exact results embedded by gen_inputs.py --q8io. Include after
// line.hpp and ppghr_mcu_inputs.h, in one translation unit.
//
//   acc W <the last op's int32 accumulators, decimal>       (Int8Net::accumulators())
//   logit W <the float32 logits acc_scale * acc, bit patterns, hex>
//   quant W input_diff=N acc_diff=N logit_diff=N instructions=I
//       per .q8io window: quantize_input() vs quant.py's int8 input, then predict() on the float
//       window (I instructions: quantisation, the integer network, logits, softmax) and its
//       accumulators and logit bits vs quant.py's: the number of differing values, 0 when exact
//   quant_total windows=W input_diff=N acc_diff=N logit_diff=N
//   int8_kernel <PPGHR_Q8_DOT_KIND: which q8::dot ran (the M4: SMLAD; the host: the reference or AVX2)>
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <ppghr/core/crc32.hpp>
#include <ppghr/int8/network.hpp>

#include "line.hpp"
#include "platform.hpp"

namespace {

void print_int8_kernel() noexcept { g_line.str("int8_kernel ").str(PPGHR_Q8_DOT_KIND).flush(); }

// Prints window w's accumulators and logits; returns the crc32 continued over the accumulators.
template <class Q>
std::uint32_t print_int8(int w, const Q& net, std::uint32_t crc) noexcept {
  Line& l = g_line;
  l.str("acc ").u64(static_cast<std::uint64_t>(w));
  for (int i = 0; i < Q::output_size; ++i) l.str(" ").i64(net.accumulators()[i]);
  l.flush();
  l.str("logit ").u64(static_cast<std::uint64_t>(w));
  for (int i = 0; i < Q::output_size; ++i) l.str(" ").hex32(bits(net.logit(std::size_t(i))), false);
  l.flush();
  return ppghr::crc32(reinterpret_cast<const unsigned char*>(net.accumulators()),
                      sizeof(std::int32_t) * std::size_t(Q::output_size), crc);
}

#if defined(PPGHR_MCU_Q8_WINDOWS)
// The .q8io windows through the int8 network: every int8 input value, accumulator and logit bit
// pattern against quant.py's. Returns the number of differences (0: exact).
template <class Q>
long q8io_check(Q& net) noexcept {
  static_assert(Q::input_size == PPGHR_MCU_Q8_SIZE && Q::output_size == PPGHR_MCU_Q8_OUTPUTS,
                "the .q8io windows are not this network's");
  static std::int8_t xq[PPGHR_MCU_Q8_SIZE];  // static: the stack high-water mark is the network's
  Line& l = g_line;
  long total_in = 0, total_acc = 0, total_logit = 0;
  for (int w = 0; w < PPGHR_MCU_Q8_WINDOWS; ++w) {
    net.quantize_input(ppghr_mcu_q8_x[w], xq);
    long in = 0, acc = 0, logit = 0;
    for (int i = 0; i < PPGHR_MCU_Q8_SIZE; ++i) in += xq[i] != ppghr_mcu_q8_xq[w][i];
    const std::uint64_t t0 = plat::instructions();
    const auto& p = net.predict(ppghr_mcu_q8_x[w]);
    const std::uint64_t t1 = plat::instructions();
    if (!p.ok()) acc += PPGHR_MCU_Q8_OUTPUTS;
    for (int i = 0; i < PPGHR_MCU_Q8_OUTPUTS; ++i) {
      acc += net.accumulators()[i] != ppghr_mcu_q8_acc[w][i];
      logit += bits(net.logit(std::size_t(i))) != ppghr_mcu_q8_logits[w][i];
    }
    l.str("quant ").u64(static_cast<std::uint64_t>(w)).str(" input_diff=").i64(in).str(" acc_diff=").i64(acc);
    l.str(" logit_diff=").i64(logit).str(" instructions=").u64(t1 - t0).flush();
    total_in += in, total_acc += acc, total_logit += logit;
  }
  l.str("quant_total windows=").u64(PPGHR_MCU_Q8_WINDOWS).str(" input_diff=").i64(total_in);
  l.str(" acc_diff=").i64(total_acc).str(" logit_diff=").i64(total_logit).flush();
  return total_in + total_acc + total_logit;
}
#endif

}  // namespace
