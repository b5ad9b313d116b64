#!/usr/bin/env bash
# scripts/demo.sh - the README's main command: heart rate from a recording with a shipped model.
#
# Installs the build dependencies it needs (apt-get, only those missing), builds the command-line
# tool ppghr-estimate (Release, build-demo/), and runs it on the synthetic demo recording kept in
# the repo (examples/data/demo.csv, 6 min at 50 Hz, made by tools/ppghr_tools/synth.py) with the
# default shipped model (the blob named in models/DEFAULT, see models/README.md). It prints the heart
# rate of every 8 s window (every 2 s) and the MAE against the demo's true heart rate.
#
# Any other recording: scripts/demo.sh --csv FILE [--rate HZ] [--ref REF.csv] ...
#   or scripts/demo.sh --dataset ../shared/data/bami --recording bami2_01
#   (arguments are passed to ppghr-estimate; --model defaults to the shipped model)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
JOBS=${JOBS:-2}
MODEL=models/$(tr -d '[:space:]' < models/DEFAULT)

# shellcheck source=lib/packages.sh
source "$ROOT/scripts/lib/packages.sh"
if [[ ${PPGHR_SKIP_APT:-0} != 1 ]]; then
  ppghr_install_packages cmake g++ make libeigen3-dev libxsimd-dev xtl-dev nlohmann-json3-dev
fi

cmake -S . -B build-demo -DCMAKE_BUILD_TYPE=Release -DPPGHR_BUILD_TESTS=OFF -DPPGHR_BUILD_BENCHMARKS=OFF \
  -DPPGHR_BUILD_EXAMPLES=ON >/dev/null
cmake --build build-demo --parallel "$JOBS" --target ppghr_estimate

args=("$@")
if [[ ${#args[@]} -eq 0 ]]; then
  args=(--csv examples/data/demo.csv --ref examples/data/demo_hr.csv --track)
  echo "== ppghr-estimate --model $MODEL ${args[*]}"
fi
has_model=0
for a in "${args[@]}"; do [[ $a == --model ]] && has_model=1; done
if [[ $has_model -eq 0 ]]; then args=(--model "$MODEL" "${args[@]}"); fi
exec build-demo/examples/ppghr-estimate "${args[@]}"
