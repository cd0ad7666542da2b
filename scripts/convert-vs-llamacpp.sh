#!/usr/bin/env bash
# llama.cpp reading `agora convert` output: for every tiny fixture, perplexity by llama.cpp's
# `llama-perplexity` of our conversion of the Hugging Face folder and of the fixture's own GGUF
# (made by llama.cpp's convert_hf_to_gguf.py); then the real Gemma 3 Q4_K_M converted to F32, by
# llama-perplexity against the Q4_K_M and by llama-bench. Builds nothing: pass the llama.cpp bin folder.
#
#   scripts/convert-vs-llamacpp.sh /path/to/llama.cpp/build/bin [TEXT] [THREADS]
#
# TEXT defaults to the first 6000 bytes of /usr/share/common-licenses/GPL-3; THREADS to 2.
set -euo pipefail
BIN=${1:?usage: $0 LLAMA_CPP_BIN_DIR [TEXT] [THREADS]}
T=${3:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
AGORA=${AGORA:-$ROOT/target/release/agora}
MODEL=${MODEL:-${AGORA_HOME:-$HOME/.cache/agora}/models/gemma3-270m/gemma-3-270m-q4_k_m.gguf}
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
export LD_LIBRARY_PATH=$BIN:${LD_LIBRARY_PATH:-}
TEXT=${2:-$WORK/text.txt}
[ -f "$TEXT" ] || head -c 6000 /usr/share/common-licenses/GPL-3 >"$TEXT"

ppl() { # model ctx -> "PPL = x +/- y" or the failure
    # llama.cpp logs from a thread and can exit before its last lines are written: run again then.
    for _ in 1 2 3 4 5; do
        if ! "$BIN/llama-perplexity" -m "$1" -f "$TEXT" -c "$2" -t "$T" >"$WORK/ppl.log" 2>&1; then
            echo "FAILED: $(grep -iE 'error|failed' "$WORK/ppl.log" | head -2 | tr '\n' ' ')"
            return
        fi
        if grep -q 'PPL = ' "$WORK/ppl.log"; then
            grep -o 'PPL = [0-9.]* +/- [0-9.]*' "$WORK/ppl.log" | tail -1
            return
        fi
    done
    echo "no final estimate in 5 runs"
}

echo "## tiny fixtures: llama-perplexity -c 64 (ours = agora convert of the folder; theirs = testdata GGUF)"
for dir in "$ROOT"/testdata/tiny-*/; do
    name=$(basename "$dir")
    theirs="$dir"model-bf16.gguf
    [ -f "$theirs" ] || theirs="$dir"model-f32.gguf
    "$AGORA" convert "$dir" "$WORK/$name.gguf" >/dev/null
    echo "$name: ours $(ppl "$WORK/$name.gguf" 64); theirs $(ppl "$theirs" 64)"
done

# llama.cpp special-cases models whose general.name contains "phi3" and looks up "</s>", which the
# fixture's Gemma-style vocabulary lacks: it then refuses both files. Under another name it loads.
"$AGORA" convert "$ROOT/testdata/tiny-phi3" "$WORK/p3.gguf" --name "Tiny P-3" >/dev/null
echo "tiny-phi3 named 'Tiny P-3': ours $(ppl "$WORK/p3.gguf" 64)"

echo
echo "## Gemma 3 270M: Q4_K_M -> F32 with agora convert, read by llama.cpp"
"$AGORA" convert "$MODEL" "$WORK/gemma-f32.gguf" -t "$T"
echo "F32 (agora convert): $(ppl "$WORK/gemma-f32.gguf" 512)"
echo "Q4_K_M (release):    $(ppl "$MODEL" 512)"
"$BIN/llama-bench" -m "$WORK/gemma-f32.gguf" -t "$T" -p 64 -n 16 -r 2 2>/dev/null | grep -E '^\|'
