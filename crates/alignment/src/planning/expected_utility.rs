//! Expected-utility decisions (von Neumann & Morgenstern 1944): choose the action whose
//! outcome distribution ("lottery") has the largest expected utility.

use serde::{Deserialize, Serialize};

use crate::error::{AlignmentError, Result};

/// The outcome distribution of one action: `(probability, outcome)` pairs summing to one.
pub type Lottery<O> = Vec<(f64, O)>;

/// The result of [`choose_action`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Decision {
    /// The chosen action: the lowest index among those whose expected utility is within
    /// `1e-12 · (1 + |best|)` of the best (ties go to the first action listed).
    pub action: usize,
    /// Expected utility of every action.
    pub expected_utilities: Vec<f64>,
    /// Every action tied with the best, ascending.
    pub tied: Vec<usize>,
}

/// Expected utility `Σ p · u(o)` of one lottery; probabilities must be non-negative and sum
/// to one (within 1e-9).
pub fn expected_utility<O>(lottery: &[(f64, O)], utility: impl Fn(&O) -> f64) -> Result<f64> {
    let total: f64 = lottery.iter().map(|(p, _)| p).sum();
    if lottery.iter().any(|(p, _)| !(p.is_finite() && *p >= 0.0)) || (total - 1.0).abs() > 1e-9 {
        return Err(AlignmentError::invalid(
            "lottery",
            format!("probabilities must be non-negative and sum to 1 (sum {total})"),
        ));
    }
    let eu: f64 = lottery.iter().map(|(p, o)| p * utility(o)).sum();
    if !eu.is_finite() {
        return Err(AlignmentError::invalid(
            "utility",
            "an outcome has a non-finite utility",
        ));
    }
    Ok(eu)
}

/// Chooses among `actions` (one lottery each) the action of maximum expected utility.
pub fn choose_action<O>(actions: &[Lottery<O>], utility: impl Fn(&O) -> f64) -> Result<Decision> {
    if actions.is_empty() {
        return Err(AlignmentError::invalid(
            "actions",
            "there must be at least one action",
        ));
    }
    let eus = actions
        .iter()
        .map(|l| expected_utility(l, &utility))
        .collect::<Result<Vec<f64>>>()?;
    let best = eus.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let tol = 1e-12 * (1.0 + best.abs());
    let tied: Vec<usize> = (0..eus.len()).filter(|&i| eus[i] >= best - tol).collect();
    Ok(Decision {
        action: tied[0],
        expected_utilities: eus,
        tied,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sure 40 against a 50/50 gamble of 100 or 0. Linear utility: 40 < 50, gamble.
    /// Concave utility √x: √40 ≈ 6.32 > 0.5·√100 = 5, the sure thing (risk aversion).
    #[test]
    fn risk_attitude_decides_by_hand() {
        let actions: Vec<Lottery<f64>> = vec![vec![(1.0, 40.0)], vec![(0.5, 100.0), (0.5, 0.0)]];
        let d = choose_action(&actions, |x| *x).unwrap();
        assert_eq!(d.action, 1);
        assert_eq!(d.expected_utilities, vec![40.0, 50.0]);
        let d = choose_action(&actions, |x: &f64| x.sqrt()).unwrap();
        assert_eq!(d.action, 0);
    }

    #[test]
    fn ties_go_to_the_first_action_and_bad_lotteries_are_rejected() {
        let actions: Vec<Lottery<&str>> = vec![
            vec![(0.5, "a"), (0.5, "b")],
            vec![(1.0, "c")],
            vec![(1.0, "a")],
        ];
        let u = |o: &&str| match *o {
            "a" => 0.0,
            "b" => 2.0,
            _ => 1.0,
        };
        let d = choose_action(&actions, u).unwrap();
        assert_eq!((d.action, d.tied.clone()), (0, vec![0, 1]));
        let bad: Vec<Lottery<&str>> = vec![vec![(0.7, "a")]];
        assert!(
            choose_action(&bad, u)
                .unwrap_err()
                .to_string()
                .contains("lottery")
        );
        assert!(choose_action::<&str>(&[], u).is_err());
    }
}
