//! The `aegis-model` binary end to end: the contract of `train`/`eval`/`predict`, and one test
//! per bad input (a one-line error naming the file and the fault, exit code 2, no panic).

use std::path::Path;
use std::process::{Command, Output};

#[path = "../../../tests/support/cli_contract.rs"]
mod cli_contract;
use cli_contract::assert_clean_error;

#[path = "../../../tests/support/figures.rs"]
mod figures;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aegis-model"));
    c.env("CUBECL_AUTOTUNE_LEVEL", "minimal");
    c
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("binary runs")
}

fn train_moons(dir: &Path) {
    let seed = figures::seed(4).to_string();
    let out = run(&[
        "train",
        "--data",
        "moons",
        "--epochs",
        "3",
        "--seed",
        &seed,
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn train_eval_predict_contract_on_tabular_data() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = tmp.path().join("run");
    train_moons(&run_dir);
    let metrics: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("metrics.json")).unwrap()).unwrap();
    let acc = metrics["test_accuracy"].as_f64().unwrap();
    // Spread: 0.87 to 0.885 in 14 runs (cargo xtask cross-cpu: seeds, kernels, L1d, ISA).
    figures::at_least("model_cli/moons_accuracy", acc, 0.8);
    assert_eq!(metrics["epochs"].as_array().unwrap().len(), 3);
    assert_eq!(metrics["seed"], figures::seed(4));
    assert_eq!(metrics["device"], "flex");
    assert!(metrics["wall_seconds"].as_f64().unwrap() > 0.0);
    assert!(run_dir.join("model.bpk").is_file() && run_dir.join("config.json").is_file());

    let out = run(&["eval", "--run", run_dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let eval: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("eval.json")).unwrap()).unwrap();
    assert_eq!(
        eval["test_accuracy"].as_f64().unwrap(),
        acc,
        "eval reproduces the training accuracy"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{:.2}%", 100.0 * acc)));

    let csv = tmp.path().join("rows.csv");
    std::fs::write(&csv, "x1,x0,extra\n0.5,1.0,7\n-0.3,0.0,7\n").unwrap();
    let out = run(&[
        "predict",
        "--run",
        run_dir.to_str().unwrap(),
        csv.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let p: f64 = lines[0]["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!((p - 1.0).abs() < 1e-4);
}

#[test]
fn predict_reads_idx_and_png_images() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = tmp.path().join("cnn");
    let out = run(&[
        "train",
        "--model",
        "mlp",
        "--hidden",
        "32",
        "--epochs",
        "1",
        "--out",
        run_dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut idx = vec![0u8, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28];
    idx.extend(std::iter::repeat_n(200u8, 2 * 784));
    let idx_path = tmp.path().join("imgs-idx3-ubyte");
    std::fs::write(&idx_path, &idx).unwrap();
    let out = run(&[
        "predict",
        "--run",
        run_dir.to_str().unwrap(),
        idx_path.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    let png = tmp.path().join("digit.png");
    image::GrayImage::from_pixel(56, 56, image::Luma([255]))
        .save(&png)
        .unwrap();
    let out = run(&[
        "predict",
        "--run",
        run_dir.to_str().unwrap(),
        png.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    // Truncated IDX input.
    std::fs::write(&idx_path, &idx[..idx.len() - 5]).unwrap();
    let out = run(&[
        "predict",
        "--run",
        run_dir.to_str().unwrap(),
        idx_path.to_str().unwrap(),
    ]);
    assert_clean_error(&out, &["imgs-idx3-ubyte", "truncated"]);
    // Corrupt PNG.
    std::fs::write(&png, b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let out = run(&[
        "predict",
        "--run",
        run_dir.to_str().unwrap(),
        png.to_str().unwrap(),
    ]);
    assert_clean_error(&out, &["digit.png", "cannot decode PNG"]);
}

#[test]
fn corrupt_idx_folder_is_a_clean_error() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let img = [
        vec![0u8, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28],
        vec![0u8; 784],
    ]
    .concat();
    for p in ["train", "t10k"] {
        std::fs::write(d.join(format!("{p}-images-idx3-ubyte")), &img).unwrap();
        std::fs::write(
            d.join(format!("{p}-labels-idx1-ubyte")),
            [0u8, 0, 8, 1, 0, 0, 0, 1, 3],
        )
        .unwrap();
    }
    std::fs::write(d.join("t10k-images-idx3-ubyte"), [9u8, 9, 9, 9, 9]).unwrap();
    let out = run(&[
        "train",
        "--data",
        d.to_str().unwrap(),
        "--epochs",
        "1",
        "--out",
        d.join("r").to_str().unwrap(),
    ]);
    assert_clean_error(&out, &["t10k-images-idx3-ubyte", "bad magic"]);
}

#[test]
fn bad_csv_files_are_clean_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            "ragged.csv",
            "a,b,target\n1,2,0\n3,1\n4,5,1\n",
            "line 3: expected 3 fields",
        ),
        (
            "text.csv",
            "a,b,target\n1,2,0\n3,abc,1\n",
            "column `b`: `abc` is not a number",
        ),
    ];
    for (name, text, fault) in cases {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        let out = run(&[
            "train",
            "--data",
            p.to_str().unwrap(),
            "--epochs",
            "1",
            "--out",
            tmp.path().join("r").to_str().unwrap(),
        ]);
        assert_clean_error(&out, &[name, fault]);
    }
    let out = run(&[
        "train",
        "--data",
        tmp.path().join("absent.csv").to_str().unwrap(),
    ]);
    assert_clean_error(&out, &["absent.csv", "no such file"]);
}

#[test]
fn bad_checkpoints_and_configs_are_clean_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let run_dir = tmp.path().join("run");
    train_moons(&run_dir);
    let r = run_dir.to_str().unwrap();
    let config = std::fs::read_to_string(run_dir.join("config.json")).unwrap();
    let weights = std::fs::read(run_dir.join("model.bpk")).unwrap();

    // Corrupt checkpoint: garbage, then truncated.
    std::fs::write(run_dir.join("model.bpk"), b"definitely not a burnpack").unwrap();
    assert_clean_error(
        &run(&["eval", "--run", r]),
        &["model.bpk", "bad checkpoint"],
    );
    std::fs::write(run_dir.join("model.bpk"), &weights[..weights.len() / 2]).unwrap();
    assert_clean_error(
        &run(&["eval", "--run", r]),
        &["model.bpk", "bad checkpoint"],
    );
    // Missing checkpoint.
    std::fs::remove_file(run_dir.join("model.bpk")).unwrap();
    assert_clean_error(&run(&["eval", "--run", r]), &["model.bpk", "not found"]);
    std::fs::write(run_dir.join("model.bpk"), &weights).unwrap();

    // Config with an unknown field, then a wrong type, then a missing config.
    let mut v: serde_json::Value = serde_json::from_str(&config).unwrap();
    v["train"]["learning_rat"] = serde_json::json!(0.1);
    std::fs::write(run_dir.join("config.json"), v.to_string()).unwrap();
    assert_clean_error(
        &run(&["eval", "--run", r]),
        &["config.json", "unknown field `train.learning_rat`"],
    );
    let mut v: serde_json::Value = serde_json::from_str(&config).unwrap();
    v["model"]["num_classes"] = serde_json::json!("two");
    std::fs::write(run_dir.join("config.json"), v.to_string()).unwrap();
    assert_clean_error(
        &run(&["eval", "--run", r]),
        &["config.json", "invalid type"],
    );
    std::fs::remove_file(run_dir.join("config.json")).unwrap();
    assert_clean_error(&run(&["eval", "--run", r]), &["config.json"]);

    // --config file for train with an unknown field.
    let cfg = tmp.path().join("train.json");
    std::fs::write(&cfg, r#"{"epochs": 1, "batchsize": 3}"#).unwrap();
    assert_clean_error(
        &run(&[
            "train",
            "--data",
            "moons",
            "--config",
            cfg.to_str().unwrap(),
        ]),
        &["train.json", "unknown field `batchsize`"],
    );
}

#[test]
fn bad_devices_and_arguments_are_clean_errors() {
    assert_clean_error(&run(&["--device", "tpu", "devices"]), &["tpu"]);
    if !cfg!(feature = "cuda") {
        let out = run(&[
            "train", "--data", "moons", "--device", "cuda", "--epochs", "1",
        ]);
        assert_clean_error(&out, &["cuda", "rebuild with"]);
    }
    let out = run(&["train", "--data", "moons", "--epochs", "0"]);
    assert_clean_error(&out, &["epochs"]);
    let out = run(&[
        "train", "--data", "moons", "--model", "smallcnn", "--epochs", "1",
    ]);
    assert_clean_error(&out, &["28×28"]);
}

#[test]
fn an_io_error_names_its_cause_once() {
    let out = run(&["eval", "--run", "/nonexistent-aegis-run"]);
    assert_clean_error(
        &out,
        &["/nonexistent-aegis-run", "No such file or directory"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}

#[test]
fn absurd_architectures_are_refused_before_allocation() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = |name: &str, out_features: u64| {
        let path = tmp.path().join(name);
        let json = format!(
            r#"{{"input_shape": [2], "layers": [
                {{"type": "linear", "in_features": 2, "out_features": {out_features}}},
                {{"type": "relu"}},
                {{"type": "linear", "in_features": {out_features}, "out_features": 2}}]}}"#
        );
        std::fs::write(&path, json).unwrap();
        path.to_str().unwrap().to_string()
    };
    // 2e9 × 2e9 weights (16 EB): over any machine's memory, refused under the default budget.
    let huge = spec("huge.json", 2_000_000_000);
    let run_dir = tmp.path().join("run").to_str().unwrap().to_string();
    for cmd in [
        vec!["train", "--data", "moons", "--arch", &huge, "--epochs", "1"],
        vec![
            "import",
            "--data",
            "moons",
            "--arch",
            &huge,
            "--weights",
            "absent.pt",
        ],
    ] {
        let mut args = cmd.clone();
        args.extend(["--out", &run_dir]);
        assert_clean_error(
            &run(&args),
            &[
                "huge.json",
                "layer 0 (linear)",
                "memory budget",
                "AEGIS_MEMORY_BUDGET",
            ],
        );
    }
    assert!(!tmp.path().join("run").exists(), "nothing written");

    // 2 → 100,000 → 2 is 2 MB of weights (1.2 MB in the first layer): over a 1 MiB budget,
    // and the error names the budget's origin; 1 GiB lets it train (and evaluate 500 rows at
    // a time: 400 MB).
    let wide = spec("wide.json", 100_000);
    let args = ["train", "--data", "moons", "--arch", &wide, "--epochs", "1"];
    let train_within = |budget: &str| {
        bin()
            .args(args)
            .args(["--out", tmp.path().join("wide").to_str().unwrap()])
            .env("AEGIS_MEMORY_BUDGET", budget)
            .output()
            .unwrap()
    };
    assert_clean_error(
        &train_within("1MiB"),
        &[
            "wide.json",
            "layer 0 (linear)",
            "1.0 MiB (AEGIS_MEMORY_BUDGET)",
        ],
    );
    let out = train_within("1GiB");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = bin()
        .args(args)
        .env("AEGIS_MEMORY_BUDGET", "lots")
        .output()
        .unwrap();
    assert_clean_error(
        &out,
        &["wide.json", "AEGIS_MEMORY_BUDGET=\"lots\" is not a size"],
    );
}

/// `import --onnx`: a fixture graph becomes a run that `eval` takes unchanged; each bad file of
/// `tests/fixtures/onnx/bad/` is one line and exit code 2, and writes no run.
#[test]
fn import_onnx_writes_a_run_and_refuses_bad_graphs() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/onnx");
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("x.csv");
    let mut csv = (0..20)
        .map(|i| format!("f{i}"))
        .collect::<Vec<_>>()
        .join(",")
        + ",label\n";
    for r in 0..30 {
        let row: Vec<String> = (0..20)
            .map(|i| format!("{:.3}", ((r * 7 + i * 3) % 11) as f32 / 11.0))
            .collect();
        csv += &format!("{},{}\n", row.join(","), r % 3);
    }
    std::fs::write(&data, csv).unwrap();
    let run_dir = tmp.path().join("run");
    let import = |onnx: &Path, out: &Path| {
        run(&[
            "import",
            "--onnx",
            onnx.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let out = import(&fixtures.join("external/model.onnx"), &run_dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(run_dir.join("model.onnx").is_file() && run_dir.join("model.onnx.data").is_file());
    let out = run(&["eval", "--run", run_dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let cases: [(&str, &[&str]); 7] = [
        ("cycle.onnx", &["cycle.onnx", "cycle"]),
        (
            "missing_initializer.onnx",
            &["missing_initializer.onnx", "missing initializer"],
        ),
        ("truncated.onnx", &["truncated.onnx", "not an ONNX model"]),
        ("not_onnx.onnx", &["not_onnx.onnx", "not an ONNX model"]),
        (
            "escape.onnx",
            &["escape.onnx", "../../x.data", "outside the model's folder"],
        ),
        (
            "unsupported.onnx",
            &[
                "node \"spectrum_dft\" uses DFT (opset 20)",
                "does not implement",
            ],
        ),
        ("two_inputs.onnx", &["two_inputs.onnx", "one float input"]),
    ];
    for (file, needles) in cases {
        let out_dir = tmp.path().join(file);
        let out = import(&fixtures.join("bad").join(file), &out_dir);
        assert_clean_error(&out, needles);
        assert!(!out_dir.exists(), "{file}: no run written");
    }
}
