//! The bench's side of the PyTorch worker (`bench/pytorch/worker.py`): one persistent Python
//! process, one JSON command per line on its stdin, one JSON answer per line on its stdout.
//! The worker inherits the bench's CPU affinity (same cores) and is told the thread count.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::bench_python::Python;

/// The script every `--with-pytorch` command talks to.
pub const WORKER: &str = "bench/pytorch/worker.py";

/// What the worker says about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerInfo {
    /// `torch.__version__`.
    pub torch: String,
    /// `numpy.__version__`.
    pub numpy: String,
    /// Python version.
    pub python: String,
    /// `sys.executable`.
    pub executable: String,
    /// `torch.get_num_threads()` after the bench set it.
    pub threads: usize,
    /// oneDNN (mkldnn) compiled in.
    pub mkldnn: bool,
    /// `torch.cuda.is_available()`.
    pub cuda: bool,
}

/// One timed repeat on the PyTorch side.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Timed {
    /// Wall seconds of the timed part.
    pub seconds: f64,
    /// Process CPU seconds (user + system) in the same span.
    pub cpu_seconds: f64,
}

/// [`WORKER`] from the workspace root, or from the sources xtask was built from.
fn worker_script() -> std::path::PathBuf {
    let here = Path::new(WORKER);
    if here.is_file() {
        return here.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(WORKER)
}

/// A running worker.
pub struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    /// Versions and settings, from `hello`.
    pub info: WorkerInfo,
    /// How the interpreter was found.
    pub python: Python,
}

impl Worker {
    /// Starts `python WORKER` and sets its thread count.
    pub fn start(python: Python, threads: usize) -> Result<Self> {
        let mut child = Command::new(&python.path)
            .arg(worker_script())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {} {WORKER}", python.path.display()))?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().context("worker stdout")?);
        let mut worker = Self {
            child,
            stdin,
            stdout,
            info: WorkerInfo {
                torch: String::new(),
                numpy: String::new(),
                python: String::new(),
                executable: String::new(),
                threads: 0,
                mkldnn: false,
                cuda: false,
            },
            python,
        };
        let hello = worker.request(json!({"cmd": "hello", "threads": threads}))?;
        worker.info = serde_json::from_value(hello).context("the worker's hello")?;
        Ok(worker)
    }

    /// Sends one command and returns the answer (an error when the worker says `ok: false`
    /// or stops answering).
    pub fn request(&mut self, command: Value) -> Result<Value> {
        let stdin = self.stdin.as_mut().context("the worker is closed")?;
        writeln!(stdin, "{command}").context("writing to the PyTorch worker")?;
        stdin.flush()?;
        let mut line = String::new();
        let n = self.stdout.read_line(&mut line)?;
        if n == 0 {
            bail!(
                "the PyTorch worker exited during `{}` (its stderr is above)",
                command["cmd"]
            );
        }
        let answer: Value = serde_json::from_str(&line)
            .with_context(|| format!("the PyTorch worker answered `{}`", line.trim()))?;
        if answer["ok"] != json!(true) {
            bail!(
                "PyTorch worker, `{}`: {}",
                command["cmd"],
                answer["error"].as_str().unwrap_or("no message")
            );
        }
        Ok(answer)
    }

    /// Loads the bench's data files (see [`write_data`]).
    pub fn load_data(&mut self, dir: &Path, train_rows: usize, test_rows: usize) -> Result<()> {
        self.request(json!({"cmd": "data", "dir": dir, "train_rows": train_rows,
                            "test_rows": test_rows}))?;
        Ok(())
    }

    /// One timed repeat of `task` (a `run` command's fields).
    pub fn run(&mut self, task: &Value) -> Result<Timed> {
        let mut command = task.clone();
        command["cmd"] = json!("run");
        Ok(serde_json::from_value(self.request(command)?)?)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing stdin ends the worker's read loop.
        self.stdin.take();
        let _ = self.child.wait();
    }
}

/// Writes rows `[n, 784]` as little-endian f32 (`{name}_x.f32`) and labels as little-endian
/// i64 (`{name}_y.i64`) into `dir`: the worker reads exactly the bench's data.
pub fn write_data(dir: &Path, name: &str, features: &[f32], labels: &[usize]) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let x: Vec<u8> = features.iter().flat_map(|v| v.to_le_bytes()).collect();
    let y: Vec<u8> = labels
        .iter()
        .flat_map(|&v| (v as i64).to_le_bytes())
        .collect();
    std::fs::write(dir.join(format!("{name}_x.f32")), x)?;
    std::fs::write(dir.join(format!("{name}_y.i64")), y)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench_python::Python;

    /// The protocol end to end when `python3` has torch (skipped, with a note, otherwise):
    /// hello, data, one timed repeat, and an error answered as a line, not a dead worker.
    #[test]
    fn the_worker_answers_runs_and_reports_errors() {
        let python = Python {
            path: "python3".into(),
            found: "test".into(),
        };
        let has_torch = Command::new("python3")
            .args(["-c", "import torch, numpy"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_torch {
            eprintln!("skipped: python3 cannot import torch and numpy");
            return;
        }
        let mut worker = Worker::start(python, 1).expect("worker starts");
        assert_eq!(worker.info.threads, 1);
        assert!(!worker.info.torch.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let x: Vec<f32> = (0..32 * 784).map(|i| (i % 255) as f32 / 255.0).collect();
        let y: Vec<usize> = (0..32).map(|i| i % 10).collect();
        write_data(dir.path(), "train", &x, &y).unwrap();
        write_data(dir.path(), "test", &x, &y).unwrap();
        worker.load_data(dir.path(), 32, 32).unwrap();
        let task = json!({"task": "train", "arch": "mlp", "rows": 32, "batch": 16,
                          "test_rows": 8});
        let t = worker.run(&task).unwrap();
        assert!(t.seconds > 0.0 && t.cpu_seconds >= 0.0);
        let err = worker
            .request(json!({"cmd": "no such command"}))
            .unwrap_err();
        assert!(err.to_string().contains("KeyError"), "{err}");
        // Still answering after the error.
        assert!(worker.run(&task).is_ok());
    }
}
