//! The stores through the hub's rules: commits are all-or-nothing, parents are checked, content is
//! stored once, tokens are kept only as hashes and can be revoked, and fsck finds damage.

use hub::blob::put_bytes;
use hub::hash::{git_blob_oid, sha256_hex};
use hub::hub::IncomingOp;
use hub::ids::RepoType;
use hub::meta::Scope;
use hub::{Hub, HubError, Limits};

fn hub() -> (tempfile::TempDir, Hub) {
    let dir = tempfile::tempdir().unwrap();
    let h = Hub::open(dir.path(), Limits::default()).unwrap();
    h.add_user("alice", None, None).unwrap();
    h.add_user("bob", None, None).unwrap();
    (dir, h)
}

fn regular(h: &Hub, path: &str, content: &[u8]) -> IncomingOp {
    let b = put_bytes(h.blobs.as_ref(), content).unwrap();
    IncomingOp::Regular { path: path.into(), sha256: b.sha256, size: b.size, git_oid: git_blob_oid(content) }
}

#[test]
fn a_failing_commit_changes_nothing() {
    let (_d, h) = hub();
    let (secret, _) = h.new_token("alice", "w", Scope::Write).unwrap();
    let alice = h.authenticate(Some(&secret)).unwrap();
    let repo = h.create_repo(&alice, RepoType::Model, "alice", "m", false).unwrap();
    let head0 = h.resolve_rev(&repo, "main").unwrap();
    let c1 = h.commit(&alice, &repo, "main", "add a", "", None, vec![regular(&h, "a.txt", b"A")]).unwrap();
    assert_eq!(c1.parent.as_deref(), Some(head0.as_str()));

    // A put followed by a delete of a missing file: the whole commit is refused.
    let err = h.commit(&alice, &repo, "main", "bad", "", None, vec![regular(&h, "b.txt", b"B"), IncomingOp::Delete { path: "missing.txt".into() }]).unwrap_err();
    assert!(matches!(err, HubError::EntryNotFound(_)), "{err}");
    assert_eq!(h.resolve_rev(&repo, "main").unwrap(), c1.id, "the branch moved on a refused commit");
    let files: Vec<String> = h.meta.files(repo.id, &c1.id).unwrap().into_iter().map(|f| f.path).collect();
    assert_eq!(files, vec![".gitattributes", "a.txt"]);

    // A stale parent (someone committed since) is refused with 412 semantics.
    let c2 = h.commit(&alice, &repo, "main", "add b", "", Some(&c1.id), vec![regular(&h, "b.txt", b"B")]).unwrap();
    let err = h.commit(&alice, &repo, "main", "racing", "", Some(&c1.id), vec![regular(&h, "c.txt", b"C")]).unwrap_err();
    assert!(matches!(err, HubError::PreconditionFailed(_)), "{err}");
    assert_eq!(h.resolve_rev(&repo, "main").unwrap(), c2.id);

    // An LFS entry whose object was never uploaded is refused; so is a wrong size.
    let ghost = sha256_hex(b"never uploaded");
    let err = h.commit(&alice, &repo, "main", "ghost", "", None, vec![IncomingOp::Lfs { path: "w.bin".into(), oid: ghost, size: Some(14) }]).unwrap_err();
    assert!(err.to_string().contains("never uploaded"), "{err}");
    let real = put_bytes(h.blobs.as_ref(), b"weights").unwrap();
    let err = h.commit(&alice, &repo, "main", "size", "", None, vec![IncomingOp::Lfs { path: "w.bin".into(), oid: real.sha256.clone(), size: Some(999) }]).unwrap_err();
    assert!(err.to_string().contains("does not match"), "{err}");
    // Traversal in a committed path.
    let err = h.commit(&alice, &repo, "main", "evil", "", None, vec![regular(&h, "../evil", b"x")]).unwrap_err();
    assert!(matches!(err, HubError::BadRequest(_)), "{err}");
    assert_eq!(h.resolve_rev(&repo, "main").unwrap(), c2.id);

    // Folder deletion and history.
    let c3 = h.commit(&alice, &repo, "main", "nested", "", None, vec![regular(&h, "d/x.txt", b"x"), regular(&h, "d/e/y.txt", b"y")]).unwrap();
    let c4 = h.commit(&alice, &repo, "main", "rm d", "", None, vec![IncomingOp::DeleteFolder { path: "d/".into() }]).unwrap();
    assert_eq!(h.meta.files(repo.id, &c3.id).unwrap().len(), 5);
    assert_eq!(h.meta.files(repo.id, &c4.id).unwrap().len(), 3);
    assert_eq!(h.resolve_rev(&repo, &c3.id).unwrap(), c3.id, "old commits stay addressable");
}

#[test]
fn content_is_stored_once_across_repos() {
    let (_d, h) = hub();
    let (secret, _) = h.new_token("alice", "w", Scope::Write).unwrap();
    let alice = h.authenticate(Some(&secret)).unwrap();
    let r1 = h.create_repo(&alice, RepoType::Model, "alice", "one", false).unwrap();
    let r2 = h.create_repo(&alice, RepoType::Dataset, "alice", "two", false).unwrap();
    let before = h.blobs.list().unwrap().len();
    h.commit(&alice, &r1, "main", "x", "", None, vec![regular(&h, "same.txt", b"shared bytes")]).unwrap();
    h.commit(&alice, &r2, "main", "x", "", None, vec![regular(&h, "other/name.txt", b"shared bytes")]).unwrap();
    assert_eq!(h.blobs.list().unwrap().len(), before + 1);
    // Creating a repo that exists is a conflict; a model and a dataset may share a name.
    assert!(matches!(h.create_repo(&alice, RepoType::Model, "alice", "ONE", false), Err(HubError::Conflict(_))));
    h.create_repo(&alice, RepoType::Dataset, "alice", "one", false).unwrap();
}

#[test]
fn access_rules_and_tokens() {
    let (dir, h) = hub();
    let (a_write, _) = h.new_token("alice", "w", Scope::Write).unwrap();
    let (a_read, _) = h.new_token("alice", "r", Scope::Read).unwrap();
    let (b_write, btok) = h.new_token("bob", "w", Scope::Write).unwrap();
    let alice = h.authenticate(Some(&a_write)).unwrap();
    let alice_ro = h.authenticate(Some(&a_read)).unwrap();
    let bob = h.authenticate(Some(&b_write)).unwrap();

    // Read scope cannot write; nobody writes into another's namespace.
    assert!(matches!(h.create_repo(&alice_ro, RepoType::Model, "alice", "x", false), Err(HubError::Forbidden(_))));
    assert!(matches!(h.create_repo(&bob, RepoType::Model, "alice", "x", false), Err(HubError::Forbidden(_))));
    h.create_repo(&alice, RepoType::Model, "alice", "secret", true).unwrap();
    assert!(h.find_repo(&alice_ro, RepoType::Model, "alice", "secret").is_ok());
    assert!(matches!(h.find_repo(&bob, RepoType::Model, "alice", "secret"), Err(HubError::RepoNotFound(_))));
    assert!(matches!(h.find_repo(&hub::Caller::anonymous(), RepoType::Model, "alice", "secret"), Err(HubError::RepoNotFound(_))));

    // Organizations: members with write role write, read role only reads private repos.
    h.add_org("lab", "alice").unwrap();
    h.meta.set_member("lab", "bob", Some(hub::meta::Role::Read)).unwrap();
    let lab_private = h.create_repo(&alice, RepoType::Model, "lab", "p", true).unwrap();
    assert!(h.find_repo(&bob, RepoType::Model, "lab", "p").is_ok());
    assert!(matches!(h.commit(&bob, &lab_private, "main", "x", "", None, vec![regular(&h, "a", b"a")]), Err(HubError::Forbidden(_))));
    h.meta.set_member("lab", "bob", Some(hub::meta::Role::Write)).unwrap();
    h.commit(&bob, &lab_private, "main", "x", "", None, vec![regular(&h, "a", b"a")]).unwrap();

    // Tokens are stored hashed, and revocation takes effect at once.
    let db = std::fs::read(dir.path().join("meta.sqlite")).unwrap();
    let wal = std::fs::read(dir.path().join("meta.sqlite-wal")).unwrap_or_default();
    for secret in [&a_write, &a_read, &b_write] {
        let needle = secret.as_bytes();
        assert!(!db.windows(needle.len()).any(|w| w == needle) && !wal.windows(needle.len()).any(|w| w == needle), "a token is stored in clear");
    }
    assert!(h.meta.revoke_token("bob", btok.id).unwrap());
    assert!(matches!(h.authenticate(Some(&b_write)), Err(HubError::Unauthorized(_))));
    assert!(matches!(h.authenticate(Some("hf_made_up")), Err(HubError::Unauthorized(_))));
}

#[test]
fn cards_are_checked_on_commit() {
    let (_d, h) = hub();
    let (secret, _) = h.new_token("alice", "w", Scope::Write).unwrap();
    let alice = h.authenticate(Some(&secret)).unwrap();
    let repo = h.create_repo(&alice, RepoType::Model, "alice", "m", false).unwrap();
    let err = h.commit(&alice, &repo, "main", "card", "", None, vec![regular(&h, "README.md", b"---\nlicense: nope\n---\n")]).unwrap_err();
    assert!(err.to_string().contains("license"), "{err}");
    let c = h.commit(&alice, &repo, "main", "card", "", None, vec![regular(&h, "README.md", b"---\nlicense: mit\ntags: [demo]\n---\n# M\n")]).unwrap();
    assert!(c.card.unwrap().contains("\"mit\""));
    assert!(h.meta.repo_tags(repo.id).unwrap().contains(&"license:mit".to_string()));
    // A later commit that does not touch the card keeps it.
    let c2 = h.commit(&alice, &repo, "main", "more", "", None, vec![regular(&h, "x.txt", b"x")]).unwrap();
    assert!(c2.card.is_some());
}

#[test]
fn fsck_finds_missing_and_corrupt_blobs() {
    let (dir, h) = hub();
    let (secret, _) = h.new_token("alice", "w", Scope::Write).unwrap();
    let alice = h.authenticate(Some(&secret)).unwrap();
    let repo = h.create_repo(&alice, RepoType::Model, "alice", "m", false).unwrap();
    h.commit(&alice, &repo, "main", "x", "", None, vec![regular(&h, "a.txt", b"aaa"), regular(&h, "b.txt", b"bbb")]).unwrap();
    put_bytes(h.blobs.as_ref(), b"orphan").unwrap();
    let r = h.fsck(true, &mut |_, _| {}).unwrap();
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.orphans, 1);

    let blob = |c: &[u8]| {
        let s = sha256_hex(c);
        dir.path().join("blobs/sha256").join(&s[..2]).join(&s[2..4]).join(&s)
    };
    std::fs::write(blob(b"aaa"), b"AAA").unwrap();
    std::fs::remove_file(blob(b"bbb")).unwrap();
    std::fs::write(dir.path().join("blobs/tmp/upload-crashed"), b"half").unwrap();
    let r = h.fsck(true, &mut |_, _| {}).unwrap();
    assert!(!r.ok());
    assert_eq!(r.corrupt, vec![sha256_hex(b"aaa")]);
    assert_eq!(r.missing, vec![sha256_hex(b"bbb")]);
    assert_eq!(r.temporaries_removed, 1);
}

#[test]
fn model_cards_are_checked_against_the_license_knowledge_base() {
    let (_d, h) = hub();
    let (secret, _) = h.new_token("alice", "w", Scope::Write).unwrap();
    let alice = h.authenticate(Some(&secret)).unwrap();
    let repo = h.create_repo(&alice, RepoType::Model, "alice", "merged", false).unwrap();
    let head0 = h.resolve_rev(&repo, "main").unwrap();
    // A relation without the base model it relates to: the card crate's validation refuses it
    // (the hub's own front-matter parser alone would have accepted it).
    let invalid = b"---\nlicense: apache-2.0\nbase_model_relation: finetune\n---\n# Tuned\n";
    let err = h.commit(&alice, &repo, "main", "card", "", None, vec![regular(&h, "README.md", invalid)]).unwrap_err().to_string();
    assert!(err.contains("Invalid model card") && err.contains("base_model"), "{err}");
    assert_eq!(h.resolve_rev(&repo, "main").unwrap(), head0, "a refused card must not move the branch");
    // A dataset repo's card is not a model card: the model rules do not apply.
    let ds = h.create_repo(&alice, RepoType::Dataset, "alice", "data", false).unwrap();
    h.commit(&alice, &ds, "main", "card", "", None, vec![regular(&h, "README.md", b"---\nlicense: cc-by-sa-4.0\n---\n# Data\n")]).unwrap();
    // A sound card passes.
    h.commit(&alice, &repo, "main", "card", "", None, vec![regular(&h, "README.md", b"---\nlicense: apache-2.0\n---\n# Fine\n")]).unwrap();
}
