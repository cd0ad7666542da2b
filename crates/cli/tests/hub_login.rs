//! `agora login / whoami / logout` against our own hub: the token is checked before it is stored,
//! stored private (0600) in $AGORA_HOME/hub-token, used by whoami (and push/pull), and removed.

mod hub_util;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use hub_util::{ok, start, Backend};

fn agora(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_agora"))
        .args(args)
        .env("AGORA_HOME", home)
        .env("HF_HOME", home.join("hf")) // not the user's own huggingface token
        .env_remove("HF_TOKEN")
        .env_remove("HF_ENDPOINT")
        .output()
        .expect("running agora")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn login_whoami_logout_against_our_hub() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    let home = dir.path().join("home");
    let b = Backend::Embedded;
    ok(&data, &b, &["user", "add", "alice"]);
    let token = ok(&data, &b, &["token", "new", "alice"]);
    let (_server, url) = start(&data, &b, &[], &[], "hub");
    let file = home.join("hub-token");

    // A wrong token is refused by the hub and nothing is stored.
    let o = agora(&home, &["login", "--token", "hf_wrong", "--endpoint", &url]);
    assert!(!o.status.success(), "login accepted a wrong token: {}", text(&o));
    assert!(text(&o).contains("401") && text(&o).contains("nothing was stored"), "{}", text(&o));
    assert!(!file.exists());

    let o = agora(&home, &["login", "--token", &token, "--endpoint", &url]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("as alice"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), token);
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600, "the token file is readable by others");
    assert!(std::fs::read_dir(&home).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().starts_with(".hub-token-")), "a temporary was left");

    let o = agora(&home, &["whoami", "--endpoint", &url]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "alice");
    let o = agora(&home, &["whoami", "--endpoint", &url, "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["name"], "alice");

    let o = agora(&home, &["logout"]);
    assert!(o.status.success() && !file.exists(), "{}", text(&o));
    let o = agora(&home, &["whoami", "--endpoint", &url]);
    assert!(!o.status.success());
    assert!(text(&o).contains("no token") && text(&o).contains("agora login"), "{}", text(&o));

    // An unreachable https hub is a clear error, not a panic.
    let o = agora(&home, &["whoami", "--endpoint", "https://127.0.0.1:1", "--token", "hf_x"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("cannot reach https://127.0.0.1:1") && !text(&o).contains("panicked"), "{}", text(&o));
}
