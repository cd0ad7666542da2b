//! A client for any Hub-compatible endpoint (this hub, or another that speaks the same protocol):
//! repo info, verified downloads into a folder, and pushes (preupload -> LFS -> commit).
//! Plain HTTP only in this build: https endpoints need a TLS-enabled HTTP client (not yet built in).

mod download;
mod upload;

use std::time::Duration;

pub use download::{PullReport, RemoteFile, Snapshot};
pub use upload::{LocalFile, PushReport};

use crate::error::{HubError, Result};
use crate::ids::{check_namespace, check_ref_name, check_repo_name, RepoType};

pub struct Client {
    endpoint: String,
    token: Option<String>,
    agent: ureq::Agent,
}

/// `ns/name[@rev]` -> parts, each checked.
pub fn parse_repo_spec(spec: &str) -> Result<(String, String, Option<String>)> {
    let (id, rev) = match spec.split_once('@') {
        Some((i, r)) => (i, Some(r.to_string())),
        None => (spec, None),
    };
    let Some((ns, name)) = id.split_once('/') else {
        return Err(HubError::BadRequest(format!("'{spec}' is not a repo id: use namespace/name[@revision]")));
    };
    check_namespace(ns)?;
    check_repo_name(name)?;
    if let Some(r) = &rev {
        check_ref_name(r)?;
    }
    Ok((ns.to_string(), name.to_string(), rev))
}

impl Client {
    pub fn new(endpoint: &str, token: Option<String>) -> Result<Client> {
        let endpoint = endpoint.trim_end_matches('/').to_string();
        if endpoint.starts_with("https://") {
            return Err(HubError::BadRequest(format!(
                "{endpoint}: https endpoints are not supported by this build yet (no TLS client); use an http:// hub, e.g. one started with `agora hub serve`"
            )));
        }
        if !endpoint.starts_with("http://") {
            return Err(HubError::BadRequest(format!("endpoint '{endpoint}' must start with http://")));
        }
        let agent = ureq::AgentBuilder::new().timeout_connect(Duration::from_secs(20)).timeout_read(Duration::from_secs(300)).user_agent(concat!("agora/", env!("CARGO_PKG_VERSION"))).build();
        Ok(Client { endpoint, token, agent })
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn request(&self, method: &str, url: &str) -> ureq::Request {
        let r = self.agent.request(method, url);
        match &self.token {
            Some(t) => r.set("Authorization", &format!("Bearer {t}")),
            None => r,
        }
    }

    /// Turns an HTTP error into the matching HubError, with the server's message.
    fn check(&self, what: &str, r: std::result::Result<ureq::Response, ureq::Error>) -> Result<ureq::Response> {
        match r {
            Ok(resp) => Ok(resp),
            Err(ureq::Error::Status(code, resp)) => {
                let msg = resp.header("X-Error-Message").map(String::from).unwrap_or_default();
                let code_hdr = resp.header("X-Error-Code").map(String::from);
                let body = resp.into_string().unwrap_or_default();
                let detail = if msg.is_empty() { body.chars().take(300).collect() } else { msg };
                let text = format!("{what}: {} answered {code}: {detail}", self.endpoint);
                Err(match (code, code_hdr.as_deref()) {
                    (_, Some("RepoNotFound")) => HubError::RepoNotFound(text),
                    (_, Some("RevisionNotFound")) => HubError::RevisionNotFound(text),
                    (_, Some("EntryNotFound")) => HubError::EntryNotFound(text),
                    (_, Some("GatedRepo")) => HubError::Gated(text),
                    (401, _) => HubError::Unauthorized(format!("{text} (set HF_TOKEN or pass --token)")),
                    (403, _) => HubError::Forbidden(text),
                    (409, _) => HubError::Conflict(text),
                    (412, _) => HubError::PreconditionFailed(text),
                    _ => HubError::Remote(text),
                })
            }
            Err(ureq::Error::Transport(t)) => Err(HubError::Remote(format!("{what}: cannot reach {}: {t}", self.endpoint))),
        }
    }

    fn api(&self, rtype: RepoType, ns: &str, name: &str) -> String {
        format!("{}/api/{}/{ns}/{name}", self.endpoint, rtype.plural())
    }

    /// Creates the repo; Ok(false) when it already exists.
    pub fn create_repo(&self, rtype: RepoType, ns: &str, name: &str, private: bool) -> Result<bool> {
        let body = serde_json::json!({ "name": name, "organization": ns, "type": rtype.as_str(), "visibility": if private { "private" } else { "public" } });
        match self.check("creating the repo", self.request("POST", &format!("{}/api/repos/create", self.endpoint)).send_json(body)) {
            Ok(_) => Ok(true),
            Err(HubError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
