#!/usr/bin/env python3
"""Dequantize the first rows of GGUF tensors with the reference `gguf` package (ggml's own Python port).

usage: gguf_tensor_rows.py MODEL.gguf N_ROWS OUT_DIR NAME [NAME ...]
For each tensor NAME, writes min(N_ROWS, rows) * ne0 little-endian float32 values to OUT_DIR/NAME.f32 and
prints "NAME TYPE ne0 n_rows". The tensor bytes are read from the file at GGUFReader's offsets, independently
of the Rust reader. Opening the file is slow (GGUFReader parses the 262k-token vocabulary), so pass every
tensor in one call. Used by crates/weights/tests/real_model.rs to check kernels::dequant bit for bit.
"""
import os
import sys

try:
    import numpy as np
    import gguf
    from gguf.quants import dequantize
except ImportError as e:  # the Rust test turns this into a clear failure
    sys.stderr.write(f"python packages missing ({e}); run: pip install gguf numpy\n")
    sys.exit(3)


def main() -> None:
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    path, max_rows, out_dir, names = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
    reader = gguf.GGUFReader(path)
    by_name = {t.name: t for t in reader.tensors}
    for name in names:
        tensor = by_name.get(name)
        if tensor is None:
            sys.exit(f"tensor {name!r} not in {path}")
        qtype = tensor.tensor_type
        block_size, type_size = gguf.GGML_QUANT_SIZES[qtype]
        ne0 = int(tensor.shape[0])
        n_rows = min(max_rows, int(np.prod(tensor.shape[1:])))
        row_bytes = ne0 // block_size * type_size
        raw = np.memmap(path, dtype=np.uint8, mode="r", offset=int(tensor.data_offset), shape=(n_rows * row_bytes,))
        rows = dequantize(np.array(raw).reshape(n_rows, row_bytes), qtype)
        assert rows.shape == (n_rows, ne0), rows.shape
        rows.astype("<f4").tofile(os.path.join(out_dir, name + ".f32"))
        print(name, qtype.name, ne0, n_rows)


if __name__ == "__main__":
    main()
