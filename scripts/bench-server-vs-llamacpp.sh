#!/usr/bin/env bash
# Aggregate decode throughput of `agora serve` vs llama-server, side by side on this machine:
# the same model, the same number of slots, C concurrent streaming clients each generating exactly
# N tokens (ignore_eos) per request. Prints both and the ratio. Builds nothing: pass the folder
# holding a llama-server binary (from the llama-cpp-python sdist's vendor/llama.cpp, built by you).
#
#   scripts/bench-server-vs-llamacpp.sh /path/to/llama.cpp/build/bin [MODEL.gguf] [SLOTS] [TOKENS] [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:?usage: $0 LLAMA_CPP_BIN_DIR [MODEL.gguf] [SLOTS] [TOKENS] [THREADS]}
MODEL=${2:-$(./target/release/agora list --json | python3 -c 'import json,sys; print([m for m in json.load(sys.stdin) if m["name"]=="gemma3-270m"][0]["primary"])' 2>/dev/null || true)}
if [[ ! -f "$MODEL" ]]; then MODEL="${AGORA_HOME:-$HOME/.cache/agora}/models/gemma3-270m/gemma-3-270m-q4_k_m.gguf"; fi
SLOTS=${3:-8}
TOKENS=${4:-128}
THREADS=${5:-$(nproc)}
CTX=1024
PORT_A=18181
PORT_L=18182
cargo build --release --quiet
echo "load before: $(cat /proc/loadavg)"

run_load() {
  python3 scripts/loadtest.py --url "http://127.0.0.1:$1/v1" --model "$2" --clients "$SLOTS" --requests 2 --fixed "$TOKENS" --max-prompt-words 40 --json
}
wait_up() {
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$1/health" >/dev/null && return 0; sleep 0.1; done
  echo "server on port $1 did not start" >&2; return 1
}

./target/release/agora serve "$MODEL" --port $PORT_A --parallel "$SLOTS" --ctx $CTX -t "$THREADS" --model-id bench 2>/dev/null &
A=$!
trap 'kill $A $L 2>/dev/null || true' EXIT
wait_up $PORT_A
run_load $PORT_A bench > /tmp/bench-agora.json
kill $A; wait $A 2>/dev/null || true

"$BIN/llama-server" -m "$MODEL" --port $PORT_L -np "$SLOTS" -c $((CTX * SLOTS)) -t "$THREADS" --log-disable >/dev/null 2>&1 &
L=$!
wait_up $PORT_L
run_load $PORT_L bench > /tmp/bench-llama.json
kill $L; wait $L 2>/dev/null || true
echo "load after: $(cat /proc/loadavg)"

python3 - <<'PY'
import json
a = json.load(open("/tmp/bench-agora.json")); l = json.load(open("/tmp/bench-llama.json"))
for name, r in (("agora", a), ("llama-server", l)):
    print(f"{name:>13}: {r['aggregate_tokens_per_s']:.1f} tok/s aggregate, ttft p50 {r['ttft_p50_s']:.3f}s p99 {r['ttft_p99_s']:.3f}s, errors {r['errors']}")
print(f"ratio agora / llama-server: {a['aggregate_tokens_per_s'] / l['aggregate_tokens_per_s']:.2f}x")
PY
