//! The threat-space flags shared by `attack`, `evaluate` and `train` (`--eps-units`,
//! `--bounds`) and how they become a [`ThreatSpace`] for a run.

use std::str::FromStr;

use aegis_model::{Dataset, InputDomain};

use crate::attacks::{Bounds, EpsUnits, ThreatSpace};
use crate::error::{AdversarialError, Result};

/// `--eps-units` and `--bounds`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ThreatArgs {
    /// Unit of ε: std (each feature's standard deviation on the training split) or raw
    /// (input units) [default: std for tabular runs, raw for images].
    #[arg(long, value_enum)]
    pub eps_units: Option<EpsUnits>,
    /// Input box every attack clips to: LO,HI for every feature, or none [default: the run's
    /// input domain: [0, 1] for pixels, each feature's training range for tables, widened to
    /// hold the attacked rows].
    #[arg(long)]
    pub bounds: Option<BoundsArg>,
}

impl ThreatArgs {
    /// The threat space for a run with input domain `domain` attacking `rows`: the domain's
    /// box is widened to hold every row, so clipping never moves a clean input.
    pub fn space(&self, domain: &InputDomain, rows: &Dataset) -> Result<ThreatSpace> {
        ThreatSpace::for_domain(
            &domain.covering(rows),
            self.eps_units,
            self.bounds.as_ref().map(|b| b.0.clone()),
        )
    }
}

/// A `--bounds` value: `LO,HI` or `none`.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundsArg(pub Bounds);

impl FromStr for BoundsArg {
    type Err = AdversarialError;

    fn from_str(s: &str) -> Result<Self> {
        if s.trim().eq_ignore_ascii_case("none") {
            return Ok(Self(Bounds::unbounded()));
        }
        let bad = || {
            AdversarialError::invalid(
                "bounds",
                format!("{s:?} is not LO,HI (two finite numbers, LO < HI) or none"),
            )
        };
        let (lo, hi) = s.split_once(',').ok_or_else(bad)?;
        let lo: f32 = lo.trim().parse().map_err(|_| bad())?;
        let hi: f32 = hi.trim().parse().map_err(|_| bad())?;
        // An infinite end is what `none` says; an empty box (LO = HI) leaves nothing to attack.
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(bad());
        }
        Bounds::per_feature(vec![lo], vec![hi])
            .map(Self)
            .map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_flag_parses_a_range_or_none() {
        assert_eq!(
            "0,255".parse::<BoundsArg>().unwrap().0,
            Bounds::uniform(0.0, 255.0)
        );
        assert_eq!("none".parse::<BoundsArg>().unwrap().0, Bounds::unbounded());
        for bad in [
            "1,0", "0", "a,b", "0,1,2", "nan,1", "1,1", "0,inf", "-inf,1", "0,1e308",
        ] {
            let e = bad.parse::<BoundsArg>().unwrap_err().to_string();
            assert!(e.contains("LO,HI"), "{bad}: {e}");
        }
    }
}
