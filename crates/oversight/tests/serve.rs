//! `aegis-oversight serve` over real HTTP on 127.0.0.1 (port 0), against the binary: the token
//! guards every route; a decision is one fsync'd log line; malformed, oversized and
//! path-traversing requests write nothing; first decision wins between two clients; other
//! origins are refused; leases and double review; and SIGKILL of the server during 50
//! decisions from two concurrent reviewers loses no acknowledged decision and duplicates none.

mod serve_support;

use std::collections::HashSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aegis_oversight::{Decision, read_audit_log};
use serve_support::{BIN, fresh_queue, get, item_ids, log_lines, post, raw, serve, shown_item};

#[path = "../../../tests/support/cli_contract.rs"]
mod cli_contract;

fn auth(token: &str) -> String {
    format!("X-Aegis-Token: {token}")
}

#[test]
fn without_the_token_every_route_is_a_bare_401_and_nothing_is_written() {
    let (_tmp, q) = fresh_queue("tabular");
    let s = serve(&q, &["--reviewers", "alice,bob"]);
    let alice = s.token("alice");
    let id = &item_ids(&q)[0];
    let wrong = {
        let mut t = alice.clone().into_bytes();
        t[0] = if t[0] == b'a' { b'b' } else { b'a' };
        String::from_utf8(t).unwrap()
    };
    let queries = [
        String::new(),
        "?token=".into(),
        format!("?token={wrong}"),
        format!("?token={}", &alice[..32]),
    ];
    for path in [
        "/",
        "/review",
        "/summary",
        "/api/progress",
        "/api/decide",
        "/nope",
    ] {
        for query in &queries {
            let r = get(&s.addr, &format!("{path}{query}"), &[]);
            assert_eq!(r.status, 401, "GET {path}{query}: {r:?}");
            assert!(
                !r.body.contains("row-") && !r.body.contains(id),
                "{}",
                r.body
            );
        }
    }
    let body = format!("item={id}&action=accept");
    for headers in [
        vec![],
        vec![format!("X-Aegis-Token: {wrong}")],
        vec![format!("Authorization: Bearer {wrong}")],
    ] {
        let h: Vec<&str> = headers.iter().map(String::as_str).collect();
        for path in ["/api/decide", "/api/undo", "/api/lease"] {
            assert_eq!(post(&s.addr, path, &h, &body).unwrap().status, 401);
        }
    }
    // A POST carries its token in a header or the form, never the URL.
    let in_url = post(&s.addr, &format!("/api/decide?token={alice}"), &[], &body).unwrap();
    assert_eq!(in_url.status, 401);
    let oversized = post(&s.addr, "/api/decide", &[], &"x".repeat(40_000)).unwrap();
    assert_eq!(oversized.status, 401, "no token: 401 even for a bad body");
    assert_eq!(log_lines(&q), 0, "nothing written");
    // With the token (header, Bearer, or form field) it works.
    let ok = post(
        &s.addr,
        "/api/decide",
        &[],
        &format!("{body}&token={alice}"),
    )
    .unwrap();
    assert_eq!(ok.status, 200, "{ok:?}");
    let page = get(
        &s.addr,
        "/summary",
        &[&format!("Authorization: Bearer {alice}")],
    );
    assert_eq!(page.status, 200);
    assert!(
        page.head
            .contains("Content-Security-Policy: default-src 'none'")
    );
    assert_eq!(log_lines(&q), 1);
}

#[test]
fn a_decision_is_one_synced_line_and_bad_requests_write_nothing() {
    let (_tmp, q) = fresh_queue("tabular");
    let s = serve(&q, &["--reviewers", "alice"]);
    let h = auth(&s.token("alice"));
    let ids = item_ids(&q);
    let page = get(&s.addr, &format!("/review?token={}", s.token("alice")), &[]);
    assert_eq!(page.status, 200);
    assert_eq!(shown_item(&page.body).as_deref(), Some(ids[0].as_str()));
    let r = post(
        &s.addr,
        "/api/decide",
        &[&h],
        &format!("item={}&action=label&label=2", ids[0]),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    let records = read_audit_log(&q.join("audit.jsonl")).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0].item_id.as_str(), records[0].reviewer.as_str()),
        (ids[0].as_str(), "alice")
    );
    assert_eq!(records[0].label, Some(2));
    // Malformed forms: 400, nothing written.
    let item = &ids[1];
    for body in [
        format!("item={item}&action=maybe"),
        format!("item={item}&action=label"),
        format!("item={item}&action=label&label=two"),
        format!("item={item}&action=label&label=99"),
        format!("item={item}&action=accept&label=1"),
        format!("item={item}&action=accept&colour=red"),
        format!("item={item}&item={item}&action=accept"),
        format!("item=%zz&action=accept"),
        "action=accept".to_string(),
        format!("item={item}&action=accept%ff"),
    ] {
        let r = post(&s.addr, "/api/decide", &[&h], &body).unwrap();
        assert_eq!(r.status, 400, "{body}: {r:?}");
        assert!(r.body.contains("\"error\""), "{}", r.body);
    }
    // Oversized, absurdly declared, and chunked bodies: 400, not read, server unharmed.
    let big = format!("item={item}&action=accept&pad={}", "x".repeat(64 * 1024));
    assert_eq!(
        post(&s.addr, "/api/decide", &[&h], &big).unwrap().status,
        400
    );
    let absurd = format!(
        "POST /api/decide HTTP/1.1\r\nHost: {}\r\n{h}\r\nContent-Length: 18446744073709551615\r\n\r\nitem=",
        s.addr
    );
    assert_eq!(raw(&s.addr, absurd.as_bytes()).unwrap().status, 400);
    let chunked = format!(
        "POST /api/decide HTTP/1.1\r\nHost: {}\r\n{h}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nitem=\r\n0\r\n\r\n",
        s.addr
    );
    assert_eq!(raw(&s.addr, chunked.as_bytes()).unwrap().status, 400);
    // Items by id only: no path reaches a file.
    let t = s.token("alice");
    for target in [
        format!("/review?token={t}&item=../queue.json"),
        format!("/review?token={t}&item=..%2F..%2Fetc%2Fpasswd"),
        format!("/../queue.jsonl?token={t}"),
        format!("/%2e%2e/audit.jsonl?token={t}"),
        format!("/queue.jsonl?token={t}"),
        format!("/review/../../etc/passwd?token={t}"),
    ] {
        let r = get(&s.addr, &target, &[]);
        assert_eq!(r.status, 404, "{target}: {r:?}");
        assert!(!r.body.contains("model_hash"), "{}", r.body);
    }
    let r = post(
        &s.addr,
        "/api/decide",
        &[&h],
        "item=../queue.json&action=accept",
    )
    .unwrap();
    assert_eq!(r.status, 404);
    assert_eq!(
        get(&s.addr, &format!("/api/decide?token={t}"), &[]).status,
        405
    );
    assert_eq!(log_lines(&q), 1, "only the valid decision was written");
    assert_eq!(
        get(&s.addr, &format!("/api/progress?token={t}"), &[]).status,
        200
    );
}

#[test]
fn two_clients_on_one_item_give_one_line_and_one_conflict() {
    let (_tmp, q) = fresh_queue("tabular");
    let s = serve(&q, &["--reviewers", "alice,bob"]);
    let id = item_ids(&q)[0].clone();
    for round in 0..3 {
        // Two tabs of alice on the first round, alice and bob on the others.
        let item = &item_ids(&q)[round];
        let who = if round == 0 {
            ["alice", "alice"]
        } else {
            ["alice", "bob"]
        };
        let replies: Vec<_> = who
            .iter()
            .map(|r| {
                let (addr, h, body) = (
                    s.addr.clone(),
                    auth(&s.token(r)),
                    format!("item={item}&action=accept"),
                );
                std::thread::spawn(move || post(&addr, "/api/decide", &[&h], &body).unwrap())
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        let mut codes: Vec<u16> = replies.iter().map(|r| r.status).collect();
        codes.sort();
        assert_eq!(codes, [200, 409], "{replies:?}");
        let conflict = replies.iter().find(|r| r.status == 409).unwrap();
        assert!(
            conflict.body.contains("not recorded") && conflict.body.contains(item.as_str()),
            "{}",
            conflict.body
        );
        assert_eq!(log_lines(&q), round + 1);
    }
    let records = read_audit_log(&q.join("audit.jsonl")).unwrap();
    assert_eq!(records[0].item_id, id);
}

#[test]
fn cross_origin_and_foreign_host_requests_are_refused() {
    let (_tmp, q) = fresh_queue("tabular");
    let s = serve(&q, &["--reviewers", "alice"]);
    let t = s.token("alice");
    let h = auth(&t);
    let item = &item_ids(&q)[0];
    let body = format!("item={item}&action=accept");
    for extra in [
        "Origin: http://evil.example".to_string(),
        "Origin: null".to_string(),
        format!("Origin: http://{}.evil.example", s.addr),
        "Sec-Fetch-Site: cross-site".to_string(),
    ] {
        let r = post(&s.addr, "/api/decide", &[&h, &extra], &body).unwrap();
        assert_eq!(r.status, 403, "{extra}: {r:?}");
    }
    // DNS rebinding: a page of another name that resolves here.
    let rebound = format!(
        "GET /review?token={t} HTTP/1.1\r\nHost: evil.example:{}\r\n\r\n",
        s.addr.rsplit(':').next().unwrap()
    );
    assert_eq!(raw(&s.addr, rebound.as_bytes()).unwrap().status, 403);
    assert_eq!(log_lines(&q), 0);
    let same = format!("Origin: http://{}", s.addr);
    let r = post(
        &s.addr,
        "/api/decide",
        &[&h, &same, "Sec-Fetch-Site: same-origin"],
        &body,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(log_lines(&q), 1);
}

#[test]
fn leases_double_review_undo_and_flags() {
    let (_tmp, q) = fresh_queue("tabular");
    let ids = item_ids(&q);
    let s = serve(
        &q,
        &[
            "--reviewers",
            "alice,bob,carol",
            "--double-review",
            "--lease-secs",
            "1",
        ],
    );
    let page =
        |r: &str| shown_item(&get(&s.addr, &format!("/review?token={}", s.token(r)), &[]).body);
    assert_eq!(page("alice").as_deref(), Some(ids[0].as_str()));
    assert_eq!(
        page("bob").as_deref(),
        Some(ids[0].as_str()),
        "the second review slot"
    );
    assert_eq!(
        page("carol").as_deref(),
        Some(ids[1].as_str()),
        "both slots leased"
    );
    let decide = |r: &str, id: &str, label: usize| {
        post(
            &s.addr,
            "/api/decide",
            &[&auth(&s.token(r))],
            &format!("item={id}&action=label&label={label}"),
        )
        .unwrap()
    };
    assert_eq!(decide("alice", &ids[0], 0).status, 200);
    assert_eq!(decide("bob", &ids[0], 1).status, 200);
    let third = decide("carol", &ids[0], 0);
    assert_eq!(third.status, 409);
    assert!(
        third.body.contains("alice") && third.body.contains("bob"),
        "{}",
        third.body
    );
    // Leases expire: after 1 s carol's lease on ids[1] is free for alice.
    std::thread::sleep(Duration::from_millis(1300));
    assert_eq!(page("alice").as_deref(), Some(ids[1].as_str()));
    // Undo appends a revoke; the item is alice's to answer again.
    let undo = post(&s.addr, "/api/undo", &[&auth(&s.token("alice"))], "").unwrap();
    assert_eq!(undo.status, 200, "{undo:?}");
    assert!(
        undo.body.contains(&format!("/review?item={}", ids[0])),
        "{}",
        undo.body
    );
    let records = read_audit_log(&q.join("audit.jsonl")).unwrap();
    assert_eq!(records.len(), 3);
    assert_eq!(records[2].decision, Decision::Revoke);
    assert_eq!(decide("alice", &ids[0], 0).status, 200);
    let summary = get(
        &s.addr,
        &format!("/summary?token={}", s.token("carol")),
        &[],
    );
    assert!(
        summary.body.contains("alice &amp; bob") && summary.body.contains("Cohen"),
        "{}",
        summary.body
    );
    drop(s);

    // A non-loopback address warns; bad flags are one line and exit 2.
    let mut wide = Command::new(BIN)
        .arg("serve")
        .arg(&q)
        .args(["--bind", "0.0.0.0:0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = String::new();
    {
        use std::io::BufRead;
        let mut r = std::io::BufReader::new(wide.stderr.take().unwrap());
        r.read_line(&mut err).unwrap();
    }
    wide.kill().unwrap();
    wide.wait().unwrap();
    assert!(
        err.contains("warning") && err.contains("not a loopback"),
        "{err}"
    );
    let run = |args: &[&str]| {
        Command::new(BIN)
            .arg("serve")
            .arg(&q)
            .args(args)
            .output()
            .unwrap()
    };
    cli_contract::assert_clean_error(&run(&["--bind", "localhost"]), &["--bind"]);
    cli_contract::assert_clean_error(&run(&["--reviewers", "ann,ann"]), &["twice"]);
    cli_contract::assert_clean_error(&run(&["--reviewers", "a b"]), &["reviewers"]);
    cli_contract::assert_clean_error(&run(&["--double-review"]), &["two"]);
}

/// One reviewer's loop: fetch the next item, answer it, remember what was acknowledged. An
/// answer whose reply never came (the server was killed) is sent again once the server is
/// back: a 200 or a "You already answered" 409 both acknowledge it, which is how a client
/// learns the fate of a request that was cut off.
fn reviewer_loop(
    addr: &Arc<Mutex<String>>,
    token: &Arc<Mutex<String>>,
    acked: &Arc<Mutex<Vec<(String, String)>>>,
    total: &AtomicUsize,
    stop: &AtomicBool,
    name: &str,
) {
    let mut in_flight: Option<String> = None;
    while !stop.load(Ordering::SeqCst) || in_flight.is_some() {
        let (a, t) = (addr.lock().unwrap().clone(), token.lock().unwrap().clone());
        let item = match in_flight.take() {
            Some(item) => item,
            None => {
                let req = format!("GET /review?token={t} HTTP/1.1\r\nHost: {a}\r\n\r\n");
                match raw(&a, req.as_bytes()) {
                    Ok(p) if p.status == 200 => match shown_item(&p.body) {
                        Some(item) => item,
                        None => break,
                    },
                    _ => {
                        std::thread::sleep(Duration::from_millis(20));
                        continue; // the server is down or restarting
                    }
                }
            }
        };
        match post(
            &a,
            "/api/decide",
            &[&auth(&t)],
            &format!("item={item}&action=accept"),
        ) {
            Ok(r)
                if r.status == 200
                    || (r.status == 409 && r.body.contains("You already answered")) =>
            {
                acked.lock().unwrap().push((item, name.to_string()));
                total.fetch_add(1, Ordering::SeqCst);
            }
            Ok(r) if r.status == 200 || r.status == 409 => {}
            _ => {
                in_flight = Some(item); // no answer: send it again
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

#[test]
fn sigkill_during_50_decisions_of_two_reviewers_loses_and_duplicates_nothing() {
    let (_tmp, q) = fresh_queue("tabular");
    assert!(item_ids(&q).len() >= 50, "{} items", item_ids(&q).len());
    let mut s = serve(&q, &["--reviewers", "alice,bob"]);
    let addr = Arc::new(Mutex::new(s.addr.clone()));
    let tokens: Vec<Arc<Mutex<String>>> = ["alice", "bob"]
        .iter()
        .map(|r| Arc::new(Mutex::new(s.token(r))))
        .collect();
    let acked = Arc::new(Mutex::new(Vec::new()));
    let total = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = ["alice", "bob"]
        .iter()
        .zip(&tokens)
        .map(|(name, token)| {
            let (addr, token, acked, total, stop) = (
                addr.clone(),
                token.clone(),
                acked.clone(),
                total.clone(),
                stop.clone(),
            );
            let name = name.to_string();
            std::thread::spawn(move || reviewer_loop(&addr, &token, &acked, &total, &stop, &name))
        })
        .collect();
    let wait_for = |n: usize| {
        let start = Instant::now();
        while total.load(Ordering::SeqCst) < n {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "stalled at {}",
                total.load(Ordering::SeqCst)
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    wait_for(25);
    s.kill(); // SIGKILL, whatever the server is doing
    let at_kill = total.load(Ordering::SeqCst);
    let records = read_audit_log(&q.join("audit.jsonl")).expect("the log parses after SIGKILL");
    assert!(
        records.len() >= at_kill,
        "{} lines, {at_kill} acknowledged",
        records.len()
    );
    // Restart on the same log; the reviewers' new tokens go to their loops.
    let s2 = serve(&q, &["--reviewers", "alice,bob"]);
    let resumed = get(
        &s2.addr,
        &format!("/api/progress?token={}", s2.token("alice")),
        &[],
    );
    assert!(
        resumed
            .body
            .contains(&format!("\"complete\":{}", records.len())),
        "{}",
        resumed.body
    );
    *addr.lock().unwrap() = s2.addr.clone();
    for (token, name) in tokens.iter().zip(["alice", "bob"]) {
        *token.lock().unwrap() = s2.token(name);
    }
    wait_for(50);
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let records = read_audit_log(&q.join("audit.jsonl")).unwrap();
    let logged: Vec<(String, String)> = records
        .iter()
        .map(|r| (r.item_id.clone(), r.reviewer.clone()))
        .collect();
    let items: HashSet<&str> = records.iter().map(|r| r.item_id.as_str()).collect();
    assert_eq!(items.len(), records.len(), "no item decided twice");
    let (mut a, mut l) = (acked.clone(), logged.clone());
    a.sort();
    l.sort();
    assert_eq!(a, l, "the log holds exactly the acknowledged decisions");
    assert!(acked.len() >= 50);
    println!(
        "{} acknowledged decisions = {} log lines; SIGKILL after {at_kill}",
        acked.len(),
        records.len()
    );
}
