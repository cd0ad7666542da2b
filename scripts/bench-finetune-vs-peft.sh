#!/usr/bin/env bash
# Training throughput: `agora finetune` against PEFT + PyTorch on the same CPU, model, data and LoRA
# shape (r 8, alpha 16, dropout 0.05, all 7 projections, 256-token packed sequences, 2 threads).
# Rounds alternate between the two so load changes hit both; prints each figure and the ratio.
#
#   scripts/bench-finetune-vs-peft.sh [MODEL.gguf] [DATA.jsonl] [ROUNDS]
#   PYTHON=/path/to/python (with torch, transformers, peft; default python3)  THREADS=2  STEPS=8
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-$HOME/.cache/agora/models/gemma3-270m/gemma-3-270m-q4_k_m.gguf}
DATA=${2:-datasets/fictional-kb/train.jsonl}
ROUNDS=${3:-2}
PYTHON=${PYTHON:-python3}
THREADS=${THREADS:-2}
STEPS=${STEPS:-8}
AGORA=./target/release/agora
[ -x "$AGORA" ] || cargo build --release -p cli
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
echo "load: $(cat /proc/loadavg)"
for round in $(seq "$ROUNDS"); do
  rm -rf "$OUT/a"
  a=$("$AGORA" finetune "$MODEL" --data "$DATA" --out "$OUT/a" --max-len 256 --rank 8 --alpha 16 --dropout 0.05 \
        --max-steps "$STEPS" --save-every 0 -t "$THREADS" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["summary"]["tokens_per_s"])')
  p=$("$PYTHON" scripts/bench_peft_train.py "$MODEL" "$DATA" --steps "$STEPS" --seq 256 --r 8 --threads "$THREADS" 2>/dev/null | tail -1 |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens_per_s"])')
  python3 -c "print(f'round $round: agora {float($a):.1f} tok/s | peft+torch {float($p):.1f} tok/s | ratio {float($a)/float($p):.2f}x')"
  echo "load: $(cat /proc/loadavg)"
done
