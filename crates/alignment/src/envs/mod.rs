//! Environments: each file is one task, a `#[derive(Config)]` whose `build` returns an
//! [`Mdp`](crate::mdp::Mdp) (no trait: every algorithm above works on the `Mdp` alone).
//!
//! - `gridworld.rs`: the slippery `N × N` grid, as the reward-learning task (reward linear in
//!   macro-cell features) and as the goal task of planning and shaping;
//! - `objectworld.rs`: Levine et al.'s objectworld, the IRL benchmark;
//! - `cliff_world.rs`: Sutton & Barto's cliff walking.

pub mod cliff_world;
pub mod gridworld;
pub mod objectworld;

pub use cliff_world::CliffWorldConfig;
pub use gridworld::{Gridworld, GridworldConfig};
pub use objectworld::{Object, Objectworld, ObjectworldConfig};
