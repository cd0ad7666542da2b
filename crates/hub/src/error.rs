//! One error type for the hub library; `server::error` maps it to HTTP statuses in one place.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum HubError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("repository not found: {0}")]
    RepoNotFound(String),
    #[error("revision not found: {0}")]
    RevisionNotFound(String),
    #[error("entry not found: {0}")]
    EntryNotFound(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Gated(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    RangeNotSatisfiable(String),
    #[error("metadata store: {0}")]
    Db(String),
    #[error("blob store: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Internal(String),
    /// Another hub answered with an error, or could not be reached (client side).
    #[error("{0}")]
    Remote(String),
}

impl From<rusqlite::Error> for HubError {
    fn from(e: rusqlite::Error) -> Self {
        HubError::Db(e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, HubError>;
