"""The ppghr weight blob (docs/blob-format.md): writer, reader/validator, and importer.

Writing and reading need numpy only. ``import_blob`` (blob -> PyTorch module) needs torch.
dtype 1 = float32 (PyTorch order); dtype 2 = an int8 network (docs/int8.md: each table entry's u32 at
offset 68 is its element type, format 1.1; ``quant.QNet.to_blob`` / ``from_blob``); dtype 3 =
float32 in the C++ kernels' order (written by the C++ side; read as raw float32, not importable);
dtype 4 = an int8 network, compact (format 1.2: no tensor table, the tensors of
``quant.compact_tensor_spec(arch)`` at 4-byte-aligned offsets that follow from the architecture;
``write_compact_blob``, ``quant.QNet.to_compact_blob`` / ``from_blob``, ``quant.to_compact``).

Importer convention: ``import_blob(arch, path)`` returns the ordinary training-style module of
models.py (same class, same state_dict keys) holding the blob's weights:
- a BatchNorm that the exporter folded into the conv before it becomes an identity BatchNorm
  (weight 1, bias 0, running_mean 0, running_var 1 - eps, so that running_var + eps = 1; exact
  with ``import_blob(..., dtype=torch.float64)``, within ~3e-8 relative in a float32 module);
- a BatchNorm stored as ``<name>.scale`` / ``<name>.shift`` becomes weight = scale, bias = shift,
  running_mean 0, running_var 1 - eps;
- parts the blob does not hold (ResNet ``dense2``, block 0's ``bn1``) are zero / identity;
- PULSE ``input_norm`` goes into the module's input_norm buffer.
So the imported module computes the same function as the exported one up to the float32 rounding
of the folded weights (exact in float64 up to that rounding).
"""

from __future__ import annotations

import dataclasses
import os
import struct
import zlib
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np

from . import archs as A

MAGIC = b"PPGW"
VERSION_MAJOR = 1
VERSION_MINOR = 0
BYTE_ORDER_MARK = 0x01020304
DTYPE_FLOAT32 = 1
DTYPE_INT8 = 2            # an int8 network (docs/int8.md); each entry's element type at offset 68
DTYPE_FLOAT32_KERNEL = 3  # float32 in the C++ kernels' order (written by the C++ side; read as raw float32)
VERSION_MINOR_INT8 = 1    # dtype 2 blobs are format 1.1; dtype 1 blobs stay 1.0, byte for byte
DTYPE_INT8_COMPACT = 4    # an int8 network without a tensor table (docs/blob-format.md, format 1.2)
VERSION_MINOR_COMPACT = 2
COMPACT_ALIGN = 4         # a dtype 4 tensor starts at a multiple of 4 (int8 data zero-padded to it)
ETYPE_FLOAT32 = 1         # element types of a dtype 2 entry (u32 at entry offset 68)
ETYPE_INT8 = 2
ETYPE_INT32 = 3
ETYPE_NUMPY = {ETYPE_FLOAT32: "<f4", ETYPE_INT8: "i1", ETYPE_INT32: "<i4"}
ETYPE_SIZE = {ETYPE_FLOAT32: 4, ETYPE_INT8: 1, ETYPE_INT32: 4}
HEADER_SIZE = 64
ENTRY_SIZE = 96
ALIGN = 64
NAME_BYTES = 48
MAX_NAME = NAME_BYTES - 1
MAX_DIMS = 4


class BlobError(ValueError):
    """A blob failed validation. ``code`` mirrors ppghr::Status names (e.g. 'bad_magic')."""

    def __init__(self, code: str, message: str, tensor_index: Optional[int] = None,
                 tensor_name: Optional[str] = None, expected=None, found=None):
        where = ""
        if tensor_index is not None:
            where = f" (tensor {tensor_index}{' ' + repr(tensor_name) if tensor_name else ''})"
        detail = ""
        if expected is not None or found is not None:
            detail = f": expected {expected}, found {found}"
        super().__init__(f"{code}{where}: {message}{detail}")
        self.code = code
        self.tensor_index = tensor_index
        self.tensor_name = tensor_name
        self.expected = expected
        self.found = found


def align_up(n: int, a: int = ALIGN) -> int:
    return (n + a - 1) // a * a


@dataclasses.dataclass(frozen=True)
class TensorEntry:
    name: str
    dims: Tuple[int, ...]
    offset: int
    count: int


def layout(shapes: Sequence[Tuple[int, ...]],
           element_sizes: Optional[Sequence[int]] = None) -> Tuple[int, List[int], int]:
    """Canonical placement: (payload offset, data offsets, total size incl. CRC).

    The payload starts at align64(64 + 96 T); each tensor occupies align64(size * count) bytes
    (data then zero padding; size = 4, or the element type's size in a dtype 2 blob), in table
    order; the CRC follows the last tensor's padding, so it sits at a multiple of 64. Same
    placement as the C++ writer (include/ppghr/io/blob_writer.hpp).
    """
    payload = align_up(HEADER_SIZE + ENTRY_SIZE * len(shapes))
    offsets = []
    pos = payload
    for i, shape in enumerate(shapes):
        offsets.append(pos)
        size = 4 if element_sizes is None else int(element_sizes[i])
        pos += align_up(size * int(np.prod(shape, dtype=np.int64)))
    return payload, offsets, pos + 4


def element_type_of(a: np.ndarray) -> int:
    """A dtype 2 tensor's element type from its numpy dtype (float32, int8 or int32 only)."""
    for et, code in ((ETYPE_FLOAT32, "f4"), (ETYPE_INT8, "i1"), (ETYPE_INT32, "i4")):
        if a.dtype.kind == code[0] and a.dtype.itemsize == int(code[1]):
            return et
    raise ValueError(f"dtype {a.dtype} has no blob element type (float32, int8, int32)")


def write_blob(tensors: Sequence[Tuple[str, np.ndarray]], fingerprint: int, dtype: int = DTYPE_FLOAT32) -> bytes:
    """Serialise (name, array) pairs, in the given order, into a blob.

    dtype 1 (default): every array is stored as float32, entry offset 68 is 0, version 1.0.
    dtype 2 (int8 network): each array keeps its own type (float32, int8 or int32; no conversion),
    recorded in the entry's u32 at offset 68; version 1.1."""
    if dtype not in (DTYPE_FLOAT32, DTYPE_INT8):
        raise ValueError(f"write_blob writes dtype 1 or 2, not {dtype}")
    names = [n for n, _ in tensors]
    arrays = []
    for i, (name, arr) in enumerate(tensors):
        try:
            raw = name.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError(f"tensor {i}: name {name!r} is not ASCII") from None
        if not raw or len(raw) > MAX_NAME or b"\0" in raw:
            raise ValueError(f"tensor {i}: name {name!r} must be 1..{MAX_NAME} ASCII characters")
        a = np.asarray(arr)
        if not 1 <= a.ndim <= MAX_DIMS:
            raise ValueError(f"tensor {i} {name!r}: ndim {a.ndim} not in 1..{MAX_DIMS}")
        if dtype == DTYPE_INT8:
            et = element_type_of(a)
            a = np.ascontiguousarray(a, dtype=ETYPE_NUMPY[et])
        else:
            a = np.ascontiguousarray(a, dtype="<f4")
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            bad = int(np.flatnonzero(~np.isfinite(a.reshape(-1)))[0])
            raise ValueError(f"tensor {i} {name!r}: non-finite value at flat index {bad}")
        arrays.append(a)
    if len(set(names)) != len(names):
        raise ValueError("duplicate tensor names")
    etypes = [element_type_of(a) if dtype == DTYPE_INT8 else 0 for a in arrays]
    payload, offsets, total = layout([a.shape for a in arrays], [a.dtype.itemsize for a in arrays])
    buf = bytearray(total)
    struct.pack_into("<4sHHIIQIIQQ", buf, 0, MAGIC, VERSION_MAJOR,
                     VERSION_MINOR_INT8 if dtype == DTYPE_INT8 else VERSION_MINOR, BYTE_ORDER_MARK,
                     dtype, fingerprint & 0xFFFFFFFFFFFFFFFF, len(arrays), HEADER_SIZE,
                     total, payload)
    # bytes 48..63 reserved: already zero
    for i, ((name, _), a, off, et) in enumerate(zip(tensors, arrays, offsets, etypes)):
        e = HEADER_SIZE + ENTRY_SIZE * i
        dims = list(a.shape) + [0] * (MAX_DIMS - a.ndim)
        struct.pack_into("<48sI4IIQQQ", buf, e, name.encode("ascii"), a.ndim, *dims, et, off, a.size, 0)
        buf[off:off + a.nbytes] = a.tobytes()
    struct.pack_into("<I", buf, total - 4, zlib.crc32(bytes(buf[:total - 4])) & 0xFFFFFFFF)
    return bytes(buf)


def save_blob(path: Union[str, os.PathLike], tensors: Sequence[Tuple[str, np.ndarray]],
              fingerprint: int, dtype: int = DTYPE_FLOAT32) -> bytes:
    data = write_blob(tensors, fingerprint, dtype)
    with open(path, "wb") as f:
        f.write(data)
    return data


def compact_layout(byte_sizes: Sequence[int]) -> Tuple[List[int], int]:
    """dtype 4 placement: (data offsets, total size incl. CRC). The payload starts right after the
    64-byte header (no table); each tensor occupies align4(its bytes) (data, then zero bytes), in
    order; the CRC follows the last one. A reader computes the same from the architecture."""
    offsets, pos = [], HEADER_SIZE
    for n in byte_sizes:
        offsets.append(pos)
        pos += align_up(int(n), COMPACT_ALIGN)
    return offsets, pos + 4


def write_compact_blob(tensors: Sequence[Tuple[str, np.ndarray]], fingerprint: int) -> bytes:
    """Serialise an int8 network's stored tensors (name, array), in ``quant.compact_tensor_spec``
    order, into a dtype 4 blob (format 1.2). The names are not stored (a reader knows them from the
    architecture); each array keeps its own type (float32, int8 or int32; no conversion)."""
    arrays = []
    for i, (name, arr) in enumerate(tensors):
        a = np.asarray(arr)
        a = np.ascontiguousarray(a, dtype=ETYPE_NUMPY[element_type_of(a)])
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            bad = int(np.flatnonzero(~np.isfinite(a.reshape(-1)))[0])
            raise ValueError(f"tensor {i} {name!r}: non-finite value at flat index {bad}")
        arrays.append(a)
    offsets, total = compact_layout([a.nbytes for a in arrays])
    buf = bytearray(total)
    struct.pack_into("<4sHHIIQIIQQ", buf, 0, MAGIC, VERSION_MAJOR, VERSION_MINOR_COMPACT, BYTE_ORDER_MARK,
                     DTYPE_INT8_COMPACT, fingerprint & 0xFFFFFFFFFFFFFFFF, len(arrays), HEADER_SIZE, total,
                     HEADER_SIZE)
    for a, off in zip(arrays, offsets):
        buf[off:off + a.nbytes] = a.tobytes()
    struct.pack_into("<I", buf, total - 4, zlib.crc32(bytes(buf[:total - 4])) & 0xFFFFFFFF)
    return bytes(buf)


@dataclasses.dataclass
class Blob:
    version: Tuple[int, int]
    dtype: int
    fingerprint: int
    header_size: int
    total_size: int
    payload_offset: int
    crc32: int
    entries: List[TensorEntry]
    tensors: "OrderedDict[str, np.ndarray]"   # shaped by dims; float32 (dtype 1 and 3) or each entry's type (dtype 2)
    element_types: Optional[List[int]] = None  # dtype 2: each tensor's element type (ETYPE_*)

    def items(self):
        return list(self.tensors.items())


def _read_bytes(src: Union[bytes, bytearray, memoryview, str, os.PathLike]) -> bytes:
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src)
    with open(src, "rb") as f:
        return f.read()


def read_blob(src, arch: Optional[Union[str, A.Arch]] = None, check_finite: bool = True) -> Blob:
    """Parse and validate a blob in the order of docs/blob-format.md ("Reading order and errors").

    With ``arch`` also checks the fingerprint and the tensor table against that architecture.
    Raises BlobError with the Status-like code of the first failure.
    """
    data = _read_bytes(src)
    if len(data) < HEADER_SIZE:
        raise BlobError("truncated", "blob shorter than the 64-byte header", expected=HEADER_SIZE,
                        found=len(data))
    (magic, vmaj, vmin, bom, dtype, fp, count, header_size, total, payload) = struct.unpack_from(
        "<4sHHIIQIIQQ", data, 0)
    if total < HEADER_SIZE + 4:
        raise BlobError("bad_table", "total size smaller than header + CRC", expected=HEADER_SIZE + 4,
                        found=total)
    if total > len(data):
        raise BlobError("truncated", "blob shorter than its total size", expected=total, found=len(data))
    if magic != MAGIC:
        raise BlobError("bad_magic", "magic", expected=MAGIC, found=magic)
    if bom != BYTE_ORDER_MARK:
        if bom == 0x04030201:
            raise BlobError("wrong_byte_order", "byte-order mark", expected=hex(BYTE_ORDER_MARK),
                            found=hex(bom))
        raise BlobError("bad_magic", "byte-order mark", expected=hex(BYTE_ORDER_MARK), found=hex(bom))
    if vmaj != VERSION_MAJOR:
        raise BlobError("unsupported_version", "major version", expected=VERSION_MAJOR, found=vmaj)
    if dtype not in (DTYPE_FLOAT32, DTYPE_INT8, DTYPE_FLOAT32_KERNEL, DTYPE_INT8_COMPACT):
        raise BlobError("wrong_dtype", "dtype", expected=f"{DTYPE_FLOAT32}, {DTYPE_INT8}, {DTYPE_FLOAT32_KERNEL} "
                        f"or {DTYPE_INT8_COMPACT}", found=dtype)
    data = data[:total]
    (stored_crc,) = struct.unpack_from("<I", data, total - 4)
    crc = zlib.crc32(data[:total - 4]) & 0xFFFFFFFF
    if crc != stored_crc:
        raise BlobError("checksum_mismatch", "CRC32", expected=hex(stored_crc), found=hex(crc))
    expected_spec = None
    expected_etypes = None
    if dtype == DTYPE_INT8_COMPACT:
        return _read_compact(data, (vmaj, vmin), fp, count, header_size, total, payload, stored_crc, arch,
                             check_finite)
    if arch is not None:
        arch = A.get_arch(arch) if isinstance(arch, str) else arch
        want = A.fingerprint(arch)
        if fp != want:
            raise BlobError("arch_mismatch", f"fingerprint for {arch.name}", expected=f"{want:#018x}",
                            found=f"{fp:#018x}")
        if dtype == DTYPE_INT8:
            from . import quant
            expected_spec = [(n, d) for n, d, _ in quant.int8_tensor_spec(arch)]
            expected_etypes = [et for _, _, et in quant.int8_tensor_spec(arch)]
        else:   # dtype 1 and 3 have the same table (names, PyTorch shapes); only some data order differs
            expected_spec = A.blob_tensor_spec(arch)
        if expected_spec is not None and count != len(expected_spec):
            raise BlobError("size_mismatch", "tensor count", expected=len(expected_spec), found=count)
    if header_size != HEADER_SIZE:
        raise BlobError("bad_table", "header size", expected=HEADER_SIZE, found=header_size)
    table_end = HEADER_SIZE + ENTRY_SIZE * count
    if payload % ALIGN or payload < table_end or payload > total - 4:
        raise BlobError("bad_table", "payload offset out of range or not 64-aligned",
                        expected=f">= {table_end}, multiple of {ALIGN}", found=payload)
    entries: List[TensorEntry] = []
    tensors: "OrderedDict[str, np.ndarray]" = OrderedDict()
    etypes: List[int] = []
    for i in range(count):
        e = HEADER_SIZE + ENTRY_SIZE * i
        raw_name, ndim, d0, d1, d2, d3, res0, off, n, res1 = struct.unpack_from("<48sI4IIQQQ", data, e)
        name = raw_name.split(b"\0", 1)[0].decode("ascii", errors="replace")
        dims = (d0, d1, d2, d3)
        if not 1 <= ndim <= MAX_DIMS:
            raise BlobError("bad_table", "ndim", tensor_index=i, tensor_name=name,
                            expected="1..4", found=ndim)
        used = tuple(dims[:ndim])
        if expected_spec is not None:
            ename, eshape = expected_spec[i]
            if name != ename or used != tuple(eshape):
                raise BlobError("size_mismatch", "name / dims", tensor_index=i, tensor_name=name,
                                expected=f"{ename} {list(eshape)}", found=f"{name} {list(used)}")
        et = ETYPE_FLOAT32
        if dtype == DTYPE_INT8:
            et = res0
            if et not in ETYPE_SIZE:
                raise BlobError("bad_table", "element type", tensor_index=i, tensor_name=name,
                                expected="1 (float32), 2 (int8) or 3 (int32)", found=et)
            if expected_etypes is not None and et != expected_etypes[i]:
                raise BlobError("size_mismatch", "element type", tensor_index=i, tensor_name=name,
                                expected=expected_etypes[i], found=et)
        prod = int(np.prod(used, dtype=np.int64))
        if n != prod:
            raise BlobError("bad_table", "element count != product of dims", tensor_index=i,
                            tensor_name=name, expected=prod, found=n)
        size = ETYPE_SIZE[et]
        if off % ALIGN or off < payload or off + size * n > total - 4:
            raise BlobError("bad_table", "data offset out of range or not 64-aligned", tensor_index=i,
                            tensor_name=name, expected=f"[{payload}, {total - 4 - size * n}], multiple of 64",
                            found=off)
        arr = np.frombuffer(data, dtype=ETYPE_NUMPY[et], count=n, offset=off)
        arr = arr.astype({ETYPE_FLOAT32: np.float32, ETYPE_INT8: np.int8, ETYPE_INT32: np.int32}[et]).reshape(used)
        etypes.append(et)
        entries.append(TensorEntry(name, used, off, n))
        tensors[name] = arr
    if check_finite:
        for i, (name, arr) in enumerate(tensors.items()):
            if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
                raise BlobError("non_finite_weight", "non-finite weight", tensor_index=i, tensor_name=name)
        # Mirrors the C++ reader's Status::invalid_weight: a PULSE input-normalisation std <= 0.
        for i, (name, arr) in enumerate(tensors.items()):
            if name == "input_norm" and arr.ndim == 2 and arr.shape[1] == 2 and not np.all(arr[:, 1] > 0):
                raise BlobError("invalid_weight", "input_norm std must be > 0", tensor_index=i, tensor_name=name)
    return Blob((vmaj, vmin), dtype, fp, header_size, total, payload, stored_crc, entries, tensors,
                etypes if dtype == DTYPE_INT8 else None)


def _read_compact(data: bytes, version, fp: int, count: int, header_size: int, total: int, payload: int,
                  stored_crc: int, arch, check_finite: bool) -> Blob:
    """The rest of read_blob for a dtype 4 blob (its CRC already checked): fingerprint, header
    size and payload offset (bad_table), tensor count and total size against the architecture's
    (size_mismatch), zero padding (bad_table), finite float32 values. The architecture is the
    fingerprint's when ``arch`` is None (a dtype 4 blob has no table to read without it)."""
    from . import quant
    if arch is None:
        try:
            arch = A.arch_of_fingerprint(fp)
        except ValueError:
            raise BlobError("arch_mismatch", "a compact int8 blob (dtype 4) of no known architecture",
                            found=f"{fp:#018x}") from None
    arch = A.get_arch(arch) if isinstance(arch, str) else arch
    want = A.fingerprint(arch)
    if fp != want:
        raise BlobError("arch_mismatch", f"fingerprint for {arch.name}", expected=f"{want:#018x}", found=f"{fp:#018x}")
    if header_size != HEADER_SIZE:
        raise BlobError("bad_table", "header size", expected=HEADER_SIZE, found=header_size)
    if payload != HEADER_SIZE:
        raise BlobError("bad_table", "payload offset of a compact blob", expected=HEADER_SIZE, found=payload)
    spec = quant.compact_tensor_spec(arch)
    if count != len(spec):
        raise BlobError("size_mismatch", "tensor count", expected=len(spec), found=count)
    sizes = [ETYPE_SIZE[et] * int(np.prod(d, dtype=np.int64)) for _, d, et in spec]
    offsets, want_total = compact_layout(sizes)
    if total != want_total:
        raise BlobError("size_mismatch", "total size", expected=want_total, found=total)
    entries: List[TensorEntry] = []
    tensors: "OrderedDict[str, np.ndarray]" = OrderedDict()
    for i, ((name, dims, et), off, size) in enumerate(zip(spec, offsets, sizes)):
        pad = data[off + size:align_up(off + size, COMPACT_ALIGN)]
        if any(pad):
            raise BlobError("bad_table", "nonzero padding byte", tensor_index=i, tensor_name=name, expected=0,
                            found=pad.hex())
        n = int(np.prod(dims, dtype=np.int64))
        arr = np.frombuffer(data, dtype=ETYPE_NUMPY[et], count=n, offset=off)
        arr = arr.astype({ETYPE_FLOAT32: np.float32, ETYPE_INT8: np.int8, ETYPE_INT32: np.int32}[et]).reshape(dims)
        if check_finite and arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise BlobError("non_finite_weight", "non-finite weight", tensor_index=i, tensor_name=name)
        entries.append(TensorEntry(name, tuple(dims), off, n))
        tensors[name] = arr
    return Blob(version, DTYPE_INT8_COMPACT, fp, header_size, total, payload, stored_crc, entries, tensors,
                [et for _, _, et in spec])


# --------------------------------------------------------------------------------------------
# Importer

def blob_to_state_dict(arch: Union[str, A.Arch], blob: Blob):
    """Map blob tensors to a training-style state_dict (numpy float32), see the module docstring.

    Returns (state_dict, input_norm or None). Only a float32 blob (dtype 1) maps to a state_dict:
    an int8 blob (dtype 2: quant.QNet.from_blob) or a kernel-order float32 blob (dtype 3) raises
    BlobError('wrong_dtype').
    """
    if blob.dtype != DTYPE_FLOAT32:
        what = {DTYPE_INT8: "an int8 blob (read it with quant.QNet.from_blob)",
                DTYPE_INT8_COMPACT: "a compact int8 blob (read it with quant.QNet.from_blob)",
                DTYPE_FLOAT32_KERNEL: "a float32 blob in the C++ kernels' order (no PyTorch order to map back)"}
        raise BlobError("wrong_dtype", f"blob_to_state_dict needs a PyTorch-order float32 blob, this is "
                        f"{what.get(blob.dtype, 'dtype ' + str(blob.dtype))}", expected=DTYPE_FLOAT32, found=blob.dtype)
    sd: "OrderedDict[str, np.ndarray]" = OrderedDict()
    extra: dict = {}
    for layer in A.flatten(A.layers(arch)):
        layer.import_(blob.tensors, sd, extra)
    return sd, extra.get("input_norm")


def import_blob(arch: Union[str, A.Arch], src, dtype=None):
    """Blob -> PyTorch module (eval mode) computing the same outputs. Needs torch."""
    import torch
    from . import models

    arch = A.get_arch(arch) if isinstance(arch, str) else arch
    blob = read_blob(src, arch=arch)
    sd, input_norm = blob_to_state_dict(arch, blob)
    module = models.build_model(arch.name)
    if dtype is not None:
        module = module.to(dtype)      # before loading, so float64 BN identities stay exact
    module.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in sd.items()}, strict=True)
    if input_norm is not None:
        module.set_input_norm(torch.from_numpy(np.array(input_norm)))
    return module.eval()
