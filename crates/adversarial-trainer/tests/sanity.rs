//! The sanity checks against gradient masking can fail: on a model whose output is a step
//! function of its input (`x ↦ W·round(255x)/255 + b`, zero gradient everywhere), the
//! gradient check and the ε = 1 check must warn.

use aegis_adversarial_trainer::{EvalAttack, EvaluateConfig, evaluate_robustness};
use aegis_model::{Classifier, Dataset};
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

/// A linear model on inputs quantised to 8 bits: piecewise constant, so every input gradient
/// is zero, the textbook gradient-masking defence.
#[derive(Module, Debug)]
struct Quantised {
    lin: Linear,
}

impl Classifier for Quantised {
    fn logits(&self, x: Tensor<2>) -> Tensor<2> {
        self.lin.forward((x * 255.0).round() / 255.0)
    }
    fn input_shape(&self) -> &[usize] {
        &[6]
    }
    fn num_classes(&self) -> usize {
        3
    }
}

#[test]
fn a_gradient_masking_model_trips_the_gradient_and_eps_one_checks() {
    let d = Device::flex();
    let model = Quantised {
        lin: LinearConfig::new(6, 3).init(&d),
    };
    let n = 30;
    let features: Vec<f32> = (0..n * 6)
        .map(|i| ((i * 37) % 100) as f32 / 100.0)
        .collect();
    let x = aegis_model::batch_tensor(features.clone(), n, 6, &d);
    // Label every row as the model predicts it, so the clean accuracy is 100%.
    let labels = aegis_adversarial_trainer::predictions(&model, x);
    let data = Dataset {
        features,
        labels,
        sample_shape: vec![6],
        num_classes: 3,
        feature_names: Vec::new(),
        class_names: vec!["a".into(), "b".into(), "c".into()],
    };
    let cfg = EvaluateConfig {
        suite: aegis_adversarial_trainer::Suite::Custom,
        eps: vec![0.0, 0.1],
        attacks: vec![EvalAttack::Fgsm, EvalAttack::Pgd],
        pgd_steps: 5,
        ..EvaluateConfig::default()
    };
    let tmp = tempfile::tempdir().unwrap();
    let r = evaluate_robustness(&model, &data, &cfg, &d, tmp.path()).unwrap();
    let check = |name: &str| {
        r.sanity_checks
            .iter()
            .find(|c| c.name.contains(name))
            .unwrap_or_else(|| panic!("no check `{name}` in {:?}", r.sanity_checks))
    };
    let grad = check("gradients");
    assert!(
        !grad.passed,
        "zero gradients must be flagged: {}",
        grad.detail
    );
    let eps1 = check("eps 1.0");
    assert!(
        !eps1.passed,
        "a step function survives PGD at ε = 1: {}",
        eps1.detail
    );
}
