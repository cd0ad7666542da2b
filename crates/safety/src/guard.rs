//! The guard: a policy turned into checks on prompts (before the model sees them) and on answers
//! (see `stream`), every action written to the audit log.

use std::sync::Arc;

use crate::audit::{now_rfc3339, sha256_hex, AuditLog, AuditRecord};
use crate::error::Result;
use crate::pii;
use crate::policy::{PiiAction, Policy};
use crate::rules::{find_injection, Blocklist};

/// A model that classifies a prompt: given the policy's judge prompt with the text filled in,
/// returns the model's answer (a few tokens).
pub trait Judge: Send + Sync {
    fn answer(&self, prompt: &str, max_tokens: usize) -> std::result::Result<String, String>;
}

/// Where a checked text came from, for the audit log and the error message.
#[derive(Debug, Clone)]
pub struct Context {
    pub id: String,
    pub model: String,
}

/// A refusal: the rules that fired, in a sentence the client can act on.
#[derive(Debug, Clone, PartialEq)]
pub struct Blocked {
    pub rules: Vec<String>,
    pub field: String,
    pub message: String,
}

pub struct Guard {
    pub policy: Policy,
    input_blocklist: Blocklist,
    pub(crate) output_blocklist: Blocklist,
    audit: AuditLog,
    judge: Option<Arc<dyn Judge>>,
}

impl Guard {
    pub fn new(policy: Policy, audit: AuditLog, judge: Option<Arc<dyn Judge>>) -> Result<Self> {
        let bad = |e: regex::Error| crate::error::SafetyError::Policy(format!("a blocklist term does not compile: {e}"));
        let input_blocklist = Blocklist::new(&policy.input.blocklist).map_err(bad)?;
        let output_blocklist = Blocklist::new(&policy.output.blocklist).map_err(bad)?;
        if policy.judge.is_some() && judge.is_none() {
            return Err(crate::error::SafetyError::Policy("the policy names a judge model but none was loaded".into()));
        }
        Ok(Self { policy, input_blocklist, output_blocklist, audit, judge })
    }

    pub fn audit_path(&self) -> &std::path::Path {
        self.audit.path()
    }

    /// Writes one audit record. A log that cannot be written fails the request rather than letting
    /// an unrecorded action through.
    pub(crate) fn log(&self, ctx: &Context, stage: &'static str, action: &'static str, rule: &str, field: &str, matched: &str) -> std::result::Result<(), String> {
        let rec = AuditRecord {
            time: now_rfc3339(),
            id: ctx.id.clone(),
            model: ctx.model.clone(),
            stage,
            action,
            rule: rule.to_string(),
            field: field.to_string(),
            match_sha256: sha256_hex(matched),
            match_len: matched.len(),
        };
        self.audit.append(&rec).map_err(|e| e.to_string())
    }

    /// Checks one prompt text (`field` names it: `messages[0]`, `prompt`). Returns the text to
    /// use (PII replaced when the policy redacts) or the refusal. Runs the judge, which is slow:
    /// call it off the async threads.
    pub fn screen_input(&self, ctx: &Context, field: &str, text: &str) -> std::result::Result<String, Blocked> {
        let mut fired: Vec<(String, String)> = Vec::new();
        if self.policy.input.injection {
            if let Some((rule, m)) = find_injection(text) {
                fired.push((format!("injection.{rule}"), m));
            }
        }
        if let Some(term) = self.input_blocklist.find(text) {
            fired.push(("blocklist".into(), term.to_string()));
        }
        let found = if self.policy.input.pii == PiiAction::Off { Vec::new() } else { pii::find(text) };
        if self.policy.input.pii == PiiAction::Block {
            fired.extend(found.iter().map(|m| (format!("pii.{}", m.kind.name()), text[m.range.clone()].to_string())));
        }
        if fired.is_empty() {
            if let (Some(judge), Some(cfg)) = (&self.judge, &self.policy.judge) {
                let prompt = cfg.prompt.replace("{text}", text);
                let answer = judge.answer(&prompt, cfg.max_tokens).map_err(|e| self.refuse(ctx, field, vec![("judge.error".into(), e)]))?;
                if answer.trim_start().to_lowercase().starts_with(&cfg.unsafe_answer.to_lowercase()) {
                    fired.push(("judge".into(), text.to_string()));
                }
            }
        }
        if !fired.is_empty() {
            return Err(self.refuse(ctx, field, fired));
        }
        if found.is_empty() {
            return Ok(text.to_string());
        }
        for m in &found {
            self.log(ctx, "input", "redacted", &format!("pii.{}", m.kind.name()), field, &text[m.range.clone()])
                .map_err(|e| Blocked { rules: vec!["audit".into()], field: field.into(), message: format!("the guard could not write its audit log: {e}") })?;
        }
        Ok(pii::redact(text, &found))
    }

    fn refuse(&self, ctx: &Context, field: &str, fired: Vec<(String, String)>) -> Blocked {
        let mut rules: Vec<String> = Vec::new();
        for (rule, m) in &fired {
            if let Err(e) = self.log(ctx, "input", "blocked", rule, field, m) {
                rules.push(format!("audit ({e})"));
            }
            if !rules.contains(rule) {
                rules.push(rule.clone());
            }
        }
        let message = format!(
            "The prompt ({field}) was refused by the server's content policy '{}': {}. Request id {} is in the guard's audit log.",
            self.policy.name,
            rules.join(", "),
            ctx.id
        );
        Blocked { rules, field: field.to_string(), message }
    }
}
