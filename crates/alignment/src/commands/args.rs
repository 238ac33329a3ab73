//! What several commands share: the `--env` choice ([`EnvKind`]). Below every command file.

use serde::{Deserialize, Serialize};

#[cfg(doc)]
use crate::envs::{CliffWorldConfig, GridworldConfig, ObjectworldConfig};

/// Environments of the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EnvKind {
    /// [`GridworldConfig`]: the goal task for `plan` and `shaping`, the linear-reward task
    /// for `irl` and `preferences`.
    Gridworld,
    /// [`ObjectworldConfig`].
    Objectworld,
    /// [`CliffWorldConfig`].
    Cliff,
}
