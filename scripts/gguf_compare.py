#!/usr/bin/env python3
"""Compare two GGUF files as the Python `gguf` package reads them: metadata keys and values, tensor
names, types, shapes and bytes. Used by crates/quantize/tests/convert_fixtures.rs to check that
`agora convert` writes what llama.cpp's convert_hf_to_gguf.py writes.

usage: gguf_compare.py OURS REFERENCE [--allow-token ID]...
  --allow-token ID        the token at ID may differ (text and type); named in the test with its reason.
  --allow-extra-key KEY   a key only ours has (also named in the test).
Exit 0 and a one-line summary when they match; exit 1 listing every difference otherwise.
"""
import argparse
import sys

import gguf
import numpy as np


def fields(reader):
    return {k: f.contents() for k, f in reader.fields.items() if not k.startswith("GGUF.")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ours")
    ap.add_argument("reference")
    ap.add_argument("--allow-token", type=int, action="append", default=[])
    ap.add_argument("--allow-extra-key", action="append", default=[])
    a = ap.parse_args()
    ours, ref = gguf.GGUFReader(a.ours), gguf.GGUFReader(a.reference)
    fo, fr = fields(ours), fields(ref)
    for k in a.allow_extra_key:
        if k not in fo or k in fr:
            print(f"{k}: expected only in ours")
            return 1
        del fo[k]
    problems = []
    if set(fo) != set(fr):
        problems.append(f"keys only in ours: {sorted(set(fo) - set(fr))}; only in reference: {sorted(set(fr) - set(fo))}")
    for k in sorted(set(fo) & set(fr)):
        x, y = fo[k], fr[k]
        if k in ("tokenizer.ggml.tokens", "tokenizer.ggml.token_type", "tokenizer.ggml.scores") and a.allow_token:
            x = [v for i, v in enumerate(x) if i not in a.allow_token]
            y = [v for i, v in enumerate(y) if i not in a.allow_token]
        if x != y:
            problems.append(f"{k}: ours {str(x)[:80]} reference {str(y)[:80]}")
    to = {t.name: t for t in ours.tensors}
    tr = {t.name: t for t in ref.tensors}
    if set(to) != set(tr):
        problems.append(f"tensors only in ours: {sorted(set(to) - set(tr))}; only in reference: {sorted(set(tr) - set(to))}")
    for name in sorted(set(to) & set(tr)):
        x, y = to[name], tr[name]
        if x.tensor_type != y.tensor_type or list(x.shape) != list(y.shape):
            problems.append(f"{name}: ours {x.tensor_type.name} {list(x.shape)} reference {y.tensor_type.name} {list(y.shape)}")
        elif not np.array_equal(np.asarray(x.data).view(np.uint8), np.asarray(y.data).view(np.uint8)):
            problems.append(f"{name}: bytes differ")
    if problems:
        print("\n".join(problems))
        return 1
    print(f"equal: {len(fo)} keys, {len(to)} tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
