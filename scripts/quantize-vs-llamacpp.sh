#!/usr/bin/env bash
# agora quantize vs llama.cpp's llama-quantize on the same F32 input: speed, byte-exactness, and quality
# (KL divergence and perplexity against the F32 model, measured both by `agora kld` and by
# `llama-perplexity --kl-divergence`). Builds nothing: pass the llama.cpp bin folder; agora must be built.
#
#   scripts/quantize-vs-llamacpp.sh /path/to/llama.cpp/build/bin [TEXT] [THREADS]
#
# TEXT defaults to /usr/share/common-licenses/GPL-3 (any long English text works); THREADS to 2.
# Outputs land in $WORK (default: a temp folder, removed at the end unless KEEP=1). SPEED_ONLY=1 stops
# after the timings; PRESETS, EXACT_PRESETS and REPS choose what runs.
set -euo pipefail
BIN=${1:?usage: $0 LLAMA_CPP_BIN_DIR [TEXT] [THREADS]}
TEXT=${2:-/usr/share/common-licenses/GPL-3}
T=${3:-2}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
AGORA=${AGORA:-$ROOT/target/release/agora}
MODEL=${MODEL:-${AGORA_HOME:-$HOME/.cache/agora}/models/gemma3-270m/gemma-3-270m-q4_k_m.gguf}
PRESETS=${PRESETS:-"Q8_0 Q4_K_M"}
EXACT_PRESETS=${EXACT_PRESETS:-"Q8_0 Q6_K Q5_K_M Q5_K_S Q5_0 Q5_1 Q4_K_M Q4_K_S Q4_0 Q4_1 Q3_K_L Q3_K_M Q3_K_S Q2_K F16 BF16"}
REPS=${REPS:-3}
for f in "$BIN/llama-quantize" "$BIN/llama-perplexity" "$AGORA"; do [ -x "$f" ] || { echo "missing $f" >&2; exit 1; }; done
[ -f "$MODEL" ] || { echo "no model at $MODEL (agora pull gemma3-270m, or set MODEL=)" >&2; exit 1; }
[ -f "$TEXT" ] || { echo "no text file $TEXT" >&2; exit 1; }
WORK=${WORK:-$(mktemp -d)}
mkdir -p "$WORK"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$WORK"' EXIT
export LD_LIBRARY_PATH=$BIN:${LD_LIBRARY_PATH:-}
F32=$WORK/f32.gguf

echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# llama.cpp: $("$BIN/llama-quantize" --version 2>&1 | grep -m1 version || true)"
echo "# agora: $(git -C "$ROOT" rev-parse --short HEAD)"
# issue 8 round trip: the F32 input is the release Q4_K_M dequantized by `agora convert`.
"$AGORA" convert "$MODEL" "$F32" >/dev/null 2>&1

echo
echo "## Speed: F32 -> preset, $T threads, wall seconds (best and all of $REPS runs, alternating tools)"
secs() { /usr/bin/time -f %e "$@" 2>&1 >/dev/null | tail -1; }
for p in $PRESETS; do
    ours=() theirs=()
    for _ in $(seq "$REPS"); do
        load=$(cut -d' ' -f1-3 /proc/loadavg)
        ours+=("$(secs "$AGORA" quantize "$F32" "$WORK/agora-$p.gguf" --type "$p" -t "$T")")
        theirs+=("$(secs "$BIN/llama-quantize" "$F32" "$WORK/llama-$p.gguf" "$p" "$T")")
        echo "  $p loadavg before pair: $load"
    done
    best() { printf '%s\n' "$@" | sort -n | head -1; }
    echo "$p: agora best $(best "${ours[@]}") s (${ours[*]}), llama-quantize best $(best "${theirs[@]}") s (${theirs[*]})"
done

[ "${SPEED_ONLY:-0}" = 1 ] && exit 0
echo
echo "## Byte-exactness: every tensor of agora's output vs llama-quantize's, same F32 input"
for p in $EXACT_PRESETS; do
    [ -f "$WORK/agora-$p.gguf" ] || "$AGORA" quantize "$F32" "$WORK/agora-$p.gguf" --type "$p" -t "$T" >/dev/null 2>&1
    [ -f "$WORK/llama-$p.gguf" ] || "$BIN/llama-quantize" "$F32" "$WORK/llama-$p.gguf" "$p" "$T" >/dev/null 2>&1
    python3 "$ROOT/scripts/gguf_tensor_hashes.py" --compare "$WORK/agora-$p.gguf" "$WORK/llama-$p.gguf" |
        python3 -c "import json,sys; r=json.load(sys.stdin); print('$p: %d/%d tensors byte-identical, %d type mismatches; by type: %s' % (r['byte_identical'], r['tensors'], len(r['type_mismatch']), ', '.join('%s %d/%d' % (k, v['identical'], v['tensors']) for k, v in r['by_type'].items())))"
    [ "$p" = Q8_0 ] || [ "$p" = Q4_K_M ] || rm -f "$WORK/agora-$p.gguf" "$WORK/llama-$p.gguf"
done

echo
echo "## Quality vs the F32 model on $(basename "$TEXT"), ctx 512"
for p in $PRESETS; do
    for who in agora llama; do
        "$AGORA" kld "$F32" "$WORK/$who-$p.gguf" --text "$TEXT" --ctx 512 -t "$T" --json >"$WORK/kld-$who-$p.json" 2>/dev/null
        python3 -c "import json; r=json.load(open('$WORK/kld-$who-$p.json')); print('agora kld    %-6s from %-14s: KLD %.6f +/- %.6f, top-1 %.2f%%, PPL %.4f (F32 %.4f, delta %+.4f), dp rms %.3f%%, %d positions' % ('$p', '$who-quantize' if '$who'=='llama' else 'agora quantize', r['kld_mean'], r['kld_stderr'], 100*r['top1_agreement'], r['ppl_quant'], r['ppl_base'], r['ppl_delta'], 100*r['delta_p_rms'], r['scored_tokens']))"
    done
done
"$BIN/llama-perplexity" -m "$F32" -f "$TEXT" -c 512 -t "$T" --kl-divergence-base "$WORK/base.kld" >"$WORK/ppl-base.log" 2>&1
echo "llama-perplexity F32: $(grep -m1 'Final estimate' "$WORK/ppl-base.log")"
for p in $PRESETS; do
    for who in agora llama; do
        "$BIN/llama-perplexity" -m "$WORK/$who-$p.gguf" -c 512 -t "$T" --kl-divergence-base "$WORK/base.kld" --kl-divergence >"$WORK/ppl-$who-$p.log" 2>&1
        echo "llama-perplexity $p from $who: $(grep -E '^(Mean PPL\(Q\) |Mean +KLD|Same top p|RMS Δp)' "$WORK/ppl-$who-$p.log" | sed 's/  */ /g' | tr '\n' ';')"
    done
done
