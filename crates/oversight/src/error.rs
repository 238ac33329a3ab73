//! The oversight crate's error type.

use std::path::PathBuf;

/// Errors of `aegis-oversight`.
#[derive(Debug, thiserror::Error)]
pub enum OversightError {
    /// A hyper-parameter is out of range.
    #[error("invalid {name}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: String,
        /// Why it is rejected.
        reason: String,
    },
    /// Arrays do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A line of a JSONL file (queue, audit log, decisions) is malformed.
    #[error("{}: line {line}: {reason}", path.display())]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A command-line flag's value cannot be parsed (`--expert-accuracy "x": …`).
    #[error("--{flag} {value:?}: {reason}")]
    BadFlag {
        /// The flag, without its dashes.
        flag: String,
        /// The value given.
        value: String,
        /// Why it cannot be parsed.
        reason: String,
    },
    /// A command-line flag that takes a list was given none.
    #[error("--{flag} is empty")]
    EmptyFlag {
        /// The flag, without its dashes.
        flag: String,
    },
    /// The review server cannot listen on its address.
    #[error("cannot serve on {addr}: {reason}")]
    Serve {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// An error of the model crate.
    #[error(transparent)]
    Model(#[from] aegis_model::ModelError),
    /// An error of the uncertainty crate.
    #[error(transparent)]
    Uncertainty(#[from] aegis_uncertainty::UncertaintyError),
    /// An error of the interpretability crate.
    #[error(transparent)]
    Interpretability(#[from] aegis_interpretability::InterpretError),
}

impl OversightError {
    /// Shorthand for [`OversightError::InvalidParameter`].
    pub fn invalid(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidParameter {
            name: name.into(),
            reason: reason.into(),
        }
    }
    /// Shorthand for [`OversightError::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
    /// Shorthand for [`OversightError::BadLine`].
    pub fn bad_line(path: impl Into<PathBuf>, line: usize, reason: impl Into<String>) -> Self {
        Self::BadLine {
            path: path.into(),
            line,
            reason: reason.into(),
        }
    }
}

/// Result alias of the oversight crate.
pub type Result<T, E = OversightError> = std::result::Result<T, E>;
