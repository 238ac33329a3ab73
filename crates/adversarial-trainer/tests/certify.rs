//! `certify --method smoothing` end to end on a SmallCnn trained with Gaussian noise on
//! bundled MNIST (`train --method gaussian`): shards merged equal the unsharded run bit for
//! bit (wall times aside), the same seed writes the same `certify.json` and another seed
//! other noise, the curve agrees with the rows, and bad input is one line with exit code 2.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn bin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aegis-adversarial-trainer"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The one-line error of a failed command (exit code 2).
fn fails(out: Output) -> String {
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

/// `certify.json` without wall times (the only thing a merge or a rerun cannot reproduce).
fn without_times(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("certify.json")).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v.as_object_mut().unwrap().remove("seconds");
    for r in v["rows"].as_array_mut().unwrap() {
        r.as_object_mut().unwrap().remove("seconds");
    }
    v
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap()
}

#[test]
fn gaussian_training_then_sharded_deterministic_certification() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    let run = p("run");
    let stdout = ok(bin(&[
        "train", "--method", "gaussian", "--sigma", "0.25", "--epochs", "1", "--out", &run,
    ]));
    assert!(stdout.contains("certify it with"), "{stdout}");
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(&run).join("config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(config["extensions"]["adversarial"]["method"], "gaussian");
    assert_eq!(config["extensions"]["adversarial"]["sigma"], 0.25);

    // Few samples: a row's count hangs on its noise, so shards only match when each row's
    // stream is keyed by its global index.
    let settings = [
        "--method",
        "smoothing",
        "--sigma",
        "0.25",
        "--n0",
        "20",
        "--n",
        "300",
        "--alpha",
        "0.01",
        "--batch-size",
        "64",
        "--limit",
        "10",
    ];
    let certify = |out: &str, extra: &[&str]| {
        ok(bin(&[
            &["certify", "--run", &run, "--out", out],
            &settings[..],
            extra,
        ]
        .concat()))
    };
    let full = p("full");
    let stdout = certify(&full, &[]);
    assert!(
        stdout.contains("certified accuracy at L2 radius 0.25"),
        "{stdout}"
    );
    let report = without_times(Path::new(&full));
    assert!(Path::new(&full).join("curve.png").exists());

    // The report adds its rows up.
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    let correct: Vec<f64> = rows
        .iter()
        .filter(|r| r["correct"] == true)
        .map(|r| r["radius"].as_f64().unwrap())
        .collect();
    assert!(
        correct.len() >= 5,
        "a trained model is mostly right: {report}"
    );
    let curve = report["curve"].as_array().unwrap();
    assert_eq!(curve[0]["certified"], correct.len());
    for point in curve {
        let r = point["radius"].as_f64().unwrap();
        let want = correct.iter().filter(|&&x| x >= r).count();
        assert_eq!(point["certified"], want, "at radius {r}");
    }
    let max = report["max_radius"].as_f64().unwrap();
    for row in rows {
        let (radius, p) = (
            row["radius"].as_f64().unwrap(),
            row["p_lower"].as_f64().unwrap(),
        );
        assert!(radius <= max && (0.0..=1.0).contains(&p), "{row}");
        assert_eq!(
            row["prediction"].is_null(),
            p < 0.5,
            "abstains exactly below 1/2: {row}"
        );
    }

    // The same seed again: the same report and the same curve, byte for byte.
    let again = p("again");
    certify(&again, &[]);
    assert_eq!(without_times(Path::new(&again)), report);
    assert_eq!(
        read(Path::new(&again), "curve.csv"),
        read(Path::new(&full), "curve.csv")
    );
    // Another seed draws other noise.
    let other = p("other");
    certify(&other, &["--seed", "5"]);
    let counts = |v: &Value| -> Vec<Value> {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["count"].clone())
            .collect()
    };
    assert_ne!(counts(&without_times(Path::new(&other))), counts(&report));

    // Shards 1/2 and 2/2, merged in either order, give the unsharded report.
    let (s1, s2) = (p("shard-1"), p("shard-2"));
    certify(&s1, &["--shard", "1/2"]);
    certify(&s2, &["--shard", "2/2"]);
    let merged = p("merged");
    ok(bin(&["certify", "--merge", &s2, &s1, "--out", &merged]));
    assert_eq!(without_times(Path::new(&merged)), report);
    assert_eq!(
        read(Path::new(&merged), "curve.csv"),
        read(Path::new(&full), "curve.csv")
    );

    // A merge refuses a gap, an overlap and shards of other settings.
    let err = fails(bin(&["certify", "--merge", &s1, "--out", &p("m1")]));
    assert!(err.contains("missing"), "{err}");
    let err = fails(bin(&[
        "certify",
        "--merge",
        &s1,
        &s1,
        &s2,
        "--out",
        &p("m2"),
    ]));
    assert!(err.contains("overlap"), "{err}");
    let s2_other = p("shard-2-other");
    certify(&s2_other, &["--shard", "2/2", "--seed", "3"]);
    let err = fails(bin(&[
        "certify",
        "--merge",
        &s1,
        &s2_other,
        "--out",
        &p("m3"),
    ]));
    assert!(err.contains("other settings"), "{err}");

    // Bad input: one line, exit code 2, before any work.
    for (flag, value, says) in [
        ("--sigma", "0", "sigma"),
        ("--sigma", "nan", "sigma"),
        ("--alpha", "1", "alpha"),
        ("--alpha", "1e-320", "alpha"),
        ("--n", "0", "n"),
        ("--n0", "0", "n0"),
        ("--batch-size", "0", "batch-size"),
        ("--limit", "0", "limit"),
        ("--shard", "3/2", "shard"),
    ] {
        let err = fails(bin(&[
            "certify",
            "--run",
            &run,
            "--method",
            "smoothing",
            flag,
            value,
        ]));
        assert!(err.contains(says), "{flag} {value}: {err}");
    }
    for method in ["ibp", "crown"] {
        let err = fails(bin(&["certify", "--run", &run, "--method", method]));
        assert!(err.contains("eps") && err.contains("required"), "{err}");
    }
}

#[test]
fn bound_propagation_verifies_rows_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    let run = p("mlp");
    let train =
        Path::new(env!("CARGO_BIN_EXE_aegis-adversarial-trainer")).with_file_name("aegis-model");
    assert!(train.is_file(), "aegis-model is built beside this binary");
    let out = Command::new(train)
        .args([
            "train", "--data", "mnist", "--model", "mlp", "--hidden", "32",
        ])
        .args(["--epochs", "1", "--out", &run])
        .output()
        .unwrap();
    ok(out);
    let mut verified = Vec::new();
    for method in ["ibp", "crown"] {
        let dir = p(method);
        let stdout = ok(bin(&[
            "certify", "--run", &run, "--method", method, "--eps", "0.005", "--limit", "40",
            "--out", &dir,
        ]));
        assert!(stdout.contains("verified accuracy"), "{stdout}");
        let report: Value = serde_json::from_slice(&read(Path::new(&dir), "bounds.json")).unwrap();
        let rows = report["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 40);
        for r in rows {
            let lowest = r["margin_lower"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_f64)
                .fold(f64::INFINITY, f64::min);
            let correct = r["prediction"] == r["label"];
            assert_eq!(r["verified"], correct && lowest > 0.0, "{r}");
        }
        let (v, c) = (
            report["verified_accuracy"].as_f64().unwrap(),
            report["clean_accuracy"].as_f64().unwrap(),
        );
        assert!(v <= c, "{method}: verified {v} > clean {c}");
        let csv = String::from_utf8(read(Path::new(&dir), "bounds.csv")).unwrap();
        assert_eq!(csv.lines().count(), 41);
        verified.push(v);
    }
    // A one-hidden-layer network: CROWN's bounds are provably at least IBP's.
    assert!(
        verified[1] >= verified[0],
        "CROWN {} < IBP {}",
        verified[1],
        verified[0]
    );

    let e = fails(bin(&["certify", "--run", &run, "--method", "crown"]));
    assert!(e.contains("eps"), "{e}");
    let e = fails(bin(&[
        "certify", "--run", &run, "--method", "ibp", "--eps", "0.1", "--shard", "1/2",
    ]));
    assert!(e.contains("shard"), "{e}");
    let e = fails(bin(&[
        "certify", "--run", &run, "--method", "ibp", "--eps", "nan",
    ]));
    assert!(e.contains("eps"), "{e}");
}
