//! A guard policy: what to check on the way in and out, and what to do on a hit. Read from YAML
//! (`agora serve --guard policy.yaml`) or one of the built-in names (`standard`, `strict`).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Result, SafetyError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PiiAction {
    #[default]
    Off,
    /// Replace each value by a placeholder (`[EMAIL]`) and go on.
    Redact,
    /// Refuse the request (input) or stop the answer (output).
    Block,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct InputRules {
    #[serde(default)]
    pub pii: PiiAction,
    /// Refuse prompts that match a prompt-injection pattern.
    #[serde(default)]
    pub injection: bool,
    #[serde(default)]
    pub blocklist: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OutputRules {
    #[serde(default)]
    pub pii: PiiAction,
    #[serde(default)]
    pub blocklist: Vec<String>,
}

/// A model run by Agora that classifies each prompt. `prompt` holds `{text}`; the request is
/// refused when the judge's answer starts with `unsafe_answer` (case-insensitive).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeConfig {
    pub model: String,
    #[serde(default = "default_judge_prompt")]
    pub prompt: String,
    #[serde(default = "default_unsafe_answer")]
    pub unsafe_answer: String,
    #[serde(default = "default_judge_tokens")]
    pub max_tokens: usize,
}

fn default_judge_prompt() -> String {
    "You are a content safety classifier. Answer with one word, safe or unsafe.\nMessage: {text}\nAnswer:".into()
}
fn default_unsafe_answer() -> String {
    "unsafe".into()
}
fn default_judge_tokens() -> usize {
    4
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// Default: `$AGORA_HOME/logs/guard-audit.jsonl` (chosen by the caller).
    pub path: Option<PathBuf>,
    /// Rotate when the file would pass this size.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// Rotated files kept (`.1` newest).
    #[serde(default = "default_keep")]
    pub keep: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self { path: None, max_bytes: default_max_bytes(), keep: default_keep() }
    }
}

fn default_max_bytes() -> u64 {
    10 << 20
}
fn default_keep() -> usize {
    5
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Shown in logs and errors.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub input: InputRules,
    #[serde(default)]
    pub output: OutputRules,
    /// Files with more blocklist terms, one per line (`#` comments), for input and output.
    #[serde(default)]
    pub blocklist_files: Vec<PathBuf>,
    pub judge: Option<JudgeConfig>,
    #[serde(default)]
    pub audit: AuditConfig,
}

impl Policy {
    /// `standard`: PII redacted both ways, injection refused. `strict`: PII refused both ways,
    /// injection refused.
    pub fn builtin(name: &str) -> Option<Policy> {
        let (pii_in, pii_out) = match name {
            "standard" => (PiiAction::Redact, PiiAction::Redact),
            "strict" => (PiiAction::Block, PiiAction::Block),
            _ => return None,
        };
        Some(Policy {
            name: name.to_string(),
            input: InputRules { pii: pii_in, injection: true, blocklist: Vec::new() },
            output: OutputRules { pii: pii_out, blocklist: Vec::new() },
            ..Policy::default()
        })
    }

    /// A built-in name or a YAML file; blocklist files are read here (relative to the policy).
    pub fn load(spec: &str) -> Result<Policy> {
        if let Some(p) = Self::builtin(spec) {
            return Ok(p);
        }
        let path = Path::new(spec);
        let text = std::fs::read_to_string(path).map_err(|e| {
            SafetyError::Policy(format!("cannot read guard policy '{spec}': {e} (give a YAML file or one of the built-in policies: standard, strict)"))
        })?;
        let mut p = Self::parse(&text).map_err(|e| SafetyError::Policy(format!("{}: {e}", path.display())))?;
        if p.name.is_empty() {
            p.name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("policy").to_string();
        }
        let base = path.parent().unwrap_or(Path::new("."));
        for f in std::mem::take(&mut p.blocklist_files) {
            let f = if f.is_absolute() { f } else { base.join(f) };
            let terms = std::fs::read_to_string(&f).map_err(|e| SafetyError::Policy(format!("cannot read blocklist file {}: {e}", f.display())))?;
            for t in terms.lines().map(str::trim).filter(|t| !t.is_empty() && !t.starts_with('#')) {
                p.input.blocklist.push(t.to_string());
                p.output.blocklist.push(t.to_string());
            }
        }
        Ok(p)
    }

    pub fn parse(text: &str) -> std::result::Result<Policy, String> {
        let p: Policy = serde_yaml::from_str(text).map_err(|e| format!("invalid guard policy: {e}"))?;
        if let Some(j) = &p.judge {
            if !j.prompt.contains("{text}") {
                return Err("judge.prompt must contain {text}, where the message goes".into());
            }
        }
        if p.audit.keep == 0 {
            return Err("audit.keep must be at least 1".into());
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_policy_and_refuses_unknown_keys() {
        let p = Policy::parse("input:\n  pii: block\n  injection: true\n  blocklist: [foo]\noutput:\n  pii: redact\naudit:\n  max_bytes: 100\n  keep: 2\n").unwrap();
        assert_eq!(p.input.pii, PiiAction::Block);
        assert!(p.input.injection);
        assert_eq!(p.output.pii, PiiAction::Redact);
        assert_eq!((p.audit.max_bytes, p.audit.keep), (100, 2));
        let err = Policy::parse("input:\n  pii: maybe\n").unwrap_err();
        assert!(err.contains("pii") || err.contains("maybe"), "{err}");
        let err = Policy::parse("inptu: {}\n").unwrap_err();
        assert!(err.contains("inptu"), "{err}");
        let err = Policy::parse("judge:\n  model: x\n  prompt: no slot\n").unwrap_err();
        assert!(err.contains("{text}"), "{err}");
    }

    #[test]
    fn builtins_and_missing_files() {
        assert_eq!(Policy::load("strict").unwrap().input.pii, PiiAction::Block);
        let err = Policy::load("/no/such/policy.yaml").unwrap_err().to_string();
        assert!(err.contains("standard, strict"), "{err}");
    }
}
