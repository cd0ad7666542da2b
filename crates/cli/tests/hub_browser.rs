//! The hub's web pages in headless Chromium (tests/browser/hub_page.js): a hub is started, a gated
//! repo with a card (license, gate prompt, hostile HTML) and files is pushed with the official client,
//! then the page is checked in the browser. Screenshots land in target/browser-screenshots.

mod hub_util;
mod run_util;

use std::process::Command;

use hub_util::{ok, start, Backend};

const CARD: &str = r#"---
license: apache-2.0
extra_gated_prompt: Tell us what you will build with it.
---
# Card demo

A **tiny** model card.

| metric | value |
|---|---|
| loss | 1.0 |

<script>window.__pwned=1</script>

<img src=x onerror="window.__pwned2=1">

[click me](javascript:window.__pwned3=1)
"#;

#[test]
fn hub_repo_page_in_a_browser() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    let b = Backend::Embedded;
    ok(&data, &b, &["user", "add", "alice"]);
    let token = ok(&data, &b, &["token", "new", "alice", "--write"]);
    let (_server, url) = start(&data, &b, &[], &[], "hub");

    let files = dir.path().join("repo");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(files.join("README.md"), CARD).unwrap();
    std::fs::write(files.join("config.json"), r#"{"hidden_size": 8}"#).unwrap();
    std::fs::write(files.join("model.safetensors"), vec![7u8; 40_000]).unwrap();
    let push = r#"
import os, sys
from huggingface_hub import HfApi
api = HfApi(endpoint=os.environ["HF_ENDPOINT"], token=os.environ["TOKEN"])
api.create_repo("alice/card-demo")
api.upload_folder(repo_id="alice/card-demo", folder_path=sys.argv[1], commit_message="card and files")
api.update_repo_settings("alice/card-demo", gated="manual")
api.create_repo("alice/other-thing")
"#;
    let out = Command::new("python3")
        .args(["-c", push])
        .arg(&files)
        .env("HF_ENDPOINT", &url)
        .env("TOKEN", &token)
        .env("HF_HOME", dir.path().join("hf-home"))
        .env("HF_HUB_DISABLE_XET", "1")
        .env("HF_HUB_DISABLE_TELEMETRY", "1")
        .output()
        .expect("running python3 (pip install huggingface_hub==2.4.0)");
    assert!(out.status.success(), "pushing the demo repos failed: {}", String::from_utf8_lossy(&out.stderr));

    run_util::browser_test("hub_page.js", &[("HUB_URL", url.as_str()), ("HUB_REPO", "alice/card-demo"), ("HUB_OTHER", "alice/other-thing")]);
}
