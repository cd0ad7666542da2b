//! The JSON shapes the client parses (ModelInfo / DatasetInfo, RepoFile / RepoFolder, GitRefs, commits).

use serde_json::{json, Map, Value};

use crate::hash::{lfs_pointer, sha1_hex};
use crate::ids::RepoType;
use crate::meta::{Commit, FileEntry, Repo};
use crate::time::iso;

pub struct InfoOptions {
    pub siblings: bool,
    /// Sizes, blob ids and LFS details of each file (`blobs=true`).
    pub blobs: bool,
    pub card: bool,
}

pub fn repo_info(repo: &Repo, head: &Commit, files: &[FileEntry], tags: &[String], o: &InfoOptions) -> Value {
    let id = repo.full_id();
    let mut m = Map::new();
    m.insert("_id".into(), json!(format!("{}-{}", repo.rtype.as_str(), repo.id)));
    m.insert("id".into(), json!(id));
    if repo.rtype == RepoType::Model {
        m.insert("modelId".into(), json!(id));
    }
    m.insert("author".into(), json!(repo.namespace));
    m.insert("sha".into(), json!(head.id));
    m.insert("lastModified".into(), json!(iso(head.time_ms)));
    m.insert("createdAt".into(), json!(iso(repo.created_ms)));
    m.insert("private".into(), json!(repo.private));
    m.insert("gated".into(), repo.gated.to_json());
    m.insert("disabled".into(), json!(false));
    m.insert("downloads".into(), json!(0));
    m.insert("likes".into(), json!(0));
    m.insert("tags".into(), json!(tags));
    let card: Option<Value> = head.card.as_deref().and_then(|c| serde_json::from_str(c).ok());
    if let Some(c) = &card {
        for key in ["library_name", "pipeline_tag"] {
            if let Some(v) = c.get(key) {
                m.insert(key.into(), v.clone());
            }
        }
        if o.card {
            m.insert("cardData".into(), c.clone());
        }
    }
    if o.siblings {
        let sib: Vec<Value> = files.iter().map(|f| sibling(f, o.blobs)).collect();
        m.insert("siblings".into(), Value::Array(sib));
        m.insert("usedStorage".into(), json!(files.iter().map(|f| f.size).sum::<u64>()));
    }
    Value::Object(m)
}

fn lfs_json(f: &FileEntry) -> Value {
    json!({ "oid": f.sha256, "sha256": f.sha256, "size": f.size, "pointerSize": lfs_pointer(&f.sha256, f.size).len() })
}

fn sibling(f: &FileEntry, blobs: bool) -> Value {
    if !blobs {
        return json!({ "rfilename": f.path });
    }
    let mut v = json!({ "rfilename": f.path, "size": f.size, "blobId": f.git_oid });
    if f.lfs {
        v["lfs"] = lfs_json(f);
    }
    v
}

pub fn tree_file(f: &FileEntry) -> Value {
    let mut v = json!({ "type": "file", "oid": f.git_oid, "size": f.size, "path": f.path });
    if f.lfs {
        v["lfs"] = lfs_json(f);
    }
    v
}

/// Folders have no stored id; this one is derived from the ids of everything under them.
pub fn tree_folder(path: &str, under: &[&FileEntry]) -> Value {
    let mut s = String::new();
    for f in under {
        s.push_str(&format!("{} {}\n", f.path, f.git_oid));
    }
    json!({ "type": "directory", "oid": sha1_hex(s.as_bytes()), "size": 0, "path": path })
}

pub fn commit(c: &Commit) -> Value {
    json!({
        "id": c.id,
        "title": c.title,
        "message": c.message,
        "authors": [{ "user": c.author }],
        "date": iso(c.time_ms),
    })
}
