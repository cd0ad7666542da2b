#!/usr/bin/env bash
# Side-by-side speed of agora and llama.cpp on the same GGUF file and thread count, same run.
# Builds llama.cpp from the llama-cpp-python sdist (cached outside the repo, never committed).
#
#   scripts/bench-vs-llamacpp.sh [MODEL.gguf] [THREADS] [ROUNDS]
#
# Env: LLAMA_CACHE (default ~/.cache/agora-bench), AGORA (default target/release/agora),
#      MAX_LOAD (default 0.5): the 1-minute load average each round waits for;
#      BUSY=1 adds a run with a competing busy process pinned to core 0, and prints the share of its
#      quiet speed each tool keeps; LOAD=1 adds process start to first token (wall seconds) and peak
#      RSS of `agora run -n 1` vs `llama-completion -n 1` at the same context (CTX, default 2048).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${1:-${AGORA_HOME:-$HOME/.cache/agora}/models/gemma3-270m/gemma-3-270m-q4_k_m.gguf}
THREADS=${2:-2}
ROUNDS=${3:-3}
CACHE=${LLAMA_CACHE:-$HOME/.cache/agora-bench}
AGORA=${AGORA:-target/release/agora}
P=${P:-512}
N=${N:-128}

build_llama() {
  local bench
  bench=$(find "$CACHE" -path '*build/bin/llama-bench' -type f 2>/dev/null | head -1)
  if [ -n "$bench" ]; then echo "$bench"; return; fi
  mkdir -p "$CACHE"
  (cd "$CACHE" && python3 -m pip download --quiet --no-deps --no-binary llama-cpp-python llama-cpp-python -d sdist >&2 \
    && tar xzf sdist/llama_cpp_python-*.tar.gz)
  local src
  src=$(ls -d "$CACHE"/llama_cpp_python-*/vendor/llama.cpp | head -1)
  cmake -S "$src" -B "$src/build" -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DCMAKE_BUILD_TYPE=Release >&2
  cmake --build "$src/build" -j"$(nproc)" --target llama-bench llama-completion >&2
  echo "$src/build/bin/llama-bench"
}

wait_quiet() {
  for _ in $(seq 1 60); do
    local load
    load=$(cut -d' ' -f1 /proc/loadavg)
    awk -v l="$load" -v m="${MAX_LOAD:-0.5}" 'BEGIN{exit !(l < m)}' && return
    sleep 5
  done
  echo "warning: machine not quiet (load $(cut -d' ' -f1 /proc/loadavg)); numbers are noisy" >&2
}

LLAMA_BENCH=$(build_llama)
[ -x "$AGORA" ] || cargo build --release >&2

# Prints "pp tg" tokens/s.
run_llama() {
  "$LLAMA_BENCH" -m "$MODEL" -t "$1" -p "$P" -n "$N" -r 3 -o json 2>/dev/null | python3 -c '
import json,sys
r=json.load(sys.stdin); pp=[x["avg_ts"] for x in r if x["n_prompt"]>0]; tg=[x["avg_ts"] for x in r if x["n_gen"]>0]
print(pp[0] if pp else 0, tg[0] if tg else 0)'
}
run_agora() {
  "$AGORA" bench "$MODEL" -t "$1" -p "$P" -n "$N" -r 3 --json 2>/dev/null | python3 -c '
import json,sys
r=json.load(sys.stdin)["results"]; d={x["test"][:2]:x["tokens_per_second"] for x in r}
print(d.get("pp",0), d.get("tg",0))'
}

report() {
  local label=$1 threads=$2
  local lp=() lt=() ap=() at=()
  for round in $(seq 1 "$ROUNDS"); do
    [ -n "${BUSY_PID:-}" ] || wait_quiet
    read -r p t < <(run_llama "$threads"); lp+=("$p"); lt+=("$t")
    read -r p t < <(run_agora "$threads"); ap+=("$p"); at+=("$t")
    echo "  round $round: llama.cpp pp ${lp[-1]} tg ${lt[-1]} | agora pp ${ap[-1]} tg ${at[-1]}" >&2
  done
  python3 - "$label" "$threads" "${lp[*]}" "${lt[*]}" "${ap[*]}" "${at[*]}" "$RESULTS" <<'PY'
import sys, statistics as st
label, threads = sys.argv[1], sys.argv[2]
lp, lt, ap, at = ([float(x) for x in a.split()] for a in sys.argv[3:7])
m = st.median
print(f"{label} threads={threads}: llama.cpp pp{m(lp):8.1f} tg{m(lt):7.1f} | agora pp{m(ap):8.1f} tg{m(at):7.1f} | ratio pp {m(ap)/m(lp):.2f}x tg {m(at)/m(lt):.2f}x")
with open(sys.argv[7], "a") as f:
    f.write(f"{label} {m(lp)} {m(lt)} {m(ap)} {m(at)}\n")
PY
}
RESULTS=$(mktemp)

echo "model $MODEL, rounds $ROUNDS, medians; load now $(cat /proc/loadavg)"
report quiet "$THREADS"
if [ "${BUSY:-0}" = 1 ]; then
  taskset -c 0 sh -c 'while :; do :; done' & BUSY_PID=$!
  trap '[ -n "${BUSY_PID:-}" ] && kill "$BUSY_PID" 2>/dev/null' EXIT
  report busy-core0 "$THREADS"
  kill "$BUSY_PID"; unset BUSY_PID
  python3 - "$RESULTS" <<'PY'
import sys
r = {l.split()[0]: [float(x) for x in l.split()[1:]] for l in open(sys.argv[1])}
q, b = r["quiet"], r["busy-core0"]
print(f"share of quiet speed kept with core 0 busy: llama.cpp pp {b[0]/q[0]:.0%} tg {b[1]/q[1]:.0%} | agora pp {b[2]/q[2]:.0%} tg {b[3]/q[3]:.0%}")
PY
fi

if [ "${LOAD:-0}" = 1 ]; then
  COMPLETION=$(dirname "$LLAMA_BENCH")/llama-completion
  [ -x "$COMPLETION" ] || cmake --build "$(dirname "$LLAMA_BENCH")/.." -j"$(nproc)" --target llama-completion >&2
  CTX=${CTX:-2048}
  # Prints "seconds peak_kb" of one command (GNU time), output discarded.
  timed() { /usr/bin/time -f '%e %M' "$@" </dev/null 2>&1 >/dev/null | tail -1; }
  la=() ll=() ma=() ml=()
  for round in $(seq 1 "$ROUNDS"); do
    wait_quiet
    read -r t kb < <(timed "$AGORA" run "$MODEL" -n 1 --temp 0 -t "$THREADS" -c "$CTX" "The capital of France is"); la+=("$t"); ma+=("$kb")
    read -r t kb < <(timed "$COMPLETION" -m "$MODEL" -n 1 --temp 0 -t "$THREADS" -c "$CTX" -p "The capital of France is" -no-cnv --simple-io); ll+=("$t"); ml+=("$kb")
  done
  python3 - "${la[*]}" "${ll[*]}" "${ma[*]}" "${ml[*]}" "$CTX" <<'PY'
import sys, statistics as st
la, ll, ma, ml = ([float(x) for x in a.split()] for a in sys.argv[1:5])
m = st.median
print(f"start to first token (ctx {sys.argv[5]}): agora {m(la):.2f} s, llama.cpp {m(ll):.2f} s | peak RSS agora {max(ma)/1024:.0f} MiB, llama.cpp {max(ml)/1024:.0f} MiB")
PY
fi
rm -f "$RESULTS"
