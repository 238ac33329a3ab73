//! `cargo xtask bench-ops`: SmallCnn's operations one at a time on flex at one batch size —
//! each convolution forward, its weight and input gradients, ReLU, max-pool and their
//! backward, the linear layers, cross-entropy, dropout, then the whole forward, forward +
//! backward and a training step — and with `--with-pytorch` the same operations in PyTorch
//! (`bench/pytorch/bench_ops.py`) plus torch.profiler's top entries for a training step,
//! interleaved in rounds. Writes `ops.json` and `ops.md` into the output folder.
//!
//! Rows ending in `[aegis-kernels]` time Aegis's own kernels (`crates/kernels`), which the
//! models run on flex; the other single-operation rows time Burn's flex operations, as Burn's
//! own layers would run them.
//!
//! Burn's autodiff runs the gradients this way: a convolution's input gradient is
//! `conv_transpose2d` of the output gradient, its weight gradient is `conv2d` on the input
//! and the output gradient with batch and channels swapped (burn-backend's default, which
//! flex keeps); those are the calls timed here.

use std::path::PathBuf;
use std::time::Instant;

use aegis_model::burn::module::Module;
use aegis_model::burn::optim::{AdamConfig, GradientsParams};
use aegis_model::burn::tensor::module::{
    conv_transpose2d, conv2d, conv2d_weight_backward, linear, max_pool2d_with_indices,
    max_pool2d_with_indices_backward,
};
use aegis_model::burn::tensor::ops::{ConvOptions, ConvTransposeOptions, MaxPoolOptions};
use aegis_model::burn::tensor::{Device, Distribution, Int, Tensor, activation::relu};
use aegis_model::models::{Architecture, Dropout, ModelConfig};
use aegis_model::train::cross_entropy;
use aegis_model::{Classifier, DeviceSpec};
use anyhow::Result;
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::bench_report::Spread;

/// `cargo xtask bench-ops`.
#[derive(Debug, Args)]
pub struct OpsArgs {
    /// Batch size.
    #[arg(long, default_value_t = 64)]
    batch: usize,
    /// Timed calls per operation and round.
    #[arg(long, default_value_t = 20)]
    repeats: usize,
    /// Interleaved rounds (Aegis's operations, then PyTorch's).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Threads on each side.
    #[arg(long)]
    threads: Option<usize>,
    /// Time PyTorch's operations too (see `cargo xtask bench --with-pytorch`).
    #[arg(long)]
    with_pytorch: bool,
    /// The Python interpreter for --with-pytorch.
    #[arg(long)]
    python: Option<PathBuf>,
    /// Copy the table into README.md between `<!-- bench-ops:begin -->` and
    /// `<!-- bench-ops:end -->`.
    #[arg(long)]
    readme: bool,
    /// Output folder.
    #[arg(long, default_value = "target/bench")]
    out: PathBuf,
}

/// One operation on both sides, in milliseconds per call.
#[derive(Debug, Serialize)]
pub struct OpRow {
    /// Operation (the same names on both sides).
    pub op: String,
    /// Aegis (flex).
    pub aegis_ms: Spread,
    /// PyTorch.
    pub pytorch_ms: Option<Spread>,
}

/// One line of torch.profiler's table.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProfileEntry {
    /// aten operation.
    pub name: String,
    /// Calls per training step.
    pub calls_per_step: f64,
    /// Self CPU milliseconds per training step.
    pub self_ms_per_step: f64,
}

/// The report.
#[derive(Debug, Serialize)]
pub struct OpsReport {
    /// Machine and versions.
    pub machine: crate::bench_env::Machine,
    /// Batch size.
    pub batch: usize,
    /// Threads on each side.
    pub threads: usize,
    /// torch version, with --with-pytorch.
    pub torch: Option<String>,
    /// Rows.
    pub ops: Vec<OpRow>,
    /// torch.profiler's top entries for a SmallCnn training step at this batch.
    pub torch_profile: Vec<ProfileEntry>,
}

type Op<'a> = (&'static str, Box<dyn FnMut() + 'a>);

fn uniform<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Uniform(-1.0, 1.0), device)
}

/// Convolution, ReLU and max-pool of one SmallCnn block, forward and backward, on an input
/// `[b, c_in, h, h]` with `c_out` 3×3 filters.
fn conv_block<'a>(name: &'static str, shape: [usize; 4], c_out: usize, d: &Device) -> Vec<Op<'a>> {
    let [b, c_in, h, _] = shape;
    let o = h - 2;
    let opts = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
    let topts = ConvTransposeOptions::new([1, 1], [0, 0], [0, 0], [1, 1], 1);
    let pool = MaxPoolOptions::new([2, 2]);
    let (x, w, bias) = (
        uniform(shape, d),
        uniform([c_out, c_in, 3, 3], d),
        uniform([c_out], d),
    );
    let g = uniform([b, c_out, o, o], d);
    let y = relu(conv2d(
        x.clone(),
        w.clone(),
        Some(bias.clone()),
        opts.clone(),
    ));
    let (p, idx) = max_pool2d_with_indices(y.clone(), pool.clone());
    let gp = uniform(p.dims(), d);
    let names = match name {
        "conv1" => [
            "conv1 forward",
            "conv1 weight+bias grad",
            "conv1 input grad",
            "relu1 forward",
            "relu1 backward",
            "pool1 forward",
            "pool1 backward",
        ],
        _ => [
            "conv2 forward",
            "conv2 weight+bias grad",
            "conv2 input grad",
            "relu2 forward",
            "relu2 backward",
            "pool2 forward",
            "pool2 backward",
        ],
    };
    let (x2, w2, g2, y2, y3, y4, gp2, idx2) = (
        x.clone(),
        w.clone(),
        g.clone(),
        y.clone(),
        y.clone(),
        y.clone(),
        gp.clone(),
        idx.clone(),
    );
    let (w3, g3, g4, opts2) = (w.clone(), g.clone(), g.clone(), opts.clone());
    vec![
        (
            names[0],
            Box::new(move || {
                drop(conv2d(
                    x.clone(),
                    w.clone(),
                    Some(bias.clone()),
                    opts.clone(),
                ))
            }) as Box<dyn FnMut()>,
        ),
        (
            names[1],
            Box::new(move || {
                drop(conv2d_weight_backward(
                    x2.clone(),
                    w2.clone(),
                    g2.clone(),
                    opts2.clone(),
                ));
                drop(
                    g2.clone()
                        .swap_dims(0, 1)
                        .reshape([c_out, b * o * o])
                        .sum_dim(1),
                );
            }),
        ),
        (
            names[2],
            Box::new(move || {
                drop(conv_transpose2d(
                    g3.clone(),
                    w3.clone(),
                    None,
                    topts.clone(),
                ))
            }),
        ),
        (names[3], Box::new(move || drop(relu(y2.clone())))),
        (
            names[4],
            Box::new(move || drop(g4.clone().mask_fill(y3.clone().lower_equal_elem(0.0), 0.0))),
        ),
        (
            names[5],
            Box::new(move || drop(max_pool2d_with_indices(y4.clone(), pool.clone()))),
        ),
        (
            names[6],
            Box::new(move || {
                drop(max_pool2d_with_indices_backward(
                    y.clone(),
                    [2, 2],
                    [2, 2],
                    [0, 0],
                    [1, 1],
                    false,
                    gp2.clone(),
                    idx2.clone(),
                ))
            }),
        ),
    ]
}

/// Suffix of the rows that time Aegis's own kernels (`aegis-kernels`, what the models run);
/// PyTorch's time for such a row is that of the row without the suffix, when there is one.
pub const KERNEL: &str = " [aegis-kernels]";

/// The same block through Aegis's kernels, as SmallCnn runs it: the convolution forward, the
/// convolution forward + all three gradients under autodiff, and the pool forward + backward.
fn kernel_block<'a>(
    name: &'static str,
    shape: [usize; 4],
    c_out: usize,
    d: &Device,
) -> Vec<Op<'a>> {
    use aegis_model::burn::nn::conv::Conv2dConfig;
    use aegis_model::burn::nn::pool::MaxPool2dConfig;
    let names: [&'static str; 4] = match name {
        "conv1" => [
            "conv1 forward [aegis-kernels]",
            "conv1 forward+all grads [aegis-kernels]",
            "pool1 forward [aegis-kernels]",
            "pool1 forward+backward [aegis-kernels]",
        ],
        _ => [
            "conv2 forward [aegis-kernels]",
            "conv2 forward+all grads [aegis-kernels]",
            "pool2 forward [aegis-kernels]",
            "pool2 forward+backward [aegis-kernels]",
        ],
    };
    let ad = d.clone().autodiff();
    let conv = Conv2dConfig::new([shape[1], c_out], [3, 3]).init(d);
    let conv_ad = Conv2dConfig::new([shape[1], c_out], [3, 3]).init(&ad);
    let pool = MaxPool2dConfig::new([2, 2]).init();
    let x = uniform(shape, d);
    let y = relu(aegis_kernels::conv2d(&conv, x.clone()));
    let (xa, ya) = (x.clone().autodiff(), y.clone().autodiff());
    let pool2 = pool.clone();
    vec![
        (
            names[0],
            Box::new(move || drop(aegis_kernels::conv2d(&conv, x.clone()))) as Box<dyn FnMut()>,
        ),
        (
            names[1],
            Box::new(move || {
                drop(
                    aegis_kernels::conv2d(&conv_ad, xa.clone().require_grad())
                        .sum()
                        .backward(),
                )
            }),
        ),
        (
            names[2],
            Box::new(move || drop(aegis_kernels::max_pool2d(&pool, y.clone()))),
        ),
        (
            names[3],
            Box::new(move || {
                drop(
                    aegis_kernels::max_pool2d(&pool2, ya.clone().require_grad())
                        .sum()
                        .backward(),
                )
            }),
        ),
    ]
}

/// A linear layer `[b, i] → [b, o]` forward, and its backward (input, weight, bias).
fn linear_ops<'a>(
    fwd: &'static str,
    bwd: &'static str,
    b: usize,
    i: usize,
    o: usize,
    d: &Device,
) -> Vec<Op<'a>> {
    let (x, w, bias, g) = (
        uniform([b, i], d),
        uniform([i, o], d),
        uniform([o], d),
        uniform([b, o], d),
    );
    let (x2, w2) = (x.clone(), w.clone());
    vec![
        (
            fwd,
            Box::new(move || drop(linear(x.clone(), w.clone(), Some(bias.clone())))),
        ),
        (
            bwd,
            Box::new(move || {
                drop(g.clone().matmul(w2.clone().transpose()));
                drop(x2.clone().transpose().matmul(g.clone()));
                drop(g.clone().sum_dim(0));
            }),
        ),
    ]
}

/// The whole network on the autodiff device: forward, forward + backward, and a step.
fn whole_model<'a>(b: usize, d: &'a Device) -> Result<Vec<Op<'a>>> {
    let ad = d.clone().autodiff();
    let cfg = ModelConfig::new(Architecture::SmallCnn, vec![1, 28, 28], 10).with_dropout(0.5);
    let model = cfg.init(&ad, 1)?.train();
    let x = Tensor::<2>::random([b, 784], Distribution::Uniform(0.0, 1.0), &ad);
    let y = Tensor::<1, Int>::from_ints(
        &(0..b).map(|i| (i % 10) as i32).collect::<Vec<_>>()[..],
        &ad,
    );
    let logits = uniform([b, 10], &ad).require_grad();
    let (m1, m2, x1, x2, x3, y2, y3) = (
        model.clone(),
        model.clone(),
        x.clone(),
        x.clone(),
        x,
        y.clone(),
        y.clone(),
    );
    let (m3, x4, y4) = (m2.clone(), x3.clone(), y3.clone());
    let mut state = Some((model, AdamConfig::new().with_epsilon(1e-8).init()));
    let dropout = Dropout::new(0.5, 1).with_always_on(true);
    let h = uniform([b, 128], d);
    Ok(vec![
        (
            "cross-entropy forward+backward",
            Box::new(move || drop(cross_entropy(logits.clone(), y.clone()).backward())),
        ),
        (
            "dropout forward (host mask)",
            Box::new(move || drop(dropout.forward(h.clone()))),
        ),
        (
            "whole forward",
            Box::new(move || drop(m1.logits(x1.clone()))),
        ),
        (
            "whole forward+backward",
            Box::new(move || drop(cross_entropy(m2.logits(x2.clone()), y2.clone()).backward())),
        ),
        (
            "whole forward+backward, Burn's layers",
            Box::new(move || {
                let was = aegis_kernels::set_enabled(false);
                drop(cross_entropy(m3.logits(x4.clone()), y4.clone()).backward());
                aegis_kernels::set_enabled(was);
            }),
        ),
        (
            "whole training step (+ Adam)",
            Box::new(move || {
                let (model, mut optim) = state.take().expect("state");
                let loss = cross_entropy(model.logits(x3.clone()), y3.clone());
                let grads = GradientsParams::from_grads(loss.backward(), &model);
                state = Some((optim.step(1e-3, model, grads), optim));
            }),
        ),
    ])
}

/// Every operation, in the order of the table.
fn all_ops(b: usize, d: &Device) -> Result<Vec<Op<'_>>> {
    let mut ops = conv_block("conv1", [b, 1, 28, 28], 16, d);
    ops.extend(kernel_block("conv1", [b, 1, 28, 28], 16, d));
    ops.extend(conv_block("conv2", [b, 16, 13, 13], 32, d));
    ops.extend(kernel_block("conv2", [b, 16, 13, 13], 32, d));
    ops.extend(linear_ops("fc1 forward", "fc1 backward", b, 800, 128, d));
    ops.extend(linear_ops("fc2 forward", "fc2 backward", b, 128, 10, d));
    ops.extend(whole_model(b, d)?);
    Ok(ops)
}

/// Milliseconds per call of each op: two warm-up calls, then `repeats` timed ones.
fn time_ops(ops: &mut [Op<'_>], repeats: usize, into: &mut [Vec<f64>]) {
    for ((_, f), times) in ops.iter_mut().zip(into.iter_mut()) {
        f();
        f();
        for _ in 0..repeats {
            let t = Instant::now();
            f();
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
}

/// Runs the comparison and writes `ops.json` / `ops.md`.
pub fn run(args: OpsArgs) -> Result<()> {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    pool.install(|| run_in_pool(&args, threads))
}

fn run_in_pool(args: &OpsArgs, threads: usize) -> Result<()> {
    let mut machine = crate::bench_env::Machine::read();
    let device = DeviceSpec::Flex.open()?;
    let mut ops = all_ops(args.batch, &device)?;
    let mut worker = if args.with_pytorch || args.python.is_some() {
        let python = crate::bench_python::find(args.python.as_deref())?;
        Some(crate::bench_torch::Worker::start(python, threads)?)
    } else {
        None
    };
    let mut ours = vec![Vec::new(); ops.len()];
    let mut theirs: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    let mut profile = Vec::new();
    for _ in 0..args.rounds.max(1) {
        time_ops(&mut ops, args.repeats, &mut ours);
        if let Some(w) = worker.as_mut() {
            let answer =
                w.request(json!({"cmd": "ops", "batch": args.batch, "repeats": args.repeats}))?;
            let times: std::collections::BTreeMap<String, Vec<f64>> =
                serde_json::from_value(answer["ops"].clone())?;
            for (op, t) in times {
                theirs.entry(op).or_default().extend(t);
            }
            profile = serde_json::from_value(answer["profile"].clone())?;
        }
    }
    machine.finish();
    let rows = ops
        .iter()
        .zip(&ours)
        .map(|((name, _), t)| OpRow {
            op: name.to_string(),
            aegis_ms: Spread::of(t),
            pytorch_ms: theirs
                .get(name.strip_suffix(KERNEL).unwrap_or(name))
                .filter(|t| !t.is_empty())
                .map(|t| Spread::of(t)),
        })
        .collect();
    let report = OpsReport {
        machine,
        batch: args.batch,
        threads,
        torch: worker.as_ref().map(|w| w.info.torch.clone()),
        ops: rows,
        torch_profile: profile,
    };
    std::fs::create_dir_all(&args.out)?;
    aegis_model::io::write_json(&args.out.join("ops.json"), &report)?;
    let md = markdown(&report);
    aegis_model::io::write_atomic(&args.out.join("ops.md"), md.as_bytes())?;
    print!("{md}");
    if args.readme {
        crate::bench_readme::update("README.md".as_ref(), "bench-ops", &md)?;
    }
    Ok(())
}

fn markdown(r: &OpsReport) -> String {
    let mut s = format!(
        "SmallCnn's operations at batch {}, {} threads each side, ms per call (median, min–max); {}.\n\n| operation | Aegis (flex) | PyTorch {} | flex ÷ PyTorch time |\n|---|---:|---:|---:|\n",
        r.batch,
        r.threads,
        r.machine.describe(),
        r.torch.as_deref().unwrap_or("(not run)")
    );
    for row in &r.ops {
        let cell = |x: &Spread| format!("{:.3} ({:.3}–{:.3})", x.median, x.min, x.max);
        s += &format!(
            "| {} | {} | {} | {} |\n",
            row.op,
            cell(&row.aegis_ms),
            row.pytorch_ms.as_ref().map_or("–".into(), cell),
            row.pytorch_ms.as_ref().map_or("–".into(), |p| format!(
                "{:.1}×",
                row.aegis_ms.median / p.median
            )),
        );
    }
    if !r.torch_profile.is_empty() {
        s += "\ntorch.profiler, one SmallCnn training step (self CPU time):\n\n| aten op | calls | self ms |\n|---|---:|---:|\n";
        for e in &r.torch_profile {
            s += &format!(
                "| {} | {:.0} | {:.3} |\n",
                e.name, e.calls_per_step, e.self_ms_per_step
            );
        }
    }
    s
}
