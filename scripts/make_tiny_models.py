#!/usr/bin/env python3
"""Make the tiny random test models in testdata/ and their golden outputs.

For each architecture (tiny-llama: Llama 3 style; tiny-gemma3: Gemma 3 text) this script
  1. trains a tiny tokenizer on the inline CORPUS (byte-level BPE for Llama, SentencePiece BPE
     with byte fallback for Gemma, as the real models use),
  2. builds a randomly initialised model with a fixed seed and saves it in Hugging Face format
     (config.json, model.safetensors in float32, tokenizer.json, tokenizer_config.json),
  3. converts it with llama.cpp's convert_hf_to_gguf.py to model-f32.gguf and model-q8_0.gguf,
  4. writes golden.json: float32 logits from `transformers` (eager attention) for every position of
     three sequences, a greedy continuation, tokenizer ids,
  5. checks the GGUFs: tensor names and types, and an independent float64 numpy forward pass from
     the GGUF tensors that must match the transformers logits (this proves the layout facts written
     in the READMEs: Q/K permutation, RoPE style, rope_freqs, Gemma's +1 norms, sliding window).

The weights are random: the fixtures test that an engine computes the same function as the
reference implementation, not that it produces sensible text.

Usage (needs the packages in scripts/requirements-fixtures.txt and a llama.cpp source tree):
    python scripts/make_tiny_models.py --llama-cpp /path/to/llama.cpp [--out testdata]
        [--llama-lib /path/to/llama.cpp/build/bin]   # optional: also check against llama.cpp itself
The output is deterministic: a rerun with the same package versions gives byte-identical files.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402

SEED = 20261129
SEQ_LENGTHS = (5, 24, 40)  # 40 > 4x the Gemma sliding window of 8
GREEDY_NEW_TOKENS = 12
SIG_DIGITS = 6

# Training text for both tokenizers (written for this fixture; any text would do).
CORPUS = """\
The quick brown fox jumps over the lazy dog. A small model can still learn to count: 1, 2, 3, 4, 5, 10, 42, 100, 2024.
Once upon a time, in a village by the sea, there lived an old fisherman who told stories to the children every evening.
He spoke of storms and stars, of whales that sang at night, and of a lighthouse whose keeper never slept.
The children listened, laughed and asked questions until their parents called them home for dinner.
Hello, world! How are you today? I'm fine, thanks. We're testing tokenizers, models and golden outputs.
Rust is a systems programming language; it is fast, safe and fun. The engine reads GGUF files and safetensors.
A tokenizer splits text into pieces. Each piece has an id, and the model predicts the next id from the previous ones.
Attention lets every position look back at earlier positions; a sliding window limits how far back it can look.
Rotary position embeddings rotate pairs of numbers by an angle that grows with the position in the sequence.
Numbers such as 3.14159, 2.71828 and 1.41421 appear in mathematics, physics and engineering textbooks.
Café, naïve, résumé, Zürich, São Paulo and Kraków: unicode text appears too. 東京 and 北京 are large cities.
    Indented lines, tabs\tand  double  spaces are part of real text, as are newlines
and punctuation: (parentheses), [brackets], {braces}, "quotes", 'apostrophes', dashes - and -- and ellipses...
Good morning! Good evening! Good night! See you tomorrow, and thank you for reading this little story.
"""

# Texts whose first tokens make the golden sequences (BOS is prepended).
SEQ_TEXTS = (
    "Once upon a time, the fox",
    "The engine reads the model, predicts the next piece, and the children laugh at the storm.",
    "Attention lets every position look back; the keeper of the lighthouse counted 1, 2, 3 stars "
    "and told the fisherman a story about whales, storms and the sea.",
)

LLAMA_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
LLAMA_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
    "{{ message['content'] | trim }}<|eot_id|>{% endfor %}"
    "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}"
)
# Llama 3's pre-tokenizer regex (the published tokenizer.json uses exactly this pattern).
LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
    r"|\s+(?!\S)|\s+"
)

GEMMA_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<start_of_turn>"
    "{{ 'model' if message['role'] == 'assistant' else message['role'] }}\n"
    "{{ message['content'] | trim }}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)

TOKENIZER_STRINGS_COMMON = [
    "Hello, world!",
    "  two leading spaces,\ttab and\nnewline",
    "The year 2024 had 366 days; pi is 3.14159.",
    "Café naïve 東京 🚀",
]
CHAT_MESSAGES = [
    {"role": "user", "content": "Hello! How are you?"},
    {"role": "assistant", "content": "Fine, thanks."},
    {"role": "user", "content": "Tell me a story."},
]


# ----------------------------------------------------------------------------------------------
# helpers


def sig(x: float, digits: int = SIG_DIGITS) -> float:
    return float(f"{x:.{digits}g}")


def round_rows(a: np.ndarray) -> list[list[float]]:
    return [[sig(float(v)) for v in row] for row in a]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_json_compact_rows(path: Path, obj: dict) -> None:
    """Indented JSON, except that lists of numbers stay on one line (keeps the logits readable and small)."""

    def enc(o, indent: int) -> str:
        pad = " " * indent
        if isinstance(o, dict):
            if not o:
                return "{}"
            items = [f'{pad} {json.dumps(k)}: {enc(v, indent + 1)}' for k, v in o.items()]
            return "{\n" + ",\n".join(items) + "\n" + pad + "}"
        if isinstance(o, list):
            if all(not isinstance(v, (dict, list)) for v in o):
                return json.dumps(o, ensure_ascii=False, separators=(",", ":"))
            items = [f"{pad} {enc(v, indent + 1)}" for v in o]
            return "[\n" + ",\n".join(items) + "\n" + pad + "]"
        return json.dumps(o, ensure_ascii=False)

    path.write_text(enc(obj, 0) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------------------------
# tokenizers


def build_llama_tokenizer(vocab_size: int):
    """Byte-level BPE like Llama 3: regex split + ByteLevel, specials appended after the learned vocab."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - len(LLAMA_SPECIALS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([CORPUS], trainer=trainer)
    assert tok.get_vocab_size() == vocab_size - len(LLAMA_SPECIALS), "corpus too small for the vocab size"
    tok.add_special_tokens(LLAMA_SPECIALS)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B:1", special_tokens=[("<|begin_of_text|>", bos)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|begin_of_text|>",
        eos_token="<|end_of_text|>",
        add_bos_token=True,
        chat_template=LLAMA_CHAT_TEMPLATE,
    )
    return fast


def build_gemma_tokenizer(work: Path, vocab_size: int) -> Path:
    """SentencePiece BPE with byte fallback and Gemma's conventions (no dummy prefix, split digits,
    ids 0..3 = pad, eos, bos, unk). Returns the path of the .model file."""
    import io

    import sentencepiece as spm

    model = io.BytesIO()
    # Train from memory: with a file the model would record the (temporary) input path.
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS.splitlines()),
        model_writer=model,
        model_type="bpe",
        vocab_size=vocab_size,
        byte_fallback=True,
        split_digits=True,
        add_dummy_prefix=False,
        remove_extra_whitespaces=False,
        allow_whitespace_only_pieces=True,
        normalization_rule_name="identity",
        character_coverage=1.0,
        pad_id=0,
        pad_piece="<pad>",
        eos_id=1,
        eos_piece="<eos>",
        bos_id=2,
        bos_piece="<bos>",
        unk_id=3,
        unk_piece="<unk>",
        control_symbols=["<mask>", "<start_of_turn>", "<end_of_turn>"],
        num_threads=1,
        minloglevel=2,
    )
    path = work / "gemma_sp.model"
    path.write_bytes(model.getvalue())
    return path


def save_tokenizer(tok, out: Path, config: dict) -> None:
    """tokenizer.json from the tokenizer; tokenizer_config.json written by hand (no machine-local keys)."""
    with tempfile.TemporaryDirectory() as tmp:
        tok.save_pretrained(tmp)
        shutil.copy(Path(tmp) / "tokenizer.json", out / "tokenizer.json")
    (out / "tokenizer_config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# ----------------------------------------------------------------------------------------------
# models


def init_params(model: torch.nn.Module, rules, seed: int) -> None:
    """Fill every parameter from a seeded generator; `rules(name) -> (mean, std)`."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            mean, std = rules(name)
            p.copy_(torch.randn(p.shape, generator=gen, dtype=torch.float32) * std + mean)


def llama_rules(name: str):
    if name.endswith("norm.weight"):
        return 1.0, 0.2  # Llama norms multiply by w
    if "embed_tokens" in name or "lm_head" in name:
        return 0.0, 0.5
    return 0.0, inner_std(name)


def inner_std(name: str) -> float:
    # Gain ~1.3-1.6 per projection: attention is position-sensitive without being so peaky (or the
    # stream so chaotic) that Q8_0 rounding flips the argmax everywhere.
    return 0.12 if "down_proj" in name else 0.2


def gemma_rules(name: str):
    # Gemma3RMSNorm multiplies by (1 + w): these are offsets from 1.
    if "q_norm" in name or "k_norm" in name:
        return 0.5, 0.2  # effective scale ~1.5: position-sensitive attention, not argmax-like
    if "post_attention_layernorm" in name or "post_feedforward_layernorm" in name:
        # With tied embeddings, whatever of the input embedding survives in the final state boosts
        # the input token's own logit (greedy then repeats one token): blocks must outweigh it.
        return 3.0, 0.3
    if name == "model.norm.weight":
        return 3.0, 0.3  # effective ~4: logits of a few units with the small tied embedding
    if name.endswith("norm.weight"):
        return 0.0, 0.2
    if "embed_tokens" in name:
        return 0.0, 0.15
    return 0.0, inner_std(name)


def make_llama(vocab_size: int, bos: int, eos: int):
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=16,
        hidden_act="silu",
        max_position_embeddings=256,
        rms_norm_eps=1e-5,
        rope_parameters={
            "rope_type": "llama3",
            "rope_theta": 500000.0,
            "factor": 8.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 64,
        },
        attention_bias=False,
        mlp_bias=False,
        tie_word_embeddings=False,
        bos_token_id=bos,
        eos_token_id=eos,
        pad_token_id=None,
        attn_implementation="eager",
        dtype="float32",
    )
    torch.manual_seed(SEED)
    model = LlamaForCausalLM(cfg).to(torch.float32)
    init_params(model, llama_rules, SEED)
    return model.eval()


def make_gemma3(vocab_size: int, bos: int, eos: int, pad: int):
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    cfg = Gemma3TextConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=6,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=32,
        query_pre_attn_scalar=32,
        sliding_window=8,
        max_position_embeddings=256,
        rms_norm_eps=1e-6,
        hidden_activation="gelu_pytorch_tanh",
        rope_parameters={
            "full_attention": {"rope_type": "default", "rope_theta": 1_000_000.0},
            "sliding_attention": {"rope_type": "default", "rope_theta": 10_000.0},
        },
        final_logit_softcapping=None,
        attn_logit_softcapping=None,
        tie_word_embeddings=True,
        bos_token_id=bos,
        eos_token_id=eos,
        pad_token_id=pad,
        attn_implementation="eager",
        dtype="float32",
    )
    torch.manual_seed(SEED)
    model = Gemma3ForCausalLM(cfg).to(torch.float32)
    init_params(model, gemma_rules, SEED + 1)
    model.tie_weights()
    return model.eval()


# ----------------------------------------------------------------------------------------------
# goldens


def sequences(tok, bos: int) -> list[list[int]]:
    seqs = []
    for n, text in zip(SEQ_LENGTHS, SEQ_TEXTS):
        ids = tok.encode(text, add_special_tokens=False)
        assert len(ids) >= n - 1, f"text for length {n} too short ({len(ids)} tokens)"
        seqs.append([bos] + ids[: n - 1])
    return seqs


@torch.no_grad()
def hf_logits(model, ids: list[int]) -> np.ndarray:
    out = model(torch.tensor([ids]), use_cache=False)
    return out.logits[0].to(torch.float64).numpy()


@torch.no_grad()
def greedy(model, prompt: list[int]) -> dict:
    from transformers import GenerationConfig

    gc = GenerationConfig(
        do_sample=False,
        max_new_tokens=GREEDY_NEW_TOKENS,
        min_new_tokens=0,
        use_cache=True,
        eos_token_id=None,  # never stop early: the 12 steps are the golden
        pad_token_id=0,
        output_logits=True,
        return_dict_in_generate=True,
    )
    out = model.generate(torch.tensor([prompt]), generation_config=gc)
    new_ids = out.sequences[0, len(prompt):].tolist()
    assert len(new_ids) == GREEDY_NEW_TOKENS, "generation stopped early (an EOS setting leaked in)"
    steps = []
    for i, lg in enumerate(out.logits):
        row = lg[0].to(torch.float64)
        top2 = torch.topk(row, 2)
        assert int(top2.indices[0]) == new_ids[i]
        steps.append({"id": new_ids[i], "logit": sig(float(top2.values[0])), "margin": sig(float(top2.values[0] - top2.values[1]))})
    # The cached decode must agree with a full forward over the whole text (catches cache/window bugs here).
    full = hf_logits(model, prompt + new_ids[:-1])
    assert full[len(prompt) - 1:].argmax(-1).tolist() == new_ids, "cached greedy disagrees with full forward"
    return {"prompt_ids": prompt, "new_ids": new_ids, "steps": steps}


def tokenizer_goldens(tok, strings: list[str]) -> list[dict]:
    rows = []
    for s in strings:
        with_sp = tok.encode(s, add_special_tokens=True)
        without = tok.encode(s, add_special_tokens=False)
        rows.append(
            {
                "text": s,
                "ids_add_special_true": with_sp,
                "ids_add_special_false": without,
                "pieces": tok.convert_ids_to_tokens(without),
                "decoded_skip_special": tok.decode(without, skip_special_tokens=True),
            }
        )
    return rows


def chat_golden(tok) -> dict:
    text = tok.apply_chat_template(CHAT_MESSAGES, tokenize=False, add_generation_prompt=True)
    # The template already emits BOS: encode without adding another.
    return {"messages": CHAT_MESSAGES, "add_generation_prompt": True, "text": text,
            "ids": tok.encode(text, add_special_tokens=False)}


# ----------------------------------------------------------------------------------------------
# GGUF conversion and checks

# The converter identifies a BPE pre-tokenizer by hashing the ids a probe string encodes to, so a
# newly trained vocabulary is never recognised. Our Llama tokenizer uses Llama 3's regex, so
# "llama-bpe" is the true answer; this shim supplies it without editing the converter.
CONVERT_SHIM = r"""
import runpy, sys
llama_cpp, pre, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.path[:0] = [llama_cpp, llama_cpp + "/gguf-py"]
if pre:
    import conversion.base as base
    base.TextModel.get_vocab_base_pre = lambda self, tokenizer: pre
sys.argv = [llama_cpp + "/convert_hf_to_gguf.py"] + argv
runpy.run_path(llama_cpp + "/convert_hf_to_gguf.py", run_name="__main__")
"""


def convert(llama_cpp: Path, model_dir: Path, outtype: str, pre: str, extra: tuple[str, ...] = ()) -> Path:
    out = model_dir / f"model-{outtype}.gguf"
    cmd = [sys.executable, "-c", CONVERT_SHIM, str(llama_cpp), pre, str(model_dir), "--outtype", outtype, "--outfile", str(out), *extra]
    env = dict(os.environ, PYTHONPATH=f"{llama_cpp}:{llama_cpp}/gguf-py")
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if res.returncode != 0:
        sys.stderr.write(res.stdout + res.stderr)
        raise SystemExit(f"convert_hf_to_gguf.py failed for {model_dir.name} ({outtype})")
    return out


def llama_cpp_commit(llama_cpp: Path) -> str:
    try:
        return subprocess.run(["git", "-C", str(llama_cpp), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def read_gguf(path: Path):
    """-> (metadata dict, {name: (type name, ne shape, float64 array [rows, cols])})"""
    from gguf import GGUFReader
    from gguf.quants import dequantize

    r = GGUFReader(str(path))
    meta = {}
    for k, f in r.fields.items():
        if k.startswith("GGUF."):
            continue
        v = f.contents()
        if isinstance(v, list) and len(v) > 16:
            v = f"[{len(v)} items]"
        meta[k] = v
    tensors = {}
    for t in r.tensors:
        arr = dequantize(t.data, t.tensor_type).astype(np.float64)
        arr = arr.reshape([int(d) for d in reversed(t.shape)])
        tensors[t.name] = (t.tensor_type.name, [int(d) for d in t.shape], arr)
    return meta, tensors


def rms(x: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps)


def rope(x: np.ndarray, pos: np.ndarray, inv_freq: np.ndarray, interleaved: bool) -> np.ndarray:
    """x [T, H, D]. interleaved=True rotates pairs (2i, 2i+1) (llama.cpp "normal");
    False rotates (i, i+D/2) (NEOX / HF rotate_half)."""
    ang = pos[:, None] * inv_freq[None, :]  # [T, D/2]
    c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    if interleaved:
        a, b = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2], out[..., 1::2] = a * c - b * s, a * s + b * c
        return out
    h = x.shape[-1] // 2
    a, b = x[..., :h], x[..., h:]
    return np.concatenate([a * c - b * s, a * s + b * c], axis=-1)


def attention(q, k, v, scale: float, window: int | None) -> np.ndarray:
    """q [T, Hq, D], k/v [T, Hkv, D]; causal, and key j visible from i only if i - j < window."""
    T, hq, _ = q.shape
    group = hq // k.shape[1]
    i, j = np.arange(T)[:, None], np.arange(T)[None, :]
    allowed = j <= i
    if window is not None:
        allowed &= (i - j) < window
    out = np.empty_like(q)
    for h in range(hq):
        s = (q[:, h] @ k[:, h // group].T) * scale
        s = np.where(allowed, s, -np.inf)
        p = np.exp(s - s.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        out[:, h] = p @ v[:, h // group]
    return out


def llama_forward_gguf(meta, T, ids, *, use_freq_factors=True, interleaved=True) -> np.ndarray:
    a = "llama"
    nh, nkv = meta[f"{a}.attention.head_count"], meta[f"{a}.attention.head_count_kv"]
    eps, base = meta[f"{a}.attention.layer_norm_rms_epsilon"], meta[f"{a}.rope.freq_base"]
    hd = meta[f"{a}.rope.dimension_count"]
    w = lambda n: T[n][2]  # noqa: E731
    inv = base ** (-np.arange(0, hd, 2) / hd)
    if use_freq_factors:
        inv = inv / w("rope_freqs.weight")  # llama.cpp divides the frequency by the factor
    pos = np.arange(len(ids), dtype=np.float64)
    x = w("token_embd.weight")[ids]
    for l in range(meta[f"{a}.block_count"]):
        p = f"blk.{l}."
        h = rms(x, eps) * w(p + "attn_norm.weight")
        q = (h @ w(p + "attn_q.weight").T).reshape(len(ids), nh, hd)
        k = (h @ w(p + "attn_k.weight").T).reshape(len(ids), nkv, hd)
        v = (h @ w(p + "attn_v.weight").T).reshape(len(ids), nkv, hd)
        q, k = rope(q, pos, inv, interleaved), rope(k, pos, inv, interleaved)
        o = attention(q, k, v, 1.0 / math.sqrt(hd), None).reshape(len(ids), nh * hd)
        x = x + o @ w(p + "attn_output.weight").T
        h = rms(x, eps) * w(p + "ffn_norm.weight")
        g = h @ w(p + "ffn_gate.weight").T
        x = x + ((g / (1 + np.exp(-g))) * (h @ w(p + "ffn_up.weight").T)) @ w(p + "ffn_down.weight").T
    x = rms(x, eps) * w("output_norm.weight")
    return x @ w("output.weight").T


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def gemma3_forward_gguf(meta, T, ids, *, swa=True, local_base=True, pattern=6, qscale=None) -> np.ndarray:
    a = "gemma3"
    nh, nkv = meta[f"{a}.attention.head_count"], meta[f"{a}.attention.head_count_kv"]
    eps, hd = meta[f"{a}.attention.layer_norm_rms_epsilon"], meta[f"{a}.attention.key_length"]
    n_embd, window = meta[f"{a}.embedding_length"], meta[f"{a}.attention.sliding_window"]
    base_global = meta[f"{a}.rope.freq_base"]
    base_local = meta.get(f"{a}.rope.freq_base_swa", 10000.0)
    scale = (qscale or hd) ** -0.5  # query_pre_attn_scalar is not in the GGUF; here it equals head_dim
    w = lambda n: T[n][2]  # noqa: E731
    pos = np.arange(len(ids), dtype=np.float64)
    x = w("token_embd.weight")[ids] * math.sqrt(n_embd)
    for l in range(meta[f"{a}.block_count"]):
        p = f"blk.{l}."
        is_global = (l + 1) % pattern == 0
        base = base_global if (is_global or not local_base) else base_local
        inv = base ** (-np.arange(0, hd, 2) / hd)
        # GGUF norm weights already include Gemma's +1: plain multiply.
        h = rms(x, eps) * w(p + "attn_norm.weight")
        q = (h @ w(p + "attn_q.weight").T).reshape(len(ids), nh, hd)
        k = (h @ w(p + "attn_k.weight").T).reshape(len(ids), nkv, hd)
        v = (h @ w(p + "attn_v.weight").T).reshape(len(ids), nkv, hd)
        q = rms(q, eps) * w(p + "attn_q_norm.weight")
        k = rms(k, eps) * w(p + "attn_k_norm.weight")
        q, k = rope(q, pos, inv, False), rope(k, pos, inv, False)
        o = attention(q, k, v, scale, None if (is_global or not swa) else window).reshape(len(ids), nh * hd)
        x = x + rms(o @ w(p + "attn_output.weight").T, eps) * w(p + "post_attention_norm.weight")
        h = rms(x, eps) * w(p + "ffn_norm.weight")
        f = (gelu_tanh(h @ w(p + "ffn_gate.weight").T) * (h @ w(p + "ffn_up.weight").T)) @ w(p + "ffn_down.weight").T
        x = x + rms(f, eps) * w(p + "post_ffw_norm.weight")
    x = rms(x, eps) * w("output_norm.weight")
    return x @ w("token_embd.weight").T  # tied output head


def compare(ref: list[np.ndarray], got: list[np.ndarray]) -> dict:
    diffs = [np.abs(r - g).max() for r, g in zip(ref, got)]
    agree = [float((r.argmax(-1) == g.argmax(-1)).mean()) for r, g in zip(ref, got)]
    return {"max_abs_logit_diff": sig(float(max(diffs)), 3), "top1_agreement": sig(float(np.mean(agree)), 4)}


# ----------------------------------------------------------------------------------------------
# optional cross-check with llama.cpp itself (--llama-lib): a small C program of ours against llama.h

LLCHECK_C = r"""
// stdin: "T <hex utf-8>" -> "T id ..." (add_special, parse_special); "E id ..." -> one "L v ..." line per position.
#include "llama.h"
#include <stdio.h>
#include <stdlib.h>
static void quiet(enum ggml_log_level l, const char *t, void *u) { (void)l; (void)t; (void)u; }
int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: llcheck model.gguf exact(0|1) < cmds\n"); return 2; }
    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model *model = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    const struct llama_vocab *vocab = llama_model_get_vocab(model);
    int nv = llama_vocab_n_tokens(vocab);
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 256; cp.n_batch = 256; cp.n_ubatch = 256; cp.n_threads = 1; cp.n_threads_batch = 1;
    if (atoi(argv[2])) {  // closest to exact: F32 KV cache, no flash attention (both round to F16 otherwise)
        cp.type_k = GGML_TYPE_F32; cp.type_v = GGML_TYPE_F32; cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    }
    struct llama_context *ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "cannot create a context\n"); return 1; }
    static char line[1 << 16], text[1 << 15];
    static llama_token toks[4096];
    while (fgets(line, sizeof line, stdin)) {
        if (line[0] == 'T') {
            int n = 0;
            for (char *p = line + 2; p[0] && p[1] && p[0] != '\n'; p += 2) { unsigned v; sscanf(p, "%2x", &v); text[n++] = (char)v; }
            int k = llama_tokenize(vocab, text, n, toks, 4096, true, true);
            printf("T");
            for (int i = 0; i < k; i++) printf(" %d", toks[i]);
            printf("\n");
        } else if (line[0] == 'E') {
            int n = 0; char *p = line + 1, *end;
            for (;;) { long v = strtol(p, &end, 10); if (end == p) break; toks[n++] = (llama_token)v; p = end; }
            llama_memory_clear(llama_get_memory(ctx), true);
            struct llama_batch b = llama_batch_init(n, 0, 1);
            for (int i = 0; i < n; i++) { b.token[i] = toks[i]; b.pos[i] = i; b.n_seq_id[i] = 1; b.seq_id[i][0] = 0; b.logits[i] = 1; }
            b.n_tokens = n;
            if (llama_decode(ctx, b) != 0) { fprintf(stderr, "llama_decode failed\n"); return 1; }
            for (int i = 0; i < n; i++) {
                const float *lg = llama_get_logits_ith(ctx, i);
                printf("L");
                for (int j = 0; j < nv; j++) printf(" %.9g", lg[j]);
                printf("\n");
            }
            llama_batch_free(b);
        }
        fflush(stdout);
    }
    llama_free(ctx); llama_model_free(model); llama_backend_free();
    return 0;
}
"""


def build_llcheck(llama_cpp: Path, lib_dir: Path, work: Path) -> Path:
    src, exe = work / "llcheck.c", work / "llcheck"
    src.write_text(LLCHECK_C)
    cmd = ["cc", "-O1", "-o", str(exe), str(src), f"-I{llama_cpp}/include", f"-I{llama_cpp}/ggml/include",
           f"-L{lib_dir}", "-lllama", "-lggml", "-lggml-base", f"-Wl,-rpath,{lib_dir}"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"cannot build the llama.cpp check helper:\n{res.stderr}\n(is {lib_dir} the folder with libllama.so?)")
    return exe


def llama_cpp_check(exe: Path, gguf_path: Path, gold: dict, logits: list[np.ndarray]) -> dict:
    cmds = ["T " + t["text"].encode().hex() for t in gold["tokenizer"]]
    cmds += ["E " + " ".join(map(str, s["ids"])) for s in gold["sequences"]]
    result = {}
    for label, exact in (("f32_kv_cache_no_flash_attn", "1"), ("default_context_params", "0")):
        res = subprocess.run([str(exe), str(gguf_path), exact], input="\n".join(cmds) + "\n", capture_output=True, text=True)
        if res.returncode != 0:
            raise SystemExit(f"llama.cpp check failed on {gguf_path.name}: {res.stderr}")
        lines = res.stdout.splitlines()
        toks = [[int(v) for v in l.split()[1:]] for l in lines if l.startswith("T")]
        rows = np.array([[float(v) for v in l.split()[1:]] for l in lines if l.startswith("L")])
        got, start = [], 0
        for lg in logits:
            got.append(rows[start:start + len(lg)])
            start += len(lg)
        result[label] = {
            "tokenizer_ids_match_hf": all(a == t["ids_add_special_true"] for a, t in zip(toks, gold["tokenizer"])),
            **compare(logits, got),
        }
    return result


# ----------------------------------------------------------------------------------------------
# per-fixture driver


def versions() -> dict:
    import sentencepiece
    import tokenizers
    import transformers

    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "sentencepiece": sentencepiece.__version__,
        "safetensors": __import__("safetensors").__version__,
        "numpy": np.__version__,
        "gguf (python reader used for the checks)": importlib.metadata.version("gguf"),
    }


def build_fixture(kind: str, out_root: Path, llama_cpp: Path, work: Path, llcheck: Path | None) -> dict:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = out_root / f"tiny-{kind}"
    if out.exists():
        for f in out.iterdir():
            if f.name != "README.md":
                f.unlink()
    out.mkdir(parents=True, exist_ok=True)

    if kind == "llama":
        tok = build_llama_tokenizer(512)
        vocab = len(tok)
        bos, eos = tok.convert_tokens_to_ids("<|begin_of_text|>"), tok.convert_tokens_to_ids("<|end_of_text|>")
        eot = tok.convert_tokens_to_ids("<|eot_id|>")
        save_tokenizer(tok, out, {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": "<|begin_of_text|>",
            "eos_token": "<|end_of_text|>",
            "add_bos_token": True,
            "add_eos_token": False,
            "clean_up_tokenization_spaces": False,
            "model_max_length": 256,
            "chat_template": LLAMA_CHAT_TEMPLATE,
        })
        model = make_llama(vocab, bos, eos)
        special = {"bos": bos, "eos": eos, "eot": eot, "end_of_generation": [eos, eot]}
        specials_text = "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
        pre = "llama-bpe"
    else:
        sp_model = build_gemma_tokenizer(work, 512)
        shutil.copy(sp_model, out / "tokenizer.model")
        from transformers import GemmaTokenizer

        spm_dir = work / "gemma_spm"
        spm_dir.mkdir(exist_ok=True)
        shutil.copy(sp_model, spm_dir / "tokenizer.model")
        # transformers converts the SentencePiece model to a `tokenizers` BPE (needs protobuf).
        tok = GemmaTokenizer.from_pretrained(spm_dir, add_bos_token=True, add_eos_token=False,
                                             chat_template=GEMMA_CHAT_TEMPLATE)
        assert len(tok) == 512, f"Gemma tokenizer has {len(tok)} tokens, expected 512"
        import sentencepiece as spm

        sp = spm.SentencePieceProcessor(model_file=str(sp_model))
        for text in TOKENIZER_STRINGS_COMMON + list(SEQ_TEXTS):
            assert sp.encode(text) == tok.encode(text, add_special_tokens=False), f"HF and SentencePiece disagree on {text!r}"
        bos, eos, pad = tok.bos_token_id, tok.eos_token_id, tok.pad_token_id
        eot = tok.convert_tokens_to_ids("<end_of_turn>")
        save_tokenizer(tok, out, {
            "tokenizer_class": "GemmaTokenizer",
            "bos_token": "<bos>",
            "eos_token": "<eos>",
            "pad_token": "<pad>",
            "unk_token": "<unk>",
            "mask_token": "<mask>",
            "add_bos_token": True,
            "add_eos_token": False,
            "clean_up_tokenization_spaces": False,
            "model_max_length": 256,
            "chat_template": GEMMA_CHAT_TEMPLATE,
        })
        model = make_gemma3(len(tok), bos, eos, pad)
        special = {"bos": bos, "eos": eos, "pad": pad, "unk": tok.unk_token_id,
                   "start_of_turn": tok.convert_tokens_to_ids("<start_of_turn>"), "end_of_turn": eot,
                   "end_of_generation": [eos, eot]}
        specials_text = "<start_of_turn>user\nHi!<end_of_turn>\n"
        pre = ""  # SentencePiece path: no pre-tokenizer hash involved

    model.save_pretrained(out, safe_serialization=True)
    (out / "generation_config.json").unlink(missing_ok=True)  # defaults only; golden.json records the settings
    (out / "model.safetensors").chmod(0o644)  # safetensors writes 0600

    # Reload from disk so the goldens come from exactly the saved files.
    tok = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32, attn_implementation="eager").eval()
    assert model.config._attn_implementation == "eager"

    seqs = sequences(tok, bos)
    logits = [hf_logits(model, s) for s in seqs]
    gold = {
        "fixture": out.name,
        "about": "Random weights. Logits: transformers float32, eager attention, no cache, full vocab per position, "
                 f"{SIG_DIGITS} significant digits. Greedy: generate(do_sample=False, use_cache=True), EOS disabled.",
        "made_with": {
            **versions(),
            "llama_cpp_converter_commit": llama_cpp_commit(llama_cpp),
            "command": "python scripts/make_tiny_models.py --llama-cpp <llama.cpp source dir> --llama-lib <llama.cpp>/build/bin",
            "seed": SEED,
        },
        "config": json.loads((out / "config.json").read_text()),
        "special_tokens": special,
        "sequences": [
            {"text_prefix_of": t, "ids": s, "logits": round_rows(lg)} for t, s, lg in zip(SEQ_TEXTS, seqs, logits)
        ],
        "greedy": greedy(model, seqs[0]),
        "tokenizer": tokenizer_goldens(tok, TOKENIZER_STRINGS_COMMON + [specials_text]),
        "chat": chat_golden(tok),
    }

    # GGUF conversion and independent checks.
    gguf_info = {}
    fwd = llama_forward_gguf if kind == "llama" else gemma3_forward_gguf
    for outtype in ("f32", "q8_0"):
        path = convert(llama_cpp, out, outtype, pre)
        meta, tensors = read_gguf(path)
        ref = [fwd(meta, tensors, s) for s in seqs]
        gguf_info[path.name] = {
            "bytes": path.stat().st_size,
            "sha256": sha256(path),
            "numpy_f64_forward_vs_transformers": compare(logits, ref),
            "tensor_types": {n: t[0] for n, t in tensors.items()},
        }
        if llcheck is not None:
            gguf_info[path.name]["llama_cpp_vs_transformers"] = llama_cpp_check(llcheck, path, gold, logits)
        else:
            gguf_info[path.name]["llama_cpp_vs_transformers"] = "not run (pass --llama-lib)"
        if outtype == "q8_0":
            # Q8_0 weights with exact float64 activations: what a Q8_0 engine that does not quantize
            # activations should reproduce closely (llama.cpp also rounds activations to 8 bits).
            gguf_info[path.name]["reference_logits"] = {
                "about": "numpy float64 forward pass on the dequantized Q8_0 tensors (validated on model-f32.gguf "
                         "against transformers); sequence 0 in full, argmax per position for all sequences",
                "sequence_0_logits": round_rows(ref[0]),
                "argmax": [r.argmax(-1).tolist() for r in ref],
            }
        if outtype == "f32":
            f32_meta, f32_tensors = meta, tensors
            gguf_info[path.name]["metadata"] = {k: v for k, v in meta.items() if not k.startswith("tokenizer.ggml.")}
            gguf_info[path.name]["tensor_shapes_ne"] = {n: t[1] for n, t in tensors.items()}

    # How much each classic mistake moves the logits (the fixture must be able to catch it).
    if kind == "llama":
        mistakes = {
            "no rope_freqs factors (plain rope)": [llama_forward_gguf(f32_meta, f32_tensors, s, use_freq_factors=False) for s in seqs],
            "NEOX rotation on the permuted GGUF q/k": [llama_forward_gguf(f32_meta, f32_tensors, s, interleaved=False) for s in seqs],
        }
        f32_check = gguf_info["model-f32.gguf"]["numpy_f64_forward_vs_transformers"]
    else:
        mistakes = {
            "no sliding window": [gemma3_forward_gguf(f32_meta, f32_tensors, s, swa=False) for s in seqs],
            "global rope base on local layers": [gemma3_forward_gguf(f32_meta, f32_tensors, s, local_base=False) for s in seqs],
            "no global layer (all sliding)": [gemma3_forward_gguf(f32_meta, f32_tensors, s, pattern=10**9) for s in seqs],
        }
        f32_check = gguf_info["model-f32.gguf"]["numpy_f64_forward_vs_transformers"]
    gold["gguf"] = {
        "files": gguf_info,
        "sensitivity": {name: compare(logits, r) for name, r in mistakes.items()},
    }
    assert f32_check["max_abs_logit_diff"] < 1e-3 and f32_check["top1_agreement"] == 1.0, f32_check
    write_json_compact_rows(out / "golden.json", gold)
    return gold


# ----------------------------------------------------------------------------------------------
# the model zoo: one more tiny model per architecture, reusing the two tokenizers above

# kind -> (transformers config class, tokenizer fixture to reuse, extra config fields)
ZOO = {
    "qwen2": ("Qwen2Config", "tiny-llama", {"attention_bias": True, "tie_word_embeddings": True,
                                            "use_sliding_window": False, "sliding_window": None}),
    "mistral": ("MistralConfig", "tiny-llama", {"sliding_window": 8, "tie_word_embeddings": False}),
    "qwen3": ("Qwen3Config", "tiny-llama", {"head_dim": 32, "attention_bias": False, "tie_word_embeddings": True,
                                            "use_sliding_window": False, "sliding_window": None}),
    "phi3": ("Phi3Config", "tiny-gemma3", {"tie_word_embeddings": False, "sliding_window": None,
                                           "original_max_position_embeddings": 256, "resid_pdrop": 0.0,
                                           "embd_pdrop": 0.0, "attention_dropout": 0.0}),
    "gemma2": ("Gemma2Config", "tiny-gemma3", {"head_dim": 32, "query_pre_attn_scalar": 32, "sliding_window": 8,
                                               "attn_logit_softcapping": 5.0, "final_logit_softcapping": 10.0,
                                               "hidden_activation": "gelu_pytorch_tanh", "tie_word_embeddings": True}),
}
# Falcon: the classic 7B layout (multi-query, one norm) and the 40B/180B "new decoder architecture"
# (grouped KV, ln_attn + ln_mlp). Neither uses the Llama-style fields above.
FALCON = {
    # num_kv_heads: 1 states what multi_query means; without it transformers fills in num_attention_heads,
    # which llama.cpp's converter (reading the config through transformers) takes as the KV head count.
    "falcon": {"multi_query": True, "new_decoder_architecture": False, "num_kv_heads": 1},
    "falcon40b": {"new_decoder_architecture": True, "num_kv_heads": 2},
}
for _k, _extra in FALCON.items():
    ZOO[_k] = ("FalconConfig", "tiny-llama", {"parallel_attn": True, "bias": False, "alibi": False,
                                              "tie_word_embeddings": True, **_extra})
# Mixtral-style mixture of experts: 4 experts of 64, 2 per token.
ZOO["mixtral"] = ("MixtralConfig", "tiny-llama", {"num_local_experts": 4, "num_experts_per_tok": 2, "intermediate_size": 64,
                                                  "sliding_window": None, "tie_word_embeddings": False})
# Qwen3-MoE: q/k norms and 4 experts of 64 in every layer, 2 per token.
ZOO["qwen3moe"] = ("Qwen3MoeConfig", "tiny-llama", {"head_dim": 32, "num_experts": 4, "num_experts_per_tok": 2,
                                                    "moe_intermediate_size": 64, "norm_topk_prob": True,
                                                    "decoder_sparse_step": 1, "mlp_only_layers": [],
                                                    "tie_word_embeddings": True, "use_sliding_window": False,
                                                    "sliding_window": None})
# Qwen2-MoE: 4 routed experts of 64 (top-2, probabilities not renormalised) plus a shared expert of 96
# behind its sigmoid gate, in every layer; q/k/v biases.
ZOO["qwen2moe"] = ("Qwen2MoeConfig", "tiny-llama", {"num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 64,
                                                    "shared_expert_intermediate_size": 96, "norm_topk_prob": False,
                                                    "decoder_sparse_step": 1, "mlp_only_layers": [], "qkv_bias": True,
                                                    "tie_word_embeddings": False, "use_sliding_window": False,
                                                    "sliding_window": None})
# Phi-3 long-context RoPE ("longrope", as Phi-3-mini-128k / Phi-3.5): per-frequency short and long factors
# and an attention factor from max / original context (256 / 16 here: sqrt(1 + ln 16 / ln 16) = sqrt 2).
# The original context is tiny so that the 24- and 40-token sequences use the long factors in
# transformers (it picks per sequence length), and the 5- and 16-token ones the short factors.
LONGROPE_ORIG_CTX = 16
ZOO["phi3-longrope"] = ("Phi3Config", "tiny-gemma3", {
    "tie_word_embeddings": False, "sliding_window": None, "original_max_position_embeddings": LONGROPE_ORIG_CTX,
    "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attention_dropout": 0.0,
    "rope_parameters": {"rope_type": "longrope", "rope_theta": 10_000.0, "partial_rotary_factor": 1.0,
                        "original_max_position_embeddings": LONGROPE_ORIG_CTX,
                        "short_factor": [1.0, 1.02, 1.05, 1.1, 1.2, 1.35, 1.6, 2.0],
                        "long_factor": [1.0, 1.4, 2.2, 3.5, 6.0, 10.0, 18.0, 32.0]},
})
MODEL_TYPE = {"qwen3moe": "qwen3_moe", "falcon40b": "falcon", "qwen2moe": "qwen2_moe", "phi3-longrope": "phi3"}  # fixture name -> transformers model_type
ZOO_GREEDY_TOKENS = 32
# Logit rows kept per golden sequence (the whole vocabulary at these positions; -1 = last).
ZOO_POSITIONS = (0, 1, 3, 7, 8, 12, 23, -1)


def falcon_rules(name: str):
    if "ln" in name or "layernorm" in name:  # LayerNorm weight and bias
        return (1.0, 0.2) if name.endswith("weight") else (0.0, 0.1)
    if "word_embeddings" in name:
        return 0.0, 0.5
    return 0.0, 0.12 if "4h_to_h" in name else 0.2


def zoo_rules(kind: str):
    if kind == "gemma2":
        return gemma_rules
    if kind in FALCON:
        return falcon_rules
    return llama_rules


def make_zoo_model(kind: str, vocab: int, special: dict):
    import transformers

    cls_name, _, extra = ZOO[kind]
    if kind in FALCON:
        cfg = transformers.FalconConfig(
            vocab_size=vocab, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, layer_norm_epsilon=1e-5,
            max_position_embeddings=256, rope_parameters={"rope_type": "default", "rope_theta": 10_000.0},
            bos_token_id=special["bos"], eos_token_id=special["eos"], attn_implementation="eager", dtype="float32",
            **extra,
        )
    else:
        kw = dict(
            vocab_size=vocab, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, head_dim=16, max_position_embeddings=256, rms_norm_eps=1e-5,
            rope_parameters={"rope_type": "default", "rope_theta": 10_000.0}, bos_token_id=special["bos"],
            eos_token_id=special["eos"], pad_token_id=special.get("pad"), attn_implementation="eager", dtype="float32",
        )
        kw.update(extra)
        cfg = getattr(transformers, cls_name)(**kw)
    torch.manual_seed(SEED)
    model = transformers.AutoModelForCausalLM.from_config(cfg, dtype=torch.float32, attn_implementation="eager")
    init_params(model, zoo_rules(kind), SEED + 7 + list(ZOO).index(kind))
    if cfg.tie_word_embeddings:
        model.tie_weights()
    # bfloat16 on disk (half the size; exercises the BF16 path); the goldens compute in float32 on
    # exactly these values, which the bf16 GGUF holds exactly too.
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.to(torch.bfloat16).to(torch.float32))
    return model.eval()


def zoo_llama_cpp_check(exe: Path, llama_cpp: Path, model_dir: Path, pre: str, groups: dict) -> dict:
    """llama.cpp itself on a float32 conversion (bf16 weights make it round activations to bf16 too):
    max |logit - transformers| over the golden rows of each group of sequences."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / model_dir.name
        shutil.copytree(model_dir, work)
        # llama.cpp sets special-token attributes for models whose name says "phi3", which needs a "</s>"
        # token this tokenizer lacks; a neutral name avoids that.
        path = convert(llama_cpp, work, "f32", pre, ("--model-name", "tiny check"))
        result = {"about": "llama.cpp (libllama, context 256, F32 KV cache, no flash attention) on a float32 "
                           "conversion: max |dlogit| against the transformers rows"}
        for label, rows in groups.items():
            cmds = ["E " + " ".join(map(str, r["ids"])) for r in rows]
            res = subprocess.run([str(exe), str(path), "1"], input="\n".join(cmds) + "\n", capture_output=True, text=True)
            if res.returncode != 0:
                raise SystemExit(f"llama.cpp check failed on {model_dir.name}: {res.stderr}")
            got = np.array([[float(v) for v in l.split()[1:]] for l in res.stdout.splitlines() if l.startswith("L")])
            start, worst = 0, 0.0
            for r in rows:
                mine = got[start:start + len(r["ids"])][r["positions"]]
                start += len(r["ids"])
                worst = max(worst, float(np.abs(mine - np.array(r["logits"])).max()))
            result[label] = sig(worst, 3)
        return result


def build_zoo_fixture(kind: str, out_root: Path, llama_cpp: Path, llcheck: Path | None = None) -> dict:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _, tok_from, _ = ZOO[kind]
    src = out_root / tok_from
    out = out_root / f"tiny-{kind}"
    if out.exists():
        for f in out.iterdir():
            if f.name != "README.md":
                f.unlink()
    out.mkdir(parents=True, exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "tokenizer.model"):
        if (src / name).exists():
            shutil.copy(src / name, out / name)
    special = json.loads((src / "golden.json").read_text())["special_tokens"]
    # transformers (and so the converter) picks the tokenizer class from the model type, which may add
    # tokens (Qwen2Tokenizer adds <|endoftext|>): size the vocabulary from what it will load.
    (out / "config.json").write_text(json.dumps({"model_type": MODEL_TYPE.get(kind, kind)}))
    tok = AutoTokenizer.from_pretrained(out)
    model = make_zoo_model(kind, len(tok), special)
    model.to(torch.bfloat16).save_pretrained(out, safe_serialization=True)
    (out / "generation_config.json").unlink(missing_ok=True)
    (out / "model.safetensors").chmod(0o644)
    model = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32, attn_implementation="eager").eval()
    seqs = sequences(tok, special["bos"])
    short_seqs = []
    if kind == "phi3-longrope":
        # transformers uses the short factors up to the original context, the long ones beyond it;
        # the engine chooses once at load time from its context size (as llama.cpp does). The main
        # sequences (and the greedy prompt) are all longer than the original context.
        short_seqs = [seqs[0], seqs[1][:LONGROPE_ORIG_CTX]]
        seqs = [s for s in seqs if len(s) > LONGROPE_ORIG_CTX]

    def logit_rows(s):
        lg = hf_logits(model, s)
        pos = sorted({p % len(s) for p in ZOO_POSITIONS if p < len(s)})
        return {"ids": s, "positions": pos, "logits": round_rows(lg[pos])}

    rows = [logit_rows(s) for s in seqs]
    global GREEDY_NEW_TOKENS
    keep, GREEDY_NEW_TOKENS = GREEDY_NEW_TOKENS, ZOO_GREEDY_TOKENS
    try:
        gr = greedy(model, seqs[0])
    finally:
        GREEDY_NEW_TOKENS = keep
    pre = "llama-bpe" if tok_from == "tiny-llama" else ""
    # bfloat16 GGUF: the same values as the safetensors (the converter keeps 1-D tensors in float32),
    # half the bytes of a float32 file; the engine computes in float32 from either.
    gguf_path = convert(llama_cpp, out, "bf16", pre)
    meta, tensors = read_gguf(gguf_path)
    gold = {
        "fixture": out.name,
        "about": "Random weights stored as bfloat16 (safetensors, and GGUF from llama.cpp's converter); "
                 f"logits: transformers float32, eager attention, no cache, full vocab at `positions`, {SIG_DIGITS} "
                 f"significant digits. Greedy: {ZOO_GREEDY_TOKENS} tokens, generate(do_sample=False, use_cache=True), EOS disabled.",
        "made_with": {
            **versions(),
            "llama_cpp_converter_commit": llama_cpp_commit(llama_cpp),
            "command": f"python scripts/make_tiny_models.py --llama-cpp <llama.cpp source dir> --only {kind}"
                       + (" --llama-lib <llama.cpp>/build/bin" if llcheck is not None else ""),
            "seed": SEED,
        },
        "config": json.loads((out / "config.json").read_text()),
        "special_tokens": special,
        "sequences": rows,
        "greedy": gr,
        **({"short_sequences": {
            "about": f"sequences of at most original_max_position_embeddings = {LONGROPE_ORIG_CTX} tokens: transformers "
                     "used the short factors (an engine must load with a context of at most that size to match)",
            "n_ctx": LONGROPE_ORIG_CTX,
            "sequences": [logit_rows(s) for s in short_seqs],
        }} if short_seqs else {}),
        "gguf": {
            "file": gguf_path.name,
            "architecture": meta["general.architecture"],
            "metadata": {k: v for k, v in meta.items() if not k.startswith("tokenizer.ggml.")},
            "tensor_types": {n: t[0] for n, t in tensors.items()},
        },
    }
    if llcheck is not None:
        groups = {"sequences": rows, **({"short_sequences": gold["short_sequences"]["sequences"]} if short_seqs else {})}
        gold["gguf"]["llama_cpp_f32_vs_transformers"] = zoo_llama_cpp_check(llcheck, llama_cpp, out, pre, groups)
    write_json_compact_rows(out / "golden.json", gold)
    return gold


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llama-cpp", type=Path, required=True, help="llama.cpp source tree (has convert_hf_to_gguf.py and gguf-py/)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "testdata")
    ap.add_argument("--only", choices=["llama", "gemma3", *ZOO], help="build one fixture")
    ap.add_argument("--llama-lib", type=Path, help="optional: folder with a built libllama.so (e.g. <llama.cpp>/build/bin) "
                    "to cross-check tokenization and logits with llama.cpp itself")
    args = ap.parse_args()
    if not (args.llama_cpp / "convert_hf_to_gguf.py").is_file():
        raise SystemExit(f"{args.llama_cpp}/convert_hf_to_gguf.py not found: pass the llama.cpp source tree with --llama-cpp")
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # fixed reduction order: same goldens on every run
    with tempfile.TemporaryDirectory() as tmp:
        llcheck = build_llcheck(args.llama_cpp, args.llama_lib, Path(tmp)) if args.llama_lib else None
        for kind in ([args.only] if args.only else ["llama", "gemma3", *ZOO]):
            if kind in ZOO:
                gold = build_zoo_fixture(kind, args.out, args.llama_cpp, llcheck)
                print(f"tiny-{kind}: greedy {gold['greedy']['new_ids']}")
                if "llama_cpp_f32_vs_transformers" in gold["gguf"]:
                    print(f"  llama.cpp: {gold['gguf']['llama_cpp_f32_vs_transformers']}")
                continue
            gold = build_fixture(kind, args.out, args.llama_cpp, Path(tmp), llcheck)
            print(f"tiny-{kind}: greedy {gold['greedy']['new_ids']}")
            for name, info in gold["gguf"]["files"].items():
                print(f"  {name}: numpy {info['numpy_f64_forward_vs_transformers']}; llama.cpp {info['llama_cpp_vs_transformers']}")
            for name, c in gold["gguf"]["sensitivity"].items():
                print(f"  mistake '{name}': {c}")


if __name__ == "__main__":
    main()
