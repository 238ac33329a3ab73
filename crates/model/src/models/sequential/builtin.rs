//! The built-in architectures written as specs: the same layers, the same seeded weights
//! (a test checks identical logits), so a built-in model can be exported as a spec and a
//! spec can start from a built-in recipe.

use burn::nn::Linear;
use burn::nn::conv::Conv2d;

use super::Sequential;
use super::kind::{LayerKind, LayerSpec, Pair};
use super::layer::{Block, Leaf};
use super::spec::SequentialSpec;
use crate::models::init::SeededInit;
use crate::models::{Architecture, Model, ModelConfig};

fn l(kind: LayerKind) -> LayerSpec {
    LayerSpec::new(kind)
}

fn conv(cin: usize, cout: usize, k: usize, pad: usize) -> LayerSpec {
    l(LayerKind::Conv2d {
        in_channels: cin,
        out_channels: cout,
        kernel_size: Pair([k, k]),
        stride: Pair([1, 1]),
        padding: Pair([pad, pad]),
        dilation: Pair([1, 1]),
        groups: 1,
        bias: true,
    })
}

fn linear(i: usize, o: usize) -> LayerSpec {
    l(LayerKind::Linear {
        in_features: i,
        out_features: o,
        bias: true,
    })
}

fn pool2() -> LayerSpec {
    l(LayerKind::MaxPool2d {
        kernel_size: Pair([2, 2]),
        stride: None,
        padding: Pair([0, 0]),
        dilation: Pair([1, 1]),
    })
}

/// The spec of a built-in architecture: `input_shape`, MLP `hidden` widths, `dropout` and
/// `classes` as in [`crate::ModelConfig`].
pub fn builtin_spec(
    arch: Architecture,
    input_shape: &[usize],
    hidden: &[usize],
    dropout: f64,
    classes: usize,
) -> Option<SequentialSpec> {
    let relu = || l(LayerKind::Relu);
    let drop = || l(LayerKind::Dropout { p: dropout });
    let layers = match arch {
        Architecture::Mlp => {
            let mut v = vec![l(LayerKind::Flatten)];
            let mut prev: usize = input_shape.iter().product();
            for &h in hidden {
                v.extend([linear(prev, h), relu(), drop()]);
                prev = h;
            }
            v.push(linear(prev, classes));
            v
        }
        Architecture::SmallCnn => vec![
            conv(1, 16, 3, 0),
            relu(),
            pool2(),
            conv(16, 32, 3, 0),
            relu(),
            pool2(),
            l(LayerKind::Flatten),
            linear(800, 128),
            relu(),
            drop(),
            linear(128, classes),
        ],
        Architecture::MadryCnn => vec![
            conv(1, 32, 5, 2),
            relu(),
            pool2(),
            conv(32, 64, 5, 2),
            relu(),
            pool2(),
            l(LayerKind::Flatten),
            linear(3136, 1024),
            relu(),
            linear(1024, classes),
        ],
        Architecture::Sequential | Architecture::Graph => return None,
    };
    let input_shape = match arch {
        Architecture::Mlp => input_shape.to_vec(),
        _ => vec![1, 28, 28],
    };
    Some(SequentialSpec {
        input_shape,
        layers,
    })
}

/// Any model as a [`Sequential`] with the same weights, without its [`ModelConfig`]: a clone
/// for a sequential model, else [`as_sequential`] on a config read off the model itself (the
/// MLP's hidden widths from its weights). For callers that walk the layers one by one, e.g.
/// bound propagation in `aegis-adversarial-trainer`. `None` for an imported ONNX graph,
/// which has no layer list.
pub fn to_sequential(model: &Model) -> Option<Sequential> {
    use crate::classifier::Classifier;
    let (arch, hidden) = match model {
        Model::Sequential(s) => return Some(s.clone()),
        Model::Graph(_) => return None,
        Model::Mlp(m) => {
            let widths = m.hidden.iter().map(|l| l.weight.dims()[1]).collect();
            (Architecture::Mlp, widths)
        }
        Model::SmallCnn(_) => (Architecture::SmallCnn, vec![]),
        Model::MadryCnn(_) => (Architecture::MadryCnn, vec![]),
    };
    let config = ModelConfig::new(arch, model.input_shape().to_vec(), model.num_classes())
        .with_hidden(hidden)
        .with_dropout(model.dropout_prob());
    let (seq, _) = as_sequential(model, &config)
        .expect("a built-in model has a spec and one layer per spec layer");
    Some(seq)
}

/// A built-in model as the [`Sequential`] of its spec, with the same weights (moved layer by
/// layer), so it can be exported like any sequential model; `None` for a sequential model.
pub fn as_sequential(model: &Model, config: &ModelConfig) -> Option<(Sequential, SequentialSpec)> {
    let spec = builtin_spec(
        config.architecture,
        &config.input_shape,
        &config.hidden,
        config.dropout,
        config.num_classes,
    )?;
    let (norm, convs, linears): (_, Vec<&Conv2d>, Vec<&Linear>) = match model {
        Model::Mlp(m) => (&m.norm, vec![], m.hidden.iter().chain([&m.head]).collect()),
        Model::SmallCnn(m) => (&m.norm, vec![&m.conv1, &m.conv2], vec![&m.fc1, &m.fc2]),
        Model::MadryCnn(m) => (&m.norm, vec![&m.conv1, &m.conv2], vec![&m.fc1, &m.fc2]),
        Model::Sequential(_) | Model::Graph(_) => return None,
    };
    let device = norm.device();
    let mut seq = Sequential::new(
        &spec,
        config.num_classes,
        norm.clone(),
        &mut SeededInit::placeholders(),
        &device,
    );
    let (mut convs, mut linears) = (convs.into_iter(), linears.into_iter());
    for leaf in seq.blocks_mut().iter_mut().flat_map(Block::leaves_mut) {
        match leaf {
            Leaf::Conv2d(c) => *c = convs.next()?.clone(),
            Leaf::Linear(l) => *l = linears.next()?.clone(),
            _ => {}
        }
    }
    Some((seq, spec))
}
