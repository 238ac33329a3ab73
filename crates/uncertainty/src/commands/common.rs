//! What the commands share: the `--run` / `--out` flags ([`CommonArgs`]), the default output
//! directory, the seeded halves of the test split and the reliability diagram.

use std::path::{Path, PathBuf};

use aegis_model::data::shuffled_split;
use aegis_model::plot::{Series, line_chart};

use crate::error::Result;
use crate::metrics::ReliabilityBin;

/// The flags every command takes: the run to analyse and where to write.
#[derive(clap::Args, Debug)]
// `<command>` is help text for the terminal (kept as it was in main.rs), not HTML.
#[allow(rustdoc::invalid_html_tags)]
pub struct CommonArgs {
    /// Run directory written by `aegis-model train` (or adversarial `train`).
    #[arg(long)]
    pub run: PathBuf,
    /// Output directory [default: RUN/uncertainty/<command>].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl CommonArgs {
    /// `--out`, or [`default_out`] of `--run` for `command`.
    pub fn out_dir(&self, command: &str) -> PathBuf {
        self.out
            .clone()
            .unwrap_or_else(|| default_out(&self.run, command))
    }
}

/// Default output directory of a command: `<run>/uncertainty/<command>`.
pub fn default_out(run: &Path, command: &str) -> PathBuf {
    run.join("uncertainty").join(command)
}

/// Seeded split of `0..n` into two halves (the first `⌊n/2⌋` shuffled indices, the rest).
pub fn halves(n: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    shuffled_split(n, n / 2, seed)
}

/// A reliability diagram: accuracy against mean confidence of each non-empty bin, per
/// estimator, with the diagonal of perfect calibration.
pub fn reliability_plot(path: &Path, curves: &[(String, &Vec<ReliabilityBin>)]) -> Result<()> {
    let mut series = vec![Series {
        name: "perfect calibration".into(),
        points: vec![(0.0, 0.0), (1.0, 1.0)],
    }];
    for (name, bins) in curves {
        series.push(Series {
            name: name.clone(),
            points: bins
                .iter()
                .filter(|b| b.count > 0)
                .map(|b| (b.confidence, b.accuracy))
                .collect(),
        });
    }
    line_chart(
        path,
        "Reliability diagram",
        "mean confidence in bin",
        "accuracy in bin",
        &series,
        Some((0.0, 1.0)),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_are_seeded_disjoint_and_complete() {
        let (a, b) = halves(11, 3);
        assert_eq!((a.len(), b.len()), (5, 6));
        let mut all: Vec<usize> = a.iter().chain(&b).cloned().collect();
        all.sort();
        assert_eq!(all, (0..11).collect::<Vec<_>>());
        assert_eq!(halves(11, 3), (a, b));
        assert_ne!(halves(11, 4).0, halves(11, 3).0);
    }
}
