//! Partial dependence (Friedman 2001) and individual conditional expectation curves
//! (Goldstein et al. 2015), as scikit-learn's `sklearn.inspection.partial_dependence` with
//! `kind="both"` and `method="brute"`.
//!
//! Grid (scikit-learn's `_grid_from_X`): the sorted unique values of the feature when there are
//! fewer than `grid_resolution` of them, otherwise `grid_resolution` equally spaced points
//! between the empirical 5th and 95th percentiles, computed as `scipy.stats.mstats.mquantiles`
//! does (plotting positions `alphap = betap = 0.4`, scikit-learn's choice). For each grid value
//! `v`, every row gets the feature set to `v`; the ICE curve of a row is its predicted
//! probability of the target class along the grid, the partial dependence is their average.
//! All `grid × rows` copies are evaluated as stacked batches.

use aegis_model::Classifier;
use aegis_model::burn::config::Config;
use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::attribution::{ModelOutput, check_positive, model_outputs};
use crate::error::{InterpretError, Result};

/// Partial-dependence hyper-parameters.
#[derive(Config, Debug)]
pub struct PdpConfig {
    /// Grid points when the feature has at least this many unique values.
    #[config(default = 100)]
    pub grid_resolution: usize,
    /// Lower percentile of the grid (fraction).
    #[config(default = 0.05)]
    pub lower_percentile: f64,
    /// Upper percentile of the grid (fraction).
    #[config(default = 0.95)]
    pub upper_percentile: f64,
    /// Class whose output is averaged (scikit-learn uses the positive class 1 for binary tasks).
    #[config(default = 1)]
    pub target: usize,
    /// Averaged output.
    #[config(default = "ModelOutput::Probability")]
    pub output: ModelOutput,
    /// Rows per forward pass.
    #[config(default = 65536)]
    pub batch_size: usize,
}

/// Partial dependence of one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartialDependence {
    /// Feature index.
    pub feature: usize,
    /// Grid values.
    pub grid: Vec<f32>,
    /// Average output per grid value.
    pub average: Vec<f32>,
    /// ICE curves `[rows][grid]`.
    pub individual: Vec<Vec<f32>>,
}

/// `scipy.stats.mstats.mquantiles(values, prob, alphap=0.4, betap=0.4)` of `values`.
pub fn mquantile(values: &[f32], prob: f64) -> f32 {
    let mut v: Vec<f64> = values.iter().map(|&x| x as f64).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f32::NAN;
    }
    if n == 1 {
        return v[0] as f32;
    }
    let (alphap, betap) = (0.4, 0.4);
    let m = alphap + prob * (1.0 - alphap - betap);
    let aleph = n as f64 * prob + m;
    let k = aleph.clamp(1.0, (n - 1) as f64).floor();
    let gamma = (aleph - k).clamp(0.0, 1.0);
    let k = k as usize;
    ((1.0 - gamma) * v[k - 1] + gamma * v[k]) as f32
}

/// scikit-learn's grid for one column (see the module doc).
pub fn grid_for(column: &[f32], config: &PdpConfig) -> Vec<f32> {
    let mut uniq: Vec<f32> = column.to_vec();
    uniq.sort_by(f32::total_cmp);
    uniq.dedup();
    if uniq.len() < config.grid_resolution {
        return uniq;
    }
    let lo = mquantile(column, config.lower_percentile) as f64;
    let hi = mquantile(column, config.upper_percentile) as f64;
    let g = config.grid_resolution;
    (0..g)
        .map(|k| {
            if g == 1 {
                lo as f32
            } else {
                (lo + (hi - lo) * k as f64 / (g - 1) as f64) as f32
            }
        })
        .collect()
}

/// Partial dependence and ICE curves of `feature` over the rows of `x` (`[N, F]`).
pub fn partial_dependence<M: Classifier + Module>(
    model: &M,
    x: &[f32],
    feature: usize,
    config: &PdpConfig,
    device: &Device,
) -> Result<PartialDependence> {
    check_positive("grid_resolution", config.grid_resolution)?;
    check_positive("batch_size", config.batch_size)?;
    let ok = |p: f64| (0.0..=1.0).contains(&p);
    if !(ok(config.lower_percentile)
        && ok(config.upper_percentile)
        && config.lower_percentile < config.upper_percentile)
    {
        return Err(InterpretError::invalid(
            "percentiles",
            format!(
                "need 0 ≤ {} < {} ≤ 1",
                config.lower_percentile, config.upper_percentile
            ),
        ));
    }
    let f = model.input_dim();
    let c = model.num_classes();
    if feature >= f {
        return Err(InterpretError::invalid(
            "feature",
            format!("{feature} out of range ({f} features)"),
        ));
    }
    if config.target >= c {
        return Err(InterpretError::invalid(
            "target",
            format!("class {} out of range ({c} classes)", config.target),
        ));
    }
    if x.is_empty() || !x.len().is_multiple_of(f) {
        return Err(InterpretError::Shape(format!(
            "{} values are not rows of {f} features",
            x.len()
        )));
    }
    let n = x.len() / f;
    let column: Vec<f32> = (0..n).map(|i| x[i * f + feature]).collect();
    let grid = grid_for(&column, config);
    let model = model.valid();
    let mut individual = vec![Vec::with_capacity(grid.len()); n];
    let per_chunk = (config.batch_size / n).max(1);
    for values in grid.chunks(per_chunk) {
        let mut rows = Vec::with_capacity(values.len() * n * f);
        for &v in values {
            let start = rows.len();
            rows.extend_from_slice(x);
            for i in 0..n {
                rows[start + i * f + feature] = v;
            }
        }
        let y = model_outputs(&model, &rows, config.output, config.batch_size, device);
        for block in y.chunks(n * c) {
            for (i, row) in block.chunks(c).enumerate() {
                individual[i].push(row[config.target]);
            }
        }
    }
    let average = (0..grid.len())
        .map(|k| (individual.iter().map(|r| r[k] as f64).sum::<f64>() / n as f64) as f32)
        .collect();
    Ok(PartialDependence {
        feature,
        grid,
        average,
        individual,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::target_outputs;
    use crate::attribution::tests::linear_model;

    #[test]
    fn mquantiles_match_scipy() {
        // scipy.stats.mstats.mquantiles(np.arange(1, 11), [0.05, 0.5, 0.95]) = [1.0, 5.5, 10.0]
        // by hand: p = 0.05: m = 0.41, aleph = 0.91 → k = 1, γ = 0 → x[0] = 1;
        // p = 0.5: aleph = 5.5, k = 5, γ = 0.5 → (5 + 6)/2; p = 0.95: aleph = 10.09 → k = 9, γ = 1 → 10.
        let v: Vec<f32> = (1..=10).map(|i| i as f32).collect();
        assert_eq!(mquantile(&v, 0.05), 1.0);
        assert_eq!(mquantile(&v, 0.5), 5.5);
        assert_eq!(mquantile(&v, 0.95), 10.0);
        // n = 100 values 0..99, p = 0.05: aleph = 5 + 0.41 = 5.41, k = 5, γ = 0.41 → 4.41.
        let v: Vec<f32> = (0..100).map(|i| i as f32).collect();
        assert!((mquantile(&v, 0.05) - 4.41).abs() < 1e-5);
    }

    #[test]
    fn grid_uses_uniques_or_percentile_range() {
        let cfg = PdpConfig::new().with_grid_resolution(5);
        assert_eq!(grid_for(&[3.0, 1.0, 3.0, 2.0], &cfg), vec![1.0, 2.0, 3.0]);
        let v: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let g = grid_for(&v, &cfg);
        assert_eq!(g.len(), 5);
        assert!(
            (g[0] - 4.41).abs() < 1e-4 && (g[4] - 94.59).abs() < 1e-3,
            "{g:?}"
        );
    }

    #[test]
    fn pdp_is_the_mean_of_ice_and_ice_follows_the_model() {
        let dev = Device::flex();
        let m = linear_model(3, 2, 4);
        let x: Vec<f32> = (0..30).map(|i| ((i * 7) % 11) as f32 / 5.0).collect();
        let cfg = PdpConfig::new().with_grid_resolution(4).with_batch_size(7);
        let pd = partial_dependence(&m, &x, 1, &cfg, &dev).unwrap();
        assert_eq!(pd.grid.len(), 4);
        for k in 0..4 {
            let mean: f32 = pd.individual.iter().map(|r| r[k]).sum::<f32>() / 10.0;
            assert!((mean - pd.average[k]).abs() < 1e-6);
        }
        let mut row = x[6..9].to_vec();
        row[1] = pd.grid[2];
        let p = target_outputs(&m, &row, &[1], ModelOutput::Probability, 4, &dev)[0];
        assert!((pd.individual[2][2] - p).abs() < 1e-6);
        // A linear logit gives monotone probability curves.
        let inc = pd.average.windows(2).all(|w| w[1] >= w[0]);
        let dec = pd.average.windows(2).all(|w| w[1] <= w[0]);
        assert!(inc || dec);
        assert!(partial_dependence(&m, &x, 3, &cfg, &dev).is_err());
        assert!(partial_dependence(&m, &x, 0, &cfg.clone().with_target(2), &dev).is_err());
    }
}
