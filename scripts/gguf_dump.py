#!/usr/bin/env python3
"""Dump a GGUF file as JSON with the reference `gguf` package: metadata (value types and values) and
tensors (name, type, ggml-order shape, data as hex). For small files: tests compare it with what they wrote.

usage: gguf_dump.py FILE.gguf
"""
import json
import sys

try:
    import numpy as np
    import gguf
except ImportError as e:
    sys.stderr.write(f"python packages missing ({e}); run: pip install gguf numpy\n")
    sys.exit(3)


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    reader = gguf.GGUFReader(sys.argv[1])
    fields = {}
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue  # the reader's own header pseudo-fields
        fields[key] = {"types": [t.name for t in field.types], "value": field.contents()}
    tensors = []
    for t in reader.tensors:
        raw = np.asarray(t.data).tobytes()
        tensors.append({
            "name": t.name,
            "type": t.tensor_type.name,
            "shape": [int(d) for d in t.shape],
            "n_bytes": int(t.n_bytes),
            "hex": raw.hex(),
        })
    json.dump({"fields": fields, "tensors": tensors}, sys.stdout, default=float)


if __name__ == "__main__":
    main()
