//! Help texts state true defaults. The test walks every binary's `--help` and each
//! subcommand's (`support/cli_help.rs`), collects every default a flag's help states, and
//! checks each against the default actually used:
//!
//! - clap's own `[default: X]` (from `default_value[_t]`) must parse into the library's `Args`
//!   (the binary's parse of a command line without the flag), and where a library config holds
//!   the same setting, equal that config's default ([`library`]), so the command line and the
//!   library cannot drift apart;
//! - a default written by hand in a doc comment (`Epochs [default: 10].` on an `Option` flag
//!   whose value comes from a library config) must equal its entry in [`hand_written`], whose
//!   values are computed from the library (`TrainConfig::new().epochs`). A hand-written default
//!   the table does not know fails the test, as does a stale entry, so a new flag cannot state
//!   a default nobody checks.
//!
//! Binaries other than `aegis` are found beside it: run under `cargo test --workspace`, or
//! `cargo build --bins --workspace` before `cargo test -p aegis@0.1.0 --test cli_defaults`.

#[path = "support/cli_help.rs"]
mod cli_help;

use std::collections::BTreeSet;
use std::fmt::Display;

use cli_help::{Mirror, bare_numbers, clap_default, doc, stated_defaults, walk};

/// `default: v`.
fn d(v: impl Display) -> String {
    format!("default: {v}")
}

/// A list as its flag spells it: comma-separated.
fn list<T: Display>(v: &[T]) -> String {
    v.iter().map(T::to_string).collect::<Vec<_>>().join(",")
}

/// A value enum's name on the command line.
fn name<T: clap::ValueEnum>(v: T) -> String {
    v.to_possible_value().unwrap().get_name().to_string()
}

/// `"bin sub --flag"` (`*` matches any binary or subcommand) and what it states or uses.
type Entry<T> = (&'static str, T);

/// The defaults written by hand in doc comments, in order, each computed from the value the
/// command really uses (a library config's default, a constant or function of the command)
/// where there is one; the rest describe a rule in words.
fn hand_written() -> Vec<Entry<Vec<String>>> {
    let mut v = hand_written_model_and_adversarial();
    v.extend(hand_written_others());
    v
}

fn hand_written_model_and_adversarial() -> Vec<Entry<Vec<String>>> {
    use aegis_adversarial_trainer::commands::evaluate::default_eps;
    use aegis_adversarial_trainer::{
        ApgdConfig, CwConfig, EpsUnits, MiFgsmConfig, PgdConfig, SquareConfig,
        best_recipe_train_config,
    };
    use aegis_model::{Architecture, LrSchedule, ModelConfig, TrainConfig};
    let train = TrainConfig::new();
    let image = Architecture::default_for(&[1, 28, 28]);
    let table = Architecture::default_for(&[30]);
    let other_dropout = Architecture::Mlp.default_dropout();
    assert_eq!(Architecture::MadryCnn.default_dropout(), other_dropout);
    let schedule = match train.lr_schedule {
        LrSchedule::Constant => "constant".to_string(),
        other => format!("{other:?}"),
    };
    let hidden = ModelConfig::new(Architecture::Mlp, vec![4], 2).hidden;
    let pgd = PgdConfig::new(0.1);
    let eps = |u| list(&default_eps(u));
    vec![
        ("* * --threads", vec![d("every core, or RAYON_NUM_THREADS")]),
        (
            "aegis audit --out",
            vec![d("RUN/audit; with --compare: A's folder")],
        ),
        (
            "aegis-model train --model",
            vec![d(format!("{image} for images, {table} for tables"))],
        ),
        ("aegis-model train --epochs", vec![d(train.epochs)]),
        ("aegis-model train --seed", vec![d(train.seed)]),
        ("aegis-model train --batch-size", vec![d(train.batch_size)]),
        ("aegis-model train --lr", vec![d(train.learning_rate)]),
        (
            "aegis-model train --optimizer",
            vec![d(name(train.optimizer))],
        ),
        ("aegis-model train --momentum", vec![d(train.momentum)]),
        (
            "aegis-model train --weight-decay",
            vec![d(train.weight_decay)],
        ),
        ("aegis-model train --l1", vec![d(train.l1)]),
        ("aegis-model train --lr-schedule", vec![d(schedule)]),
        ("aegis-model train --hidden", vec![d(list(&hidden))]),
        (
            "aegis-model train --dropout",
            vec![d(format!(
                "{} for smallcnn, {other_dropout} otherwise",
                Architecture::SmallCnn.default_dropout()
            ))],
        ),
        (
            "aegis-model train --out",
            vec![d("runs/<data>[-<model>]-seed<S>")],
        ),
        (
            "aegis-model eval --data",
            vec![d("the run's own data and split")],
        ),
        ("aegis-model import --classes", vec![d("the data's")]),
        (
            "aegis-model export --arch-out",
            vec![d("OUT with the extension `.arch.json`")],
        ),
        (
            "aegis-adversarial-trainer train --step-size",
            vec![d("2.5·ε_t/steps; Fast-AT: 1.25·ε_t")],
        ),
        (
            "aegis-adversarial-trainer train --batch-size",
            vec![d(format!(
                "{}, part of the best recipe: with 10 epochs of 4,000 images, more (smaller) \
                 steps gave 81.0% PGD-40 robust accuracy against 70.9% at 32 and 62.7% at 64",
                best_recipe_train_config().batch_size
            ))],
        ),
        (
            "aegis-adversarial-trainer train --model",
            vec![d(format!("{image} for images, {table} for tabular data"))],
        ),
        (
            "aegis-adversarial-trainer * --eps-units",
            vec![d(format!(
                "{} for tabular runs, {} for images",
                name(EpsUnits::Std),
                name(EpsUnits::Raw)
            ))],
        ),
        (
            "aegis-adversarial-trainer * --bounds",
            vec![d(
                "the run's input domain: [0, 1] for pixels, each feature's training range \
                    for tables, widened to hold the attacked rows",
            )],
        ),
        (
            "aegis-adversarial-trainer train --out",
            vec![d("runs/<data>-<method>-eps<E>-seed<S>; gaussian: \
                 runs/<data>-gaussian-sigma<σ>-seed<S>")],
        ),
        (
            "aegis-adversarial-trainer certify --shard",
            vec!["default out: DIR/certify/smoothing-sigma<σ>/shard-K-of-N".into()],
        ),
        (
            "aegis-adversarial-trainer certify --merge",
            vec!["default out: the first folder's parent".into()],
        ),
        (
            "aegis-adversarial-trainer certify --out",
            vec![d(
                "DIR/certify/smoothing-sigma<σ>; ibp, crown: DIR/certify/<method>-eps<ε>",
            )],
        ),
        (
            "aegis-adversarial-trainer evaluate --shard",
            vec!["default out: DIR/robustness/shard-K-of-N".into()],
        ),
        (
            "aegis-adversarial-trainer evaluate --merge",
            vec!["default out: the first folder's parent".into()],
        ),
        (
            "aegis-adversarial-trainer evaluate --eps",
            vec![d(format!(
                "{} for images; {} for tabular runs (training standard deviations)",
                eps(EpsUnits::Raw),
                eps(EpsUnits::Std)
            ))],
        ),
        (
            "aegis-adversarial-trainer evaluate --out",
            vec![d("DIR/robustness")],
        ),
        (
            "aegis-adversarial-trainer attack --steps",
            vec![d(format!(
                "{} for PGD, {} for MI-FGSM, {} for APGD, {} per value of c for C&W; queries \
                 for Square: {}",
                pgd.steps,
                MiFgsmConfig::new(0.1).steps,
                ApgdConfig::new(0.1).steps,
                CwConfig::new().steps,
                SquareConfig::new(0.1).queries
            ))],
        ),
        (
            "aegis-adversarial-trainer attack --step-size",
            vec![d(format!(
                "{} for PGD, 2.5·ε/steps for PGD-L2, ε/10 for MI-FGSM",
                pgd.step_size
            ))],
        ),
        (
            "aegis-adversarial-trainer attack --out",
            vec![d("DIR/attack-<name>-eps<E>")],
        ),
    ]
}

fn hand_written_others() -> Vec<Entry<Vec<String>>> {
    use aegis_alignment::commands::irl::{default_demo_policy, default_horizon};
    use aegis_alignment::{
        DeepMaxEntIrlConfig, EnvKind, GridworldConfig, MaxEntIrlConfig, ObjectworldConfig,
    };
    use aegis_interpretability::commands::{importance, pdp};
    use aegis_interpretability::{IgConfig, SmoothGradConfig};
    use std::path::Path;
    let unc_out = aegis_uncertainty::commands::default_out(Path::new("RUN"), "<command>");
    let interp_out =
        |what| d(aegis_interpretability::default_out(Path::new("<run>"), what).display());
    let over_out = |what| d(aegis_oversight::default_out(Path::new("RUN"), what).display());
    let (grid, object) = (GridworldConfig::new(), ObjectworldConfig::new());
    let per_world = |o: &dyn Display, g: &dyn Display| d(format!("{o} objectworld, {g} gridworld"));
    let (objw, gridw) = (EnvKind::Objectworld, EnvKind::Gridworld);
    let (linear, deep) = (MaxEntIrlConfig::new(), DeepMaxEntIrlConfig::new());
    assert_eq!(
        linear.iterations, deep.iterations,
        "--iterations states one default"
    );
    assert_eq!(pdp::default_target(3), pdp::default_target(10));
    let (ig, smoothgrad) = (IgConfig::new().steps, SmoothGradConfig::new().samples);
    let local_rows = importance::LOCAL_METHOD_ROWS;
    let (binary, multi) = (pdp::default_target(2), pdp::default_target(3));
    vec![
        ("aegis-uncertainty * --out", vec![d(unc_out.display())]),
        (
            "aegis-interpretability explain --steps",
            vec![d(ig), d(smoothgrad)],
        ),
        (
            "aegis-interpretability explain --target",
            vec![d("the predicted class")],
        ),
        (
            "aegis-interpretability explain --out",
            vec![interp_out("explain")],
        ),
        (
            "aegis-interpretability importance --rows",
            vec![d(format!(
                "all for permutation, {local_rows} for SHAP/LIME"
            ))],
        ),
        (
            "aegis-interpretability importance --target",
            vec![d("each row's predicted class")],
        ),
        (
            "aegis-interpretability importance --out",
            vec![interp_out("importance")],
        ),
        (
            "aegis-interpretability pdp --rows",
            vec![d(pdp::DEFAULT_ROWS)],
        ),
        (
            "aegis-interpretability pdp --target",
            vec![d(format!("{binary} for binary tasks, else {multi}"))],
        ),
        ("aegis-interpretability pdp --out", vec![interp_out("pdp")]),
        (
            "aegis-interpretability evaluate --out",
            vec![interp_out("evaluate")],
        ),
        (
            "aegis-oversight calibrate-threshold --out",
            vec![over_out("calibrate-threshold")],
        ),
        (
            "aegis-oversight queue --coverage",
            vec![d(aegis_oversight::commands::queue::DEFAULT_COVERAGE)],
        ),
        ("aegis-oversight queue --out", vec![over_out("queue")]),
        ("aegis-oversight * --log", vec![d("QUEUE/audit.jsonl")]),
        ("aegis-oversight report --out", vec![d("QUEUE/report")]),
        (
            "aegis-alignment plan --size",
            vec![d(format!(
                "{} gridworld, {} objectworld",
                grid.size, object.size
            ))],
        ),
        ("aegis-alignment plan --slip", vec![d("the environment's")]),
        (
            "aegis-alignment irl --size",
            vec![per_world(&object.size, &grid.size)],
        ),
        (
            "aegis-alignment irl --slip",
            vec![per_world(&object.slip, &grid.slip)],
        ),
        (
            "aegis-alignment irl --horizon",
            vec![per_world(&default_horizon(objw), &default_horizon(gridw))],
        ),
        (
            "aegis-alignment irl --demo-policy",
            vec![per_world(
                &name(default_demo_policy(objw)),
                &name(default_demo_policy(gridw)),
            )],
        ),
        (
            "aegis-alignment irl --iterations",
            vec![d(linear.iterations)],
        ),
        (
            "aegis-alignment irl --objective",
            vec![d(format!(
                "{} for linear, {} for deep as Wulfmeier et al.'s Algorithm 1",
                name(linear.objective),
                name(deep.objective)
            ))],
        ),
    ]
}

/// clap defaults that duplicate a library config's default, with the library's value as the
/// flag spells it.
fn library() -> Vec<Entry<String>> {
    let mut v = library_model_to_uncertainty();
    v.extend(library_others());
    v
}

fn library_model_to_uncertainty() -> Vec<Entry<String>> {
    use aegis_adversarial_trainer::{
        AdvTrainConfig, EvaluateConfig, PgdConfig, best_recipe_train_config,
    };
    use aegis_model::LrSchedule;
    use aegis_uncertainty::commands::{CalibrateConfig, ConformalRunConfig};
    use aegis_uncertainty::{ConformalConfig, EstimatorConfig};
    let adv = AdvTrainConfig::new();
    let smooth = aegis_adversarial_trainer::certified::SmoothingConfig::new();
    let recipe = best_recipe_train_config();
    assert_eq!(recipe.lr_schedule, LrSchedule::Constant);
    let eval = EvaluateConfig::default();
    let attacks: Vec<String> = eval.attacks.iter().map(|&a| name(a)).collect();
    let (calibrate, est) = (CalibrateConfig::new(), EstimatorConfig::new());
    let conformal = ConformalConfig::new();
    let run = ConformalRunConfig::new(ConformalConfig::new(), est.clone());
    let unc = aegis_uncertainty::commands::EvaluateConfig::new();
    let s = |v: &dyn Display| v.to_string();
    vec![
        (
            "* * --device",
            aegis_model::DeviceSpec::default().to_string(),
        ),
        ("aegis-adversarial-trainer train --method", name(adv.method)),
        ("aegis-adversarial-trainer train --eps", s(&adv.eps)),
        ("aegis-adversarial-trainer train --steps", s(&adv.steps)),
        (
            "aegis-adversarial-trainer train --warmup-epochs",
            s(&adv.warmup_epochs),
        ),
        ("aegis-adversarial-trainer train --beta", s(&adv.beta)),
        ("aegis-adversarial-trainer train --sigma", s(&adv.sigma)),
        (
            "aegis-adversarial-trainer certify --sigma",
            s(&smooth.sigma),
        ),
        ("aegis-adversarial-trainer certify --n0", s(&smooth.n0)),
        ("aegis-adversarial-trainer certify --n", s(&smooth.n)),
        (
            "aegis-adversarial-trainer certify --alpha",
            s(&smooth.alpha),
        ),
        (
            "aegis-adversarial-trainer certify --batch-size",
            s(&smooth.batch_size),
        ),
        ("aegis-adversarial-trainer certify --seed", s(&smooth.seed)),
        (
            "aegis-adversarial-trainer train --epochs",
            s(&recipe.epochs),
        ),
        (
            "aegis-adversarial-trainer train --lr",
            s(&recipe.learning_rate),
        ),
        (
            "aegis-adversarial-trainer train --lr-schedule",
            "constant".into(),
        ),
        ("aegis-adversarial-trainer train --seed", s(&recipe.seed)),
        (
            "aegis-adversarial-trainer evaluate --suite",
            name(eval.suite),
        ),
        (
            "aegis-adversarial-trainer evaluate --attacks",
            attacks.join(","),
        ),
        (
            "aegis-adversarial-trainer evaluate --pgd-steps",
            s(&eval.pgd_steps),
        ),
        (
            "aegis-adversarial-trainer evaluate --apgd-steps",
            s(&eval.apgd_steps),
        ),
        (
            "aegis-adversarial-trainer evaluate --apgd-targets",
            s(&eval.apgd_targets),
        ),
        (
            "aegis-adversarial-trainer evaluate --square-queries",
            s(&eval.square_queries),
        ),
        (
            "aegis-adversarial-trainer evaluate --batch-size",
            s(&eval.batch_size),
        ),
        (
            "aegis-adversarial-trainer attack --restarts",
            s(&PgdConfig::new(0.1).restarts),
        ),
        (
            "aegis-adversarial-trainer attack --batch-size",
            s(&aegis_model::DEFAULT_BATCH_ROWS),
        ),
        ("aegis-uncertainty calibrate --bins", s(&calibrate.bins)),
        ("aegis-uncertainty calibrate --seed", s(&calibrate.seed)),
        ("aegis-uncertainty conformal --alpha", s(&conformal.alpha)),
        ("aegis-uncertainty conformal --score", name(conformal.score)),
        ("aegis-uncertainty conformal --splits", s(&run.splits)),
        (
            "aegis-uncertainty conformal --calibration-fraction",
            s(&run.calibration_fraction),
        ),
        ("aegis-uncertainty evaluate --passes", s(&unc.passes)),
        ("aegis-uncertainty evaluate --members", s(&unc.members)),
        ("aegis-uncertainty evaluate --bins", s(&unc.bins)),
        ("aegis-uncertainty evaluate --seed", s(&unc.seed)),
        // The estimator flags `aegis-uncertainty` and `aegis-oversight` share.
        ("* * --estimator", name(est.kind)),
        ("* * --passes", s(&est.passes)),
        ("* * --members", s(&est.members)),
    ]
}

fn library_others() -> Vec<Entry<String>> {
    use aegis_alignment::{EnvKind, IrlRequest, PlanRequest, PreferenceRequest, ShapingConfig};
    use aegis_oversight::{QueueConfig, ReportConfig, SgrConfig, SimulatedExpert, ThresholdSource};
    use aegis_uncertainty::EstimatorConfig;
    let interp = aegis_interpretability::EvaluateConfig::new();
    let sgr = SgrConfig::new(EstimatorConfig::new());
    let queue = QueueConfig::new(ThresholdSource::Coverage(0.9), EstimatorConfig::new());
    let SimulatedExpert::Uniform(expert) = ReportConfig::new(EstimatorConfig::new()).expert else {
        panic!("report's default expert is no longer one accuracy for every class");
    };
    let plan = PlanRequest::new(EnvKind::Gridworld);
    let irl = IrlRequest::new();
    let pref = PreferenceRequest::new();
    let shaping = ShapingConfig::new();
    let s = |v: &dyn Display| v.to_string();
    vec![
        ("aegis-interpretability evaluate --rows", s(&interp.rows)),
        ("aegis-interpretability evaluate --seed", s(&interp.seed)),
        (
            "aegis-oversight calibrate-threshold --target-risk",
            s(&sgr.target_risk),
        ),
        ("aegis-oversight calibrate-threshold --delta", s(&sgr.delta)),
        (
            "aegis-oversight calibrate-threshold --splits",
            s(&sgr.splits),
        ),
        (
            "aegis-oversight calibrate-threshold --calibration-fraction",
            s(&sgr.calibration_fraction),
        ),
        (
            "aegis-oversight calibrate-threshold --confidence",
            name(sgr.confidence),
        ),
        ("aegis-oversight queue --confidence", name(queue.confidence)),
        (
            "aegis-oversight queue --attribution",
            name(queue.attribution),
        ),
        ("aegis-oversight report --expert-accuracy", s(&expert)),
        ("aegis-alignment plan --method", name(plan.method)),
        ("aegis-alignment plan --temperature", s(&plan.temperature)),
        ("aegis-alignment plan --episodes", s(&plan.episodes)),
        ("aegis-alignment plan --seed", s(&plan.seed)),
        ("aegis-alignment irl --env", name(irl.env)),
        ("aegis-alignment irl --colours", s(&irl.colours)),
        ("aegis-alignment irl --demos", s(&irl.demos)),
        ("aegis-alignment irl --method", name(irl.method)),
        ("aegis-alignment irl --l2", s(&irl.linear.l2)),
        ("aegis-alignment irl --hidden", list(&irl.deep.hidden)),
        ("aegis-alignment irl --seed", s(&irl.seed)),
        (
            "aegis-alignment preferences --comparisons",
            s(&pref.comparisons),
        ),
        ("aegis-alignment preferences --size", s(&pref.size)),
        (
            "aegis-alignment preferences --temperature",
            s(&pref.learning.temperature),
        ),
        (
            "aegis-alignment preferences --ensemble",
            s(&pref.learning.ensemble),
        ),
        (
            "aegis-alignment preferences --model",
            name(pref.learning.model),
        ),
        (
            "aegis-alignment preferences --batch",
            s(&pref.learning.batch),
        ),
        ("aegis-alignment preferences --repeats", s(&pref.repeats)),
        ("aegis-alignment preferences --seed", s(&pref.seed)),
        ("aegis-alignment shaping --size", s(&shaping.size)),
        ("aegis-alignment shaping --seeds", s(&shaping.seeds)),
        ("aegis-alignment shaping --episodes", s(&shaping.episodes)),
        ("aegis-alignment shaping --seed", s(&shaping.seed)),
    ]
}

/// The first entry whose key names `bin sub --flag`.
fn find<T>(table: &[Entry<T>], bin: &str, sub: &str, flag: &str) -> Option<usize> {
    table.iter().position(|(key, _)| {
        let k: Vec<&str> = key.split(' ').collect();
        (k[0] == "*" || k[0] == bin) && (k[1] == "*" || k[1] == sub) && k[2] == format!("--{flag}")
    })
}

/// A value `a`'s parser takes: its first possible value, `mnist` for a data source, else `1`.
fn some_value(a: &clap::Arg) -> String {
    match a.get_possible_values().first() {
        Some(v) => v.get_name().to_string(),
        None if a.get_id() == "data" => "mnist".to_string(),
        None => "1".to_string(),
    }
}

/// Parses a command line holding only `m`'s required arguments (those required unless
/// another is present included, as clap asks for them) and turns it into the library's
/// `Args`: the defaults of every other flag must parse.
fn parse_required_only(m: &Mirror) -> Result<(), String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let mut argv = vec![m.sub.to_string()];
    for a in m.command.get_arguments().filter(|a| a.is_required_set()) {
        if let Some(long) = a.get_long() {
            argv.push(format!("--{long}"));
        }
        argv.push(some_value(a));
    }
    for _ in 0..4 {
        let e = match m.command.clone().try_get_matches_from(&argv) {
            Ok(matches) => return (m.parse)(&matches).map_err(|e| format!("{argv:?}: {e}")),
            Err(e) => e,
        };
        let missing = match (e.kind(), e.get(ContextKind::InvalidArg)) {
            (ErrorKind::MissingRequiredArgument, Some(ContextValue::Strings(m))) => m.clone(),
            _ => return Err(format!("{argv:?}: {e}")),
        };
        for spec in missing {
            let long = spec.trim_start_matches("--").split(' ').next().unwrap();
            let a = m.arg(long).ok_or_else(|| format!("{argv:?}: {e}"))?;
            argv.extend([format!("--{long}"), some_value(a)]);
        }
    }
    Err(format!("{argv:?}: still missing arguments"))
}

#[test]
fn every_stated_default_is_the_default_used() {
    let (hand, lib) = (hand_written(), library());
    let (mut used_hand, mut used_lib) = (BTreeSet::new(), BTreeSet::new());
    let mut failures = Vec::new();
    let (mut n_clap, mut n_hand, mut n_lib) = (0, 0, 0);
    for w in walk() {
        let (bin, sub) = (w.mirror.bin, w.mirror.sub);
        // Without the flags, the library's Args must parse: clap's defaults are values its
        // parsers take, and the binary starts from them.
        if let Err(e) = parse_required_only(&w.mirror) {
            failures.push(format!("`{bin}`: the defaults do not parse: {e}"));
        }
        for flag in &w.flags {
            let arg = w.mirror.arg(&flag.long).unwrap();
            let at = format!("`{bin} {sub} --{}`", flag.long);
            let written = stated_defaults(&doc(arg));
            let clap = clap_default(arg);
            // The binary shows exactly what the mirror says: the doc's and clap's.
            let mut shown = stated_defaults(&flag.text);
            let mut expected: Vec<String> = written.iter().cloned().chain(clap.clone()).collect();
            shown.sort();
            expected.sort();
            if shown != expected {
                failures.push(format!(
                    "{at}: --help states {shown:?}, the mirror {expected:?}"
                ));
            }
            for bare in bare_numbers(&doc(arg)) {
                failures.push(format!(
                    "{at}: `{bare}` states a default: write `[default: …]`"
                ));
            }
            if !written.is_empty() {
                n_hand += written.len();
                match find(&hand, bin, sub, &flag.long) {
                    Some(i) if hand[i].1 == written => {
                        used_hand.insert(i);
                    }
                    Some(i) => {
                        used_hand.insert(i);
                        failures.push(format!(
                            "{at}: the help states {written:?}, the default used is {:?}",
                            hand[i].1
                        ));
                    }
                    None => failures.push(format!(
                        "{at}: states {written:?} by hand: add (\"{bin} {sub} --{}\", …) to \
                         hand_written() in tests/cli_defaults.rs, computed from the value the \
                         command uses",
                        flag.long
                    )),
                }
            }
            let Some(c) = clap else { continue };
            n_clap += 1;
            if let Some(i) = find(&lib, bin, sub, &flag.long) {
                used_lib.insert(i);
                n_lib += 1;
                if c != d(&lib[i].1) {
                    failures.push(format!("{at}: clap's {c:?}, the library's {:?}", lib[i].1));
                }
            }
        }
    }
    let stale = |table: &str, keys: Vec<&str>, used: &BTreeSet<usize>| {
        keys.into_iter()
            .enumerate()
            .filter(|(i, _)| !used.contains(i))
            .map(|(_, key)| format!("{table}() entry `{key}` matches no stated default"))
            .collect::<Vec<_>>()
    };
    failures.extend(stale(
        "hand_written",
        hand.iter().map(|e| e.0).collect(),
        &used_hand,
    ));
    failures.extend(stale(
        "library",
        lib.iter().map(|e| e.0).collect(),
        &used_lib,
    ));
    eprintln!(
        "{} stated defaults: {n_hand} hand-written, {n_clap} clap's ({n_lib} of them also a \
         library config's)",
        n_hand + n_clap
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
