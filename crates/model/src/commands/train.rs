//! `aegis-model train`: build a model for a data set, train it with a seed, and write a run
//! directory (`model.bpk`, `config.json`, `metrics.json`).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use crate::data::{DEFAULT_TEST_FRACTION, DataSource, Dataset, InputDomain};
use crate::device::DeviceSpec;
use crate::error::{ModelError, Result};
use crate::io::read_json_over_defaults;
use crate::models::sequential::budget::Phase;
use crate::models::{Architecture, Model, ModelConfig, SequentialSpec};
use crate::run::{DataConfig, Metrics, RunConfig, RunDir};
use crate::train::{
    LossFn, LrSchedule, OptimizerKind, TrainConfig, TrainOptions, cross_entropy_loss, fit_with,
    seed_device,
};

/// Flags of `aegis-model train`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Network (default: smallcnn for images, mlp for tables).
    #[arg(long)]
    pub model: Option<Architecture>,
    /// Architecture as data: a JSON spec (layers in PyTorch's vocabulary, see the book's
    /// docs/book/src/bring-your-own-model.md), or a run's `config.json` to reuse its layers.
    #[arg(long, value_name = "FILE.json", conflicts_with_all = ["model", "hidden"])]
    pub arch: Option<PathBuf>,
    /// mnist | breast-cancer | wine | moons | blobs | informative | an IDX folder | a CSV file.
    #[arg(long, default_value = "mnist")]
    pub data: DataSource,
    /// Hyper-parameters from a JSON file (fields of TrainConfig); flags below override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Epochs [default: 10].
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Seed of initialisation, dropout and batch order [default: 1].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Batch size [default: 64].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Learning rate [default: 0.001].
    #[arg(long)]
    pub lr: Option<f64>,
    /// Optimiser [default: adam].
    #[arg(long)]
    pub optimizer: Option<OptimizerKind>,
    /// SGD momentum [default: 0.9].
    #[arg(long)]
    pub momentum: Option<f64>,
    /// L2 regularisation (coupled weight decay) [default: 0].
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// L1 regularisation strength [default: 0].
    #[arg(long)]
    pub l1: Option<f64>,
    // `--help` shows this line as written; rustdoc would read `[:MIN_LR]` as a link.
    #[allow(rustdoc::broken_intra_doc_links)]
    /// constant | step:EVERY:GAMMA | cosine[:MIN_LR] [default: constant].
    #[arg(long)]
    pub lr_schedule: Option<LrSchedule>,
    /// MLP hidden widths, comma-separated [default: 128,64].
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// Dropout probability [default: 0.5 for smallcnn, 0 otherwise].
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Seed of the train/test split for sources without their own split.
    #[arg(long, default_value_t = 0)]
    pub split_seed: u64,
    /// Run directory [default: runs/<data>[-<model>]-seed<S>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the interrupted training in RUN from its last complete epoch, with the
    /// settings of its config.json (same seed: the same result as an uninterrupted run).
    #[arg(long, value_name = "RUN", conflicts_with_all = RESUME_CONFLICTS)]
    pub resume: Option<PathBuf>,
}

/// Flags that `--resume` refuses: the run's `config.json` decides them.
const RESUME_CONFLICTS: [&str; 16] = [
    "model",
    "arch",
    "data",
    "config",
    "epochs",
    "seed",
    "batch_size",
    "lr",
    "optimizer",
    "momentum",
    "weight_decay",
    "l1",
    "lr_schedule",
    "hidden",
    "dropout",
    "out",
];

impl TrainArgs {
    /// Trains as the flags say and prints the epochs (when no progress bar showed them) and
    /// the final accuracy.
    pub fn run(self, device: DeviceSpec) -> Result<()> {
        if let Some(run) = &self.resume {
            let mut req = TrainRequest::resuming(run, device)?;
            req.progress = true;
            println!("resuming {} on device {device}", run.display());
            let outcome = train_run(&req)?;
            print_outcome(&outcome, run);
            return Ok(());
        }
        let train = self.train_config()?;
        let out = self.out_dir(train.seed);
        // Refused before the data is read.
        let spec = self
            .arch
            .as_deref()
            .map(|path| SequentialSpec::from_file_within_budget(path, &memory_uses(&train)))
            .transpose()?;
        let req = TrainRequest {
            architecture: if spec.is_some() {
                Some(Architecture::Sequential)
            } else {
                self.model
            },
            spec,
            data: self.data,
            train,
            hidden: self.hidden,
            dropout: self.dropout,
            split_seed: self.split_seed,
            device,
            out: Some(out.clone()),
            progress: true,
            resume: false,
        };
        println!(
            "training {} on {} ({} epochs, device {device}) -> {}",
            req.architecture
                .map_or("the default model".into(), |a| a.to_string()),
            req.data,
            req.train.epochs,
            out.display()
        );
        let outcome = train_run(&req)?;
        print_outcome(&outcome, &out);
        Ok(())
    }

    /// Hyper-parameters: the defaults, overlaid by `--config FILE`, overlaid by the flags.
    fn train_config(&self) -> Result<TrainConfig> {
        let mut cfg: TrainConfig = match &self.config {
            Some(p) => read_json_over_defaults(p, &TrainConfig::new())?,
            None => TrainConfig::new(),
        };
        if let Some(v) = self.epochs {
            cfg.epochs = v;
        }
        if let Some(v) = self.seed {
            cfg.seed = v;
        }
        if let Some(v) = self.batch_size {
            cfg.batch_size = v;
        }
        if let Some(v) = self.lr {
            cfg.learning_rate = v;
        }
        if let Some(v) = self.optimizer {
            cfg.optimizer = v;
        }
        if let Some(v) = self.momentum {
            cfg.momentum = v;
        }
        if let Some(v) = self.weight_decay {
            cfg.weight_decay = v;
        }
        if let Some(v) = self.l1 {
            cfg.l1 = v;
        }
        if let Some(v) = self.lr_schedule {
            cfg.lr_schedule = v;
        }
        Ok(cfg)
    }

    /// `--out`, or `runs/<data>[-<model>]-seed<S>`.
    fn out_dir(&self, seed: u64) -> PathBuf {
        self.out.clone().unwrap_or_else(|| {
            let data = self.data.to_string().replace(['/', '\\', '.'], "_");
            let model = match (&self.arch, self.model) {
                (Some(_), _) => "-sequential".to_string(),
                (None, m) => m.map_or(String::new(), |m| format!("-{m}")),
            };
            PathBuf::from(format!("runs/{data}{model}-seed{seed}"))
        })
    }
}

/// Prints one line per epoch (unless the progress bar already did, in a terminal) and the
/// final accuracy.
fn print_outcome(outcome: &TrainOutcome, out: &std::path::Path) {
    let m = &outcome.metrics;
    let shown = std::io::stderr().is_terminal();
    for e in m.epochs.iter().filter(|_| !shown) {
        println!(
            "epoch {:>3}: loss {:.4}  train acc {:.4}  test acc {:.4}  ({:.1}s)",
            e.epoch, e.loss, e.train_accuracy, e.test_accuracy, e.seconds
        );
    }
    println!(
        "{} on {}: test accuracy {:.2}% ({} test rows), {:.1}s on {}; run written to {}",
        outcome.config.model.architecture,
        outcome.config.data.source,
        100.0 * m.test_accuracy,
        m.n_test,
        m.wall_seconds,
        m.device,
        out.display()
    );
}

/// Everything `train` needs.
#[derive(Debug, Clone)]
pub struct TrainRequest {
    /// Network; `None`: SmallCnn for images, MLP for tabular data.
    pub architecture: Option<Architecture>,
    /// The layers of a `sequential` architecture.
    pub spec: Option<SequentialSpec>,
    /// Data source.
    pub data: DataSource,
    /// Hyper-parameters.
    pub train: TrainConfig,
    /// MLP hidden widths; `None`: `[128, 64]`.
    pub hidden: Option<Vec<usize>>,
    /// Dropout; `None`: the architecture's default.
    pub dropout: Option<f64>,
    /// Seed of the train/test split of sources without their own split.
    pub split_seed: u64,
    /// Device.
    pub device: DeviceSpec,
    /// Run directory to write (`None`: nothing is written).
    pub out: Option<PathBuf>,
    /// Show a progress bar.
    pub progress: bool,
    /// Continue the interrupted training in `out` from its last complete epoch (its
    /// `config.json` must equal the one this request builds).
    pub resume: bool,
}

impl TrainRequest {
    /// A request with the reference defaults (SmallCnn on bundled MNIST, flex, no output).
    pub fn new(data: DataSource) -> Self {
        Self {
            architecture: None,
            spec: None,
            data,
            train: TrainConfig::new(),
            hidden: None,
            dropout: None,
            split_seed: 0,
            device: DeviceSpec::Flex,
            out: None,
            progress: false,
            resume: false,
        }
    }
}

impl TrainRequest {
    /// A request that retrains the recipe of an existing run (architecture, MLP widths,
    /// dropout, data source, split seed, hyper-parameters) with training seed `seed`: how deep
    /// ensembles get their members. Objectives saved under `extensions` (e.g. adversarial
    /// training) are not reproduced: the members are trained with plain cross-entropy.
    pub fn from_run_config(config: &RunConfig, seed: u64, device: DeviceSpec) -> Self {
        Self {
            architecture: Some(config.model.architecture),
            spec: config.model.spec.clone(),
            data: config.data.source.clone(),
            train: config.train.clone().with_seed(seed),
            hidden: Some(config.model.hidden.clone()),
            dropout: Some(config.model.dropout),
            split_seed: config.data.split.seed,
            device,
            out: None,
            progress: false,
            resume: false,
        }
    }
}

impl TrainRequest {
    /// The request that continues the interrupted training in `dir`: its `config.json`'s
    /// recipe and seed, written back to `dir`, resuming from `dir/resume/` (see
    /// [`crate::train::resume`]). Refuses a finished run.
    pub fn resuming(dir: &std::path::Path, device: DeviceSpec) -> Result<Self> {
        let run = RunDir::new(dir);
        if !run.config_path().is_file() {
            return Err(ModelError::format(
                dir,
                "not a run directory (no config.json): nothing to resume",
            ));
        }
        let config = run.load_config()?;
        let mut req = Self::from_run_config(&config, config.train.seed, device);
        req.out = Some(dir.to_path_buf());
        req.resume = true;
        Ok(req)
    }
}

/// Refuses to resume a finished run, or one whose `config.json` differs from the training
/// about to continue it (other data, another objective).
fn check_resumable(run: &RunDir, config: &RunConfig) -> Result<()> {
    if run.metrics_path().is_file() {
        return Err(ModelError::format(
            run.root(),
            "training already finished (metrics.json exists): nothing to resume",
        ));
    }
    let saved = run.load_config()?;
    let path = run.config_path();
    if !saved.extensions.is_empty() && config.extensions.is_empty() {
        let keys: Vec<&str> = saved.extensions.keys().map(String::as_str).collect();
        return Err(ModelError::Config {
            path,
            fault: format!(
                "trained with another objective ({}): resume it with the command that started it",
                keys.join(", ")
            ),
        });
    }
    // Compared as JSON parsed the same way on both sides (exact with serde_json's
    // float_roundtrip; without it a 17-digit float could come back one ulp off).
    let text = std::fs::read_to_string(&path).map_err(|e| ModelError::io(&path, e))?;
    let written =
        serde_json::to_string(config).map_err(|e| ModelError::format(&path, e.to_string()));
    let parts = |text: &str| {
        let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
        ["model", "train", "data", "extensions"].map(|k| v.get(k).cloned())
    };
    if parts(&text) != parts(&written?) {
        return Err(ModelError::Config {
            path,
            fault: "differs from the training being resumed (the data or the recipe changed)"
                .into(),
        });
    }
    Ok(())
}

/// The result of [`train_run`].
#[derive(Debug)]
pub struct TrainOutcome {
    /// The trained model (inference mode, on the plain device).
    pub model: Model,
    /// What was saved as `config.json`.
    pub config: RunConfig,
    /// What was saved as `metrics.json`.
    pub metrics: Metrics,
}

/// Model settings that fit `train`: images keep raw `[0, 1]` pixels; tabular features are
/// standardised with statistics of the **training** rows only, stored in the model.
pub fn model_config_for(
    arch: Architecture,
    train: &Dataset,
    hidden: Option<Vec<usize>>,
    dropout: Option<f64>,
) -> ModelConfig {
    let mut cfg = ModelConfig::new(arch, train.sample_shape.clone(), train.num_classes)
        .with_dropout(dropout.unwrap_or(arch.default_dropout()));
    if let Some(h) = hidden {
        cfg = cfg.with_hidden(h);
    }
    if train.sample_shape.len() == 1 {
        let (mean, std) = train.feature_stats();
        cfg = cfg.with_input_mean(mean).with_input_std(std);
    }
    cfg
}

/// Loads the data, builds and trains the model with cross-entropy (plus L1 when configured),
/// and writes the run directory.
pub fn train_run(req: &TrainRequest) -> Result<TrainOutcome> {
    train_run_with(req, cross_entropy_loss(req.train.l1), Default::default())
}

/// What training runs a spec at: training batches, and evaluation passes without gradients.
fn memory_uses(train: &TrainConfig) -> [(Phase, usize); 2] {
    [
        (Phase::Train, train.batch_size),
        (Phase::Inference, train.eval_batch_size),
    ]
}

/// The model configuration `req` trains on `train` rows: its architecture (the default for the
/// sample shape when none is given), widths, dropout and spec, validated.
pub fn request_model_config(req: &TrainRequest, train: &Dataset) -> Result<ModelConfig> {
    let arch = req
        .architecture
        .unwrap_or(Architecture::default_for(&train.sample_shape));
    let mut config = model_config_for(arch, train, req.hidden.clone(), req.dropout);
    config.spec = req.spec.clone();
    config.validate()?;
    Ok(config)
}

/// [`train_run`] with a custom objective (e.g. adversarial training). `extensions` are saved
/// in `config.json` under `extensions` so the run can be reproduced.
pub fn train_run_with(
    req: &TrainRequest,
    loss_fn: impl LossFn,
    extensions: BTreeMap<String, serde_json::Value>,
) -> Result<TrainOutcome> {
    req.train.validate()?;
    let device = req.device.open()?;
    let (split, split_info) = req.data.load_split(req.split_seed, DEFAULT_TEST_FRACTION)?;
    let model_cfg = request_model_config(req, &split.train)?;
    if let Some(spec) = &req.spec {
        spec.check_uses(&memory_uses(&req.train))
            .map_err(|e| ModelError::invalid("spec", e))?;
    }
    let config = RunConfig {
        model: model_cfg,
        train: req.train.clone(),
        data: DataConfig {
            source: req.data.clone(),
            split: split_info,
            feature_names: split.train.feature_names.clone(),
            class_names: split.train.class_names.clone(),
            domain: Some(InputDomain::of(&split.train)),
        },
        device: req.device.to_string(),
        aegis_version: env!("CARGO_PKG_VERSION").to_string(),
        extensions,
    };
    let run_dir = req.out.as_ref().map(RunDir::new);
    match &run_dir {
        Some(run) if req.resume => check_resumable(run, &config)?,
        Some(run) => run.save_config(&config)?,
        None => {}
    }
    seed_device(&device, req.train.seed);
    let model = config.model.init(&device, req.train.seed)?;
    let opts = TrainOptions {
        progress: req.progress,
        run_dir,
        device_name: req.device.to_string(),
        resume: req.resume,
    };
    let (model, metrics) = fit_with(model, &req.train, &split, &device, &opts, loss_fn)?;
    Ok(TrainOutcome {
        model,
        config,
        metrics,
    })
}
