//! Evaluation that scales out on the schedulers users already run (a Slurm or Kubernetes
//! array job: one shard per GPU or machine). `evaluate --shard K/N` evaluates the K-th of N
//! contiguous slices of the rows and writes a partial report ([`PartialReport`],
//! `partial.json`: the per-row outcomes); `evaluate --merge DIR…` joins partial reports into
//! the report an unsharded run writes. Random starts are keyed by the global row index, so
//! a row's outcome does not depend on N; merging refuses shards of different models,
//! settings or row sets, overlapping rows and gaps.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::Device;
use aegis_model::io::{read_json_strict, write_json};
use aegis_model::{Classifier, Dataset};
use serde::{Deserialize, Serialize};

use super::outcomes::RowOutcomes;
use super::robustness::evaluate_rows;
use super::robustness_report::{EvaluateConfig, RobustnessReport};
use super::summary::summarize;
use crate::error::{AdversarialError, Result};

/// The file a shard writes.
pub const PARTIAL_FILE: &str = "partial.json";

/// The K-th (1-based) of N contiguous slices of the rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// K, from 1.
    pub index: usize,
    /// N.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = AdversarialError;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            AdversarialError::invalid(
                "shard",
                format!("{s:?} is not K/N with 1 ≤ K ≤ N (e.g. 2/8)"),
            )
        };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Self { index, count })
    }
}

impl Shard {
    /// Its rows of `total`: `[⌊total·(K−1)/N⌋, ⌊total·K/N⌋)` (in 128 bits: K and N may be
    /// as large as `usize` holds).
    pub fn rows(&self, total: usize) -> Range<usize> {
        let at = |k: usize| (total as u128 * k as u128 / self.count.max(1) as u128) as usize;
        at(self.index - 1)..at(self.index)
    }
}

/// What one shard measured: `partial.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartialReport {
    /// Which shard.
    pub shard: Shard,
    /// Its rows, `[start, end)` of `total_rows`.
    pub rows: (usize, usize),
    /// Rows of the whole evaluation.
    pub total_rows: usize,
    /// SHA-256 of the model's weights file.
    pub model_sha256: String,
    /// The settings the evaluation ran with (after the suite's expansion).
    pub config: EvaluateConfig,
    /// Radii, sorted.
    pub eps: Vec<f64>,
    /// What the evaluation changed and why.
    pub notes: Vec<String>,
    /// Per-row outcomes of its rows.
    pub outcomes: RowOutcomes,
}

/// Evaluates shard `shard` of `all` (every row of the evaluation) and returns its partial
/// report; `model_sha256` identifies the weights.
pub fn evaluate_shard<M: Classifier + Module>(
    model: &M,
    all: &Dataset,
    shard: Shard,
    cfg: &EvaluateConfig,
    device: &Device,
    model_sha256: &str,
) -> Result<PartialReport> {
    let range = shard.rows(all.len());
    let rows: Vec<usize> = range.clone().collect();
    let evaluated = evaluate_rows(model, &all.select(&rows), range.start as u64, cfg, device)?;
    Ok(PartialReport {
        shard,
        rows: (range.start, range.end),
        total_rows: all.len(),
        model_sha256: model_sha256.to_string(),
        config: evaluated.config,
        eps: evaluated.eps,
        notes: evaluated.notes,
        outcomes: evaluated.outcomes,
    })
}

/// Writes `dir/partial.json` atomically.
pub fn write_partial(partial: &PartialReport, dir: &Path) -> Result<()> {
    Ok(write_json(&dir.join(PARTIAL_FILE), partial)?)
}

/// The partial file of a shard: `path` itself when it is a file, else `path/file_name`.
pub fn partial_path(path: &Path, file_name: &str) -> PathBuf {
    if path.is_dir() {
        path.join(file_name)
    } else {
        path.to_path_buf()
    }
}

/// Where a merge writes by default: the parent of the folder holding the first shard (the
/// folder its shard-K-of-N folders sit in).
pub fn merged_out_dir(first: &Path) -> PathBuf {
    let dir = if first.is_dir() {
        first
    } else {
        first.parent().unwrap_or(first)
    };
    dir.parent().unwrap_or(dir).to_path_buf()
}

/// Checks that the row ranges `[start, end)` of some shards tile `0..total` exactly: no
/// overlap, no gap (one-line errors for `--merge`).
pub fn check_tiling(mut ranges: Vec<(usize, usize)>, total: usize) -> Result<()> {
    let refuse = |why: String| AdversarialError::invalid("merge", why);
    ranges.sort_unstable();
    let mut next = 0;
    for (start, end) in ranges {
        if start < next {
            return Err(refuse(format!(
                "rows {start}..{end} overlap rows before {next}"
            )));
        }
        if start > next {
            return Err(refuse(format!("rows {next}..{start} are missing")));
        }
        next = end;
    }
    if next != total {
        return Err(refuse(format!("rows {next}..{total} are missing")));
    }
    Ok(())
}

/// Reads a partial report: `path` itself when it is a file, else `path/partial.json`.
pub fn read_partial(path: &Path) -> Result<PartialReport> {
    let file = partial_path(path, PARTIAL_FILE);
    let p: PartialReport = read_json_strict(&file)?;
    let n = p.rows.1.saturating_sub(p.rows.0);
    let lengths_fit = p.outcomes.len() == n
        && p.outcomes.bad_gradient.len() == n
        && p.outcomes.runs.iter().all(|r| r.correct.len() == n)
        && p.outcomes
            .box_attack
            .as_ref()
            .is_none_or(|b| b.correct.len() == n);
    if p.rows.0 > p.rows.1 || p.rows.1 > p.total_rows || !lengths_fit {
        return Err(AdversarialError::invalid(
            "merge",
            format!(
                "{}: rows {}..{} of {} do not match its per-row outcomes",
                file.display(),
                p.rows.0,
                p.rows.1,
                p.total_rows
            ),
        ));
    }
    Ok(p)
}

/// Joins partial reports into the report of the whole evaluation. They must share the
/// model, the settings and the row count, and their rows must tile `0..total` exactly.
pub fn merge_partials(mut parts: Vec<PartialReport>) -> Result<RobustnessReport> {
    let refuse = |why: String| AdversarialError::invalid("merge", why);
    let Some(first) = parts.first().cloned() else {
        return Err(refuse("no shards to merge".into()));
    };
    for p in &parts {
        if p.model_sha256 != first.model_sha256 {
            return Err(refuse(format!(
                "shard {}/{} evaluated another model ({} vs {})",
                p.shard.index, p.shard.count, p.model_sha256, first.model_sha256
            )));
        }
        let same_settings = serde_json::to_value(&p.config).ok()
            == serde_json::to_value(&first.config).ok()
            && p.eps == first.eps
            && p.notes == first.notes;
        if !same_settings || p.total_rows != first.total_rows {
            return Err(refuse(format!(
                "shard {}/{} ran other settings or another row set than shard {}/{}",
                p.shard.index, p.shard.count, first.shard.index, first.shard.count
            )));
        }
    }
    parts.sort_by_key(|p| p.rows);
    check_tiling(parts.iter().map(|p| p.rows).collect(), first.total_rows)?;
    let outcomes: Vec<RowOutcomes> = parts.into_iter().map(|p| p.outcomes).collect();
    let outcomes = RowOutcomes::concat(&outcomes)?;
    Ok(summarize(&outcomes, &first.config, &first.eps, first.notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_tile_the_rows() {
        let s = |t: &str| t.parse::<Shard>().unwrap();
        assert_eq!(s("1/3").rows(10), 0..3);
        assert_eq!(s("2/3").rows(10), 3..6);
        assert_eq!(s("3/3").rows(10), 6..10);
        assert_eq!(s("1/1").rows(7), 0..7);
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
