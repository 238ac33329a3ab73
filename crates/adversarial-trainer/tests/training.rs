//! Adversarial training writes a loadable run directory and makes the model more robust than
//! plain training with the same budget.

use aegis_adversarial_trainer::{
    AdvMethod, AdvTrainConfig, Fgsm, FgsmConfig, GoalKind, run_attack, train_adversarial,
};
use aegis_model::burn::tensor::Device;
use aegis_model::data::DataSource;
use aegis_model::{DeviceSpec, RunDir, TrainConfig, TrainRequest, train_run};

#[path = "../../../tests/support/figures.rs"]
mod figures;

#[test]
fn fast_at_run_is_loadable_and_more_robust_than_plain_training() {
    let tmp = tempfile::tempdir().unwrap();
    let mut req = TrainRequest::new(DataSource::Mnist);
    req.train = TrainConfig::new()
        .with_epochs(2)
        .with_seed(figures::seed(1));
    let plain = train_run(&req).unwrap().model;
    req.out = Some(tmp.path().to_path_buf());
    let adv = AdvTrainConfig::new()
        .with_method(AdvMethod::FastAt)
        .with_warmup_epochs(0);
    let outcome = train_adversarial(&req, &adv).unwrap();
    // Same run-directory format: the model crate loads it and sees the recipe.
    let (loaded, config) = RunDir::new(tmp.path())
        .load_model(&DeviceSpec::Flex.open().unwrap())
        .unwrap();
    assert_eq!(config.extensions["adversarial"]["method"], "fast-at");
    assert_eq!(config.extensions["adversarial"]["eps"], 0.3);
    let report = aegis_model::evaluate_run(tmp.path(), None, DeviceSpec::Flex).unwrap();
    assert_eq!(report.test_accuracy, outcome.metrics.test_accuracy);
    let (split, _) = DataSource::Mnist.load_split(0, 0.2).unwrap();
    let test = split.test.head(Some(300));
    let fgsm = Fgsm::new(FgsmConfig::new(0.2)).unwrap();
    let d = Device::flex();
    let robust = |m| {
        run_attack(m, &fgsm, &test, GoalKind::Untargeted, 0.2, 300, &d)
            .unwrap()
            .0
            .adversarial_accuracy
    };
    let (r_plain, r_adv) = (robust(&plain), robust(&loaded));
    // FGSM ε=0.2 accuracy: fast-at vs plain. Two epochs of Fast-AT vary widely across seeds
    // (catastrophic overfitting comes and goes), so the bar is the claim itself: more robust
    // than plain training. It sits below every run measured, by less than half the range.
    eprintln!("FGSM ε=0.2 accuracy: fast-at {r_adv}, plain {r_plain}");
    // Spread: 0.1067 to 0.38 in 12 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
    figures::at_least(
        "adv_training/fast_at_fgsm_0.2_gain_over_plain",
        r_adv - r_plain,
        0.0,
    );
}

#[test]
fn pgd_at_and_trades_train_with_warmup() {
    let mut req = TrainRequest::new(DataSource::Mnist);
    req.train = TrainConfig::new()
        .with_epochs(1)
        .with_seed(figures::seed(1));
    for (method, name) in [(AdvMethod::PgdAt, "pgd_at"), (AdvMethod::Trades, "trades")] {
        let adv = AdvTrainConfig::new()
            .with_method(method)
            .with_steps(2)
            .with_warmup_epochs(1);
        let out = train_adversarial(&req, &adv).unwrap();
        // Spread: 0.545 to 0.908 in 22 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
        figures::at_least(
            &format!("adv_training/{name}_1_epoch_accuracy"),
            out.metrics.test_accuracy,
            0.45,
        );
        assert!(out.metrics.epochs[0].loss.is_finite());
    }
}

/// The bar for Aegis's own recipe, on every CI run: the defaults (TRADES β = 6,
/// warm-up 5 epochs, 10 steps of 2.5ε/10, batch 16, 10 epochs, SmallCnn without dropout)
/// reach clean ≥ 93% and PGD-40 (ε 0.3, step 0.01, random start) ≥ 70% on the 1,000 bundled
/// MNIST test images. Seed 1 measured 95.5% / 84.5% (README); about 2 minutes on 2 cores.
/// Across seeds, kernels and CPUs PGD-40 ranged 71.9–86.2% (issue 23), so the test's bar sits
/// at 64%, half that range below the worst run; the 70% held in every run.
#[test]
fn default_recipe_reaches_the_robustness_bar() {
    use aegis_adversarial_trainer::{Pgd, PgdConfig, best_recipe_train_config};
    let mut req = TrainRequest::new(DataSource::Mnist);
    req.train = best_recipe_train_config().with_seed(figures::seed(1));
    req.dropout = Some(0.0);
    let out = train_adversarial(&req, &AdvTrainConfig::new()).unwrap();
    let test = out.config.test_split(None).unwrap();
    let pgd = Pgd::new(PgdConfig::new(0.3)).unwrap();
    let (report, _) = run_attack(
        &out.model,
        &pgd,
        &test,
        GoalKind::Untargeted,
        0.3,
        500,
        &Device::flex(),
    )
    .unwrap();
    eprintln!("{report:?}");
    // Spread: 0.944 to 0.968 in 12 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
    figures::at_least(
        "adv_training/best_recipe_clean_accuracy",
        report.clean_accuracy,
        0.93,
    );
    // Spread: 0.719 to 0.862 in 12 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
    figures::at_least(
        "adv_training/best_recipe_pgd40_0.3_accuracy",
        report.adversarial_accuracy,
        0.64,
    );
}
