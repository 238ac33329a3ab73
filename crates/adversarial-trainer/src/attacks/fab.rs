//! FAB-T, the targeted fast adaptive boundary attack in L∞ (Croce & Hein 2020, "Minimally
//! distorted adversarial examples with a fast adaptive boundary attack"), as AutoAttack's
//! standard version runs it (`fab_base.py`, `fab_projections.py`: 100 iterations, α_max = 0.1,
//! η = 1.05, β = 0.9, no random start, targets the 2nd to 10th most likely classes in turn).
//!
//! Per iteration and row: linearise `z_t − z_y` at the iterate, project both the iterate and
//! the clean point onto that hyperplane within the box (the exact L∞ projection,
//! [`project_linf_hyperplane`]), step to a convex combination of the two projections
//! (overshoot η, weight of the clean side `min(‖d₁‖/(‖d₁‖+‖d₂‖), α_max)`), and, where the
//! iterate is misclassified, keep it when it is the closest so far and step back towards the
//! clean point by β. A row counts as broken when the closest misclassified point found is
//! within ε; then that point is returned, else the clean row.

use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::{Device, Tensor};
use aegis_model::{Classifier, batch_tensor, label_tensor, to_host};

use super::base::{Attack, Goal, check_eps, check_goal, over_target_ranks, predictions};
use super::bounds::Bounds;
use crate::error::{AdversarialError, MAX_RESTARTS, MAX_STEPS, Result, check_count};

/// FAB-T hyper-parameters (AutoAttack's standard settings).
#[derive(Config, Debug)]
pub struct FabConfig {
    /// L∞ radius within which a found point counts.
    pub eps: f64,
    /// Iterations per target class.
    #[config(default = 100)]
    pub steps: usize,
    /// Target classes (the 2nd, 3rd, … most likely).
    #[config(default = 9)]
    pub targets: usize,
    /// Largest weight of the clean point's projection.
    #[config(default = 0.1)]
    pub alpha_max: f64,
    /// Overshoot of the projection step.
    #[config(default = 1.05)]
    pub eta: f64,
    /// Step back towards the clean point after a success.
    #[config(default = 0.9)]
    pub beta: f64,
    /// Lower input bound.
    #[config(default = 0.0)]
    pub lower: f64,
    /// Upper input bound.
    #[config(default = 1.0)]
    pub upper: f64,
}

/// FAB-T (see the module docs).
#[derive(Debug, Clone)]
pub struct Fab {
    config: FabConfig,
    bounds: Bounds,
}

/// The displacement `d` that moves `t` onto the hyperplane `w·z = b` with the smallest L∞
/// norm while keeping `t + d` in the box `bounds` (finite; the reference's `projection_linf`
/// for one row, literally, with its unit box generalised to per-feature faces: sort by the
/// distance to the box face each coordinate moves towards, then a binary search for how many
/// coordinates saturate).
pub fn project_linf_hyperplane(t: &[f32], w: &[f32], b: f32, bounds: &Bounds) -> Vec<f32> {
    let f = t.len();
    let dot = |u: &[f32], v: &[f32]| u.iter().zip(v).map(|(a, b)| a * b).sum::<f32>();
    let sign = if dot(w, t) - b >= 0.0 { 1.0 } else { -1.0 };
    let w: Vec<f32> = w.iter().map(|v| v * sign).collect();
    let b = b * sign;
    // Coordinate i moves up (towards its upper face) where w_i < 0, else down.
    let up: Vec<bool> = w.iter().map(|&v| v < 0.0).collect();
    let face = |i: usize| {
        if up[i] {
            bounds.upper_of(i)
        } else {
            bounds.lower_of(i)
        }
    };
    let nz = |i: usize| if w[i] != 0.0 { 1.0 } else { 0.0 };
    let mut d: Vec<f32> = (0..f).map(|i| (face(i) - t[i]) * nz(i)).collect();
    // Distance to the face it moves towards (signed, as the reference's `a − t(2a − 1)`).
    let p: Vec<f32> = (0..f)
        .map(|i| {
            if up[i] {
                face(i) - t[i]
            } else {
                t[i] - face(i)
            }
        })
        .collect();
    let mut indp: Vec<usize> = (0..f).collect();
    indp.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let b = b - dot(&w, t);
    let b0 = dot(&w, &d);
    let (mut s, mut sb) = (Vec::with_capacity(f), Vec::with_capacity(f));
    let (mut acc_s, mut acc_sb) = (0.0f32, b0);
    for &i in indp.iter().rev() {
        acc_s += w[i].abs();
        acc_sb += -w[i] * d[i];
        s.push(acc_s);
        sb.push(acc_sb);
    }
    let b2 = sb[f - 1] - s[f - 1] * p[indp[0]];
    let corner = b - b2 > 0.0;
    let search = b - b0 > 0.0 && b - b2 <= 0.0;
    if corner {
        let lmbd = ((b - sb[f - 1]) / -s[f - 1]).max(0.0);
        for i in 0..f {
            d[i] = if up[i] { lmbd } else { -lmbd };
        }
    } else if search {
        let (mut lb, mut ub) = (0.0f32, (f - 1) as f32);
        for _ in 0..(f as f64).log2().ceil() as usize {
            let mid = ((lb + ub) / 2.0).floor();
            let k = mid as usize;
            let cur = indp[f - 1 - k];
            if b - (sb[k] - s[k] * p[cur]) > 0.0 {
                lb = mid;
            } else {
                ub = mid;
            }
        }
        let k = lb as usize;
        let lmbd = ((b - sb[k]) / -s[k]).max(0.0);
        for i in 0..f {
            d[i] = if up[i] {
                d[i].min(lmbd)
            } else {
                d[i].max(-lmbd)
            };
        }
    }
    (0..f).map(|i| d[i] * nz(i)).collect()
}

fn linf(v: &[f32]) -> f32 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

impl Fab {
    /// Validates the configuration.
    pub fn new(config: FabConfig) -> Result<Self> {
        check_eps(config.eps)?;
        check_count("steps", config.steps, 0, MAX_STEPS)?;
        check_count("targets", config.targets, 0, MAX_RESTARTS)?;
        let bounds = Bounds::from_config(config.lower, config.upper)?;
        Ok(Self { config, bounds })
    }

    /// The input box it clips to.
    pub fn bounds(&self) -> &Bounds {
        &self.bounds
    }

    /// `z_t − z_y` per row and its input gradient, at `x` `[n, f]` (host).
    fn diff_and_grad<M: Classifier>(
        &self,
        model: &M,
        x: &[f32],
        f: usize,
        y: &[usize],
        t: &[usize],
        device: &Device,
    ) -> (Vec<f32>, Vec<f32>) {
        let xa = batch_tensor(x.to_vec(), y.len(), f, device)
            .autodiff()
            .require_grad();
        let z = model.logits(xa.clone());
        let pick = |c: &[usize]| label_tensor(c, device).autodiff().unsqueeze_dim::<2>(1);
        let diff = (z.clone().gather(1, pick(t)) - z.gather(1, pick(y))).squeeze_dim::<1>(1);
        let values = to_host(diff.clone().inner());
        let g = xa
            .grad(&diff.sum().backward())
            .expect("input takes part in the logits");
        (values, to_host(g))
    }

    /// One target class: the closest misclassified point found per row (`None`: none).
    fn attack_target<M: Classifier>(
        &self,
        model: &M,
        x0: &[f32],
        f: usize,
        y: &[usize],
        t: &[usize],
        device: &Device,
    ) -> Vec<Option<(f32, Vec<f32>)>> {
        let c = &self.config;
        let n = y.len();
        let mut x1 = x0.to_vec();
        let mut best: Vec<Option<(f32, Vec<f32>)>> = vec![None; n];
        for _ in 0..c.steps {
            let (df, dg) = self.diff_and_grad(model, &x1, f, y, t, device);
            for i in 0..n {
                let (xi, ci, gi) = (
                    &x1[i * f..(i + 1) * f],
                    &x0[i * f..(i + 1) * f],
                    &dg[i * f..(i + 1) * f],
                );
                let b = -df[i] + gi.iter().zip(xi).map(|(g, x)| g * x).sum::<f32>();
                let d1 = project_linf_hyperplane(xi, gi, b, &self.bounds);
                let d2 = project_linf_hyperplane(ci, gi, b, &self.bounds);
                let (a1, a2) = (linf(&d1).max(1e-8), linf(&d2).max(1e-8));
                let alpha = (a1 / (a1 + a2)).clamp(0.0, c.alpha_max as f32);
                let eta = c.eta as f32;
                let next: Vec<f32> = (0..f)
                    .map(|j| {
                        self.bounds.clip_value(
                            j,
                            (xi[j] + eta * d1[j]) * (1.0 - alpha) + (ci[j] + d2[j] * eta) * alpha,
                        )
                    })
                    .collect();
                x1[i * f..(i + 1) * f].copy_from_slice(&next);
            }
            let pred = predictions(model, batch_tensor(x1.clone(), n, f, device));
            for i in (0..n).filter(|&i| pred[i] != y[i]) {
                let row = &mut x1[i * f..(i + 1) * f];
                let ci = &x0[i * f..(i + 1) * f];
                let dist = row
                    .iter()
                    .zip(ci)
                    .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
                if best[i].as_ref().is_none_or(|(r, _)| dist < *r) {
                    best[i] = Some((dist, row.to_vec()));
                }
                for (v, c0) in row.iter_mut().zip(ci) {
                    *v = c0 + (*v - c0) * c.beta as f32;
                }
            }
        }
        best
    }

    /// FAB-T on `x` with true labels `labels` (model in inference mode): each target rank on
    /// the rows still robust; a row broken within ε gets its closest adversarial point.
    pub fn run<M: Classifier>(
        &self,
        model: &M,
        x: &Tensor<2>,
        labels: &[usize],
    ) -> Result<Tensor<2>> {
        let [_, f] = x.dims();
        let device = x.device();
        self.bounds.check_width(f)?;
        if !self.bounds.is_finite() {
            return Err(AdversarialError::invalid(
                "bounds",
                "fab-t projects onto the faces of the input box, which must be finite",
            ));
        }
        if self.config.eps == 0.0 || self.config.steps == 0 {
            return Ok(x.clone()); // no point within ε = 0 differs from the clean one
        }
        let eps = self.config.eps as f32 + 1e-6;
        over_target_ranks(
            model,
            x,
            labels,
            self.config.targets,
            |xs, rows, targets| {
                let x0 = to_host(xs);
                let y: Vec<usize> = rows.iter().map(|&i| labels[i]).collect();
                Ok(self
                    .attack_target(model, &x0, f, &y, targets, &device)
                    .into_iter()
                    .map(|found| found.filter(|(d, _)| *d <= eps).map(|(_, point)| point))
                    .collect())
            },
        )
    }
}

impl Attack for Fab {
    fn with_bounds(mut self, bounds: Bounds) -> Self {
        self.bounds = bounds;
        self
    }

    fn name(&self) -> String {
        "fab-t".into()
    }

    /// FAB-T is untargeted (it uses targeted steps towards each likely class); a targeted
    /// goal is an error.
    fn perturb<M: Classifier + Module>(
        &self,
        model: &M,
        x: Tensor<2>,
        goal: &Goal,
    ) -> Result<Tensor<2>> {
        check_goal(model, &x, goal)?;
        let Goal::Untargeted(labels) = goal else {
            return Err(AdversarialError::invalid(
                "attack",
                "fab-t takes an untargeted goal (true labels)",
            ));
        };
        if model.num_classes() < 2 {
            return Err(AdversarialError::invalid(
                "attack",
                "fab-t needs at least 2 classes",
            ));
        }
        self.run(&model.valid(), &x, labels)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dot(u: &[f32], v: &[f32]) -> f32 {
        u.iter().zip(v).map(|(a, b)| a * b).sum()
    }

    #[test]
    fn the_projection_lands_on_the_hyperplane_inside_the_box() {
        // Inside the box the closest L∞ point moves every coordinate by the same amount:
        // d = −(w·t − b) sign(w) / ‖w‖₁.
        let t = [0.5f32, 0.4, 0.6];
        let w = [1.0f32, -2.0, 0.5];
        let b = 0.2f32;
        let d = project_linf_hyperplane(&t, &w, b, &Bounds::default());
        let p: Vec<f32> = t.iter().zip(&d).map(|(a, b)| a + b).collect();
        assert!((dot(&w, &p) - b).abs() < 1e-5, "on the plane: {p:?}");
        let r = (dot(&w, &t) - b) / 3.5;
        let expected: Vec<f32> = w.iter().map(|wi| -r * wi.signum()).collect();
        for (a, e) in d.iter().zip(&expected) {
            assert!((a - e).abs() < 1e-5, "{d:?} vs {expected:?}");
        }
        // Near a face the box binds: the point stays in [0, 1] and still reaches the plane.
        let t = [0.95f32, 0.5];
        let w = [1.0f32, 1.0];
        let d = project_linf_hyperplane(&t, &w, 1.8, &Bounds::default());
        let p: Vec<f32> = t.iter().zip(&d).map(|(a, b)| a + b).collect();
        assert!(p.iter().all(|v| (0.0..=1.0 + 1e-6).contains(v)), "{p:?}");
        assert!((dot(&w, &p) - 1.8).abs() < 1e-5, "{p:?}");
        // Unconstrained: both +0.175 (x₀ = 1.125); the box caps x₀ at 1, so x₁ moves 0.3.
        assert!(
            (p[0] - 1.0).abs() < 1e-6 && (p[1] - 0.8).abs() < 1e-5,
            "{p:?}"
        );
    }
}
