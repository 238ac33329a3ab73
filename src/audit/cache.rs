//! The per-stage cache: each stage writes its result last, atomically, to
//! `OUT/stages/<stage>/result.json` with the model's SHA-256 and the stage's settings. A rerun
//! takes a result whose hash and settings both match (it resumes where an interrupted audit
//! stopped); anything else (another model, other settings, an unreadable file) is recomputed.
//! A stage that fails writes no result, so a rerun retries it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use aegis_model::io::write_json;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::config::Stage;
use crate::error::{AuditError, Result};

/// The file a finished stage writes.
pub const RESULT_FILE: &str = "result.json";

/// How a stage's result was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageStatus {
    /// Computed by this audit.
    Computed,
    /// Read from the cache of an earlier audit of the same model with the same settings.
    Cached,
    /// Not run (`--skip`, or the stage does not apply to the run's data).
    Skipped,
    /// Ran and failed: an error or a panic inside the stage, its message in the record's
    /// `reason`. Nothing is cached, so the next audit retries it; every other stage still
    /// runs.
    Failed,
}

/// `result.json`.
#[derive(Debug, Serialize, Deserialize)]
struct CacheEntry<R> {
    model_sha256: String,
    settings: serde_json::Value,
    seconds: f64,
    result: R,
}

/// One stage's folder under the output folder, for one model.
#[derive(Debug, Clone)]
pub struct StageCache {
    dir: PathBuf,
    sha256: String,
}

impl StageCache {
    /// The cache of `stage` under `out` for the model with weights hash `sha256`.
    pub fn new(out: &Path, stage: Stage, sha256: &str) -> Self {
        Self {
            dir: out.join("stages").join(stage.key()),
            sha256: sha256.to_string(),
        }
    }

    /// The stage's folder (its own files: the crates' JSON and PNGs, shards, heatmaps).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The model's weights hash.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The cached result and the seconds it took, when one exists for this model and
    /// `settings`.
    fn load<R: DeserializeOwned>(&self, settings: &serde_json::Value) -> Option<(R, f64)> {
        let text = std::fs::read_to_string(self.dir.join(RESULT_FILE)).ok()?;
        let entry: CacheEntry<R> = serde_json::from_str(&text).ok()?;
        (entry.model_sha256 == self.sha256 && &entry.settings == settings)
            .then_some((entry.result, entry.seconds))
    }

    /// Returns the cached result for `settings` when `complete` says the files it names are
    /// all there, or runs `compute` in the stage's folder and caches what it returns. The
    /// seconds are those of the computation (also when cached).
    pub fn get_or_compute<S: Serialize, R: Serialize + DeserializeOwned>(
        &self,
        settings: &S,
        complete: impl Fn(&Path, &R) -> bool,
        compute: impl FnOnce(&Path) -> Result<R>,
    ) -> Result<(R, StageStatus, f64)> {
        let settings = serde_json::to_value(settings).map_err(|e| {
            AuditError::corrupt(&self.dir, format!("cannot serialise the settings: {e}"))
        })?;
        if let Some((result, seconds)) = self.load(&settings) {
            if complete(&self.dir, &result) {
                return Ok((result, StageStatus::Cached, seconds));
            }
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| AuditError::io(&self.dir, e))?;
        let started = Instant::now();
        let result = compute(&self.dir)?;
        let seconds = started.elapsed().as_secs_f64();
        let entry = CacheEntry {
            model_sha256: self.sha256.clone(),
            settings,
            seconds,
            result,
        };
        write_json(&self.dir.join(RESULT_FILE), &entry)?;
        Ok((entry.result, StageStatus::Computed, seconds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_result_is_reused_only_for_the_same_model_and_settings() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = StageCache::new(tmp.path(), Stage::Accuracy, "abc");
        let mut runs = 0;
        let mut get = |c: &StageCache, s: u32| {
            c.get_or_compute(
                &s,
                |_, _| true,
                |_| {
                    runs += 1;
                    Ok(vec![1.5f64, 2.0])
                },
            )
            .unwrap()
            .1
        };
        assert_eq!(get(&cache, 1), StageStatus::Computed);
        assert_eq!(get(&cache, 1), StageStatus::Cached);
        assert_eq!(get(&cache, 2), StageStatus::Computed);
        let other = StageCache::new(tmp.path(), Stage::Accuracy, "def");
        assert_eq!(get(&other, 2), StageStatus::Computed);
        std::fs::write(other.dir().join(RESULT_FILE), "{ torn").unwrap();
        assert_eq!(get(&other, 2), StageStatus::Computed);
        assert_eq!(runs, 4);
    }
}
