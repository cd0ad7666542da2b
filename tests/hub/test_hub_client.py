"""The agora hub driven by the official `huggingface_hub` client (pinned in .ci/run).

Started by crates/cli/tests/hub_client.rs, which creates the users and tokens and passes them in:
HF_ENDPOINT, AGORA_HUB_ALICE (write), AGORA_HUB_ALICE_READ (read), AGORA_HUB_BOB (write).
The server runs with --tree-page 3 and --max-file-size 16 MiB so pagination and size limits are exercised.
"""

import base64
import hashlib
import http.client
import json
import os
import pathlib
import urllib.parse

import httpx
import pytest

assert os.environ.get("HF_ENDPOINT"), "run through `cargo test -p cli --test hub_client`"
os.environ["HF_HUB_DISABLE_XET"] = "1"  # the hub speaks LFS, never Xet

import huggingface_hub  # noqa: E402  (the endpoint must be set before import)
from huggingface_hub import HfApi, hf_hub_download, snapshot_download  # noqa: E402
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError  # noqa: E402
from huggingface_hub.file_download import get_hf_file_metadata, hf_hub_url  # noqa: E402

PINNED = "2.4.0"
ENDPOINT = os.environ["HF_ENDPOINT"]
ALICE = os.environ["AGORA_HUB_ALICE"]
ALICE_READ = os.environ["AGORA_HUB_ALICE_READ"]
BOB = os.environ["AGORA_HUB_BOB"]
alice = HfApi(endpoint=ENDPOINT, token=ALICE)
alice_ro = HfApi(endpoint=ENDPOINT, token=ALICE_READ)
bob = HfApi(endpoint=ENDPOINT, token=BOB)

BIG = 11 * 1024 * 1024  # over the 10 MiB inline limit: LFS by size


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def test_client_is_the_pinned_version():
    assert huggingface_hub.__version__ == PINNED, f"pip install huggingface_hub=={PINNED} (found {huggingface_hub.__version__})"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """alice/demo with a card, small files, a nested folder, an LFS-by-suffix and an LFS-by-size file."""
    d = tmp_path_factory.mktemp("demo")
    files = {
        "README.md": b"---\nlicense: apache-2.0\nbase_model: google/gemma-3-270m\ntags: [agora-test, gguf]\npipeline_tag: text-generation\n---\n# Demo\n\nA test model.\n",
        "config.json": b'{"hidden_size": 8}\n',
        "tok/tokenizer.json": b'{"version": "1.0"}\n',
        "tok/extra/notes.txt": b"nested\n",
        "weights.safetensors": os.urandom(4096),
        "big.dat": os.urandom(BIG),
    }
    for name, data in files.items():
        p = d / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    url = alice.create_repo("alice/demo")
    assert str(url) == f"{ENDPOINT}/alice/demo"
    info = alice.upload_folder(folder_path=str(d), repo_id="alice/demo", commit_message="first upload")
    return {"files": files, "commit": info.oid, "dir": d}


def test_whoami():
    me = alice.whoami()
    assert me["name"] == "alice"
    assert me["auth"]["accessToken"]["role"] == "write"
    assert alice_ro.whoami()["auth"]["accessToken"]["role"] == "read"


def test_upload_folder_then_list_files_and_info(demo):
    names = set(alice.list_repo_files("alice/demo"))
    assert names == set(demo["files"]) | {".gitattributes"}
    info = alice.model_info("alice/demo", files_metadata=True)
    assert info.sha == demo["commit"]
    assert info.card_data["license"] == "apache-2.0"
    assert info.card_data["base_model"] == "google/gemma-3-270m"
    assert info.pipeline_tag == "text-generation"
    assert "license:apache-2.0" in info.tags and "agora-test" in info.tags
    sib = {s.rfilename: s for s in info.siblings}
    for name in ["big.dat", "weights.safetensors"]:
        assert sib[name].lfs is not None, f"{name} should have gone through LFS"
        assert sib[name].lfs.sha256 == sha256(demo["files"][name])
        assert sib[name].size == len(demo["files"][name])
    assert sib["config.json"].lfs is None
    # git blob id of a regular file, as git computes it
    data = demo["files"]["config.json"]
    assert sib["config.json"].blob_id == hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def test_tree_is_paginated_and_recursive(demo):
    entries = list(alice.list_repo_tree("alice/demo", recursive=True))
    files = sorted(e.path for e in entries if type(e).__name__ == "RepoFile")
    folders = sorted(e.path for e in entries if type(e).__name__ == "RepoFolder")
    assert files == sorted(set(demo["files"]) | {".gitattributes"})
    assert folders == ["tok", "tok/extra"]
    top = sorted(e.path for e in alice.list_repo_tree("alice/demo"))
    assert top == sorted([".gitattributes", "README.md", "big.dat", "config.json", "tok", "weights.safetensors"])
    sub = sorted(e.path for e in alice.list_repo_tree("alice/demo", path_in_repo="tok"))
    assert sub == ["tok/extra", "tok/tokenizer.json"]
    # the server pages by 3: the listing above must have followed Link headers
    r = httpx.get(f"{ENDPOINT}/api/models/alice/demo/tree/main", params={"recursive": "true"})
    assert r.status_code == 200 and len(r.json()) == 3 and 'rel="next"' in r.headers["link"]


def test_refs_and_commits(demo):
    refs = alice.list_repo_refs("alice/demo")
    assert [b.name for b in refs.branches] == ["main"]
    commits = alice.list_repo_commits("alice/demo")
    assert commits[0].commit_id == demo["commit"] and commits[0].title == "first upload"
    assert commits[-1].title == "initial commit"
    assert commits[0].authors == ["alice"]


def test_download_and_metadata(demo, tmp_path):
    p = hf_hub_download("alice/demo", "big.dat", cache_dir=tmp_path, token=ALICE)
    assert pathlib.Path(p).read_bytes() == demo["files"]["big.dat"]
    meta = get_hf_file_metadata(hf_hub_url("alice/demo", "big.dat", endpoint=ENDPOINT), token=ALICE)
    assert meta.commit_hash == demo["commit"]
    assert meta.etag == sha256(demo["files"]["big.dat"])
    assert meta.size == BIG
    # a byte range
    r = httpx.get(f"{ENDPOINT}/alice/demo/resolve/main/big.dat", headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == demo["files"]["big.dat"][10:20]
    assert r.headers["content-range"] == f"bytes 10-19/{BIG}"
    # anonymous read of a public repo works; a missing file is EntryNotFound with the commit
    r = httpx.head(f"{ENDPOINT}/alice/demo/resolve/main/nope.txt")
    assert r.status_code == 404 and r.headers["x-error-code"] == "EntryNotFound" and r.headers["x-repo-commit"] == demo["commit"]


def test_snapshot_download_at_a_revision(demo, tmp_path):
    first = demo["commit"]
    alice.upload_file(path_or_fileobj=b'{"hidden_size": 16}\n', path_in_repo="config.json", repo_id="alice/demo", commit_message="bigger")
    alice.delete_file("tok/extra/notes.txt", repo_id="alice/demo", commit_message="drop notes")
    alice.create_tag("alice/demo", tag="v1", revision=first)
    for rev in [first, "v1"]:
        snap = pathlib.Path(snapshot_download("alice/demo", revision=rev, cache_dir=tmp_path / rev, token=ALICE))
        assert (snap / "config.json").read_bytes() == b'{"hidden_size": 8}\n'
        assert (snap / "tok/extra/notes.txt").read_bytes() == b"nested\n"
        assert (snap / "big.dat").read_bytes() == demo["files"]["big.dat"]
    head = pathlib.Path(snapshot_download("alice/demo", cache_dir=tmp_path / "head", token=ALICE))
    assert (head / "config.json").read_bytes() == b'{"hidden_size": 16}\n'
    assert not (head / "tok/extra/notes.txt").exists()
    assert [t.name for t in alice.list_repo_refs("alice/demo").tags] == ["v1"]


def test_list_models_search_author_filter(demo):
    alice.create_repo("alice/another-one")
    assert str(alice.create_repo("alice/another-one", exist_ok=True)) == f"{ENDPOINT}/alice/another-one"
    with pytest.raises(HfHubHTTPError) as e:
        alice.create_repo("alice/another-one")
    assert e.value.response.status_code == 409
    bob.create_repo("bob/demo-copy")
    ids = [m.id for m in bob.list_models(search="demo")]
    assert set(ids) == {"alice/demo", "bob/demo-copy"}
    assert [m.id for m in bob.list_models(author="alice", search="demo")] == ["alice/demo"]
    assert [m.id for m in bob.list_models(filter="license:apache-2.0")] == ["alice/demo"]
    assert len(list(bob.list_models(limit=1))) == 1
    full = list(bob.list_models(search="alice/demo", full=True, cardData=True))
    assert full[0].card_data["license"] == "apache-2.0"
    assert {x.rfilename for x in full[0].siblings} == set(bob.list_repo_files("alice/demo"))


def test_private_repo_is_invisible_to_others(tmp_path):
    alice.create_repo("alice/secret", private=True)
    alice.upload_file(path_or_fileobj=b"hidden", path_in_repo="a.txt", repo_id="alice/secret")
    assert alice.model_info("alice/secret").private is True
    with pytest.raises(RepositoryNotFoundError):
        bob.model_info("alice/secret")
    with pytest.raises(RepositoryNotFoundError):
        hf_hub_download("alice/secret", "a.txt", cache_dir=tmp_path, token=BOB)
    r = httpx.get(f"{ENDPOINT}/alice/secret/resolve/main/a.txt")
    assert r.status_code == 404 and r.headers["x-error-code"] == "RepoNotFound"
    assert "alice/secret" not in [m.id for m in bob.list_models(author="alice")]
    assert "alice/secret" in [m.id for m in alice.list_models(author="alice")]
    # making it public shows it
    alice.update_repo_settings("alice/secret", private=False)
    assert bob.model_info("alice/secret").private is False


def test_gated_repo_refused_then_served_after_acceptance(tmp_path):
    alice.create_repo("alice/gated")
    alice.upload_file(path_or_fileobj=b"---\nlicense: gemma\nextra_gated_prompt: Accept the terms\n---\n", path_in_repo="README.md", repo_id="alice/gated")
    alice.upload_file(path_or_fileobj=b"secret weights", path_in_repo="w.bin", repo_id="alice/gated")
    alice.update_repo_settings("alice/gated", gated="auto")
    assert bob.model_info("alice/gated").gated == "auto"
    with pytest.raises(GatedRepoError):
        hf_hub_download("alice/gated", "w.bin", cache_dir=tmp_path / "a", token=BOB)
    # the card stays readable so the terms can be shown
    hf_hub_download("alice/gated", "README.md", cache_dir=tmp_path / "a", token=BOB)
    r = httpx.post(f"{ENDPOINT}/api/models/alice/gated/ask-access", headers={"Authorization": f"Bearer {BOB}"}, json={"reason": "research"})
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    p = hf_hub_download("alice/gated", "w.bin", cache_dir=tmp_path / "b", token=BOB)
    assert pathlib.Path(p).read_bytes() == b"secret weights"
    accepted = list(alice.list_accepted_access_requests("alice/gated"))
    assert [a.username for a in accepted] == ["bob"] and accepted[0].fields == {"reason": "research"}

    # manual gating: pending until the owner accepts
    alice.create_repo("alice/gated2")
    alice.upload_file(path_or_fileobj=b"w2", path_in_repo="w.bin", repo_id="alice/gated2")
    alice.update_repo_settings("alice/gated2", gated="manual")
    r = httpx.post(f"{ENDPOINT}/api/models/alice/gated2/ask-access", headers={"Authorization": f"Bearer {BOB}"})
    assert r.json()["status"] == "pending"
    with pytest.raises(GatedRepoError):
        hf_hub_download("alice/gated2", "w.bin", cache_dir=tmp_path / "c", token=BOB)
    assert [a.username for a in alice.list_pending_access_requests("alice/gated2")] == ["bob"]
    with pytest.raises(HfHubHTTPError):
        list(bob.list_pending_access_requests("alice/gated2"))  # not the owner
    alice.accept_access_request("alice/gated2", "bob")
    assert pathlib.Path(hf_hub_download("alice/gated2", "w.bin", cache_dir=tmp_path / "d", token=BOB)).read_bytes() == b"w2"
    # anonymous users are refused too
    r = httpx.get(f"{ENDPOINT}/alice/gated2/resolve/main/w.bin")
    assert r.status_code in (401, 403) and r.headers["x-error-code"] == "GatedRepo"


def test_wrong_scope_and_bad_tokens_are_refused():
    with pytest.raises(HfHubHTTPError) as e:
        alice_ro.create_repo("alice/nope")
    assert e.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as e:
        alice_ro.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/demo")
    assert e.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as e:
        bob.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/demo")
    assert e.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as e:
        bob.delete_repo("alice/demo")
    assert e.value.response.status_code == 403
    r = httpx.get(f"{ENDPOINT}/api/whoami-v2", headers={"Authorization": "Bearer hf_forged"})
    assert r.status_code == 401
    r = httpx.get(f"{ENDPOINT}/api/models/alice/demo", headers={"Authorization": "Bearer hf_forged"})
    assert r.status_code == 401
    assert alice.model_info("alice/demo").sha == alice.list_repo_commits("alice/demo")[0].commit_id


def ndjson(*items):
    return b"".join(json.dumps(i).encode() + b"\n" for i in items)


def test_path_traversal_is_refused_everywhere():
    head = alice.model_info("alice/demo").sha
    auth = {"Authorization": f"Bearer {ALICE}"}
    for url in [
        "/alice/demo/resolve/main/../../meta.sqlite",
        "/alice/demo/resolve/main/%2e%2e/%2e%2e/meta.sqlite",
        "/alice/demo/resolve/main/..%2F..%2Fmeta.sqlite",
        "/alice/demo/resolve/main/%2Fetc%2Fpasswd",
        "/alice/demo/resolve/main/a%5C..%5Cb",
        "/alice/demo/resolve/..%2F..%2Fmain/config.json",
        "/alice/%2e%2e/resolve/main/config.json",
        "/%2e%2e/demo/resolve/main/config.json",
        "/api/models/alice/demo/tree/main/%2e%2e",
        "/api/models/alice/demo/tree/main/..%2F..%2F",
        "/api/models/alice/demo/revision/..%2Fmain",
        "/api/models/%2e%2e/demo",
    ]:
        # http.client sends the target exactly as written (httpx would normalise literal dots)
        conn = http.client.HTTPConnection(urllib.parse.urlsplit(ENDPOINT).netloc, timeout=30)
        conn.request("GET", url, headers=auth)
        r = conn.getresponse()
        text = r.read().decode()
        conn.close()
        assert r.status == 400, f"{url}: {r.status} {text}"
    for bad in ["../evil.txt", "/abs.txt", "a/../../evil.txt", "a\\..\\evil", ".git/config"]:
        body = ndjson({"key": "header", "value": {"summary": "evil"}}, {"key": "file", "value": {"path": bad, "content": base64.b64encode(b"x").decode(), "encoding": "base64"}})
        r = httpx.post(f"{ENDPOINT}/api/models/alice/demo/commit/main", headers={**auth, "Content-Type": "application/x-ndjson"}, content=body)
        assert r.status_code == 400, f"{bad}: {r.status_code} {r.text}"
    r = httpx.post(f"{ENDPOINT}/api/models/alice/demo/preupload/main", headers=auth, json={"files": [{"path": "../x", "sample": "", "size": 1}]})
    assert r.status_code == 400
    assert alice.model_info("alice/demo").sha == head, "a refused request moved the branch"


def test_forged_parent_wrong_hash_and_oversized_uploads():
    from huggingface_hub import CommitOperationAdd

    auth = {"Authorization": f"Bearer {ALICE}"}
    commits = alice.list_repo_commits("alice/demo")
    head, stale = commits[0].commit_id, commits[-1].commit_id
    with pytest.raises(HfHubHTTPError) as e:
        alice.create_commit("alice/demo", [CommitOperationAdd("race.txt", b"r")], commit_message="race", parent_commit=stale)
    assert e.value.response.status_code == 412
    # an LFS object whose bytes do not hash to the announced oid is not stored
    claimed, real = b"A" * 1000, b"B" * 1000
    batch = {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": sha256(claimed), "size": 1000}], "hash_algo": "sha256"}
    r = httpx.post(f"{ENDPOINT}/alice/demo.git/info/lfs/objects/batch", headers=auth, json=batch)
    href = r.json()["objects"][0]["actions"]["upload"]["href"]
    r = httpx.put(href, content=real)
    assert r.status_code == 400 and "sha256 mismatch" in r.text
    r = httpx.put(href.replace("size=1000", "size=999"), content=real[:999])
    assert r.status_code == 403  # the signature covers the size
    body = ndjson({"key": "header", "value": {"summary": "ghost"}}, {"key": "lfsFile", "value": {"path": "ghost.bin", "algo": "sha256", "oid": sha256(claimed), "size": 1000}})
    r = httpx.post(f"{ENDPOINT}/api/models/alice/demo/commit/main", headers={**auth, "Content-Type": "application/x-ndjson"}, content=body)
    assert r.status_code == 400 and "never uploaded" in r.text
    # more bytes than announced
    r = httpx.put(href, content=claimed + b"extra")
    assert r.status_code == 413
    # over the server's file size limit (16 MiB in this test)
    big = {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": "0" * 64, "size": 17 << 20}], "hash_algo": "sha256"}
    r = httpx.post(f"{ENDPOINT}/alice/demo.git/info/lfs/objects/batch", headers=auth, json=big)
    assert r.json()["objects"][0]["error"]["code"] == 422
    r = httpx.post(f"{ENDPOINT}/api/models/alice/demo/preupload/main", headers=auth, json={"files": [{"path": "huge.bin", "sample": "", "size": 17 << 20}]})
    assert r.status_code == 413
    # the signed URL is refused for anyone tampering with the oid
    r = httpx.put(href.replace(sha256(claimed), sha256(real)), content=real)
    assert r.status_code == 403
    assert alice.model_info("alice/demo").sha == head


def test_invalid_card_metadata_is_refused():
    with pytest.raises(ValueError, match="license"):
        alice.upload_file(path_or_fileobj=b"---\nlicense: not-a-license\n---\n", path_in_repo="README.md", repo_id="alice/demo")
    # and directly, bypassing the client's own check
    body = ndjson({"key": "header", "value": {"summary": "bad card"}}, {"key": "file", "value": {"path": "README.md", "content": base64.b64encode(b"---\nbase_model: [1, 2]\n---\n").decode(), "encoding": "base64"}})
    r = httpx.post(f"{ENDPOINT}/api/models/alice/demo/commit/main", headers={"Authorization": f"Bearer {ALICE}", "Content-Type": "application/x-ndjson"}, content=body)
    assert r.status_code == 400 and "base_model" in r.text


def test_datasets_and_delete(tmp_path):
    alice.create_repo("alice/data", repo_type="dataset")
    alice.upload_file(path_or_fileobj=b"a,b\n1,2\n", path_in_repo="train.csv", repo_id="alice/data", repo_type="dataset")
    info = alice.dataset_info("alice/data")
    assert [s.rfilename for s in info.siblings] == [".gitattributes", "train.csv"]
    p = hf_hub_download("alice/data", "train.csv", repo_type="dataset", cache_dir=tmp_path, token=ALICE)
    assert pathlib.Path(p).read_bytes() == b"a,b\n1,2\n"
    assert [d.id for d in bob.list_datasets(author="alice")] == ["alice/data"]
    alice.delete_repo("alice/data", repo_type="dataset")
    with pytest.raises(RepositoryNotFoundError):
        alice.dataset_info("alice/data")


def test_web_pages_render_cards_safely(demo):
    r = httpx.get(f"{ENDPOINT}/alice/demo")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src" not in r.headers["content-security-policy"] and "default-src 'none'" in r.headers["content-security-policy"]
    page = r.text
    assert "<h1>Demo</h1>" in page and "License: <strong>apache-2.0</strong>" in page
    assert ">big.dat</a>" in page and "11.5 MB" in page and "first upload" in page
    alice.create_repo("alice/xss")
    card = b"---\nlicense: mit\n---\n# Hello\n<script>alert('x')</script>\n[click](javascript:alert(1)) <img src=x onerror=alert(2)>\n"
    alice.upload_file(path_or_fileobj=card, path_in_repo="README.md", repo_id="alice/xss")
    page = httpx.get(f"{ENDPOINT}/alice/xss").text
    assert "<h1>Hello</h1>" in page
    assert "<script" not in page and "&lt;script&gt;" in page
    assert 'href="javascript' not in page and "<img src=x" not in page
    gated = httpx.get(f"{ENDPOINT}/alice/gated").text
    assert "Gated repository" in gated and "Accept the terms" in gated and "License: <strong>gemma</strong>" in gated
    home = httpx.get(f"{ENDPOINT}/", params={"search": "demo"}).text
    assert 'href="/alice/demo"' in home and "alice/xss" not in home
    assert httpx.get(f"{ENDPOINT}/alice/secret").status_code in (200, 404)  # public again after the settings test
    assert httpx.get(f"{ENDPOINT}/alice/no-such-repo").status_code == 404
