//! Lineage records: an untouched chain verifies; changing any input byte, any signature byte or
//! any recipe field is detected and the broken link is named.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use card::keys::Keys;
use card::lineage::{self, Lineage};

struct Chain {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    raw: PathBuf,
    data: PathBuf,
    child: PathBuf,
    record: PathBuf,
}

fn recipe(kv: &[(&str, &str)]) -> BTreeMap<String, serde_json::Value> {
    kv.iter().map(|(k, v)| (k.to_string(), serde_json::Value::from(*v))).collect()
}

/// raw.bin -(converted)-> base/base.gguf -(finetune with data.jsonl)-> out/child.gguf
fn chain() -> Chain {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().to_path_buf();
    let keys = Keys::generate(&dir.join("keys"), false).unwrap();
    std::fs::create_dir_all(dir.join("base")).unwrap();
    std::fs::create_dir_all(dir.join("out")).unwrap();
    let raw = dir.join("raw.bin");
    std::fs::write(&raw, b"original weights").unwrap();
    let base = dir.join("base/base.gguf");
    std::fs::write(&base, b"converted weights").unwrap();
    let mut l = Lineage::build(&base, &[("base", &raw)], vec!["agora".into(), "convert".into()], recipe(&[("relation", "converted"), ("type", "f16")]), vec!["apache-2.0".into()], "2026-01-01T00:00:00Z".into()).unwrap();
    l.sign(&keys);
    l.write_beside(&base).unwrap();
    let data = dir.join("data.jsonl");
    std::fs::write(&data, b"{\"text\": \"hello\"}\n").unwrap();
    let child = dir.join("out/child.gguf");
    std::fs::write(&child, b"fine-tuned weights").unwrap();
    let mut c = Lineage::build(&child, &[("base", &base), ("dataset", &data)], vec!["agora".into(), "finetune".into()], recipe(&[("relation", "finetune"), ("lr", "0.0001")]), vec!["apache-2.0".into()], "2026-01-02T00:00:00Z".into()).unwrap();
    assert_eq!(c.parents.len(), 1, "the base's record is embedded");
    c.sign(&keys);
    let record = c.write_beside(&child).unwrap();
    Chain { _dir: t, dir, raw, data, child, record }
}

fn flip_byte(p: &Path, at: usize) {
    let mut b = std::fs::read(p).unwrap();
    let i = at.min(b.len() - 1);
    b[i] ^= 0x01;
    std::fs::write(p, b).unwrap();
}

fn edit_json(p: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(p, serde_json::to_string_pretty(&v).unwrap()).unwrap();
}

fn broken(c: &Chain) -> (usize, String, String) {
    let v = lineage::verify(&c.record).unwrap();
    let b = v.broken.expect("tampering must be detected");
    (b.depth, b.artifact, b.problem)
}

/// Flips one hex digit of a hex string (keeps it valid hex).
fn flip_hex(s: &str, at: usize) -> String {
    let mut c: Vec<char> = s.chars().collect();
    c[at] = if c[at] == '0' { '1' } else { '0' };
    c.into_iter().collect()
}

#[test]
fn an_untouched_chain_verifies_to_the_root() {
    let c = chain();
    assert_eq!(lineage::find(&c.child).as_deref(), Some(c.record.as_path()));
    let v = lineage::verify(&c.record).unwrap();
    assert!(v.broken.is_none(), "{:?}", v.broken);
    assert_eq!(v.links.len(), 2);
    assert_eq!(v.links[1].artifact, "base.gguf");
    assert!(v.links[0].checked.iter().any(|s| s.starts_with("dataset")), "{:?}", v.links[0].checked);
    assert!(v.links.iter().all(|l| l.signer.is_some()));
}

#[test]
fn a_changed_dataset_byte_is_named() {
    let c = chain();
    flip_byte(&c.data, 3);
    let (depth, art, p) = broken(&c);
    assert_eq!((depth, art.as_str()), (0, "child.gguf"));
    assert!(p.contains("dataset input") && p.contains("data.jsonl"), "{p}");
}

#[test]
fn a_changed_byte_two_links_up_is_named() {
    let c = chain();
    flip_byte(&c.raw, 0);
    let (depth, art, p) = broken(&c);
    assert_eq!((depth, art.as_str()), (1, "base.gguf"));
    assert!(p.contains("base input") && p.contains("raw.bin"), "{p}");
}

#[test]
fn a_changed_artifact_byte_is_named() {
    let c = chain();
    flip_byte(&c.child, 5);
    let (depth, _, p) = broken(&c);
    assert_eq!(depth, 0);
    assert!(p.starts_with("artifact"), "{p}");
}

#[test]
fn every_signature_byte_is_covered() {
    let c = chain();
    let orig = std::fs::read(&c.record).unwrap();
    for at in [0usize, 1, 31, 64, 127] {
        std::fs::write(&c.record, &orig).unwrap();
        edit_json(&c.record, |v| {
            let s = v["signature"]["value"].as_str().unwrap().to_string();
            v["signature"]["value"] = flip_hex(&s, at).into();
        });
        let (depth, _, p) = broken(&c);
        assert_eq!(depth, 0);
        assert!(p.starts_with("signature"), "hex digit {at}: {p}");
    }
    std::fs::write(&c.record, &orig).unwrap();
    edit_json(&c.record, |v| v["signature"]["public_key"] = flip_hex(v["signature"]["public_key"].as_str().unwrap(), 10).into());
    assert!(broken(&c).2.starts_with("signature"));
}

#[test]
fn a_parent_signature_byte_is_named() {
    let c = chain();
    edit_json(&c.record, |v| {
        let s = v["parents"][0]["signature"]["value"].as_str().unwrap().to_string();
        v["parents"][0]["signature"]["value"] = flip_hex(&s, 40).into();
    });
    // The parent is embedded in the signed content, so the top signature breaks first.
    let (depth, _, p) = broken(&c);
    assert_eq!(depth, 0);
    assert!(p.starts_with("signature"), "{p}");
}

#[test]
fn every_recipe_and_command_field_is_covered() {
    let c = chain();
    let orig = std::fs::read(&c.record).unwrap();
    let edits: Vec<(&str, Box<dyn Fn(&mut serde_json::Value)>)> = vec![
        ("recipe.lr", Box::new(|v| v["recipe"]["lr"] = "0.001".into())),
        ("recipe.relation", Box::new(|v| v["recipe"]["relation"] = "merge".into())),
        ("recipe added", Box::new(|v| v["recipe"]["extra"] = 1.into())),
        ("command", Box::new(|v| v["command"][1] = "merge".into())),
        ("tool", Box::new(|v| v["tool"] = "agora 9.9.9".into())),
        ("licenses", Box::new(|v| v["licenses"][0] = "mit".into())),
        ("input hash", Box::new(|v| v["inputs"][0]["sha256"] = "00".repeat(32).into())),
        ("parent recipe", Box::new(|v| v["parents"][0]["recipe"]["type"] = "q8_0".into())),
        ("created", Box::new(|v| v["created"] = "2027-01-01T00:00:00Z".into())),
    ];
    for (what, f) in edits {
        std::fs::write(&c.record, &orig).unwrap();
        edit_json(&c.record, f);
        let (depth, _, p) = broken(&c);
        assert_eq!(depth, 0, "{what}");
        assert!(p.contains("changed after signing"), "{what}: {p}");
    }
}

#[test]
fn a_resigned_parent_that_is_not_an_input_is_named() {
    // Someone swaps in another (validly signed) parent record: the link check catches it.
    let c = chain();
    let keys = Keys::load(&c.dir.join("keys")).unwrap().unwrap();
    let mut l = Lineage::read(&c.record).unwrap();
    l.parents[0].artifact.sha256 = "ab".repeat(32);
    l.parents[0].sign(&keys);
    l.sign(&keys);
    l.write_beside(&c.child).unwrap();
    let (depth, _, p) = broken(&c);
    assert_eq!(depth, 0);
    assert!(p.contains("none of this step's inputs"), "{p}");
}

#[test]
fn private_key_is_mode_0600_and_refuses_to_be_replaced() {
    let t = tempfile::tempdir().unwrap();
    let k = Keys::generate(t.path(), false).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&k.path).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::set_permissions(&k.path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Keys::load(t.path()).err().expect("a world-readable key is refused").to_string();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&k.path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    assert_eq!(Keys::load(t.path()).unwrap().unwrap().public_hex(), k.public_hex());
    assert!(Keys::generate(t.path(), false).is_err());
}
