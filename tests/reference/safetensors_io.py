"""Minimal safetensors reader/writer (pure Python + numpy, no third-party safetensors package).

File layout:
  * 8 bytes: unsigned little-endian 64-bit length N of the header,
  * N bytes: UTF-8 JSON object {name: {"dtype": ..., "shape": [...], "data_offsets": [begin, end]}, ...}
    with an optional "__metadata__": {str: str}; padded with spaces so that the data starts 8-byte aligned,
  * the data buffer: raw little-endian tensor bytes, offsets relative to the start of the buffer, no holes.

Supported dtypes: F32, F64, I64, BF16 (also F16, I32 for reading). numpy has no bfloat16, so BF16 tensors are
read as float32 arrays (exact) and written from float32 arrays by round-to-nearest-even.
"""
import json
import struct

import numpy as np

_NP = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
}
_SIZE = {"F64": 8, "I64": 8, "F32": 4, "I32": 4, "F16": 2, "BF16": 2}


def _to_numpy(x):
    if hasattr(x, "detach"):  # torch tensor, without importing torch here
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _dtype_name(arr):
    if arr.dtype == np.float64:
        return "F64"
    if arr.dtype == np.float32:
        return "F32"
    if arr.dtype == np.float16:
        return "F16"
    if arr.dtype == np.int64:
        return "I64"
    if arr.dtype == np.int32:
        return "I32"
    raise TypeError("unsupported dtype %s" % arr.dtype)


def f32_to_bf16_bits(arr):
    """float32 array -> uint16 bfloat16 bit patterns, round to nearest even (NaN kept quiet)."""
    a = np.ascontiguousarray(arr, dtype=np.float32)
    u = a.view(np.uint32).astype(np.uint64)
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    nan = np.isnan(a)
    out = rounded.astype(np.uint16)
    out[nan] = ((u[nan] >> 16) | 0x40).astype(np.uint16)
    return out


def bf16_bits_to_f32(bits):
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def save_file(path, tensors, metadata=None, dtypes=None):
    """Write `tensors` (name -> numpy array or torch tensor).

    dtypes: optional {name: "BF16" | "F32" | ...} to convert a tensor on write (e.g. float32 -> BF16).
    Tensors are stored largest element size first, then by name, so every tensor stays aligned.
    """
    dtypes = dtypes or {}
    items = []
    for name, value in tensors.items():
        if name == "__metadata__":
            raise ValueError("reserved tensor name")
        arr = _to_numpy(value)
        want = dtypes.get(name, None) or _dtype_name(arr)
        if want == "BF16":
            raw = f32_to_bf16_bits(arr.astype(np.float32)).astype("<u2").tobytes()
        else:
            raw = np.ascontiguousarray(arr.astype(_NP[want])).tobytes()
        items.append((name, want, list(arr.shape), raw))
    items.sort(key=lambda it: (-_SIZE[it[1]], it[0]))
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    for name, dt, shape, raw in items:
        header[name] = {"dtype": dt, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    hbytes = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hbytes += b" " * ((8 - len(hbytes) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hbytes)))
        f.write(hbytes)
        for _, _, _, raw in items:
            f.write(raw)


def load_file(path, with_metadata=False):
    """Read a safetensors file -> {name: numpy array} (BF16 as float32); optionally also the metadata."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = memoryview(blob)[8 + n:]
    meta = header.pop("__metadata__", None) or {}
    out = {}
    for name, info in header.items():
        dt, shape = info["dtype"], info["shape"]
        b, e = info["data_offsets"]
        if dt == "BF16":
            arr = bf16_bits_to_f32(np.frombuffer(data[b:e], dtype="<u2"))
        elif dt in _NP:
            arr = np.frombuffer(data[b:e], dtype=_NP[dt]).copy()
        else:
            raise TypeError("unsupported dtype %s for %s" % (dt, name))
        expect = int(np.prod(shape)) if shape else 1
        if arr.size != expect:
            raise ValueError("size mismatch for %s" % name)
        out[name] = arr.reshape(shape)
    if with_metadata:
        return out, meta
    return out


def header_of(path):
    """The parsed JSON header (dtype/shape/offsets per tensor) without reading the data."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n).decode("utf-8"))
