//! The model crate's error type.
//!
//! Every variant names what failed (a file, a device, a hyper-parameter) and why, in one line,
//! so a binary can print `error: {err}` and exit with code 2.

use std::path::PathBuf;

/// Errors of the `aegis-model` crate.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A data file (IDX, CSV, PNG) is malformed.
    #[error("{}: {fault}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, with a line or byte position where one helps.
        fault: String,
    },
    /// A `config.json` (or other JSON settings file) is malformed or has unknown fields.
    #[error("{}: invalid config: {fault}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        fault: String,
    },
    /// A checkpoint is missing, corrupt, or does not match the model it is loaded into.
    #[error("{}: bad checkpoint: {fault}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong with it.
        fault: String,
    },
    /// A run directory whose training never finished (killed, or still running): it has
    /// weights, the checkpoint of the last completed epoch, but no `metrics.json`.
    #[error(
        "{}: incomplete run: training did not finish (no metrics.json; model.bpk is the last completed epoch's checkpoint); continue it with `train --resume {}`, or evaluate that checkpoint with `aegis-model eval --checkpoint`",
        dir.display(),
        dir.display()
    )]
    IncompleteRun {
        /// The run directory.
        dir: PathBuf,
    },
    /// The device string could not be parsed or the device cannot be used here.
    #[error("device `{spec}`: {reason}")]
    Device {
        /// The device as the user wrote it.
        spec: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// A hyper-parameter or argument is out of its valid range.
    #[error("invalid {name}: {reason}")]
    InvalidParameter {
        /// The parameter's name.
        name: String,
        /// Why the value is rejected.
        reason: String,
    },
    /// The data does not fit the model (shape or number of classes).
    #[error("data does not fit the model: {0}")]
    Incompatible(String),
    /// Training produced a NaN or infinite loss.
    #[error(
        "training stopped: loss became {loss} at epoch {epoch}, batch {batch}; {}",
        match checkpoint {
            Some(p) => format!("the last good checkpoint is kept at {} (evaluate it with `aegis-model eval --checkpoint`)", p.display()),
            None => "no epoch had completed, so there is no checkpoint".to_string(),
        }
    )]
    NonFiniteLoss {
        /// Epoch (1-based) where it happened.
        epoch: usize,
        /// Batch (1-based) within the epoch.
        batch: usize,
        /// The offending loss value.
        loss: f32,
        /// The last checkpoint written before it, if any.
        checkpoint: Option<PathBuf>,
    },
}

impl ModelError {
    /// Shorthand for [`ModelError::Format`].
    pub fn format(path: impl Into<PathBuf>, fault: impl Into<String>) -> Self {
        Self::Format {
            path: path.into(),
            fault: fault.into(),
        }
    }

    /// Shorthand for [`ModelError::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// Shorthand for [`ModelError::InvalidParameter`].
    pub fn invalid(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidParameter {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

/// Result alias of the model crate.
pub type Result<T, E = ModelError> = std::result::Result<T, E>;
