//! The cross-device suite: the same small model's forward pass, input gradient, one training
//! epoch, one attack (PGD), one attribution (integrated gradients) and MC-dropout passes on
//! flex, ndarray and wgpu (Mesa's software Vulkan on a CPU-only machine) must agree
//! with flex within tolerance. Flex is the reference.
//!
//! wgpu is required: CI installs `mesa-vulkan-drivers libvulkan1`. A failure names the device.

use aegis::adversarial::{Attack, Goal, Pgd, PgdConfig};
use aegis::interpretability::{Attribution, IgConfig, IntegratedGradients};
use aegis::model::burn::module::Module;
use aegis::model::burn::tensor::{Device, Tensor};
use aegis::model::data::{DataSource, Split};
use aegis::model::models::{Architecture, ModelConfig};
use aegis::model::run::RunDir;
use aegis::model::train::{TrainConfig, TrainOptions, cross_entropy, fit, seed_device};
use aegis::model::{Classifier, DeviceSpec, Model, batch_tensor, label_tensor};
use aegis::uncertainty::{McDropout, McDropoutConfig, UncertaintyEstimator};

#[path = "support/numeric.rs"]
mod numeric;
use numeric::max_abs_diff;

const DEVICES: [DeviceSpec; 3] = [
    DeviceSpec::Flex,
    DeviceSpec::NdArray,
    DeviceSpec::Wgpu(None),
];

fn data() -> Split {
    let (s, _) = DataSource::Mnist.load_split(0, 0.2).unwrap();
    Split {
        train: s.train.head(Some(256)),
        test: s.test.head(Some(64)),
    }
}

/// One set of weights, created on flex and saved, so every device starts from the same model.
fn reference_weights(dir: &std::path::Path) -> ModelConfig {
    let cfg = ModelConfig::new(Architecture::SmallCnn, vec![1, 28, 28], 10).with_dropout(0.5);
    let flex = Device::flex();
    seed_device(&flex, 3);
    RunDir::new(dir)
        .save_weights(&cfg.init(&flex, 3).unwrap())
        .unwrap();
    cfg
}

fn load(cfg: &ModelConfig, dir: &std::path::Path, device: &Device) -> Model {
    aegis::model::run::load_weights(cfg, &RunDir::new(dir).weights_path(), device).unwrap()
}

fn open(spec: DeviceSpec) -> Device {
    spec.open()
        .unwrap_or_else(|e| panic!("device {spec} unavailable: {e}"))
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

/// What one device computed, compared with flex's.
struct DeviceResult {
    logits: Vec<f32>,
    grad: Vec<f32>,
    after: Vec<f32>,
    loss: f64,
    adv: Vec<f32>,
    ig: Vec<f32>,
    mc: Vec<f32>,
}

/// Logits and the input gradient of the cross-entropy on 32 images.
fn forward_and_input_grad(model: &Model, device: &Device, split: &Split) -> (Vec<f32>, Vec<f32>) {
    let n = 32;
    let xs = split.test.features[..n * 784].to_vec();
    let logits = model.logits(batch_tensor(xs.clone(), n, 784, device));
    let ad = device.clone().autodiff();
    let model_ad = model.clone().fork(&ad);
    let x = batch_tensor(xs, n, 784, &ad).require_grad();
    let loss = cross_entropy(
        model_ad.logits(x.clone()),
        label_tensor(&split.test.labels[..n], &ad),
    );
    let grads = loss.backward();
    let g = x.grad(&grads).expect("input gradient exists");
    (to_vec(logits), to_vec(g))
}

#[test]
fn forward_input_gradient_and_one_epoch_agree_across_devices() {
    let split = data();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = reference_weights(tmp.path());
    let mut reference: Option<DeviceResult> = None;
    for spec in DEVICES {
        let device = open(spec);
        let model = load(&cfg, tmp.path(), &device);
        let (logits, grad) = forward_and_input_grad(&model, &device, &split);
        assert!(
            logits.iter().chain(&grad).all(|v| v.is_finite()),
            "{spec}: non-finite values"
        );
        assert!(
            grad.iter().any(|&g| g != 0.0),
            "{spec}: input gradient is all zero"
        );
        // One training epoch (4 batches of 64, Adam), then the logits after training.
        let train = TrainConfig::new().with_epochs(1).with_seed(9);
        seed_device(&device, 9);
        let (trained, metrics) = fit(
            load(&cfg, tmp.path(), &device),
            &train,
            &split,
            &device,
            &TrainOptions::default(),
        )
        .unwrap();
        let after = to_vec(trained.logits(batch_tensor(
            split.test.features[..32 * 784].to_vec(),
            32,
            784,
            &device,
        )));
        let loss = metrics.epochs[0].loss;
        // One attack: PGD (ε 0.3, 5 steps of 0.05, host-seeded random start) on 32 images.
        let pgd = Pgd::new(
            PgdConfig::new(0.3)
                .with_steps(5)
                .with_step_size(0.05)
                .with_seed(2),
        )
        .unwrap();
        let x = batch_tensor(split.test.features[..32 * 784].to_vec(), 32, 784, &device);
        let adv = to_vec(
            pgd.perturb(
                &model,
                x,
                &Goal::Untargeted(split.test.labels[..32].to_vec()),
            )
            .unwrap(),
        );
        assert!(
            adv.iter().all(|v| (0.0..=1.0).contains(v)),
            "{spec}: adversarial pixels out of [0, 1]"
        );
        // One attribution: integrated gradients (16 Gauss–Legendre points) on 4 images.
        let ig = IntegratedGradients::new(IgConfig::new().with_steps(16))
            .unwrap()
            .attribute(
                &model,
                &split.test.features[..4 * 784],
                &split.test.labels[..4],
                &device,
            )
            .unwrap()
            .values;
        // MC dropout: 5 passes with host-seeded masks on 8 images.
        let mc = McDropout::new(&model, McDropoutConfig::new().with_passes(5).with_seed(4))
            .unwrap()
            .predict_samples(&split.test.features[..8 * 784], &device)
            .unwrap()
            .logits;
        match &reference {
            None => {
                reference = Some(DeviceResult {
                    logits,
                    grad,
                    after,
                    loss,
                    adv,
                    ig,
                    mc,
                })
            }
            Some(DeviceResult {
                logits: l0,
                grad: g0,
                after: a0,
                loss: loss0,
                adv: adv0,
                ig: ig0,
                mc: mc0,
            }) => {
                let scale = ig0.iter().fold(0f32, |m, v| m.max(v.abs()));
                let di = max_abs_diff(&ig, ig0);
                assert!(
                    di < 1e-3 * scale.max(1e-3),
                    "{spec}: integrated gradients differ from flex by {di} (max {scale})"
                );
                let dm = max_abs_diff(&mc, mc0);
                assert!(
                    dm < 1e-3,
                    "{spec}: MC-dropout logits differ from flex by {dm}"
                );
                // A gradient sign can flip where the gradient is ~0; allow a few such pixels.
                let differing = adv
                    .iter()
                    .zip(adv0)
                    .filter(|(a, b)| (*a - *b).abs() > 1e-3)
                    .count();
                assert!(
                    differing * 200 < adv.len(),
                    "{spec}: {differing} of {} PGD pixels differ from flex",
                    adv.len()
                );
                let dl = max_abs_diff(&logits, l0);
                assert!(dl < 1e-3, "{spec}: logits differ from flex by {dl}");
                let scale = g0.iter().fold(0f32, |m, v| m.max(v.abs()));
                let dg = max_abs_diff(&grad, g0);
                assert!(
                    dg < 1e-3 * scale.max(1e-3),
                    "{spec}: input gradient differs from flex by {dg} (max |g| {scale})"
                );
                let da = max_abs_diff(&after, a0);
                assert!(
                    da < 2e-2,
                    "{spec}: logits after one epoch differ from flex by {da}"
                );
                assert!(
                    (loss - loss0).abs() < 1e-3,
                    "{spec}: epoch loss {loss} vs flex {loss0}"
                );
            }
        }
    }
}
