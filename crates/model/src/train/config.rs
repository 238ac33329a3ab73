//! Training hyper-parameters.

use burn::config::Config;
use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};

/// Optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam (Kingma & Ba 2015) with β = (0.9, 0.999), ε = 1e-8 (PyTorch's defaults).
    Adam,
    /// SGD with heavy-ball momentum (no dampening, as PyTorch's `SGD`).
    Sgd,
}

/// Learning-rate schedule, applied per epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum LrSchedule {
    /// The base rate throughout.
    Constant,
    /// Multiply by `gamma` every `every` epochs (PyTorch's `StepLR`).
    Step {
        /// Epochs between decays.
        every: usize,
        /// Multiplicative factor.
        gamma: f64,
    },
    /// Cosine annealing from the base rate to `min_lr` over the run (PyTorch's
    /// `CosineAnnealingLR` with `T_max = epochs`).
    Cosine {
        /// Final learning rate.
        min_lr: f64,
    },
}

impl std::str::FromStr for LrSchedule {
    type Err = String;

    /// Parses `constant`, `step:EVERY:GAMMA` or `cosine[:MIN_LR]` (the `--lr-schedule` flag).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let parts: Vec<&str> = s.split(':').collect();
        let num = |p: &str| {
            p.parse::<f64>()
                .map_err(|_| format!("`{p}` is not a number"))
        };
        match parts.as_slice() {
            ["constant"] => Ok(LrSchedule::Constant),
            ["step", every, gamma] => LrSchedule::Step {
                every: every
                    .parse()
                    .map_err(|_| format!("`{every}` is not an epoch count"))?,
                gamma: num(gamma)?,
            }
            .checked(),
            ["cosine"] => Ok(LrSchedule::Cosine { min_lr: 0.0 }),
            ["cosine", min] => LrSchedule::Cosine { min_lr: num(min)? }.checked(),
            _ => Err("expected constant, step:EVERY:GAMMA or cosine[:MIN_LR]".into()),
        }
    }
}

impl LrSchedule {
    /// Checks the schedule's numbers: `every` at least 1, `gamma` finite and positive, `min_lr`
    /// finite and ≥ 0 (a NaN or negative factor would train on a meaningless rate).
    pub fn check(&self) -> std::result::Result<(), String> {
        match *self {
            Self::Constant => Ok(()),
            Self::Step { every: 0, .. } => Err("step EVERY must be at least 1".into()),
            Self::Step { gamma, .. } if !(gamma.is_finite() && gamma > 0.0) => {
                Err(format!("step GAMMA {gamma:?} must be finite and positive"))
            }
            Self::Cosine { min_lr } if !(min_lr.is_finite() && min_lr >= 0.0) => {
                Err(format!("cosine MIN_LR {min_lr:?} must be finite and ≥ 0"))
            }
            _ => Ok(()),
        }
    }

    fn checked(self) -> std::result::Result<Self, String> {
        self.check().map(|()| self)
    }

    /// The learning rate of (0-based) `epoch` out of `epochs`, for base rate `base`.
    pub fn rate(&self, base: f64, epoch: usize, epochs: usize) -> f64 {
        match *self {
            Self::Constant => base,
            Self::Step { every, gamma } => base * gamma.powi((epoch / every.max(1)) as i32),
            Self::Cosine { min_lr } => {
                let t = epoch as f64 / epochs.max(1) as f64;
                min_lr + 0.5 * (base - min_lr) * (1.0 + (std::f64::consts::PI * t).cos())
            }
        }
    }
}

/// Hyper-parameters of supervised training. Saved in each run's `config.json` under `train`.
///
/// Defaults are the SmallCnn/MNIST reference recipe of the Aegis issues: Adam, learning rate
/// 1e-3, batch 64, 10 epochs.
#[derive(Config, Debug, PartialEq)]
pub struct TrainConfig {
    /// Passes over the training set.
    #[config(default = 10)]
    pub epochs: usize,
    /// Rows per optimisation step.
    #[config(default = 64)]
    pub batch_size: usize,
    /// Base learning rate.
    #[config(default = 1e-3)]
    pub learning_rate: f64,
    /// Optimiser.
    #[config(default = "OptimizerKind::Adam")]
    pub optimizer: OptimizerKind,
    /// SGD momentum (ignored by Adam).
    #[config(default = 0.9)]
    pub momentum: f64,
    /// L2 regularisation as coupled weight decay (`grad += λ·w`, PyTorch's `weight_decay`).
    #[config(default = 0.0)]
    pub weight_decay: f64,
    /// L1 regularisation: `λ · Σ|w|` over weight matrices and kernels is added to the loss.
    #[config(default = 0.0)]
    pub l1: f64,
    /// Learning-rate schedule.
    #[config(default = "LrSchedule::Constant")]
    pub lr_schedule: LrSchedule,
    /// Seed of weight initialisation, dropout and batch order.
    #[config(default = 1)]
    pub seed: u64,
    /// Batch size for evaluation passes (no gradients).
    #[config(default = 500)]
    pub eval_batch_size: usize,
}

/// The most epochs [`TrainConfig::validate`] accepts: far beyond any real run, and small
/// enough that epoch × batch counts cannot overflow.
const MAX_EPOCHS: usize = 100_000;

impl TrainConfig {
    /// Checks ranges; called before training starts.
    pub fn validate(&self) -> Result<()> {
        let positive = |name: &str, v: usize| {
            if v == 0 {
                Err(ModelError::invalid(name, "must be at least 1"))
            } else {
                Ok(())
            }
        };
        if !(1..=MAX_EPOCHS).contains(&self.epochs) {
            return Err(ModelError::invalid(
                "epochs",
                format!("{} is not in [1, {MAX_EPOCHS}]", self.epochs),
            ));
        }
        positive("batch_size", self.batch_size)?;
        positive("eval_batch_size", self.eval_batch_size)?;
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(ModelError::invalid(
                "learning_rate",
                format!("{:?} must be finite and positive", self.learning_rate),
            ));
        }
        for (name, v) in [("weight_decay", self.weight_decay), ("l1", self.l1)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(ModelError::invalid(
                    name,
                    format!("{v:?} must be finite and ≥ 0"),
                ));
            }
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(ModelError::invalid(
                "momentum",
                format!("{:?} not in [0, 1)", self.momentum),
            ));
        }
        self.lr_schedule
            .check()
            .map_err(|e| ModelError::invalid("lr_schedule", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_follow_their_formulas() {
        assert_eq!(LrSchedule::Constant.rate(0.1, 5, 10), 0.1);
        let step = LrSchedule::Step {
            every: 2,
            gamma: 0.5,
        };
        assert_eq!(
            [0, 1, 2, 3, 4].map(|e| step.rate(1.0, e, 10)),
            [1.0, 1.0, 0.5, 0.5, 0.25]
        );
        let cos = LrSchedule::Cosine { min_lr: 0.0 };
        assert!((cos.rate(1.0, 0, 10) - 1.0).abs() < 1e-12);
        assert!((cos.rate(1.0, 5, 10) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn config_round_trips_through_json_and_validates() {
        let c = TrainConfig::new().with_lr_schedule(LrSchedule::Step {
            every: 3,
            gamma: 0.1,
        });
        let back: TrainConfig = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        assert!(TrainConfig::new().with_epochs(0).validate().is_err());
        assert!(
            TrainConfig::new()
                .with_learning_rate(f64::NAN)
                .validate()
                .is_err()
        );
        TrainConfig::new().validate().unwrap();
        assert!(
            TrainConfig::new()
                .with_epochs(usize::MAX)
                .validate()
                .is_err()
        );
        for bad in [
            "step:0:0.5",
            "step:1:nan",
            "step:1:-1",
            "cosine:-1",
            "cosine:inf",
        ] {
            assert!(bad.parse::<LrSchedule>().is_err(), "{bad}");
        }
        let nan_gamma = LrSchedule::Step {
            every: 1,
            gamma: f64::NAN,
        };
        assert!(
            TrainConfig::new()
                .with_lr_schedule(nan_gamma)
                .validate()
                .is_err()
        );
    }
}
