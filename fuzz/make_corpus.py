#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) and their dictionaries
(fuzz/<target>.dict). Deterministic: rerunning rewrites the same bytes. No data from ../shared.

    /usr/bin/python3 fuzz/make_corpus.py

Formats: the comment at the top of each fuzz/<target>.cpp. Blob seeds are small header-and-table
fragments with the right fingerprint and CRC (tests/golden/fingerprints.txt, docs/blob-format.md),
so that the raw target starts past the magic / CRC / fingerprint checks; the structure-aware target
mutates whole valid blobs that the harness builds in memory, so its seeds are short edit scripts.
"""
import math
import os
import shutil
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CORPUS = os.path.join(HERE, "corpus")

# fuzz_common.hpp kFamilyNames, with the first tensor of each (name, dims).
FAMILIES = [
    ("resnet1", "first_block_conv.conv.weight", [32, 1, 5]),
    ("mlp1", "fc.0.weight", [40, 200]),
    ("pulse_student", "input_norm", [4, 2]),
    ("pulse_student_cls", "input_norm", [4, 2]),
    ("pulse_student_wn_cls", "conv11.weight", [16, 1, 1, 3]),
    ("pulse_student_wn", "conv11.weight", [16, 1, 1, 3]),
    ("specnet2", "stem.weight", [16, 6, 7]),
]


def fingerprints():
    fp = {}
    with open(os.path.join(ROOT, "tests", "golden", "fingerprints.txt")) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2:
                fp[parts[0]] = int(parts[1], 16)
    return fp


def blob_fragment(fingerprint, name, dims, tensor_count, with_data):
    """Header + one table entry (+ that tensor's data when small) + CRC, docs/blob-format.md."""
    count = math.prod(dims)
    payload = 64 + 96 * max(tensor_count, 1)
    payload = (payload + 63) // 64 * 64
    data = struct.pack("<%df" % count, *[0.1 * ((k % 7) - 3) for k in range(count)]) if with_data else b""
    body_len = payload + ((len(data) + 63) // 64 * 64)
    total = body_len + 4
    hdr = b"PPGW" + struct.pack("<HHIIQIIQQ", 1, 0, 0x01020304, 1, fingerprint, tensor_count, 64, total, payload)
    hdr += b"\0" * (64 - len(hdr))
    ent = name.encode().ljust(48, b"\0") + struct.pack("<I", len(dims))
    ent += struct.pack("<4I", *(dims + [0] * (4 - len(dims)))) + b"\0" * 4
    ent += struct.pack("<QQ", payload, count) + b"\0" * 8
    b = bytearray(hdr + ent)
    b += b"\0" * (payload - len(b))
    b += data + b"\0" * (body_len - payload - len(data))
    return bytes(b) + struct.pack("<I", zlib.crc32(bytes(b)) & 0xFFFFFFFF)


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def blob_raw():
    fp = fingerprints()
    for fam, tname, dims in FAMILIES:
        small = math.prod(dims) <= 1024
        write("fuzz_blob_raw", fam + "_one_tensor", blob_fragment(fp[fam], tname, dims, 1, small))
    write("fuzz_blob_raw", "magic_only", b"PPGW")
    swapped = bytearray(blob_fragment(fp["resnet1"], *FAMILIES[0][1:], 1, False))
    swapped[8:12] = b"\x01\x02\x03\x04"
    write("fuzz_blob_raw", "wrong_byte_order", bytes(swapped))


def u24(v):
    return struct.pack("<I", v)[:3]


def int8_blob():
    """fuzz_int8_blob: byte 0 = family (specnet2, pulse_student_wn_cls, resnet2, mlp2 int8), byte 1 = flags, edits."""
    for i, fam in enumerate(("specnet2", "pulse_student_wn_cls", "resnet2", "mlp2")):
        write("fuzz_int8_blob", "%d_%s_valid" % (i, fam), bytes([i, 0]))
        # a weight of -128 (op 0 at the first payload byte), a shift word set to 40 (op 1), a resize
        write("fuzz_int8_blob", "%d_%s_w128" % (i, fam), bytes([i, 0, 0]) + u24(0) + bytes([0x80]))
        write("fuzz_int8_blob", "%d_%s_word" % (i, fam), bytes([i, 0, 1]) + u24(300) + struct.pack("<I", 40))
    write("fuzz_int8_blob", "truncate", bytes([0, 0, 3]) + u24(5000))
    write("fuzz_int8_blob", "misaligned", bytes([1, 2]))
    write("fuzz_int8_blob", "no_crc_fix", bytes([2, 1, 2]) + u24(70) + bytes([7]))


def blob_struct():
    for i, (fam, _, _) in enumerate(FAMILIES):
        write("fuzz_blob_struct", "%d_%s_valid" % (i, fam), bytes([i, 0]))
        # a NaN weight (op 3, kind 0), an ndim change (op 5 field 1), a truncation (op 4)
        write("fuzz_blob_struct", "%d_%s_nan" % (i, fam), bytes([i, 0, 3]) + u24(5) + bytes([0]))
        write("fuzz_blob_struct", "%d_%s_huge" % (i, fam), bytes([i, 0, 3]) + u24(17) + bytes([3, 3]) + u24(40) + bytes([8]))
    write("fuzz_blob_struct", "ndim", bytes([0, 0, 5, 0, 1]) + struct.pack("<Q", 5))
    write("fuzz_blob_struct", "count", bytes([1, 0, 5, 2, 7]) + struct.pack("<Q", 1 << 62))
    write("fuzz_blob_struct", "offset", bytes([2, 0, 5, 3, 6]) + struct.pack("<Q", 0xFFFFFFFFFFFFFFC0))
    write("fuzz_blob_struct", "truncate", bytes([3, 0, 4]) + u24(4000))
    write("fuzz_blob_struct", "payload_offset", bytes([6, 0, 6, 7]) + struct.pack("<Q", 64))
    write("fuzz_blob_struct", "tensor_count", bytes([5, 0, 6, 5]) + struct.pack("<Q", 0xFFFFFFFF))
    write("fuzz_blob_struct", "swap_entries", bytes([4, 0, 7, 1, 2]))
    write("fuzz_blob_struct", "misaligned_no_crc_fix", bytes([0, 6, 0]) + u24(100) + bytes([1]))


RATES = [16, 25, 25.6, 32, 50, 64, 100, 102.4, 125, 128, 200, 256, 500, 1000, 1024]  # fuzz_monitor.cpp


def monitor():
    sine20 = bytes([0, 159, 60, 30])  # op 0: 20 s of a 1.5 Hz pulse
    for mode, rate, extra, name in [
        (0b00010, 1, b"", "spectral_25hz"),
        (0b00011, 4, b"", "specnet_50hz"),
        (0b01010, 5, b"", "spectral_hmm_64hz"),
        (0b10011, 2, b"", "specnet_lag_25_6hz"),
        (0b11010, 7, b"", "spectral_clamp_102_4hz"),
        (0b00110, 9, bytes([7, 40]) + bytes([0, 100, 60, 30]), "spectral_rails_128hz"),
        (0b01000, 0, bytes([8, 20]) + bytes([0, 100, 60, 30]), "spectral_no_acc_gap_16hz"),
        (0b00011, 3, bytes([3, 10, 4, 3]) + bytes([0, 100, 60, 30]), "specnet_nan_inf_32hz"),
        (0b00010, 6, bytes([9, 1, 1, 200, 0]) + bytes([10, 100, 7]), "spectral_chunk1_const_noise_100hz"),
        (0b00010, 14, bytes([9, 0, 5, 50, 6, 10]), "spectral_denormal_1e38_1024hz"),
        (0b01011, 12, bytes([2, 4]) + struct.pack("<4f", 1e-40, -1e30, float("nan"), 3.0), "specnet_raw_500hz"),
    ]:
        write("fuzz_monitor", name, bytes([mode, rate, 1]) + sine20 + extra)


def decode():
    rows = b""
    for k in range(4):
        peak = 40 + 3 * k
        rows += bytes(min(249, int(200 * math.exp(-0.5 * ((j - peak) / 4.0) ** 2))) for j in range(180))
    # decoders: prior kind, sigma, likelihood floor, power, flags (normalise, lag 2 in bits 4-6)
    write("fuzz_decode", "decoders_bami_normalised", bytes([1, 0, 0, 4, 68, 0x21]) + rows)
    write("fuzz_decode", "decoders_gaussian_evidence", bytes([1, 1, 40, 12, 68, 0x43]) + rows + bytes([0] * 8))
    write("fuzz_decode", "decoders_nan", bytes([1, 0, 0, 4, 68, 0x00]) + bytes([255, 254, 253, 252]) * 45)
    write("fuzz_decode", "decoders_bytes_prior", bytes([1, 2, 0]) + bytes(range(100, 161)) + bytes([1, 4, 68, 0x11]) + rows[:360])
    # spectral: parameter set 0 (defaults), scale 2^0, a 1.5 Hz pulse on both PPG channels
    win = bytes(int(128 + 60 * math.sin(2 * math.pi * 1.5 * (n % 200) / 25.0)) for n in range(1000))
    write("fuzz_decode", "spectral_defaults", bytes([0, 0, 64]) + win)
    write("fuzz_decode", "spectral_params_no_acc", bytes([0, 1, 4, 3, 70, 68, 68, 4, 5, 70, 5, 68, 5, 64]) + win)
    write("fuzz_decode", "spectral_huge_scale", bytes([0, 0, 127]) + win)


def cli():
    lines = ["time,ppg,acc_x,acc_y,acc_z"]
    for i in range(60):
        t = i / 25.0
        lines.append("%.2f,%.3f,%.3f,0,1" % (t, 1000 + 50 * math.sin(2 * math.pi * 1.3 * t), 0.01 * math.sin(t)))
    write("fuzz_cli_csv", "csv_time_acc", bytes([0, 0]) + ("\n".join(lines) + "\n").encode())
    write("fuzz_cli_csv", "csv_channels_rate", bytes([0, 1]) + b"\xef\xbb\xbfppg0,ppg1,hr\r\n1,2,60\r\n3,,61\r\nnan,4,NA\r\n")
    write("fuzz_cli_csv", "csv_bad_row", bytes([0, 2]) + b"ppg,time\n1,0\n2,0.04\n3\n")
    index = ('{"name": "fuzz", "format": {"files": {"rec/<id>.acc.f32": "N x 3 in m/s^2"}}, "recordings": ['
             '{"id": "s1", "subset": "a", "fs_hz": 64, "n_ppg_channels": 2, "n_samples": 1000, "n_windows": 4,'
             ' "ppg_adc": "12-bit", "acc_unit": "g"}, {"id": "s2", "fs_hz": 25.6}]}')
    write("fuzz_cli_csv", "index", bytes([1]) + index.encode())
    # Data sets: index.json + float32 files (fuzz_cli_csv.cpp check_dataset).
    n = 500  # 20 s at 25 Hz: enough for 7 windows
    ppg = struct.pack("<%df" % (2 * n), *[1000 + 40 * math.sin(0.3 * k) for k in range(2 * n)])
    acc = struct.pack("<%df" % (3 * n), *[0.01 * (k % 3) for k in range(3 * n)])
    hr = struct.pack("<3f", 70.0, 71.5, float("nan"))
    ds_index = ('{"format": {"files": {"rec/<id>.acc.f32": "N x 3 in g"}}, "recordings": [{"id": "r1", "fs_hz": 25,'
                ' "n_ppg_channels": 2, "n_samples": %d, "n_windows": 3, "ppg_adc": "16-bit"}]}' % n).encode()
    write("fuzz_cli_csv", "dataset_acc_hr", bytes([3, 7]) + struct.pack("<3H", len(ds_index), len(ppg), len(acc))
          + ds_index + ppg + acc + hr)
    ds_index = b'{"recordings": [{"id": "x", "fs_hz": 12.5, "n_samples": 4, "n_windows": 1000000000000}, {"id": "y", "fs_hz": 1}]}'
    write("fuzz_cli_csv", "dataset_sizes", bytes([3, 2]) + struct.pack("<3H", len(ds_index), 20, 0) + ds_index
          + struct.pack("<5f", 1, 2, 3, 4, 5) + struct.pack("<f", 60.0))
    write("fuzz_cli_csv", "json_escapes", bytes([2]) + '["a\\u00e9\\ud83d\\ude00\\n", 1e308, -0.5e-3, true, null, {}]'.encode())


DICTS = {
    "fuzz_blob_raw": ['"PPGW"', '"\\x04\\x03\\x02\\x01"', '"\\x01\\x02\\x03\\x04"', '"\\x01\\x00\\x00\\x00"',
                      '"input_norm"', '"fc.0.weight"', '"stem.weight"', '"first_block_conv.conv.weight"',
                      '"conv11.weight"', '"\\x00\\x00\\xc0\\x7f"', '"\\x00\\x00\\x80\\x7f"', '"\\x40\\x00\\x00\\x00"'],
    "fuzz_cli_csv": ['"time"', '"ppg"', '"ppg0"', '"ppg1"', '"ppg2"', '"ppg3"', '"ppg4"', '"acc_x"', '"acc_y"',
                     '"acc_z"', '"hr"', '"nan"', '"NaN"', '"NA"', '"inf"', '"1e309"', '"-0x1p-149"', '","', '"\\x0d\\x0a"',
                     '"\\xef\\xbb\\xbf"', '"{"', '"}"', '"["', '"]"', '"\\"recordings\\""', '"\\"id\\""',
                     '"\\"fs_hz\\""', '"\\"n_ppg_channels\\""', '"\\"n_samples\\""', '"\\"n_windows\\""',
                     '"\\"ppg_adc\\""', '"\\"acc_unit\\""', '"\\"format\\""', '"\\"files\\""',
                     '"\\"rec/<id>.acc.f32\\""', '"m/s^2"', '"-bit"', '"\\\\u"', '"\\\\ud800"', '"true"',
                     '"false"', '"null"'],
}


def dicts():
    for target, entries in DICTS.items():
        with open(os.path.join(HERE, target + ".dict"), "w") as f:
            f.write("# Generated by fuzz/make_corpus.py: libFuzzer dictionary of %s.\n" % target)
            for e in entries:
                f.write(e + "\n")


def main():
    if os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)
    blob_raw()
    blob_struct()
    int8_blob()
    monitor()
    decode()
    cli()
    dicts()
    for t in sorted(os.listdir(CORPUS)):
        files = os.listdir(os.path.join(CORPUS, t))
        size = sum(os.path.getsize(os.path.join(CORPUS, t, f)) for f in files)
        print("%-18s %2d seeds, %5d bytes" % (t, len(files), size))


if __name__ == "__main__":
    main()
