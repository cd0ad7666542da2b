#!/usr/bin/env python3
"""Training throughput of PEFT + PyTorch on CPU, the anchor for `agora finetune`'s tokens/s.

Same model (the GGUF file, dequantized to float32 by transformers' GGUF loader: PyTorch has no
CPU kernels for the quantized blocks), same data (prompt/completion JSONL, loss on completions),
same LoRA shape, same packed sequence length. Prints one JSON line.

    python scripts/bench_peft_train.py MODEL.gguf DATA.jsonl [--steps 6] [--seq 256] [--r 8] [--threads 2]

Needs torch, transformers, peft (scripts/requirements-fixtures.txt).
"""

import argparse
import json
import pathlib
import time

import peft
import torch
import transformers

TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("data")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--r", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--checkpointing", action="store_true", help="activation checkpointing (slower, less memory)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    p = pathlib.Path(a.model)
    t0 = time.time()
    tok = transformers.AutoTokenizer.from_pretrained(p.parent, gguf_file=p.name)
    model = transformers.AutoModelForCausalLM.from_pretrained(p.parent, gguf_file=p.name, torch_dtype=torch.float32)
    load_s = time.time() - t0
    if a.checkpointing:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    cfg = peft.LoraConfig(r=a.r, lora_alpha=2 * a.r, lora_dropout=0.05, target_modules=TARGETS, task_type="CAUSAL_LM")
    model = peft.get_peft_model(model, cfg)
    model.train()
    # Pack prompt+completion examples into rows of `seq` tokens; labels only on completions.
    ids, labels = [], []
    for line in open(a.data):
        ex = json.loads(line)
        pi = tok(ex["prompt"], add_special_tokens=True)["input_ids"]
        ci = tok(ex["completion"], add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        ids += pi + ci
        labels += [-100] * len(pi) + ci
    n_rows = len(ids) // a.seq
    need = a.steps + a.warmup
    if n_rows < need:
        raise SystemExit(f"{a.data}: {n_rows} rows of {a.seq} tokens, need {need}")
    x = torch.tensor(ids[: n_rows * a.seq]).view(n_rows, a.seq)
    y = torch.tensor(labels[: n_rows * a.seq]).view(n_rows, a.seq)
    opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=2e-4)
    times = []
    for step in range(need):
        t = time.time()
        out = model(input_ids=x[step : step + 1], labels=y[step : step + 1])
        out.loss.backward()
        opt.step()
        opt.zero_grad()
        if step >= a.warmup:
            times.append(time.time() - t)
    tps = a.seq * len(times) / sum(times)
    print(json.dumps({"tool": "peft", "peft": peft.__version__, "torch": torch.__version__, "threads": a.threads, "seq": a.seq, "r": a.r,
                      "steps": len(times), "tokens_per_s": round(tps, 1), "step_s": [round(t, 3) for t in times], "load_s": round(load_s, 1),
                      "checkpointing": a.checkpointing}))


if __name__ == "__main__":
    main()
