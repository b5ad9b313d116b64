#!/usr/bin/env bash
# scripts/fuzz.sh - builds the libFuzzer targets (fuzz/, CMake option PPGHR_FUZZ) with clang and
# runs them (issue 15 items 1-2). scripts/test.sh runs the smoke mode as its "fuzz smoke" step.
#
#   scripts/fuzz.sh [SECONDS]         smoke: every target SECONDS (default 30) on a copy of its seed
#                                     corpus (fuzz/corpus/<target>/), after replaying the committed
#                                     findings (fuzz/regressions/<target>/)
#   scripts/fuzz.sh --long SECONDS    the same for SECONDS per target, one target at a time, then
#                                     writes docs/fuzzing.md (executions, exec/s, coverage, corpus,
#                                     findings) from libFuzzer's final statistics
#   WORKERS=... scripts/fuzz.sh --long SECONDS
#                                     every target at once, each with its own number of worker
#                                     processes sharing its corpus (WORKERS="fuzz_blob_raw=4
#                                     fuzz_monitor=3 ..." or one number for all): for a machine with
#                                     more cores (docs/fuzzing.md's run used 16)
#
# Fails (exit 1) on any crash, leak, timeout, out-of-memory or sanitizer report (AddressSanitizer,
# UndefinedBehaviorSanitizer with -fno-sanitize-recover; the harnesses abort on a failed check).
# The inputs behind a failure are left in build-fuzz/run/<target>/ (crash-*, leak-*, timeout-*).
# Environment:
#   JOBS=N               build jobs and smoke targets run at once (default 2)
#   PPGHR_SKIP_APT=1     do not check or install packages (clang, libclang-rt-dev, cmake, ...)
#   PPGHR_FUZZ_ALLOW     open findings tolerated at run time (default: none, strict)
#   PPGHR_FUZZ_NO_BUILD=1  run the targets already in build-fuzz/fuzz/ (built on another machine)
#   PPGHR_FUZZ_NO_REPORT=1 --long without writing docs/fuzzing.md (the logs stay in build-fuzz/run/;
#                        fuzz/report.py writes the page from them later, e.g. on the build machine)
#   PPGHR_FUZZ_MACHINE   the machine, in words, for docs/fuzzing.md
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
JOBS=${JOBS:-2}
BUILD=$ROOT/build-fuzz
TARGETS=(fuzz_blob_raw fuzz_blob_struct fuzz_int8_blob fuzz_monitor fuzz_decode fuzz_cli_csv)
# Open findings tolerated (docs/fuzzing.md "Findings"): none; both findings so far are fixed and
# their inputs in fuzz/regressions/ are replayed strictly. A new finding may be listed here
# (e.g. nonfinite_output) while its fix is pending.
export PPGHR_FUZZ_ALLOW=${PPGHR_FUZZ_ALLOW-}

MODE=smoke
SECONDS_PER_TARGET=30
if [[ ${1:-} == --long ]]; then
  MODE=long
  SECONDS_PER_TARGET=${2:?usage: scripts/fuzz.sh --long SECONDS}
elif [[ $# -gt 0 ]]; then
  SECONDS_PER_TARGET=$1
fi
[[ $SECONDS_PER_TARGET =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a whole number" >&2; exit 2; }

T0=$SECONDS
BUILD_S=0
if [[ ${PPGHR_FUZZ_NO_BUILD:-0} == 1 ]]; then
  for t in "${TARGETS[@]}"; do [[ -x $BUILD/fuzz/$t ]] || { echo "fuzz.sh: PPGHR_FUZZ_NO_BUILD=1 but $BUILD/fuzz/$t is not built" >&2; exit 2; }; done
elif [[ ${PPGHR_SKIP_APT:-0} != 1 ]]; then
  # shellcheck source=lib/packages.sh
  source "$ROOT/scripts/lib/packages.sh"
  ppghr_install_packages cmake make clang libclang-rt-dev libeigen3-dev libxsimd-dev xtl-dev nlohmann-json3-dev
fi

if [[ ${PPGHR_FUZZ_NO_BUILD:-0} != 1 ]]; then
  echo "+ configure $BUILD (clang++, PPGHR_FUZZ=ON)"
  cmake -S . -B "$BUILD" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE= -DPPGHR_FUZZ=ON \
    -DPPGHR_BUILD_TESTS=OFF -DPPGHR_BUILD_BENCHMARKS=OFF -DPPGHR_BUILD_EXAMPLES=OFF -DPPGHR_INSTALL=OFF >/dev/null
  echo "+ build ${TARGETS[*]} (-j$JOBS)"
  cmake --build "$BUILD" --parallel "$JOBS"  # the fuzz targets are all there is in this build
  BUILD_S=$((SECONDS - T0))
  echo "build: ${BUILD_S}s"
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
REPORT_RE='ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|ppghr fuzz check failed|SUMMARY: '

# workers_of NAME: the worker processes of target NAME in WORKERS (default 1).
workers_of() {
  local w
  for w in ${WORKERS:-}; do
    if [[ $w =~ ^[0-9]+$ ]]; then echo "$w"; return; fi
    if [[ $w == "$1="* ]]; then echo "${w#*=}"; return; fi
  done
  echo 1
}

# run_target NAME SECONDS [WORKERS]: replays fuzz/regressions/NAME, then fuzzes a copy of its
# corpus (WORKERS processes sharing it, logs fuzz.K.log; one process: fuzz.log), then runs the final
# corpus once (final.log: the coverage of the union). Logs in $BUILD/run/NAME/; nonzero on any finding.
run_target() {
  local t=$1 secs=$2 nw=${3:-1} dir=$BUILD/run/$1 bin=$BUILD/fuzz/$1 rc=0
  rm -rf "$dir"
  mkdir -p "$dir/corpus"
  cp "$ROOT/fuzz/corpus/$t/"* "$dir/corpus/"
  local dict=()
  [[ -f $ROOT/fuzz/$t.dict ]] && dict=("-dict=$ROOT/fuzz/$t.dict")
  if compgen -G "$ROOT/fuzz/regressions/$t/*" >/dev/null; then
    "$bin" "$ROOT/fuzz/regressions/$t/"* >"$dir/regressions.log" 2>&1 || rc=$?
    if [[ $rc -ne 0 ]] || grep -Eq "$REPORT_RE" "$dir/regressions.log"; then
      echo "FAIL $t: a committed regression input fails again ($dir/regressions.log):"
      grep -E "$REPORT_RE" "$dir/regressions.log" | head -n 5
      return 1
    fi
  fi
  local k logs=() pids=()
  for ((k = 0; k < nw; k++)); do
    local log=$dir/fuzz.log
    [[ $nw -gt 1 ]] && log=$dir/fuzz.$k.log
    logs+=("$log")
    (cd "$dir" && exec "$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2560 -max_len=4096 -print_final_stats=1 \
       -seed=$((k + 1)) "${dict[@]}" -artifact_prefix="$dir/" "$dir/corpus" >"$log" 2>&1) &
    pids+=($!)
  done
  for k in "${!pids[@]}"; do wait "${pids[$k]}" || rc=$?; done
  local execs=0 e cov
  for log in "${logs[@]}"; do
    e=$(grep -Eo 'stat::number_of_executed_units: [0-9]+' "$log" | grep -Eo '[0-9]+$' || echo 0)
    execs=$((execs + e))
  done
  if [[ $rc -ne 0 ]] || grep -Eq "$REPORT_RE" "${logs[@]}"; then
    echo "FAIL $t (exit $rc) after $execs executions: ${logs[*]}"
    grep -hE "$REPORT_RE|Test unit written" "${logs[@]}" | head -n 8
    return 1
  fi
  if [[ $MODE == long ]]; then  # the coverage of the whole final corpus, workers' finds together
    (cd "$dir" && "$bin" -runs=0 -timeout=20 -rss_limit_mb=2560 "$dir/corpus" >"$dir/final.log" 2>&1) || rc=$?
    if [[ $rc -ne 0 ]] || grep -Eq "$REPORT_RE" "$dir/final.log"; then
      echo "FAIL $t: the final corpus fails when run again ($dir/final.log)"
      return 1
    fi
  fi
  cov=$(grep -hEo 'cov: [0-9]+' "$dir/final.log" "${logs[@]}" 2>/dev/null | tail -n 1 | grep -Eo '[0-9]+$' || echo "?")
  echo "ok   $t: $execs executions in ${secs}s ($nw worker(s)), cov $cov, corpus $(ls "$dir/corpus" | wc -l) files"
}

FAILED=0
if [[ $MODE == smoke ]]; then
  # JOBS targets at a time (each libFuzzer process uses one core).
  pids=()
  names=()
  for t in "${TARGETS[@]}"; do
    while [[ $(jobs -rp | wc -l) -ge $JOBS ]]; do sleep 1; done
    run_target "$t" "$SECONDS_PER_TARGET" >"$BUILD/run-$t.out" 2>&1 &
    pids+=($!)
    names+=("$t")
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || FAILED=1
    cat "$BUILD/run-${names[$i]}.out"
  done
  echo "fuzz smoke: $((SECONDS - T0))s in all (build ${BUILD_S}s), $SECONDS_PER_TARGET s per target"
  exit $FAILED
fi

# ---- long run: one target at a time (or all at once with WORKERS), then docs/fuzzing.md ------
if [[ -z ${WORKERS:-} ]]; then
  for t in "${TARGETS[@]}"; do
    run_target "$t" "$SECONDS_PER_TARGET" || FAILED=1
  done
else
  pids=()
  for t in "${TARGETS[@]}"; do
    run_target "$t" "$SECONDS_PER_TARGET" "$(workers_of "$t")" >"$BUILD/run-$t.out" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || FAILED=1
    cat "$BUILD/run-${TARGETS[$i]}.out"
  done
fi
if [[ ${PPGHR_FUZZ_NO_REPORT:-0} == 1 ]]; then
  echo "fuzz long run: $((SECONDS - T0))s; logs in $BUILD/run/ (no report: PPGHR_FUZZ_NO_REPORT=1)"
  exit $FAILED
fi
/usr/bin/python3 "$ROOT/fuzz/report.py" --build "$BUILD" --seconds "$SECONDS_PER_TARGET" --allow "$PPGHR_FUZZ_ALLOW" \
  --workers "${WORKERS:-1}" --machine "${PPGHR_FUZZ_MACHINE:-a 2-core machine shared with other work}" \
  --out "$ROOT/docs/fuzzing.md" "${TARGETS[@]}"
echo "fuzz long run: $((SECONDS - T0))s; docs/fuzzing.md written"
exit $FAILED
