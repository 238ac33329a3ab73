//! Resumable training: after every epoch the loop leaves in `RUN/resume/` everything it needs
//! to continue exactly where it stopped, so that `train --resume RUN` after a crash gives the
//! same weights and metrics as a run that was never interrupted.
//!
//! ```text
//! RUN/resume/model-<E>.bpk      weights after epoch E, with Burn's parameter ids
//! RUN/resume/optimizer-<E>.bpk  the optimiser's state (Adam's moments and step count, SGD's
//!                               momentum), keyed by those parameter ids
//! RUN/resume/state.json         ResumeState: E, the epochs' metrics so far, each dropout
//!                               layer's mask-stream position, and the SHA-256 of both files
//! ```
//!
//! Crash safety: the two `.bpk` files of epoch E are written (temp file, fsync, rename, fsync
//! of the folder) before `state.json` is replaced, and epoch E − 1's files are deleted only
//! after that. Whenever the process dies, `state.json` names a complete pair of files, whose
//! hashes it checks on load. The batch order needs no state: it is replayed from the seed
//! (one shuffle per completed epoch). Adversarial objectives draw their random starts from
//! per-batch seeds and need none either. `fit_with` removes the folder once `metrics.json` is
//! written.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::io::{file_sha256, read_json_strict, write_atomic_with, write_json};
use crate::models::{DropoutStream, Model};
use crate::run::{EpochMetrics, RunDir};

/// Folder of the resume state inside a run directory.
pub const RESUME_DIR: &str = "resume";
/// The file naming the last complete resume point.
pub const STATE_FILE: &str = "state.json";

/// `RUN/resume/state.json`: where an interrupted training stands after its last complete
/// epoch.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ResumeState {
    /// Completed epochs; training continues with the next one.
    pub epochs_done: usize,
    /// The completed epochs' lines of `metrics.json`.
    pub history: Vec<EpochMetrics>,
    /// Wall-clock seconds spent training so far (over every interrupted attempt).
    pub seconds: f64,
    /// Training rows, checked on resume (the data must be the same).
    pub n_train: usize,
    /// Weights file (in `resume/`).
    pub model_file: String,
    /// Its SHA-256 (hex).
    pub model_sha256: String,
    /// Optimiser state file (in `resume/`).
    pub optimizer_file: String,
    /// Its SHA-256 (hex).
    pub optimizer_sha256: String,
    /// Mask-stream position of each dropout layer, in the model's layer order.
    pub dropout_streams: Vec<DropoutStream>,
}

/// A training continued from a [`ResumeState`]: the model and optimiser as they were after
/// `state.epochs_done` epochs.
pub struct Resumed {
    /// The weights (on the plain device, inference mode; dropout streams restored).
    pub model: Model,
    /// The optimiser with its state.
    pub optimizer: ModuleOptimizer,
    /// The state file.
    pub state: ResumeState,
}

/// The resume folder of `run`.
pub fn resume_dir(run: &RunDir) -> PathBuf {
    run.root().join(RESUME_DIR)
}

/// Whether `run` has a resume point.
pub fn has_resume_state(run: &RunDir) -> bool {
    resume_dir(run).join(STATE_FILE).is_file()
}

/// Where training stands after a completed epoch: what a resume point records besides its
/// files.
pub struct Progress<'a> {
    /// Completed epochs.
    pub epochs_done: usize,
    /// Their lines of `metrics.json`.
    pub history: &'a [EpochMetrics],
    /// Wall-clock seconds spent training so far.
    pub seconds: f64,
    /// Training rows.
    pub n_train: usize,
}

/// Writes the resume point after a completed epoch: weights, optimiser state, then
/// `state.json` (with `model`'s dropout streams and both files' hashes); then deletes the
/// previous point's files.
pub fn save_resume_point(
    run: &RunDir,
    model: &Model,
    optimizer: &ModuleOptimizer,
    progress: Progress,
) -> Result<()> {
    let dir = resume_dir(run);
    let (model_file, optimizer_file) = file_names(next_generation(&dir));
    let model_path = dir.join(&model_file);
    let snapshot = model.clone();
    write_atomic_with(&model_path, move |tmp| {
        snapshot
            .save_file(tmp)
            .map_err(|e| std::io::Error::other(e.to_string()))
    })?;
    let optimizer_path = dir.join(&optimizer_file);
    let record = optimizer.to_record();
    write_atomic_with(&optimizer_path, move |tmp| {
        record
            .save(tmp)
            .map_err(|e| std::io::Error::other(e.to_string()))
    })?;
    let state = ResumeState {
        epochs_done: progress.epochs_done,
        history: progress.history.to_vec(),
        seconds: progress.seconds,
        n_train: progress.n_train,
        model_sha256: file_sha256(&model_path)?,
        model_file,
        optimizer_sha256: file_sha256(&optimizer_path)?,
        optimizer_file,
        dropout_streams: model.dropout_streams(),
    };
    write_json(&dir.join(STATE_FILE), &state)?;
    remove_stale_files(&dir, &state);
    Ok(())
}

/// Reads `run`'s resume point, checks its files against the recorded hashes, and rebuilds
/// the model (from `fresh`: the same architecture, freshly initialised) and the optimiser
/// (from `optimizer`: the configured one, still empty).
pub fn load_resume_point(
    run: &RunDir,
    fresh: &Model,
    optimizer: ModuleOptimizer,
    device: &Device,
) -> Result<Resumed> {
    let dir = resume_dir(run);
    let state: ResumeState = read_json_strict(&dir.join(STATE_FILE))?;
    let model_path = checked_file(&dir, &state.model_file, &state.model_sha256)?;
    let optimizer_path = checked_file(&dir, &state.optimizer_file, &state.optimizer_sha256)?;
    let config_model = fresh.clone().fork(device);
    let model = config_model
        .try_load_file(&model_path)
        .map_err(|e| checkpoint_fault(&model_path, e.to_string()))?;
    model
        .set_dropout_streams(&state.dropout_streams)
        .map_err(|fault| checkpoint_fault(&dir.join(STATE_FILE), fault))?;
    let optimizer = optimizer
        .load(&optimizer_path)
        .map_err(|e| checkpoint_fault(&optimizer_path, e.to_string()))?;
    Ok(Resumed {
        model,
        optimizer,
        state,
    })
}

/// Deletes the resume folder (after `metrics.json` is written: nothing left to resume).
pub fn remove_resume_point(run: &RunDir) {
    let _ = std::fs::remove_dir_all(resume_dir(run));
}

/// `model-<G>.bpk` and `optimizer-<G>.bpk`.
fn file_names(generation: u64) -> (String, String) {
    (
        format!("model-{generation}.bpk"),
        format!("optimizer-{generation}.bpk"),
    )
}

/// One more than the largest generation of a file in `dir` (0 when there is none): never the
/// name of a file that `state.json` may still point to.
fn next_generation(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let stem = name.strip_suffix(".bpk")?;
            let (_, g) = stem.split_once('-')?;
            g.parse::<u64>().ok()
        })
        .max()
        .map_or(0, |g| g + 1)
}

/// Deletes every file of `dir` that is neither `state.json` nor named by it (earlier points,
/// temp files of an interrupted write).
fn remove_stale_files(dir: &Path, state: &ResumeState) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let keep = [STATE_FILE, &state.model_file, &state.optimizer_file]
            .iter()
            .any(|k| name == std::ffi::OsStr::new(k));
        if !keep {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The path of `name` in `dir` after checking that it is a plain file name and that its
/// content has the recorded hash.
fn checked_file(dir: &Path, name: &str, sha256: &str) -> Result<PathBuf> {
    let state_file = dir.join(STATE_FILE);
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(ModelError::format(
            &state_file,
            format!("`{name}` is not a file name"),
        ));
    }
    let path = dir.join(name);
    let actual = file_sha256(&path)?;
    if actual != sha256 {
        return Err(checkpoint_fault(
            &path,
            format!("SHA-256 {actual} differs from the {sha256} that state.json recorded"),
        ));
    }
    Ok(path)
}

fn checkpoint_fault(path: &Path, fault: String) -> ModelError {
    ModelError::Checkpoint {
        path: path.to_path_buf(),
        fault: crate::run::first_line(&fault),
    }
}
