"""Per-request LoRA adapters through the official `openai` Python SDK.

Started by crates/cli/tests/lora_serve.rs: `agora serve BASE_DIR --model-id BASE_ID --lora a=DIR_A
--lora b=DIR_B --parallel 6`. Env: AGORA_BASE_URL, AGORA_BIN (the agora binary), BASE_ID, BASE_DIR,
LORA_A, LORA_B (the adapter folders), AGORA_HOME.
"""

import concurrent.futures
import json
import os
import subprocess
import urllib.request

import openai
import pytest

BASE_URL = os.environ["AGORA_BASE_URL"]
BASE_ID = os.environ["BASE_ID"]
BASE_DIR = os.environ["BASE_DIR"]
ADAPTERS = {"a": os.environ["LORA_A"], "b": os.environ["LORA_B"]}
PROMPTS = ["Hello world", "The quick brown fox", "Once upon a time there"]
N = 12


@pytest.fixture(scope="module")
def client():
    return openai.OpenAI(base_url=BASE_URL, api_key="none", max_retries=0, timeout=120)


def agora_run(prompt, lora=None):
    """`agora run BASE [--lora DIR] -n N --temp 0 --json PROMPT`: the adapter baked into the weights."""
    args = [os.environ["AGORA_BIN"], "run", BASE_DIR, "-n", str(N), "--temp", "0", "--json", "-t", "1"]
    if lora:
        args += ["--lora", lora]
    out = subprocess.run(args + [prompt], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["text"]


def test_models_list_shows_each_adapter_as_a_model_of_the_base(client):
    models = {m.id: m for m in client.models.list().data}
    assert list(models) == [BASE_ID, "a", "b"]
    base = models[BASE_ID].model_dump()
    assert base["agora"]["adapters"] == ["a", "b"]
    assert base["root"] == BASE_ID and base["parent"] is None
    for name in ADAPTERS:
        m = models[name].model_dump()
        assert m["parent"] == BASE_ID and m["root"] == BASE_ID, m
        assert m["agora"]["base_model"] == [BASE_ID], m
        assert m["agora"]["adapters"] == []
        assert client.models.retrieve(name).id == name


def test_concurrent_requests_on_base_and_adapters_equal_agora_run(client):
    # Every (model, prompt) pair at once: the scheduler batches base and adapter rows together.
    jobs = [(model, p) for p in PROMPTS for model in [BASE_ID, *ADAPTERS]]

    def complete(job):
        model, p = job
        r = client.completions.create(model=model, prompt=p, max_tokens=N, temperature=0)
        assert r.model == model
        return r.choices[0].text

    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as ex:
        got = dict(zip(jobs, ex.map(complete, jobs)))
    for (model, p), text in got.items():
        want = agora_run(p, ADAPTERS.get(model))
        assert text == want, f"{model} on {p!r}: server {text!r}, agora run {want!r}"
    # The adapters change the answers (so the comparison can fail).
    for p in PROMPTS[:1]:
        assert got[("a", p)] != got[(BASE_ID, p)] and got[("b", p)] != got[(BASE_ID, p)], got


def test_concurrent_chat_completions_equal_each_model_alone(client):
    def chat(model):
        r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Tell me a story."}], max_tokens=N, temperature=0)
        return r.choices[0].message.content

    names = [BASE_ID, *ADAPTERS] * 2
    with concurrent.futures.ThreadPoolExecutor(len(names)) as ex:
        together = list(ex.map(chat, names))
    alone = {m: chat(m) for m in [BASE_ID, *ADAPTERS]}
    for m, text in zip(names, together):
        assert text == alone[m], f"{m}: batched {text!r}, alone {alone[m]!r}"
    assert len(set(alone.values())) == 3, alone


def test_streaming_on_an_adapter_equals_non_streaming(client):
    kw = dict(model="b", prompt=PROMPTS[1], max_tokens=N, temperature=0)
    text = "".join(c.choices[0].text for c in client.completions.create(stream=True, **kw) if c.choices)
    assert text == client.completions.create(**kw).choices[0].text


def test_unknown_adapter_is_a_404_naming_the_choices(client):
    with pytest.raises(openai.NotFoundError) as e:
        client.chat.completions.create(model="c", messages=[{"role": "user", "content": "hi"}], max_tokens=2)
    err = e.value.body
    assert err["code"] == "model_not_found" and err["param"] == "model", err
    for name in [BASE_ID, "a", "b"]:
        assert name in err["message"], err


def test_metrics_count_requests_per_adapter(client):
    def count():
        with urllib.request.urlopen(BASE_URL.removesuffix("/v1") + "/metrics") as r:
            lines = r.read().decode().splitlines()
        out = {}
        for line in lines:
            if line.startswith("agora_adapter_requests_total{"):
                label, value = line.rsplit(" ", 1)
                out[label] = float(value)
        return out

    before = count()
    client.completions.create(model="a", prompt="x", max_tokens=1, temperature=0)
    after = count()
    key = f'agora_adapter_requests_total{{model="{BASE_ID}",adapter="a"}}'
    assert after[key] == before[key] + 1, after
    base_key = f'agora_adapter_requests_total{{model="{BASE_ID}",adapter=""}}'
    assert after[base_key] == before[base_key], after


def test_embeddings_on_an_adapter_use_its_hidden_states(client):
    emb = {m: client.embeddings.create(model=m, input="hello there").data[0].embedding for m in [BASE_ID, "a"]}
    assert len(emb["a"]) == len(emb[BASE_ID])
    assert max(abs(x - y) for x, y in zip(emb["a"], emb[BASE_ID])) > 1e-3
