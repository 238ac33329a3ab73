//! What every command shares: the default output folder next to `runs/`.

use std::path::{Path, PathBuf};

/// Default output folder `runs/<run name>-<what>`.
pub fn default_out(run: &Path, what: &str) -> PathBuf {
    let name = run
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".into());
    PathBuf::from("runs").join(format!("{name}-{what}"))
}
