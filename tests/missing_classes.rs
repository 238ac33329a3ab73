//! Runs whose test labels miss classes: every command of every binary that takes a run (and
//! the review commands on its queue) works on the 10-class colour residual model of
//! `tests/fixtures/torch_import` imported with data whose labels use two classes (3 and 6, so
//! the highest class is absent) and one class (3). The class count is the model's everywhere:
//! no panic, no "shape mismatch", per-class outputs sized to the model's 10 classes. A label
//! the model cannot output is one line naming the file and the row, exit code 2.
//!
//! The same sweep runs on the CIFAR ResNet-18 of `tests/fixtures/onnx` imported as a graph
//! (`import --onnx`), with labels of five of its ten classes.
//!
//! The commands taking `--run` are found from the binaries' `--help`
//! (`support/cli_help.rs`), so a new one cannot escape; [`command`] must know each.

#[path = "support/cli_contract.rs"]
mod cli_contract;
#[path = "support/cli_help.rs"]
mod cli_help;
#[path = "support/npy.rs"]
mod npy;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use aegis::model::import::WeightsSource;
use aegis::model::{DataSource, DeviceSpec, ImportRequest, SequentialSpec};
use cli_contract::assert_clean_error;
use cli_help::{BINARIES, binary, flags, help, subcommands};
use serde_json::Value;

/// Rows of the generated data sets (a fifth of them are the test split).
const ROWS: usize = 120;

fn torch_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/torch_import")
        .join(name)
}

/// `DIR/x.npy` (`[ROWS, 3, 16, 16]`, uniform in `[0, 1)`) and its labels.
fn data(dir: &Path, labels: &[i64]) -> PathBuf {
    data_of_shape(dir, labels, &[3, 16, 16])
}

/// `DIR/x.npy` (`[ROWS, …sample]`, uniform in `[0, 1)`) and its labels.
fn data_of_shape(dir: &Path, labels: &[i64], sample: &[usize]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let x = dir.join("x.npy");
    let shape: Vec<usize> = std::iter::once(ROWS)
        .chain(sample.iter().copied())
        .collect();
    let n = shape.iter().product();
    npy::write_f32(&x, &shape, &npy::uniform(n, 7));
    npy::write_labels(&dir.join("x_labels.npy"), labels);
    x
}

/// The CIFAR-layout ResNet-18 of `tests/fixtures/onnx` (an ONNX graph exported by PyTorch)
/// imported with `import --onnx`.
fn import_onnx_resnet(data: &Path, out: &Path) {
    let onnx =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx/resnet18_cifar/model.onnx");
    aegis::model::import_onnx_run(&aegis::model::OnnxImportRequest {
        onnx,
        data: DataSource::Path(data.to_path_buf()),
        classes: None,
        split_seed: 0,
        device: DeviceSpec::Flex,
        out: out.to_path_buf(),
    })
    .unwrap();
}

fn import(data: &Path, out: &Path) -> aegis::model::Result<aegis::model::ImportReport> {
    let arch = torch_fixture("arch.json");
    aegis::model::import_run(&ImportRequest {
        spec: SequentialSpec::from_file(&arch).unwrap(),
        arch_path: arch,
        weights: torch_fixture("model.safetensors"),
        source: WeightsSource::default(),
        data: DataSource::Path(data.to_path_buf()),
        classes: None,
        split_seed: 0,
        device: DeviceSpec::Flex,
        out: out.to_path_buf(),
    })
}

/// The subcommands of every binary whose `--help` has a `--run` flag, and whether they take
/// `--out`.
fn commands_taking_a_run() -> Vec<(&'static str, String, bool)> {
    let mut out = Vec::new();
    for bin in BINARIES {
        for sub in subcommands(&help(bin, &[])) {
            let flags = flags(&help(bin, &[&sub]));
            if flags.iter().any(|f| f.long == "run") {
                out.push((bin, sub, flags.iter().any(|f| f.long == "out")));
            }
        }
    }
    out
}

/// A cheap command line of `bin sub` on `run`, writing into `out` when it takes `--out`.
fn command(bin: &str, sub: &str, run: &str, x: &str, out: Option<&str>) -> Vec<String> {
    let args: Vec<&str> = match (bin, sub) {
        ("aegis", "audit") => vec!["--profile", "quick"],
        ("aegis-model", "eval") => vec![],
        ("aegis-model", "predict") => vec![x],
        ("aegis-model", "export") => vec![],
        ("aegis-adversarial-trainer", "evaluate") => {
            vec![
                "--suite",
                "custom",
                "--attacks",
                "fgsm,pgd",
                "--eps",
                "0,0.03",
            ]
        }
        ("aegis-adversarial-trainer", "attack") => vec!["--attack", "pgd", "--eps", "0.03"],
        ("aegis-adversarial-trainer", "certify") => {
            vec!["--method", "smoothing", "--n0", "10", "--n", "50"]
        }
        ("aegis-uncertainty", "calibrate") => vec![],
        ("aegis-uncertainty", "conformal") => vec!["--splits", "2"],
        ("aegis-uncertainty", "ood") => vec![],
        ("aegis-uncertainty", "evaluate") => vec!["--passes", "2", "--members", "0"],
        ("aegis-interpretability", "explain") => vec!["--method", "ig", "--index", "0"],
        ("aegis-interpretability", "importance") => vec!["--method", "permutation", "--rows", "4"],
        ("aegis-interpretability", "pdp") => vec!["--feature", "0", "--rows", "8"],
        ("aegis-interpretability", "evaluate") => vec!["--rows", "4"],
        ("aegis-oversight", "calibrate-threshold") => vec!["--splits", "2"],
        ("aegis-oversight", "queue") => vec!["--attribution", "none"],
        _ => panic!("`{bin} {sub}` takes --run: give it a command line in command()"),
    };
    let mut v: Vec<String> = vec![sub.to_string(), "--run".into(), run.into()];
    v.extend(args.iter().map(|a| a.to_string()));
    if let Some(out) = out {
        v.extend(["--out".to_string(), out.to_string()]);
    }
    v
}

/// Runs `bin args` (a server for `serve_for` and then stopped); panics on a panic, a signal or a
/// failure, with its stderr.
fn run_ok(bin: &str, args: &[String], serve_for: Option<Duration>) -> Output {
    let mut child = Command::new(binary(bin))
        .args(args)
        .env("CUBECL_AUTOTUNE_LEVEL", "minimal")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(d) = serve_for {
        let start = Instant::now();
        while start.elapsed() < d {
            assert!(
                child.try_wait().unwrap().is_none(),
                "`{bin} {args:?}` stopped: {}",
                String::from_utf8_lossy(&child.wait_with_output().unwrap().stderr)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        child.kill().unwrap();
    }
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !err.contains("panicked"),
        "`{bin} {args:?}` panicked: {err}"
    );
    assert!(
        serve_for.is_some() || o.status.success(),
        "`{bin} {args:?}` failed ({:?}): {err}",
        o.status.code()
    );
    o
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every command on one run, then the review commands on its queue, with the class-sized
/// outputs checked.
fn sweep(root: &Path, labels: &[i64]) {
    let x = data(&root.join("data"), labels);
    let run = root.join("run");
    import(&x, &run).unwrap();
    sweep_run(root, labels, &x, &run, &[]);
}

/// [`sweep`] on a run already imported from the data `x` labelled `labels`; the commands of
/// `refused` must refuse it in one line containing their needle (exit 2).
fn sweep_run(root: &Path, labels: &[i64], x: &Path, run: &Path, refused: &[(&str, &str)]) {
    let s = |p: &Path| p.to_string_lossy().into_owned();
    for (bin, sub, takes_out) in commands_taking_a_run() {
        let out = s(&root.join(format!("{bin}-{sub}")));
        let args = command(bin, &sub, &s(run), &s(x), takes_out.then_some(out.as_str()));
        if let Some((_, needle)) = refused.iter().find(|(name, _)| *name == sub) {
            let o = Command::new(binary(bin)).args(&args).output().unwrap();
            assert_clean_error(&o, &[needle]);
            continue;
        }
        let o = run_ok(bin, &args, None);
        if sub == "predict" {
            for line in String::from_utf8_lossy(&o.stdout).lines() {
                let p = &serde_json::from_str::<Value>(line).unwrap()["probabilities"];
                assert_eq!(p.as_array().map(Vec::len), Some(10), "{line}");
            }
        }
    }
    let audit = json(&root.join("aegis-audit/audit.json"));
    let per_class = audit["accuracy"]["per_class"].as_array().unwrap();
    assert_eq!(per_class.len(), 10);
    for (k, c) in per_class.iter().enumerate() {
        let used = labels.contains(&(k as i64));
        assert_eq!(c["n"].as_u64().unwrap() > 0, used, "class {k}: {c}");
        assert_eq!(c["accuracy"].is_null(), !used, "class {k}: {c}");
    }
    for st in audit["stages"].as_array().unwrap() {
        assert_ne!(st["status"], "failed", "{st}");
    }
    let queue = root.join("aegis-oversight-queue");
    let items = std::fs::read_to_string(queue.join("queue.jsonl")).unwrap();
    let ids: Vec<String> = items
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .inspect(|item| assert_eq!(item["probabilities"].as_array().unwrap().len(), 10))
        .map(|item| item["id"].as_str().unwrap().to_string())
        .collect();
    let decisions = root.join("decisions.txt");
    // Relabel every item as the absent class 9: a class the model has, the test set lacks.
    let text: String = ids.iter().map(|id| format!("{id} 9\n")).collect();
    std::fs::write(&decisions, text).unwrap();
    let log = root.join("log.jsonl");
    let review = [
        s(&queue),
        "--reviewer".into(),
        "r".into(),
        "--decisions".into(),
        s(&decisions),
        "--log".into(),
        s(&log),
    ];
    run_ok(
        "aegis-oversight",
        &[&["review".to_string()], &review[..]].concat(),
        None,
    );
    let report = [
        "report".to_string(),
        s(&queue),
        "--log".into(),
        s(&log),
        "--out".into(),
        s(&root.join("report")),
    ];
    run_ok("aegis-oversight", &report, None);
    let serve = [
        "serve".to_string(),
        s(&queue),
        "--bind".into(),
        "127.0.0.1:0".into(),
        "--log".into(),
        s(&root.join("serve-log.jsonl")),
    ];
    run_ok("aegis-oversight", &serve, Some(Duration::from_secs(2)));
}

#[test]
fn every_command_works_when_the_test_labels_lack_the_highest_classes() {
    let tmp = tempfile::tempdir().unwrap();
    let labels: Vec<i64> = (0..ROWS as i64)
        .map(|i| if i % 3 == 0 { 6 } else { 3 })
        .collect();
    sweep(tmp.path(), &labels);
}

#[test]
fn every_command_works_when_the_test_labels_use_one_class() {
    let tmp = tempfile::tempdir().unwrap();
    sweep(tmp.path(), &[3; ROWS]);
}

#[test]
fn every_command_works_on_an_imported_onnx_graph() {
    let tmp = tempfile::tempdir().unwrap();
    let labels: Vec<i64> = (0..ROWS as i64).map(|i| i % 5).collect();
    let x = data_of_shape(&tmp.path().join("data"), &labels, &[3, 32, 32]);
    let run = tmp.path().join("run");
    import_onnx_resnet(&x, &run);
    // A graph has no layer spec to export: `export` says so (its model.onnx is portable).
    sweep_run(tmp.path(), &labels, &x, &run, &[("export", "ONNX graph")]);
}

#[test]
fn a_label_the_model_cannot_output_names_the_file_and_row() {
    let tmp = tempfile::tempdir().unwrap();
    let mut labels = vec![3i64; ROWS];
    labels[17] = 12;
    let x = data(tmp.path(), &labels);
    let e = import(&x, &tmp.path().join("bad")).unwrap_err().to_string();
    assert!(
        e.contains("x.npy") && e.contains("label 12 of row 17"),
        "{e}"
    );
    assert!(e.contains("10 classes"), "{e}");
    assert!(!tmp.path().join("bad").exists());

    // The same through the binary, and `eval --data` of a good run on the bad file.
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let o = Command::new(binary("aegis-model"))
        .args(["import", "--arch", &s(&torch_fixture("arch.json"))])
        .args(["--weights", &s(&torch_fixture("model.safetensors"))])
        .args(["--data", &s(&x), "--out", &s(&tmp.path().join("run2"))])
        .output()
        .unwrap();
    assert_clean_error(&o, &["x.npy", "label 12 of row 17"]);
    assert!(!tmp.path().join("run2").exists());
    let good = data(&tmp.path().join("good"), &[3; ROWS]);
    import(&good, &tmp.path().join("run")).unwrap();
    let o = Command::new(binary("aegis-model"))
        .args([
            "eval",
            "--run",
            &s(&tmp.path().join("run")),
            "--data",
            &s(&x),
        ])
        .output()
        .unwrap();
    assert_clean_error(&o, &["x.npy", "label 12 of row 17"]);
}
