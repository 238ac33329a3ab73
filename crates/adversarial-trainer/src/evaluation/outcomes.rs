//! What an evaluation measured, row by row ([`RowOutcomes`]). Every number of a
//! [`RobustnessReport`](super::RobustnessReport) is a function of these per-row flags
//! (`summary.rs`), so shards of the rows can be evaluated apart and merged into the report
//! an unsharded run writes (`shard.rs`).

use serde::{Deserialize, Serialize};

use super::robustness_report::EvalAttack;
use crate::error::{AdversarialError, Result};

/// One attack at one ε over the rows: whether each row is still classified correctly after
/// it (for a suite: after this stage and every earlier one at that ε).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunRows {
    /// The attack.
    pub attack: EvalAttack,
    /// Radius.
    pub eps: f64,
    /// Per row: still correct.
    pub correct: Vec<bool>,
    /// Seconds spent.
    pub seconds: f64,
}

/// PGD at the ε that covers the whole input box (the "ε large enough gives 0%" check).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BoxRows {
    /// That ε (the box's diameter in ε units).
    pub eps: f64,
    /// Per row: still correct.
    pub correct: Vec<bool>,
}

/// Per-row results of an evaluation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RowOutcomes {
    /// Per row: classified correctly without an attack.
    pub clean: Vec<bool>,
    /// Every (attack, ε) run, in the order run.
    pub runs: Vec<RunRows>,
    /// The box-diameter PGD (`None` for an unbounded box).
    pub box_attack: Option<BoxRows>,
    /// Per row: the input gradient is all zero or NaN.
    pub bad_gradient: Vec<bool>,
}

impl RowOutcomes {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.clean.len()
    }

    /// True without rows.
    pub fn is_empty(&self) -> bool {
        self.clean.is_empty()
    }

    /// The outcomes of consecutive row ranges joined in order (seconds add up). The parts
    /// must have run the same (attack, ε) list.
    pub fn concat(parts: &[RowOutcomes]) -> Result<Self> {
        let Some(first) = parts.first() else {
            return Err(AdversarialError::invalid("merge", "no shards to merge"));
        };
        let mut out = first.clone();
        for p in &parts[1..] {
            let same_runs = p.runs.len() == out.runs.len()
                && p.runs
                    .iter()
                    .zip(&out.runs)
                    .all(|(a, b)| a.attack == b.attack && a.eps == b.eps);
            let same_box =
                p.box_attack.as_ref().map(|b| b.eps) == out.box_attack.as_ref().map(|b| b.eps);
            if !same_runs || !same_box {
                return Err(AdversarialError::invalid(
                    "merge",
                    "the shards ran different attacks or radii",
                ));
            }
            out.clean.extend(&p.clean);
            out.bad_gradient.extend(&p.bad_gradient);
            for (o, r) in out.runs.iter_mut().zip(&p.runs) {
                o.correct.extend(&r.correct);
                o.seconds += r.seconds;
            }
            if let (Some(o), Some(b)) = (out.box_attack.as_mut(), &p.box_attack) {
                o.correct.extend(&b.correct);
            }
        }
        Ok(out)
    }
}

/// The fraction of `true` (0 for none).
pub(super) fn mean(v: &[bool]) -> f64 {
    v.iter().filter(|&&b| b).count() as f64 / v.len().max(1) as f64
}

/// A run of `attack` at `eps` with these per-row results and one second (tests).
#[cfg(test)]
pub(super) fn test_run(attack: EvalAttack, eps: f64, correct: &[bool]) -> RunRows {
    RunRows {
        attack,
        eps,
        correct: correct.to_vec(),
        seconds: 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use test_run as run;

    #[test]
    fn concatenated_outcomes_keep_row_order_and_add_seconds() {
        let part = |clean: &[bool]| RowOutcomes {
            clean: clean.to_vec(),
            runs: vec![run(EvalAttack::Fgsm, 0.1, clean)],
            box_attack: None,
            bad_gradient: vec![false; clean.len()],
        };
        let all = RowOutcomes::concat(&[part(&[true]), part(&[false, true])]).unwrap();
        assert_eq!(all.clean, vec![true, false, true]);
        assert_eq!(all.runs[0].seconds, 2.0);
        let mut other = part(&[true]);
        other.runs[0].eps = 0.2;
        assert!(RowOutcomes::concat(&[part(&[true]), other]).is_err());
    }
}
