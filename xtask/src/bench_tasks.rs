//! The bench's tasks on one device, each as a closure that runs one repeat, with the PyTorch
//! worker's command for the same work (same data, batch sizes and settings; `None` when the
//! worker has no counterpart). The runner (`bench.rs`) warms each up, then interleaves the
//! repeats of both sides.

use aegis_adversarial_trainer::{Attack, Goal, Pgd, PgdConfig};
use aegis_interpretability::{
    Attribution, IgConfig, IntegratedGradients, KernelShap, KernelShapConfig,
};
use aegis_model::burn::tensor::Device;
use aegis_model::data::{DataSource, Dataset, Split};
use aegis_model::model_config_for;
use aegis_model::models::{Architecture, Model, ModelConfig};
use aegis_model::train::{TrainConfig, TrainOptions, fit};
use aegis_model::{batch_tensor, predict};
use aegis_uncertainty::{McDropout, McDropoutConfig, UncertaintyEstimator};
use anyhow::Result;
use serde_json::{Value, json};

/// Test rows the training tasks evaluate after their epoch (as `fit` does every epoch).
pub const TRAIN_TEST_ROWS: usize = 10;

/// One task: what it is, how big, and how to run one repeat on each side.
pub struct Task<'a> {
    /// Name, e.g. `train SmallCnn`.
    pub name: String,
    /// Rows per batch (the forward batch size).
    pub batch: usize,
    /// Samples per repeat (what samples/s counts).
    pub samples: usize,
    /// The worker's `run` command for the same work.
    pub torch: Option<Value>,
    /// One repeat on the Aegis side.
    pub run: Box<dyn FnMut() -> Result<()> + 'a>,
}

/// The model every inference-side task uses: SmallCnn, seed 1, dropout 0.5 (off in inference;
/// on for MC dropout), and its config (to export the same weights to PyTorch).
pub fn inference_model(device: &Device) -> Result<(Model, ModelConfig)> {
    let cfg = ModelConfig::new(Architecture::SmallCnn, vec![1, 28, 28], 10).with_dropout(0.5);
    Ok((cfg.init(device, 1)?, cfg))
}

fn subset(split: &Split, n_train: usize, n_test: usize) -> Split {
    Split {
        train: split.train.clone().head(Some(n_train)),
        test: split.test.clone().head(Some(n_test)),
    }
}

/// One epoch of `train_rows` MNIST images (Adam 1e-3), SmallCnn and MLP, batch 64 and 16;
/// the model is built inside the repeat on both sides.
pub fn training<'a>(device: &'a Device, mnist: &Split, train_rows: usize) -> Vec<Task<'a>> {
    let data = subset(mnist, train_rows, TRAIN_TEST_ROWS);
    let mut tasks = Vec::new();
    for (arch, label, torch_arch) in [
        (Architecture::SmallCnn, "train SmallCnn", "smallcnn"),
        (Architecture::Mlp, "train MLP 784-128-64-10", "mlp"),
    ] {
        for batch in [64, 16] {
            let model_cfg =
                ModelConfig::new(arch, vec![1, 28, 28], 10).with_dropout(arch.default_dropout());
            let cfg = TrainConfig::new().with_epochs(1).with_batch_size(batch);
            let data = data.clone();
            tasks.push(Task {
                name: format!("{label} (Adam, {train_rows} rows, 1 epoch)"),
                batch,
                samples: train_rows,
                torch: Some(
                    json!({"task": "train", "arch": torch_arch, "rows": train_rows,
                                   "batch": batch, "test_rows": TRAIN_TEST_ROWS}),
                ),
                run: Box::new(move || {
                    let opts = TrainOptions::default();
                    fit(model_cfg.init(device, 1)?, &cfg, &data, device, &opts)?;
                    Ok(())
                }),
            });
        }
    }
    tasks
}

/// SmallCnn class predictions for the 1,000 test images, batches of 100 and 500.
pub fn inference<'a>(device: &'a Device, model: &'a Model, test: &'a Dataset) -> Vec<Task<'a>> {
    [100, 500]
        .into_iter()
        .map(|batch| Task {
            name: "inference SmallCnn (1,000 images)".into(),
            batch,
            samples: test.len(),
            torch: Some(json!({"task": "infer", "rows": test.len(), "batch": batch})),
            run: Box::new(move || {
                predict(model, &test.features, batch, device);
                Ok(())
            }),
        })
        .collect()
}

/// PGD-10 (ε 0.3, step 0.01, random start) on the 1,000 test images in batches of 100 (what
/// `attack` and `evaluate` use by default) and as one batch of 1,000.
pub fn pgd<'a>(device: &'a Device, model: &'a Model, test: &'a Dataset) -> Result<Vec<Task<'a>>> {
    let pgd = Pgd::new(PgdConfig::new(0.3).with_steps(10).with_step_size(0.01))?;
    Ok([aegis_model::DEFAULT_BATCH_ROWS, 1000]
        .into_iter()
        .map(|batch| {
            let pgd = pgd.clone();
            Task {
                name: "PGD-10 SmallCnn (1,000 images, ε 0.3, step 0.01)".into(),
                batch,
                samples: test.len(),
                torch: Some(json!({"task": "pgd", "rows": test.len(), "batch": batch,
                                   "eps": 0.3, "step_size": 0.01, "steps": 10})),
                run: Box::new(move || {
                    for start in (0..test.len()).step_by(batch) {
                        let end = (start + batch).min(test.len());
                        let xb = batch_tensor(
                            test.features[start * 784..end * 784].to_vec(),
                            end - start,
                            784,
                            device,
                        );
                        let gb = Goal::Untargeted(test.labels[start..end].to_vec());
                        pgd.perturb(model, xb, &gb)?.into_data();
                    }
                    Ok(())
                }),
            }
        })
        .collect())
}

/// Integrated gradients (Gauss–Legendre, n = 50, 512 interpolated rows per pass) of the true
/// class, 20 images in one call.
pub fn integrated_gradients<'a>(
    device: &'a Device,
    model: &'a Model,
    test: &'a Dataset,
) -> Result<Task<'a>> {
    let images = 20;
    let cfg = IgConfig::new();
    let batch = cfg.internal_batch_size;
    let torch = json!({"task": "ig", "images": images, "steps": cfg.steps,
                       "internal_batch": batch});
    let ig = IntegratedGradients::new(cfg)?;
    let (xs, ys) = (&test.features[..images * 784], &test.labels[..images]);
    Ok(Task {
        name: "integrated gradients SmallCnn (n = 50, Gauss–Legendre; 20 images)".into(),
        batch,
        samples: images,
        torch: Some(torch),
        run: Box::new(move || {
            ig.attribute(model, xs, ys, device)?;
            Ok(())
        }),
    })
}

/// MC dropout, T = 20 passes over 100 test images (each chunk of 10 inputs tiled 20 times:
/// the estimator's default 200 rows per batch).
pub fn mc_dropout<'a>(device: &'a Device, model: &Model, test: &'a Dataset) -> Result<Task<'a>> {
    let rows = 100;
    let cfg = McDropoutConfig::new();
    let torch = json!({"task": "mc_dropout", "rows": rows, "passes": cfg.passes,
                       "batch_rows": cfg.batch_rows});
    let batch = cfg.batch_rows;
    let mc = McDropout::new(model, cfg)?;
    let xs = &test.features[..rows * 784];
    Ok(Task {
        name: "MC dropout SmallCnn (T = 20; 100 images)".into(),
        batch,
        samples: rows,
        torch: Some(torch),
        run: Box::new(move || {
            mc.predict_samples(xs, device)?;
            Ok(())
        }),
    })
}

/// KernelSHAP per row on a breast-cancer MLP (30-128-64-2), 100 background rows, shap's
/// automatic budget (2·30 + 2048 = 2,108 coalitions): 5 rows. No PyTorch counterpart.
pub fn kernel_shap(device: &Device) -> Result<Task<'_>> {
    let (bc, _) = DataSource::BreastCancer.load_split(0, 0.2)?;
    let mlp_cfg = model_config_for(Architecture::Mlp, &bc.train, None, None);
    let (mlp, _) = fit(
        mlp_cfg.init(device, 1)?,
        &TrainConfig::new().with_epochs(10),
        &bc,
        device,
        &TrainOptions::default(),
    )?;
    let background = bc.train.clone().head(Some(100)).features;
    let n = 5;
    let rows = bc.test.features[..n * 30].to_vec();
    let targets = vec![1usize; n];
    let cfg = KernelShapConfig::new();
    let batch = cfg.batch_size;
    let shap = KernelShap::new(cfg)?;
    Ok(Task {
        name: "KernelSHAP breast-cancer MLP (100 background rows, 2,108 coalitions; 5 rows)".into(),
        batch,
        samples: n,
        torch: None,
        run: Box::new(move || {
            shap.explain(&mlp, &rows, &targets, &background, device)?;
            Ok(())
        }),
    })
}
