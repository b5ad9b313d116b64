#!/usr/bin/env bash
# How long ppghr takes to compile: `g++ -c` of all_networks.cpp (every network instantiated, loaded
# and run), at -O2 for the default instruction set and with -march=native, plus the time of a TU
# that only includes <ppghr/ppghr.hpp> (the parsing floor). Wall and user time of each, best of
# $REPEAT runs (default 3; the machine may be shared), and the object's size.
#   benchmarks/compile_time/measure.sh [CXX]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CXX="${1:-${CXX:-g++}}"
REPEAT="${REPEAT:-3}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
echo '#include <ppghr/ppghr.hpp>' > "$TMP/include_only.cpp"
INC=(-I"$ROOT/include" -I/usr/include/eigen3)
measure() {  # label, source, flags...
  local label="$1" src="$2"; shift 2
  local best_wall="" best_user=""
  for _ in $(seq "$REPEAT"); do
    local out
    out=$( { /usr/bin/time -f "%e %U" "$CXX" -std=c++17 "$@" "${INC[@]}" -c "$src" -o "$TMP/o.o"; } 2>&1 | tail -1)
    local wall="${out% *}" user="${out#* }"
    if [ -z "$best_wall" ] || awk "BEGIN{exit !($wall < $best_wall)}"; then best_wall="$wall"; best_user="$user"; fi
  done
  printf "%-44s %6.2f s wall %6.2f s user  %8d B object\n" "$label" "$best_wall" "$best_user" "$(stat -c %s "$TMP/o.o")"
}
echo "compiler: $("$CXX" --version | head -1); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
measure "include only, -O2" "$TMP/include_only.cpp" -O2
measure "all networks, -O2 (default ISA)" "$ROOT/benchmarks/compile_time/all_networks.cpp" -O2
measure "all networks, -O2 -march=native" "$ROOT/benchmarks/compile_time/all_networks.cpp" -O2 -march=native
measure "all networks, -O0" "$ROOT/benchmarks/compile_time/all_networks.cpp" -O0
