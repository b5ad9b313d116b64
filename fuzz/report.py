#!/usr/bin/env python3
"""Writes docs/fuzzing.md from the logs of a scripts/fuzz.sh --long run (build-fuzz/run/<target>/):
per target the executions, exec/s, coverage (cov: edges and ft: features of libFuzzer's last status
line), the corpus at the end and the findings. Called by scripts/fuzz.sh; not meant to be run alone.
"""
import argparse
import datetime
import glob
import os
import re
import subprocess

DESCRIPTIONS = {
    "fuzz_blob_raw": "raw bytes as a blob into ResNet1d<1>, Mlp<1>, PulseStudent (regression, classes, "
                     "per-window classes / regression), SpectralNet<1, SpecNet<2>>",
    "fuzz_blob_struct": "edit scripts on valid blobs of the same families; size field and CRC repaired",
    "fuzz_int8_blob": "edit scripts on the shipped int8 models (dtype 2) into Int8Net<SpecNet<2>>, "
                      "<pulse_student_wn_cls>, <ResNet1d<2>>, <Mlp<2>>; size field and CRC repaired, misaligned loads",
    "fuzz_monitor": "Monitor push / push_gap / finish, SpectralEstimator<1> and SpectralNet<1, SpecNet<2>>, "
                    "15 sensor rates, every tracking mode",
    "fuzz_decode": "forward filter, lag smoother, Viterbi, forward-backward, Calibration; "
                   "SpectralEstimator<2> predict / features / configure",
    "fuzz_cli_csv": "ppghr-estimate's read_csv, read_index (index.json), read_dataset (index.json + "
                    "the .ppg.f32 / .acc.f32 / .hr.f32 float files), cli::json::parse / quote",
}

FINDINGS = """\
| # | target(s) | input (committed) | cause | status |
|---|---|---|---|---|
| 1 | fuzz_blob_struct | `fuzz/regressions/fuzz_blob_struct/nonfinite_output_resnet1_1e38_weight`, `..._specnet2_1e38_weight`: a valid blob with one weight set to 1e38 (finite, so the loader accepts it) | `predict()` on a finite window overflowed to inf / NaN logits and still said `ok`: `detail::finish_classification` took them to NaN probabilities and an argmax heart rate (**30 BPM** when all are NaN) | **fixed**: `Network::predict()` (models/network.hpp) refuses outputs that are not finite with `InputStatus::non_finite` (the Monitor then gives the window `non_finite`); the inputs are replayed strictly by every smoke run |
| 2 | fuzz_monitor, fuzz_decode | `fuzz/regressions/fuzz_monitor/nonfinite_output_spectral_1e38_run_16hz` (a run of +-1e38 samples at 16 Hz), `fuzz/regressions/fuzz_decode/nonfinite_output_spectral_window_2e19` (a window of values up to ~1e21) | `SpectralEstimator::predict()` / `features()` on a finite window whose power overflows float (|x| above ~1e17 after the band-pass): `normalise_ppg` computed inf x 0 = NaN; predict() said `ok` with NaN probabilities and a heart rate, the Monitor passed it on as an ok window | **fixed**: `predict()` and `features()` (spectral/estimator.hpp) return `non_finite` when their output is not finite; replayed strictly |
| 3 | fuzz_cli_csv | `fuzz/regressions/fuzz_cli_csv/dataset_inferred_148_channels`: an index.json entry with `n_samples` 4 and no `n_ppg_channels`, beside a .ppg.f32 of 2368 bytes | `read_dataset()` infers the channel count from the file size and n_samples and did not hold it to 1..64, the bound an explicit `n_ppg_channels` has (148 channels accepted) | **fixed**: the inferred count is held to 1..64 with a one-line error (examples/ppghr_estimate.cpp); tests/cli/test_cli.sh "channel count inferred from the file size above 64"; replayed strictly |
| 4 | fuzz_cli_csv | `fuzz/regressions/fuzz_cli_csv/dataset_n_windows_1e15_at_1MHz`: `"fs_hz": 1000000, "n_windows": 999999999999999` | undefined behaviour (UBSan: float-cast-overflow): the samples that n_windows labels need, 2e21, were converted to a `size_t` | **fixed**: compared as doubles; the error says how many samples are needed; tests/cli/test_cli.sh "n_windows 1e15 at 1 MHz"; replayed strictly |
"""


def stats(d):
    """One target's run: the sum over its worker logs (fuzz.log, or fuzz.K.log with several workers);
    coverage from final.log (the whole final corpus run once) when there is one."""
    logs = sorted(glob.glob(os.path.join(d, "fuzz.log")) + glob.glob(os.path.join(d, "fuzz.*.log")))
    texts = [open(p, errors="replace").read() for p in logs]

    def last(pattern, text):
        m = re.findall(pattern, text)
        return m[-1] if m else None

    def total(pattern):
        vals = [last(pattern, t) for t in texts]
        return sum(int(v) for v in vals if v) if any(vals) else None

    def mean(pattern):
        vals = [int(v) for v in (last(pattern, t) for t in texts) if v]
        return int(round(sum(vals) / len(vals))) if vals else None

    final = os.path.join(d, "final.log")
    cov_text = open(final, errors="replace").read() if os.path.exists(final) else (texts[-1] if texts else "")
    rss = [int(v) for v in (last(r"stat::peak_rss_mb:\s+(\d+)", t) for t in texts) if v]
    return {
        "workers": len(logs),
        "execs": total(r"stat::number_of_executed_units: (\d+)"),
        "eps": mean(r"stat::average_exec_per_sec:\s+(\d+)"),
        "cov": last(r"cov: (\d+)", cov_text),
        "ft": last(r"ft: (\d+)", cov_text),
        "rss": max(rss) if rss else None,
        "failed": any(re.search(r"ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|ppghr fuzz check failed", t)
                      for t in texts + [cov_text]),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--seconds", type=int, required=True)
    ap.add_argument("--allow", default="")
    ap.add_argument("--workers", default="1", help="WORKERS of scripts/fuzz.sh (one number, or target=N pairs)")
    ap.add_argument("--machine", default="a 2-core machine shared with other work")
    ap.add_argument("--note", default="", help="a paragraph on how the run was made, when not by one fuzz.sh call")
    ap.add_argument("--out", required=True)
    ap.add_argument("targets", nargs="+")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "?"
    try:
        clang = subprocess.run(["clang++", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        clang = "clang (version unknown)"
    rows = []
    total = 0
    reached, short = [], []
    for t in a.targets:
        d = os.path.join(a.build, "run", t)
        s = stats(d)
        files = glob.glob(os.path.join(d, "corpus", "*"))
        size = sum(os.path.getsize(f) for f in files)
        seeds = len(glob.glob(os.path.join(root, "fuzz", "corpus", t, "*")))
        arts = [os.path.basename(p) for p in glob.glob(os.path.join(d, "*")) if re.match(r"(crash|leak|timeout|oom|slow-unit)-", os.path.basename(p))]
        total += int(s["execs"] or 0)
        reached.append(t) if int(s["execs"] or 0) >= 10 ** 7 else short.append(t)
        find = "none" if not s["failed"] and not arts else "FAILED: " + (", ".join(arts) or "see log")
        rows.append("| %s | %d | %s | %s | %s | %s | %d -> %d files (%d bytes) | %s MB | %s |" % (
            t, s["workers"], "{:,}".format(int(s["execs"])) if s["execs"] else "?", s["eps"] or "?", s["cov"] or "?", s["ft"] or "?",
            seeds, len(files), size, s["rss"] or "?", find))
    now = datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC")
    out = []
    out.append("# Fuzzing ppghr\n")
    out.append("<!-- Generated by scripts/fuzz.sh --long %d (fuzz/report.py); do not edit by hand. -->\n" % a.seconds)
    if a.workers == "1":
        how = "each run for %d s on one core, one target after another" % a.seconds
    else:
        how = ("all targets at once for %d s, each with its own worker processes sharing its corpus "
               "(`WORKERS=\"%s\"`)" % (a.seconds, a.workers))
    out.append("The libFuzzer targets of `fuzz/` (CMake option `PPGHR_FUZZ`, clang; AddressSanitizer + "
               "UndefinedBehaviorSanitizer, `-fno-sanitize-recover=undefined -g -O1`), %s, from their seed "
               "corpora `fuzz/corpus/<target>/` (made by `fuzz/make_corpus.py`) by `scripts/fuzz.sh --long %d`, "
               "%s, commit %s, %s, on %s. Open findings tolerated at run time: `%s`. Coverage: the whole final "
               "corpus run once after the run (edges and features of all workers together).\n" % (
                   how, a.seconds, now, commit or "?", clang, a.machine, a.allow or "(none)"))
    if a.note:
        out.append(a.note + "\n")
    out.append("| target | worker processes | executions | exec/s (one worker, mean) | cov (edges) | ft (features) | corpus (seeds -> end) | peak RSS (one worker) | new findings |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    out.extend(rows)
    out.append("")
    out.append("Total: {:,} executions. The issue's target is >= 10^7 executions per target: ".format(total) +
               ("reached by %s; " % ", ".join("`%s`" % t for t in reached) if reached else "reached by none; ") +
               ("not reached by %s. " % ", ".join("`%s`" % t for t in short) if short else "all reached. ") +
               "The network harnesses load and run whole networks per input under the sanitizers (tens to "
               "hundreds of executions per second per core): 10^7 executions of those needs SECONDS x workers = "
               "10^7 / (exec/s of one worker), i.e. core-days, not a session's run.\n")
    out.append("What each target does (the comment at the top of `fuzz/<target>.cpp` has the input format and "
               "every check):\n")
    for t in a.targets:
        out.append("- `%s`: %s." % (t, DESCRIPTIONS.get(t, "")))
    out.append("")
    out.append("## Findings\n")
    out.append(FINDINGS)
    out.append("## Commands\n")
    out.append("```sh\nscripts/fuzz.sh            # smoke, 30 s per target (scripts/test.sh step \"fuzz smoke\")\n"
               "scripts/fuzz.sh --long 3600   # long run; rewrites this page\n"
               "build-fuzz/fuzz/fuzz_monitor build-fuzz/run/fuzz_monitor/crash-...   # replay one input\n"
               "/usr/bin/python3 fuzz/make_corpus.py   # regenerate the seed corpora and dictionaries\n```\n")
    with open(a.out, "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
