//! `aegis audit` on models imported from ONNX (`import --onnx`, issue 24): the ResNet-18
//! (CIFAR layout) and the ViT of `tests/fixtures/onnx/`, each imported with a generated
//! `[3, 32, 32]` data set of ten classes, audited with the quick profile through the binary:
//! every stage is computed, the OOD section included, and the run's model is the graph
//! (`model.onnx` in the run).

use std::path::{Path, PathBuf};
use std::process::Command;

use aegis::model::{DataSource, DeviceSpec, OnnxImportRequest, import_onnx_run};
use serde_json::Value;

#[path = "support/npy.rs"]
mod npy;

/// The fixture `name` imported as a run under `dir`, audited on 60 generated rows.
fn imported(dir: &Path, name: &str) -> PathBuf {
    let onnx = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/onnx")
        .join(name)
        .join("model.onnx");
    std::fs::create_dir_all(dir).unwrap();
    let rows = 60;
    let x = dir.join("x.npy");
    npy::write_f32(&x, &[rows, 3, 32, 32], &npy::uniform(rows * 3 * 32 * 32, 5));
    let labels: Vec<i64> = (0..rows as i64).map(|i| i % 10).collect();
    npy::write_labels(&dir.join("x_labels.npy"), &labels);
    let run = dir.join("run");
    let report = import_onnx_run(&OnnxImportRequest {
        onnx,
        data: DataSource::Path(x),
        classes: None,
        split_seed: 0,
        device: DeviceSpec::Flex,
        out: run.clone(),
    })
    .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(report.format, "onnx");
    assert!(
        run.join("model.onnx").is_file(),
        "{name}: the graph is in the run"
    );
    run
}

fn audit(run: &Path, out: &Path) -> Value {
    let o = Command::new(env!("CARGO_BIN_EXE_aegis"))
        .args([
            "audit",
            "--run",
            run.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .args(["--profile", "quick"])
        .output()
        .expect("the aegis binary runs");
    assert!(
        o.status.success(),
        "audit failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    serde_json::from_slice(&std::fs::read(out.join("audit.json")).unwrap()).unwrap()
}

#[test]
fn imported_onnx_resnet_and_vit_audit_to_a_report() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["resnet18_cifar", "vit"] {
        let run = imported(&tmp.path().join(name), name);
        let config: Value =
            serde_json::from_slice(&std::fs::read(run.join("config.json")).unwrap()).unwrap();
        assert_eq!(config["model"]["architecture"], "graph", "{name}");
        assert_eq!(config["model"]["onnx"], "model.onnx", "{name}");
        let out = tmp.path().join(name).join("audit");
        let j = audit(&run, &out);
        // Every stage runs but the certified one: bound propagation cannot walk an ONNX
        // graph, so it is skipped (not failed) with the reason, which names the graph.
        for stage in j["stages"].as_array().unwrap() {
            if stage["stage"] == "certified" {
                assert_eq!(stage["status"], "skipped", "{name}: {stage}");
                let reason = stage["reason"].as_str().unwrap();
                assert!(reason.contains("ONNX graph"), "{name}: {reason}");
            } else {
                assert_eq!(stage["status"], "computed", "{name}: {stage}");
            }
        }
        assert!(j["certified"].is_null(), "{name}");
        assert!(!j["ood"]["sets"].as_array().unwrap().is_empty(), "{name}");
        assert_eq!(
            j["model"]["input_shape"],
            serde_json::json!([3, 32, 32]),
            "{name}"
        );
        assert!(out.join("report.html").is_file(), "{name}");
    }
}
