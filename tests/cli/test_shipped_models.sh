#!/usr/bin/env bash
# Every shipped model (models/*.json cards) loads in C++ and, run by ppghr-estimate through the
# streaming front end on its card's test subset of ../shared/data/bami, reproduces the card's test
# MAE within 0.01 BPM: "test": {"mae_argmax": ...}, the MAE of the argmax heart rate, or for a
# regression head (PULSE "arch": "pulse_student" / "pulse_teacher") of the regressed BPM. The card's
# "arch", when present, is passed as --arch, so a blob for another network fails. Skipped, saying
# so, when the data is absent.
# Usage: test_shipped_models.sh <ppghr-estimate> <repo root> [models dir] [bami dir]
#   (defaults <repo root>/models and <repo root>/../shared/data/bami; tests/cli/test_cli.sh passes
#   others to check a PULSE card)
set -uo pipefail
EXE=$1
ROOT=$2
MODELS=${3:-$ROOT/models}
BAMI=${4:-$ROOT/../shared/data/bami}
if [[ ! -f $BAMI/index.json ]]; then
  echo "SKIPPED: $BAMI is absent; the shipped models' MAE cannot be checked here"
  exit 0
fi
fails=0
shopt -s nullglob
cards=("$MODELS"/*.json)
[[ ${#cards[@]} -gt 0 ]] || { echo "no model cards in $MODELS"; exit 1; }
for card in "${cards[@]}"; do
  blob=$MODELS/$(sed -n 's/.*"blob": "\([^"]*\)".*/\1/p' "$card")
  subset=$(sed -n 's/.*"test_subset": "\([^"]*\)".*/\1/p' "$card" | head -n1)
  arch=$(sed -n 's/^ *"arch": "\([^"]*\)".*/\1/p' "$card" | head -n1)
  expected=$(awk '/"test": \{/ { t = 1 } t && /"mae_argmax"/ { gsub(/[^0-9.]/, "", $2); print $2; exit }' "$card")
  # --adc-min 0 --adc-max 0: no ADC rails (plateau detection only), as the card's Python evaluation
  # (every labelled window): index.json's "12-bit (0..4095)" rails flag bami2_18's clipped windows.
  out=$("$EXE" --model "$blob" ${arch:+--arch "$arch"} --adc-min 0 --adc-max 0 --eval "$BAMI" --subset "$subset" 2>&1 | tail -n1)
  got=$(echo "$out" | sed -n 's/.*: MAE \([0-9.]*\) BPM.*/\1/p')
  if [[ -n $got ]] && awk -v a="$got" -v b="$expected" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.01) }'; then
    echo "ok   $(basename "$blob"): C++ MAE $got BPM on $subset, card $expected"
  else
    echo "FAIL $(basename "$blob"): C++ '$out' vs card $expected"
    fails=$((fails + 1))
  fi
done
exit $((fails > 0))
