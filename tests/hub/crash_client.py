"""Helper for crates/cli/tests/hub_crash.rs (not a pytest file).

`write LOG`: commit files to alice/crash in a loop until the server dies; after each commit the
server acknowledged, append "commit path sha256" to LOG (flushed and fsynced), so the log names
only commits the server promised to keep.
`verify LOG`: every logged commit still exists and serves exactly the logged bytes.
"""

import hashlib
import os
import sys

os.environ["HF_HUB_DISABLE_XET"] = "1"
from huggingface_hub import HfApi, hf_hub_download  # noqa: E402

api = HfApi(endpoint=os.environ["HF_ENDPOINT"], token=os.environ["AGORA_HUB_ALICE"])
REPO = "alice/crash"


def write(log_path):
    api.create_repo(REPO, exist_ok=True)
    i = int.from_bytes(os.urandom(2), "little")
    with open(log_path, "a") as log:
        while True:
            i += 1
            # alternate inline files and LFS files big enough to be cut mid-upload
            if i % 2:
                name, data = f"small/{i}.txt", os.urandom(64).hex().encode()
            else:
                name, data = f"weights/{i}.bin", os.urandom(6 << 20)
            info = api.upload_file(path_or_fileobj=data, path_in_repo=name, repo_id=REPO, commit_message=f"c{i}")
            log.write(f"{info.oid} {name} {hashlib.sha256(data).hexdigest()}\n")
            log.flush()
            os.fsync(log.fileno())


def verify(log_path):
    lines = [l.split() for l in open(log_path) if l.strip()]
    assert lines, "the writer never got a commit acknowledged"
    history = {c.commit_id for c in api.list_repo_commits(REPO)}
    for commit, name, digest in lines:
        assert commit in history, f"acknowledged commit {commit} is gone"
        p = hf_hub_download(REPO, name, revision=commit, cache_dir=os.environ["VERIFY_CACHE"])
        assert hashlib.sha256(open(p, "rb").read()).hexdigest() == digest, f"{name}@{commit} changed"
    # the branch head is a complete commit: every file it lists downloads
    head = api.model_info(REPO, files_metadata=True)
    for s in head.siblings:
        hf_hub_download(REPO, s.rfilename, revision=head.sha, cache_dir=os.environ["VERIFY_CACHE"])
    print(f"verified {len(lines)} acknowledged commits; head {head.sha} has {len(head.siblings)} files")


if __name__ == "__main__":
    {"write": write, "verify": verify}[sys.argv[1]](sys.argv[2])
