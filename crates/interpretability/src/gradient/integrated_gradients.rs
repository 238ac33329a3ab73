//! Integrated gradients (Sundararajan, Taly & Yan 2017, "Axiomatic Attribution for Deep
//! Networks"), as Captum's `IntegratedGradients`:
//!
//! `IG_j(x) = (x_j − x′_j) · ∫₀¹ ∂ logit_t(x′ + α(x − x′)) / ∂x_j dα`,
//!
//! with the integral replaced by a quadrature `Σ_k w_k g(α_k)`: Gauss–Legendre with `n = 50`
//! nodes by default (Captum's default method `gausslegendre`, 50 steps), or the Riemann
//! left / right / middle / trapezoid rules. The `N · n` interpolated inputs are evaluated in
//! chunks of `internal_batch_size` rows (Captum's `internal_batch_size`), so memory is bounded
//! whatever `n`. Completeness gives the per-row **convergence delta**
//! `Σ_j IG_j − (f(x) − f(x′))` (Captum's `return_convergence_delta`); it is reported next to
//! the **output difference** `f(x) − f(x′)` it should be compared with.

use aegis_model::Classifier;
use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::attribution::{
    Attribution, Attributions, MAX_PATH_SAMPLES, ModelOutput, check_batch, check_count,
    check_positive, target_gradient, target_outputs,
};
use crate::error::{InterpretError, Result};

/// The quadrature rule of the path integral.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IgMethod {
    /// Gauss–Legendre on `[0, 1]` (exact for polynomials of degree `2n − 1`).
    GaussLegendre,
    /// Left Riemann sum: `α_k = k/n`, `k = 0..n−1`, weights `1/n`.
    RiemannLeft,
    /// Right Riemann sum: `α_k = (k+1)/n`.
    RiemannRight,
    /// Midpoint rule: `α_k = (k + ½)/n`.
    RiemannMiddle,
    /// Trapezoid rule on `n ≥ 2` equally spaced points including 0 and 1.
    RiemannTrapezoid,
}

/// The reference input `x′`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Baseline {
    /// All zeros (a black image).
    Zero,
    /// The input blurred with a Gaussian of standard deviation `sigma` (in pixels) over the
    /// spatial dimensions (the last two of the model's input shape; the only one for 1-D inputs),
    /// zero-padded, kernel truncated at 3σ (Sturmfels et al. 2020, "Visualizing the Impact of
    /// Feature Attribution Baselines").
    Blurred {
        /// Gaussian standard deviation in pixels.
        sigma: f64,
    },
    /// A given reference: `F` values (the same for every row) or `N·F` (one per row).
    Custom {
        /// Row-major values.
        values: Vec<f32>,
    },
}

impl Baseline {
    /// The baseline rows `[N, F]` for inputs `x` (`[N, F]`) of shape `input_shape` each.
    pub fn build(&self, x: &[f32], n: usize, input_shape: &[usize]) -> Result<Vec<f32>> {
        let f: usize = input_shape.iter().product();
        match self {
            Self::Zero => Ok(vec![0.0; n * f]),
            Self::Custom { values } => {
                if values.len() == f {
                    Ok(values.iter().copied().cycle().take(n * f).collect())
                } else if values.len() == n * f {
                    Ok(values.clone())
                } else {
                    Err(InterpretError::Shape(format!(
                        "custom baseline has {} values, need {f} or {}",
                        values.len(),
                        n * f
                    )))
                }
            }
            Self::Blurred { sigma } => {
                if !(sigma.is_finite() && *sigma > 0.0) {
                    return Err(InterpretError::invalid(
                        "sigma",
                        format!("{sigma} must be > 0"),
                    ));
                }
                let (h, w) = match input_shape {
                    [.., h, w] if input_shape.len() >= 2 => (*h, *w),
                    _ => (1, f),
                };
                let kernel = gaussian_kernel(*sigma);
                let mut out = Vec::with_capacity(n * f);
                for plane in x.chunks(h * w) {
                    out.extend(blur_plane(plane, h, w, &kernel));
                }
                Ok(out)
            }
        }
    }
}

fn gaussian_kernel(sigma: f64) -> Vec<f32> {
    let r = (3.0 * sigma).ceil() as i64;
    let mut k: Vec<f64> = (-r..=r)
        .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let s: f64 = k.iter().sum();
    k.iter_mut().for_each(|v| *v /= s);
    k.into_iter().map(|v| v as f32).collect()
}

/// Separable zero-padded blur of one `h × w` plane.
fn blur_plane(p: &[f32], h: usize, w: usize, k: &[f32]) -> Vec<f32> {
    let r = (k.len() / 2) as i64;
    let conv = |get: &dyn Fn(i64) -> f32, len: i64, i: i64| -> f32 {
        (-r..=r)
            .filter(|d| (0..len).contains(&(i + d)))
            .map(|d| k[(d + r) as usize] * get(i + d))
            .sum()
    };
    let mut tmp = vec![0f32; h * w];
    for y in 0..h {
        for x in 0..w {
            tmp[y * w + x] = conv(&|j| p[y * w + j as usize], w as i64, x as i64);
        }
    }
    let mut out = vec![0f32; h * w];
    for y in 0..h {
        for x in 0..w {
            out[y * w + x] = conv(&|j| tmp[j as usize * w + x], h as i64, y as i64);
        }
    }
    out
}

/// Gauss–Legendre nodes and weights on `[-1, 1]` for `n` points, by Newton's method on the
/// Legendre polynomial `P_n` (three-term recurrence), started from Tricomi's approximation
/// `cos(π(k − ¼)/(n + ½))`. Weights `2 / ((1 − x²) P′_n(x)²)`. Nodes ascending.
pub fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut nodes = vec![0f64; n];
    let mut weights = vec![0f64; n];
    let legendre = |x: f64| -> (f64, f64) {
        // Returns (P_n(x), P'_n(x)).
        let (mut p0, mut p1) = (1.0, x);
        if n == 0 {
            return (1.0, 0.0);
        }
        for k in 2..=n {
            let kf = k as f64;
            let p2 = ((2.0 * kf - 1.0) * x * p1 - (kf - 1.0) * p0) / kf;
            p0 = p1;
            p1 = p2;
        }
        let dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
        (p1, dp)
    };
    for k in 0..n.div_ceil(2) {
        let mut x = (std::f64::consts::PI * (k as f64 + 0.75) / (n as f64 + 0.5)).cos();
        for _ in 0..100 {
            let (p, dp) = legendre(x);
            let dx = p / dp;
            x -= dx;
            if dx.abs() < 1e-15 {
                break;
            }
        }
        let (_, dp) = legendre(x);
        let w = 2.0 / ((1.0 - x * x) * dp * dp);
        nodes[n - 1 - k] = x;
        weights[n - 1 - k] = w;
        nodes[k] = -x;
        weights[k] = w;
    }
    (nodes, weights)
}

/// Nodes `α_k ∈ [0, 1]` and weights `w_k` (summing to 1) of `method` with `n` points.
pub fn quadrature(method: IgMethod, n: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    check_count("steps", n, MAX_PATH_SAMPLES)?;
    let nf = n as f64;
    Ok(match method {
        IgMethod::GaussLegendre => {
            let (x, w) = gauss_legendre(n);
            (
                x.iter().map(|x| 0.5 * (x + 1.0)).collect(),
                w.iter().map(|w| 0.5 * w).collect(),
            )
        }
        IgMethod::RiemannLeft => ((0..n).map(|k| k as f64 / nf).collect(), vec![1.0 / nf; n]),
        IgMethod::RiemannRight => (
            (0..n).map(|k| (k + 1) as f64 / nf).collect(),
            vec![1.0 / nf; n],
        ),
        IgMethod::RiemannMiddle => (
            (0..n).map(|k| (k as f64 + 0.5) / nf).collect(),
            vec![1.0 / nf; n],
        ),
        IgMethod::RiemannTrapezoid => {
            if n < 2 {
                return Err(InterpretError::invalid(
                    "steps",
                    "the trapezoid rule needs at least 2",
                ));
            }
            let h = 1.0 / (nf - 1.0);
            let mut w = vec![h; n];
            w[0] = h / 2.0;
            w[n - 1] = h / 2.0;
            ((0..n).map(|k| k as f64 * h).collect(), w)
        }
    })
}

/// Integrated-gradients hyper-parameters.
#[derive(Config, Debug)]
pub struct IgConfig {
    /// Quadrature points `n` on the path.
    #[config(default = 50)]
    pub steps: usize,
    /// Quadrature rule.
    #[config(default = "IgMethod::GaussLegendre")]
    pub method: IgMethod,
    /// Reference input.
    #[config(default = "Baseline::Zero")]
    pub baseline: Baseline,
    /// Interpolated inputs per forward/backward pass (bounds memory).
    #[config(default = 512)]
    pub internal_batch_size: usize,
}

/// Integrated gradients of the target logit, with per-row convergence delta.
#[derive(Debug, Clone)]
pub struct IntegratedGradients {
    config: IgConfig,
    alphas: Vec<f64>,
    weights: Vec<f64>,
}

impl IntegratedGradients {
    /// Validates the configuration and precomputes the quadrature.
    pub fn new(config: IgConfig) -> Result<Self> {
        check_positive("internal_batch_size", config.internal_batch_size)?;
        let (alphas, weights) = quadrature(config.method, config.steps)?;
        Ok(Self {
            config,
            alphas,
            weights,
        })
    }
}

impl Attribution for IntegratedGradients {
    fn name(&self) -> String {
        "integrated-gradients".into()
    }

    fn attribute<M: Classifier + Module>(
        &self,
        model: &M,
        x: &[f32],
        targets: &[usize],
        device: &Device,
    ) -> Result<Attributions> {
        let (n, f) = check_batch(model, x, targets)?;
        let baseline = self.config.baseline.build(x, n, model.input_shape())?;
        let model = model.valid();
        let steps = self.alphas.len();
        // Accumulated Σ_k w_k ∇(x′ + α_k (x − x′)) per row.
        let mut acc = vec![0f64; n * f];
        let total = n * steps;
        let chunk = self.config.internal_batch_size;
        let mut start = 0;
        while start < total {
            let end = (start + chunk).min(total);
            let mut batch = Vec::with_capacity((end - start) * f);
            let mut tgt = Vec::with_capacity(end - start);
            for r in start..end {
                let (i, k) = (r / steps, r % steps);
                let a = self.alphas[k] as f32;
                let xi = &x[i * f..(i + 1) * f];
                let bi = &baseline[i * f..(i + 1) * f];
                batch.extend(xi.iter().zip(bi).map(|(x, b)| b + a * (x - b)));
                tgt.push(targets[i]);
            }
            let (g, _) = target_gradient(&model, &batch, &tgt, device);
            for (j, r) in (start..end).enumerate() {
                let (i, k) = (r / steps, r % steps);
                let w = self.weights[k];
                for (a, gv) in acc[i * f..(i + 1) * f]
                    .iter_mut()
                    .zip(&g[j * f..(j + 1) * f])
                {
                    *a += w * *gv as f64;
                }
            }
            start = end;
        }
        let values: Vec<f32> = acc
            .iter()
            .zip(x.iter().zip(&baseline))
            .map(|(a, (x, b))| (a * (x - b) as f64) as f32)
            .collect();
        let fx = target_outputs(&model, x, targets, ModelOutput::Logit, chunk, device);
        let fb = target_outputs(
            &model,
            &baseline,
            targets,
            ModelOutput::Logit,
            chunk,
            device,
        );
        let diff: Vec<f32> = fx.iter().zip(&fb).map(|(a, b)| a - b).collect();
        let delta = (0..n)
            .map(|i| {
                let s: f64 = values[i * f..(i + 1) * f].iter().map(|&v| v as f64).sum();
                (s - diff[i] as f64) as f32
            })
            .collect();
        Ok(Attributions {
            values,
            rows: n,
            features: f,
            convergence_delta: Some(delta),
            output_difference: Some(diff),
        })
    }
}

/// Convergence summary of IG attributions: the fraction of rows whose
/// `|convergence delta| < tolerance · |f(x) − f(x′)|` (the bar uses `tolerance = 0.01`).
/// Returns `None` when the attributions carry no IG diagnostics.
pub fn convergence_fraction(attr: &Attributions, tolerance: f64) -> Option<f64> {
    let delta = attr.convergence_delta.as_ref()?;
    let diff = attr.output_difference.as_ref()?;
    if delta.is_empty() {
        return Some(0.0);
    }
    let ok = delta
        .iter()
        .zip(diff)
        .filter(|(d, o)| (d.abs() as f64) < tolerance * o.abs() as f64)
        .count();
    Some(ok as f64 / delta.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::tests::{linear_model, trained_cnn};

    #[test]
    fn gauss_legendre_matches_tabulated_values() {
        // Abramowitz & Stegun, Table 25.4 (n = 2, 3, 5).
        let (x, w) = gauss_legendre(2);
        assert!((x[1] - 1.0 / 3f64.sqrt()).abs() < 1e-14 && (w[0] - 1.0).abs() < 1e-14);
        let (x, w) = gauss_legendre(3);
        assert!(x[1].abs() < 1e-14 && (x[2] - 0.6f64.sqrt()).abs() < 1e-14);
        assert!((w[1] - 8.0 / 9.0).abs() < 1e-14 && (w[0] - 5.0 / 9.0).abs() < 1e-14);
        let (x, w) = gauss_legendre(5);
        let xs = [0.906_179_845_938_664, 0.538_469_310_105_683_1, 0.0];
        let ws = [0.2369268850561891, 0.4786286704993665, 0.5688888888888889];
        for k in 0..3 {
            assert!((x[4 - k] - xs[k]).abs() < 1e-14 && (x[k] + xs[k]).abs() < 1e-14);
            assert!((w[k] - ws[k]).abs() < 1e-14 && (w[4 - k] - ws[k]).abs() < 1e-14);
        }
        // n = 50: weights sum to 2 and ∫₋₁¹ x^98 = 2/99 exactly (degree 2n − 2).
        let (x, w) = gauss_legendre(50);
        assert!((w.iter().sum::<f64>() - 2.0).abs() < 1e-13);
        let int: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(98)).sum();
        assert!((int - 2.0 / 99.0).abs() < 1e-13, "{int}");
        assert!(x.windows(2).all(|p| p[0] < p[1]));
    }

    #[test]
    fn riemann_rules_place_nodes_like_captum() {
        let (a, w) = quadrature(IgMethod::RiemannLeft, 4).unwrap();
        assert_eq!(a, vec![0.0, 0.25, 0.5, 0.75]);
        assert_eq!(w, vec![0.25; 4]);
        let (a, _) = quadrature(IgMethod::RiemannRight, 4).unwrap();
        assert_eq!(a, vec![0.25, 0.5, 0.75, 1.0]);
        let (a, _) = quadrature(IgMethod::RiemannMiddle, 4).unwrap();
        assert_eq!(a, vec![0.125, 0.375, 0.625, 0.875]);
        let (a, w) = quadrature(IgMethod::RiemannTrapezoid, 3).unwrap();
        assert_eq!(a, vec![0.0, 0.5, 1.0]);
        assert_eq!(w, vec![0.25, 0.5, 0.25]);
        assert!(quadrature(IgMethod::RiemannTrapezoid, 1).is_err());
        assert!(quadrature(IgMethod::GaussLegendre, 0).is_err());
    }

    #[test]
    fn linear_model_ig_is_exact_for_every_rule_and_baseline() {
        let dev = Device::flex();
        let m = linear_model(5, 3, 3);
        let x = [1.0, -0.5, 2.0, 0.3, 0.0, 0.2, 0.2, 0.2, 0.2, 0.2];
        for method in [
            IgMethod::GaussLegendre,
            IgMethod::RiemannLeft,
            IgMethod::RiemannRight,
            IgMethod::RiemannMiddle,
            IgMethod::RiemannTrapezoid,
        ] {
            for baseline in [
                Baseline::Zero,
                Baseline::Custom {
                    values: vec![0.1; 5],
                },
                Baseline::Blurred { sigma: 1.0 },
            ] {
                let ig = IntegratedGradients::new(
                    IgConfig::new()
                        .with_steps(7)
                        .with_method(method)
                        .with_baseline(baseline.clone())
                        .with_internal_batch_size(3),
                )
                .unwrap();
                let a = ig.attribute(&m, &x, &[1, 2], &dev).unwrap();
                for d in a.convergence_delta.unwrap() {
                    assert!(d.abs() < 1e-5, "{method:?} {baseline:?}: delta {d}");
                }
            }
        }
    }

    #[test]
    fn chunking_the_steps_does_not_change_the_result() {
        // A nonlinear MLP: 3 rows × 50 steps evaluated in chunks of 7 or all at once.
        let dev = Device::flex();
        let m = aegis_model::ModelConfig::new(aegis_model::Architecture::Mlp, vec![6], 3)
            .with_hidden(vec![16, 8])
            .init(&dev, 3)
            .unwrap();
        let x: Vec<f32> = (0..18).map(|i| (i as f32 * 0.71).cos()).collect();
        let run = |chunk| {
            IntegratedGradients::new(IgConfig::new().with_internal_batch_size(chunk))
                .unwrap()
                .attribute(&m, &x, &[0, 1, 2], &dev)
                .unwrap()
        };
        let (a, b) = (run(7), run(1000));
        for (u, v) in a.values.iter().zip(&b.values) {
            assert!((u - v).abs() < 1e-5, "{u} vs {v}");
        }
        assert!(convergence_fraction(&a, 0.01).unwrap() > 0.6);
    }

    #[test]
    fn blurred_baseline_smooths_and_keeps_mass_inside() {
        let mut img = vec![0f32; 9 * 9];
        img[4 * 9 + 4] = 1.0;
        let b = Baseline::Blurred { sigma: 1.0 }
            .build(&img, 1, &[1, 9, 9])
            .unwrap();
        let s: f32 = b.iter().sum();
        assert!((s - 1.0).abs() < 1e-4, "{s}");
        assert!(b[4 * 9 + 4] < 0.2 && b[4 * 9 + 5] > 0.05);
        assert!(
            Baseline::Custom {
                values: vec![0.0; 2]
            }
            .build(&img, 1, &[1, 9, 9])
            .is_err()
        );
    }

    #[test]
    fn gauss_legendre_50_converges_on_a_trained_cnn() {
        // The bar on a smaller scale: a SmallCnn trained briefly on 2,000 MNIST images,
        // 20 test images; |delta| < 1% of |f(x) − f(0)| on at least 90% of them (95–100% measured).
        let dev = Device::flex();
        let (m, test) = trained_cnn();
        let n = 20;
        let x = &test.features[..n * 784];
        let targets = &test.labels[..n];
        let ig = IntegratedGradients::new(IgConfig::new()).unwrap();
        let a = ig.attribute(m, x, targets, &dev).unwrap();
        let frac = convergence_fraction(&a, 0.01).unwrap();
        println!("convergence deltas: {:?}", a.convergence_delta);
        // Spread: 0.95 to 1 in 13 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
        crate::figures::at_least("interpretability/ig_gl50_converged_fraction", frac, 0.9);
        // A 5-step left Riemann sum is visibly worse than Gauss–Legendre 50.
        let coarse = IntegratedGradients::new(
            IgConfig::new()
                .with_steps(5)
                .with_method(IgMethod::RiemannLeft),
        )
        .unwrap()
        .attribute(m, x, targets, &dev)
        .unwrap();
        let total = |a: &Attributions| {
            a.convergence_delta
                .as_ref()
                .unwrap()
                .iter()
                .map(|d| d.abs())
                .sum::<f32>()
        };
        // Spread: 13.1003 to 19.8995 in 13 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
        crate::figures::at_least(
            "interpretability/ig_riemann5_delta_minus_3x_gl50",
            f64::from(total(&coarse)) - 3.0 * f64::from(total(&a)),
            0.0,
        );
    }
}
