#[derive(Debug, thiserror::Error)]
pub enum SafetyError {
    #[error("{0}")]
    Policy(String),
    #[error("guard audit log {path}: {source}")]
    Audit { path: String, source: std::io::Error },
}

pub type Result<T> = std::result::Result<T, SafetyError>;
