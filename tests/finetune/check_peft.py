"""Loads an adapter folder written by `finetune::export` with the real PEFT and safetensors.

usage: check_peft.py DIR EXPECT.json
EXPECT.json: {"r", "lora_alpha", "lora_dropout", "target_modules", "base_model_name_or_path",
              "tensors": {name: {"shape": [...], "sum": float, "first": float}}}
Exits non-zero with a message on any mismatch.
"""
import json
import math
import sys

from peft import LoraConfig, PeftConfig
from safetensors.torch import load_file

folder, expect_path = sys.argv[1], sys.argv[2]
expect = json.load(open(expect_path))

cfg = PeftConfig.from_pretrained(folder)
assert isinstance(cfg, LoraConfig), f"PeftConfig gave {type(cfg).__name__}, expected LoraConfig"
assert cfg.peft_type.value == "LORA", cfg.peft_type
assert cfg.task_type == "CAUSAL_LM", cfg.task_type
assert cfg.r == expect["r"], (cfg.r, expect["r"])
assert cfg.lora_alpha == expect["lora_alpha"], (cfg.lora_alpha, expect["lora_alpha"])
assert math.isclose(cfg.lora_dropout, expect["lora_dropout"]), cfg.lora_dropout
assert set(cfg.target_modules) == set(expect["target_modules"]), cfg.target_modules
assert cfg.base_model_name_or_path == expect["base_model_name_or_path"], cfg.base_model_name_or_path
assert cfg.bias == "none" and cfg.fan_in_fan_out is False and cfg.inference_mode is True

tensors = load_file(f"{folder}/adapter_model.safetensors")
assert set(tensors) == set(expect["tensors"]), sorted(set(tensors) ^ set(expect["tensors"]))
for name, want in expect["tensors"].items():
    t = tensors[name]
    assert str(t.dtype) == "torch.float32", (name, t.dtype)
    assert list(t.shape) == want["shape"], (name, list(t.shape), want["shape"])
    assert math.isclose(float(t.double().sum()), want["sum"], rel_tol=1e-6, abs_tol=1e-6), (name, float(t.sum()), want["sum"])
    assert float(t.flatten()[0]) == want["first"], (name, float(t.flatten()[0]), want["first"])
print(f"peft {__import__('peft').__version__}: config and {len(tensors)} tensors OK")
