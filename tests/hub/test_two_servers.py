"""Two `agora hub serve` processes sharing Postgres and S3, as behind a load balancer.

Started by crates/cli/tests/hub_multi.rs, which passes AGORA_HUB_A and AGORA_HUB_B (the two servers'
URLs) and AGORA_HUB_ALICE (a write token). Uploads go through one server, downloads through the other,
and commits on one parent race through both: exactly one wins.
"""

import concurrent.futures
import hashlib
import os

os.environ["HF_HUB_DISABLE_XET"] = "1"

from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download  # noqa: E402
from huggingface_hub.errors import HfHubHTTPError  # noqa: E402

A = os.environ["AGORA_HUB_A"]
B = os.environ["AGORA_HUB_B"]
TOKEN = os.environ["AGORA_HUB_ALICE"]
api_a = HfApi(endpoint=A, token=TOKEN)
api_b = HfApi(endpoint=B, token=TOKEN)


def test_upload_through_one_download_through_the_other(tmp_path):
    api_a.create_repo("alice/shared")
    big = os.urandom(3 << 20)
    (tmp_path / "w.safetensors").write_bytes(big)  # LFS by suffix: batch, signed PUT, verify on A
    (tmp_path / "config.json").write_text('{"a": 1}')  # inline
    api_a.upload_folder(repo_id="alice/shared", folder_path=tmp_path, commit_message="via A")
    assert sorted(api_b.list_repo_files("alice/shared")) == [".gitattributes", "config.json", "w.safetensors"]
    p = hf_hub_download("alice/shared", "w.safetensors", endpoint=B, token=TOKEN, cache_dir=tmp_path / "cache")
    got = open(p, "rb").read()
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(big).hexdigest()
    assert api_a.model_info("alice/shared").sha == api_b.model_info("alice/shared").sha


def test_concurrent_commits_through_both_servers_exactly_one_wins():
    api_a.create_repo("alice/race")
    for rnd in range(4):
        head = api_a.model_info("alice/race").sha

        def commit(i):
            api = api_a if i % 2 == 0 else api_b
            op = CommitOperationAdd(path_in_repo=f"r{rnd}_{i}.txt", path_or_fileobj=f"round {rnd} writer {i}".encode())
            try:
                return api.create_commit("alice/race", [op], commit_message=f"r{rnd} w{i}", parent_commit=head).oid
            except HfHubHTTPError as e:
                return e.response.status_code

        with concurrent.futures.ThreadPoolExecutor(6) as ex:
            results = list(ex.map(commit, range(6)))
        won = [r for r in results if isinstance(r, str)]
        assert len(won) == 1, f"round {rnd}: {results}"
        assert all(r == 412 for r in results if not isinstance(r, str)), f"round {rnd}: losers must get 412: {results}"
        assert api_b.model_info("alice/race").sha == won[0]
        assert api_b.list_repo_commits("alice/race")[0].commit_id == won[0]
    assert len(api_b.list_repo_files("alice/race")) == 1 + 4
