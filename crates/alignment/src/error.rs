//! The alignment crate's error type.

/// Errors of `aegis-alignment`.
#[derive(Debug, thiserror::Error)]
pub enum AlignmentError {
    /// A hyper-parameter or argument is out of its valid range.
    #[error("invalid {name}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: String,
        /// Why it is rejected.
        reason: String,
    },
    /// An MDP is malformed (a transition row that does not sum to one, a state out of range,
    /// inconsistent sizes).
    #[error("invalid MDP: {0}")]
    InvalidMdp(String),
    /// Inputs of an algorithm do not fit together (a reward of the wrong length, a
    /// demonstration visiting a state the MDP does not have).
    #[error("input does not fit: {0}")]
    Shape(String),
    /// An optimisation produced a NaN or infinite value.
    #[error("{algorithm} diverged: {detail}")]
    NonFinite {
        /// Which algorithm.
        algorithm: String,
        /// Where the non-finite value appeared.
        detail: String,
    },
    /// A command of the binary failed: `context` says which and where, `source` why (the
    /// binary prints the chain, `context: source`).
    #[error("{context}")]
    Context {
        /// What was being done (e.g. `irl into DIR`).
        context: String,
        /// The underlying error.
        #[source]
        source: Box<AlignmentError>,
    },
    /// An error of the model crate (files, devices, plots).
    #[error(transparent)]
    Model(#[from] aegis_model::ModelError),
}

impl AlignmentError {
    /// Shorthand for [`AlignmentError::InvalidParameter`].
    pub fn invalid(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidParameter {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

/// Result alias of the alignment crate.
pub type Result<T, E = AlignmentError> = std::result::Result<T, E>;

/// Checks `lo ≤ v ≤ hi` (and finiteness), naming `name` and the range in the error (a `lo` of
/// `f64::MIN_POSITIVE` reads as the open end `(0`).
pub(crate) fn check_range(name: &str, v: f64, lo: f64, hi: f64) -> Result<()> {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(())
    } else {
        let low = if lo == f64::MIN_POSITIVE {
            "(0".to_string()
        } else {
            format!("[{lo}")
        };
        Err(AlignmentError::invalid(
            name,
            format!("{v:?} is not in {low}, {hi}]"),
        ))
    }
}

/// Checks `v > 0` (and finiteness), naming `name` in the error.
pub(crate) fn check_positive(name: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(AlignmentError::invalid(
            name,
            format!("{v:?} must be finite and positive"),
        ))
    }
}

/// Checks `v ≥ 1`, naming `name` in the error.
pub(crate) fn check_nonzero(name: &str, v: usize) -> Result<()> {
    if v == 0 {
        Err(AlignmentError::invalid(name, "must be at least 1"))
    } else {
        Ok(())
    }
}

/// The largest grid side of the gridworld and the objectworld: the gridworld's macro-cell
/// features alone are `N⁴ / 4` numbers (64: 4 M), and IRL sweeps every state per step.
pub(crate) const MAX_GRID_SIDE: usize = 64;
/// The most iterations of a learner or planner (IRL gradient steps, Q-learning episodes).
pub(crate) const MAX_ITERATIONS: usize = 100_000;
/// The most demonstrations of one IRL run.
pub(crate) const MAX_DEMOS: usize = 100_000;
/// The longest demonstration or planning horizon.
pub(crate) const MAX_HORIZON: usize = 10_000;
/// The most repetitions (seeds of a sweep or of shaping, preference repeats, ensemble
/// members, objectworld colours).
pub(crate) const MAX_REPEATS: usize = 1000;
/// The widest layer of a reward network.
pub(crate) const MAX_WIDTH: usize = 4096;

/// Checks `lo ≤ v ≤ hi` for a count, naming `name` and the range in the error.
pub(crate) fn check_count(name: &str, v: usize, lo: usize, hi: usize) -> Result<()> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(AlignmentError::invalid(
            name,
            format!("{v} is not in [{lo}, {hi}]"),
        ))
    }
}
