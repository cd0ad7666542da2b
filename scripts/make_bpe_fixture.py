#!/usr/bin/env python3
"""Make the byte-level BPE fixtures for crates/tokenize/tests/bpe_fixture.rs.

Trains two tiny byte-level BPE tokenizers with the Hugging Face `tokenizers` package
(`pip install tokenizers`) and records what it produces for a set of test strings:

  gpt2/       GPT-2 style: ByteLevel pre-tokenizer with GPT-2's regex, no BOS.
  llama-bpe/  Llama 3 style: Split(Llama 3 regex) + ByteLevel, ignore_merges, BOS added.

Each folder gets
  tokenizer.json  the Hugging Face file (read by Tokenizer::from_tokenizer_json)
  vocab.json      the same vocabulary as a GGUF stores it (tokenizer.ggml.*: tokens, token_type,
                  merges, pre, bos/eos ids, add_bos), as convert_hf_to_gguf.py would write it
  golden.json     per string: ids (add_special False), ids_with_special (add_special True),
                  ids_literal (special tokens not parsed: encode_special_tokens), decoded and
                  decoded_skip_special, all from the `tokenizers` package

Usage: python3 scripts/make_bpe_fixture.py [OUT_DIR]   (default crates/tokenize/tests/data)
Training is deterministic, so re-running gives the same files.
"""

import json
import os
import sys

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

CORPUS = [
    "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away.",
    "It's a truth universally acknowledged, that a single model in possession of good weights",
    "must be in want of a tokenizer. Don't you think so? We'll see, they'd say, I'm sure you've heard.",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100 1234 2024 3.14159 2,718 1e-9 -17 +23 99% $5",
    "def main():\n    print('hello world')\n    return 0\n\nif __name__ == '__main__':\n    main()\n",
    "fn add(a: i32, b: i32) -> i32 { a + b }  // adds two numbers",
    "Café, naïve, résumé, über, façade, coöperate, Ελληνικά, Русский язык, 日本語のテキスト, 中文",
    "Emoji: 👋 😀 🚀 ✨ 👍🏽 — and “quotes”, ‘single’, ellipsis…",
    "Tabs\tand\ttabs, CRLF\r\nline endings, multiple    spaces   here  and there.",
    "<html><body><p class=\"x\">Hello &amp; welcome!</p></body></html>",
    "https://example.com/path?q=1&x=y#frag user@example.org",
]

TEST_STRINGS = [
    "Hello world",
    " Hello",
    "Hello ",
    "  two leading spaces",
    "multiple    spaces   between  words",
    "   ",
    "line one\nline two\n\n",
    "a\r\nb",
    "tab\tseparated\tvalues",
    "1234567",
    "3.14159, 2,718 and 1e-9",
    "don't can't it's WE'LL They'RE",
    "naïve café über",
    "👋🏽😀🚀✨",
    "日本語のテキスト",
    "Ünïcödé Ελληνικά Русский",
    'fn main() { println!("hi"); }',
    "def f(n):\n    return n  \n",
    "<|endoftext|>after a special token",
    "x<|im_start|>user\nHi<|im_end|>\n",
    "a <tool> call",
    "",
]


def corpus():
    # Repeat so that the trainer has frequent pairs to merge.
    return CORPUS * 20


def train(kind):
    tok = Tokenizer(models.BPE(ignore_merges=(kind == "llama-bpe")))
    if kind == "gpt2":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
        specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=700,
        min_frequency=2,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus(), trainer=trainer)
    # A non-special added token: split out of text like a special one, but printed when decoding.
    tok.add_tokens(["<tool>"])
    if kind == "llama-bpe":
        bos = tok.token_to_id("<|begin_of_text|>")
        tok.post_processor = processors.TemplateProcessing(
            single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A $B", special_tokens=[("<|begin_of_text|>", bos)]
        )
    return tok


def gguf_style_vocab(tok, kind):
    """The tokenizer.ggml.* arrays convert_hf_to_gguf.py writes for a byte-level BPE."""
    model = json.loads(tok.to_str())
    added = {t["id"]: t for t in model["added_tokens"]}
    vocab = tok.get_vocab(with_added_tokens=True)
    n = max(vocab.values()) + 1
    by_id = {i: t for t, i in vocab.items()}
    tokens, types = [], []
    for i in range(n):
        t = by_id.get(i, f"[PAD{i}]")
        tokens.append(t)
        if i in added:
            types.append(3 if added[i]["special"] else 4)  # CONTROL / USER_DEFINED
        else:
            types.append(1)  # NORMAL
    merges = model["model"]["merges"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in merges]
    if kind == "gpt2":
        bos = eos = vocab["<|endoftext|>"]
        add_bos = False
    else:
        bos, eos, add_bos = vocab["<|begin_of_text|>"], vocab["<|end_of_text|>"], True
    return {
        "model": "gpt2",
        "pre": kind,
        "tokens": tokens,
        "token_type": types,
        "merges": merges,
        "bos_token_id": bos,
        "eos_token_id": eos,
        "add_bos_token": add_bos,
    }


def golden(tok):
    cases = []
    for text in TEST_STRINGS:
        ids = tok.encode(text, add_special_tokens=False).ids
        with_special = tok.encode(text, add_special_tokens=True).ids
        tok.encode_special_tokens = True
        literal = tok.encode(text, add_special_tokens=False).ids
        tok.encode_special_tokens = False
        cases.append(
            {
                "text": text,
                "ids": ids,
                "ids_with_special": with_special,
                "ids_literal": literal,
                "decoded": tok.decode(ids, skip_special_tokens=False),
                "decoded_skip_special": tok.decode(ids, skip_special_tokens=True),
            }
        )
    return cases


def main():
    import tokenizers

    out_root = sys.argv[1] if len(sys.argv) > 1 else os.path.join("crates", "tokenize", "tests", "data")
    for kind in ["gpt2", "llama-bpe"]:
        tok = train(kind)
        out = os.path.join(out_root, kind)
        os.makedirs(out, exist_ok=True)
        tok.save(os.path.join(out, "tokenizer.json"), pretty=False)
        with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as f:
            json.dump(gguf_style_vocab(tok, kind), f, ensure_ascii=False)
        doc = {
            "description": f"Golden ids from Hugging Face tokenizers {tokenizers.__version__} for a tiny {kind} "
            "byte-level BPE made by scripts/make_bpe_fixture.py",
            "cases": golden(tok),
        }
        with open(os.path.join(out, "golden.json"), "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
        print(f"{out}: vocab {tok.get_vocab_size()}, {len(doc['cases'])} strings")


if __name__ == "__main__":
    main()
