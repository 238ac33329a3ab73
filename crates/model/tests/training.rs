//! Training behaviour on real and synthetic data: accuracy, reproducibility, regularisers,
//! and the non-finite-loss stop that keeps the last good checkpoint.

use aegis_model::data::DataSource;
use aegis_model::{
    DeviceSpec, LrSchedule, ModelError, OptimizerKind, RunDir, TrainConfig, TrainRequest, train_run,
};

fn request(data: DataSource, cfg: TrainConfig) -> TrainRequest {
    let mut r = TrainRequest::new(data);
    r.train = cfg;
    r
}

#[test]
fn smallcnn_learns_bundled_mnist_in_two_epochs() {
    let out = train_run(&request(
        DataSource::Mnist,
        TrainConfig::new().with_epochs(2),
    ))
    .unwrap();
    assert!(
        out.metrics.test_accuracy > 0.90,
        "accuracy {}",
        out.metrics.test_accuracy
    );
    assert_eq!(out.metrics.n_test, 1000);
    assert!(out.metrics.epochs[1].loss < out.metrics.epochs[0].loss);
}

#[test]
fn same_seed_gives_identical_metrics_on_flex() {
    let cfg = TrainConfig::new().with_epochs(2).with_seed(11);
    let run = || {
        let m = train_run(&request(DataSource::BreastCancer, cfg.clone()))
            .unwrap()
            .metrics;
        m.epochs
            .iter()
            .map(|e| (e.loss, e.train_accuracy, e.test_accuracy))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
    // Dropout + conv: SmallCnn on a slice of MNIST for one epoch.
    let mut req = request(
        DataSource::Mnist,
        TrainConfig::new().with_epochs(1).with_seed(5),
    );
    req.split_seed = 0;
    let a = train_run(&req).unwrap().metrics.epochs[0].loss;
    let b = train_run(&req).unwrap().metrics.epochs[0].loss;
    assert_eq!(a, b, "SmallCnn loss differs between identical runs");
    let other = train_run(&request(
        DataSource::BreastCancer,
        cfg.clone().with_seed(12),
    ))
    .unwrap()
    .metrics
    .epochs[0]
        .loss;
    assert_ne!(other, run()[0].0, "a different seed should change the run");
}

#[test]
fn tabular_sets_reach_known_accuracy() {
    for (data, bar) in [
        (DataSource::BreastCancer, 0.93),
        (DataSource::Wine, 0.9),
        (DataSource::Moons, 0.95),
        (DataSource::Blobs, 0.85),
    ] {
        let out = train_run(&request(
            data.clone(),
            TrainConfig::new().with_epochs(30).with_learning_rate(3e-3),
        ))
        .unwrap();
        assert!(
            out.metrics.test_accuracy >= bar,
            "{data}: {}",
            out.metrics.test_accuracy
        );
    }
}

#[test]
fn sgd_l1_l2_and_schedules_train() {
    let cfg = TrainConfig::new()
        .with_epochs(20)
        .with_optimizer(OptimizerKind::Sgd)
        .with_learning_rate(0.05)
        .with_weight_decay(1e-4)
        .with_l1(1e-5)
        .with_lr_schedule(LrSchedule::Cosine { min_lr: 0.0 });
    let out = train_run(&request(DataSource::Moons, cfg)).unwrap();
    assert!(
        out.metrics.test_accuracy > 0.9,
        "{}",
        out.metrics.test_accuracy
    );
    let lrs: Vec<f64> = out.metrics.epochs.iter().map(|e| e.learning_rate).collect();
    assert!(
        lrs.windows(2).all(|w| w[1] <= w[0]),
        "cosine decreases: {lrs:?}"
    );
}

#[test]
fn l1_shrinks_weights() {
    use aegis_model::burn::tensor::Device;
    let base = TrainConfig::new().with_epochs(10);
    let plain = train_run(&request(DataSource::Informative, base.clone()))
        .unwrap()
        .model;
    let sparse = train_run(&request(DataSource::Informative, base.with_l1(1e-2)))
        .unwrap()
        .model;
    let d = Device::flex();
    let n = |m| aegis_model::models::l1_norm(m, &d).into_scalar::<f32>();
    assert!(
        n(&sparse) < 0.5 * n(&plain),
        "L1 {} vs plain {}",
        n(&sparse),
        n(&plain)
    );
}

#[test]
fn non_finite_loss_stops_and_keeps_the_last_good_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    // Epoch 1 trains normally; from epoch 2 the learning rate is multiplied by 1e30.
    let cfg = TrainConfig::new()
        .with_epochs(4)
        .with_optimizer(OptimizerKind::Sgd)
        .with_learning_rate(0.05)
        .with_lr_schedule(LrSchedule::Step {
            every: 1,
            gamma: 1e30,
        });
    let mut req = request(DataSource::Moons, cfg);
    req.out = Some(tmp.path().to_path_buf());
    let err = train_run(&req).unwrap_err();
    let ModelError::NonFiniteLoss {
        epoch, checkpoint, ..
    } = &err
    else {
        panic!("unexpected: {err}")
    };
    assert!(*epoch >= 2, "diverged at epoch {epoch}");
    assert_eq!(
        checkpoint.as_deref(),
        Some(tmp.path().join("model.bpk").as_path())
    );
    assert!(err.to_string().contains("last good checkpoint"), "{err}");
    // The run is incomplete: refused unless the checkpoint is asked for explicitly.
    let refused = aegis_model::evaluate_run(tmp.path(), None, DeviceSpec::Flex).unwrap_err();
    assert!(
        matches!(refused, ModelError::IncompleteRun { .. }),
        "{refused}"
    );
    // The kept checkpoint loads and still classifies well.
    let report = aegis_model::evaluate_run_with(tmp.path(), None, DeviceSpec::Flex, true).unwrap();
    assert!(report.incomplete);
    assert!(
        report.test_accuracy > 0.7,
        "checkpoint accuracy {}",
        report.test_accuracy
    );
    let (model, _) = RunDir::new(tmp.path())
        .load_checkpoint(&DeviceSpec::Flex.open().unwrap())
        .unwrap();
    drop(model);
}
