#!/usr/bin/env python3
"""Load test for an OpenAI-compatible server (agora serve, llama-server, ...).

N concurrent streaming clients, each sending REQUESTS requests with random prompt and output
lengths; a share of them hang up early. Reports errors, p50/p99 time to first token, and the
aggregate generated tokens per second; for agora it then checks /metrics: nothing running and no
key/value memory left in use (no leak after cancellations).

  python3 scripts/loadtest.py --url http://127.0.0.1:8080/v1 --model gemma3-270m --clients 32
  python3 scripts/loadtest.py ... --clients 8 --fixed 128 --json   # throughput benchmark mode

Needs: pip install httpx
"""

import argparse
import asyncio
import json
import random
import statistics
import time

import httpx

WORDS = "the of and to in is was for on that with as by at from his her an it be which or are this had not".split()


def percentile(xs, q):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(q / 100 * (len(xs) - 1)))))
    return xs[k]


async def one_request(http, args, rng, stats):
    n_words = rng.randint(4, args.max_prompt_words)
    prompt = "Write a story. " + " ".join(rng.choice(WORDS) for _ in range(n_words))
    max_tokens = args.fixed or rng.randint(8, args.max_tokens)
    disconnect_after = rng.randint(1, 8) if rng.random() < args.disconnect else None
    body = {"model": args.model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0.8, "seed": rng.randint(0, 1 << 30), "stream": True}
    if args.fixed:
        body["ignore_eos"] = True
    t0 = time.perf_counter()
    first = None
    tokens = 0
    try:
        async with http.stream("POST", args.url + "/completions", json=body, headers={"Authorization": "Bearer " + args.key}) as r:
            if r.status_code != 200:
                stats["errors"].append(f"HTTP {r.status_code}: {(await r.aread())[:200]!r}")
                return
            async for line in r.aiter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[6:]
                if data == "[DONE]":
                    break
                chunk = json.loads(data)
                if "error" in chunk:
                    stats["errors"].append(str(chunk["error"]))
                    return
                for c in chunk.get("choices", []):
                    if c.get("text") is not None and c.get("finish_reason") is None:
                        tokens += 1
                        if first is None:
                            first = time.perf_counter() - t0
                if disconnect_after is not None and tokens >= disconnect_after:
                    stats["disconnected"] += 1
                    break
    except httpx.HTTPError as e:
        stats["errors"].append(repr(e))
        return
    if first is not None:
        stats["ttft"].append(first)
    stats["tokens"] += tokens
    stats["requests"] += 1


async def client(http, args, seed, stats):
    rng = random.Random(seed)
    for _ in range(args.requests):
        await one_request(http, args, rng, stats)


async def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="base URL ending in /v1")
    p.add_argument("--model", required=True)
    p.add_argument("--key", default="none")
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--requests", type=int, default=2, help="requests per client")
    p.add_argument("--max-tokens", type=int, default=96)
    p.add_argument("--max-prompt-words", type=int, default=120)
    p.add_argument("--disconnect", type=float, default=0.10, help="share of requests that hang up early")
    p.add_argument("--fixed", type=int, default=0, help="every request generates exactly this many tokens (ignore_eos), no disconnects")
    p.add_argument("--check-agora-metrics", action="store_true")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.fixed:
        args.disconnect = 0.0
    stats = {"ttft": [], "tokens": 0, "requests": 0, "errors": [], "disconnected": 0}
    limits = httpx.Limits(max_connections=args.clients * 2)
    async with httpx.AsyncClient(timeout=600, limits=limits) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(http, args, 1000 + i, stats) for i in range(args.clients)))
        wall = time.perf_counter() - t0
        leak = None
        if args.check_agora_metrics:
            base = args.url.removesuffix("/v1")
            for _ in range(200):
                text = (await http.get(base + "/metrics")).text
                m = {l.rsplit(" ", 1)[0]: float(l.rsplit(" ", 1)[1]) for l in text.splitlines() if l and not l.startswith("#")}
                if m["agora_requests_running"] == 0 and m["agora_queue_depth"] == 0:
                    break
                await asyncio.sleep(0.05)
            leak = {"running": m["agora_requests_running"], "queued": m["agora_queue_depth"], "kv_cache_used_bytes": m["agora_kv_cache_used_bytes"]}
    report = {
        "clients": args.clients,
        "requests_completed": stats["requests"],
        "disconnected_early": stats["disconnected"],
        "errors": len(stats["errors"]),
        "ttft_p50_s": percentile(stats["ttft"], 50),
        "ttft_p99_s": percentile(stats["ttft"], 99),
        "generated_tokens": stats["tokens"],
        "wall_s": wall,
        "aggregate_tokens_per_s": stats["tokens"] / wall,
        "after": leak,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for k, v in report.items():
            print(f"{k:>24}: {v}")
        for e in stats["errors"][:5]:
            print("error:", e)
    ok = not stats["errors"] and (leak is None or (leak["running"] == 0 and leak["kv_cache_used_bytes"] == 0))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    asyncio.run(main())
