#!/usr/bin/env python3
"""Throughput of `agora serve` with per-request LoRA adapters: the same concurrent load on the base
alone, then spread over the base and three adapters (one batch mixing them). The adapters are
random PEFT adapters (rank --rank on every attention and MLP projection) written here for the
model's shapes; they measure cost, not quality.

  python3 scripts/bench-lora-serve.py --agora target/release/agora \\
      --model ~/.cache/agora/models/gemma3-270m/gemma-3-270m-q4_k_m.gguf [--clients 4] [--tokens 64] [--json]

Needs: pip install gguf numpy httpx
"""

import argparse
import concurrent.futures
import json
import pathlib
import struct
import subprocess
import tempfile
import time

import gguf
import httpx
import numpy as np

HF = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
      "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def make_adapter(model, out, rank, seed):
    rng = np.random.default_rng(seed)
    tensors = {}
    for t in gguf.GGUFReader(model).tensors:
        parts = t.name.split(".")
        if len(parts) == 4 and parts[0] == "blk" and parts[2] in HF:
            cols, rows = int(t.shape[0]), int(t.shape[1])
            pre = f"base_model.model.model.layers.{parts[1]}.{HF[parts[2]]}"
            tensors[f"{pre}.lora_A.weight"] = rng.standard_normal((rank, cols)) * 0.01
            tensors[f"{pre}.lora_B.weight"] = rng.standard_normal((rows, rank)) * 0.01
    out.mkdir(parents=True, exist_ok=True)
    write_safetensors(out / "adapter_model.safetensors", tensors)
    (out / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": rank, "lora_alpha": 2 * rank, "target_modules": sorted({v.split(".")[1] for v in HF.values()})}))


def start(agora, model, loras, parallel, threads):
    args = [agora, "serve", model, "--model-id", "base", "--port", "0", "--parallel", str(parallel), "--ctx", "1024", "-t", str(threads)]
    for name, d in loras:
        args += ["--lora", f"{name}={d}"]
    p = subprocess.Popen(args, stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        if "at http://" in line:
            return p, "http://" + line.split("at http://")[1].split()[0]
    raise SystemExit("agora serve did not start")


def load(url, models, tokens, rounds):
    """`rounds` waves of len(models) concurrent completions; generated tokens per second of wall time."""
    def one(model):
        r = httpx.post(f"{url}/completions", json={"model": model, "prompt": "Write a story about a lighthouse keeper.", "max_tokens": tokens, "temperature": 0, "ignore_eos": True}, timeout=600)
        r.raise_for_status()
        return r.json()["usage"]["completion_tokens"]

    one(models[0])  # warm-up
    t0, n = time.perf_counter(), 0
    with concurrent.futures.ThreadPoolExecutor(len(models)) as ex:
        for _ in range(rounds):
            n += sum(ex.map(one, models))
    return n / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agora", default="target/release/agora")
    ap.add_argument("--model", required=True)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        loras = [(n, pathlib.Path(tmp) / n) for n in ["a", "b", "c"]]
        for i, (_, d) in enumerate(loras):
            make_adapter(a.model, d, a.rank, i)
        proc, url = start(a.agora, a.model, loras, a.clients, a.threads)
        try:
            base = load(url, ["base"] * a.clients, a.tokens, a.rounds)
            names = ["base", "a", "b", "c"]
            mixed = load(url, [names[i % 4] for i in range(a.clients)], a.tokens, a.rounds)
        finally:
            proc.terminate()
            proc.wait()
    result = {"clients": a.clients, "tokens": a.tokens, "rounds": a.rounds, "rank": a.rank, "threads": a.threads,
              "base_only_tok_s": round(base, 2), "mixed_adapters_tok_s": round(mixed, 2), "mixed_over_base": round(mixed / base, 3)}
    print(json.dumps(result) if a.json else "\n".join(f"{k}: {v}" for k, v in result.items()))


if __name__ == "__main__":
    main()
