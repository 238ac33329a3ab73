//! Vector scaling (Guo et al. 2017, §4.2): per-class affine recalibration of the logits,
//! `z′_c = w_c·z_c + b_c`, fitted by minimising the validation NLL.
//!
//! The NLL is convex in `(w, b)` (the logits are linear in them), so a damped Newton method
//! with backtracking reaches the optimum; a ridge term `λ/2 (‖w − 1‖² + ‖b‖²)` with
//! `λ = 1e-4` keeps the problem strictly convex on separable data. The Hessian is `2C × 2C`,
//! solved by Gaussian elimination with partial pivoting.

use serde::{Deserialize, Serialize};

use crate::error::{Result, UncertaintyError};
use crate::estimators::{logsumexp, softmax};

const RIDGE: f64 = 1e-4;

/// The result of [`fit_vector_scaling`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorScaling {
    /// Per-class scale `w` (length C).
    pub weights: Vec<f64>,
    /// Per-class bias `b` (length C).
    pub biases: Vec<f64>,
    /// NLL of the fitting data before (identity map).
    pub nll_before: f64,
    /// NLL of the fitting data after.
    pub nll_after: f64,
}

impl VectorScaling {
    /// Applies the map to logits `[N, C]`.
    pub fn apply(&self, logits: &[f32]) -> Vec<f32> {
        let c = self.weights.len();
        logits
            .iter()
            .enumerate()
            .map(|(i, &z)| (self.weights[i % c] * z as f64 + self.biases[i % c]) as f32)
            .collect()
    }
}

/// Fits vector scaling on logits `[N, C]` and labels.
pub fn fit_vector_scaling(
    logits: &[f32],
    labels: &[usize],
    classes: usize,
) -> Result<VectorScaling> {
    super::temperature::check(logits, labels, classes)?;
    if labels.is_empty() {
        return Err(UncertaintyError::invalid(
            "labels",
            "need at least one row to fit on",
        ));
    }
    let c = classes;
    let mut theta = vec![1.0; c];
    theta.extend(vec![0.0; c]);
    let objective = |th: &[f64]| -> f64 {
        let mut f = 0.0;
        for (row, &y) in logits.chunks(c).zip(labels) {
            let z: Vec<f64> = (0..c).map(|k| th[k] * row[k] as f64 + th[c + k]).collect();
            f += logsumexp(&z) - z[y];
        }
        f / labels.len() as f64 + ridge(th, c)
    };
    let nll_before = objective(&theta) - ridge(&theta, c);
    let mut f = objective(&theta);
    for _ in 0..50 {
        let (g, h) = grad_hess(logits, labels, c, &theta);
        if g.iter().map(|v| v * v).sum::<f64>().sqrt() < 1e-9 {
            break;
        }
        let Some(dir) = solve(h, g.iter().map(|v| -v).collect()) else {
            break;
        };
        let mut t = 1.0;
        let mut improved = false;
        for _ in 0..40 {
            let cand: Vec<f64> = theta.iter().zip(&dir).map(|(a, d)| a + t * d).collect();
            let fc = objective(&cand);
            if fc <= f {
                improved = fc < f;
                theta = cand;
                f = fc;
                break;
            }
            t *= 0.5;
        }
        if !improved {
            break;
        }
    }
    Ok(VectorScaling {
        nll_after: f - ridge(&theta, c),
        weights: theta[..c].to_vec(),
        biases: theta[c..].to_vec(),
        nll_before,
    })
}

fn ridge(th: &[f64], c: usize) -> f64 {
    RIDGE / 2.0
        * (th[..c].iter().map(|w| (w - 1.0).powi(2)).sum::<f64>()
            + th[c..].iter().map(|b| b * b).sum::<f64>())
}

/// Gradient and Hessian of the mean NLL plus ridge in `θ = (w, b)`.
fn grad_hess(logits: &[f32], labels: &[usize], c: usize, th: &[f64]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let m = 2 * c;
    let mut g = vec![0.0; m];
    let mut h = vec![vec![0.0; m]; m];
    let n = labels.len() as f64;
    for (row, &y) in logits.chunks(c).zip(labels) {
        let x: Vec<f64> = row.iter().map(|&v| v as f64).collect();
        let z: Vec<f64> = (0..c).map(|k| th[k] * x[k] + th[c + k]).collect();
        let p = softmax(&z);
        // dz_k/dw_k = x_k, dz_k/db_k = 1; dNLL/dz = p − e_y; d²NLL/dz² = diag(p) − p pᵀ.
        for k in 0..c {
            let r = p[k] - if k == y { 1.0 } else { 0.0 };
            g[k] += r * x[k] / n;
            g[c + k] += r / n;
            for l in 0..c {
                let s = (if k == l { p[k] } else { 0.0 }) - p[k] * p[l];
                h[k][l] += s * x[k] * x[l] / n;
                h[k][c + l] += s * x[k] / n;
                h[c + k][l] += s * x[l] / n;
                h[c + k][c + l] += s / n;
            }
        }
    }
    for k in 0..c {
        g[k] += RIDGE * (th[k] - 1.0);
        g[c + k] += RIDGE * th[c + k];
    }
    for (i, row) in h.iter_mut().enumerate() {
        row[i] += RIDGE;
    }
    (g, h)
}

/// Solves `A x = b` by Gaussian elimination with partial pivoting (`None` when singular).
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let piv = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() < 1e-14 {
            return None;
        }
        a.swap(col, piv);
        b.swap(col, piv);
        let (top, rest) = a.split_at_mut(col + 1);
        let pivot_row = &top[col];
        for (r, row) in rest.iter_mut().enumerate() {
            let factor = row[col] / pivot_row[col];
            for (v, p) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *v -= factor * p;
            }
            b[col + 1 + r] -= factor * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|k| a[r][k] * x[k]).sum();
        x[r] = (b[r] - s) / a[r][r];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn solve_matches_a_hand_solved_system() {
        // 2x + y = 5, x + 3y = 10 → x = 1, y = 3.
        let x = solve(vec![vec![2.0, 1.0], vec![1.0, 3.0]], vec![5.0, 10.0]).unwrap();
        assert!((x[0] - 1.0).abs() < 1e-12 && (x[1] - 3.0).abs() < 1e-12);
        assert!(solve(vec![vec![1.0, 2.0], vec![2.0, 4.0]], vec![1.0, 2.0]).is_none());
    }

    #[test]
    fn undoes_a_per_class_distortion() {
        // True logits z, labels drawn from softmax(z); observed logits distorted per class by
        // scales (2, 0.5, 1) and biases (1, 0, −1): the fit must beat the identity map and come
        // close to the inverse distortion's NLL.
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (scale, bias) = ([2.0, 0.5, 1.0], [1.0, 0.0, -1.0]);
        let (mut obs, mut truth, mut labels) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..5000 {
            let z: Vec<f64> = (0..3).map(|_| rng.random_range(-2.0..2.0)).collect();
            let p = softmax(&z);
            let u: f64 = rng.random();
            labels.push(if u < p[0] {
                0
            } else if u < p[0] + p[1] {
                1
            } else {
                2
            });
            truth.extend(z.iter().map(|&v| v as f32));
            obs.extend((0..3).map(|k| (z[k] * scale[k] + bias[k]) as f32));
        }
        let vs = fit_vector_scaling(&obs, &labels, 3).unwrap();
        let oracle = crate::recalibration::nll_at_temperature(&truth, &labels, 3, 1.0).unwrap();
        assert!(vs.nll_after < vs.nll_before - 0.05, "{vs:?}");
        assert!(
            vs.nll_after < oracle + 0.01,
            "{} vs oracle {oracle}",
            vs.nll_after
        );
        assert!((vs.weights[0] - 0.5).abs() < 0.1, "{vs:?}");
        let applied = vs.apply(&obs);
        let again = crate::recalibration::nll_at_temperature(&applied, &labels, 3, 1.0).unwrap();
        assert!((again - vs.nll_after).abs() < 1e-4);
    }
}
