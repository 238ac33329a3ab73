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
