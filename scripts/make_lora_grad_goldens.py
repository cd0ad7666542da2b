#!/usr/bin/env python3
"""Golden LoRA gradients from PyTorch autograd for the tiny fixtures (transformers + peft, float32, CPU).

For each of testdata/tiny-llama and testdata/tiny-gemma3 with its adapter testdata/lora/<fixture>
(nonzero A and B, made by make_lora_fixtures.py): two documents of seeded random tokens, each run on
its own from position 0; the loss is the summed next-token cross-entropy over positions
SKIP..len-2 of each document. Writes testdata/lora/<fixture>/grads.safetensors (every lora_A/lora_B
gradient under its PEFT name) and grads.json (tokens, SKIP, loss).

    python3 scripts/make_lora_grad_goldens.py   # needs torch transformers peft (scripts/requirements-fixtures.txt)
"""

import json
import pathlib

import peft
import safetensors.torch
import torch
import transformers

ROOT = pathlib.Path(__file__).resolve().parent.parent
SKIP = 5
DOC_LENS = [20, 17]


def make(fixture: str, seed: int) -> None:
    src = ROOT / "testdata" / fixture
    ad = ROOT / "testdata" / "lora" / fixture
    model = transformers.AutoModelForCausalLM.from_pretrained(src, torch_dtype=torch.float32, attn_implementation="eager")
    pm = peft.PeftModel.from_pretrained(model, ad, is_trainable=True)
    pm.train()  # the adapter's lora_dropout is 0, so train mode only enables gradients
    gen = torch.Generator().manual_seed(seed)
    vocab = model.config.vocab_size
    docs = [torch.randint(3, vocab, (n,), generator=gen).tolist() for n in DOC_LENS]
    total = torch.zeros((), dtype=torch.float64)
    for ids in docs:
        logits = pm(input_ids=torch.tensor([ids])).logits[0]
        tgt = torch.tensor(ids[SKIP + 1:])
        lp = torch.log_softmax(logits[SKIP:-1].double(), dim=-1)
        total = total - lp.gather(1, tgt[:, None]).sum()
    total.backward()
    grads = {}
    for name, p in pm.named_parameters():
        if "lora_" in name:
            assert p.grad is not None and float(p.grad.abs().max()) > 0, f"{name}: zero gradient"
            grads[name.replace(".default", "")] = p.grad.detach().float().contiguous()
    safetensors.torch.save_file(grads, str(ad / "grads.safetensors"))
    (ad / "grads.json").write_text(json.dumps({
        "fixture": fixture,
        "about": "summed next-token cross-entropy over positions skip..len-2 of each document (each run alone from position 0), and its LoRA gradients (grads.safetensors), by PyTorch autograd in float32",
        "made_with": {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__, "seed": seed},
        "skip": SKIP,
        "docs": docs,
        "loss": total.item(),
    }, indent=1) + "\n")
    print(f"{fixture}: loss {total.item():.6f}, {len(grads)} gradients")


if __name__ == "__main__":
    make("tiny-llama", 11)
    make("tiny-gemma3", 12)
