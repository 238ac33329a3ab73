//! The supervised training loop: seeded, batched, checkpointed every epoch, with a live
//! progress bar and a hard stop on a non-finite loss.

use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::{Device, Int, Tensor};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::config::{OptimizerKind, TrainConfig};
use super::resume::{
    Progress, STATE_FILE, has_resume_state, load_resume_point, remove_resume_point, resume_dir,
    save_resume_point,
};
use crate::classifier::{Classifier, accuracy, batch_tensor, label_tensor};
use crate::data::{Dataset, Split};
use crate::error::{ModelError, Result};
use crate::models::{Model, l1_norm};
use crate::run::{EpochMetrics, Metrics, RunDir};

/// A training batch as handed to a [`LossFn`].
pub struct Batch {
    /// Flat inputs `[B, F]` on the autodiff device.
    pub x: Tensor<2>,
    /// Labels `[B]`.
    pub y: Tensor<1, Int>,
    /// 0-based epoch.
    pub epoch: usize,
    /// 0-based batch index within the epoch.
    pub batch_index: usize,
    /// Batches per epoch.
    pub batches_per_epoch: usize,
}

impl Batch {
    /// Fraction of training completed before this batch, in epochs (e.g. 2.5 = half-way
    /// through the third epoch). Used by schedules such as an ε warm-up.
    pub fn progress_epochs(&self) -> f64 {
        self.epoch as f64 + self.batch_index as f64 / self.batches_per_epoch.max(1) as f64
    }
}

/// What a loss function returns: the scalar loss to minimise and the logits used for the
/// running training accuracy.
pub struct LossOutput {
    /// Loss `[1]`, on the autodiff device.
    pub loss: Tensor<1>,
    /// Logits `[B, C]` of the inputs the accuracy should be reported on.
    pub logits: Tensor<2>,
}

/// A training objective. Plain training uses [`cross_entropy_loss`]; adversarial training
/// supplies one that perturbs the batch first.
pub trait LossFn {
    /// Computes the loss of `model` on `batch`.
    fn loss(&mut self, model: &Model, batch: Batch) -> LossOutput;
}

impl<F: FnMut(&Model, Batch) -> LossOutput> LossFn for F {
    fn loss(&mut self, model: &Model, batch: Batch) -> LossOutput {
        self(model, batch)
    }
}

/// Mean cross-entropy of logits `[B, C]` against labels `[B]`.
pub fn cross_entropy(logits: Tensor<2>, y: Tensor<1, Int>) -> Tensor<1> {
    CrossEntropyLossConfig::new()
        .init(&logits.device())
        .forward(logits, y)
}

/// Plain supervised objective: cross-entropy plus `l1 · Σ|w|` when `l1 > 0`.
pub fn cross_entropy_loss(l1: f64) -> impl FnMut(&Model, Batch) -> LossOutput {
    move |model: &Model, batch: Batch| {
        let logits = model.logits(batch.x);
        let mut loss = cross_entropy(logits.clone(), batch.y);
        if l1 > 0.0 {
            loss = loss + l1_norm(model, &logits.device()) * l1;
        }
        LossOutput { loss, logits }
    }
}

/// Options that do not change the result (so they are not part of [`TrainConfig`]).
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Show a progress bar on stderr (only drawn when stderr is a terminal).
    pub progress: bool,
    /// Write the weights here after every epoch (the last good checkpoint) and
    /// `metrics.json` at the end.
    pub run_dir: Option<RunDir>,
    /// Device name recorded in the metrics.
    pub device_name: String,
    /// Continue from the run directory's resume point (`RUN/resume/`, written after every
    /// epoch), if it has one, instead of from the model passed in (see [`super::resume`]).
    pub resume: bool,
}

/// Trains `model` on `split.train` with cross-entropy (plus L1 when configured), evaluating on
/// `split.test` after every epoch. See [`fit_with`].
pub fn fit(
    model: Model,
    cfg: &TrainConfig,
    split: &Split,
    device: &Device,
    opts: &TrainOptions,
) -> Result<(Model, Metrics)> {
    fit_with(model, cfg, split, device, opts, cross_entropy_loss(cfg.l1))
}

/// The training loop with a custom objective.
///
/// `device` is the plain device; the loop trains on `device.autodiff()` and evaluates the
/// model's inference snapshot (`valid()`, dropout off) on `device`. Determinism: the device is
/// seeded with `cfg.seed` before the caller should have built `model` (see [`seed_device`]),
/// and batch order comes from `ChaCha8Rng(cfg.seed)`.
///
/// After each epoch the weights are saved atomically to the run directory, if any. A NaN or
/// infinite loss stops training with [`ModelError::NonFiniteLoss`], leaving the checkpoint of
/// the last completed epoch in place.
pub fn fit_with(
    model: Model,
    cfg: &TrainConfig,
    split: &Split,
    device: &Device,
    opts: &TrainOptions,
    mut loss_fn: impl LossFn,
) -> Result<(Model, Metrics)> {
    cfg.validate()?;
    check_split_fits(&model, split)?;
    let ad_device = device.clone().autodiff();
    let start = Start::of(model, cfg, split, device, opts)?;
    let mut model = start.model.fork(&ad_device).train();
    let mut optim = start.optimizer;

    let n = split.train.len();
    let batches_per_epoch = n.div_ceil(cfg.batch_size);
    let bar = crate::cli::progress_bar(
        opts.progress,
        (cfg.epochs * batches_per_epoch) as u64,
        "batch",
    );
    bar.set_position((start.epochs_done * batches_per_epoch) as u64);
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut order: Vec<usize> = (0..n).collect();
    // The batch order of the epochs already done, replayed so the next one is as it was.
    for _ in 0..start.epochs_done {
        order.shuffle(&mut rng);
    }
    let mut history = start.history;
    let mut last_checkpoint = None;
    let started = Instant::now();

    for epoch in start.epochs_done..cfg.epochs {
        let epoch_start = Instant::now();
        let lr = cfg.lr_schedule.rate(cfg.learning_rate, epoch, cfg.epochs);
        order.shuffle(&mut rng);
        let pass = EpochPass {
            cfg,
            train: &split.train,
            order: &order,
            epoch,
            lr,
            device: &ad_device,
            bar: &bar,
        };
        let stats;
        (model, stats) = match pass.run(model, &mut optim, &mut loss_fn) {
            Ok(done) => done,
            Err(fault) => {
                bar.abandon();
                return Err(fault.into_error(epoch, last_checkpoint));
            }
        };
        let snapshot = model.valid();
        let test_accuracy = accuracy(
            &snapshot,
            &split.test.features,
            &split.test.labels,
            cfg.eval_batch_size,
            device,
        );
        let record = stats.record(epoch, lr, test_accuracy, epoch_start);
        history.push(record.clone());
        if let Some(run) = &opts.run_dir {
            run.save_weights(&snapshot)?;
            last_checkpoint = Some(run.weights_path());
            let progress = Progress {
                epochs_done: epoch + 1,
                history: &history,
                seconds: start.seconds + started.elapsed().as_secs_f64(),
                n_train: n,
            };
            save_resume_point(run, &snapshot, &optim, progress)?;
        }
        bar.println(format!(
            "epoch {:>3}/{}: loss {:.4}  train acc {:.4}  test acc {:.4}  ({:.1}s)",
            record.epoch,
            cfg.epochs,
            record.loss,
            record.train_accuracy,
            record.test_accuracy,
            epoch_start.elapsed().as_secs_f64()
        ));
    }
    bar.finish_and_clear();
    let metrics = Metrics {
        test_accuracy: history.last().map_or(0.0, |e| e.test_accuracy),
        epochs: history,
        seed: cfg.seed,
        device: opts.device_name.clone(),
        wall_seconds: start.seconds + started.elapsed().as_secs_f64(),
        n_train: n,
        n_test: split.test.len(),
    };
    if let Some(run) = &opts.run_dir {
        run.save_metrics(&metrics)?;
        remove_resume_point(run);
    }
    Ok((model.valid(), metrics))
}

/// Where the loop starts: from the model passed in at epoch 0, or from the run directory's
/// resume point.
struct Start {
    model: Model,
    optimizer: ModuleOptimizer,
    epochs_done: usize,
    history: Vec<EpochMetrics>,
    seconds: f64,
}

impl Start {
    fn of(
        model: Model,
        cfg: &TrainConfig,
        split: &Split,
        device: &Device,
        opts: &TrainOptions,
    ) -> Result<Self> {
        if let (Some(run), false) = (&opts.run_dir, opts.resume) {
            // A new training in a folder an earlier one was killed in: its point is stale.
            remove_resume_point(run);
        }
        let run = opts
            .run_dir
            .as_ref()
            .filter(|run| opts.resume && has_resume_state(run));
        let Some(run) = run else {
            return Ok(Self {
                model,
                optimizer: optimizer(cfg),
                epochs_done: 0,
                history: Vec::new(),
                seconds: 0.0,
            });
        };
        let resumed = load_resume_point(run, &model, optimizer(cfg), device)?;
        let state = resumed.state;
        let state_file = resume_dir(run).join(STATE_FILE);
        if state.n_train != split.train.len() || state.epochs_done > cfg.epochs {
            return Err(ModelError::format(
                &state_file,
                format!(
                    "recorded {} epochs of {} training rows; this training has {} epochs of {} rows",
                    state.epochs_done,
                    state.n_train,
                    cfg.epochs,
                    split.train.len()
                ),
            ));
        }
        Ok(Self {
            model: resumed.model,
            optimizer: resumed.optimizer,
            epochs_done: state.epochs_done,
            history: state.history,
            seconds: state.seconds,
        })
    }
}

/// Refuses a split whose feature count or class count does not fit the model, or an empty
/// training split.
fn check_split_fits(model: &Model, split: &Split) -> Result<()> {
    let train = &split.train;
    let f = model.input_dim();
    if train.dim() != f || split.test.dim() != f {
        return Err(ModelError::Incompatible(format!(
            "the model takes {f} features per sample, the data has {}",
            train.dim()
        )));
    }
    if train.num_classes > model.num_classes() {
        return Err(ModelError::Incompatible(format!(
            "the data has {} classes, the model {}",
            train.num_classes,
            model.num_classes()
        )));
    }
    if train.is_empty() {
        return Err(ModelError::invalid("data", "the training split is empty"));
    }
    Ok(())
}

/// The optimiser of `cfg`: Adam (ε = 1e-8) or SGD with optional momentum (no dampening),
/// both with coupled weight decay when `weight_decay > 0`.
fn optimizer(cfg: &TrainConfig) -> ModuleOptimizer {
    let decay = (cfg.weight_decay > 0.0).then(|| WeightDecayConfig::new(cfg.weight_decay as f32));
    match cfg.optimizer {
        OptimizerKind::Adam => AdamConfig::new()
            .with_epsilon(1e-8)
            .with_weight_decay(decay)
            .init(),
        OptimizerKind::Sgd => {
            let momentum = (cfg.momentum > 0.0).then(|| {
                MomentumConfig::new()
                    .with_momentum(cfg.momentum)
                    .with_dampening(0.0)
            });
            SgdConfig::new()
                .with_momentum(momentum)
                .with_weight_decay(decay)
                .init()
        }
    }
}

/// One pass over the training rows in `order`, batch by batch.
struct EpochPass<'a> {
    cfg: &'a TrainConfig,
    train: &'a Dataset,
    order: &'a [usize],
    epoch: usize,
    lr: f64,
    device: &'a Device,
    bar: &'a indicatif::ProgressBar,
}

/// Running sums of one epoch.
#[derive(Default)]
struct EpochStats {
    loss_sum: f64,
    correct: usize,
    seen: usize,
}

/// A batch whose loss was NaN or infinite (1-based batch index).
struct NonFiniteBatch {
    batch: usize,
    loss: f32,
}

impl NonFiniteBatch {
    fn into_error(self, epoch: usize, checkpoint: Option<std::path::PathBuf>) -> ModelError {
        ModelError::NonFiniteLoss {
            epoch: epoch + 1,
            batch: self.batch,
            loss: self.loss,
            checkpoint,
        }
    }
}

impl EpochPass<'_> {
    /// Steps the optimiser once per batch and returns the updated model with the epoch's
    /// running loss and accuracy; stops at the first non-finite loss.
    fn run(
        &self,
        mut model: Model,
        optim: &mut ModuleOptimizer,
        loss_fn: &mut impl LossFn,
    ) -> std::result::Result<(Model, EpochStats), NonFiniteBatch> {
        let mut stats = EpochStats::default();
        let batches_per_epoch = self.order.len().div_ceil(self.cfg.batch_size);
        for (b, chunk) in self.order.chunks(self.cfg.batch_size).enumerate() {
            let batch = self.batch(chunk, b, batches_per_epoch);
            let y = batch.y.clone();
            let out = loss_fn.loss(&model, batch);
            let hits = out
                .logits
                .detach()
                .argmax(1)
                .squeeze_dim::<1>(1)
                .equal(y)
                .int()
                .sum();
            let loss_value: f32 = out.loss.clone().detach().into_scalar();
            if !loss_value.is_finite() {
                return Err(NonFiniteBatch {
                    batch: b + 1,
                    loss: loss_value,
                });
            }
            let grads = GradientsParams::from_grads(out.loss.backward(), &model);
            model = optim.step(self.lr, model, grads);
            stats.loss_sum += loss_value as f64 * chunk.len() as f64;
            stats.correct += hits.into_scalar::<i64>() as usize;
            stats.seen += chunk.len();
            self.bar.set_message(format!(
                "epoch {}/{} loss {:.4} acc {:.3}",
                self.epoch + 1,
                self.cfg.epochs,
                stats.loss(),
                stats.accuracy()
            ));
            self.bar.inc(1);
        }
        Ok((model, stats))
    }

    /// Gathers the rows of `chunk` into a batch on the autodiff device.
    fn batch(&self, chunk: &[usize], index: usize, batches_per_epoch: usize) -> Batch {
        let f = self.train.dim();
        let mut xs = Vec::with_capacity(chunk.len() * f);
        let mut ys = Vec::with_capacity(chunk.len());
        for &i in chunk {
            xs.extend_from_slice(self.train.row(i));
            ys.push(self.train.labels[i]);
        }
        Batch {
            x: batch_tensor(xs, chunk.len(), f, self.device),
            y: label_tensor(&ys, self.device),
            epoch: self.epoch,
            batch_index: index,
            batches_per_epoch,
        }
    }
}

impl EpochStats {
    fn loss(&self) -> f64 {
        self.loss_sum / self.seen as f64
    }

    fn accuracy(&self) -> f64 {
        self.correct as f64 / self.seen as f64
    }

    /// The epoch's line of `metrics.json` (`epoch` is 0-based here, 1-based in the record).
    fn record(&self, epoch: usize, lr: f64, test_accuracy: f64, start: Instant) -> EpochMetrics {
        EpochMetrics {
            epoch: epoch + 1,
            loss: self.loss(),
            train_accuracy: self.accuracy(),
            test_accuracy,
            learning_rate: lr,
            seconds: start.elapsed().as_secs_f64(),
        }
    }
}

/// Seeds the device's random generator (weight initialisation, dropout). Call it before
/// building the model so that a seed reproduces a run.
pub fn seed_device(device: &Device, seed: u64) {
    device.seed(seed);
    device.clone().autodiff().seed(seed);
}
