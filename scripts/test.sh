#!/usr/bin/env bash
# scripts/test.sh - the one command that builds and tests ppghr (README "Build and test"; .ci/run).
#
#   1. installs the Debian packages it needs, only those missing (apt-get; sudo when not root)
#   2. build/       Release build, -j2, then ctest (unit + packaging tests)
#   3. build-asan/  PPGHR_SANITIZE=ON (AddressSanitizer + UBSan, -O1 -g1, asserts on), then ctest
#                   without the "consumer" label (the consumer builds are not sanitized anyway) and
#                   the "accuracy" one (shipped_models: whole-subset MAE checks, minutes under ASan).
#                   Sanitized: the command-line tool (cli: demo, every input format, malformed
#                   inputs and blobs, PyTorch parity for one network of each kind; cli_parts),
#                   ppghr_tests' blob, monitor, dsp, decode, spectral, specnet, in-place and int8
#                   files (+ any new test file; "golden" there = test_int8's exact int8 cases and
#                   refused int8 blobs), the int8 dot tests, the dsp / decode / spectral / specnet
#                   feature parity drivers, soak, threads, no_exceptions(_reference).
#                   Release build only (checks of numbers, or of the compiler): ppghr_tests'
#                   test_layers, test_kernels, test_resnet, test_golden, test_pulse, test_chain
#                   (tests/CMakeLists.txt: PPGHR_SANITIZE_SKIPPED_TESTS), pulse_published,
#                   compile_fail, headers alone, two TUs.
#                   -g1: line tables only (sanitizer reports keep file:line), a third less compile.
#   3b. scripts/fuzz.sh: the libFuzzer targets of fuzz/ (clang, ASan + UBSan) 30 s each on their seed
#      corpora, after replaying fuzz/regressions/ (installs clang and libclang-rt-dev when missing)
#   4. scripts/mcu.sh: the Cortex-M4F build under qemu-system-arm, compared with the host build,
#      no heap; regenerates docs/mcu-footprint.md (examples/mcu/README.md)
#   5. pytest on tools/tests with the system python (/usr/bin/python3), when tools/tests exists
#
# Exits nonzero when any step fails, after a summary of every step. Environment:
#   JOBS=N              parallel build and test jobs (default 2)
#   PPGHR_SKIP_APT=1    do not check or install packages
#   PPGHR_SKIP_ASAN=1   skip the sanitizer build
#   PPGHR_SKIP_FUZZ=1   skip the fuzz smoke step
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
JOBS=${JOBS:-2}
PYTHON=/usr/bin/python3

PACKAGES=(cmake g++ make libeigen3-dev libxsimd-dev xtl-dev nlohmann-json3-dev doctest-dev libbenchmark-dev
          python3-torch python3-numpy python3-scipy python3-matplotlib python3-pytest)

START=$SECONDS
SUMMARY=()
FAILED=0

banner() { printf '\n==== %s ====\n' "$*"; }

# run_step NAME CMD...: runs one command, records PASS/FAIL and its duration; never exits.
run_step() {
  local name=$1 rc=0 t0=$SECONDS
  shift
  banner "$name"
  printf '+ %s\n' "$*"
  "$@" || rc=$?
  local dt=$((SECONDS - t0))
  if [[ $rc -eq 0 ]]; then
    SUMMARY+=("$(printf 'PASS  %-34s %4ds' "$name" "$dt")")
  else
    SUMMARY+=("$(printf 'FAIL  %-34s %4ds  (exit %d)' "$name" "$dt" "$rc")")
    FAILED=1
  fi
  return $rc
}

# in_dir DIR CMD...: runs CMD in DIR (ctest --test-dir needs CMake 3.20; Debian 11 has 3.18).
in_dir() (
  cd "$1" || exit
  shift
  "$@"
)

skip_step() { SUMMARY+=("$(printf 'SKIP  %-34s        %s' "$1" "$2")"); }

print_summary() {
  banner "Summary ($((SECONDS - START))s)"
  printf '%s\n' "${SUMMARY[@]}"
  if [[ $FAILED -eq 0 ]]; then echo "ALL PASSED"; else echo "FAILED"; fi
}

# ---- 1. packages -----------------------------------------------------------------------------
# shellcheck source=lib/packages.sh
source "$ROOT/scripts/lib/packages.sh"
install_packages() { ppghr_install_packages "${PACKAGES[@]}"; }

if [[ ${PPGHR_SKIP_APT:-0} == 1 ]]; then
  skip_step "packages" "PPGHR_SKIP_APT=1"
elif ! run_step "packages" install_packages; then
  print_summary
  exit 1
fi

banner "Tools"
cmake --version | head -n1
c++ --version | head -n1
"$PYTHON" --version

# ---- 2. release build ------------------------------------------------------------------------
release_built=0
if run_step "release: configure (build/)" cmake -S . -B build -DCMAKE_BUILD_TYPE=Release &&
   run_step "release: build -j$JOBS" cmake --build build --parallel "$JOBS"; then
  release_built=1
  run_step "release: ctest" in_dir build ctest --output-on-failure -j "$JOBS" || true
else
  skip_step "release: ctest" "build failed"
fi

# ---- 3. sanitizer build ----------------------------------------------------------------------
# -O1 keeps the tests quick under ASan; no -DNDEBUG, so the library's asserts are checked too.
if [[ ${PPGHR_SKIP_ASAN:-0} == 1 ]]; then
  skip_step "asan: build and ctest" "PPGHR_SKIP_ASAN=1"
elif [[ $release_built -eq 0 ]]; then
  skip_step "asan: build and ctest" "release build failed"
else
  if run_step "asan: configure (build-asan/)" cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
       "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1" -DPPGHR_SANITIZE=ON -DPPGHR_BUILD_BENCHMARKS=OFF &&
     run_step "asan: build -j$JOBS" cmake --build build-asan --parallel "$JOBS"; then
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
    run_step "asan: ctest (-LE 'consumer|accuracy')" in_dir build-asan ctest --output-on-failure -j "$JOBS" \
      -LE 'consumer|accuracy' || true
  else
    skip_step "asan: ctest" "build failed"
  fi
fi

# ---- 3b. fuzz smoke ---------------------------------------------------------------------------
# build-fuzz/: every fuzz target 30 s (JOBS at once); fails on any crash, leak or sanitizer report.
if [[ ${PPGHR_SKIP_FUZZ:-0} == 1 ]]; then
  skip_step "fuzz smoke" "PPGHR_SKIP_FUZZ=1"
else
  run_step "fuzz smoke (scripts/fuzz.sh 30)" scripts/fuzz.sh 30 || true
fi

# ---- 4. microcontroller ----------------------------------------------------------------------
run_step "mcu: cortex-m4f under qemu" scripts/mcu.sh || true

# ---- 5. python -------------------------------------------------------------------------------
if [[ -d tools/tests ]]; then
  run_step "pytest tools/tests" env PYTHONPATH="$ROOT/tools${PYTHONPATH:+:$PYTHONPATH}" \
    "$PYTHON" -m pytest -q tools/tests || true
else
  skip_step "pytest tools/tests" "no tools/tests"
fi

print_summary
exit $FAILED
