//! Agreement with auto_LiRPA: the margin bounds of four small networks with fixed weights (an
//! MLP, a CNN with a strided convolution, a residual network with batch norm and average
//! pooling, a CNN with 2×2 max-pools), at ε = 0, 0.02 and 0.1, by IBP, CROWN with IBP
//! intermediate bounds (CROWN-IBP) and CROWN, equal the reference's within 1e-4. The max-pool
//! network is not compared under full CROWN: auto_LiRPA 0.3's intermediate bounds after a
//! max-pool are looser than its own CROWN bounds of that layer (which Aegis's equal). The
//! reference numbers are in `tests/fixtures/bounds_reference.json`, written by
//! `bench/pytorch/bounds_reference.py` (auto_LiRPA 0.3 on PyPI, float64; the fixture names the
//! versions).

use aegis_adversarial_trainer::certified::bounds::{
    BoundMethod, BoundsConfig, IntermediateBounds, certify_bounds,
};
use aegis_model::models::sequential::layer::{Block, Leaf};
use aegis_model::{Architecture, Model, ModelConfig, SequentialSpec};
use burn::module::{Param, RunningState};
use burn::tensor::{Device, Tensor, TensorData};
use serde_json::Value;

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn t1(v: Vec<f32>, d: &Device) -> Tensor<1> {
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), d)
}

/// The fixture's model: its spec, then its parameters in leaf order (PyTorch layouts).
fn model(case: &Value, d: &Device) -> (Model, usize) {
    let spec: SequentialSpec = serde_json::from_value(case["spec"].clone()).unwrap();
    let classes = case["bounds"][0]["margin_lower"][0]
        .as_array()
        .unwrap()
        .len();
    let mut model = ModelConfig::new(Architecture::Sequential, spec.input_shape.clone(), classes)
        .with_spec(Some(spec))
        .init(d, 0)
        .unwrap();
    let mut params = case["params"].as_array().unwrap().iter();
    let Model::Sequential(s) = &mut model else {
        unreachable!()
    };
    for leaf in s.blocks_mut().iter_mut().flat_map(Block::leaves_mut) {
        match leaf {
            Leaf::Linear(l) => {
                let p = params.next().unwrap();
                let [i, o] = l.weight.dims();
                let w = Tensor::<2>::from_data(TensorData::new(floats(&p["weight"]), [o, i]), d);
                l.weight = Param::from_tensor(w.transpose());
                l.bias = Some(Param::from_tensor(t1(floats(&p["bias"]), d)));
            }
            Leaf::Conv2d(c) => {
                let p = params.next().unwrap();
                let dims = c.weight.dims();
                let w = Tensor::<4>::from_data(TensorData::new(floats(&p["weight"]), dims), d);
                c.weight = Param::from_tensor(w);
                c.bias = Some(Param::from_tensor(t1(floats(&p["bias"]), d)));
            }
            Leaf::BatchNorm(bn) => {
                let p = params.next().unwrap();
                bn.gamma = Param::from_tensor(t1(floats(&p["weight"]), d));
                bn.beta = Param::from_tensor(t1(floats(&p["bias"]), d));
                bn.running_mean = RunningState::new(t1(floats(&p["running_mean"]), d));
                bn.running_var = RunningState::new(t1(floats(&p["running_var"]), d));
            }
            _ => {}
        }
    }
    assert!(params.next().is_none(), "every reference parameter is used");
    (model, classes)
}

#[test]
fn ibp_and_crown_agree_with_auto_lirpa_within_1e_4() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/bounds_reference.json"
    );
    let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let d = Device::flex();
    let mut compared = 0;
    for case in fixture["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (model, classes) = model(case, &d);
        let x = floats(&case["x"]);
        let labels: Vec<usize> = case["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        for b in case["bounds"].as_array().unwrap() {
            let eps = b["eps"].as_f64().unwrap();
            let (method, inter) = match b["method"].as_str().unwrap() {
                "ibp" => (BoundMethod::Ibp, IntermediateBounds::Crown),
                "crown-ibp" => (BoundMethod::Crown, IntermediateBounds::Ibp),
                _ => (BoundMethod::Crown, IntermediateBounds::Crown),
            };
            let cfg = BoundsConfig::new(eps)
                .with_method(method)
                .with_intermediate(inter);
            let rows = certify_bounds(&model, &x, &labels, &[0.0], &[1.0], &cfg, &d).unwrap();
            for (row, want) in rows.iter().zip(b["margin_lower"].as_array().unwrap()) {
                for j in 0..classes {
                    let (got, want) = (row.margin_lower[j], want[j].as_f64());
                    assert_eq!(
                        got.is_some(),
                        want.is_some(),
                        "{name} row {} class {j}",
                        row.index
                    );
                    if let (Some(g), Some(w)) = (got, want) {
                        assert!(
                            (g - w).abs() <= 1e-4,
                            "{name} {method:?}/{inter:?} ε={eps} row {} class {j}: {g} vs auto_LiRPA {w}",
                            row.index
                        );
                        compared += 1;
                    }
                }
            }
        }
    }
    assert_eq!(
        compared,
        (3 * 9 + 6) * 8 * 3,
        "every reference bound compared"
    );
}
