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
# Under the sanitizers (PPGHR_CLI_SANITIZED=1, set by the sanitized build's ctest) the end-to-end
# parity with PyTorch runs for one network of each kind: those are checks of numbers, made in full
# by the release build's run, and the heavy networks (the PULSE teacher, specnet10w32) take minutes
# under AddressSanitizer while going through the same tool code as the ones kept.
SANITIZED=${PPGHR_CLI_SANITIZED:-0}
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

# 1b. The shipped int8 models (models/int8/, ppghr::Int8Net; their exact parity with quant.py is
# tests/test_int8.cpp's): the tool recognises the dtype-2 blob, names the network "<arch> int8", runs
# the demo (all windows ok) and scores within 1 BPM of the float twin there (a sanity band: their
# accuracy on real data is docs/int8.md's). The PULSE student under the sanitizers: the default
# model only.
int8_list=(specnet2_bami1)
[[ $SANITIZED == 1 ]] || int8_list+=(pulse_student_wn_cls_scratch_bami1 mlp2_dkd_from_resnet12_bami1)
for m in "${int8_list[@]}"; do
  q=$ROOT/models/int8/${m}_int8.ppgw
  if [[ ! -f $q ]]; then bad "int8: no $q"; continue; fi
  if "$EXE" --model "$q" --csv "$DEMO" --ref "$REF" >"$TMP/q8.csv" 2>"$TMP/q8.err" &&
     "$EXE" --model "$ROOT/models/$m.ppgw" --csv "$DEMO" --ref "$REF" >/dev/null 2>"$TMP/f32.err"; then
    qm=$(grep -Eo '[a-z0-9_]+ int8: MAE [0-9.]+ BPM over 177 ok windows of 177' "$TMP/q8.err" | grep -Eo 'MAE [0-9.]+' | cut -d' ' -f2)
    fm=$(grep -Eo 'MAE [0-9.]+' "$TMP/f32.err" | head -n1 | cut -d' ' -f2)
    if [[ -n $qm && -n $fm ]] && awk -v a="$qm" -v b="$fm" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1.0) }'; then
      ok "int8 $m: demo MAE $qm BPM (float $fm), 177 windows"
    else
      bad "int8 $m: '$(cat "$TMP/q8.err")' vs float '$(cat "$TMP/f32.err")'"
    fi
  else
    bad "int8 $m: $(cat "$TMP/q8.err" "$TMP/f32.err" 2>/dev/null)"
  fi
done
# 1c. The compact twin (dtype 4, made by quant.py --to-compact) of the default int8 model runs like
# the dtype-2 blob: the same network name and the same output, byte for byte.
q=$ROOT/models/int8/specnet2_bami1_int8.ppgw
if PYTHONPATH=$ROOT/tools "$PY" -m ppghr_tools.quant --to-compact "$q" --out "$TMP/q8c.ppgw" >/dev/null 2>"$TMP/q8c.err" &&
   "$EXE" --model "$q" --csv "$DEMO" --ref "$REF" >"$TMP/q8.csv" 2>"$TMP/q8.err" &&
   "$EXE" --model "$TMP/q8c.ppgw" --csv "$DEMO" --ref "$REF" >"$TMP/q8c.csv" 2>>"$TMP/q8c.err" &&
   cmp -s "$TMP/q8.csv" "$TMP/q8c.csv" && grep -q 'specnet2 int8: MAE' "$TMP/q8c.err"; then
  ok "compact int8 specnet2 (dtype 4, $(wc -c <"$TMP/q8c.ppgw") bytes; dtype 2: $(wc -c <"$q")): the same output"
else
  bad "compact int8 specnet2: $(cat "$TMP/q8c.err")"
fi
cp "$ROOT/models/int8/specnet2_bami1_int8.ppgw" "$TMP/q8corrupt.ppgw"
printf '\x01' | dd of="$TMP/q8corrupt.ppgw" bs=1 seek=9000 conv=notrunc 2>/dev/null
expect_error "corrupt int8 blob" "cannot load .*checksum mismatch" --model "$TMP/q8corrupt.ppgw" --csv "$DEMO"
expect_error "--write-in-place of an int8 blob" "cannot load .*wrong dtype" --model "$ROOT/models/int8/specnet2_bami1_int8.ppgw" --write-in-place "$TMP/x.ppgw"

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

# 3a. --write-in-place: the dtype-3 blob of a model (same size, dtype 3, version 1.1, same
# fingerprint; tests/test_in_place.cpp checks that an in-place network reads it to the bit), for the
# default model and a PULSE student; errors for a corrupt blob, an input beside it, --model spectral.
for m in "$ROOT/models/specnet2_bami1.ppgw" "$STUDENT"; do
  if [[ ! -f $m ]]; then bad "--write-in-place: no $m"; continue; fi
  if "$EXE" --model "$m" --write-in-place "$TMP/flash.ppgw" 2>"$TMP/err"; then
    if "$PY" - "$m" "$TMP/flash.ppgw" <<'PYEOF'
import struct, sys
a, b = (open(p, "rb").read() for p in sys.argv[1:3])
assert len(a) == len(b), (len(a), len(b))
assert b[:4] == b"PPGW" and struct.unpack_from("<HHII", b, 4) == (1, 1, 0x01020304, 3), struct.unpack_from("<HHII", b, 4)
assert struct.unpack_from("<HHII", a, 4) == (1, 0, 0x01020304, 1)
assert a[16:24] == b[16:24] and a[64:a.find(b"\0", 64)] == b[64:b.find(b"\0", 64)]  # fingerprint, first name
PYEOF
    then ok "--write-in-place $(basename "$m"): $(cat "$TMP/err")"; else bad "--write-in-place $(basename "$m"): wrong blob"; fi
  else
    bad "--write-in-place $(basename "$m"): $(cat "$TMP/err")"
  fi
done
# The C++ writer and tools/ppghr_tools/packed.py (an independent implementation of the orders) give
# the same bytes: every golden blob (one per family under the sanitizers) and the shipped models.
pack_list=("$ROOT/models/specnet2_bami1.ppgw" "$ROOT/models/pulse_student_wn_cls_scratch_bami1.ppgw")
if [[ $SANITIZED == 1 ]]; then
  for a in resnet2 mlp1 pulse_teacher pulse_student specnet1w32 tinycnn; do pack_list+=("$BLOBS/$a.ppgw"); done
else
  for f in "$BLOBS"/*.ppgw; do pack_list+=("$f"); done
fi
mkdir -p "$TMP/packed"
pack_fail=0
for f in "${pack_list[@]}"; do
  "$EXE" --model "$f" --write-in-place "$TMP/packed/$(basename "$f")" 2>/dev/null || { bad "--write-in-place $f"; pack_fail=1; }
done
if PYTHONPATH=$ROOT/tools "$PY" - "$TMP/packed" "${pack_list[@]}" <<'PYEOF'
import os, sys
from ppghr_tools.packed import pack_blob
out_dir, files = sys.argv[1], sys.argv[2:]
for f in files:
    cpp = open(os.path.join(out_dir, os.path.basename(f)), "rb").read()
    assert pack_blob(f) == cpp, f"{f}: the C++ and Python dtype-3 blobs differ"
print(f"{len(files)} blobs")
PYEOF
then ok "--write-in-place = ppghr_tools.packed, byte for byte (${#pack_list[@]} blobs)"; else bad "--write-in-place differs from ppghr_tools.packed"; fi
expect_error "--write-in-place of a corrupt blob" "cannot load .*checksum mismatch" --model "$TMP/corrupt.ppgw" --write-in-place "$TMP/x.ppgw"
expect_error "--write-in-place with an input" "converts --model only" --model "$MODEL" --write-in-place "$TMP/x.ppgw" --csv "$DEMO"
expect_error "--write-in-place of --model spectral" "needs a network blob" --model spectral --write-in-place "$TMP/x.ppgw"
[[ -e $TMP/x.ppgw ]] && bad "--write-in-place left a file after an error" || ok "--write-in-place: no file after an error"

# 3b. Several PPG columns: ppg0, ppg1, ... (1 to 4), and --channels.
awk -F, 'NR == 1 { print "time,ppg0,acc_x,acc_y,acc_z"; next } { print }' "$DEMO" >"$TMP/ppg0.csv"
"$EXE" --model "$MODEL" --csv "$TMP/ppg0.csv" >"$TMP/ppg0_out.csv" 2>/dev/null && cmp -s "$TMP/ppg0_out.csv" "$TMP/plain.csv" &&
  ok "a 'ppg0' column gives the same output as 'ppg'" || bad "'ppg0' column differs from 'ppg'"
# Two channels: the demo's PPG in channel 0 or 1, a flat-ish other channel beside it.
awk -F, 'NR == 1 { print "time,ppg0,ppg1,acc_x,acc_y,acc_z"; next } { print $1 "," $2 "," (NR % 7) "," $3 "," $4 "," $5 }' "$DEMO" >"$TMP/two.csv"
awk -F, 'NR == 1 { print "time,ppg0,ppg1,acc_x,acc_y,acc_z"; next } { print $1 "," (NR % 7) "," $2 "," $3 "," $4 "," $5 }' "$DEMO" >"$TMP/two_swapped.csv"
"$EXE" --model "$MODEL" --csv "$TMP/two.csv" >"$TMP/two_out.csv" 2>/dev/null && cmp -s "$TMP/two_out.csv" "$TMP/plain.csv" &&
  ok "ppg0,ppg1: a network takes channel 0, output identical to the one-column file" || bad "ppg0,ppg1: network output differs"
"$EXE" --model "$MODEL" --csv "$TMP/two_swapped.csv" --channels 1 >"$TMP/two_sw_out.csv" 2>/dev/null && cmp -s "$TMP/two_sw_out.csv" "$TMP/plain.csv" &&
  ok "--channels 1 picks ppg1 for a network" || bad "--channels 1 on ppg0,ppg1 differs"
"$EXE" --model "$MODEL" --csv "$TMP/two_swapped.csv" >"$TMP/two_sw0.csv" 2>/dev/null && ! cmp -s "$TMP/two_sw0.csv" "$TMP/plain.csv" &&
  ok "(control) channel 0 of the swapped file gives other estimates" || bad "(control) swapped file's channel 0 gives the same output"
printf 'time,ppg,ppg0\n0,1,2\n' >"$TMP/both.csv"
expect_error "CSV with both ppg and ppg0" "give the PPG as 'ppg' or as 'ppg0', 'ppg1', ..., not both" --model "$MODEL" --csv "$TMP/both.csv"
printf 'time,ppg0,ppg2\n0,1,2\n' >"$TMP/hole.csv"
expect_error "CSV with ppg2 but no ppg1" "numbered from ppg0 without holes \(ppg2 without ppg1\)" --model "$MODEL" --csv "$TMP/hole.csv"
printf 'time,ppg1\n0,1\n' >"$TMP/no0.csv"
expect_error "CSV with ppg1 but no ppg0" "without holes \(ppg1 without ppg0\)" --model "$MODEL" --csv "$TMP/no0.csv"
printf 'time,ppg0,ppg1,ppg2,ppg3,ppg4\n0,1,2,3,4,5\n' >"$TMP/five.csv"
expect_error "CSV with 5 PPG channels" "5 PPG channels, at most 4" --model "$MODEL" --csv "$TMP/five.csv"
printf 'time,ppg,,acc_x\n0,1,2,3\n' >"$TMP/noname.csv"
expect_error "CSV header with an empty column name" "header 'time,ppg,,acc_x': column 3 has no name" --model "$MODEL" --csv "$TMP/noname.csv"
printf 'time,ppg,time\n0,1,0\n' >"$TMP/dup.csv"
expect_error "CSV header with a column twice" "column 'time' appears twice" --model "$MODEL" --csv "$TMP/dup.csv"
{ head -n 5 "$DEMO"; echo "0.0800,2093,0.1"; tail -n +6 "$DEMO"; } >"$TMP/short_row.csv"
expect_error "CSV row with too few fields" "short_row.csv' line 6: 3 values for 5 columns" --model "$MODEL" --csv "$TMP/short_row.csv"
{ head -n 5 "$DEMO"; echo "0.0800,20x3,0.1,0.1,0.9"; } >"$TMP/nan_cell.csv"
expect_error "CSV cell that is not a number" "nan_cell.csv' line 6: ppg '20x3' is not a number" --model "$MODEL" --csv "$TMP/nan_cell.csv"
expect_error "--channels beyond the recording's" "has 1 PPG channel\(s\) \(0..0\), no channel 2" --model "$MODEL" --csv "$DEMO" --channels 2
expect_error "--channels that is not a list" "--channels 'x': give 'all' or PPG channel numbers" --model "$MODEL" --csv "$DEMO" --channels x
expect_error "--channels with two channels for a network" "resnet2 takes one PPG channel" --model "$MODEL" --csv "$TMP/two.csv" --channels 0,1

# 3c. Decoding.
"$EXE" --model "$MODEL" --csv "$DEMO" --ref "$REF" --decode online >"$TMP/online.csv" 2>"$TMP/online.err" && cmp -s "$TMP/online.csv" "$TMP/demo.csv" &&
  cmp -s "$TMP/online.err" "$TMP/demo.err" && ok "--decode online = --track" || bad "--decode online differs from --track"
"$EXE" --model "$MODEL" --csv "$DEMO" --decode none >"$TMP/none.csv" 2>/dev/null && cmp -s "$TMP/none.csv" "$TMP/plain.csv" &&
  ok "--decode none = no decoding" || bad "--decode none differs from the plain run"
# online: the confidence is the filtered belief's mass, not the window's: it must differ somewhere.
awk -F, 'NR == FNR { c[FNR] = $4; next } FNR > 1 && $4 != c[FNR] { d = 1 } END { exit !d }' "$TMP/plain.csv" "$TMP/online.csv" &&
  ok "--decode online: confidence from the filtered belief" || bad "--decode online: confidence = the raw window's everywhere"
for mode in lag:2 viterbi offline offline-mean; do
  if "$EXE" --model "$MODEL" --csv "$DEMO" --ref "$REF" --decode "$mode" >"$TMP/dec.csv" 2>"$TMP/dec.err"; then
    n_ok=$(grep -c ',ok,' "$TMP/dec.csv")
    if [[ $n_ok -eq 177 ]] && grep -Eq 'MAE [0-9.]+ BPM over 177 ok windows of 177 \(tracked: [0-9.]+ BPM\)' "$TMP/dec.err" &&
      awk -F, 'NR > 1 && ($3 < 30 || $3 > 209 || $4 < 0 || $4 > 1) { b = 1 } END { exit b }' "$TMP/dec.csv"; then
      ok "--decode $mode on the demo: $(cat "$TMP/dec.err")"
    else
      bad "--decode $mode: $n_ok ok windows, $(cat "$TMP/dec.err")"
    fi
  elif grep -q 'is not available in this build' "$TMP/dec.err"; then
    echo "SKIPPED --decode $mode: $(cat "$TMP/dec.err")"
  else
    bad "--decode $mode failed: $(cat "$TMP/dec.err")"
  fi
done
expect_error "--decode unknown" "--decode 'fast' is not one of none, online, lag:N, viterbi, offline, offline-mean" --model "$MODEL" --csv "$DEMO" --decode fast
expect_error "--decode lag:0" "--decode lag:0: the lag is a number of windows, 1..8" --model "$MODEL" --csv "$DEMO" --decode lag:0
expect_error "--decode lag:9" "--decode lag:9: the lag is a number of windows, 1..8" --model "$MODEL" --csv "$DEMO" --decode lag:9
expect_error "--track with --decode viterbi" "give one of --decode, --track \(= --decode online\), --track-clamp" --model "$MODEL" --csv "$DEMO" --track --decode viterbi

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
    pulse_parity_nets=(pulse_student pulse_teacher pulse_student_cls pulse_student_wn_cls pulse_teacher_wn)
    if [[ $SANITIZED == 1 ]]; then
      pulse_parity_nets=(pulse_student pulse_student_wn_cls)
      echo "SKIPPED under the sanitizers: parity of pulse_teacher, pulse_student_cls, pulse_teacher_wn (the release run checks them)"
    fi
    for a in "${pulse_parity_nets[@]}"; do
      parity "parity $a, demo CSV" "$BLOBS/$a.ppgw" "$a" --csv "$DEMO"
    done
  else
    echo "SKIPPED PULSE parity with PyTorch: $PY lacks torch, numpy or scipy"
  fi
  expect_error "PULSE blob, CSV without accelerometer columns" "has no accelerometer data \(columns acc_x, acc_y, acc_z\), which pulse_student needs" --model "$STUDENT" --csv "$TMP/ppg_only.csv" --rate 50
  cut -d, -f1-3 "$DEMO" >"$TMP/acc_x_only.csv"
  expect_error "only some accelerometer columns" "come as the three acc_x, acc_y, acc_z" --model "$STUDENT" --csv "$TMP/acc_x_only.csv"
  expect_error "--track with a regression head" "--track needs a probability vector per window, and pulse_student has a regression head" --model "$STUDENT" --csv "$DEMO" --track
  expect_error "--decode offline with a regression head" "--decode offline needs a probability vector per window, and pulse_student has a regression head" --model "$STUDENT" --csv "$DEMO" --decode offline
  "$EXE" --model "$BLOBS/pulse_student_cls.ppgw" --csv "$DEMO" --track >"$TMP/pc.csv" 2>/dev/null &&
    [[ $(grep -c ',ok$' "$TMP/pc.csv") -eq 177 ]] && ok "pulse_student_cls with --track" || bad "pulse_student_cls with --track"
else
  echo "SKIPPED PULSE cases: no $STUDENT (the golden_blobs test makes it)"
fi

# 4b. A data set of the ../shared/data layout made here from the demo (tests/cli/eval_check.py):
# the same numbers through --dataset / --eval as through --csv; index.json and file errors.
EC=$ROOT/tests/cli/eval_check.py
if "$PY" -c 'import numpy' 2>/dev/null; then
  DS=$TMP/ds2
  "$PY" "$EC" make-dataset "$DEMO" "$REF" "$DS" --channels 2 --no-channel-count --name "demo set"
  if "$EXE" --model "$MODEL" --dataset "$DS" --recording demo >"$TMP/ds.csv" 2>"$TMP/ds.err" &&
    "$EXE" --model "$MODEL" --csv "$DEMO" --ref "$REF" >"$TMP/ds_ref.csv" 2>"$TMP/ds_ref.err" &&
    cmp -s "$TMP/ds.csv" "$TMP/ds_ref.csv" && [[ $(cut -d: -f2- "$TMP/ds.err") == "$(cut -d: -f2- "$TMP/ds_ref.err")" ]]; then
    ok "dropped-in data set (2 channels from the file size): same rows and MAE as the CSV: $(cut -d: -f2- "$TMP/ds.err")"
  else
    bad "dropped-in data set differs from the CSV: $(cat "$TMP/ds.err") vs $(cat "$TMP/ds_ref.err")"
  fi
  for dec in none online; do
    if "$EXE" --model "$MODEL" --eval "$DS" --decode $dec --format json --out "$TMP/ev.json" --windows-out "$TMP/ev_w.csv" 2>"$TMP/ev.err"; then
      if msg=$("$PY" "$EC" check-eval "$TMP/ev.json" "$TMP/ev_w.csv"); then ok "--eval json (decode $dec) vs Python from --windows-out: ${msg#ok   }"; else bad "--eval json (decode $dec): $msg"; fi
    else
      bad "--eval json (decode $dec): $(cat "$TMP/ev.err")"
    fi
  done
  "$PY" - "$TMP/ev.json" "$DS" <<'PYEOF' && ok "--eval json: dataset, dir, model, decode, channels, accelerometer" || bad "--eval json header fields: $(head -c 300 "$TMP/ev.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["dataset"] == "demo set" and j["dir"] == sys.argv[2] and j["model"] == "resnet2", j
assert j["decode"] == "online" and j["channels"] == [0] and j["accelerometer"] is False, j
assert [r["id"] for r in j["recordings"]] == ["demo"] and j["recordings"][0]["subset"] == "synthetic", j
assert j["overall"]["windows"] == 177 and j["overall"]["ok"] == 177, j
PYEOF
  # The CSV --eval lines say the same as the JSON.
  "$EXE" --model "$MODEL" --eval "$DS" --decode online >"$TMP/ev.txt" 2>/dev/null
  "$PY" - "$TMP/ev.json" "$TMP/ev.txt" <<'PYEOF' && ok "--eval csv lines = json" || bad "--eval csv lines differ from json: $(cat "$TMP/ev.txt")"
import json, re, sys
j = json.load(open(sys.argv[1]))
lines = open(sys.argv[2]).read().splitlines()
assert lines[0] == "recording,subset,windows,ok,mae_raw,mae_decoded,mae_decoded_50,mae_decoded_80,mae_decoded_100", lines[0]
f = lines[1].split(",")
r, o = j["recordings"][0], j["overall"]
assert f[:4] == ["demo", "synthetic", "177", "177"], f
for a, b in zip(map(float, f[4:]), [r["mae_raw"], r["mae_decoded"], r["coverage"]["50"], r["coverage"]["80"], r["coverage"]["100"]]):
    assert abs(a - b) < 1e-3, (a, b)
m = re.match(r"# resnet2 on 1 recordings: MAE ([0-9.]+) BPM over 177 ok windows of 177 .*decoded \(online\) ([0-9.]+) BPM.*coverage 50% ([0-9.]+), 80% ([0-9.]+), 100% ([0-9.]+) BPM$", lines[-1])
assert m, lines[-1]
for a, b in zip(map(float, m.groups()), [o["mae_raw"], o["mae_decoded"], o["coverage"]["50"], o["coverage"]["80"], o["coverage"]["100"]]):
    assert abs(a - b) < 1e-3, (a, b)
PYEOF
  # Accelerometer units from index.json: m/s^2 is read as g / 9.80665 (PULSE sees the same input).
  if [[ -f $STUDENT ]]; then
    "$PY" "$EC" make-dataset "$DEMO" "$REF" "$TMP/ds_ms2" --acc-unit ms2
    "$PY" "$EC" make-dataset "$DEMO" "$REF" "$TMP/ds_g"
    # control: the same m/s^2 data with index.json saying g
    cp -r "$TMP/ds_ms2" "$TMP/ds_ms2_as_g"
    sed -i 's#in m/s^2#in g#' "$TMP/ds_ms2_as_g/index.json"
    for d in ds_g ds_ms2 ds_ms2_as_g; do
      "$EXE" --model "$STUDENT" --dataset "$TMP/$d" --recording demo --format json >"$TMP/$d.json" 2>/dev/null
    done
    if "$PY" - "$TMP/ds_g.json" "$TMP/ds_ms2.json" "$TMP/ds_ms2_as_g.json" <<'PYEOF'; then
import json, sys
g, ms2, wrong = (json.load(open(p)) for p in sys.argv[1:4])
d = lambda a, b: max(abs(x["hr"] - y["hr"]) for x, y in zip(a, b) if x["hr"] is not None and y["hr"] is not None)
assert len(g) == len(ms2) == len(wrong) == 177
assert d(g, ms2) < 1e-3, d(g, ms2)
assert d(g, wrong) > 1e-3, d(g, wrong)
PYEOF
      ok "accelerometer unit m/s^2 from index.json scaled to g (PULSE estimates equal; control: the same data called g differs)"
    else
      bad "accelerometer units from index.json"
    fi
  fi
  # Errors, one line naming the file.
  mk() { rm -rf "$TMP/bad"; cp -r "$DS" "$TMP/bad"; }
  mk; printf '{"recordings": [' >"$TMP/bad/index.json"
  expect_error "index.json not JSON" "bad/index.json' is not valid JSON: line 1 column 17: unexpected end of file" --model "$MODEL" --eval "$TMP/bad"
  mk; printf '{"recordings": [{"id": "demo", "fs_hz": 50,}]}' >"$TMP/bad/index.json"
  expect_error "index.json with a trailing comma" "bad/index.json' is not valid JSON: line 1 column [0-9]+: expected a quoted key" --model "$MODEL" --eval "$TMP/bad"
  mk; printf '{"recordings": [{"id": "demo\n", "fs_hz": 50}]}' >"$TMP/bad/index.json"
  expect_error "index.json with a raw newline in a string" "is not valid JSON: line [0-9]+ column [0-9]+: control character in a string" --model "$MODEL" --eval "$TMP/bad"
  mk; "$PY" -c 'import sys; open(sys.argv[1], "w").write("[" * 100000)' "$TMP/bad/index.json"
  expect_error "index.json nested 100000 deep (no stack overflow)" "is not valid JSON: line 1 column 202: nested too deeply" --model "$MODEL" --eval "$TMP/bad"
  mk; printf '{"recordings": [{"id": "demo", "fs_hz": 1e400}]}' >"$TMP/bad/index.json"
  expect_error "index.json number out of range" "is not valid JSON: line 1 column [0-9]+: number out of range: 1e400" --model "$MODEL" --eval "$TMP/bad"
  mk; printf '{"recordings": [{"id": "demo", "fs_hz": 1e300}]}' >"$TMP/bad/index.json"
  expect_error "index.json fs_hz absurd" "recording 'demo': \"fs_hz\" 1e\+300 is not a sensor rate" --model "$MODEL" --eval "$TMP/bad"
  mk; printf '{"name": "x", "records": []}' >"$TMP/bad/index.json"
  expect_error "index.json without a recordings array" "bad/index.json' has no \"recordings\" array" --model "$MODEL" --eval "$TMP/bad"
  mk; printf '{"recordings": [{"subset": "a", "fs_hz": 50, "nested": {"id": "demo"}}]}' >"$TMP/bad/index.json"
  expect_error "index.json entry without id (one nested deeper does not count)" "bad/index.json': recording 0 of \"recordings\" has no \"id\" string" --model "$MODEL" --eval "$TMP/bad"
  mk; printf '{"recordings": [{"id": "demo", "note": "\\"fs_hz\\": 50", "nested": {"fs_hz": 50}}]}' >"$TMP/bad/index.json"
  expect_error "index.json entry without fs_hz (in a string or nested does not count)" "bad/index.json': recording 'demo' has no positive number \"fs_hz\"" --model "$MODEL" --eval "$TMP/bad"
  mk; printf '{"recordings": [{"id": "demo", "fs_hz": "50"}]}' >"$TMP/bad/index.json"
  expect_error "index.json fs_hz a string" "recording 'demo' has no positive number \"fs_hz\"" --model "$MODEL" --dataset "$TMP/bad" --recording demo
  mk; rm "$TMP/bad/rec/demo.ppg.f32"
  expect_error "missing recording file" "cannot open '.*bad/rec/demo.ppg.f32'" --model "$MODEL" --eval "$TMP/bad"
  mk; "$PY" -c 'import json, sys; p = sys.argv[1]; i = json.load(open(p)); i["recordings"][0]["n_ppg_channels"] = 2; json.dump(i, open(p, "w"))' "$TMP/bad/index.json"
  truncate -s -4 "$TMP/bad/rec/demo.ppg.f32"
  expect_error "PPG file not a whole number of frames" "bad/rec/demo.ppg.f32': size [0-9]+ bytes is not a whole number of 2-value float32 frames \(8 bytes\)" --model "$MODEL" --eval "$TMP/bad"
  mk; truncate -s -8 "$TMP/bad/rec/demo.ppg.f32"
  expect_error "PPG file size vs n_samples (channels unknown)" "bad/rec/demo.ppg.f32': size [0-9]+ bytes is not a whole number of channels of 18000 float32 samples" --model "$MODEL" --eval "$TMP/bad"
  mk; truncate -s -6 "$TMP/bad/rec/demo.acc.f32"
  expect_error "accelerometer file not whole frames" "bad/rec/demo.acc.f32': size [0-9]+ bytes is not a whole number of 3-value float32 frames" --model "$STUDENT" --eval "$TMP/bad"
  mk; "$PY" -c 'import numpy as np, sys; np.arange(200, dtype="<f4").tofile(sys.argv[1])' "$TMP/bad/rec/demo.hr.f32"
  expect_error "recording shorter than its labels" "bad/rec/demo.ppg.f32': 18000 samples is shorter than its 200 labels need \(20300 = \(2 x 199 \+ 8\) s at 50" --model "$MODEL" --eval "$TMP/bad"
  # Fuzzing findings (docs/fuzzing.md): a channel count inferred from the file size is held to 1..64
  # like n_ppg_channels; n_windows 1e15 at 1 MHz (more samples than a size_t holds) is an error, not UB.
  mk; "$PY" -c 'import json, sys; p = sys.argv[1]; i = json.load(open(p)); r = i["recordings"][0]; r.pop("n_ppg_channels", None); r["n_samples"] = 100; json.dump(i, open(p, "w"))' "$TMP/bad/index.json"
  expect_error "channel count inferred from the file size above 64" "bad/rec/demo.ppg.f32': size [0-9]+ bytes makes [0-9]+ channels of 100 float32 samples \(n_samples in index.json\); at most 64" --model "$MODEL" --eval "$TMP/bad"
  mk; rm -f "$TMP/bad/rec/demo.hr.f32"; "$PY" -c 'import json, sys; p = sys.argv[1]; i = json.load(open(p)); r = i["recordings"][0]; r["fs_hz"] = 1e6; r["n_windows"] = 999999999999999; json.dump(i, open(p, "w"))' "$TMP/bad/index.json"
  expect_error "n_windows 1e15 at 1 MHz" "samples is shorter than its 999999999999999 labels need \([0-9]{22} = " --model "$MODEL" --eval "$TMP/bad"
  mk; "$PY" -c 'import json, sys; p = sys.argv[1]; i = json.load(open(p)); i["recordings"][0]["n_samples"] = 17999; json.dump(i, open(p, "w"))' "$TMP/bad/index.json"
  expect_error "n_samples disagreeing with the file" "is not a whole number of channels of 17999|17999" --model "$MODEL" --eval "$TMP/bad"
  expect_error "--eval of a subset that is not there" "no recording of subset 'bami9'" --model "$MODEL" --eval "$DS" --subset bami9
else
  echo "SKIPPED data-set layout cases: $PY lacks numpy"
fi

# 4c. The built-in spectral estimator (--model spectral), when this build has it.
if "$EXE" --model spectral --csv "$DEMO" --ref "$REF" --decode online >"$TMP/sp.csv" 2>"$TMP/sp.err"; then
  if grep -Eq 'spectral: MAE [0-9.]+ BPM over 177 ok windows of 177 \(tracked: [0-9.]+ BPM\)' "$TMP/sp.err"; then
    mae=$(sed -n 's/.*tracked: \([0-9.]*\) BPM.*/\1/p' "$TMP/sp.err")
    # The issue's target for the demo is <= 3 BPM; the test holds a looser bound.
    awk -v m="$mae" 'BEGIN { exit !(m < 6) }' && ok "spectral on the demo (online): $(cat "$TMP/sp.err")" || bad "spectral on the demo: $(cat "$TMP/sp.err")"
  else
    bad "spectral on the demo: $(cat "$TMP/sp.err")"
  fi
  "$EXE" --model spectral --csv "$TMP/ppg_only.csv" --rate 50 >"$TMP/sp_noacc.csv" 2>"$TMP/sp_noacc.err" &&
    [[ $(grep -c 'no accelerometer: motion not suppressed, confidence lowered' "$TMP/sp_noacc.err") -eq 1 ]] &&
    ok "spectral without accelerometer: one note" || bad "spectral without accelerometer: $(cat "$TMP/sp_noacc.err")"
  # An accelerometer stopped from 100 s on (holding its value): the note counts the windows.
  awk -F, 'NR == 1 || $1 < 100 { print; if (NR > 1) { x = $3; y = $4; z = $5 } next } { print $1 "," $2 "," x "," y "," z }' "$DEMO" >"$TMP/acc_stop.csv"
  "$EXE" --model spectral --csv "$TMP/acc_stop.csv" >"$TMP/sp_stop.csv" 2>"$TMP/sp_stop.err" &&
    ! grep -q 'held one value' "$TMP/sp.err" &&
    grep -Eq "note: '.*acc_stop.csv': the accelerometer held one value through [0-9]+ of 177 windows \(stopped or stuck\?\)" "$TMP/sp_stop.err" &&
    ok "spectral with a stopped accelerometer: $(grep 'held one value' "$TMP/sp_stop.err")" || bad "spectral with a stopped accelerometer: $(cat "$TMP/sp_stop.err")"
  "$EXE" --model spectral --csv "$TMP/two.csv" --channels 0 >"$TMP/sp_c0.csv" 2>/dev/null &&
    "$EXE" --model spectral --csv "$DEMO" >"$TMP/sp_plain.csv" 2>/dev/null && cmp -s "$TMP/sp_c0.csv" "$TMP/sp_plain.csv" &&
    ok "spectral --channels 0 of ppg0,ppg1 = the one-channel file" || bad "spectral --channels 0 differs"
  "$EXE" --model spectral --csv "$TMP/two.csv" >"$TMP/sp_all.csv" 2>/dev/null && [[ $(grep -c ',ok$' "$TMP/sp_all.csv") -gt 0 ]] &&
    ok "spectral with 2 PPG channels runs" || bad "spectral with 2 PPG channels"
  if [[ -n ${DS:-} && -d ${DS:-/nonexistent} ]]; then
    "$EXE" --model spectral --eval "$DS" --format json --decode online --out "$TMP/sp.json" --windows-out "$TMP/sp_w.csv" 2>/dev/null &&
      msg=$("$PY" "$EC" check-eval "$TMP/sp.json" "$TMP/sp_w.csv") && grep -q '"model": "spectral".*"channels": \[0, 1\], "accelerometer": true' "$TMP/sp.json" &&
      ok "spectral --eval json: ${msg#ok   }" || bad "spectral --eval json: ${msg:-} $(head -c 300 "$TMP/sp.json")"
    # Two recordings without accelerometer files: one note for the whole run, "accelerometer": false.
    NOACC=$TMP/ds_noacc
    cp -r "$DS" "$NOACC"
    rm "$NOACC/rec/demo.acc.f32"
    for k in ppg hr; do cp "$NOACC/rec/demo.$k.f32" "$NOACC/rec/demo_b.$k.f32"; done
    "$PY" -c 'import json, sys; p = sys.argv[1]; i = json.load(open(p)); r = dict(i["recordings"][0]); r["id"] = "demo_b"; i["recordings"].append(r); json.dump(i, open(p, "w"))' "$NOACC/index.json"
    if "$EXE" --model spectral --eval "$NOACC" --format json --out "$TMP/sp_noacc.json" 2>"$TMP/sp_noacc_eval.err" &&
      [[ $(grep -c 'note: no accelerometer: motion not suppressed, confidence lowered' "$TMP/sp_noacc_eval.err") -eq 1 ]] &&
      grep -q '"accelerometer": false' "$TMP/sp_noacc.json" && [[ $(grep -c '"id": "demo' "$TMP/sp_noacc.json") -eq 2 ]]; then
      ok "spectral --eval, two recordings without accelerometer: one note, \"accelerometer\": false"
    else
      bad "spectral --eval without accelerometer: $(cat "$TMP/sp_noacc_eval.err") $(head -c 300 "$TMP/sp_noacc.json")"
    fi
  fi
  # The printed confidence is the calibrated one where a table exists (calibration_tables.hpp).
  TABLES=$ROOT/include/ppghr/spectral/calibration_tables.hpp
  if [[ -f $TABLES ]]; then
    for mode in none online lag:3 offline viterbi; do
      for acc in acc noacc; do
        src=$DEMO
        [[ $acc == noacc ]] && src=$TMP/ppg_only.csv
        if "$EXE" --model spectral --csv "$src" --rate 50 --decode "$mode" --windows-out "$TMP/cal.csv" >/dev/null 2>"$TMP/cal.err" &&
          msg=$("$PY" "$EC" check-calibration "$TABLES" "$TMP/cal.csv" "$mode" "$acc"); then
          ok "spectral calibration: ${msg#ok   }"
        else
          bad "spectral calibration --decode $mode ($acc): ${msg:-} $(cat "$TMP/cal.err")"
        fi
      done
    done
  else
    echo "SKIPPED spectral calibration: no $TABLES (ppghr_tools.calibrate writes it)"
  fi
elif grep -q 'this build has no spectral estimator' "$TMP/sp.err"; then
  echo "SKIPPED spectral cases: $(cat "$TMP/sp.err")"
else
  bad "spectral on the demo failed: $(cat "$TMP/sp.err")"
fi

# 4b. Spectral networks (SpectralNet<C, SpecNet<N>>, the seeded golden blobs): every PPG channel +
# the accelerometer through the spectral front end; the tool against its Python twin end to end.
SPEC=$BLOBS/specnet2.ppgw
if [[ -f $SPEC ]]; then
  "$EXE" --model "$SPEC" --csv "$DEMO" --ref "$REF" --track >"$TMP/s.csv" 2>"$TMP/s.err" &&
    [[ $(grep -c ',ok,' "$TMP/s.csv") -eq 177 ]] && grep -Eq 'specnet2: MAE [0-9.]+ BPM over 177 ok windows of 177' "$TMP/s.err" &&
    ok "specnet2 on the demo: 177 ok windows, MAE line" || bad "specnet2 on the demo: $(cat "$TMP/s.err")"
  cut -d, -f1,2 "$DEMO" >"$TMP/s_ppg_only.csv"
  "$EXE" --model "$SPEC" --csv "$TMP/s_ppg_only.csv" >"$TMP/s2.csv" 2>"$TMP/s2.err" &&
    [[ $(grep -cE ',ok(,|$)' "$TMP/s2.csv") -eq 177 ]] && grep -q "no accelerometer: specnet2 runs on the PPG spectra alone" "$TMP/s2.err" &&
    ok "specnet2 without accelerometer columns: runs, says so" || bad "specnet2 without accelerometer: $(cat "$TMP/s2.err")"
  expect_error "a specnet blob with --arch resnet2" "is a blob for another network \(specnet2\), not --arch resnet2" --model "$SPEC" --arch resnet2 --csv "$DEMO"
  # Every network of the registry runs (models/registry.hpp): specnet12 was once refused.
  if [[ -f $BLOBS/specnet12.ppgw ]]; then
    "$EXE" --model "$BLOBS/specnet12.ppgw" --csv "$DEMO" >"$TMP/s12.csv" 2>"$TMP/s12.err" &&
      [[ $(grep -cE ',ok(,|$)' "$TMP/s12.csv") -eq 177 ]] &&
      ok "specnet12 (any network of the registry) runs: 177 ok windows" || bad "specnet12 from the registry: $(cat "$TMP/s12.err")"
  fi
  if [[ $have_torch -eq 1 ]]; then
    spec_parity_nets=(specnet2 specnet10w32)
    if [[ $SANITIZED == 1 ]]; then
      spec_parity_nets=(specnet2)
      echo "SKIPPED under the sanitizers: parity of specnet10w32 (the release run checks it)"
    fi
    for a in "${spec_parity_nets[@]}"; do
      if SP_OUT=$(PYTHONPATH=$ROOT/tools "$PY" "$ROOT/tests/cli/specnet_parity.py" "$EXE" "$BLOBS/$a.ppgw" "$a" --csv "$DEMO" 2>&1); then
        ok "parity $a, demo CSV: ${SP_OUT#ok   }"
      else
        bad "parity $a, demo CSV: $SP_OUT"
      fi
    done
    SP_OUT=$(PYTHONPATH=$ROOT/tools "$PY" "$ROOT/tests/cli/specnet_parity.py" "$EXE" "$SPEC" specnet2 --csv "$TMP/s_ppg_only.csv" 2>&1) &&
      ok "parity specnet2, PPG only: ${SP_OUT#ok   }" || bad "parity specnet2, PPG only: $SP_OUT"
  else
    echo "SKIPPED specnet parity with PyTorch: $PY lacks torch, numpy or scipy"
  fi
else
  echo "SKIPPED specnet cases: no $SPEC (the golden_blobs test makes it)"
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

# Bad input: one-line errors, exit status 2 (expect_error checks nonzero; the status is checked
# here), nothing read from special files, --out written atomically.
status_is_2() {  # NAME ARGS...: the tool exits with 2 exactly
  local name=$1 rc=0
  shift
  "$EXE" "$@" >/dev/null 2>&1 || rc=$?
  [[ $rc -eq 2 ]] && ok "$name: exit 2" || bad "$name: exit $rc, expected 2"
}
mkdir -p "$TMP/bad"
expect_error "--csv a directory" "cannot read '$TMP/bad': it is a directory" --model "$MODEL" --csv "$TMP/bad"
expect_error "--csv /dev/zero (endless)" "cannot read '/dev/zero': not a regular file" --model "$MODEL" --csv /dev/zero
expect_error "--model /dev/zero" "cannot read model '/dev/zero': not a regular file" --model /dev/zero --csv "$DEMO"
expect_error "--model a directory" "cannot read model '$TMP/bad': it is a directory" --model "$TMP/bad" --csv "$DEMO"
status_is_2 "--csv /dev/zero" --model "$MODEL" --csv /dev/zero
"$EXE" --model "$MODEL" --csv "$DEMO" >"$TMP/bad/plain.csv" 2>/dev/null
printf '\xEF\xBB\xBF' >"$TMP/bad/bom.csv" && cat "$DEMO" >>"$TMP/bad/bom.csv"
"$EXE" --model "$MODEL" --csv "$TMP/bad/bom.csv" >"$TMP/bad/bom.out" 2>/dev/null && cmp -s "$TMP/bad/bom.out" "$TMP/bad/plain.csv" &&
  ok "a UTF-8 byte-order mark before the header is skipped" || bad "CSV with a byte-order mark"
sed 's/$/\r/' "$DEMO" >"$TMP/bad/crlf.csv"
"$EXE" --model "$MODEL" --csv "$TMP/bad/crlf.csv" >"$TMP/bad/crlf.out" 2>/dev/null && cmp -s "$TMP/bad/crlf.out" "$TMP/bad/plain.csv" &&
  ok "CRLF line ends give the same output" || bad "CSV with CRLF line ends"
head -n 100 "$DEMO" >"$TMP/bad/nul.csv" && printf '2.0,\000,0,0,1\n' >>"$TMP/bad/nul.csv"
expect_error "an embedded NUL byte" "nul.csv' line 101: a NUL byte" --model "$MODEL" --csv "$TMP/bad/nul.csv"
{ head -n 1 "$DEMO"; head -c 2000000 /dev/zero | tr '\0' '1'; } >"$TMP/bad/long.csv"
expect_error "a 2 MB line" "long.csv' line 2: longer than 1048576 bytes" --model "$MODEL" --csv "$TMP/bad/long.csv"
awk -F, 'NR == 300 { $1 = 0.5 } { print }' OFS=, "$DEMO" >"$TMP/bad/back.csv"
expect_error "a time column that goes backwards" "back.csv' line 300: time 0.5 does not come after the previous line's" --model "$MODEL" --csv "$TMP/bad/back.csv"
awk -F, 'NR == 300 { $2 = "abc" } { print }' OFS=, "$DEMO" >"$TMP/bad/nonnum.csv"
expect_error "a non-numeric value" "nonnum.csv' line 300: ppg 'abc' is not a number" --model "$MODEL" --csv "$TMP/bad/nonnum.csv"
status_is_2 "a non-numeric value" --model "$MODEL" --csv "$TMP/bad/nonnum.csv"
awk -F, 'NR >= 300 && NR < 340 { $2 = "" } { print }' OFS=, "$DEMO" >"$TMP/bad/missing.csv"
"$EXE" --model "$MODEL" --csv "$TMP/bad/missing.csv" >"$TMP/bad/missing.out" 2>/dev/null && grep -q ',gap$' "$TMP/bad/missing.out" &&
  ok "missing PPG values: windows with status gap" || bad "missing PPG values: $(grep -c gap "$TMP/bad/missing.out") gap windows"
if [[ $(id -u) -ne 0 ]]; then
  cp "$DEMO" "$TMP/bad/noperm.csv" && chmod 000 "$TMP/bad/noperm.csv"
  expect_error "--csv without read permission" "cannot open '.*noperm.csv': Permission denied" --model "$MODEL" --csv "$TMP/bad/noperm.csv"
else
  echo "SKIPPED the no-permission case: running as root"
fi
expect_error "--out on a full disk (/dev/full)" "cannot write '/dev/full': No space left on device" --model "$MODEL" --csv "$DEMO" --out /dev/full
status_is_2 "--out /dev/full" --model "$MODEL" --csv "$DEMO" --out /dev/full
expect_error "--out a directory" "cannot write '$TMP/bad': it is a directory" --model "$MODEL" --csv "$DEMO" --out "$TMP/bad"
# A write that fails half-way (a file-size limit: the tool ignores SIGXFSZ, so the write returns
# EFBIG): exit 2, the earlier file of that name intact, no temporary file left beside it.
mkdir -p "$TMP/bad/outdir" && echo previous >"$TMP/bad/outdir/o.csv"
rc=0
(ulimit -f 2; "$EXE" --model "$MODEL" --csv "$DEMO" --out "$TMP/bad/outdir/o.csv") 2>"$TMP/bad/ulimit.err" || rc=$?
if [[ $rc -eq 2 && $(cat "$TMP/bad/outdir/o.csv") == previous && $(ls "$TMP/bad/outdir") == o.csv ]] &&
   grep -q "File too large (nothing written there)" "$TMP/bad/ulimit.err"; then
  ok "--out failing half-way (ulimit -f): exit 2, the previous file intact, no temporary file"
else
  bad "--out failing half-way: exit $rc, '$(cat "$TMP/bad/ulimit.err")', files: $(ls "$TMP/bad/outdir" | tr '\n' ' ')"
fi
"$EXE" --model "$MODEL" --csv "$DEMO" --out "$TMP/bad/outdir/o.csv" 2>/dev/null && cmp -s "$TMP/bad/outdir/o.csv" "$TMP/bad/plain.csv" &&
  [[ $(ls "$TMP/bad/outdir") == o.csv ]] && ok "--out replaces the file when the run succeeds" || bad "--out after a successful run"
# An error after --windows-out was opened (a recording missing from the data set) leaves no file.
rc=0
"$EXE" --model "$MODEL" --dataset "$TMP/bad" --recording x --windows-out "$TMP/bad/outdir/w.csv" >/dev/null 2>&1 || rc=$?
[[ $rc -eq 2 && ! -e "$TMP/bad/outdir/w.csv" && $(ls "$TMP/bad/outdir") == o.csv ]] &&
  ok "a failed run leaves no --windows-out file" || bad "failed run with --windows-out: exit $rc, files $(ls "$TMP/bad/outdir" | tr '\n' ' ')"
if "$EXE" --model "$MODEL" --csv "$DEMO" >/dev/full 2>"$TMP/bad/stdout.err"; then
  bad "stdout on a full disk: exit 0"
else
  grep -q "cannot write the output: No space left on device" "$TMP/bad/stdout.err" && ok "stdout on a full disk: exit 2 with a message" ||
    bad "stdout on a full disk: $(cat "$TMP/bad/stdout.err")"
fi

[[ $fails -eq 0 ]] && echo "all CLI checks passed" || echo "$fails CLI check(s) failed"
exit $((fails > 0))
