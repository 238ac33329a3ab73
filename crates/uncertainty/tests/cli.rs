//! The `aegis-uncertainty` binary end to end: the contract files of `calibrate`, `conformal`
//! and `ood` on a small MNIST run, `ood` on an imported colour model (`[3, 16, 16]`), and bad
//! input (a one-line error naming the file or parameter, exit code 2, no panic).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use aegis_model::import::WeightsSource;
use aegis_model::{
    DataSource, DeviceSpec, ImportRequest, SequentialSpec, TrainConfig, TrainRequest, import_run,
    train_run,
};

#[path = "../../../tests/support/cli_contract.rs"]
mod cli_contract;
use cli_contract::assert_clean_error;

#[path = "../../../tests/support/figures.rs"]
mod figures;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aegis-uncertainty"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("aegis-unc-cli-{}", std::process::id()))
}

/// SmallCnn on bundled MNIST, two epochs (trained once per test process).
fn mnist_run() -> &'static str {
    static RUN: OnceLock<String> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = root().join("mnist");
        let mut req = TrainRequest::new(DataSource::Mnist);
        req.train = TrainConfig::new()
            .with_epochs(2)
            .with_seed(figures::seed(1));
        req.out = Some(dir.clone());
        train_run(&req).unwrap();
        dir.to_string_lossy().into_owned()
    })
}

#[test]
fn contract_files_of_calibrate_conformal_and_ood() {
    let run_dir = mnist_run();
    let out = root().join("out");
    let o = |name: &str| out.join(name).to_string_lossy().into_owned();

    let r = run(&["calibrate", "--run", run_dir, "--out", &o("cal")]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let cal = json(&out.join("cal/calibration.json"));
    for key in [
        "temperature",
        "nll_before",
        "nll_after",
        "ece_before",
        "ece_after",
    ] {
        assert!(cal[key].is_f64(), "calibration.json lacks {key}");
    }
    assert!(out.join("cal/reliability.png").exists());

    let r = run(&[
        "conformal",
        "--run",
        run_dir,
        "--alpha",
        "0.1",
        "--score",
        "aps",
        "--splits",
        "5",
        "--out",
        &o("conf"),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let conf = json(&out.join("conf/conformal.json"));
    // Spread: 0.8968 to 0.9064 in 13 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
    figures::at_least(
        "uncertainty/aps_mean_coverage",
        conf["mean_coverage"].as_f64().unwrap(),
        0.8,
    );
    // Spread: 1.1976 to 1.2772 in 13 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
    figures::at_least(
        "uncertainty/aps_mean_set_size",
        conf["mean_set_size"].as_f64().unwrap(),
        1.0,
    );
    assert_eq!(conf["splits"].as_array().unwrap().len(), 5);

    let r = run(&[
        "ood",
        "--run",
        run_dir,
        "--estimator",
        "mc-dropout",
        "--passes",
        "3",
        "--out",
        &o("ood"),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let ood = json(&out.join("ood/ood.json"));
    for set in [
        "gaussian-noise",
        "uniform-noise",
        "inverted",
        "rotated-45",
        "rotated-90",
        "gaussian-blur",
        "colour-jitter",
    ] {
        for score in [
            "msp",
            "max-logit",
            "energy",
            "entropy",
            "mutual-information",
        ] {
            let v = ood["auroc"][set][score].as_f64();
            assert!(
                v.is_some_and(|v| (0.0..=1.0).contains(&v)),
                "{set}/{score}: {v:?}"
            );
        }
    }
    assert!(out.join("ood/ood.csv").exists() && out.join("ood/ood.png").exists());
}

/// The PyTorch fixture (a residual CNN with batch norms on `[3, 16, 16]` inputs, 10 classes)
/// imported as a run on its own 16 rows.
fn colour_run() -> PathBuf {
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/torch_import");
    let dir = root().join("colour");
    let req = ImportRequest {
        spec: SequentialSpec::from_file(&f.join("arch.json")).unwrap(),
        arch_path: f.join("arch.json"),
        weights: f.join("model.safetensors"),
        source: WeightsSource::default(),
        data: DataSource::Path(f.join("inputs.npy")),
        classes: None,
        split_seed: 0,
        device: DeviceSpec::Flex,
        out: dir.clone(),
    };
    import_run(&req).unwrap();
    dir
}

#[test]
fn ood_runs_on_an_imported_colour_model() {
    let run_dir = colour_run();
    let out = root().join("colour-ood");
    let r = run(&[
        "ood",
        "--run",
        run_dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let ood = json(&out.join("ood.json"));
    assert_eq!(ood["sample_shape"], serde_json::json!([3, 16, 16]));
    let sets: Vec<&str> = ood["sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["set"].as_str().unwrap())
        .collect();
    // Every kind applies to a 3-channel image: the two noise sets and five shifts.
    assert_eq!(
        sets,
        [
            "gaussian-noise",
            "uniform-noise",
            "inverted",
            "rotated-45",
            "rotated-90",
            "gaussian-blur",
            "colour-jitter"
        ]
    );
    let csv = std::fs::read_to_string(out.join("ood.csv")).unwrap();
    for set in &sets {
        for score in ["msp", "max-logit", "energy", "entropy"] {
            let v = ood["auroc"][set][score].as_f64();
            assert!(
                v.is_some_and(|v| v.is_finite() && (0.0..=1.0).contains(&v)),
                "{set}/{score}: {v:?}"
            );
            assert!(
                csv.contains(&format!(",{set},{score},")),
                "{set}/{score} not in ood.csv"
            );
        }
        let noise = set.ends_with("-noise");
        assert_eq!(ood["shifted_accuracy"][set].is_f64(), !noise, "{set}");
    }
    assert!(out.join("ood.png").exists());
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    let missing = root().join("no-such-run");
    let m = missing.to_string_lossy().into_owned();
    assert_clean_error(&run(&["calibrate", "--run", &m]), &["no-such-run"]);
    let run_dir = mnist_run();
    assert_clean_error(
        &run(&["conformal", "--run", run_dir, "--alpha", "1.5", "--out", &m]),
        &["alpha"],
    );
    assert_clean_error(
        &run(&["conformal", "--run", run_dir, "--score", "nope"]),
        &["nope"],
    );
    let bad_cfg = root().join("bad-config");
    std::fs::create_dir_all(&bad_cfg).unwrap();
    std::fs::write(bad_cfg.join("config.json"), "{ not json").unwrap();
    assert_clean_error(
        &run(&["ood", "--run", &bad_cfg.to_string_lossy()]),
        &["config.json"],
    );
}
