//! The interpretability crate's error type.

/// Errors of `aegis-interpretability`.
#[derive(Debug, thiserror::Error)]
pub enum InterpretError {
    /// A hyper-parameter is out of its valid range.
    #[error("invalid {name}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: String,
        /// Why it is rejected.
        reason: String,
    },
    /// Inputs, targets, baselines or background rows do not fit the model or each other.
    #[error("inputs do not fit: {0}")]
    Shape(String),
    /// An error of the model crate (data, run directory, device, plot, file).
    #[error(transparent)]
    Model(#[from] aegis_model::ModelError),
}

impl InterpretError {
    /// Shorthand for [`InterpretError::InvalidParameter`].
    pub fn invalid(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidParameter {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

/// Result alias of the interpretability crate.
pub type Result<T, E = InterpretError> = std::result::Result<T, E>;
