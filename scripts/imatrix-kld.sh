#!/usr/bin/env bash
# What an importance matrix buys: Gemma 3 270M (the store's Q4_K_M dequantized to F32) quantized with and
# without `--imatrix`, each measured with `agora kld` against the F32 file.
#
#   scripts/imatrix-kld.sh [CALIBRATION_TEXT] [EVAL_TEXT] [THREADS]
#
# Defaults: calibration = MPL-2.0 + LGPL-2.1 + Apache-2.0 + GFDL-1.3 from /usr/share/common-licenses,
# evaluation = GPL-3 (a different text, so the matrix is not judged on what it was fitted to); ctx 512.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
AGORA=${AGORA:-$ROOT/target/release/agora}
MODEL=${MODEL:-${AGORA_HOME:-$HOME/.cache/agora}/models/gemma3-270m/gemma-3-270m-q4_k_m.gguf}
L=/usr/share/common-licenses
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CAL=${1:-}
if [ -z "$CAL" ]; then CAL=$WORK/calibration.txt; cat $L/MPL-2.0 $L/LGPL-2.1 $L/Apache-2.0 $L/GFDL-1.3 >"$CAL"; fi
EVAL=${2:-$L/GPL-3}
T=${3:-2}
PRESETS=${PRESETS:-Q4_K_M Q3_K_M Q2_K}

"$AGORA" quantize "$MODEL" "$WORK/f32.gguf" --type f32 -t "$T" >/dev/null 2>&1
"$AGORA" imatrix "$WORK/f32.gguf" -f "$CAL" -c 512 -t "$T" -o "$WORK/imatrix.dat"
printf '| preset | imatrix | mean KLD | top-1 agreement | PPL(quant) (PPL(F32)) |\n|---|---|---|---|---|\n'
for p in $PRESETS; do
    for im in no yes; do
        extra=(); [ "$im" = yes ] && extra=(--imatrix "$WORK/imatrix.dat")
        "$AGORA" quantize "$WORK/f32.gguf" "$WORK/$p-$im.gguf" --type "$p" -t "$T" "${extra[@]}" >/dev/null 2>&1
        "$AGORA" kld "$WORK/f32.gguf" "$WORK/$p-$im.gguf" --text "$EVAL" --ctx 512 -t "$T" --json >"$WORK/k.json" 2>/dev/null
        python3 - "$p" "$im" "$WORK/k.json" <<'PY'
import json, sys
p, im, path = sys.argv[1:]
k = json.load(open(path))
print(f"| {p} | {im} | {k['kld_mean']:.6f} ± {k['kld_stderr']:.6f} | {100*k['top1_agreement']:.2f}% | {k['ppl_quant']:.4f} ({k['ppl_base']:.4f}) |")
PY
    done
done
