//! Every request's way through the server: the token first (without it, a bare 401 on every
//! route, whatever the path, method or body), then the host and, for state changes, the
//! origin checks, then the route. Pages and reads are `GET`; answers, undo and lease renewals
//! are `POST` with the token in a header or form field (never the URL). Items are named by id
//! and looked up in the queue; nothing is ever read from a path in the request.
//!
//! | route | what |
//! |---|---|
//! | `GET /` | redirect to `/review` |
//! | `GET /review[?item=ID]` | the reviewer's next item (leased to them), or item `ID` |
//! | `GET /summary` | progress, agreement, team metrics |
//! | `GET /api/progress` | progress as JSON |
//! | `POST /api/decide` | `item=ID&action=accept\|skip\|label[&label=N]` |
//! | `POST /api/undo` | withdraw the reviewer's latest answer |
//! | `POST /api/lease` | `item=ID`: keep the lease while the page is open |

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use serde_json::json;

use super::auth::{Reviewers, host_allowed, origin_allowed};
use super::html::{csp, link, nonce};
use super::http::{Body, Request, Response, parse_urlencoded};
use super::review_page::{ReviewView, review_page};
use super::state::{Answer, Refusal, ReviewState};
use super::summary_page::{Labels, summary_page};

/// Everything a request may use.
#[derive(Debug)]
pub struct App {
    /// Queue, log, standing decisions, leases: one lock, so checks and appends never
    /// interleave.
    pub state: Mutex<ReviewState>,
    /// Reviewers and their tokens.
    pub reviewers: Reviewers,
    /// The address listened on.
    pub listen: SocketAddr,
    /// The run's true test labels (or why not), for the summary's team metrics.
    pub labels: Labels,
    /// The conformal sets' α, when known.
    pub alpha: Option<f64>,
}

fn secured(mut r: Response) -> Response {
    for (k, v) in [
        ("Cache-Control", "no-store"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
    ] {
        r = r.with_header(k, v);
    }
    if r.header("Content-Security-Policy").is_none() {
        r = r.with_header(
            "Content-Security-Policy",
            "default-src 'none'; frame-ancestors 'none'",
        );
    }
    r
}

fn json_response(status: u16, value: serde_json::Value) -> Response {
    Response::new(status, "application/json", value.to_string())
}

fn error(status: u16, message: &str) -> Response {
    json_response(status, json!({ "error": message }))
}

fn unauthorized() -> Response {
    Response::new(
        401,
        "text/plain; charset=utf-8",
        "401 Unauthorized: open the link with your token that `aegis-oversight serve` printed.\n",
    )
    .with_header("WWW-Authenticate", "Bearer")
}

/// Answers one request.
pub fn handle(app: &App, req: &Request) -> Response {
    secured(route(app, req))
}

/// The token from a header (`X-Aegis-Token` or `Authorization: Bearer`).
fn header_token(req: &Request) -> Option<&str> {
    req.header("x-aegis-token").or_else(|| {
        req.header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
    })
}

fn route(app: &App, req: &Request) -> Response {
    let post = req.method == "POST";
    let query = parse_urlencoded(&req.query);
    let form = match &req.body {
        Body::Bytes(b) if post => std::str::from_utf8(b)
            .map_err(|_| "the body is not UTF-8".to_string())
            .and_then(parse_urlencoded),
        Body::Bytes(_) => Ok(Vec::new()),
        Body::TooLarge(n) => Err(format!("a body of {n} bytes is over the limit")),
        Body::Unsupported => Err("only Content-Length bodies are accepted".to_string()),
    };
    let field = |pairs: &Result<Vec<(String, String)>, String>, key: &str| -> Option<String> {
        pairs
            .as_ref()
            .ok()?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    // The token: a header, or the URL for a page (GET), or the form for a POST.
    let token = header_token(req).map(str::to_string).or_else(|| {
        if post {
            field(&form, "token")
        } else {
            field(&query, "token")
        }
    });
    let Some((reviewer, token)) = token.as_deref().and_then(|t| {
        app.reviewers
            .lookup(t)
            .map(|r| (r.to_string(), t.to_string()))
    }) else {
        return unauthorized();
    };
    if !host_allowed(req.header("host"), app.listen) {
        return error(403, "this server answers only to its own loopback address");
    }
    let get = matches!(req.method.as_str(), "GET" | "HEAD");
    match (get, post, req.path.as_str()) {
        (true, _, "/") => {
            Response::new(303, "text/plain", "").with_header("Location", link("/review", &token))
        }
        (true, _, "/review") => match query {
            Ok(q) => review(app, &reviewer, &token, field(&Ok(q), "item")),
            Err(e) => error(400, &e),
        },
        (true, _, "/summary") => summary(app, &reviewer, &token),
        (true, _, "/api/progress") => match lock(app) {
            Ok(s) => json_response(200, progress_json(&s)),
            Err(r) => r,
        },
        (_, true, "/api/decide" | "/api/undo" | "/api/lease") => {
            if !origin_allowed(
                req.header("origin"),
                req.header("host"),
                req.header("sec-fetch-site"),
            ) {
                return error(403, "cross-origin request refused");
            }
            match form {
                Ok(f) => change(app, &reviewer, &req.path, &f),
                Err(e) => error(400, &e),
            }
        }
        (false, _, "/" | "/review" | "/summary" | "/api/progress") => {
            error(405, "use GET").with_header("Allow", "GET, HEAD")
        }
        (true, _, "/api/decide" | "/api/undo" | "/api/lease") => {
            error(405, "state changes are POST requests").with_header("Allow", "POST")
        }
        _ => error(404, "no such page"),
    }
}

fn lock(app: &App) -> Result<MutexGuard<'_, ReviewState>, Response> {
    app.state
        .lock()
        .map_err(|_| error(500, "the server's state was lost to an earlier failure"))
}

fn progress_json(s: &ReviewState) -> serde_json::Value {
    let p = s.progress();
    json!({
        "total": p.total,
        "complete": p.complete,
        "reviews_per_item": p.reviews_per_item,
        "reviewers": p.reviewers.iter().map(|r| json!({
            "reviewer": r.reviewer, "decided": r.decided, "remaining": r.remaining
        })).collect::<Vec<_>>(),
    })
}

fn html(body: String, nonce: &str) -> Response {
    Response::new(200, "text/html; charset=utf-8", body)
        .with_header("Content-Security-Policy", csp(nonce))
}

fn review(app: &App, reviewer: &str, token: &str, item: Option<String>) -> Response {
    let mut state = match lock(app) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let now = Instant::now();
    let shown = match item {
        Some(id) => match state.show(&id, reviewer, now) {
            Some(status) => state.item(&id).map(|(pos, _)| (pos, status)),
            None => return error(404, "no such item"),
        },
        None => state
            .next_for(reviewer, now)
            .map(|pos| (pos, super::state::ItemStatus::Open)),
    };
    let nonce = nonce();
    let view = ReviewView {
        reviewer,
        token,
        item: shown,
        alpha: app.alpha,
        nonce: &nonce,
    };
    html(review_page(&state, &view), &nonce)
}

fn summary(app: &App, reviewer: &str, token: &str) -> Response {
    let state = match lock(app) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let nonce = nonce();
    match summary_page(&state, reviewer, token, &app.labels, &nonce) {
        Ok(page) => html(page, &nonce),
        Err(e) => error(500, &e.to_string()),
    }
}

/// Reads exactly the expected fields of a form (besides `token`): an unknown or missing one is
/// a 400.
fn fields<'a>(
    form: &'a [(String, String)],
    required: &[&str],
    optional: &[&str],
) -> Result<Vec<Option<&'a str>>, Response> {
    if let Some((k, _)) = form.iter().find(|(k, _)| {
        k != "token" && !required.contains(&k.as_str()) && !optional.contains(&k.as_str())
    }) {
        return Err(error(400, &format!("unknown field {k:?}")));
    }
    let get = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut out = Vec::new();
    for name in required {
        match get(name) {
            Some(v) => out.push(Some(v)),
            None => return Err(error(400, &format!("missing field {name:?}"))),
        }
    }
    out.extend(optional.iter().map(|n| get(n)));
    Ok(out)
}

fn answer(action: &str, label: Option<&str>) -> Result<Answer, String> {
    match (action, label) {
        ("accept", None) => Ok(Answer::Accept),
        ("skip", None) => Ok(Answer::Skip),
        ("label", Some(l)) => l
            .parse::<usize>()
            .map(Answer::Label)
            .map_err(|_| format!("label {l:?} is not a class index")),
        ("label", None) => Err("action \"label\" needs a label".into()),
        ("accept" | "skip", Some(_)) => Err(format!("action {action:?} takes no label")),
        _ => Err(format!("unknown action {action:?}")),
    }
}

fn refused(r: Refusal) -> Response {
    match r {
        Refusal::NoSuchItem(id) => error(404, &format!("no queued item {id:?}")),
        Refusal::Conflict(m) => error(409, &m),
        Refusal::Invalid(m) => error(400, &m),
    }
}

fn change(app: &App, reviewer: &str, path: &str, form: &[(String, String)]) -> Response {
    let spec: (&[&str], &[&str]) = match path {
        "/api/decide" => (&["item", "action"], &["label"]),
        "/api/lease" => (&["item"], &[]),
        _ => (&[], &[]),
    };
    let values = match fields(form, spec.0, spec.1) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut state = match lock(app) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let now = Instant::now();
    match path {
        "/api/decide" => {
            let (id, action, label) = (values[0].unwrap_or(""), values[1].unwrap_or(""), values[2]);
            let answer = match answer(action, label) {
                Ok(a) => a,
                Err(e) => return error(400, &e),
            };
            match state.decide(reviewer, id, answer) {
                Ok(Ok(record)) => {
                    let what = match record.label {
                        Some(l) => format!(
                            "{} {}",
                            json!(record.decision).as_str().unwrap_or(""),
                            state.class_label(l)
                        ),
                        None => "skip".to_string(),
                    };
                    json_response(
                        200,
                        json!({
                            "ok": true,
                            "item": record.item_id,
                            "decision": record.decision,
                            "label": record.label,
                            "message": format!("{id}: {what} recorded. U undoes it."),
                            "next": "/review",
                        }),
                    )
                }
                Ok(Err(r)) => refused(r),
                Err(e) => error(500, &format!("not recorded: {e}")),
            }
        }
        "/api/undo" => match state.undo(reviewer, now) {
            Ok(Ok(id)) => json_response(
                200,
                json!({
                    "ok": true,
                    "item": id,
                    "message": format!("Your answer to {id} was withdrawn; answer it again."),
                    "next": format!("/review?item={id}"),
                }),
            ),
            Ok(Err(r)) => refused(r),
            Err(e) => error(500, &format!("not recorded: {e}")),
        },
        _ => match state.renew(reviewer, values[0].unwrap_or(""), now) {
            Ok(()) => json_response(200, json!({ "ok": true })),
            Err(r) => refused(r),
        },
    }
}
