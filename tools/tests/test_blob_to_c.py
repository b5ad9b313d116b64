"""blob_to_c: a blob as a const C array - the bytes survive, the header compiles as C and C++."""

import re
import shutil
import subprocess

import pytest

from conftest import REPO_ROOT
from ppghr_tools import blob_to_c as BC

SHIPPED = REPO_ROOT / "models" / "resnet2_bami1.ppgw"


def _bytes_of(text: str) -> bytes:
    body = text[text.index("= {\n") + 3:text.rindex("};")]
    return bytes(int(h, 16) for h in re.findall(r"0x([0-9a-f]{2})", body))


def test_round_trip_and_facts():
    data = SHIPPED.read_bytes()
    text = BC.render(data, "model", section=".rodata.ppghr_model", source=SHIPPED.name)
    assert _bytes_of(text) == data
    assert f"model_size = {len(data)}" in text
    assert 'section(".rodata.ppghr_model")' in text and "aligned(64)" in text
    assert "CRC32 trailer 0x" + data[-4:][::-1].hex() in text
    assert "/" + SHIPPED.name not in text  # no path, only the file name


def test_deterministic_and_cli(tmp_path):
    out = tmp_path / "m.h"
    assert BC.main([str(SHIPPED), "--name", "m", "--out", str(out)]) == 0
    first = out.read_bytes()
    assert BC.main([str(SHIPPED), "--name", "m", "--out", str(out)]) == 0
    assert out.read_bytes() == first


@pytest.mark.parametrize("bad", ["1x", "a-b", "", "x y"])
def test_rejects_bad_names(bad):
    with pytest.raises(ValueError):
        BC.render(b"abc", bad)


def test_rejects_bad_section():
    with pytest.raises(ValueError):
        BC.render(b"abc", "x", section='a") evil("')


def test_empty_file():
    text = BC.render(b"", "empty")
    assert "empty_size = 0" in text and "empty[1]" in text


@pytest.mark.parametrize("lang,compiler,std", [("c", "gcc", "-std=c11"), ("c++", "g++", "-std=c++17")])
def test_compiles_and_holds_the_bytes(tmp_path, lang, compiler, std):
    if shutil.which(compiler) is None:
        pytest.skip(f"no {compiler}")
    data = bytes(range(256)) * 3 + b"\x00\xff"
    (tmp_path / "blob.h").write_text(BC.render(data, "blob", section=".rodata.test_blob"))
    src = tmp_path / ("main.c" if lang == "c" else "main.cpp")
    src.write_text(
        '#include <stdio.h>\n#include "blob.h"\n'
        "int main(void) {\n"
        "  if ((unsigned long)blob % 64 != 0) return 2;\n"
        "  for (unsigned long i = 0; i < blob_size; ++i) printf(\"%02x\", blob[i]);\n"
        "  return 0;\n}\n")
    exe = tmp_path / "main"
    subprocess.run([compiler, std, "-Wall", "-Wextra", "-Werror", "-o", str(exe), str(src)], check=True)
    res = subprocess.run([str(exe)], check=True, capture_output=True, text=True)
    assert bytes.fromhex(res.stdout) == data
