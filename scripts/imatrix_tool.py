#!/usr/bin/env python3
"""Helpers for scripts/imatrix-goldens.sh (uses the `gguf` package; nothing from llama.cpp is copied).

  imatrix_tool.py summary IMATRIX.gguf OUT.json      per entry: counts, sum, 16 sampled column values
  imatrix_tool.py synthetic MODEL.gguf OUT.gguf      a deterministic GGUF imatrix for every blk.* matrix
  imatrix_tool.py ggml-rows LIBGGML_BASE.so OUT.json  ggml_quantize_chunk with importance weights on
                                                     generated rows (see rows()), FNV-1a 64 per type
  imatrix_tool.py hashes OUT.json LABEL INPUT PRESET=FILE...   per-tensor type + sha256 (first 16 hex digits)
"""
import hashlib
import json
import sys

import numpy as np
import gguf


def summary(path, out):
    r = gguf.GGUFReader(path)
    t = {x.name: x for x in r.tensors}
    doc = {"generator": "llama-imatrix, summarised by scripts/imatrix_tool.py", "entries": {}}
    for name in sorted(t):
        if not name.endswith(".in_sum2"):
            continue
        base = name[: -len(".in_sum2")]
        sums = np.asarray(t[name].data, dtype=np.float64).ravel()
        counts = np.asarray(t[base + ".counts"].data).ravel()
        idx = np.linspace(0, len(sums) - 1, 16).astype(int)
        doc["entries"][base] = {
            "counts": [int(round(c)) for c in counts],
            "n": int(len(sums)),
            "sum": float(f"{sums.sum():.7g}"),
            "cols": [int(i) for i in idx],
            "values": [float(f"{sums[i]:.6g}") for i in idx],
        }
    for k in ("imatrix.chunk_count", "imatrix.chunk_size"):
        doc[k] = int(r.fields[k].parts[-1][0])
    with open(out, "w") as f:
        json.dump(doc, f, indent=0, sort_keys=True)
        f.write("\n")


def synthetic_value(col, mat):
    # Exact in f32 on both sides (agora's tests build the same matrix): integers 1..101 times 0.25.
    return ((col * 37 + mat * 11) % 101 + 1) * 0.25


def synthetic(model, out):
    r = gguf.GGUFReader(model)
    w = gguf.GGUFWriter(out, arch="imatrix")
    # GGUFWriter always adds general.architecture; llama's loader ignores it.
    w.add_string("general.type", "imatrix")
    w.add_array("imatrix.datasets", ["synthetic"])
    w.add_uint32("imatrix.chunk_count", 1)
    w.add_uint32("imatrix.chunk_size", 1)
    for t in sorted(r.tensors, key=lambda t: t.name):
        shape = [int(s) for s in t.shape]
        if not t.name.startswith("blk.") or len(shape) < 2:
            continue
        n, mats = shape[0], (shape[2] if len(shape) > 2 else 1)
        sums = np.array([[synthetic_value(c, m) for c in range(n)] for m in range(mats)], dtype=np.float32)
        w.add_tensor(t.name + ".in_sum2", sums)
        w.add_tensor(t.name + ".counts", np.ones((mats, 1), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def hashes(out, label, source, pairs):
    doc = {"generator": label, "input": source, "presets": {}}
    for pair in pairs:
        preset, path = pair.split("=", 1)
        r = gguf.GGUFReader(path)
        doc["presets"][preset] = {
            "file_type": int(r.fields["general.file_type"].parts[-1][0]),
            "tensors": {t.name: [t.tensor_type.name, hashlib.sha256(t.data.tobytes()).hexdigest()[:16]] for t in r.tensors},
        }
    with open(out, "w") as f:
        json.dump(doc, f, indent=0, sort_keys=True)
        f.write("\n")


def lcg_values(seed, n):
    """n values in [-1, 1) from a 32-bit LCG; every step is exact in f32 (agora's kernels test makes the same)."""
    out = np.empty(n, dtype=np.float32)
    s = seed & 0xFFFFFFFF
    for i in range(n):
        s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
        out[i] = np.float32(s >> 8) / np.float32(1 << 24) * np.float32(2.0) - np.float32(1.0)
    return out


def rows(n_rows, n_per_row):
    """Rows of weights with an outlier column every 61 and a per-row power-of-two scale, and importance
    weights in [1/64, 16 + 1/64) from their own stream."""
    x = lcg_values(1, n_rows * n_per_row).reshape(n_rows, n_per_row)
    x[:, ::61] *= np.float32(8.0)
    for r in range(n_rows):
        x[r] *= np.float32(2.0 ** (r % 5 - 2))
    w = (lcg_values(2, n_per_row) + np.float32(1.0)) * np.float32(8.0) + np.float32(1.0 / 64)
    return x, w


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


GGML_TYPES = {"Q4_0": 2, "Q4_1": 3, "Q5_0": 6, "Q5_1": 7, "Q8_0": 8, "Q2_K": 10, "Q3_K": 11, "Q4_K": 12, "Q5_K": 13, "Q6_K": 14}


def ggml_rows(lib_path, out):
    import ctypes
    lib = ctypes.CDLL(lib_path)
    lib.ggml_quantize_chunk.restype = ctypes.c_size_t
    lib.ggml_quantize_chunk.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                                        ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p]
    n_rows, n_per_row = 8, 512
    x, w = rows(n_rows, n_per_row)
    doc = {"generator": "ggml_quantize_chunk (libggml-base) with importance weights, scripts/imatrix_tool.py",
           "n_rows": n_rows, "n_per_row": n_per_row, "types": {}}
    for name, t in GGML_TYPES.items():
        dst = ctypes.create_string_buffer(n_rows * n_per_row * 4)
        size = lib.ggml_quantize_chunk(t, x.ctypes.data, dst, 0, n_rows, n_per_row, w.ctypes.data)
        doc["types"][name] = "%016x" % fnv1a64(dst.raw[:size])
    with open(out, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "summary":
        summary(sys.argv[2], sys.argv[3])
    elif cmd == "synthetic":
        synthetic(sys.argv[2], sys.argv[3])
    elif cmd == "ggml-rows":
        ggml_rows(sys.argv[2], sys.argv[3])
    elif cmd == "hashes":
        hashes(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    else:
        sys.exit(__doc__)
