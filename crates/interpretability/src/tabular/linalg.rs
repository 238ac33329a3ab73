//! Small dense linear algebra on the host (f64): what KernelSHAP and LIME need.

/// Solves `A x = b` for a square `n × n` row-major `A` by Gaussian elimination with partial
/// pivoting. A tiny ridge (`1e-12 · max |A_ii|`) is added to the diagonal so singular systems
/// (e.g. collinear coalitions) still give the minimum-change solution instead of NaN.
pub(crate) fn solve(mut a: Vec<f64>, mut b: Vec<f64>, n: usize) -> Vec<f64> {
    let scale = (0..n)
        .map(|i| a[i * n + i].abs())
        .fold(0.0, f64::max)
        .max(1e-300);
    for i in 0..n {
        a[i * n + i] += 1e-12 * scale;
    }
    for col in 0..n {
        let piv = (col..n)
            .max_by(|&r, &s| a[r * n + col].abs().total_cmp(&a[s * n + col].abs()))
            .unwrap_or(col);
        if piv != col {
            for k in 0..n {
                a.swap(col * n + k, piv * n + k);
            }
            b.swap(col, piv);
        }
        let p = a[col * n + col];
        if p.abs() < 1e-300 {
            continue;
        }
        for r in col + 1..n {
            let factor = a[r * n + col] / p;
            if factor != 0.0 {
                for k in col..n {
                    a[r * n + k] -= factor * a[col * n + k];
                }
                b[r] -= factor * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|k| a[r * n + k] * x[k]).sum();
        let p = a[r * n + r];
        x[r] = if p.abs() < 1e-300 {
            0.0
        } else {
            (b[r] - s) / p
        };
    }
    x
}

/// Weighted least squares `min_β Σ_i w_i (y_i − z_iᵀ β)²` for rows `z` (`[n, p]` row-major),
/// via the normal equations `(Zᵀ W Z + λ I) β = Zᵀ W y` with ridge `lambda` (0 for none).
pub(crate) fn weighted_least_squares(
    z: &[f64],
    y: &[f64],
    w: &[f64],
    p: usize,
    lambda: f64,
) -> Vec<f64> {
    let mut a = vec![0.0; p * p];
    let mut b = vec![0.0; p];
    for ((row, &yi), &wi) in z.chunks(p).zip(y).zip(w) {
        for r in 0..p {
            let wr = wi * row[r];
            if wr == 0.0 {
                continue;
            }
            b[r] += wr * yi;
            for c in 0..p {
                a[r * p + c] += wr * row[c];
            }
        }
    }
    for r in 0..p {
        a[r * p + r] += lambda;
    }
    solve(a, b, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_a_system_needing_a_pivot() {
        // [[0, 2], [1, 1]] x = [4, 3] → x = (1, 2).
        let x = solve(vec![0.0, 2.0, 1.0, 1.0], vec![4.0, 3.0], 2);
        assert!(
            (x[0] - 1.0).abs() < 1e-9 && (x[1] - 2.0).abs() < 1e-9,
            "{x:?}"
        );
    }

    #[test]
    fn weighted_least_squares_recovers_an_exact_line() {
        // y = 2 + 3t on t = 0..4 with any positive weights.
        let z: Vec<f64> = (0..5).flat_map(|t| [1.0, t as f64]).collect();
        let y: Vec<f64> = (0..5).map(|t| 2.0 + 3.0 * t as f64).collect();
        let b = weighted_least_squares(&z, &y, &[1.0, 2.0, 0.5, 1.0, 3.0], 2, 0.0);
        assert!(
            (b[0] - 2.0).abs() < 1e-9 && (b[1] - 3.0).abs() < 1e-9,
            "{b:?}"
        );
    }
}
