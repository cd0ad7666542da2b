//! Guards on serving: a policy of input and output checks (PII detection and redaction,
//! blocklists, prompt-injection patterns, an optional judge model), applied to prompts before the
//! model sees them and to answers while they stream, with an append-only, rotated audit log.

pub mod audit;
mod error;
mod guard;
mod normalize;
pub mod pii;
mod policy;
mod rules;
mod stream;

pub use audit::AuditLog;
pub use error::{Result, SafetyError};
pub use guard::{Blocked, Context, Guard, Judge};
pub use policy::{AuditConfig, InputRules, JudgeConfig, OutputRules, PiiAction, Policy};
pub use rules::{find_injection, Blocklist};
pub use stream::{OutputFilter, Released};
