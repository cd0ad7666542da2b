//! The shared backends: Postgres metadata and S3 blobs (SeaweedFS in CI). Run
//! `eval "$(scripts/hub-backends.sh start)"` first; without AGORA_TEST_PG / AGORA_TEST_S3 these tests
//! fail (they are never skipped).

use std::io::Read;
use std::sync::{Arc, Barrier};

use hub::blob::{put_bytes, BlobStore, Check, Expect, S3BlobStore, S3Location};
use hub::hash::{git_blob_oid, sha256_hex};
use hub::hub::IncomingOp;
use hub::ids::RepoType;
use hub::meta::{MetaStore, PgMeta, Scope};
use hub::{Backends, Hub, HubError, Limits};

fn env(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set: run `eval \"$(scripts/hub-backends.sh start)\"` first (these tests need Postgres and an S3 store)"))
}

fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{tag}_{}_{nanos}", std::process::id())
}

/// A fresh database on the test server; returns its URL.
fn fresh_db(tag: &str) -> String {
    let admin = env("AGORA_TEST_PG");
    let name = unique(tag);
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap_or_else(|e| panic!("connecting to AGORA_TEST_PG={admin}: {e}"));
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let (base, _) = admin.rsplit_once('/').expect("AGORA_TEST_PG ends in /DATABASE");
    format!("{base}/{name}")
}

fn fresh_s3(tag: &str) -> S3Location {
    let url = format!("{}/{}", env("AGORA_TEST_S3").trim_end_matches('/'), unique(tag));
    S3Location::parse(&url, Some(env("AGORA_TEST_S3_ENDPOINT"))).unwrap()
}

fn backends(tag: &str) -> Backends {
    let loc = fresh_s3(tag);
    Backends { db: Some(fresh_db(tag)), blobs: Some(format!("s3://{}/{}", loc.bucket, loc.prefix)), s3_endpoint: loc.endpoint }
}

fn regular(h: &Hub, path: &str, content: &[u8]) -> IncomingOp {
    let b = put_bytes(h.blobs.as_ref(), content).unwrap();
    IncomingOp::Regular { path: path.into(), sha256: b.sha256, size: b.size, git_oid: git_blob_oid(content) }
}

#[test]
fn postgres_and_s3_follow_the_same_rules() {
    let dir = tempfile::tempdir().unwrap();
    let h = Hub::open_backends(dir.path(), &backends("rules"), Limits::default()).unwrap();
    h.add_user("alice", None, None).unwrap();
    assert!(matches!(h.add_user("ALICE", None, None), Err(HubError::Conflict(_))), "names must compare case-insensitively");
    h.add_org("acme", "alice").unwrap();
    assert!(matches!(h.add_user("Acme", None, None), Err(HubError::Conflict(_))));
    let (secret, _) = h.new_token("alice", "w", Scope::Write).unwrap();
    let alice = h.authenticate(Some(&secret)).unwrap();
    assert_eq!(alice.user.as_deref(), Some("alice"));

    let repo = h.create_repo(&alice, RepoType::Model, "acme", "m", false).unwrap();
    assert!(h.create_repo(&alice, RepoType::Model, "ACME", "M", false).is_err(), "a repo id differing only in case was created twice");
    let c1 = h.commit(&alice, &repo, "main", "add a", "", None, vec![regular(&h, "a.txt", b"A"), regular(&h, "d/b.txt", b"B")]).unwrap();
    // A refused commit changes nothing.
    let err = h.commit(&alice, &repo, "main", "bad", "", None, vec![regular(&h, "c.txt", b"C"), IncomingOp::Delete { path: "missing".into() }]).unwrap_err();
    assert!(matches!(err, HubError::EntryNotFound(_)), "{err}");
    assert_eq!(h.resolve_rev(&repo, "main").unwrap(), c1.id);
    let err = h.commit(&alice, &repo, "main", "stale", "", Some(&c1.parent.clone().unwrap()), vec![regular(&h, "c.txt", b"C")]).unwrap_err();
    assert!(matches!(err, HubError::PreconditionFailed(_)), "{err}");
    let files: Vec<String> = h.meta.files(repo.id, &c1.id).unwrap().into_iter().map(|f| f.path).collect();
    assert_eq!(files, vec![".gitattributes", "a.txt", "d/b.txt"]);

    // Same commit ids as SQLite would give: the id is a function of the content, not the backend.
    let sq_dir = tempfile::tempdir().unwrap();
    let sq = Hub::open(sq_dir.path(), Limits::default()).unwrap();
    let f = h.meta.files(repo.id, &c1.id).unwrap();
    assert_eq!(hub::meta::commit_id(&f, c1.parent.as_deref(), &c1.author, c1.time_ms, &c1.title, &c1.message), c1.id);
    drop(sq);

    // Search and fsck over both remote stores.
    let q = hub::meta::RepoQuery {
        rtype: RepoType::Model,
        search: Some("CME/".into()),
        author: None,
        tags: vec![],
        viewer: None,
        sort: hub::meta::Sort::Id,
        descending: false,
        offset: 0,
        limit: 10,
    };
    assert_eq!(h.meta.list_repos(&q).unwrap().len(), 1);
    let r = h.fsck(true, &mut |_, _| {}).unwrap();
    assert!(r.ok(), "{r:?}");
    assert_eq!(r.referenced, 3, "{r:?}");
    assert!(r.stored >= 3, "{r:?}");
}

#[test]
fn two_servers_committing_on_one_parent_exactly_one_wins() {
    let dir = tempfile::tempdir().unwrap();
    let b = backends("race");
    let h = Hub::open_backends(dir.path(), &b, Limits::default()).unwrap();
    h.add_user("alice", None, None).unwrap();
    let (secret, _) = h.new_token("alice", "w", Scope::Write).unwrap();
    let alice = h.authenticate(Some(&secret)).unwrap();
    let repo = h.create_repo(&alice, RepoType::Model, "alice", "race", false).unwrap();
    // Two independent metadata stores (as two server processes would hold), racing from threads.
    let stores: Vec<Arc<PgMeta>> = (0..2).map(|_| Arc::new(PgMeta::open(b.db.as_deref().unwrap()).unwrap())).collect();
    let blob = put_bytes(h.blobs.as_ref(), b"x").unwrap();
    for round in 0..5 {
        let head = h.resolve_rev(&repo, "main").unwrap();
        let n = 8;
        let barrier = Arc::new(Barrier::new(n));
        let threads: Vec<_> = (0..n)
            .map(|i| {
                let (m, barrier, head, sha) = (stores[i % 2].clone(), barrier.clone(), head.clone(), blob.sha256.clone());
                std::thread::spawn(move || {
                    let c = hub::meta::NewCommit {
                        branch: "main".into(),
                        expected_parent: Some(head),
                        author: "alice".into(),
                        title: format!("round {round} writer {i}"),
                        message: String::new(),
                        time_ms: 1,
                        ops: vec![hub::meta::Op::Put(hub::meta::FileEntry { path: format!("f{round}_{i}"), sha256: sha, size: 1, git_oid: git_blob_oid(b"x"), lfs: false })],
                        card: hub::meta::CardChange::Keep,
                    };
                    barrier.wait();
                    m.apply_commit(repo.id, &c)
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(won.len(), 1, "round {round}: {} commits won on one parent: {results:?}", won.len());
        for r in &results {
            if let Err(e) = r {
                assert!(matches!(e, HubError::PreconditionFailed(_)), "round {round}: the losers must be told the parent moved: {e}");
            }
        }
        assert_eq!(won[0].parent.as_deref(), Some(head.as_str()));
        assert_eq!(h.resolve_rev(&repo, "main").unwrap(), won[0].id);
    }
    // History is linear: 5 winners on top of the first commit.
    let head = h.resolve_rev(&repo, "main").unwrap();
    assert_eq!(h.meta.files(repo.id, &head).unwrap().len(), 1 + 5);
}

#[test]
fn s3_blobs_are_visible_only_after_verification() {
    let s = S3BlobStore::open(&fresh_s3("blobs")).unwrap();
    let a = put_bytes(&s, b"hello world").unwrap();
    let again = put_bytes(&s, b"hello world").unwrap();
    assert_eq!(a, again);
    assert_eq!(a.sha256, sha256_hex(b"hello world"));
    assert_eq!(s.list().unwrap().len(), 1, "the same content was stored twice");
    let mut out = String::new();
    s.open(&a.sha256, 6).unwrap().read_to_string(&mut out).unwrap();
    assert_eq!(out, "world");
    let mut end = Vec::new();
    s.open(&a.sha256, 11).unwrap().read_to_end(&mut end).unwrap();
    assert!(end.is_empty());
    assert_eq!(s.check(&a.sha256).unwrap(), Check::Ok);

    // A wrong hash or size never reaches the bucket.
    let claimed = sha256_hex(b"what the client said");
    let mut w = s.writer(100).unwrap();
    w.write(b"something else").unwrap();
    let err = w.finish(Some(Expect { sha256: &claimed, size: 14 })).unwrap_err();
    assert!(err.to_string().contains("sha256 mismatch"), "{err}");
    assert_eq!(s.size(&claimed).unwrap(), None);
    let mut w = s.writer(4).unwrap();
    assert!(matches!(w.write(b"12345"), Err(HubError::TooLarge(_))));
    assert_eq!(s.list().unwrap().len(), 1);

    // A blob larger than one part goes up as a multipart upload and reads back whole.
    let big: Vec<u8> = (0..(17u32 << 20)).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let b = put_bytes(&s, &big).unwrap();
    assert_eq!(s.size(&b.sha256).unwrap(), Some(big.len() as u64));
    let mut back = Vec::new();
    s.open(&b.sha256, 0).unwrap().read_to_end(&mut back).unwrap();
    assert!(back == big, "the multipart blob did not read back byte-identically");
    assert_eq!(s.check(&b.sha256).unwrap(), Check::Ok);

    s.delete(&a.sha256).unwrap();
    assert_eq!(s.check(&a.sha256).unwrap(), Check::Missing);
    assert!(s.size("../../etc/passwd").is_err());
}

#[test]
fn wrong_backend_settings_fail_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let bad = |b: Backends| Hub::open_backends(dir.path(), &b, Limits::default()).err().expect("opened with bad settings").to_string();
    let e = bad(Backends { db: Some("mysql://x".into()), ..Default::default() });
    assert!(e.contains("postgres://"), "{e}");
    let e = bad(Backends { blobs: Some("gs://x".into()), ..Default::default() });
    assert!(e.contains("s3://"), "{e}");
    let e = bad(Backends { db: Some("postgres://nobody@127.0.0.1:1/x".into()), ..Default::default() });
    assert!(e.contains("cannot connect to Postgres"), "{e}");
    let e = bad(Backends { blobs: Some("s3://no-such-bucket-here".into()), s3_endpoint: Some(env("AGORA_TEST_S3_ENDPOINT")), ..Default::default() });
    assert!(e.contains("no-such-bucket-here"), "{e}");
}
