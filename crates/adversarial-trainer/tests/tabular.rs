//! Attacks on tabular data (bundled breast cancer, 30 features around 0.01–2,500): ε in units
//! of each feature's training standard deviation, inputs clipped to the run's recorded
//! domain, robustness reports that mean something, and adversarial training in those units.

use std::process::Command;
use std::sync::OnceLock;

use aegis_adversarial_trainer::{
    AdvMethod, AdvTrainConfig, Apgd, ApgdConfig, Attack, AttackPlan, CwConfig, CwL2, EpsUnits,
    EvaluateConfig, Fab, FabConfig, Fgsm, FgsmConfig, GoalKind, MiFgsm, MiFgsmConfig, Pgd,
    PgdConfig, Square, SquareConfig, Suite, ThreatSpace, evaluate_robustness, run_attack_in,
    train_adversarial,
};
use aegis_model::data::DataSource;
use aegis_model::{Dataset, InputDomain, TrainConfig, TrainOutcome, TrainRequest, train_run};
use burn::module::Module;
use burn::tensor::Device;

#[path = "../../../tests/support/figures.rs"]
mod figures;

/// The MLP of `aegis-model train --data breast-cancer` (10 epochs), trained once.
fn undefended() -> &'static (TrainOutcome, Dataset) {
    static RUN: OnceLock<(TrainOutcome, Dataset)> = OnceLock::new();
    RUN.get_or_init(|| {
        let mut req = TrainRequest::new(DataSource::BreastCancer);
        req.train = TrainConfig::new()
            .with_epochs(10)
            .with_seed(figures::seed(1));
        let outcome = train_run(&req).unwrap();
        let test = outcome.config.test_split(None).unwrap();
        (outcome, test)
    })
}

/// The run's threat space in standard-deviation units, box widened to the test rows.
fn std_space(outcome: &TrainOutcome, rows: &Dataset) -> ThreatSpace {
    let domain = outcome.config.input_domain().unwrap().covering(rows);
    ThreatSpace::for_domain(&domain, None, None).unwrap()
}

/// Every adversarial row stays within ε·σⱼ of its clean row in every feature (L∞ attacks)
/// and inside the box; returns the fraction of rows still classified correctly.
fn check_in_space<A: Attack + Clone>(attack: &A, eps: f64, l2: bool) -> f64 {
    let (outcome, test) = undefended();
    let space = std_space(outcome, test);
    let domain = outcome.config.input_domain().unwrap();
    let plan = AttackPlan {
        goal: GoalKind::Untargeted,
        eps,
        batch_size: 50,
        space: Some(&space),
    };
    let (report, adv) =
        run_attack_in(&outcome.model, attack, test, &plan, &Device::flex()).unwrap();
    assert_eq!(report.eps_units, EpsUnits::Std);
    let f = test.dim();
    let mut moved_far = 0usize;
    for (i, row) in adv.chunks(f).enumerate() {
        let clean = test.row(i);
        let mut l2sq = 0f64;
        for j in 0..f {
            let unit = domain.std[j].max(f32::MIN_POSITIVE) as f64;
            let d = (row[j] - clean[j]) as f64 / unit;
            l2sq += d * d;
            if !l2 {
                assert!(
                    d.abs() <= eps * (1.0 + 1e-4) + 1e-6,
                    "row {i} feature {j}: {d} > {eps}"
                );
            }
            let (lo, hi) = (space.bounds.lower_of(j), space.bounds.upper_of(j));
            assert!(
                row[j] >= lo && row[j] <= hi,
                "row {i} feature {j} leaves the box"
            );
        }
        moved_far += usize::from(l2sq.sqrt() > 0.5 * eps);
    }
    if eps > 0.0 && !l2 {
        assert!(moved_far > 0, "{}: nothing moved", report.attack);
    }
    report.adversarial_accuracy
}

#[test]
fn every_attack_stays_in_the_per_feature_ball_and_the_box() {
    let eps = 0.5;
    let clean = undefended().0.metrics.test_accuracy;
    let accs = [
        check_in_space(&Fgsm::new(FgsmConfig::new(eps)).unwrap(), eps, false),
        check_in_space(
            &Pgd::new(PgdConfig::new(eps).with_step_size(0.05)).unwrap(),
            eps,
            false,
        ),
        check_in_space(&MiFgsm::new(MiFgsmConfig::new(eps)).unwrap(), eps, false),
        check_in_space(&Apgd::new(ApgdConfig::new(eps)).unwrap(), eps, false),
        check_in_space(&Fab::new(FabConfig::new(eps)).unwrap(), eps, false),
        check_in_space(&Square::new(SquareConfig::new(eps)).unwrap(), eps, false),
        check_in_space(
            &CwL2::new(CwConfig::new().with_max_l2(Some(2.0))).unwrap(),
            2.0,
            true,
        ),
    ];
    // Half a standard deviation per feature is a real threat for the undefended MLP.
    let names = ["fgsm", "pgd", "mifgsm", "apgd", "fab", "square", "cw_l2"];
    for (name, a) in names.into_iter().zip(accs) {
        // Spread: 0.2655 to 0.5929 in 98 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
        figures::at_least(
            &format!("tabular/{name}_0.5std_accuracy_drop"),
            clean - a,
            0.1,
        );
    }
}

#[test]
fn raw_units_on_features_near_500_barely_move_them() {
    // ε = 0.01 raw is invisible next to features of hundreds but huge for features of 0.01;
    // in std units the same ε is 1% of each feature's spread: the two must differ.
    let (outcome, test) = undefended();
    let domain = outcome.config.input_domain().unwrap().covering(test);
    let raw = ThreatSpace::for_domain(&domain, Some(EpsUnits::Raw), None).unwrap();
    let std = std_space(outcome, test);
    assert_eq!(raw.units, EpsUnits::Raw);
    let pgd = Pgd::new(PgdConfig::new(0.3).with_step_size(0.05)).unwrap();
    let run = |space: &ThreatSpace| {
        let plan = AttackPlan {
            goal: GoalKind::Untargeted,
            eps: 0.3,
            batch_size: 100,
            space: Some(space),
        };
        let (r, adv) = run_attack_in(&outcome.model, &pgd, test, &plan, &Device::flex()).unwrap();
        (r, adv)
    };
    let (r_raw, adv_raw) = run(&raw);
    let (r_std, _) = run(&std);
    assert!((r_raw.max_linf - 0.3).abs() < 1e-3, "{}", r_raw.max_linf);
    assert!(r_raw.threat.contains("raw") && r_std.threat.contains("standard deviations"));
    // Feature 3 (mean area, σ ≈ 350) moves by at most 0.3 in raw units.
    let f = test.dim();
    let moved = adv_raw
        .chunks(f)
        .enumerate()
        .map(|(i, row)| (row[3] - test.row(i)[3]).abs())
        .fold(0f32, f32::max);
    assert!(moved <= 0.3 + 1e-3, "{moved}");
    assert!(
        std.scale[3] > 100.0,
        "mean area's σ is in the hundreds: {}",
        std.scale[3]
    );
}

#[test]
fn autoattack_on_breast_cancer_falls_with_eps_to_zero() {
    let (outcome, test) = undefended();
    let space = std_space(outcome, test);
    let diameter = space.diameter(test.dim()).unwrap();
    let cfg = EvaluateConfig {
        suite: Suite::AutoAttack,
        eps: vec![0.0, 0.1, 0.5, 1.0, diameter],
        space,
        ..EvaluateConfig::default()
    };
    let tmp = tempfile::tempdir().unwrap();
    let report =
        evaluate_robustness(&outcome.model, test, &cfg, &Device::flex(), tmp.path()).unwrap();
    let worst: Vec<f64> = report.worst_case.iter().map(|w| w.accuracy).collect();
    assert!(
        (worst[0] - report.clean_accuracy).abs() < 1e-12,
        "{worst:?}"
    );
    assert!(worst.windows(2).all(|w| w[1] <= w[0]), "{worst:?}");
    // ε = 0.5 std must hurt.
    eprintln!("worst case by ε: {worst:?}");
    // Spread: 0.5752 to 0.5929 in 14 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
    figures::at_least(
        "tabular/autoattack_0.5std_worst_case_drop",
        worst[0] - worst[2],
        0.2,
    );
    // Spread: 0 to 0 in 14 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
    figures::at_most(
        "tabular/autoattack_diameter_worst_case_accuracy",
        *worst.last().unwrap(),
        0.0,
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("apgd-dlr-t dropped"))
    );
    for c in &report.sanity_checks {
        eprintln!("{c:?}");
        // Spread: 1 to 1 in 70 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
        figures::holds(&format!("tabular/check_passes/{}", c.name), c.passed);
    }
    let json = std::fs::read_to_string(tmp.path().join("report.json")).unwrap();
    assert!(
        json.contains("\"units\": \"std\""),
        "the report says which units"
    );
}

#[test]
fn trades_in_std_units_beats_the_undefended_model_under_attack() {
    let eps = 0.5;
    let mut req = TrainRequest::new(DataSource::BreastCancer);
    req.train = aegis_adversarial_trainer::best_recipe_train_config()
        .with_epochs(10)
        .with_seed(figures::seed(1));
    let adv = AdvTrainConfig::new()
        .with_method(AdvMethod::Trades)
        .with_eps(eps);
    let robust = train_adversarial(&req, &adv).unwrap();
    let saved = &robust.config.extensions["adversarial_space"];
    assert_eq!(saved["units"], "std");
    let (plain, test) = undefended();
    let space = std_space(plain, test);
    let apgd = Apgd::new(ApgdConfig::new(eps)).unwrap();
    let plan = AttackPlan {
        goal: GoalKind::Untargeted,
        eps,
        batch_size: 100,
        space: Some(&space),
    };
    let d = Device::flex();
    let acc = |m: &aegis_model::Model| {
        run_attack_in(&m.valid(), &apgd, test, &plan, &d)
            .unwrap()
            .0
            .adversarial_accuracy
    };
    let (a_plain, a_robust) = (acc(&plain.model), acc(&robust.model));
    // APGD-CE at ε = 0.5 std: TRADES vs undefended.
    eprintln!("APGD-CE at ε = 0.5 std: TRADES {a_robust} vs undefended {a_plain}");
    // Spread: 0.3097 to 0.3451 in 14 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
    figures::at_least(
        "tabular/trades_apgd_0.5std_gain_over_undefended",
        a_robust - a_plain,
        0.15,
    );
}

#[test]
fn the_cli_evaluates_a_tabular_run_and_names_its_units() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("bc");
    let mut req = TrainRequest::new(DataSource::BreastCancer);
    req.out = Some(run.clone());
    train_run(&req).unwrap();
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    let domain: InputDomain = serde_json::from_value(saved["data"]["domain"].clone()).unwrap();
    assert_eq!((domain.lower.len(), domain.std.len()), (30, 30));
    let bin = env!("CARGO_BIN_EXE_aegis-adversarial-trainer");
    let out = Command::new(bin)
        .args([
            "evaluate",
            "--run",
            run.to_str().unwrap(),
            "--suite",
            "cheap",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("training standard deviations"), "{stdout}");
    assert!(stdout.contains("apgd-dlr-t dropped"), "{stdout}");
    // Bad bounds are a one-line error with exit code 2.
    let bad = Command::new(bin)
        .args([
            "attack",
            "--run",
            run.to_str().unwrap(),
            "--attack",
            "pgd",
            "--eps",
            "0.1",
        ])
        .args(["--bounds", "1,0"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("LO,HI") && err.lines().count() == 1, "{err}");
}
