#!/usr/bin/env python3
"""Per-tensor type, shape and sha256 of a GGUF file's data, as JSON (uses the `gguf` package).

Usage: gguf_tensor_hashes.py FILE.gguf            -> {"file_type": N, "tensors": {name: {type, shape, sha256}}}
       gguf_tensor_hashes.py --compare A.gguf B.gguf -> how many tensors have identical types and bytes
"""
import hashlib
import json
import sys

import gguf


def table(path):
    r = gguf.GGUFReader(path)
    out = {}
    for t in r.tensors:
        out[t.name] = {
            "type": t.tensor_type.name,
            "shape": [int(d) for d in t.shape],
            "sha256": hashlib.sha256(t.data.tobytes()).hexdigest(),
        }
    ft = r.fields.get("general.file_type")
    return {"file_type": int(ft.parts[-1][0]) if ft else None, "tensors": out}


def compare(a, b):
    ta, tb = table(a)["tensors"], table(b)["tensors"]
    same_type = [n for n in ta if n in tb and ta[n]["type"] == tb[n]["type"]]
    same_bytes = [n for n in same_type if ta[n]["sha256"] == tb[n]["sha256"]]
    by_type = {}
    for n in same_type:
        k = ta[n]["type"]
        s = by_type.setdefault(k, [0, 0])
        s[0] += 1
        s[1] += n in same_bytes
    return {
        "tensors": len(ta),
        "missing_in_b": sorted(set(ta) - set(tb)),
        "type_mismatch": sorted(n for n in ta if n in tb and ta[n]["type"] != tb[n]["type"]),
        "byte_identical": len(same_bytes),
        "differing": sorted(set(same_type) - set(same_bytes)),
        "by_type": {k: {"tensors": v[0], "identical": v[1]} for k, v in sorted(by_type.items())},
    }


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--compare":
        print(json.dumps(compare(sys.argv[2], sys.argv[3]), indent=1))
    elif len(sys.argv) == 2:
        print(json.dumps(table(sys.argv[1]), indent=1))
    else:
        sys.exit(__doc__)
