//! The review server behind `aegis-oversight serve`: human review in the browser on the same
//! queue and the same append-only, fsync'd [`crate::AuditLog`] as the terminal review.
//!
//! Files, from the bottom up (each uses only those above it):
//!
//! - `leases.rs`: who holds which item, until when.
//! - `state.rs`: queue + log + [`crate::Ledger`] + leases: who is shown what, first decision
//!   wins, answers appended (and synced) before they count, resumption from the log.
//! - `auth.rs`: per-reviewer tokens (constant-time look-up), host and origin checks.
//! - `http.rs`: HTTP/1.1 on `std::net` with limits (head, body, time).
//! - `images.rs`, `html.rs`, `review_page.rs`, `summary_page.rs`: the pages, server-rendered,
//!   style and script compiled in (`assets/`), images as `data:` URIs.
//! - `routes.rs`: token → host/origin → route, for every request.
//! - this file: [`ServeConfig`], [`Server`]: bind, accept, one short-lived thread per
//!   connection (at most [`MAX_CONNECTIONS`] at once).
//!
//! Why not a server framework: axum/hyper would turn on `futures-core/std`, which lies under
//! Burn and would rebuild it (ARCHITECTURE.md, "One feature set"); tiny_http 0.12 panics or
//! aborts on a request that declares a huge `Content-Length`, before any token is checked.
//! Requests are parsed by `httparse`, hyper's parser.

mod auth;
mod html;
mod http;
mod images;
mod leases;
mod review_page;
mod routes;
mod state;
#[cfg(test)]
mod state_tests;
mod summary_page;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use html::esc;

use crate::error::{OversightError, Result};
use crate::queue::Queue;

pub use summary_page::Labels;

/// Connections served at once; more are answered 503 at once.
pub const MAX_CONNECTIONS: usize = 64;
/// Largest request body (an answer is a few dozen bytes).
pub const BODY_LIMIT: usize = 16 * 1024;
/// How long a client may take to send its whole request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// What to serve, where, to whom.
#[derive(Debug)]
pub struct ServeConfig {
    /// The queue.
    pub queue: Queue,
    /// The audit log (created if missing).
    pub log: PathBuf,
    /// Address to listen on (port 0: any free port).
    pub bind: SocketAddr,
    /// Reviewer names; each gets a token.
    pub reviewers: Vec<String>,
    /// Labels each item needs from different reviewers (1, or 2 for double review).
    pub reviews_per_item: usize,
    /// How long an item stays leased to the reviewer it is shown to.
    pub lease: Duration,
    /// The run's true test labels for the summary's team metrics, or why they are missing.
    pub labels: Labels,
    /// The conformal sets' α, when known.
    pub alpha: Option<f64>,
}

/// A bound review server.
#[derive(Debug)]
pub struct Server {
    app: Arc<routes::App>,
    listener: TcpListener,
}

impl Server {
    /// Opens the log (validated; the state is rebuilt from it), makes a token per reviewer
    /// and binds the address.
    pub fn bind(cfg: ServeConfig) -> Result<Self> {
        let reviewers = auth::Reviewers::generate(&cfg.reviewers)?;
        let state = state::ReviewState::open(
            cfg.queue,
            &cfg.log,
            reviewers.names(),
            cfg.reviews_per_item,
            cfg.lease,
        )?;
        let listener = TcpListener::bind(cfg.bind).map_err(|e| OversightError::Serve {
            addr: cfg.bind.to_string(),
            reason: e.to_string(),
        })?;
        let listen = listener.local_addr().map_err(|e| OversightError::Serve {
            addr: cfg.bind.to_string(),
            reason: e.to_string(),
        })?;
        let app = routes::App {
            state: Mutex::new(state),
            reviewers,
            listen,
            labels: cfg.labels,
            alpha: cfg.alpha,
        };
        Ok(Self {
            app: Arc::new(app),
            listener,
        })
    }

    /// The address listened on.
    pub fn addr(&self) -> SocketAddr {
        self.app.listen
    }

    /// The base URL a browser on this machine uses (`http://127.0.0.1:PORT` for an unspecified
    /// address).
    pub fn base_url(&self) -> String {
        let addr = self.addr();
        if addr.ip().is_unspecified() {
            format!("http://127.0.0.1:{}", addr.port())
        } else {
            format!("http://{addr}")
        }
    }

    /// `(reviewer, their review URL with its token)`, in the order given.
    pub fn urls(&self) -> Vec<(String, String)> {
        self.app
            .reviewers
            .iter()
            .map(|(name, token)| {
                (
                    name.to_string(),
                    format!("{}/review?token={token}", self.base_url()),
                )
            })
            .collect()
    }

    /// `(queued items, items with all their labels, records in the log)` at start.
    pub fn status(&self) -> (usize, usize, usize) {
        let s = self.app.state.lock().unwrap_or_else(|p| p.into_inner());
        let p = s.progress();
        (p.total, p.complete, s.log().records().len())
    }

    /// Serves until the process ends. Every acknowledged answer is already on disk, so ending
    /// it (Ctrl-C, SIGKILL) at any moment loses none.
    pub fn run(self) -> Result<()> {
        let active = Arc::new(AtomicUsize::new(0));
        for conn in self.listener.incoming() {
            let Ok(stream) = conn else { continue };
            if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                active.fetch_sub(1, Ordering::SeqCst);
                busy(stream);
                continue;
            }
            let (app, count) = (Arc::clone(&self.app), Arc::clone(&active));
            let spawned = std::thread::Builder::new()
                .name("aegis-serve-conn".into())
                .spawn(move || {
                    connection(&app, stream);
                    count.fetch_sub(1, Ordering::SeqCst);
                });
            if spawned.is_err() {
                active.fetch_sub(1, Ordering::SeqCst);
            }
        }
        Ok(())
    }
}

fn busy(mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let r = http::Response::new(503, "text/plain", "busy, try again\n");
    http::write_response(&mut stream, &r, false, false);
}

/// One connection: one request, one response.
fn connection(app: &routes::App, mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_nodelay(true);
    match http::read_request(&mut stream, BODY_LIMIT, READ_TIMEOUT) {
        Ok(req) => {
            let response = routes::handle(app, &req);
            http::write_response(&mut stream, &response, req.method == "HEAD", true);
        }
        Err(http::ReadError::Malformed(why)) => {
            let r = http::Response::new(400, "text/plain", format!("bad request: {why}\n"));
            http::write_response(&mut stream, &r, false, true);
        }
        Err(http::ReadError::Closed) => {}
    }
}
