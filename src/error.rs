//! [`AuditError`]: every way `aegis audit` can fail, each one line naming the file, flag or
//! stage at fault. The member crates' errors pass through unchanged.

use std::path::{Path, PathBuf};

/// An error of the audit.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A flag or setting has a value the audit cannot use.
    #[error("invalid {name}: {reason}")]
    Invalid {
        /// The flag or setting.
        name: String,
        /// Why.
        reason: String,
    },
    /// A file or folder cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A file the audit reads back (a stage cache, an `audit.json` to compare) is not what the
    /// audit wrote.
    #[error("{}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// From the model crate (runs, devices, data, plots).
    #[error(transparent)]
    Model(#[from] aegis_model::ModelError),
    /// From the adversarial crate.
    #[error(transparent)]
    Adversarial(#[from] aegis_adversarial_trainer::AdversarialError),
    /// From the uncertainty crate.
    #[error(transparent)]
    Uncertainty(#[from] aegis_uncertainty::UncertaintyError),
    /// From the interpretability crate.
    #[error(transparent)]
    Interpret(#[from] aegis_interpretability::InterpretError),
    /// From the oversight crate.
    #[error(transparent)]
    Oversight(#[from] aegis_oversight::OversightError),
}

impl AuditError {
    /// Shorthand for [`AuditError::Invalid`].
    pub fn invalid(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            name: name.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`AuditError::Io`].
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// Shorthand for [`AuditError::Corrupt`].
    pub fn corrupt(path: &Path, reason: impl Into<String>) -> Self {
        Self::Corrupt {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

/// The audit's result type.
pub type Result<T> = std::result::Result<T, AuditError>;
