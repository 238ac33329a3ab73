//! The commands together on a small trained run: every report written, ensemble members
//! reused from the cache, and bad input named in the error.

use std::path::Path;

use aegis_model::{DataSource, DeviceSpec, LoadedRun, TrainRequest, train_run};

use super::*;
use crate::{ConformalConfig, train_ensemble};

/// A small MLP with dropout on the synthetic blobs, trained into `dir` (a few seconds).
fn blobs_run(dir: &Path) -> LoadedRun {
    let mut req = TrainRequest::new(DataSource::Blobs);
    req.train = req
        .train
        .clone()
        .with_epochs(4)
        .with_seed(crate::figures::seed(1));
    req.dropout = Some(0.3);
    req.hidden = Some(vec![32]);
    req.out = Some(dir.to_path_buf());
    train_run(&req).unwrap();
    LoadedRun::open(dir, DeviceSpec::Flex).unwrap()
}

#[test]
fn commands_write_their_reports_and_reuse_ensemble_members() {
    let tmp = tempfile::tempdir().unwrap();
    let run = blobs_run(&tmp.path().join("run"));
    let out = tmp.path().join("out");

    let cal = calibrate(&run, &CalibrateConfig::new(), &out.join("cal")).unwrap();
    assert!(cal.temperature > 0.0 && cal.n_fit + cal.n_eval == run.test.len());
    // The fit never worsens its own NLL.
    // Spread: -0.2852 to -0.0688 in 14 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
    crate::figures::at_most(
        "uncertainty/temperature_fit_nll_increase",
        cal.fit_nll.1 - cal.fit_nll.0,
        1e-12,
    );
    assert!(out.join("cal/reliability.png").exists());
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("cal/calibration.json")).unwrap()).unwrap();
    for key in [
        "temperature",
        "nll_before",
        "nll_after",
        "ece_before",
        "ece_after",
    ] {
        assert!(json[key].is_f64(), "{key} missing");
    }

    let cfg =
        ConformalRunConfig::new(ConformalConfig::new(), EstimatorConfig::new()).with_splits(5);
    let conf = conformal(&run, &cfg, &out.join("conf"), false).unwrap();
    assert_eq!(conf.splits.len(), 5);
    // Spread: 0.882 to 0.898 in 14 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
    crate::figures::at_least("uncertainty/lac_mean_coverage", conf.mean_coverage, 0.8);

    let eval_cfg = EvaluateConfig::new().with_passes(5).with_members(2);
    let rep = evaluate(&run, &eval_cfg, &out.join("eval"), false).unwrap();
    let names: Vec<&str> = rep
        .estimators
        .iter()
        .map(|m| m.estimator.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "deterministic",
            "temperature-scaled",
            "mc-dropout",
            "ensemble",
            "mc-dropout+ts",
            "ensemble+ts"
        ]
    );
    for f in [
        "report.json",
        "report.csv",
        "reliability.png",
        "risk_coverage.png",
        "config.json",
    ] {
        assert!(out.join("eval").join(f).exists(), "{f}");
    }
    // The second member is cached: building the ensemble again does not retrain it. Its
    // training seed is the run's plus one.
    let member = ensemble_cache(&run).join(format!(
        "member-1-seed-{}/metrics.json",
        crate::figures::seed(1) + 1
    ));
    let before = std::fs::metadata(&member).unwrap().modified().unwrap();
    let again =
        train_ensemble(&run.dir, 2, &DeviceSpec::Flex, &ensemble_cache(&run), false).unwrap();
    assert_eq!(again.len(), 2);
    assert_eq!(
        std::fs::metadata(&member).unwrap().modified().unwrap(),
        before
    );
}

#[test]
fn bad_input_gives_errors_naming_the_fault() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-run");
    let e = LoadedRun::open(&missing, DeviceSpec::Flex)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no-such-run"), "{e}");
    let mut run = blobs_run(&tmp.path().join("run"));
    // Tabular rows get the two noise sets, drawn in the per-feature box ...
    let r = ood(&run, &EstimatorConfig::new(), &tmp.path().join("o"), false).unwrap();
    let sets: Vec<&str> = r.sets.iter().map(|s| s.set.as_str()).collect();
    assert_eq!(sets, ["gaussian-noise", "uniform-noise"]);
    assert!(
        r.auroc
            .values()
            .flat_map(|p| p.values())
            .all(|v| (0.0..=1.0).contains(v))
    );
    // ... which must be finite: a domain without bounds is an error naming it.
    let f = run.test.dim();
    run.config.data.domain = Some(aegis_model::InputDomain {
        kind: aegis_model::DomainKind::Features,
        lower: vec![f32::NEG_INFINITY; f],
        upper: vec![f32::INFINITY; f],
        std: vec![1.0; f],
    });
    let e = ood(&run, &EstimatorConfig::new(), &tmp.path().join("o2"), false)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("input domain") && e.contains("finite bounds"),
        "{e}"
    );
    let e = calibrate(
        &run,
        &CalibrateConfig::new().with_bins(0),
        &tmp.path().join("c"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("bins"), "{e}");
}

/// Issue 29's case: a breast-cancer MLP trained 20 epochs (about 98% test accuracy) leaves a
/// fit half of 56 rows with a handful of mistakes; the NLL fit ran towards T → 0 (0.017) and
/// raised the held-out ECE. Now the temperature is not estimated: T = 1, every "after"
/// number equals its "before", and the report says why with the counts.
#[test]
fn a_nearly_error_free_fit_half_keeps_t_1_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let mut req = TrainRequest::new(DataSource::BreastCancer);
    req.train = req
        .train
        .clone()
        .with_epochs(20)
        .with_seed(crate::figures::seed(1));
    req.out = Some(tmp.path().join("run"));
    train_run(&req).unwrap();
    let run = LoadedRun::open(&tmp.path().join("run"), DeviceSpec::Flex).unwrap();
    let out = tmp.path().join("cal");
    let cal = calibrate(&run, &CalibrateConfig::new(), &out).unwrap();
    eprintln!("{cal:?}");
    // Fewer than ten errors in 56 rows is anything above 82% accuracy on the fit half.
    assert_eq!(cal.n_fit, 56);
    assert!(cal.fit_misclassified < crate::MIN_FIT_EVENTS, "{cal:?}");
    assert!(!cal.temperature_estimated);
    assert_eq!(cal.temperature, 1.0);
    assert_eq!(
        (cal.nll_after, cal.ece_after, cal.brier_after),
        (cal.nll_before, cal.ece_before, cal.brier_before)
    );
    assert_eq!(cal.fit_nll.0, cal.fit_nll.1);
    let why = cal.not_estimated_reason.as_deref().unwrap();
    let count = format!("only {} of the 56 fit rows", cal.fit_misclassified);
    assert!(
        why.contains(&count) && why.contains("T = 1 is kept"),
        "{why}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("calibration.json")).unwrap()).unwrap();
    assert_eq!(json["temperature_estimated"], false);
    assert_eq!(json["not_estimated_reason"], why);
    assert_eq!(json["min_fit_events"], crate::MIN_FIT_EVENTS);
}
