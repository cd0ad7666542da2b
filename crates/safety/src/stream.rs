//! Checking an answer while it streams. The last `HOLD` bytes (and any word still growing) stay
//! unreleased until more text or the end shows they are not the start of something to redact or
//! block; released text is final. Ends when a blocklisted term or a blocked kind of PII shows up.

use std::sync::Arc;

use crate::guard::{Context, Guard};
use crate::pii;
use crate::policy::PiiAction;

/// Longer than any PII value the detectors find except e-mail addresses, which the word rule
/// covers (a whitespace-free run is held whole).
const HOLD: usize = 64;
/// A run of text without whitespace is released anyway past this size.
const MAX_RUN: usize = 1024;

#[derive(Debug, Default, PartialEq)]
pub struct Released {
    pub text: String,
    /// The rule that stopped the answer (`blocklist`, `pii.email`), once.
    pub blocked: Option<String>,
}

pub struct OutputFilter {
    guard: Arc<Guard>,
    ctx: Context,
    field: String,
    raw: String,
    emitted: usize,
    stopped: bool,
}

impl OutputFilter {
    pub fn new(guard: Arc<Guard>, ctx: Context, field: String) -> Self {
        Self { guard, ctx, field, raw: String::new(), emitted: 0, stopped: false }
    }

    /// Whether this filter does anything (a policy without output rules passes text through).
    pub fn active(guard: &Guard) -> bool {
        guard.policy.output.pii != PiiAction::Off || !guard.output_blocklist.is_empty()
    }

    pub fn push(&mut self, chunk: &str) -> Released {
        self.raw.push_str(chunk);
        self.release(false)
    }

    /// Releases everything held (the answer ended).
    pub fn finish(&mut self) -> Released {
        self.release(true)
    }

    fn stop(&mut self, rule: String, matched: &str) -> Released {
        self.stopped = true;
        // A failed audit write still stops the answer; the rule name says so.
        let rule = match self.guard.log(&self.ctx, "output", "blocked", &rule, &self.field, matched) {
            Ok(()) => rule,
            Err(e) => format!("{rule} (audit log failed: {e})"),
        };
        Released { text: String::new(), blocked: Some(rule) }
    }

    fn release(&mut self, end: bool) -> Released {
        if self.stopped {
            return Released::default();
        }
        if let Some(term) = self.guard.output_blocklist.find(&self.raw[self.emitted..]) {
            let term = term.to_string();
            return self.stop("blocklist".into(), &term);
        }
        let action = self.guard.policy.output.pii;
        let found = if action == PiiAction::Off { Vec::new() } else { pii::find(&self.raw) };
        let fresh: Vec<&pii::PiiMatch> = found.iter().filter(|m| m.range.start >= self.emitted).collect();
        if action == PiiAction::Block {
            if let Some(m) = fresh.first() {
                let matched = self.raw[m.range.clone()].to_string();
                return self.stop(format!("pii.{}", m.kind.name()), &matched);
            }
        }
        let mut cut = if end { self.raw.len() } else { self.safe_cut() };
        for m in &fresh {
            if m.range.start < cut && cut < m.range.end {
                cut = m.range.start;
            }
        }
        if cut <= self.emitted {
            return Released::default();
        }
        let mut text = String::new();
        let mut at = self.emitted;
        for m in fresh.iter().filter(|m| m.range.end <= cut) {
            text.push_str(&self.raw[at..m.range.start]);
            text.push_str(m.kind.placeholder());
            let _ = self.guard.log(&self.ctx, "output", "redacted", &format!("pii.{}", m.kind.name()), &self.field, &self.raw[m.range.clone()]);
            at = m.range.end;
        }
        text.push_str(&self.raw[at..cut]);
        self.emitted = cut;
        Released { text, blocked: None }
    }

    /// The end of what can be released now: `HOLD` bytes back, then back to the start of the
    /// whitespace-free run there.
    fn safe_cut(&self) -> usize {
        let raw = &self.raw;
        if raw.len() <= HOLD {
            return self.emitted;
        }
        let mut cut = raw.len() - HOLD;
        while !raw.is_char_boundary(cut) {
            cut -= 1;
        }
        let run_start = raw[..cut].char_indices().rev().find(|(_, c)| c.is_whitespace()).map(|(i, c)| i + c.len_utf8()).unwrap_or(0);
        if cut - run_start < MAX_RUN {
            cut = run_start;
        }
        cut.max(self.emitted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditLog;
    use crate::policy::Policy;

    fn guard(yaml: &str, dir: &std::path::Path) -> Arc<Guard> {
        let policy = Policy::parse(yaml).unwrap();
        Arc::new(Guard::new(policy, AuditLog::open(&dir.join("audit.jsonl"), 1 << 20, 2).unwrap(), None).unwrap())
    }

    fn ctx() -> Context {
        Context { id: "cmpl-1".into(), model: "m".into() }
    }

    /// Streams `text` in chunks of `n` bytes (on char boundaries); returns all released text and the block.
    fn stream(g: &Arc<Guard>, text: &str, n: usize) -> (String, Option<String>) {
        let mut f = OutputFilter::new(g.clone(), ctx(), "choices[0]".into());
        let (mut out, mut blocked) = (String::new(), None);
        let chars: Vec<char> = text.chars().collect();
        for chunk in chars.chunks(n) {
            let r = f.push(&chunk.iter().collect::<String>());
            out.push_str(&r.text);
            blocked = blocked.or(r.blocked);
        }
        let r = f.finish();
        out.push_str(&r.text);
        (out, blocked.or(r.blocked))
    }

    #[test]
    fn pii_split_across_chunks_is_redacted_at_any_chunk_size() {
        let dir = tempfile::tempdir().unwrap();
        let g = guard("output:\n  pii: redact\n", dir.path());
        let long_mail = format!("{}@example-company.com", "a.very.long.name".repeat(5));
        let text = format!("Hello, write to jane.doe@example.org or {long_mail}, call +1 415-555-0132, card 4111 1111 1111 1111. Bye! {}", "x ".repeat(50));
        let want = format!("Hello, write to [EMAIL] or [EMAIL], call [PHONE], card [CREDIT_CARD]. Bye! {}", "x ".repeat(50));
        for n in [1, 2, 3, 7, 16, 1000] {
            assert_eq!(stream(&g, &text, n), (want.clone(), None), "chunk size {n}");
        }
        let log = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
        assert!(!log.contains("jane.doe") && !log.contains("4111"), "the audit log must not hold the values");
        assert_eq!(log.lines().filter(|l| l.contains("\"redacted\"")).count(), 4 * 6);
    }

    #[test]
    fn blocklisted_term_stops_before_it_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let g = guard("output:\n  blocklist: [Paris]\n", dir.path());
        let text = format!("{}The capital of France is Paris, a city on the Seine.", "word ".repeat(40));
        for n in [1, 4, 1000] {
            let (out, blocked) = stream(&g, &text, n);
            assert_eq!(blocked.as_deref(), Some("blocklist"), "chunk size {n}");
            assert!(!out.contains("Paris"), "chunk size {n}: {out}");
            if n < 100 {
                assert!(out.starts_with("word word"), "chunk size {n}: text before the hold is released: {out}");
            }
        }
        let (out, blocked) = stream(&g, "An ordinary answer about Lyon.", 3);
        assert_eq!((out.as_str(), blocked), ("An ordinary answer about Lyon.", None));
    }

    #[test]
    fn blocked_pii_stops_the_answer() {
        let dir = tempfile::tempdir().unwrap();
        let g = guard("output:\n  pii: block\n", dir.path());
        let (out, blocked) = stream(&g, "My SSN is 123-45-6789 ok", 2);
        assert_eq!(blocked.as_deref(), Some("pii.ssn"));
        assert!(!out.contains("6789"), "{out}");
    }
}
