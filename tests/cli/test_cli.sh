#!/usr/bin/env bash
# End-to-end tests of ppghr-estimate: the demo recording with the shipped model, every input
# format, and the error messages (missing file, bad header, wrong rate, a blob for another network);
# PULSE blobs (the seeded golden ones): PPG + accelerometer, the regression head's output, and its
# per-window BPM against PyTorch on the Python twin of the front end (tests/cli/pulse_parity.py).
# Usage: test_cli.sh <ppghr-estimate> <repo root> <dir with golden blobs>
# Environment: PPGHR_PYTHON3, the Python with torch, numpy and scipy (default /usr/bin/python3).
set -uo pipefail
EXE=$1
ROOT=$2
BLOBS=$3
PY=${PPGHR_PYTHON3:-/usr/bin/python3}
STUDENT=$BLOBS/pulse_student.ppgw
MODEL=$ROOT/models/resnet2_bami1.ppgw
DEMO=$ROOT/examples/data/demo.csv
REF=$ROOT/examples/data/demo_hr.csv
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0

ok() { printf 'ok   %s\n' "$1"; }
bad() { printf 'FAIL %s\n' "$1"; fails=$((fails + 1)); }

# expect_error NAME REGEX ARGS...: the tool must exit nonzero and say REGEX on stderr.
expect_error() {
  local name=$1 regex=$2
  shift 2
  if "$EXE" "$@" >"$TMP/out" 2>"$TMP/err"; then
    bad "$name: exit 0"
  elif grep -Eq -e "$regex" "$TMP/err"; then
    ok "$name: $(head -c 160 "$TMP/err")"
  else
    bad "$name: stderr '$(cat "$TMP/err")' does not match /$regex/"
  fi
}

# 1. The demo: 177 windows, all ok, an MAE line, heart rates in range.
if "$EXE" --model "$MODEL" --csv "$DEMO" --ref "$REF" --track >"$TMP/demo.csv" 2>"$TMP/demo.err"; then
  rows=$(($(wc -l <"$TMP/demo.csv") - 1))
  okrows=$(grep -c ',ok,' "$TMP/demo.csv")
  [[ $rows -eq 177 ]] && ok "demo: 177 windows" || bad "demo: $rows windows, expected 177"
  [[ $okrows -eq 177 ]] && ok "demo: all ok" || bad "demo: $okrows ok windows"
  head -n1 "$TMP/demo.csv" | grep -q '^time,hr,hr_tracked,confidence,status,ref_hr$' && ok "demo: header" || bad "demo: header $(head -n1 "$TMP/demo.csv")"
  if grep -Eq 'MAE [0-9]+\.[0-9]+ BPM over 177 ok windows of 177 \(tracked: [0-9.]+ BPM\)' "$TMP/demo.err"; then
    mae=$(grep -Eo 'MAE [0-9.]+' "$TMP/demo.err" | head -n1 | cut -d' ' -f2)
    # A sanity bound, not a target: a model that learned nothing scores ~40 BPM here.
    awk -v m="$mae" 'BEGIN { exit !(m < 20) }' && ok "demo: MAE $mae BPM" || bad "demo: MAE $mae BPM"
  else
    bad "demo: no MAE line: $(cat "$TMP/demo.err")"
  fi
  awk -F, 'NR > 1 && ($2 < 30 || $2 > 209) { bad = 1 } END { exit bad }' "$TMP/demo.csv" && ok "demo: hr in 30..209" || bad "demo: hr out of range"
else
  bad "demo run failed: $(cat "$TMP/demo.err")"
fi

# 2. JSON output, --rate without a time column, a per-sample hr column, gaps.
"$EXE" --model "$MODEL" --csv "$DEMO" --format json --out "$TMP/demo.json" 2>/dev/null &&
  grep -q '"status": "ok"' "$TMP/demo.json" && [[ $(grep -c '"time"' "$TMP/demo.json") -eq 177 ]] &&
  ok "json output" || bad "json output"
cut -d, -f2 "$DEMO" >"$TMP/ppg_only.csv"
"$EXE" --model "$MODEL" --csv "$DEMO" >"$TMP/plain.csv" 2>/dev/null
"$EXE" --model "$MODEL" --csv "$TMP/ppg_only.csv" --rate 50 >"$TMP/r.csv" 2>/dev/null &&
  cmp -s "$TMP/r.csv" "$TMP/plain.csv" &&
  ok "ppg-only CSV with --rate gives the same estimates" || bad "ppg-only CSV with --rate differs"
awk -F, 'NR == 1 { print $0 } NR > 1 { if (NR > 1000 && NR <= 1100) $2 = ""; print $1 "," $2 "," $3 "," $4 "," $5 }' "$DEMO" >"$TMP/gap.csv"
"$EXE" --model "$MODEL" --csv "$TMP/gap.csv" >"$TMP/gap_out.csv" 2>/dev/null && grep -q ',gap' "$TMP/gap_out.csv" &&
  ok "missing samples give status gap" || bad "missing samples: no gap status"
awk -F, 'NR == 1 { print $0 } NR > 1 && NR <= 6001 { $2 = "2047"; print $1 "," $2 "," $3 "," $4 "," $5 } NR > 6001 { print }' "$DEMO" >"$TMP/flat.csv"
"$EXE" --model "$MODEL" --csv "$TMP/flat.csv" >"$TMP/flat_out.csv" 2>/dev/null && grep -q '^0.0,,,0,flat' "$TMP/flat_out.csv" &&
  ok "flat signal gives status flat and no heart rate" || bad "flat signal"
head -n 200 "$DEMO" >"$TMP/short.csv"
"$EXE" --model "$MODEL" --csv "$TMP/short.csv" >"$TMP/short_out.csv" 2>"$TMP/short.err" && grep -q too_short "$TMP/short.err" &&
  ok "4 s recording reported too short" || bad "short recording: $(cat "$TMP/short.err")"

# 3. Error messages.
expect_error "missing recording" "cannot open '.*nope.csv'" --model "$MODEL" --csv "$TMP/nope.csv"
expect_error "missing model" "cannot open model '.*nope.ppgw'" --model "$TMP/nope.ppgw" --csv "$DEMO"
printf 'time,green,x\n0,1,2\n' >"$TMP/badheader.csv"
expect_error "bad header" "header has no 'ppg' column" --model "$MODEL" --csv "$TMP/badheader.csv"
expect_error "rate disagreeing with the time column" "--rate 64 Hz disagrees with the time column" --model "$MODEL" --csv "$DEMO" --rate 64
expect_error "rate that is not a number" "is not a sensor rate" --model "$MODEL" --csv "$DEMO" --rate fast
expect_error "no rate at all" "no time column: give the sensor rate with --rate" --model "$MODEL" --csv "$TMP/ppg_only.csv"
printf 'not a blob at all' >"$TMP/garbage.ppgw"
expect_error "not a blob" "not a ppghr model blob" --model "$TMP/garbage.ppgw" --csv "$DEMO"
expect_error "a blob for another network (--arch)" "blob for another network \(resnet2\), not --arch resnet6" --model "$MODEL" --arch resnet6 --csv "$DEMO"
cp "$MODEL" "$TMP/other_net.ppgw"  # an architecture fingerprint no network has
printf '\x01\x02\x03\x04\x05\x06\x07\x08' | dd of="$TMP/other_net.ppgw" bs=1 seek=16 conv=notrunc 2>/dev/null
expect_error "a blob for a network the tool does not run" "blob for a network this tool does not run \(architecture fingerprint 0x0807060504030201" --model "$TMP/other_net.ppgw" --csv "$DEMO"
cp "$MODEL" "$TMP/corrupt.ppgw"
printf '\x00\x00\x00\x00' | dd of="$TMP/corrupt.ppgw" bs=1 seek=5000 conv=notrunc 2>/dev/null
expect_error "corrupt blob" "checksum mismatch" --model "$TMP/corrupt.ppgw" --csv "$DEMO"
expect_error "no input" "give exactly one of --csv, --dataset, --eval" --model "$MODEL"

# 4. PULSE: PPG + accelerometer columns, the regression head (one BPM, no probabilities).
have_torch=0
"$PY" -c 'import torch, numpy, scipy' 2>/dev/null && have_torch=1
# parity NAME ARGS...: tests/cli/pulse_parity.py ARGS must pass; its summary line (also left in
# PARITY_OUT) is the message.
PARITY_OUT=
parity() {
  local name=$1
  shift
  if PARITY_OUT=$(PYTHONPATH=$ROOT/tools "$PY" "$ROOT/tests/cli/pulse_parity.py" "$EXE" "$@" 2>&1); then
    ok "$name: ${PARITY_OUT#ok   }"
  else
    bad "$name: $PARITY_OUT"
  fi
}
if [[ -f $STUDENT ]]; then
  if "$EXE" --model "$STUDENT" --csv "$DEMO" --ref "$REF" --track-clamp >"$TMP/p.csv" 2>"$TMP/p.err"; then
    [[ $(grep -c ',ok,' "$TMP/p.csv") -eq 177 ]] && ok "pulse_student on the demo: 177 ok windows" || bad "pulse_student on the demo: $(grep -c ',ok,' "$TMP/p.csv") ok windows"
    # hr and hr_tracked with 3 decimals, confidence empty: no probability vector
    awk -F, 'NR > 1 && !($2 ~ /^-?[0-9]+\.[0-9][0-9][0-9]$/ && $3 ~ /^-?[0-9]+\.[0-9][0-9][0-9]$/ && $4 == "") { bad = 1 } END { exit bad }' "$TMP/p.csv" &&
      ok "pulse_student: hr with 3 decimals, empty confidence" || bad "pulse_student rows: $(sed -n 2p "$TMP/p.csv")"
    grep -Eq 'pulse_student: MAE [0-9.]+ BPM over 177 ok windows of 177 \(tracked: [0-9.]+ BPM\)' "$TMP/p.err" &&
      ok "pulse_student: MAE line with --track-clamp" || bad "pulse_student MAE line: $(cat "$TMP/p.err")"
  else
    bad "pulse_student on the demo failed: $(cat "$TMP/p.err")"
  fi
  "$EXE" --model "$STUDENT" --csv "$DEMO" --format json >"$TMP/p.json" 2>/dev/null &&
    [[ $(grep -c '"confidence": null, "status": "ok"' "$TMP/p.json") -eq 177 ]] &&
    ok "pulse_student json: confidence null" || bad "pulse_student json: $(sed -n 2p "$TMP/p.json")"
  if [[ $have_torch -eq 1 ]]; then
    for a in pulse_student pulse_teacher pulse_student_cls; do
      parity "parity $a, demo CSV" "$BLOBS/$a.ppgw" "$a" --csv "$DEMO"
    done
  else
    echo "SKIPPED PULSE parity with PyTorch: $PY lacks torch, numpy or scipy"
  fi
  expect_error "PULSE blob, CSV without accelerometer columns" "has no accelerometer data \(columns acc_x, acc_y, acc_z\), which pulse_student needs" --model "$STUDENT" --csv "$TMP/ppg_only.csv" --rate 50
  cut -d, -f1-3 "$DEMO" >"$TMP/acc_x_only.csv"
  expect_error "only some accelerometer columns" "come as the three acc_x, acc_y, acc_z" --model "$STUDENT" --csv "$TMP/acc_x_only.csv"
  expect_error "--track with a regression head" "--track needs a probability vector per window, and pulse_student has a regression head" --model "$STUDENT" --csv "$DEMO" --track
  "$EXE" --model "$BLOBS/pulse_student_cls.ppgw" --csv "$DEMO" --track >"$TMP/pc.csv" 2>/dev/null &&
    [[ $(grep -c ',ok$' "$TMP/pc.csv") -eq 177 ]] && ok "pulse_student_cls with --track" || bad "pulse_student_cls with --track"
else
  echo "SKIPPED PULSE cases: no $STUDENT (the golden_blobs test makes it)"
fi

# 5. The ../shared/data layout, when present.
BAMI=$ROOT/../shared/data/bami
if [[ -f $BAMI/index.json ]]; then
  "$EXE" --model "$MODEL" --dataset "$BAMI" --recording bami2_01 >"$TMP/b.csv" 2>"$TMP/b.err" &&
    grep -q 'MAE' "$TMP/b.err" && [[ $(($(wc -l <"$TMP/b.csv") - 1)) -eq 362 ]] && ok "dataset recording bami2_01: $(cat "$TMP/b.err")" || bad "dataset recording"
  expect_error "unknown recording" "no recording 'bami9_99'" --model "$MODEL" --dataset "$BAMI" --recording bami9_99
  expect_error "dataset rate mismatch" "--rate 64 Hz disagrees with index.json \(50 Hz\)" --model "$MODEL" --dataset "$BAMI" --recording bami2_01 --rate 64
  if [[ -f $STUDENT ]]; then
    # A one-recording copy of the layout (bami2_01) keeps --eval to a second.
    ONE=$TMP/bami_one
    BAMI_ABS=$(cd "$BAMI" && pwd)
    mkdir -p "$ONE/rec"
    "$PY" -c 'import json, sys; i = json.load(open(sys.argv[1])); i["recordings"] = [r for r in i["recordings"] if r["id"] == "bami2_01"]; json.dump(i, open(sys.argv[2], "w"), indent=1)' \
      "$BAMI/index.json" "$ONE/index.json"
    for k in ppg acc hr; do ln -s "$BAMI_ABS/rec/bami2_01.$k.f32" "$ONE/rec/"; done
    "$EXE" --model "$STUDENT" --eval "$ONE" --subset bami2 >"$TMP/pe.out" 2>"$TMP/pe.err"
    line=$(tail -n1 "$TMP/pe.out")
    if [[ $line =~ ^#\ pulse_student\ on\ 1\ recordings\ of\ bami2:\ MAE\ [0-9.]+\ BPM\ over\ 361\ ok\ windows\ of\ 362 ]]; then
      ok "pulse_student --eval on bami2_01: $line"
    else
      bad "pulse_student --eval: '$line' $(cat "$TMP/pe.err")"
    fi
    if [[ $have_torch -eq 1 ]]; then
      # Per-window BPM and the MAE against the labels, C++ (--dataset) vs PyTorch.
      parity "parity pulse_student, bami2_01" "$STUDENT" pulse_student --dataset "$BAMI" --recording bami2_01
      # A PULSE model card (the same keys as the shipped ones) whose MAE PyTorch computed is
      # reproduced by test_shipped_models.sh through --eval.
      py_mae=$(sed -n 's/.* = PyTorch \([0-9.]*\) BPM over.*/\1/p' <<<"$PARITY_OUT")
      mkdir -p "$TMP/cards"
      cp "$STUDENT" "$TMP/cards/"
      "$PY" -c 'import json, sys; json.dump({"name": "pulse_student_golden", "blob": "pulse_student.ppgw", "arch": "pulse_student", "test_subset": "bami2", "test": {"windows": 361, "mae_argmax": float(sys.argv[2])}}, open(sys.argv[1], "w"), indent=1)' \
        "$TMP/cards/pulse_student_golden.json" "${py_mae:-nan}"
      if shipped=$(bash "$ROOT/tests/cli/test_shipped_models.sh" "$EXE" "$ROOT" "$TMP/cards" "$ONE" 2>&1); then
        ok "test_shipped_models.sh with a PULSE card: $shipped"
      else
        bad "test_shipped_models.sh with a PULSE card: $shipped"
      fi
    fi
    mkdir -p "$TMP/bami_noacc/rec"
    cp "$ONE/index.json" "$TMP/bami_noacc/"
    for k in ppg hr; do ln -s "$BAMI_ABS/rec/bami2_01.$k.f32" "$TMP/bami_noacc/rec/"; done
    expect_error "PULSE blob, dataset without the accelerometer file" "has no accelerometer data \(.*bami2_01.acc.f32\), which pulse_student needs" --model "$STUDENT" --eval "$TMP/bami_noacc"
  fi
else
  echo "SKIPPED dataset cases: $BAMI absent"
fi

[[ $fails -eq 0 ]] && echo "all CLI checks passed" || echo "$fails CLI check(s) failed"
exit $((fails > 0))
