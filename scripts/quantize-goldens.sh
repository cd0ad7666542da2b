#!/usr/bin/env bash
# Goldens for crates/quantize/tests from llama.cpp's own `llama-quantize` (an independent reference).
# Builds nothing: give it the bin folder of a llama.cpp build (e.g. one made from the llama-cpp-python
# sdist) and an already built agora (AGORA=target/release/agora by default).
#
#   scripts/quantize-goldens.sh /path/to/llama.cpp/build/bin
#
# Inputs: the F32 dequantization of the store's Gemma 3 270M Q4_K_M (made with `agora quantize --type f32`,
# bit-exact dequantization, so every run gets the same F32 file) and testdata/tiny-llama/model-f32.gguf
# (its 64-wide rows exercise the block-size fallbacks). Writes testdata/quantize/*.json: for each
# preset, each tensor's type and the sha256 of its bytes in llama-quantize's output.
set -euo pipefail
BIN=${1:?usage: $0 LLAMA_CPP_BIN_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
AGORA=${AGORA:-$ROOT/target/release/agora}
MODEL=${MODEL:-${AGORA_HOME:-$HOME/.cache/agora}/models/gemma3-270m/gemma-3-270m-q4_k_m.gguf}
[ -x "$BIN/llama-quantize" ] || { echo "no llama-quantize in $BIN" >&2; exit 1; }
[ -x "$AGORA" ] || { echo "no agora at $AGORA; cargo build --release -p cli first" >&2; exit 1; }
[ -f "$MODEL" ] || { echo "Gemma 3 270M not found; agora pull gemma3-270m (or set MODEL=)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
OUT=$ROOT/testdata/quantize
mkdir -p "$OUT"

"$AGORA" quantize "$MODEL" "$WORK/gemma-f32.gguf" --type f32 >/dev/null 2>&1

golden() { # input-gguf output-json preset...
    local in=$1 json=$2; shift 2
    local files=()
    for p in "$@"; do
        "$BIN/llama-quantize" "$in" "$WORK/lq-$p.gguf" "$p" 2 >"$WORK/lq-$p.log" 2>&1 ||
            { tail -20 "$WORK/lq-$p.log" >&2; exit 1; }
        files+=("$p=$WORK/lq-$p.gguf")
    done
    python3 - "$json" "$(basename "$in")" "${files[@]}" <<'PY'
import hashlib, json, sys
import gguf
out, source, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
doc = {"generator": "llama-quantize (no imatrix, 2 threads), via scripts/quantize-goldens.sh",
       "input": source, "presets": {}}
for pair in pairs:
    preset, path = pair.split("=", 1)
    r = gguf.GGUFReader(path)
    doc["presets"][preset] = {
        "file_type": int(r.fields["general.file_type"].parts[-1][0]),
        "tensors": {t.name: [t.tensor_type.name, hashlib.sha256(t.data.tobytes()).hexdigest()] for t in r.tensors},
    }
with open(out, "w") as f:
    json.dump(doc, f, indent=0, sort_keys=True)
    f.write("\n")
PY
    echo "wrote $json"
}

golden "$WORK/gemma-f32.gguf" "$OUT/gemma3-270m-f32-llamacpp.json" Q8_0 Q4_K_M
golden "$ROOT/testdata/tiny-llama/model-f32.gguf" "$OUT/tiny-llama-llamacpp.json" \
    Q8_0 Q6_K Q5_K_M Q5_K_S Q5_0 Q5_1 Q4_K_M Q4_K_S Q4_0 Q4_1 Q3_K_M Q2_K F16 BF16
