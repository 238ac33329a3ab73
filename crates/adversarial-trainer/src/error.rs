//! The adversarial crate's error type.

/// Errors of `aegis-adversarial-trainer`.
#[derive(Debug, thiserror::Error)]
pub enum AdversarialError {
    /// A hyper-parameter is out of range.
    #[error("invalid {name}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: String,
        /// Why it is rejected.
        reason: String,
    },
    /// Labels or targets do not match the batch.
    #[error("goal does not fit the batch: {0}")]
    Goal(String),
    /// An error of the model crate (data, run directory, device).
    #[error(transparent)]
    Model(#[from] aegis_model::ModelError),
}

impl AdversarialError {
    /// Shorthand for [`AdversarialError::InvalidParameter`].
    pub fn invalid(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidParameter {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

/// Result alias of the adversarial crate.
pub type Result<T, E = AdversarialError> = std::result::Result<T, E>;

/// Checks `lo ≤ v ≤ hi` for a count, naming `name` and the range in the error.
pub(crate) fn check_count(name: &str, v: usize, lo: usize, hi: usize) -> Result<()> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(AdversarialError::invalid(
            name,
            format!("{v} is not in [{lo}, {hi}]"),
        ))
    }
}
