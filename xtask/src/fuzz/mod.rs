//! `cargo xtask fuzz TARGET|all --time S`: coverage-free mutation fuzzing of every reader of
//! user files on stable Rust (`arbtest`: random `arbitrary` bytes drive the mutator; a
//! failure prints the seed that replays it, `--seed`). Property per input: the reader
//! returns `Ok` or a typed error, never panics, and no single allocation exceeds
//! [`budget`] for the input's length plus the target's fixed [`Target::allowance`]
//! (measured by [`aegis_malloc::LargestAllocation`], xtask's global allocator). `cargo test -p xtask` runs every target for a few seconds.

mod mutate;
mod targets;

use std::cell::Cell;
use std::time::Duration;

use anyhow::{Result, bail};
use serde::Serialize;

pub use targets::{Target, all};

/// The largest single allocation a reader may make for an input of `len` bytes: 64 MiB plus
/// 64 bytes per input byte (every reader sizes its buffers by what the file holds before
/// allocating; gzip output is capped separately by the IDX reader).
pub fn budget(len: usize) -> usize {
    (64 << 20) + 64 * len
}

/// What one target's run did.
#[derive(Debug, Serialize)]
pub struct FuzzStats {
    /// The target.
    pub target: String,
    /// Inputs tried.
    pub inputs: u64,
    /// Inputs the reader accepted (the rest were typed errors).
    pub accepted: u64,
    /// Seconds run.
    pub seconds: f64,
    /// Largest single allocation seen, bytes.
    pub largest_allocation: usize,
}

/// Runs `target` for `time` (from arbtest seed `seed` when given) and returns its stats;
/// a panic or an allocation over budget fails with the seed that replays it.
pub fn run(target: &Target, time: Duration, seed: Option<u64>) -> Result<FuzzStats> {
    let scratch = tempfile::tempdir()?;
    let (inputs, accepted, largest) = (Cell::new(0u64), Cell::new(0u64), Cell::new(0usize));
    let start = std::time::Instant::now();
    let property = |u: &mut arbitrary::Unstructured<'_>| -> arbitrary::Result<()> {
        let input = mutate::mutate(&target.seed, u)?;
        let dir = scratch.path().join(inputs.get().to_string());
        std::fs::create_dir_all(&dir).expect("scratch folder is writable");
        crate::ALLOCATOR.reset();
        let ok = (target.run)(&input, &dir);
        let big = crate::ALLOCATOR.largest();
        std::fs::remove_dir_all(&dir).ok();
        let allowed = budget(input.len()) + target.allowance;
        assert!(
            big <= allowed,
            "{}: one allocation of {big} bytes for a {}-byte input (budget {allowed})",
            target.name,
            input.len(),
        );
        inputs.set(inputs.get() + 1);
        accepted.set(accepted.get() + u64::from(ok));
        largest.set(largest.get().max(big));
        Ok(())
    };
    let test = arbtest::arbtest(property).budget(time);
    match seed {
        Some(s) => test.seed(s).run(),
        None => test.run(),
    }
    Ok(FuzzStats {
        target: target.name.to_string(),
        inputs: inputs.get(),
        accepted: accepted.get(),
        seconds: start.elapsed().as_secs_f64(),
        largest_allocation: largest.get(),
    })
}

/// `cargo xtask fuzz`: the named target (or `all`) for `seconds` each; prints one line per
/// target and returns the stats.
pub fn command(name: &str, seconds: f64, seed: Option<u64>) -> Result<Vec<FuzzStats>> {
    let targets = all()?;
    let chosen: Vec<&Target> = targets
        .iter()
        .filter(|t| name == "all" || t.name == name)
        .collect();
    if chosen.is_empty() {
        let names: Vec<&str> = targets.iter().map(|t| t.name).collect();
        bail!(
            "unknown fuzz target {name:?}; targets: all, {}",
            names.join(", ")
        );
    }
    let mut out = Vec::new();
    for t in chosen {
        let s = run(t, Duration::from_secs_f64(seconds), seed)?;
        println!(
            "{:<16} {:>9} inputs ({:>7} accepted) in {:>6.1}s, largest allocation {} KiB, no panic",
            s.target,
            s.inputs,
            s.accepted,
            s.seconds,
            s.largest_allocation >> 10
        );
        out.push(s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every target for `AEGIS_FUZZ_SECONDS` (default 3) seconds: the bounded run of CI.
    #[test]
    fn every_reader_survives_a_bounded_fuzz_run() {
        let seconds: f64 = std::env::var("AEGIS_FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3.0);
        for stats in command("all", seconds, None).unwrap() {
            assert!(stats.inputs > 20, "{stats:?}");
            assert!(
                stats.accepted < stats.inputs,
                "mutations must break some inputs: {stats:?}"
            );
        }
    }

    #[test]
    fn the_seeds_themselves_are_accepted() {
        let scratch = tempfile::tempdir().unwrap();
        for (i, t) in all().unwrap().iter().enumerate() {
            let dir = scratch.path().join(i.to_string());
            std::fs::create_dir_all(&dir).unwrap();
            assert!((t.run)(&t.seed, &dir), "{} rejects its own seed", t.name);
        }
    }
}
