#!/usr/bin/env python3
"""Makes PEFT LoRA adapters for the tiny fixtures and their golden logits with the reference
implementation (transformers + peft, float32, CPU).

For each of testdata/tiny-llama and testdata/tiny-gemma3: a LoRA adapter on every attention and
MLP projection (r=4, alpha=8, seeded random A and B: PEFT initialises B to zero, which would make
the adapter a no-op and the test unable to fail), saved with `save_pretrained` to
testdata/lora/<fixture>/, and the logits of the base model's golden sequences with the adapter on.
A second, different adapter for tiny-llama (r=2, alpha=6, only q/v/down projections) goes to
testdata/lora/tiny-llama-b/: the server batches requests on several adapters of one base.

    python3 scripts/make_lora_fixtures.py   # needs: torch transformers peft (scripts/requirements-fixtures.txt)
"""

import json
import pathlib

import peft
import torch
import transformers

ROOT = pathlib.Path(__file__).resolve().parent.parent
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def make(fixture: str, seed: int, name: str = "", r: int = 4, alpha: int = 8, targets: list = TARGETS) -> None:
    src = ROOT / "testdata" / fixture
    out = ROOT / "testdata" / "lora" / (name or fixture)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_pretrained(src, torch_dtype=torch.float32)
    model.eval()
    cfg = peft.LoraConfig(r=r, lora_alpha=alpha, lora_dropout=0.0, target_modules=targets, bias="none", task_type="CAUSAL_LM")
    pm = peft.get_peft_model(model, cfg)
    with torch.no_grad():
        for name, p in pm.named_parameters():
            if "lora_A" in name or "lora_B" in name:
                p.copy_(torch.randn_like(p) * 0.2)
    pm.save_pretrained(out)
    # Relative base path (not this machine's), no PEFT template card, ordinary file mode.
    cfg_path = out / "adapter_config.json"
    c = json.loads(cfg_path.read_text())
    c["base_model_name_or_path"] = f"testdata/{fixture}"
    cfg_path.write_text(json.dumps(c, indent=2, sort_keys=True) + "\n")
    (out / "README.md").unlink(missing_ok=True)
    (out / "adapter_model.safetensors").chmod(0o644)
    golden = json.loads((src / "golden.json").read_text())
    seqs = []
    with torch.no_grad():
        for s in golden["sequences"]:
            ids = torch.tensor([s["ids"]])
            logits = pm(input_ids=ids).logits[0]
            seqs.append({"ids": s["ids"], "logits": [[round(float(v), 6) for v in row] for row in logits]})
    # The adapter must change the output, or the test could not tell it was applied.
    with torch.no_grad(), pm.disable_adapter():
        base = pm(input_ids=torch.tensor([seqs[0]["ids"]])).logits[0]
    moved = float((torch.tensor(seqs[0]["logits"]) - base).abs().max())
    assert moved > 0.05, f"{fixture}: the adapter barely changes the logits ({moved})"
    (out / "golden.json").write_text(json.dumps({
        "fixture": fixture,
        "about": "logits of the base fixture's golden sequences with this PEFT adapter applied (transformers + peft, float32)",
        "made_with": {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__, "seed": seed},
        "max_logit_change_from_base": round(moved, 4),
        "sequences": seqs,
    }))
    print(f"{out.name}: adapter in {out}, logits moved up to {moved:.3f} by the adapter")


if __name__ == "__main__":
    make("tiny-llama", 1)
    make("tiny-gemma3", 2)
    make("tiny-llama", 3, name="tiny-llama-b", r=2, alpha=6, targets=["q_proj", "v_proj", "down_proj"])
