#!/usr/bin/env bash
# Every shipped model (models/*.json cards) loads in C++ and, run by ppghr-estimate through the
# streaming front end on its card's test subset of ../shared/data/bami, reproduces the card's test
# MAE (argmax) within 0.01 BPM. Skipped, saying so, when the data is absent.
# Usage: test_shipped_models.sh <ppghr-estimate> <repo root>
set -uo pipefail
EXE=$1
ROOT=$2
BAMI=$ROOT/../shared/data/bami
if [[ ! -f $BAMI/index.json ]]; then
  echo "SKIPPED: $BAMI is absent; the shipped models' MAE cannot be checked here"
  exit 0
fi
fails=0
shopt -s nullglob
cards=("$ROOT"/models/*.json)
[[ ${#cards[@]} -gt 0 ]] || { echo "no model cards in $ROOT/models"; exit 1; }
for card in "${cards[@]}"; do
  blob=$ROOT/models/$(sed -n 's/.*"blob": "\([^"]*\)".*/\1/p' "$card")
  subset=$(sed -n 's/.*"test_subset": "\([^"]*\)".*/\1/p' "$card" | head -n1)
  expected=$(awk '/"test": \{/ { t = 1 } t && /"mae_argmax"/ { gsub(/[^0-9.]/, "", $2); print $2; exit }' "$card")
  out=$("$EXE" --model "$blob" --eval "$BAMI" --subset "$subset" | tail -n1)
  got=$(echo "$out" | sed -n 's/.*: MAE \([0-9.]*\) BPM.*/\1/p')
  if [[ -n $got ]] && awk -v a="$got" -v b="$expected" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.01) }'; then
    echo "ok   $(basename "$blob"): C++ MAE $got BPM on $subset, card $expected"
  else
    echo "FAIL $(basename "$blob"): C++ '$out' vs card $expected"
    fails=$((fails + 1))
  fi
done
exit $((fails > 0))
