//! The uncertainty crate's error type.

/// Errors of `aegis-uncertainty`.
#[derive(Debug, thiserror::Error)]
pub enum UncertaintyError {
    /// A hyper-parameter is out of range.
    #[error("invalid {name}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: String,
        /// Why it is rejected.
        reason: String,
    },
    /// Arrays passed to a metric or estimator do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// An error of the model crate (data, run directory, device).
    #[error(transparent)]
    Model(#[from] aegis_model::ModelError),
}

impl UncertaintyError {
    /// Shorthand for [`UncertaintyError::InvalidParameter`].
    pub fn invalid(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidParameter {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

/// Result alias of the uncertainty crate.
pub type Result<T, E = UncertaintyError> = std::result::Result<T, E>;

/// The most equal-width ECE bins (reliability diagrams finer than this are noise).
pub(crate) const MAX_BINS: usize = 10_000;
/// The most random calibration/test splits of a conformal evaluation.
pub(crate) const MAX_SPLITS: usize = 10_000;
/// The most MC-dropout passes: the samples are `[passes, rows, classes]` in memory.
pub(crate) const MAX_PASSES: usize = 1000;
/// The most ensemble members (each one is a training run).
pub(crate) const MAX_MEMBERS: usize = 100;

/// Checks `lo ≤ v ≤ hi` for a count, naming `name` and the range in the error.
pub(crate) fn check_count(name: &str, v: usize, lo: usize, hi: usize) -> Result<()> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(UncertaintyError::invalid(
            name,
            format!("{v} is not in [{lo}, {hi}]"),
        ))
    }
}
