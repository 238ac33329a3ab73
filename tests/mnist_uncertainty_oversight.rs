//! The uncertainty bars of issue 4 on bundled MNIST with the model crate's default SmallCnn
//! recipe (seed 1), checked on every CI run: temperature scaling does not raise held-out NLL
//! beyond sampling noise; split conformal (LAC, α = 0.1, 20 random calibration/test splits)
//! covers 88–93%; MSP separates uniform-noise images from MNIST with AUROC ≥ 0.95. And the
//! oversight bar of issue 6: SGR with r* = 2%, δ = 0.001 keeps the held-out selective risk
//! ≤ 2% in most of 20 random splits (issue 6 asked 95%; across seeds, kernels and CPUs up to
//! 2 of 20 held-out halves exceed it, so the bar is 85%, issue 23), with a useful coverage.
//!
//! The ensemble and MC-dropout NLL comparisons need five trained members and are measured
//! with `aegis-uncertainty evaluate` (README), not here.

use aegis::model::{DataSource, DeviceSpec, LoadedRun, TrainConfig, TrainRequest, train_run};
use aegis::uncertainty::job::{self, CalibrateConfig, ConformalRunConfig, EstimatorConfig};
use aegis::uncertainty::{ConformalConfig, ConformalScore};

#[path = "support/figures.rs"]
mod figures;

#[test]
fn uncertainty_bars_on_bundled_mnist() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("mnist");
    let mut req = TrainRequest::new(DataSource::Mnist);
    req.train = TrainConfig::new().with_seed(figures::seed(1));
    req.out = Some(dir.clone());
    train_run(&req)?;
    let run = LoadedRun::open(&dir, DeviceSpec::Flex)?;

    let cal = job::calibrate(&run, &CalibrateConfig::new(), &tmp.path().join("cal"))?;
    // Temperature scaling fitted on one half must not raise the other half's NLL by more
    // than sampling noise: on a model this well calibrated (T near 1) it moves both ways.
    eprintln!("{cal:?}");
    // Spread: -0.0014 to 0.0013 in 13 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
    figures::at_most(
        "mnist/temperature_nll_change",
        cal.nll_after - cal.nll_before,
        0.003,
    );

    let cfg = ConformalRunConfig::new(
        ConformalConfig::new()
            .with_alpha(0.1)
            .with_score(ConformalScore::Lac),
        EstimatorConfig::new(),
    )
    .with_splits(20);
    let conf = job::conformal(&run, &cfg, &tmp.path().join("conf"), false)?;
    // Spread: 0.8958 to 0.9004 in 13 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
    figures::within("mnist/lac_0.1_coverage", conf.mean_coverage, 0.88, 0.93);

    let ood = job::ood(
        &run,
        &EstimatorConfig::new(),
        &tmp.path().join("ood"),
        false,
    )?;
    let msp = ood.auroc["uniform-noise"]["msp"];
    // Spread: 0.9784 to 0.9988 in 13 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
    figures::at_least("mnist/msp_uniform_noise_auroc", msp, 0.95);

    let sgr = aegis::oversight::job::calibrate_threshold(
        &run,
        &aegis::oversight::job::SgrConfig::new(EstimatorConfig::new()),
        &tmp.path().join("sgr"),
        false,
    )?;
    eprintln!("{sgr:?}");
    // A held-out half of 500 rows measures the risk with sampling noise, so a split can
    // exceed r* while the true risk does not.
    // Spread: 0 to 0.1 in 13 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
    figures::at_most("mnist/sgr_violation_rate", sgr.violation_rate, 0.15);
    // Spread: 0.7482 to 0.927 in 13 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
    figures::at_least("mnist/sgr_coverage", sgr.mean_coverage, 0.5);
    Ok(())
}
