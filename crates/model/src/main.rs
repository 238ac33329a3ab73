//! `aegis-model`: train, evaluate and use classifiers on bundled or user data.
//!
//! Only argument parsing and printing live here; the work is in the library
//! (`aegis_model::job`). Every error is one line on stderr and exit code 2.

use std::path::PathBuf;
use std::process::ExitCode;

use aegis_model::data::DataSource;
use aegis_model::io::read_json_over_defaults;
use aegis_model::{Architecture, DeviceArgs, LrSchedule, OptimizerKind, TrainConfig, TrainRequest};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "aegis-model",
    version,
    about = "Train, evaluate and run Aegis classifiers"
)]
struct Cli {
    #[command(flatten)]
    device: DeviceArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Train a model and write a run directory (model.bpk, config.json, metrics.json).
    Train(TrainArgs),
    /// Evaluate a run on a test split and write DIR/eval.json.
    Eval {
        /// Run directory written by `train`.
        #[arg(long)]
        run: PathBuf,
        /// Data to evaluate on (default: the run's own data and split).
        #[arg(long)]
        data: Option<DataSource>,
    },
    /// Classify every sample of an IDX, CSV or PNG file; prints one JSON object per sample.
    Predict {
        /// Run directory written by `train`.
        #[arg(long)]
        run: PathBuf,
        /// Input file: IDX images (raw or .gz), CSV with the training feature columns, or PNG.
        input: PathBuf,
    },
    /// List the devices this build can use.
    Devices,
}

#[derive(clap::Args)]
struct TrainArgs {
    /// Network (default: smallcnn for images, mlp for tables).
    #[arg(long)]
    model: Option<Architecture>,
    /// mnist | breast-cancer | wine | moons | blobs | informative | an IDX folder | a CSV file.
    #[arg(long, default_value = "mnist")]
    data: DataSource,
    /// Hyper-parameters from a JSON file (fields of TrainConfig); flags below override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Epochs [default: 10].
    #[arg(long)]
    epochs: Option<usize>,
    /// Seed of initialisation, dropout and batch order [default: 1].
    #[arg(long)]
    seed: Option<u64>,
    /// Batch size [default: 64].
    #[arg(long)]
    batch_size: Option<usize>,
    /// Learning rate [default: 0.001].
    #[arg(long)]
    lr: Option<f64>,
    /// Optimiser [default: adam].
    #[arg(long)]
    optimizer: Option<OptimizerKind>,
    /// SGD momentum [default: 0.9].
    #[arg(long)]
    momentum: Option<f64>,
    /// L2 regularisation (coupled weight decay) [default: 0].
    #[arg(long)]
    weight_decay: Option<f64>,
    /// L1 regularisation strength [default: 0].
    #[arg(long)]
    l1: Option<f64>,
    /// constant | step:EVERY:GAMMA | cosine[:MIN_LR] [default: constant].
    #[arg(long)]
    lr_schedule: Option<LrSchedule>,
    /// MLP hidden widths, comma-separated [default: 128,64].
    #[arg(long, value_delimiter = ',')]
    hidden: Option<Vec<usize>>,
    /// Dropout probability [default: 0.5 for smallcnn, 0 otherwise].
    #[arg(long)]
    dropout: Option<f64>,
    /// Seed of the train/test split for sources without their own split.
    #[arg(long, default_value_t = 0)]
    split_seed: u64,
    /// Run directory [default: runs/<data>[-<model>]-seed<S>].
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    aegis_model::cli::run_cli(run)
}

fn run(cli: Cli) -> Result<()> {
    let device = cli.device.device;
    match cli.command {
        Command::Train(args) => {
            let mut cfg: TrainConfig = match &args.config {
                Some(p) => read_json_over_defaults(p, &TrainConfig::new())?,
                None => TrainConfig::new(),
            };
            if let Some(v) = args.epochs {
                cfg.epochs = v;
            }
            if let Some(v) = args.seed {
                cfg.seed = v;
            }
            if let Some(v) = args.batch_size {
                cfg.batch_size = v;
            }
            if let Some(v) = args.lr {
                cfg.learning_rate = v;
            }
            if let Some(v) = args.optimizer {
                cfg.optimizer = v;
            }
            if let Some(v) = args.momentum {
                cfg.momentum = v;
            }
            if let Some(v) = args.weight_decay {
                cfg.weight_decay = v;
            }
            if let Some(v) = args.l1 {
                cfg.l1 = v;
            }
            if let Some(v) = args.lr_schedule {
                cfg.lr_schedule = v;
            }
            let out = args.out.unwrap_or_else(|| {
                let data = args.data.to_string().replace(['/', '\\', '.'], "_");
                let model = args.model.map_or(String::new(), |m| format!("-{m}"));
                PathBuf::from(format!("runs/{data}{model}-seed{}", cfg.seed))
            });
            let mut req = TrainRequest::new(args.data);
            req.architecture = args.model;
            req.train = cfg;
            req.hidden = args.hidden;
            req.dropout = args.dropout;
            req.split_seed = args.split_seed;
            req.device = device;
            req.out = Some(out.clone());
            req.progress = true;
            println!(
                "training {} on {} ({} epochs, device {device}) -> {}",
                req.architecture
                    .map_or("the default model".into(), |a| a.to_string()),
                req.data,
                req.train.epochs,
                out.display()
            );
            let outcome = aegis_model::train_run(&req)?;
            let m = &outcome.metrics;
            // In a terminal the progress bar already printed one line per epoch.
            let shown = std::io::IsTerminal::is_terminal(&std::io::stderr());
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
        Command::Eval { run, data } => {
            let r = aegis_model::evaluate_run(&run, data, device)?;
            println!(
                "test accuracy {:.2}% on {} rows of {} ({}); written to {}",
                100.0 * r.test_accuracy,
                r.n,
                r.data,
                r.device,
                run.join("eval.json").display()
            );
        }
        Command::Predict { run, input } => {
            for p in aegis_model::predict_file(&run, &input, device)? {
                println!(
                    "{}",
                    serde_json::to_string(&p).context("serialising a prediction")?
                );
            }
        }
        Command::Devices => {
            println!("flex     pure-Rust CPU (default)");
            println!("ndarray  CPU, deprecated upstream");
            match aegis_model::device::list_wgpu_adapters() {
                Ok(list) if !list.is_empty() => {
                    for (i, name) in list.iter().enumerate() {
                        println!("wgpu:{i}   {name}");
                    }
                }
                Ok(_) => println!("wgpu     no adapter found"),
                Err(e) => println!("wgpu     unavailable: {e}"),
            }
            if cfg!(feature = "cuda") {
                println!("cuda:N   CUDA (built with the cuda feature)");
            } else {
                println!("cuda     not in this build (feature `cuda`)");
            }
        }
    }
    Ok(())
}
