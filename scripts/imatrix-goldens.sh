#!/usr/bin/env bash
# Goldens for the importance-matrix tests, from llama.cpp's own `llama-imatrix` and `llama-quantize`
# (independent references). Builds nothing: give it the bin folder of a llama.cpp build (llama-imatrix is
# one target: `cmake --build build --target llama-imatrix`) and an already built agora.
#
#   scripts/imatrix-goldens.sh /path/to/llama.cpp/build/bin
#
# Writes testdata/imatrix/:
#   gemma3-270m-llamacpp-summary.json  llama-imatrix on the store's Gemma 3 270M Q4_K_M, gpl-3.txt, -c 512,
#                                      4 chunks: per entry its counts, sum and 16 sampled columns
#   tiny-llama-llamacpp.{dat,gguf}     llama-imatrix on testdata/tiny-llama (-c 128, 8 chunks), both layouts
#   tiny-qwen3moe-llamacpp.gguf        the same on the MoE fixture (per-expert counts)
#   tiny-llama-agora.dat               `agora imatrix` on tiny-llama (what llama-quantize must read)
#   tiny-llama-quantized.json          llama-quantize --imatrix with each of the three tiny-llama files
#   ggml-weighted-rows.json            ggml_quantize_chunk (libggml-base.so from $BIN) with importance
#                                      weights on generated rows: every weighted quantizer, Q2_K included
#   gemma3-270m-quantized.json         llama-quantize --imatrix (a synthetic matrix, see imatrix_tool.py) on
#                                      the F32 dequantization of Gemma: per tensor type + sha256
set -euo pipefail
BIN=${1:?usage: $0 LLAMA_CPP_BIN_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
AGORA=${AGORA:-$ROOT/target/release/agora}
MODEL=${MODEL:-${AGORA_HOME:-$HOME/.cache/agora}/models/gemma3-270m/gemma-3-270m-q4_k_m.gguf}
TOOL="python3 $ROOT/scripts/imatrix_tool.py"
for b in llama-imatrix llama-quantize libggml-base.so; do [ -x "$BIN/$b" ] || { echo "no $b in $BIN" >&2; exit 1; }; done
$TOOL ggml-rows "$BIN/libggml-base.so" "$ROOT/testdata/imatrix/ggml-weighted-rows.json"
[ -x "$AGORA" ] || { echo "no agora at $AGORA; cargo build --release -p cli first" >&2; exit 1; }
[ -f "$MODEL" ] || { echo "Gemma 3 270M not found; agora pull gemma3-270m (or set MODEL=)" >&2; exit 1; }
OUT=$ROOT/testdata/imatrix
TEXT=$OUT/gpl-3.txt
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TINY=$ROOT/testdata/tiny-llama/model-f32.gguf
MOE=$ROOT/testdata/tiny-qwen3moe/model-bf16.gguf

run() { "$@" >"$WORK/log" 2>&1 || { tail -20 "$WORK/log" >&2; exit 1; }; }

# Dataset names are recorded in the files; keep them machine-independent by running from $OUT.
cd "$OUT"
run "$BIN/llama-imatrix" -m "$MODEL" -f gpl-3.txt -c 512 --chunks 4 -t 2 -o "$WORK/gemma.gguf"
$TOOL summary "$WORK/gemma.gguf" "$OUT/gemma3-270m-llamacpp-summary.json"
run "$BIN/llama-imatrix" -m "$TINY" -f gpl-3.txt -c 128 --chunks 8 -t 2 -o "$OUT/tiny-llama-llamacpp.gguf"
run "$BIN/llama-imatrix" -m "$TINY" -f gpl-3.txt -c 128 --chunks 8 -t 2 -o "$OUT/tiny-llama-llamacpp.dat" --output-format dat
run "$BIN/llama-imatrix" -m "$MOE" -f gpl-3.txt -c 128 --chunks 8 -t 2 -o "$OUT/tiny-qwen3moe-llamacpp.gguf"
run "$AGORA" imatrix "$TINY" -f gpl-3.txt -c 128 --chunks 8 -t 2 -o "$OUT/tiny-llama-agora.dat"
cd "$ROOT"

files=()
for src in llamacpp.dat llamacpp.gguf agora.dat; do
    for p in Q4_0 Q4_1 Q5_0 Q5_1 Q3_K_M Q2_K; do
        run "$BIN/llama-quantize" --imatrix "$OUT/tiny-llama-$src" "$TINY" "$WORK/t-$src-$p.gguf" "$p" 2
        files+=("$src:$p=$WORK/t-$src-$p.gguf")
    done
done
$TOOL hashes "$OUT/tiny-llama-quantized.json" "llama-quantize --imatrix testdata/imatrix/tiny-llama-<source> (2 threads)" \
    model-f32.gguf "${files[@]}"

"$AGORA" quantize "$MODEL" "$WORK/gemma-f32.gguf" --type f32 >/dev/null 2>&1
$TOOL synthetic "$WORK/gemma-f32.gguf" "$WORK/synthetic.gguf"
files=()
for p in Q4_K_M Q3_K_M Q2_K Q4_0 Q5_0; do
    run "$BIN/llama-quantize" --imatrix "$WORK/synthetic.gguf" "$WORK/gemma-f32.gguf" "$WORK/g-$p.gguf" "$p" 2
    files+=("$p=$WORK/g-$p.gguf")
done
$TOOL hashes "$OUT/gemma3-270m-quantized.json" "llama-quantize --imatrix <synthetic, scripts/imatrix_tool.py> (2 threads)" \
    gemma-f32.gguf "${files[@]}"
ls -la "$OUT"
