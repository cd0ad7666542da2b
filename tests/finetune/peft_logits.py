#!/usr/bin/env python3
"""Logits of a PEFT LoRA adapter on its transformers base, for the interop test: the adapter
`agora finetune` wrote is loaded by the real `peft` library (PeftModel.from_pretrained).

    python tests/finetune/peft_logits.py BASE_DIR ADAPTER_DIR IDS_JSON   # prints {"logits": [[...], ...]}
"""

import json
import sys

import peft
import torch
import transformers


def main() -> None:
    base, adapter, ids = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    model = transformers.AutoModelForCausalLM.from_pretrained(base, torch_dtype=torch.float32)
    model = peft.PeftModel.from_pretrained(model, adapter)
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0]
    print(json.dumps({"peft": peft.__version__, "logits": logits.tolist()}))


if __name__ == "__main__":
    main()
