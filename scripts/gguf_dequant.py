#!/usr/bin/env python3
"""Independent reference for crates/kernels tests: (de)quantize GGUF blocks with the `gguf` package.

    gguf_dequant.py TYPE IN OUT              IN: raw blocks of TYPE      -> OUT: f32 little-endian
    gguf_dequant.py --quantize TYPE IN OUT   IN: f32 little-endian values -> OUT: raw blocks of TYPE

TYPE is a GGML type name as in GGUF (F32, F16, BF16, Q4_0, Q8_0, Q4_K, ...). More TYPE IN OUT
triples may follow the first, to pay for the numpy import once.
Exit status 3 when numpy/gguf are missing (install with `pip install gguf numpy`), 2 on bad usage.
"""
import sys


def main(argv: list[str]) -> int:
    quantize = bool(argv) and argv[0] == "--quantize"
    args = argv[1:] if quantize else argv
    if not args or len(args) % 3 != 0:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        import numpy as np
        from gguf import GGMLQuantizationType
        from gguf.quants import dequantize, quantize as gguf_quantize
    except ImportError as e:
        print(f"missing Python package ({e}); run `pip install gguf numpy`", file=sys.stderr)
        return 3

    for type_name, src, dst in zip(args[0::3], args[1::3], args[2::3]):
        try:
            qtype = GGMLQuantizationType[type_name.upper()]
        except KeyError:
            print(f"unknown GGML type {type_name!r}", file=sys.stderr)
            return 2
        with open(src, "rb") as f:
            data = f.read()
        # Random test blocks legitimately produce inf/NaN; numpy's warnings are noise here.
        with np.errstate(all="ignore"):
            if quantize:
                values = np.frombuffer(data, dtype="<f4")
                out = np.ascontiguousarray(gguf_quantize(values, qtype)).tobytes()
            else:
                blocks = np.frombuffer(data, dtype=np.uint8)
                out = np.ascontiguousarray(dequantize(blocks, qtype), dtype="<f4").tobytes()
        with open(dst, "wb") as f:
            f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
