//! The built-in architectures written as specs: the same layers, the same seeded weights
//! (a test checks identical logits), so a built-in model can be exported as a spec and a
//! spec can start from a built-in recipe.

use super::kind::{LayerKind, LayerSpec, Pair};
use super::spec::SequentialSpec;
use crate::models::Architecture;

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
        Architecture::Sequential => return None,
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
