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

/// The most iterations (steps, queries) an attack config accepts: the CLI's bound, so a
/// library caller cannot start a loop that never ends either.
pub(crate) const MAX_STEPS: usize = 1_000_000;
/// The most restarts, targets or search steps an attack config accepts.
pub(crate) const MAX_RESTARTS: usize = 1000;

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

/// Checks a noise standard deviation: `1e-6 ≤ σ ≤ 1e6` (noise below 1e-6 vanishes in `f32`
/// inputs of unit scale; the bound of the training flag too).
pub(crate) fn check_sigma(sigma: f64) -> Result<()> {
    if (1e-6..=1e6).contains(&sigma) {
        Ok(())
    } else {
        Err(AdversarialError::invalid(
            "sigma",
            format!("{sigma:?} is not in [1e-6, 1000000]"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_RESTARTS, MAX_STEPS};
    use crate::attacks::*;

    #[test]
    fn attack_configs_bound_their_loops_as_the_cli_does() {
        let over = MAX_STEPS + 1;
        assert!(Pgd::new(PgdConfig::new(0.1).with_steps(over)).is_err());
        assert!(Pgd::new(PgdConfig::new(0.1).with_restarts(MAX_RESTARTS + 1)).is_err());
        assert!(Apgd::new(ApgdConfig::new(0.1).with_steps(over)).is_err());
        assert!(Square::new(SquareConfig::new(0.1).with_queries(over)).is_err());
        assert!(MiFgsm::new(MiFgsmConfig::new(0.1).with_steps(over)).is_err());
        assert!(Fab::new(FabConfig::new(0.1).with_targets(MAX_RESTARTS + 1)).is_err());
        assert!(CwL2::new(CwConfig::new().with_steps(over)).is_err());
        let err = Pgd::new(PgdConfig::new(0.1).with_steps(over)).unwrap_err();
        assert!(err.to_string().contains("[0, 1000000]"), "{err}");
        assert!(Pgd::new(PgdConfig::new(0.1).with_steps(MAX_STEPS)).is_ok());
    }
}
