//! The threat space: in which unit ε is measured per feature and which box inputs must stay
//! in. Pixels: ε in raw units, box `[0, 1]`. Tabular runs: ε in units of each feature's
//! training standard deviation (so ε = 0.1 moves a feature measured around 500 by 10% of its
//! spread, not by 0.1), box the training split's per-feature range (or user bounds).
//!
//! An attack written for a uniform ε runs unchanged in such a space: [`ThreatSpace::perturb`]
//! attacks `z = x / s` (`s` the per-feature unit) through [`Scaled`] (`z ↦ f(z ⊙ s)`) with the
//! box divided by `s`, and maps the result back. An L∞ ball of radius ε in `z` is the box
//! `|x'ⱼ − xⱼ| ≤ ε·sⱼ` in the input, which is ART's per-feature `eps` for tabular attacks.

use aegis_model::burn::module::Module;
use aegis_model::burn::tensor::{Device, Tensor, TensorData};
use aegis_model::{Classifier, InputDomain};
use serde::{Deserialize, Serialize};

use super::base::{Attack, Goal};
use super::bounds::Bounds;
use crate::error::{AdversarialError, Result};

/// The unit of ε.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EpsUnits {
    /// Raw input units (pixels: ε = 0.3 is 0.3 of the `[0, 1]` range).
    Raw,
    /// Each feature's standard deviation on the training split (tabular runs).
    Std,
}

impl EpsUnits {
    /// `raw` or `std`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Std => "std",
        }
    }
}

/// Where an attack searches: the unit of ε per feature and the valid input box (raw units).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreatSpace {
    /// The unit of ε.
    pub units: EpsUnits,
    /// Per-feature size of one ε unit in raw input units (empty: 1 for every feature).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scale: Vec<f32>,
    /// The valid input box, in raw input units.
    pub bounds: Bounds,
}

impl Default for ThreatSpace {
    /// Pixels: raw units, `[0, 1]`.
    fn default() -> Self {
        Self::raw(Bounds::default())
    }
}

impl ThreatSpace {
    /// ε in raw units, clipped to `bounds`.
    pub fn raw(bounds: Bounds) -> Self {
        Self {
            units: EpsUnits::Raw,
            scale: Vec::new(),
            bounds,
        }
    }

    /// ε in units of `std` (one per feature; a zero or non-finite entry counts as 1, which
    /// matters only when the box does not already pin a constant feature), clipped to
    /// `bounds`.
    pub fn std_units(std: &[f32], bounds: Bounds) -> Result<Self> {
        bounds.check_width(std.len())?;
        Ok(Self {
            units: EpsUnits::Std,
            scale: std
                .iter()
                .map(|&s| if s.is_finite() && s > 0.0 { s } else { 1.0 })
                .collect(),
            bounds,
        })
    }

    /// The space of a run's input domain: `units` (default: `std` for tabular runs, `raw`
    /// for images) and `bounds` (default: the domain's box). `std` on an image run is an
    /// error (images record no feature scales).
    pub fn for_domain(
        domain: &InputDomain,
        units: Option<EpsUnits>,
        bounds: Option<Bounds>,
    ) -> Result<Self> {
        let bounds = match bounds {
            Some(b) => b,
            None => Bounds::per_feature(domain.lower.clone(), domain.upper.clone())?,
        };
        let units = units.unwrap_or(if domain.is_tabular() {
            EpsUnits::Std
        } else {
            EpsUnits::Raw
        });
        match units {
            EpsUnits::Raw => Ok(Self::raw(bounds)),
            EpsUnits::Std if domain.is_tabular() => Self::std_units(&domain.std, bounds),
            EpsUnits::Std => Err(AdversarialError::invalid(
                "eps-units",
                "std needs a tabular run; images take ε in pixel units (raw)",
            )),
        }
    }

    /// The box in the coordinates attacks see (`bounds / scale`).
    pub fn attack_bounds(&self) -> Bounds {
        if self.scale.is_empty() {
            self.bounds.clone()
        } else {
            self.bounds.scaled(&self.scale)
        }
    }

    /// The smallest ε whose ball covers the whole (finite) box from any point of it: the
    /// largest feature range in ε units. `None` when the box is unbounded.
    pub fn diameter(&self, features: usize) -> Option<f64> {
        let unit = |j: usize| self.scale.get(j).copied().unwrap_or(1.0);
        let widths = (0..features)
            .map(|j| ((self.bounds.upper_of(j) - self.bounds.lower_of(j)) / unit(j)) as f64);
        let d = widths.fold(0.0f64, f64::max);
        d.is_finite().then_some(d)
    }

    /// One line for reports: the unit of ε and the box.
    pub fn describe(&self) -> String {
        let unit = match self.units {
            EpsUnits::Raw => "ε in raw input units",
            EpsUnits::Std => "ε in training standard deviations of each feature",
        };
        let b = &self.bounds;
        let bx = if b.is_uniform() {
            format!("inputs clipped to [{}, {}]", b.lower_of(0), b.upper_of(0))
        } else {
            format!(
                "inputs clipped to per-feature ranges ({} features)",
                b.lower().len()
            )
        };
        format!("{unit}; {bx}")
    }

    /// Runs `attack` in this space: on `z = x / scale` through [`Scaled`], with the box in
    /// those coordinates, and maps the adversarial rows back (clipped to the raw box, which
    /// only removes rounding). With raw units it runs `attack` on `x` with the box.
    pub fn perturb<A: Attack + Clone, M: Classifier + Module>(
        &self,
        attack: &A,
        model: &M,
        x: Tensor<2>,
        goal: &Goal,
    ) -> Result<Tensor<2>> {
        let attack = attack.clone().with_bounds(self.attack_bounds());
        if self.scale.is_empty() {
            return attack.perturb(model, x, goal);
        }
        self.in_space(model, &x, |scaled, z| attack.perturb(scaled, z, goal))
    }

    /// Runs `search(model in these coordinates, z)` on `z = x / scale` with `model` in
    /// inference mode and maps its result back to input units, clipped to the raw box. The
    /// search must clip to [`ThreatSpace::attack_bounds`] itself. With raw units the scale is
    /// 1 (exact).
    pub fn in_space<M: Classifier + Module>(
        &self,
        model: &M,
        x: &Tensor<2>,
        search: impl FnOnce(&Scaled<M>, Tensor<2>) -> Result<Tensor<2>>,
    ) -> Result<Tensor<2>> {
        let [_, f] = x.dims();
        self.bounds.check_width(f)?;
        let scale = self.scale_row(f, &x.device())?;
        let scaled = Scaled::new(model.valid(), scale.clone());
        let z = search(&scaled, x.clone() / scale.clone())?;
        Ok(self.bounds.clip(z * scale))
    }

    /// The scales as a `[1, F]` row on `device` (ones for raw units).
    fn scale_row(&self, f: usize, device: &Device) -> Result<Tensor<2>> {
        let scale = if self.scale.is_empty() {
            vec![1.0; f]
        } else if self.scale.len() == f {
            self.scale.clone()
        } else {
            return Err(AdversarialError::invalid(
                "eps-units",
                format!("{} feature scales for {f} features", self.scale.len()),
            ));
        };
        Ok(Tensor::from_data(TensorData::new(scale, [1, f]), device))
    }
}

/// A classifier seen in scaled coordinates: `logits(z) = inner.logits(z ⊙ scale)`, with
/// `scale` a constant `[1, F]` row. The inner model is held as it is given (attacks take it
/// in inference mode: [`ThreatSpace::perturb`] passes `model.valid()`).
#[derive(Module, Debug)]
pub struct Scaled<M> {
    #[module(skip)]
    inner: M,
    scale: Tensor<2>,
}

impl<M> Scaled<M> {
    /// `inner` (in the mode it should run in) seen through `scale` (`[1, F]`).
    pub fn new(inner: M, scale: Tensor<2>) -> Self {
        Self { inner, scale }
    }
}

impl<M: Classifier + Module> Classifier for Scaled<M> {
    fn logits(&self, z: Tensor<2>) -> Tensor<2> {
        self.inner.logits(z * self.scale.clone())
    }
    fn input_shape(&self) -> &[usize] {
        self.inner.input_shape()
    }
    fn num_classes(&self) -> usize {
        self.inner.num_classes()
    }
}
