//! Calibrate a model and give its predictions with a coverage guarantee, from code: an MLP on
//! the bundled breast-cancer table, a temperature fitted on half of its test rows, and split
//! conformal sets (LAC, α = 0.1) calibrated on that half and checked on the other.
//! `cargo run --example calibrate_and_conformal`.

use aegis::model::{DataSource, TrainConfig, TrainRequest, train_run};
use aegis::uncertainty::{
    ConformalConfig, Deterministic, SplitConformal, UncertaintyEstimator, estimate_temperature,
};

fn main() -> anyhow::Result<()> {
    aegis::model::keep_freed_memory();
    let mut request = TrainRequest::new(DataSource::BreastCancer);
    request.train = TrainConfig::new().with_epochs(5).with_seed(1);
    let trained = train_run(&request)?;
    let test = trained.config.test_split(None)?;
    let device = request.device.open()?;
    let (c, n) = (test.num_classes, test.labels.len());
    let f = test.features.len() / n;
    let half = n / 2;
    let (fit_x, check_x) = test.features.split_at(half * f);
    let (fit_y, check_y) = test.labels.split_at(half);

    // Temperature scaling: fitted on the first half's logits, kept at 1 when that half holds
    // too few mistakes to estimate it (the reason is in `not_estimated`).
    let logits = Deterministic::new(&trained.model).predict_samples(fit_x, &device)?;
    let t = estimate_temperature(&logits.logits, fit_y, c)?;
    println!(
        "temperature: {:.3} ({})",
        t.temperature,
        t.not_estimated.as_deref().unwrap_or("estimated")
    );
    let estimator = Deterministic::new(&trained.model).with_temperature(t.temperature)?;

    // Conformal sets: q̂ from the first half, coverage measured on the second.
    let conformal = SplitConformal::calibrate(
        ConformalConfig::new(),
        &estimator.predict_proba(fit_x, &device)?,
        fit_y,
        c,
    )?;
    let sets = conformal.predict_sets(&estimator.predict_proba(check_x, &device)?, c, 0);
    let covered = sets
        .iter()
        .zip(check_y)
        .filter(|(s, y)| s.contains(y))
        .count();
    let mean_size = sets.iter().map(Vec::len).sum::<usize>() as f64 / sets.len() as f64;
    println!(
        "coverage: {:.3} (target 0.9) on {} rows",
        covered as f64 / sets.len() as f64,
        sets.len()
    );
    println!("mean set size: {mean_size:.2}");
    Ok(())
}
