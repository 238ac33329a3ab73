//! The uncertainty bars of issue 4 on bundled MNIST with the model crate's default SmallCnn
//! recipe (seed 1), checked on every CI run: temperature scaling does not increase held-out
//! NLL; split conformal (LAC, α = 0.1, 20 random calibration/test splits) covers 88–93%; MSP
//! separates uniform-noise images from MNIST with AUROC ≥ 0.95. And the oversight bar of
//! issue 6: SGR with r* = 2%, δ = 0.001 keeps the held-out selective risk ≤ 2% in at least 95%
//! of 20 random splits, with a useful coverage.
//!
//! The ensemble and MC-dropout NLL comparisons need five trained members and are measured
//! with `aegis-uncertainty evaluate` (README), not here.

use aegis::model::{DataSource, DeviceSpec, LoadedRun, TrainRequest, train_run};
use aegis::uncertainty::job::{self, CalibrateConfig, ConformalRunConfig, EstimatorConfig};
use aegis::uncertainty::{ConformalConfig, ConformalScore};

#[test]
fn uncertainty_bars_on_bundled_mnist() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("mnist");
    let mut req = TrainRequest::new(DataSource::Mnist);
    req.out = Some(dir.clone());
    train_run(&req)?;
    let run = LoadedRun::open(&dir, DeviceSpec::Flex)?;

    let cal = job::calibrate(&run, &CalibrateConfig::new(), &tmp.path().join("cal"))?;
    assert!(
        cal.nll_after <= cal.nll_before + 1e-4,
        "temperature scaling raised held-out NLL: {cal:?}"
    );

    let cfg = ConformalRunConfig::new(
        ConformalConfig::new()
            .with_alpha(0.1)
            .with_score(ConformalScore::Lac),
        EstimatorConfig::new(),
    )
    .with_splits(20);
    let conf = job::conformal(&run, &cfg, &tmp.path().join("conf"), false)?;
    assert!(
        (0.88..=0.93).contains(&conf.mean_coverage),
        "coverage {}",
        conf.mean_coverage
    );

    let ood = job::ood(
        &run,
        &EstimatorConfig::new(),
        &tmp.path().join("ood"),
        false,
    )?;
    let msp = ood.auroc["uniform-noise"]["msp"];
    assert!(msp >= 0.95, "MSP AUROC on uniform noise {msp}");

    let sgr = aegis::oversight::job::calibrate_threshold(
        &run,
        &aegis::oversight::job::SgrConfig::new(EstimatorConfig::new()),
        &tmp.path().join("sgr"),
        false,
    )?;
    assert!(sgr.violation_rate <= 0.05, "{sgr:?}");
    assert!(sgr.mean_coverage > 0.5, "coverage {}", sgr.mean_coverage);
    Ok(())
}
