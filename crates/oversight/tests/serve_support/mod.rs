//! What the review-server tests share: a small trained run and its queue (built once per test
//! binary, copied per test), the `serve` binary started on 127.0.0.1 port 0 with the URLs it
//! prints read back, and a raw HTTP/1.1 client on `TcpStream`, so a test controls every byte
//! it sends (headers, bodies, paths that other clients would normalise).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use aegis_model::{DataSource, TrainRequest, train_run};

pub const BIN: &str = env!("CARGO_BIN_EXE_aegis-oversight");

/// A run trained once per test binary, with a queue of every deployment row
/// (`--threshold 1.01`, no attributions): `(run, queue)`.
fn shared_queue(kind: &str) -> &'static (PathBuf, PathBuf) {
    static TABULAR: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    static IMAGES: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    let cell = if kind == "mnist" { &IMAGES } else { &TABULAR };
    cell.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("aegis-serve-{kind}-{}", std::process::id()));
        let run = root.join("run");
        let mut req = if kind == "mnist" {
            TrainRequest::new(DataSource::Mnist)
        } else {
            TrainRequest::new(DataSource::Blobs)
        };
        req.train = req.train.clone().with_epochs(1);
        if kind != "mnist" {
            req.hidden = Some(vec![8]);
        }
        req.out = Some(run.clone());
        train_run(&req).expect("training the test run");
        let queue = root.join("queue");
        let mut args = vec!["queue", "--run", run.to_str().unwrap(), "--out"];
        args.push(queue.to_str().unwrap());
        if kind == "mnist" {
            args.extend(["--coverage", "0.9"]);
        } else {
            args.extend(["--threshold", "1.01", "--attribution", "none"]);
        }
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (run, queue)
    })
}

/// A fresh copy of a shared queue (`kind`: `tabular` or `mnist`) in its own directory.
pub fn fresh_queue(kind: &str) -> (tempfile::TempDir, PathBuf) {
    let (_, shared) = shared_queue(kind);
    let dir = tempfile::tempdir().unwrap();
    let q = dir.path().join("q");
    std::fs::create_dir_all(&q).unwrap();
    for f in ["queue.json", "queue.jsonl", "config.json"] {
        std::fs::copy(shared.join(f), q.join(f)).unwrap();
    }
    (dir, q)
}

/// The item ids of a queue, in order.
pub fn item_ids(queue: &Path) -> Vec<String> {
    aegis_oversight::Queue::load(queue)
        .unwrap()
        .items
        .into_iter()
        .map(|i| i.id)
        .collect()
}

/// Lines in the queue's audit log (0 when it does not exist).
pub fn log_lines(queue: &Path) -> usize {
    std::fs::read_to_string(queue.join("audit.jsonl")).map_or(0, |t| t.lines().count())
}

/// A running `serve`; killed (SIGKILL) when dropped.
pub struct Served {
    pub child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// `(reviewer, token)` as printed.
    pub tokens: Vec<(String, String)>,
    pub stderr: mpsc::Receiver<String>,
}

impl Served {
    pub fn token(&self, reviewer: &str) -> String {
        self.tokens
            .iter()
            .find(|(r, _)| r == reviewer)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| panic!("no token for {reviewer}"))
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `aegis-oversight serve QUEUE --bind 127.0.0.1:0 ARGS…` and reads the URLs it prints.
pub fn serve(queue: &Path, args: &[&str]) -> Served {
    let mut child = Command::new(BIN)
        .arg("serve")
        .arg(queue)
        .args(["--bind", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let (etx, erx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = etx.send(line);
        }
    });
    let (mut addr, mut tokens) = (String::new(), Vec::new());
    loop {
        let line = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let err: Vec<String> = erx.try_iter().collect();
                panic!("serve printed no URLs; stderr: {}", err.join("\n"));
            }
        };
        if line.starts_with("team summary:") {
            break;
        } else if let Some(a) = line.strip_prefix("listening on http://") {
            addr = a.to_string();
        } else if let Some((name, url)) = line.trim().split_once(": http://") {
            if let Some((_, token)) = url.split_once("token=") {
                tokens.push((name.to_string(), token.to_string()));
            }
        }
    }
    Served {
        child,
        addr,
        tokens,
        stderr: erx,
    }
}

/// A response: status, head, body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

/// Sends `raw` bytes and reads the whole response (the server closes after each one).
pub fn raw(addr: &str, bytes: &[u8]) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    s.write_all(bytes)?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(Reply {
        status,
        head: head.to_string(),
        body: body.to_string(),
    })
}

/// `GET target` with extra header lines (`"Name: value"`).
pub fn get(addr: &str, target: &str, headers: &[&str]) -> Reply {
    let mut req = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\n");
    for h in headers {
        req.push_str(&format!("{h}\r\n"));
    }
    req.push_str("\r\n");
    raw(addr, req.as_bytes()).unwrap()
}

/// `POST path` with a form body and extra header lines.
pub fn post(addr: &str, path: &str, headers: &[&str], body: &str) -> std::io::Result<Reply> {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
        body.len()
    );
    for h in headers {
        req.push_str(&format!("{h}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    raw(addr, req.as_bytes())
}

/// The item id the review page shows (`data-item`), if any.
pub fn shown_item(page: &str) -> Option<String> {
    let at = page.find("data-item=\"")? + "data-item=\"".len();
    Some(page[at..at + page[at..].find('"')?].to_string())
}
