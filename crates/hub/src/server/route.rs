//! URL -> route. The Hub's URLs are irregular (`{ns}/{name}.git/info/lfs/...`, revisions with encoded
//! slashes, file paths of any depth), so they are matched here by hand. Each raw segment is
//! percent-decoded on its own, then every name, revision and path is checked: `..`, `.`, absolute
//! and backslashed paths are refused whether they arrive plain or encoded.

use axum::http::Method;
use percent_encoding::percent_decode_str;

use crate::error::{HubError, Result};
use crate::ids::{check_namespace, check_ref_name, check_repo_name, check_repo_path, RepoType};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    pub rtype: RepoType,
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Whoami,
    CreateRepo,
    DeleteRepo,
    ValidateYaml,
    List(RepoType),
    Info(RepoRef, Option<String>),
    Tree { repo: RepoRef, rev: String, path: String },
    Refs(RepoRef),
    Commits(RepoRef, String),
    Preupload(RepoRef, String),
    Commit(RepoRef, String),
    Settings(RepoRef),
    Branch(RepoRef, String),
    Tag(RepoRef, String),
    AskAccess(RepoRef),
    AccessList(RepoRef, String),
    AccessHandle(RepoRef),
    AccessGrant(RepoRef),
    LfsBatch(RepoRef),
    LfsUpload(RepoRef, String),
    LfsVerify(RepoRef),
    Resolve { repo: RepoRef, rev: String, path: String },
    /// Web pages: the repo list and one repo.
    Home,
    Page(RepoRef),
}

fn decode(seg: &str) -> Result<String> {
    let s = percent_decode_str(seg).decode_utf8().map_err(|_| HubError::BadRequest("the URL is not valid UTF-8 after percent-decoding".into()))?;
    if s.contains('\0') {
        return Err(HubError::BadRequest("NUL bytes are not allowed in URLs".into()));
    }
    Ok(s.into_owned())
}

fn repo_ref(rtype: RepoType, ns: &str, name: &str) -> Result<RepoRef> {
    check_namespace(ns)?;
    check_repo_name(name)?;
    Ok(RepoRef { rtype, namespace: ns.into(), name: name.into() })
}

fn rev(s: &str) -> Result<String> {
    check_ref_name(s)?;
    Ok(s.to_string())
}

/// A path inside the repo from the remaining segments (each may itself hold encoded slashes).
fn repo_path(segs: &[String]) -> Result<String> {
    let p = segs.join("/");
    check_repo_path(&p)?;
    Ok(p)
}

pub fn parse(method: &Method, raw_path: &str) -> Result<Route> {
    let not_found = || HubError::NotFound(format!("no route for {method} {raw_path}"));
    let raw = raw_path.strip_prefix('/').ok_or_else(not_found)?;
    let segs: Vec<String> = raw.split('/').map(decode).collect::<Result<_>>()?;
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let get = *method == Method::GET || *method == Method::HEAD;
    let post = *method == Method::POST;
    match s.as_slice() {
        ["api", "whoami-v2"] if get => Ok(Route::Whoami),
        ["api", "repos", "create"] if post => Ok(Route::CreateRepo),
        ["api", "repos", "delete"] if *method == Method::DELETE => Ok(Route::DeleteRepo),
        ["api", "validate-yaml"] if post => Ok(Route::ValidateYaml),
        ["api", t @ ("models" | "datasets")] if get => Ok(Route::List(RepoType::parse(t)?)),
        ["api", "lfs-upload", t, ns, name, oid] if *method == Method::PUT => Ok(Route::LfsUpload(repo_ref(RepoType::parse(t)?, ns, name)?, oid.to_string())),
        ["api", "lfs-verify", t, ns, name] if post => Ok(Route::LfsVerify(repo_ref(RepoType::parse(t)?, ns, name)?)),
        ["api", t @ ("models" | "datasets" | "spaces"), ns, name, rest @ ..] => {
            let repo = repo_ref(RepoType::parse(t)?, ns, name)?;
            match rest {
                [] if get => Ok(Route::Info(repo, None)),
                ["revision", r @ ..] if get && !r.is_empty() => Ok(Route::Info(repo, Some(rev(&r.join("/"))?))),
                ["tree", r, p @ ..] if get => {
                    let path = if p.is_empty() || p == [""] { String::new() } else { repo_path(&segs[segs.len() - p.len()..])? };
                    Ok(Route::Tree { repo, rev: rev(r)?, path })
                }
                ["refs"] if get => Ok(Route::Refs(repo)),
                ["commits", r @ ..] if get && !r.is_empty() => Ok(Route::Commits(repo, rev(&r.join("/"))?)),
                ["preupload", r @ ..] if post && !r.is_empty() => Ok(Route::Preupload(repo, rev(&r.join("/"))?)),
                ["commit", r @ ..] if post && !r.is_empty() => Ok(Route::Commit(repo, rev(&r.join("/"))?)),
                ["settings"] if *method == Method::PUT => Ok(Route::Settings(repo)),
                ["branch", b @ ..] if (post || *method == Method::DELETE) && !b.is_empty() => Ok(Route::Branch(repo, rev(&b.join("/"))?)),
                ["tag", t @ ..] if (post || *method == Method::DELETE) && !t.is_empty() => Ok(Route::Tag(repo, rev(&t.join("/"))?)),
                ["ask-access"] if post => Ok(Route::AskAccess(repo)),
                ["user-access-request", "handle"] if post => Ok(Route::AccessHandle(repo)),
                ["user-access-request", "grant"] if post => Ok(Route::AccessGrant(repo)),
                ["user-access-request", st @ ("pending" | "accepted" | "rejected")] if get => Ok(Route::AccessList(repo, st.to_string())),
                _ => Err(not_found()),
            }
        }
        ["api", ..] => Err(not_found()),
        _ => {
            // Non-API URLs: `[datasets/]ns/name/resolve/...` and `[datasets/]ns/name.git/info/lfs/...`.
            let (rtype, rest) = match s.as_slice() {
                ["datasets", rest @ ..] => (RepoType::Dataset, rest),
                rest => (RepoType::Model, rest),
            };
            let offset = segs.len() - rest.len();
            match rest {
                [""] if get && rtype == RepoType::Model => Ok(Route::Home),
                [ns, name] if get => Ok(Route::Page(repo_ref(rtype, ns, name)?)),
                [ns, name, "resolve", r, p @ ..] if get && !p.is_empty() => {
                    let repo = repo_ref(rtype, ns, name)?;
                    let path = repo_path(&segs[offset + 4..])?;
                    Ok(Route::Resolve { repo, rev: rev(r)?, path })
                }
                [ns, name_git, "info", "lfs", "objects", "batch"] if post => {
                    let name = name_git.strip_suffix(".git").ok_or_else(not_found)?;
                    Ok(Route::LfsBatch(repo_ref(rtype, ns, name)?))
                }
                _ => Err(not_found()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(m: Method, path: &str) -> Result<Route> {
        parse(&m, path)
    }

    #[test]
    fn routes() {
        let r = p(Method::GET, "/alice/m/resolve/main/sub%2Fdir/config.json").unwrap();
        assert!(matches!(r, Route::Resolve { ref path, ref rev, .. } if path == "sub/dir/config.json" && rev == "main"));
        let r = p(Method::GET, "/api/datasets/alice/d/tree/feature%2Fx/data%2Ftrain").unwrap();
        assert!(matches!(r, Route::Tree { ref path, ref rev, .. } if path == "data/train" && rev == "feature/x"));
        let r = p(Method::GET, "/api/models/alice/m/tree/main").unwrap();
        assert!(matches!(r, Route::Tree { ref path, .. } if path.is_empty()));
        assert!(matches!(p(Method::POST, "/datasets/alice/d.git/info/lfs/objects/batch").unwrap(), Route::LfsBatch(RepoRef { rtype: RepoType::Dataset, .. })));
        assert_eq!(p(Method::GET, "/api/whoami-v2").unwrap(), Route::Whoami);
        assert!(matches!(p(Method::GET, "/api/models/alice/m/revision/v1.0").unwrap(), Route::Info(_, Some(ref r)) if r == "v1.0"));
    }

    #[test]
    fn traversal_is_refused_in_every_parameter() {
        for bad in [
            "/alice/m/resolve/main/../../../etc/passwd",
            "/alice/m/resolve/main/%2e%2e/%2e%2e/etc/passwd",
            "/alice/m/resolve/main/a%2F..%2F..%2Fb",
            "/alice/m/resolve/main/%2Fetc%2Fpasswd",
            "/alice/m/resolve/main//etc/passwd",
            "/alice/m/resolve/main/a%5C..%5Cb",
            "/alice/m/resolve/..%2F..%2Fx/file",
            "/alice/m/resolve/%2e%2e/file",
            "/%2e%2e/m/resolve/main/file",
            "/alice/%2e%2e/resolve/main/file",
            "/api/models/alice/m/tree/main/%2e%2e",
            "/api/models/alice/m/tree/%2e%2e%2fx",
            "/api/models/%2e%2e/m",
            "/api/models/alice/..",
            "/api/models/alice/m/revision/..%2Fmain",
            "/alice/m/resolve/main/a%00b",
        ] {
            match p(Method::GET, bad) {
                Err(HubError::BadRequest(_)) => {}
                other => panic!("{bad}: expected 400, got {other:?}"),
            }
        }
    }
}
