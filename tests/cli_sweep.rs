//! Every numeric flag of every subcommand, given hostile values (0, -1, NaN, ±inf, 1e308, a
//! subnormal, u64::MAX, 10⁹, and the malformed forms of structured flags such as
//! `--lr-schedule step:1:nan` or `--bounds 0,inf`) on a tiny valid setup, either works (exit
//! 0) or is refused with exit code 2 and one `error: …` line on stderr. Never a panic, an
//! abort, a signal, or a run that goes on for minutes: values that would size an allocation
//! or a loop beyond reason are refused with their range before any work.
//!
//! The flags come from walking the binaries' `--help` (`support/cli_help.rs`), their types
//! from the library's clap `Args`; a subcommand with a numeric flag needs a cheap base
//! command line in [`base`], so a new subcommand cannot escape the sweep. Binaries other than
//! `aegis` are found beside it: run under `cargo test --workspace`, or `cargo build --bins
//! --workspace` before `cargo test -p aegis@0.1.0 --test cli_sweep`.

#[path = "support/cli_help.rs"]
mod cli_help;

use std::any::TypeId;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cli_help::{BINARIES, binary, walk};

/// Longest a single invocation may run: every accepted value runs on a tiny setup.
const TIMEOUT: Duration = Duration::from_secs(30);

/// How long `serve` must keep running to count as started.
const SERVER_START: Duration = Duration::from_secs(2);

/// The files the base command lines use, made once in a temporary folder.
struct Fixtures {
    dir: tempfile::TempDir,
}

impl Fixtures {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A one-epoch MLP on bundled breast cancer (`bc`) and on bundled MNIST (`mnist`, for the
    /// image-only OOD sets), a review queue of `bc` with a decisions file and an empty log,
    /// and the PyTorch import fixture's data as `x.npy` + `x_labels.npy`.
    fn new() -> Self {
        let f = Self {
            dir: tempfile::tempdir().unwrap(),
        };
        let p = |name: &str| f.path(name).to_string_lossy().into_owned();
        for (out, data, extra) in [
            ("bc", "breast-cancer", None),
            ("mnist", "mnist", Some("16")),
        ] {
            let mut args = vec!["train", "--model", "mlp", "--data", data, "--epochs", "1"];
            if let Some(h) = extra {
                args.extend(["--hidden", h]);
            }
            run_ok("aegis-model", &args, &["--out", &p(out)]);
        }
        run_ok(
            "aegis-oversight",
            &["queue", "--attribution", "none"],
            &["--run", &p("bc"), "--out", &p("queue")],
        );
        let ids: Vec<String> = std::fs::read_to_string(f.path("queue/queue.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].to_string())
            .map(|id| id.trim_matches('"').to_string())
            .collect();
        assert!(!ids.is_empty(), "the queue fixture holds no item");
        let decisions: String = ids.iter().map(|id| format!("{id} accept\n")).collect();
        std::fs::write(f.path("decisions.txt"), decisions).unwrap();
        std::fs::write(f.path("empty.jsonl"), "").unwrap();
        let torch = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch_import");
        std::fs::create_dir(f.path("npy")).unwrap();
        std::fs::copy(torch.join("inputs.npy"), f.path("npy/x.npy")).unwrap();
        std::fs::copy(torch.join("labels.npy"), f.path("npy/x_labels.npy")).unwrap();
        f
    }
}

fn run_ok(bin: &str, args: &[&str], more: &[&str]) {
    let out = Command::new(binary(bin))
        .args(args)
        .args(more)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "fixture `{bin} {args:?}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A cheap valid command line of `bin sub` (`{OUT}` is a fresh folder per invocation), or
/// `None` for a subcommand without numeric flags.
fn base(bin: &str, sub: &str, f: &Fixtures) -> Option<Vec<String>> {
    let p = |name: &str| f.path(name).to_string_lossy().into_owned();
    let torch = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch_import");
    let t = |name: &str| torch.join(name).to_string_lossy().into_owned();
    let (bc, mnist, queue, decisions) = (p("bc"), p("mnist"), p("queue"), p("decisions.txt"));
    let (arch, weights, npy, empty) = (
        t("arch.json"),
        t("model.safetensors"),
        p("npy/x.npy"),
        p("empty.jsonl"),
    );
    let args: &[&str] = match (bin, sub) {
        ("aegis", "audit") => &["--run", &bc, "--profile", "quick", "--limit", "5"],
        ("aegis-model", "train") => &["--model", "mlp", "--data", "breast-cancer", "--epochs", "1"],
        ("aegis-model", "import") => &["--arch", &arch, "--weights", &weights, "--data", &npy],
        ("aegis-adversarial-trainer", "train") => &[
            "--data",
            "breast-cancer",
            "--model",
            "mlp",
            "--epochs",
            "1",
            "--steps",
            "1",
            "--no-eval",
        ],
        ("aegis-adversarial-trainer", "evaluate") => &[
            "--run",
            &bc,
            "--suite",
            "custom",
            "--attacks",
            "fgsm",
            "--eps",
            "0,0.1",
            "--limit",
            "5",
        ],
        ("aegis-adversarial-trainer", "attack") => &[
            "--run", &bc, "--attack", "pgd", "--eps", "0.1", "--limit", "5",
        ],
        ("aegis-adversarial-trainer", "certify") => &[
            "--run",
            &bc,
            "--method",
            "smoothing",
            "--n0",
            "5",
            "--n",
            "20",
            "--limit",
            "3",
        ],
        ("aegis-uncertainty", "calibrate") => &["--run", &bc],
        ("aegis-uncertainty", "conformal") => &["--run", &bc, "--splits", "2"],
        ("aegis-uncertainty", "ood") => &["--run", &mnist],
        ("aegis-uncertainty", "evaluate") => &["--run", &bc, "--passes", "2", "--members", "0"],
        ("aegis-interpretability", "explain") => &["--run", &bc, "--method", "ig", "--index", "0"],
        ("aegis-interpretability", "importance") => {
            &["--run", &bc, "--method", "permutation", "--rows", "5"]
        }
        ("aegis-interpretability", "pdp") => &["--run", &bc, "--feature", "0", "--rows", "5"],
        ("aegis-interpretability", "evaluate") => &["--run", &bc, "--rows", "5"],
        ("aegis-oversight", "calibrate-threshold") => &["--run", &bc, "--splits", "2"],
        ("aegis-oversight", "queue") => &["--run", &bc, "--attribution", "none"],
        ("aegis-oversight", "review") => &[
            &queue,
            "--reviewer",
            "r",
            "--decisions",
            &decisions,
            "--log",
            "{OUT}/log.jsonl",
        ],
        ("aegis-oversight", "report") => &[&queue, "--log", &empty],
        ("aegis-oversight", "serve") => {
            &[&queue, "--bind", "127.0.0.1:0", "--log", "{OUT}/log.jsonl"]
        }
        ("aegis-alignment", "plan") => &["--env", "gridworld", "--size", "4"],
        ("aegis-alignment", "irl") => &[
            "--env",
            "gridworld",
            "--size",
            "4",
            "--demos",
            "4",
            "--iterations",
            "2",
        ],
        ("aegis-alignment", "preferences") => &[
            "--size",
            "4",
            "--comparisons",
            "10",
            "--batch",
            "5",
            "--ensemble",
            "2",
        ],
        ("aegis-alignment", "shaping") => &["--size", "4", "--seeds", "2", "--episodes", "5"],
        _ => return None,
    };
    let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    // Every command that writes gets a folder of its own (`review` and `serve` their log).
    if !matches!(sub, "review" | "serve") {
        args.extend(["--out".to_string(), "{OUT}".to_string()]);
    }
    Some(args)
}

/// `args` without `--flag VALUE`, so the swept value is the only one.
fn without(args: &[String], flag: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == &format!("--{flag}") {
            it.next();
        } else {
            out.push(a.clone());
        }
    }
    out
}

/// The hostile values of a flag: by its type, or its own for a structured one.
fn hostile(arg: &clap::Arg) -> Option<Vec<&'static str>> {
    const UNSIGNED: [&str; 7] = [
        "0",
        "-1",
        "nan",
        "inf",
        "1e308",
        "18446744073709551615",
        "1000000000",
    ];
    const FLOAT: [&str; 9] = [
        "0", "-0", "-1", "nan", "inf", "-inf", "1e308", "1e-320", "1e-12",
    ];
    let own: &[&str] = match arg.get_long()? {
        "lr-schedule" => &[
            "step:0:0.5",
            "step:1:nan",
            "step:1:-1",
            "step:1:0",
            "step:18446744073709551615:0.5",
            "cosine:nan",
            "cosine:-1",
            "cosine:inf",
        ],
        "bounds" => &[
            "nan,1", "0,inf", "-inf,inf", "1,1", "1,0", "0,1e308", "inf,inf",
        ],
        "shard" => &[
            "0/0",
            "1/0",
            "2/1",
            "18446744073709551615/18446744073709551615",
            "1/1000000000",
        ],
        "expert-accuracy" => &["0", "-1", "nan", "inf", "1e308", "0.5,nan", "", "0.5,"],
        _ => &[],
    };
    if !own.is_empty() {
        return Some(own.to_vec());
    }
    let t = arg.get_value_parser().type_id();
    let mut values = if [
        TypeId::of::<usize>(),
        TypeId::of::<u64>(),
        TypeId::of::<u32>(),
    ]
    .iter()
    .any(|id| t == *id)
    {
        UNSIGNED.to_vec()
    } else if t == TypeId::of::<f64>() || t == TypeId::of::<f32>() {
        FLOAT.to_vec()
    } else {
        return None;
    };
    if arg.get_value_delimiter().is_some() {
        values.extend(["", "1,0", "1,nan", "1,-1"]);
    }
    Some(values)
}

/// One invocation of the sweep.
struct Case {
    bin: &'static str,
    args: Vec<String>,
    shown: String,
    /// The base command line itself, which must succeed: a broken base would make every
    /// value of its flags "refused".
    control: bool,
}

/// How an invocation ended.
enum Outcome {
    Accepted,
    Refused,
    Broke(String),
}

/// Runs `case` in `dir` (a fresh folder): accepted, refused, or what broke the contract.
fn check(case: &Case, dir: &Path) -> Outcome {
    std::fs::create_dir_all(dir).unwrap();
    let out = dir.join("out").to_string_lossy().into_owned();
    let mut child = Command::new(binary(case.bin))
        .args(case.args.iter().map(|a| a.replace("{OUT}", &out)))
        .current_dir(dir)
        .env("CUBECL_AUTOTUNE_LEVEL", "minimal")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // `serve` runs until stopped: still serving after a moment is how it accepts a value.
    let server = case.args[0] == "serve";
    let limit = if server { SERVER_START } else { TIMEOUT };
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            if server {
                return Outcome::Accepted;
            }
            return Outcome::Broke(format!("{}: still running after {TIMEOUT:?}", case.shown));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    let fault = match status.code() {
        _ if err.contains("panicked") || err.contains("RUST_BACKTRACE") => "panicked",
        None => "killed by a signal",
        Some(0) => return Outcome::Accepted,
        _ if case.control => "the base command line failed",
        Some(2) if lines.len() == 1 && lines[0].starts_with("error: ") && lines[0].len() <= 300 => {
            return Outcome::Refused;
        }
        Some(2) => "exit 2 without one short `error: …` line",
        Some(_) => "an exit code other than 0 or 2",
    };
    Outcome::Broke(format!(
        "{} ({:?}, {:.1}s): {fault}: {}",
        case.shown,
        status.code(),
        started.elapsed().as_secs_f64(),
        err.trim().chars().take(400).collect::<String>()
    ))
}

/// Every (numeric flag, hostile value) of every subcommand, on its base command line;
/// the global flags (`--threads`) once per binary, on its first subcommand.
fn cases(f: &Fixtures) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut globals_done: Vec<&str> = Vec::new();
    for w in walk() {
        let (bin, sub) = (w.mirror.bin, w.mirror.sub);
        if let Some(base) = base(bin, sub, f) {
            cases.push(Case {
                bin,
                shown: format!("`{bin} {sub} {}`", base.join(" ")),
                args: std::iter::once(sub.to_string()).chain(base).collect(),
                control: true,
            });
        }
        for flag in w.flags.iter().filter(|f| f.takes_value) {
            let arg = w.mirror.arg(&flag.long).unwrap();
            let Some(values) = hostile(arg) else {
                continue;
            };
            if arg.is_global_set() && globals_done.contains(&bin) {
                continue;
            }
            let base = base(bin, sub, f).unwrap_or_else(|| {
                panic!(
                    "`{bin} {sub} --{}` is numeric: give `{bin} {sub}` a cheap command line in \
                     base()",
                    flag.long
                )
            });
            for v in values {
                let mut args = vec![sub.to_string()];
                args.extend(without(&base, &flag.long));
                args.push(format!("--{}={v}", flag.long));
                cases.push(Case {
                    bin,
                    shown: format!("`{bin} {sub} --{}={v}`", flag.long),
                    args,
                    control: false,
                });
            }
        }
        // The global flags have been swept on this binary once its first subcommand with a
        // base command line is done.
        if base(bin, sub, f).is_some() && !globals_done.contains(&bin) {
            globals_done.push(bin);
        }
    }
    assert_eq!(
        globals_done.len(),
        BINARIES.len(),
        "global flags swept on every binary"
    );
    cases
}

#[test]
fn numeric_flags_take_hostile_values_without_a_crash() {
    let f = Fixtures::new();
    let cases = cases(&f);
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let (accepted, refused) = (AtomicUsize::new(0), AtomicUsize::new(0));
    // AEGIS_SWEEP_SHOW_ACCEPTED=1 lists the values that ran, to review what is let through.
    let show_accepted = std::env::var_os("AEGIS_SWEEP_SHOW_ACCEPTED").is_some();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(case) = cases.get(i) else { break };
                    let dir = f.path(&format!("case-{i}"));
                    match check(case, &dir) {
                        Outcome::Accepted => {
                            if show_accepted {
                                eprintln!("accepted: {}", case.shown);
                            }
                            accepted.fetch_add(1, Ordering::Relaxed)
                        }
                        Outcome::Refused => refused.fetch_add(1, Ordering::Relaxed),
                        Outcome::Broke(fault) => {
                            failures.lock().unwrap().push(fault);
                            0
                        }
                    };
                    let _ = std::fs::remove_dir_all(&dir);
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    eprintln!(
        "{} invocations ({} accepted, {} refused with one line) in {:.1}s on {threads} threads",
        cases.len(),
        accepted.into_inner(),
        refused.into_inner(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} of {} invocations broke the contract:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
