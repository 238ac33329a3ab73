//! The shape check of a spec: every layer's output shape from its input, with an error that
//! names the layer (by its `state_dict` name and type) and the shapes when a layer cannot
//! take its input. Formulas follow `torch.nn` (floor division, zero padding).

use std::fmt;

use super::kind::{LayerKind, LayerSpec, Pair};

/// The shape of one sample between layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `[F]`.
    Flat(usize),
    /// `[C, H, W]`.
    Image(usize, usize, usize),
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flat(n) => write!(f, "[{n}]"),
            Self::Image(c, h, w) => write!(f, "[{c}, {h}, {w}]"),
        }
    }
}

impl Shape {
    /// From a sample shape `[F]`, `[H, W]` (one channel) or `[C, H, W]`.
    pub fn from_dims(dims: &[usize]) -> Option<Self> {
        match *dims {
            [f] => Some(Self::Flat(f)),
            [h, w] => Some(Self::Image(1, h, w)),
            [c, h, w] => Some(Self::Image(c, h, w)),
            _ => None,
        }
    }
    /// Number of values (saturating at `usize::MAX`: a spec's sizes are the user's, and
    /// the memory check refuses what they add up to, see [`super::budget`]).
    pub fn numel(&self) -> usize {
        match *self {
            Self::Flat(n) => n,
            Self::Image(c, h, w) => c.saturating_mul(h).saturating_mul(w),
        }
    }
}

/// The default `state_dict` prefix of the layer at `index` under `prefix`.
pub fn layer_name(layer: &LayerSpec, prefix: &str, index: usize) -> String {
    match &layer.name {
        Some(n) => n.clone(),
        None => format!("{prefix}{index}"),
    }
}

/// Checks `layers` on an input of `shape`, returning the output shape. `prefix` is the
/// default-name prefix (`""` at the top, `"<i>.body."` inside a residual block).
pub fn check_layers(
    layers: &[LayerSpec],
    mut shape: Shape,
    prefix: &str,
    nested: bool,
) -> std::result::Result<Shape, String> {
    for (i, layer) in layers.iter().enumerate() {
        let name = layer_name(layer, prefix, i);
        let at = |fault: String| format!("layer {name} ({}): {fault}", layer.kind.type_name());
        if nested && matches!(layer.kind, LayerKind::Residual { .. }) {
            return Err(at("residual blocks do not nest".into()));
        }
        shape = match &layer.kind {
            LayerKind::Residual { layers, projection } => {
                let body = check_layers(layers, shape, &format!("{name}.body."), true)?;
                let short = match projection {
                    Some(p) => check_layers(p, shape, &format!("{name}.projection."), true)?,
                    None => shape,
                };
                if body != short {
                    return Err(at(format!(
                        "the body outputs {body} but the shortcut outputs {short}; add a \
                         projection that maps {shape} to {body}"
                    )));
                }
                body
            }
            kind => output_shape(kind, shape).map_err(at)?,
        };
    }
    Ok(shape)
}

fn window_out(len: usize, k: usize, s: usize, p: usize, d: usize) -> Option<usize> {
    if d == 0 {
        return None;
    }
    let span = d.checked_mul(k.checked_sub(1)?)?.checked_add(1)?;
    let padded = len.checked_add(p.checked_mul(2)?)?;
    if s == 0 || padded < span {
        return None;
    }
    Some((padded - span) / s + 1)
}

fn window_shape(
    shape: Shape,
    k: Pair,
    s: Pair,
    p: Pair,
    d: Pair,
) -> std::result::Result<Shape, String> {
    let Shape::Image(c, h, w) = shape else {
        return Err(format!("needs an image input [C, H, W], receives {shape}"));
    };
    match (
        window_out(h, k.0[0], s.0[0], p.0[0], d.0[0]),
        window_out(w, k.0[1], s.0[1], p.0[1], d.0[1]),
    ) {
        (Some(oh), Some(ow)) if k.0[0] > 0 && k.0[1] > 0 => Ok(Shape::Image(c, oh, ow)),
        _ => Err(format!(
            "kernel {:?} (stride {:?}, padding {:?}, dilation {:?}) does not fit the input {shape}",
            k.0, s.0, p.0, d.0
        )),
    }
}

/// The output shape of one (non-residual) layer on `shape`, or why it cannot take it.
pub fn output_shape(kind: &LayerKind, shape: Shape) -> std::result::Result<Shape, String> {
    use LayerKind as K;
    let flat = |what: &str, n: usize| match shape {
        Shape::Flat(f) if f == n => Ok(shape),
        _ => Err(format!(
            "expects a flat input [{n}] ({what}), receives {shape}"
        )),
    };
    let channels = |n: usize| match shape {
        Shape::Image(c, _, _) if c == n => Ok(shape),
        _ => Err(format!(
            "expects an image input with {n} channels, receives {shape}"
        )),
    };
    match kind {
        K::Linear {
            in_features,
            out_features,
            ..
        } => {
            flat("in_features", *in_features)?;
            positive(*out_features, "out_features")?;
            Ok(Shape::Flat(*out_features))
        }
        K::Conv2d { .. } => conv_shape(kind, shape),
        K::BatchNorm1d {
            num_features,
            eps,
            momentum,
        } => {
            check_norm(*eps, *momentum)?;
            flat("num_features", *num_features)
        }
        K::BatchNorm2d {
            num_features,
            eps,
            momentum,
        } => {
            check_norm(*eps, *momentum)?;
            channels(*num_features)
        }
        K::LayerNorm {
            normalized_shape,
            eps,
        } => layer_norm_shape(normalized_shape, *eps, shape),
        K::Relu | K::Gelu | K::Tanh | K::Sigmoid | K::Silu => Ok(shape),
        K::LeakyRelu { negative_slope } if negative_slope.is_finite() => Ok(shape),
        K::LeakyRelu { negative_slope } => {
            Err(format!("negative_slope {negative_slope} is not finite"))
        }
        K::MaxPool2d {
            kernel_size,
            stride,
            padding,
            dilation,
        } => {
            check_pool_padding(*kernel_size, *padding)?;
            window_shape(
                shape,
                *kernel_size,
                stride.unwrap_or(*kernel_size),
                *padding,
                *dilation,
            )
        }
        K::AvgPool2d {
            kernel_size,
            stride,
            padding,
            ..
        } => {
            check_pool_padding(*kernel_size, *padding)?;
            window_shape(
                shape,
                *kernel_size,
                stride.unwrap_or(*kernel_size),
                *padding,
                Pair([1, 1]),
            )
        }
        K::AdaptiveAvgPool2d {
            output_size: Pair([oh, ow]),
        } => match shape {
            Shape::Image(c, _, _) if *oh > 0 && *ow > 0 => Ok(Shape::Image(c, *oh, *ow)),
            Shape::Image(..) => Err("output_size must be positive".into()),
            Shape::Flat(_) => Err(format!("needs an image input [C, H, W], receives {shape}")),
        },
        K::Flatten => Ok(Shape::Flat(shape.numel())),
        K::Dropout { p } if (0.0..1.0).contains(p) => Ok(shape),
        K::Dropout { p } => Err(format!("p = {p} not in [0, 1)")),
        K::Normalize { mean, std } => check_normalize(mean, std, shape),
        K::Residual { .. } => unreachable!("residual blocks are checked by check_layers"),
    }
}

/// `nn.Conv2d`: channels and groups checked, then the window formula.
fn conv_shape(kind: &LayerKind, shape: Shape) -> std::result::Result<Shape, String> {
    let LayerKind::Conv2d {
        in_channels,
        out_channels,
        kernel_size,
        stride,
        padding,
        dilation,
        groups,
        ..
    } = *kind
    else {
        unreachable!("called for convolutions")
    };
    match shape {
        Shape::Image(c, _, _) if c == in_channels => {}
        _ => {
            return Err(format!(
                "expects an image input with {in_channels} channels, receives {shape}"
            ));
        }
    }
    positive(out_channels, "out_channels")?;
    if groups == 0 || in_channels % groups != 0 || out_channels % groups != 0 {
        return Err(format!(
            "groups {groups} must divide in_channels {in_channels} and out_channels {out_channels}"
        ));
    }
    match window_shape(shape, kernel_size, stride, padding, dilation)? {
        Shape::Image(_, h, w) => Ok(Shape::Image(out_channels, h, w)),
        flat => Ok(flat),
    }
}

/// `nn.LayerNorm([d])`: `d` must be the input's last dimension.
fn layer_norm_shape(
    normalized_shape: &[usize],
    eps: f64,
    shape: Shape,
) -> std::result::Result<Shape, String> {
    check_norm(eps, 0.0)?;
    let last = match shape {
        Shape::Flat(f) => f,
        Shape::Image(_, _, w) => w,
    };
    match normalized_shape {
        [d] if *d == last => Ok(shape),
        _ => Err(format!(
            "normalized_shape {normalized_shape:?} must be the last dimension [{last}] of the input {shape}"
        )),
    }
}

fn positive(n: usize, what: &str) -> std::result::Result<(), String> {
    if n == 0 {
        return Err(format!("{what} must be positive"));
    }
    Ok(())
}

fn check_norm(eps: f64, momentum: f64) -> std::result::Result<(), String> {
    if !(eps.is_finite() && eps > 0.0) || !(0.0..=1.0).contains(&momentum) {
        return Err(format!(
            "eps {eps} must be positive and momentum {momentum} in [0, 1]"
        ));
    }
    Ok(())
}

fn check_pool_padding(k: Pair, p: Pair) -> std::result::Result<(), String> {
    if p.0[0] > k.0[0] / 2 || p.0[1] > k.0[1] / 2 {
        return Err(format!(
            "padding {:?} must be at most half the kernel {:?}",
            p.0, k.0
        ));
    }
    Ok(())
}

fn check_normalize(mean: &[f64], std: &[f64], shape: Shape) -> std::result::Result<Shape, String> {
    let per = match shape {
        Shape::Image(c, _, _) => c,
        Shape::Flat(f) => f,
    };
    if mean.len() != std.len() || !(mean.len() == 1 || mean.len() == per) {
        return Err(format!(
            "mean and std need 1 or {per} values for the input {shape}, have {} and {}",
            mean.len(),
            std.len()
        ));
    }
    if std.iter().any(|s| !(s.is_finite() && *s > 0.0)) || mean.iter().any(|m| !m.is_finite()) {
        return Err("std must be positive and finite, mean finite".into());
    }
    Ok(shape)
}
