//! `serve`: human review in the browser. A local HTTP server on the queue and its audit log:
//! one URL with a random token per reviewer, leases, optional double review, first decision
//! wins, every answer fsync'd before it is acknowledged. The library side is
//! [`crate::serve::Server`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aegis_model::RunDir;

use super::shared::model_hash;
use crate::error::{OversightError, Result};
use crate::queue::Queue;
use crate::serve::{Labels, ServeConfig, Server};

/// Flags of `serve`.
#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Queue directory (from `queue`).
    pub queue: PathBuf,
    /// Address to listen on. Anything but a loopback address prints a warning: the pages and
    /// tokens travel as plain HTTP.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub bind: String,
    /// Reviewers, comma-separated; each gets their own token and URL.
    #[arg(long, default_value = "reviewer")]
    pub reviewers: String,
    /// Show every item to two reviewers, for agreement statistics (needs two reviewers).
    #[arg(long)]
    pub double_review: bool,
    /// Seconds an item stays leased to the reviewer it is shown to (renewed while the page is
    /// open).
    #[arg(long, default_value_t = 300)]
    pub lease_secs: u64,
    /// Audit log [default: QUEUE/audit.jsonl].
    #[arg(long)]
    pub log: Option<PathBuf>,
}

/// `--reviewers`: names of letters, digits, `.`, `_`, `-`, each once.
fn parse_reviewers(list: &str) -> Result<Vec<String>> {
    let bad = |reason: String| OversightError::BadFlag {
        flag: "reviewers".into(),
        value: list.into(),
        reason,
    };
    let names: Vec<String> = list.split(',').map(|s| s.trim().to_string()).collect();
    for (i, n) in names.iter().enumerate() {
        if n.is_empty() || n.len() > 64 {
            return Err(bad("a name must have 1 to 64 characters".into()));
        }
        if !n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(bad(format!(
                "{n:?}: use letters, digits, '.', '_' and '-' only"
            )));
        }
        if names[..i].contains(n) {
            return Err(bad(format!("{n:?} is named twice")));
        }
    }
    Ok(names)
}

/// The run's true test labels, checked to belong to the queue's model, or why not.
fn run_labels(queue: &Queue) -> Labels {
    let run = RunDir::new(&queue.meta.run);
    let hash = model_hash(&run).map_err(|e| e.to_string())?;
    if hash != queue.meta.model_hash {
        return Err(format!(
            "the weights in {} changed since the queue was built",
            queue.meta.run.display()
        ));
    }
    let config = run.load_config().map_err(|e| e.to_string())?;
    let labels = config.test_split(None).map_err(|e| e.to_string())?.labels;
    Ok(labels)
}

/// `conformal_alpha` of the queue's `config.json`, when it is there.
fn queue_alpha(dir: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join("config.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v.get("conformal_alpha")?.as_f64()
}

impl ServeArgs {
    /// Checks the flags, loads the queue, binds, prints one URL per reviewer and serves until
    /// the process is stopped.
    pub fn run(self) -> Result<()> {
        let bind: SocketAddr = self.bind.parse().map_err(|_| OversightError::BadFlag {
            flag: "bind".into(),
            value: self.bind.clone(),
            reason: "expected IP:PORT, e.g. 127.0.0.1:8787".into(),
        })?;
        let reviewers = parse_reviewers(&self.reviewers)?;
        if self.double_review && reviewers.len() < 2 {
            return Err(OversightError::invalid(
                "--double-review",
                "needs at least two --reviewers",
            ));
        }
        if self.lease_secs == 0 || self.lease_secs > 86_400 {
            return Err(OversightError::invalid(
                "--lease-secs",
                "must be 1 to 86400",
            ));
        }
        let queue = Queue::load(&self.queue)?;
        let log = self
            .log
            .clone()
            .unwrap_or_else(|| self.queue.join("audit.jsonl"));
        let labels = run_labels(&queue);
        let server = Server::bind(ServeConfig {
            queue,
            log: log.clone(),
            bind,
            reviewers,
            reviews_per_item: if self.double_review { 2 } else { 1 },
            lease: Duration::from_secs(self.lease_secs),
            labels,
            alpha: queue_alpha(&self.queue),
        })?;
        let addr = server.addr();
        if !addr.ip().is_loopback() {
            eprintln!(
                "warning: serving on {addr}, which is not a loopback address: anyone who can \
                 reach this port can try it, and plain HTTP carries the tokens and the items \
                 unencrypted. Prefer 127.0.0.1 and an SSH tunnel (ssh -L {p}:127.0.0.1:{p} \
                 HOST).",
                p = addr.port()
            );
        }
        let (total, complete, lines) = server.status();
        println!(
            "serving {total} queued items of {} ({complete} complete, {} review(s) each, \
             leases {} s); audit log {} ({lines} records)",
            self.queue.display(),
            if self.double_review { 2 } else { 1 },
            self.lease_secs,
            log.display()
        );
        println!("listening on {}", server.base_url());
        let urls = server.urls();
        for (name, url) in &urls {
            println!("  {name}: {url}");
        }
        if let Some((_, url)) = urls.first() {
            println!(
                "team summary: {} (any reviewer's token)",
                url.replacen("/review?", "/summary?", 1)
            );
        }
        server.run()
    }
}
