//! Killing a command mid-write and checking what it left: SIGKILL after a delay, every JSON
//! file under a folder parses (no torn file), and JSON compared without the fields that
//! measure time or say whether a result came from a cache; a run's metrics and test-set
//! probabilities, to compare a resumed training with an uninterrupted one.
#![allow(dead_code)] // each test file uses its part

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Starts `cmd` (output discarded) and kills it with SIGKILL after `after`. Returns whether
/// the kill landed before the command finished on its own.
pub fn kill_after(cmd: &mut Command, after: Duration) -> bool {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the command starts");
    let start = Instant::now();
    while start.elapsed() < after {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let landed = child.try_wait().unwrap().is_none();
    child.kill().ok(); // SIGKILL
    child.wait().unwrap();
    landed
}

/// Panics naming the first `.json` file under `dir` that does not parse: a file a killed
/// writer left half-written under its final name.
pub fn assert_json_files_parse(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            assert_json_files_parse(&path);
        } else if path.extension().is_some_and(|e| e == "json") {
            let bytes = std::fs::read(&path).unwrap();
            if let Err(e) = serde_json::from_slice::<Value>(&bytes) {
                panic!("{} is torn: {e}", path.display());
            }
        }
    }
}

/// `v` without the object fields named in `keys`, at any depth.
pub fn without_keys(v: &Value, keys: &[&str]) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), without_keys(v, keys)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| without_keys(v, keys)).collect()),
        other => other.clone(),
    }
}

/// The JSON file at `path`.
pub fn read_json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A run's `metrics.json` without its wall-clock fields.
pub fn metrics_without_time(run: &Path) -> Value {
    without_keys(
        &read_json(&run.join("metrics.json")),
        &["seconds", "wall_seconds"],
    )
}

/// The class probabilities of the run's model on its test split, bit for bit.
pub fn test_probabilities(run: &Path, device: &aegis_model::burn::tensor::Device) -> Vec<u32> {
    let (model, config) = aegis_model::RunDir::new(run).load_model(device).unwrap();
    let test = config.test_split(None).unwrap();
    aegis_model::predict_proba(&model, &test.features, 500, device)
        .iter()
        .map(|p| p.to_bits())
        .collect()
}
