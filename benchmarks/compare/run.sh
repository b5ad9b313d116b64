#!/usr/bin/env bash
# The side-by-side comparison of ppghr, ONNX Runtime and LibTorch, in one invocation:
#   benchmarks/compare/run.sh [compare.py options, e.g. --rounds 31 --memory --json out.json]
# Builds the workers (build-compare/, -march=native unless PPGHR_NATIVE=OFF: ORT and LibTorch pick
# their kernels for this CPU at run time, so ppghr is compiled for it too), installs onnxruntime-node
# into build-compare/node (npm, no CUDA download) unless NODE_MODULES points to one, exports the
# networks from the PyTorch twin (same weights for every engine) and runs compare.py.
# Each engine that is not installed is skipped with a message:
#   LibTorch: libtorch-dev (and libopenblas0-pthread, else its batch-1 conv runs on the reference BLAS)
#   ONNX Runtime: node + npm; the models need python3-torch for the export.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${PPGHR_COMPARE_BUILD:-$ROOT/build-compare}"
PY="${PYTHON:-python3}"
if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c "import torch" 2>/dev/null; then PY=/usr/bin/python3; fi

mkdir -p "$BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DPPGHR_NATIVE="${PPGHR_NATIVE:-ON}" \
  -DPPGHR_BUILD_COMPARE=ON -DPPGHR_BUILD_TESTS=OFF -DPPGHR_BUILD_EXAMPLES=OFF -DPPGHR_INSTALL=OFF > "$BUILD/compare-cmake.log" 2>&1 \
  || { cat "$BUILD/compare-cmake.log"; exit 1; }
grep "ppghr compare" "$BUILD/compare-cmake.log" || true
targets=(ppghr_compare_ppghr)
grep -q "ppghr_compare_torch" "$BUILD/benchmarks/compare/Makefile" 2>/dev/null && targets+=(ppghr_compare_torch)
make -C "$BUILD" -j"$(nproc)" "${targets[@]}" > "$BUILD/compare-make.log" 2>&1 || { tail -40 "$BUILD/compare-make.log"; exit 1; }

NM="${NODE_MODULES:-$BUILD/node/node_modules}"
if [ ! -d "$NM/onnxruntime-node" ] && command -v npm > /dev/null; then
  mkdir -p "$BUILD/node"
  (cd "$BUILD/node" && { [ -f package.json ] || npm init -y > /dev/null; } \
     && npm install --no-audit --no-fund onnxruntime-node --onnxruntime-node-install=skip > npm.log 2>&1) \
    || echo "ONNX Runtime: npm install onnxruntime-node failed (see $BUILD/node/npm.log)"
fi

MODELS="$BUILD/models"
if [ ! -f "$MODELS/.done" ] || [ "$ROOT/benchmarks/compare/export_models.py" -nt "$MODELS/.done" ]; then
  PYTHONPATH="$ROOT/tools" "$PY" "$ROOT/benchmarks/compare/export_models.py" --out "$MODELS" && touch "$MODELS/.done"
fi

exec "$PY" "$ROOT/benchmarks/compare/compare.py" --models "$MODELS" --workers "$BUILD/benchmarks/compare" \
  --node-modules "$NM" "$@"
