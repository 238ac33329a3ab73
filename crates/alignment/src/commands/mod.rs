//! One file per command of the `aegis-alignment` binary: its arguments, its request, its
//! report and the library function that runs it. No trait: each `<Cmd>Args` (clap) has a
//! `run` that builds the request, calls the library function (which writes the JSON report,
//! `config.json` and PNGs atomically into the output folder) and prints the summary.
//!
//! - `args.rs`: [`EnvKind`], the `--env` flag every command takes;
//! - `plan.rs`: [`run_plan`];
//! - `irl.rs`: [`irl_experiment`], [`run_irl`], [`run_irl_sweep`];
//! - `preferences.rs`: [`run_preferences`];
//! - `shaping.rs`: [`run_shaping`].

pub mod args;
pub mod irl;
pub mod plan;
pub mod preferences;
pub mod shaping;

pub use args::EnvKind;
pub use irl::{
    DemoPolicy, IrlArgs, IrlMethod, IrlReport, IrlRequest, SweepReport, SweepRow, irl_experiment,
    run_irl, run_irl_sweep,
};
pub use plan::{PlanArgs, PlanMethod, PlanReport, PlanRequest, run_plan};
pub use preferences::{
    PreferenceReport, PreferenceRequest, PreferencesArgs, RepeatedCurves, run_preferences,
};
pub use shaping::{ShapingArgs, run_shaping};
