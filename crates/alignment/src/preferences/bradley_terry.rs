//! The Bradley–Terry model: a synthetic human who prefers segment `a` over `b` with
//! probability `σ((R(a) − R(b)) / T)`, and the logistic function every preference
//! probability goes through.

use rand::Rng;

use crate::error::{Result, check_range};
use crate::preferences::segments::Segment;

/// The synthetic Bradley–Terry labeller.
#[derive(Debug, Clone)]
pub struct BradleyTerryLabeller {
    reward: Vec<f64>,
    temperature: f64,
}

impl BradleyTerryLabeller {
    /// A labeller with the true reward per state and temperature `T ≥ 0`.
    pub fn new(reward: Vec<f64>, temperature: f64) -> Result<Self> {
        check_range("temperature", temperature, 0.0, 1e6)?;
        Ok(Self {
            reward,
            temperature,
        })
    }

    /// The true return of a segment.
    pub fn segment_return(&self, seg: &Segment) -> f64 {
        seg.states.iter().map(|&s| self.reward[s]).sum()
    }

    /// `P(a ≻ b) = σ((R(a) − R(b)) / T)` (a step function at T = 0, ½ on ties).
    pub fn probability(&self, a: &Segment, b: &Segment) -> f64 {
        let d = self.segment_return(a) - self.segment_return(b);
        if self.temperature == 0.0 {
            if d > 0.0 {
                1.0
            } else if d < 0.0 {
                0.0
            } else {
                0.5
            }
        } else {
            sigmoid(d / self.temperature)
        }
    }

    /// A sampled label: 1 if `a` is preferred, 0 otherwise.
    pub fn label(&self, a: &Segment, b: &Segment, rng: &mut impl Rng) -> f64 {
        if rng.random::<f64>() < self.probability(a, b) {
            1.0
        } else {
            0.0
        }
    }
}

/// The logistic function, evaluated without overflow on either side.
pub(crate) fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// σ(ln 3) = 3/4: a segment worth ln 3 more is preferred 3 times out of 4 at T = 1.
    #[test]
    fn bradley_terry_probability_by_hand() {
        let l = BradleyTerryLabeller::new(vec![3f64.ln(), 0.0], 1.0).unwrap();
        let a = Segment { states: vec![0] };
        let b = Segment { states: vec![1] };
        assert!((l.probability(&a, &b) - 0.75).abs() < 1e-12);
        let hard = BradleyTerryLabeller::new(vec![3f64.ln(), 0.0], 0.0).unwrap();
        assert_eq!(hard.probability(&a, &b), 1.0);
        assert_eq!(hard.probability(&a, &a), 0.5);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let n = 4000;
        let ones: f64 = (0..n).map(|_| l.label(&a, &b, &mut rng)).sum();
        assert!((ones / n as f64 - 0.75).abs() < 0.03, "{}", ones / n as f64);
        assert!(BradleyTerryLabeller::new(vec![0.0], -1.0).is_err());
    }
}
