//! A client for any Hub-compatible endpoint (this hub, or another that speaks the same protocol):
//! repo info, verified downloads into a folder, and pushes (preupload -> LFS -> commit).
//! http:// and https:// (rustls, certificates checked against the webpki roots).

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
        if !endpoint.starts_with("http://") && !endpoint.starts_with("https://") {
            return Err(HubError::BadRequest(format!("endpoint '{endpoint}' must start with http:// or https://")));
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

    /// The account a token belongs to (`/api/whoami-v2`): its name and the raw answer.
    pub fn whoami(&self) -> Result<(String, serde_json::Value)> {
        if self.token.is_none() {
            return Err(HubError::Unauthorized("no token: pass --token, set HF_TOKEN or run `agora login`".into()));
        }
        let resp = self.check("asking who the token belongs to", self.request("GET", &format!("{}/api/whoami-v2", self.endpoint)).call())?;
        let v: serde_json::Value = resp.into_json().map_err(|e| HubError::Remote(format!("{}: whoami-v2 answered with invalid JSON: {e}", self.endpoint)))?;
        let name = v.get("name").and_then(|n| n.as_str()).ok_or_else(|| HubError::Remote(format!("{}: whoami-v2 answer has no name", self.endpoint)))?;
        Ok((name.to_string(), v))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_endpoints_are_accepted_and_other_schemes_refused() {
        assert_eq!(Client::new("https://huggingface.co/", None).unwrap().endpoint(), "https://huggingface.co");
        assert!(Client::new("http://127.0.0.1:8090", None).is_ok());
        let e = Client::new("ftp://x", None).err().unwrap().to_string();
        assert!(e.contains("http:// or https://"), "{e}");
    }

    #[test]
    fn an_unreachable_https_host_is_a_clear_error() {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        let c = Client::new("https://127.0.0.1:1", Some("hf_x".into())).unwrap();
        let e = c.whoami().unwrap_err().to_string();
        assert!(e.contains("cannot reach https://127.0.0.1:1"), "{e}");
    }

    #[test]
    fn https_speaks_tls_and_checks_the_certificate() {
        // A local TLS server with a self-signed certificate: the handshake happens (so https is really
        // spoken) and the certificate is refused, as it is not from a trusted authority.
        let dir = tempfile::tempdir().unwrap();
        let (key, cert) = (dir.path().join("k.pem"), dir.path().join("c.pem"));
        let st = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("running openssl (apt-get install openssl)");
        assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = r#"
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[2], sys.argv[1])
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[3]))); s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
try:
    ctx.wrap_socket(c, server_side=True)
    print("handshake-completed")
except ssl.SSLError as e:
    print("client-refused", e.reason)
"#;
        drop(listener);
        let mut child = std::process::Command::new("python3")
            .args(["-c", server])
            .arg(&key)
            .arg(&cert)
            .arg(port.to_string())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3");
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        assert_eq!(line.trim(), "ready");
        let c = Client::new(&format!("https://127.0.0.1:{port}"), Some("hf_x".into())).unwrap();
        let e = c.whoami().unwrap_err().to_string();
        assert!(e.contains("cannot reach") && e.to_lowercase().contains("certificate"), "{e}");
        line.clear();
        std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        assert!(line.starts_with("client-refused"), "the server saw: {line}");
        let _ = child.wait();
    }
}
