//! Attacks: each file implements [`Attack`] for one algorithm; `base.rs` holds the trait and
//! what every attack shares ([`Goal`], [`objective_gradient`], the L∞/L2
//! projections and the host-seeded random starts).
//!
//! A new attack is one more file here that implements [`Attack`] and is re-exported
//! below; the input box, one range or one per feature, is [`Bounds`] in `bounds.rs`.

mod apgd;
mod base;
mod bounds;
mod cw;
mod fab;
mod fgsm;
mod mifgsm;
mod pgd;
mod space;
mod square;

pub use apgd::{Apgd, ApgdConfig, ApgdLoss, apgd_checkpoints};
pub use base::{
    Attack, Goal, check_goal, goal_tensor, objective_gradient, over_target_ranks, predictions,
    project_l2, project_linf, random_tensor, row_l1, row_l2,
};
pub(crate) use base::{check_eps, check_step_size, row_rng};
pub use bounds::Bounds;
pub use cw::{CwConfig, CwL2};
pub use fab::{Fab, FabConfig, project_linf_hyperplane};
pub use fgsm::{Fgsm, FgsmConfig};
pub use mifgsm::{MiFgsm, MiFgsmConfig};
pub use pgd::{Norm, Pgd, PgdConfig};
pub use space::{EpsUnits, Scaled, ThreatSpace};
pub use square::{Square, SquareConfig, square_fraction};
