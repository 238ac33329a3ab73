//! Bound propagation (IBP, CROWN): the bounds contain the margins of sampled points of the
//! clipped ε-ball and of PGD's adversarial points, on an MLP, a small CNN, a residual network
//! with batch norm and pooling and the built-in SmallCnn (max-pool); CROWN is at least
//! as tight as IBP on a one-hidden-layer MLP; ε = 0 gives the exact margins; PGD never breaks
//! a verified row; a layer a method cannot bound is refused by name (by `check_bounded` too);
//! a radius per feature (`certify_bounds_scaled`) bounds its own box.

use aegis_adversarial_trainer::certified::bounds::{
    BoundMethod, BoundRow, BoundsConfig, IntermediateBounds, certify_bounds, certify_bounds_scaled,
    check_bounded, relaxed_neurons,
};
use aegis_adversarial_trainer::{Attack, Goal, Pgd, PgdConfig};
use aegis_model::models::sequential::layer::{Block, Leaf};
use aegis_model::{Architecture, Classifier, Model, ModelConfig, SequentialSpec, to_host};
use burn::module::{Module, Param, RunningState};
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CLASSES: usize = 5;

fn mlp(hidden: &[usize], features: usize, seed: u64) -> Model {
    ModelConfig::new(Architecture::Mlp, vec![features], CLASSES)
        .with_hidden(hidden.to_vec())
        .with_input_mean(vec![0.2])
        .with_input_std(vec![0.4])
        .init(&Device::flex(), seed)
        .unwrap()
}

/// A sequential model of `spec` with every batch norm given random running statistics,
/// scale and shift (a fresh one is the identity).
fn sequential(spec: serde_json::Value, seed: u64) -> Model {
    let spec: SequentialSpec = serde_json::from_value(spec).unwrap();
    let mut model = ModelConfig::new(Architecture::Sequential, spec.input_shape.clone(), CLASSES)
        .with_spec(Some(spec))
        .with_input_mean(vec![0.1])
        .with_input_std(vec![0.5])
        .init(&Device::flex(), seed)
        .unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let d = Device::flex();
    let mut vec = |n: usize, a: f32, b: f32| {
        let v: Vec<f32> = (0..n).map(|_| rng.random_range(a..b)).collect();
        Tensor::<1>::from_data(TensorData::new(v, [n]), &d)
    };
    if let Model::Sequential(s) = &mut model {
        for leaf in s.blocks_mut().iter_mut().flat_map(Block::leaves_mut) {
            if let Leaf::BatchNorm(bn) = leaf {
                let [n] = bn.gamma.dims();
                bn.gamma = Param::from_tensor(vec(n, -1.5, 1.5));
                bn.beta = Param::from_tensor(vec(n, -0.5, 0.5));
                bn.running_mean = RunningState::new(vec(n, -0.3, 0.3));
                bn.running_var = RunningState::new(vec(n, 0.2, 2.0));
            }
        }
    }
    model
}

fn cnn() -> Model {
    sequential(
        serde_json::json!({"input_shape": [1, 8, 8], "layers": [
            {"type": "normalize", "mean": [0.5], "std": [0.25]},
            {"type": "conv2d", "in_channels": 1, "out_channels": 6, "kernel_size": 3},
            {"type": "relu"},
            {"type": "conv2d", "in_channels": 6, "out_channels": 8, "kernel_size": 3,
             "stride": 2, "padding": 1},
            {"type": "relu"},
            {"type": "conv2d", "in_channels": 8, "out_channels": 8, "kernel_size": 3,
             "padding": 2, "dilation": 2, "groups": 2},
            {"type": "relu"},
            {"type": "flatten"},
            {"type": "linear", "in_features": 72, "out_features": 20},
            {"type": "relu"},
            {"type": "linear", "in_features": 20, "out_features": CLASSES}
        ]}),
        3,
    )
}

fn resnet() -> Model {
    let conv = |i: usize, o: usize, k: usize, s: usize, p: usize| {
        serde_json::json!({"type": "conv2d", "in_channels": i, "out_channels": o,
                           "kernel_size": k, "stride": s, "padding": p})
    };
    let bn = |n: usize| serde_json::json!({"type": "batchnorm2d", "num_features": n});
    sequential(
        serde_json::json!({"input_shape": [1, 8, 8], "layers": [
            conv(1, 4, 3, 1, 1), bn(4), {"type": "relu"},
            {"type": "residual",
             "layers": [conv(4, 8, 3, 2, 1), bn(8), {"type": "relu"}, conv(8, 8, 3, 1, 1), bn(8)],
             "projection": [conv(4, 8, 1, 2, 0), bn(8)]},
            {"type": "relu"},
            {"type": "residual", "layers": [conv(8, 8, 3, 1, 1), bn(8), {"type": "relu"}]},
            {"type": "avgpool2d", "kernel_size": 2},
            {"type": "adaptiveavgpool2d", "output_size": 2},
            {"type": "flatten"},
            {"type": "linear", "in_features": 32, "out_features": 16},
            {"type": "batchnorm1d", "num_features": 16},
            {"type": "leakyrelu", "negative_slope": 0.1},
            {"type": "dropout", "p": 0.3},
            {"type": "linear", "in_features": 16, "out_features": CLASSES}
        ]}),
        5,
    )
}

fn uniform(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(0.0..1.0)).collect()
}

fn logits(model: &Model, x: &[f32]) -> Vec<f32> {
    let f = model.input_dim();
    let t = Tensor::<2>::from_data(
        TensorData::new(x.to_vec(), [x.len() / f, f]),
        &Device::flex(),
    );
    to_host(model.valid().logits(t))
}

fn config(eps: f64, method: BoundMethod, intermediate: IntermediateBounds) -> BoundsConfig {
    BoundsConfig::new(eps)
        .with_method(method)
        .with_intermediate(intermediate)
        .with_batch_rows(3)
}

fn bounds(model: &Model, x: &[f32], y: &[usize], cfg: &BoundsConfig) -> Vec<BoundRow> {
    certify_bounds(model, x, y, &[0.0], &[1.0], cfg, &Device::flex()).unwrap()
}

/// The float slack a sound bound may exceed a margin by: f32 rounding of sums over the layers.
fn slack(m: f64) -> f64 {
    1e-4 * (1.0 + m.abs())
}

/// Every margin of `points` (rows of `[x.len() / f, F]`, `per` points per clean row) is at
/// least its bound; returns how many margins were checked.
fn assert_contains(model: &Model, rows: &[BoundRow], points: &[f32], per: usize, what: &str) {
    let z = logits(model, points);
    for (p, chunk) in z.chunks(CLASSES).enumerate() {
        let row = &rows[p / per];
        for (j, lower) in row.margin_lower.iter().enumerate() {
            if let Some(lower) = lower {
                let m = (chunk[row.label] - chunk[j]) as f64;
                assert!(
                    m >= lower - slack(m),
                    "{what}: row {} class {j}: margin {m} below its bound {lower}",
                    row.index
                );
            }
        }
    }
}

/// `per` points of the clipped ε-ball around each row: corners first, then uniform draws.
fn ball_points(x: &[f32], f: usize, eps: f32, per: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(x.len() * per);
    for row in x.chunks(f) {
        for k in 0..per {
            for &v in row {
                let d = if k < per / 2 {
                    if rng.random_bool(0.5) { eps } else { -eps }
                } else {
                    rng.random_range(-eps..=eps)
                };
                out.push((v + d).clamp(0.0, 1.0));
            }
        }
    }
    out
}

fn pgd_points(model: &Model, x: &[f32], y: &[usize], eps: f64) -> Vec<f32> {
    let f = model.input_dim();
    let cfg = PgdConfig::new(eps)
        .with_steps(40)
        .with_step_size(eps / 8.0)
        .with_restarts(2);
    let t = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [y.len(), f]), &Device::flex());
    let adv = Pgd::new(cfg)
        .unwrap()
        .perturb(model, t, &Goal::Untargeted(y.to_vec()))
        .unwrap();
    to_host(adv)
}

/// For each row and each class `j ≠ y`, a point of the clipped ε-ball that minimises the
/// margin `z_y − z_j` by signed-gradient descent from the clean row (`CLASSES` points per row,
/// the clean row at `j = y`): the attack that pushes on exactly what the bounds bound.
fn margin_points(model: &Model, x: &[f32], y: &[usize], eps: f32) -> Vec<f32> {
    let (f, n, d) = (model.input_dim(), y.len(), Device::flex());
    let eval = model.valid();
    let rep: Vec<f32> = x.chunks(f).flat_map(|r| r.repeat(CLASSES)).collect();
    let mut spec = vec![0f32; n * CLASSES * CLASSES];
    for (i, &yi) in y.iter().enumerate() {
        for j in 0..CLASSES {
            spec[(i * CLASSES + j) * CLASSES + yi] += 1.0;
            spec[(i * CLASSES + j) * CLASSES + j] -= 1.0;
        }
    }
    let t =
        |v: Vec<f32>, w: usize| Tensor::<2>::from_data(TensorData::new(v, [n * CLASSES, w]), &d);
    let (x0, spec) = (t(rep, f), t(spec, CLASSES));
    let (lo, hi) = (
        (x0.clone() - eps).clamp_min(0.0),
        (x0.clone() + eps).clamp_max(1.0),
    );
    let mut z = x0;
    for step in 0..60 {
        let za = z.clone().autodiff().require_grad();
        let mut grads = (eval.logits(za.clone()) * spec.clone().autodiff())
            .sum()
            .backward();
        let g = za.grad_remove(&mut grads).unwrap();
        let size = eps * if step < 40 { 0.25 } else { 0.05 };
        z = (z - g.sign() * size)
            .max_pair(lo.clone())
            .min_pair(hi.clone());
    }
    to_host(z)
}

fn check_sound(
    model: &Model,
    eps: f64,
    methods: &[(BoundMethod, IntermediateBounds)],
    n: usize,
    seed: u64,
) {
    let f = model.input_dim();
    let x = uniform(n * f, seed);
    let y: Vec<usize> = (0..n).map(|i| i % CLASSES).collect();
    let samples = ball_points(&x, f, eps as f32, 64, seed + 1);
    let adv = pgd_points(model, &x, &y, eps);
    let worst = margin_points(model, &x, &y, eps as f32);
    for &(method, inter) in methods {
        let rows = bounds(model, &x, &y, &config(eps, method, inter));
        let what = format!("{method:?}/{inter:?} ε={eps}");
        assert_contains(model, &rows, &samples, 64, &format!("{what}, sampled"));
        assert_contains(model, &rows, &adv, 1, &format!("{what}, PGD"));
        assert_contains(
            model,
            &rows,
            &worst,
            CLASSES,
            &format!("{what}, margin descent"),
        );
        let finite = rows
            .iter()
            .flat_map(|r| r.margin_lower.iter().flatten())
            .all(|m| m.is_finite());
        assert!(finite, "{what}: a bound is not finite");
    }
}

const ALL: [(BoundMethod, IntermediateBounds); 3] = [
    (BoundMethod::Ibp, IntermediateBounds::Crown),
    (BoundMethod::Crown, IntermediateBounds::Crown),
    (BoundMethod::Crown, IntermediateBounds::Ibp),
];

#[test]
fn bounds_contain_sampled_and_pgd_margins_on_an_mlp() {
    let model = mlp(&[24, 16], 10, 1);
    for eps in [0.02, 0.1] {
        check_sound(&model, eps, &ALL, 6, 10);
    }
}

#[test]
fn bounds_contain_sampled_and_pgd_margins_on_a_cnn() {
    check_sound(&cnn(), 0.03, &ALL, 6, 20);
}

#[test]
fn bounds_contain_sampled_and_pgd_margins_on_a_residual_network() {
    check_sound(&resnet(), 0.03, &ALL, 6, 30);
}

#[test]
fn bounds_contain_the_margins_of_the_builtin_smallcnn_with_max_pooling() {
    let model = ModelConfig::new(Architecture::SmallCnn, vec![1, 28, 28], CLASSES)
        .init(&Device::flex(), 4)
        .unwrap();
    check_sound(&model, 0.02, &ALL, 2, 40);
}

#[test]
fn relaxed_neurons_count_every_activation_input() {
    let flex = Device::flex();
    assert_eq!(relaxed_neurons(&mlp(&[64, 32], 12, 1), &flex), Some(96));
    // SmallCnn: ReLU and max-pool over 16×26×26, then over 32×11×11, and a ReLU over 128.
    let small = ModelConfig::new(Architecture::SmallCnn, vec![1, 28, 28], CLASSES)
        .init(&flex, 4)
        .unwrap();
    assert_eq!(
        relaxed_neurons(&small, &flex),
        Some(2 * 16 * 26 * 26 + 2 * 32 * 11 * 11 + 128)
    );
}

#[test]
fn crown_is_at_least_as_tight_as_ibp_on_a_one_hidden_layer_mlp() {
    let model = mlp(&[32], 12, 2);
    let (n, f) = (10, 12);
    let x = uniform(n * f, 50);
    let y: Vec<usize> = (0..n).map(|i| (i * 3) % CLASSES).collect();
    let mut strictly = 0;
    for eps in [0.01, 0.05, 0.2] {
        let ibp = bounds(
            &model,
            &x,
            &y,
            &config(eps, BoundMethod::Ibp, IntermediateBounds::Crown),
        );
        let crown = bounds(
            &model,
            &x,
            &y,
            &config(eps, BoundMethod::Crown, IntermediateBounds::Crown),
        );
        for (a, b) in ibp.iter().zip(&crown) {
            for (i, c) in a
                .margin_lower
                .iter()
                .flatten()
                .zip(b.margin_lower.iter().flatten())
            {
                assert!(
                    c >= &(i - 1e-5),
                    "row {}: CROWN {c} looser than IBP {i}",
                    a.index
                );
                if *c > i + 1e-3 {
                    strictly += 1;
                }
            }
        }
    }
    assert!(
        strictly > 0,
        "CROWN never tighter than IBP: the relaxation is not used"
    );
}

#[test]
fn zero_radius_gives_the_exact_margins() {
    for (name, model) in [
        ("mlp", mlp(&[20, 10], 9, 3)),
        ("cnn", cnn()),
        ("resnet", resnet()),
    ] {
        let (n, f) = (4, model.input_dim());
        let x = uniform(n * f, 60);
        let y: Vec<usize> = (0..n).map(|i| (i + 2) % CLASSES).collect();
        let z = logits(&model, &x);
        for (method, inter) in ALL {
            let rows = bounds(&model, &x, &y, &config(0.0, method, inter));
            for r in &rows {
                for (j, lower) in r.margin_lower.iter().enumerate() {
                    let Some(lower) = lower else { continue };
                    let zi = &z[r.index * CLASSES..(r.index + 1) * CLASSES];
                    let m = (zi[r.label] - zi[j]) as f64;
                    assert!(
                        (lower - m).abs() <= slack(m),
                        "{name} {method:?}/{inter:?} row {} class {j}: bound {lower}, margin {m}",
                        r.index
                    );
                }
                assert_eq!(r.margin_lower[r.label], None);
            }
        }
    }
}

#[test]
fn pgd_never_breaks_a_verified_row() {
    let model = mlp(&[24, 16], 10, 7);
    let (n, f) = (60, 10);
    let x = uniform(n * f, 70);
    let preds: Vec<usize> = logits(&model, &x)
        .chunks(CLASSES)
        .map(aegis_model::argmax)
        .collect();
    for eps in [0.005, 0.02] {
        for method in [BoundMethod::Ibp, BoundMethod::Crown] {
            let rows = bounds(
                &model,
                &x,
                &preds,
                &config(eps, method, IntermediateBounds::Crown),
            );
            let verified: Vec<&BoundRow> = rows.iter().filter(|r| r.verified).collect();
            assert!(!verified.is_empty(), "{method:?} ε={eps}: nothing verified");
            let adv = pgd_points(&model, &x, &preds, eps);
            let z = logits(&model, &adv);
            for r in verified {
                let after = aegis_model::argmax(&z[r.index * CLASSES..(r.index + 1) * CLASSES]);
                assert_eq!(
                    after, r.label,
                    "{method:?} ε={eps}: PGD broke verified row {}",
                    r.index
                );
            }
        }
    }
}

#[test]
fn a_layer_a_method_cannot_bound_is_refused_by_name() {
    let flat = |act: &str| {
        sequential(
            serde_json::json!({"input_shape": [6], "layers": [
                {"type": "linear", "in_features": 6, "out_features": 8},
                {"type": act},
                {"type": "linear", "in_features": 8, "out_features": CLASSES}
            ]}),
            8,
        )
    };
    let x = uniform(12, 80);
    let y = [0, 1];
    let run = |model: &Model, method| {
        certify_bounds(
            model,
            &x,
            &y,
            &[0.0],
            &[1.0],
            &config(0.05, method, IntermediateBounds::Crown),
            &Device::flex(),
        )
    };
    let gelu = flat("gelu");
    for method in [BoundMethod::Ibp, BoundMethod::Crown] {
        let err = run(&gelu, method).unwrap_err().to_string();
        assert!(
            err.contains(&format!("{} does not bound layer 1 (gelu)", method.label())),
            "{err}"
        );
    }
    let tanh = flat("tanh");
    let err = run(&tanh, BoundMethod::Crown).unwrap_err().to_string();
    assert!(err.contains("CROWN does not bound layer 1 (tanh)"), "{err}");
    let d = Device::flex();
    let checked = check_bounded(&gelu, BoundMethod::Crown, &d).unwrap_err();
    assert!(checked.to_string().contains("layer 1 (gelu)"), "{checked}");
    assert!(check_bounded(&tanh, BoundMethod::Ibp, &d).is_ok());
    assert!(check_bounded(&mlp(&[8], 4, 9), BoundMethod::Crown, &d).is_ok());
    let rows = run(&tanh, BoundMethod::Ibp).unwrap();
    assert_contains(
        &tanh,
        &rows,
        &ball_points(&x, 6, 0.05, 32, 81),
        32,
        "tanh IBP",
    );
}

#[test]
fn bad_inputs_are_one_line_errors() {
    let model = mlp(&[8], 4, 9);
    let cfg = config(0.1, BoundMethod::Crown, IntermediateBounds::Crown);
    let nan = config(f64::NAN, BoundMethod::Ibp, IntermediateBounds::Ibp);
    let d = Device::flex();
    let x = [0.5f32; 8];
    let run = |x: &[f32], y: &[usize], lo: &[f32], hi: &[f32], cfg: &BoundsConfig| {
        certify_bounds(&model, x, y, lo, hi, cfg, &d)
            .unwrap_err()
            .to_string()
    };
    let cases = [
        (
            run(&[0.5, 0.5, 1.5, 0.5], &[0], &[0.0], &[1.0], &cfg),
            "row 0 feature 2",
        ),
        (run(&x, &[0, 9], &[0.0], &[1.0], &cfg), "class 9"),
        (
            run(&x, &[0], &[0.0], &[1.0], &cfg),
            "8 input values for 1 rows",
        ),
        (run(&x, &[0, 1], &[0.0; 3], &[1.0; 3], &cfg), "need 1 or 4"),
        (
            run(&x, &[0, 1], &[1.0], &[0.0], &cfg),
            "feature 0: lower end 1",
        ),
        (run(&x, &[0, 1], &[0.0], &[1.0], &nan), "invalid eps"),
    ];
    for (e, want) in cases {
        assert!(e.contains(want), "{e:?} does not say {want:?}");
        assert!(!e.contains('\n'), "{e:?} is not one line");
    }
}

/// An MLP (784-128-64-10) trained 5 epochs on the bundled MNIST: on its 1,000 test rows at
/// ε = 0.01 and 0.05, every row IBP, CROWN or CROWN-IBP verifies survives PGD-40 (the
/// soundness bar on a trained model), and the verified accuracy with its seconds is printed
/// beside PGD's robust accuracy, an upper bound (the README's table: `cargo test -p
/// aegis-adversarial-trainer --test bounds mnist -- --nocapture`).
#[test]
fn verified_rows_of_an_mnist_mlp_survive_pgd() {
    use aegis_model::data::DataSource;
    use aegis_model::{TrainConfig, TrainRequest, train_run};
    let mut req = TrainRequest::new(DataSource::Mnist);
    req.architecture = Some(Architecture::Mlp);
    req.train = TrainConfig::new().with_epochs(5).with_seed(0);
    let t = std::time::Instant::now();
    let model = train_run(&req).unwrap().model;
    println!("trained in {:.1} s", t.elapsed().as_secs_f64());
    let (split, _) = DataSource::Mnist.load_split(0, 0.2).unwrap();
    let test = split.test;
    let (x, y) = (&test.features, &test.labels);
    let n = y.len();
    let clean = logits(&model, x)
        .chunks(10)
        .zip(y)
        .filter(|(z, l)| aegis_model::argmax(z) == **l)
        .count();
    println!("{n} rows, clean accuracy {:.3}", clean as f64 / n as f64);
    for eps in [0.01, 0.05] {
        let adv = pgd_points(&model, x, y, eps);
        let survives: Vec<bool> = logits(&model, &adv)
            .chunks(10)
            .zip(y)
            .map(|(z, l)| aegis_model::argmax(z) == *l)
            .collect();
        let robust = survives.iter().filter(|&&s| s).count();
        println!(
            "ε={eps}: PGD-40 robust accuracy {:.3}",
            robust as f64 / n as f64
        );
        for (method, inter) in ALL {
            let cfg = BoundsConfig::new(eps)
                .with_method(method)
                .with_intermediate(inter);
            let t = std::time::Instant::now();
            let rows = certify_bounds(&model, x, y, &[0.0], &[1.0], &cfg, &Device::flex()).unwrap();
            let secs = t.elapsed().as_secs_f64();
            let verified = rows.iter().filter(|r| r.verified).count();
            for r in rows.iter().filter(|r| r.verified) {
                assert!(
                    survives[r.index],
                    "ε={eps} {method:?}: verified row {} broken by PGD",
                    r.index
                );
            }
            println!(
                "ε={eps}: {method:?} (intermediate {inter:?}) verified accuracy {:.3} in {secs:.2} s",
                verified as f64 / n as f64
            );
        }
    }
}

#[test]
fn a_radius_per_feature_bounds_its_own_box() {
    let (f, model) = (4, mlp(&[8, 8], 4, 12));
    let x = uniform(3 * f, 120);
    let y = [0, 2, 4];
    let cfg = config(0.05, BoundMethod::Crown, IntermediateBounds::Ibp);
    let d = Device::flex();
    let scaled = |scale: &[f32], cfg: &BoundsConfig| {
        certify_bounds_scaled(&model, &x, &y, &[0.0], &[1.0], scale, cfg, &d)
    };
    // Every scale 2 at ε is the plain ball of 2ε; an empty scale is the plain ball of ε.
    let doubled = config(0.1, BoundMethod::Crown, IntermediateBounds::Ibp);
    assert_eq!(
        scaled(&[2.0; 4], &cfg).unwrap(),
        bounds(&model, &x, &y, &doubled)
    );
    assert_eq!(scaled(&[], &cfg).unwrap(), bounds(&model, &x, &y, &cfg));
    // Feature j moves by ε·scale[j]: the bounds hold the margins of that box's points.
    let scale = [0.5f32, 1.0, 3.0, 6.0];
    let rows = scaled(&scale, &cfg).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(121);
    let per = 32;
    let mut points = Vec::with_capacity(x.len() * per);
    for row in x.chunks(f) {
        for _ in 0..per {
            for (j, &v) in row.iter().enumerate() {
                let r = 0.05 * scale[j];
                points.push((v + rng.random_range(-r..=r)).clamp(0.0, 1.0));
            }
        }
    }
    assert_contains(&model, &rows, &points, per, "per-feature radius");
    for bad in [
        &[1.0f32, 1.0][..],
        &[1.0, 0.0, 1.0, 1.0],
        &[1.0, f32::NAN, 1.0, 1.0],
    ] {
        let err = scaled(bad, &cfg).unwrap_err().to_string();
        assert!(
            err.contains("feature scales") && !err.contains('\n'),
            "{err}"
        );
    }
}
