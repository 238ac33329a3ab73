//! The review page in a real browser: headless Chromium, driven over the Chrome DevTools
//! Protocol (through `--remote-debugging-pipe`: JSON messages ended by NUL on file
//! descriptors 3 and 4, which `sh` wires to this process's pipes), loads the review page of
//! an MNIST queue with its token, answers three items with the keyboard shortcuts (A, a digit,
//! S), toggles the overlay (O), and the audit log holds exactly those three decisions.
//! Screenshots of the review and summary pages are saved under the target directory
//! (`CARGO_TARGET_TMPDIR/screenshots/`) for a person to look at; the test checks that they are
//! real pictures. Without Chromium (`apt-get install chromium`) the test says so and passes.

#[path = "../../../tests/support/chromium.rs"]
mod chromium;
mod serve_support;

use std::io::Read;
use std::path::{Path, PathBuf};

use aegis_oversight::{Decision, Queue, read_audit_log};
use base64::Engine;
use chromium::{Browser, chromium};
use serde_json::json;
use serve_support::{fresh_queue, serve};

/// What this test adds to the shared DevTools driver: the review page's own steps.
trait ReviewPage {
    fn loaded_item(&mut self) -> String;
    fn press(&mut self, key: &str);
    fn screenshot(&mut self, path: &Path);
}

impl ReviewPage for Browser {
    /// The page's item once it is loaded.
    fn loaded_item(&mut self) -> String {
        self.wait_for("document.readyState === 'complete' && !!document.body.dataset.token");
        self.eval("document.body.dataset.item || ''")
            .as_str()
            .unwrap()
            .to_string()
    }

    /// One key press, as a person types it.
    fn press(&mut self, key: &str) {
        let c = key.chars().next().unwrap();
        let (code, vk) = if c.is_ascii_digit() {
            (format!("Digit{c}"), c as u32)
        } else {
            (
                format!("Key{}", c.to_ascii_uppercase()),
                c.to_ascii_uppercase() as u32,
            )
        };
        for kind in ["keyDown", "keyUp"] {
            let mut p =
                json!({ "type": kind, "key": key, "code": code, "windowsVirtualKeyCode": vk });
            if kind == "keyDown" {
                p["text"] = json!(key);
            }
            self.call("Input.dispatchKeyEvent", p);
        }
    }

    fn screenshot(&mut self, path: &Path) {
        let r = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        let png = base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }
}

/// A screenshot is a real picture: a PNG of the window's size with many colours.
fn assert_real_png(path: &Path) {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    assert!(
        bytes.len() > 20_000,
        "{}: {} bytes",
        path.display(),
        bytes.len()
    );
    let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
    assert_eq!(img.dimensions(), (1280, 800));
    let colours: std::collections::HashSet<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    assert!(
        colours.len() > 200,
        "{}: {} colours",
        path.display(),
        colours.len()
    );
}

#[test]
fn three_items_answered_with_the_keyboard_in_chromium() {
    let Some(exe) = chromium() else {
        println!("skipped: Chromium is not installed (apt-get install chromium)");
        return;
    };
    let (_tmp, q) = fresh_queue("mnist");
    let queue = Queue::load(&q).unwrap();
    assert!(queue.items.len() >= 4, "{} items", queue.items.len());
    let s = serve(&q, &["--reviewers", "alice"]);
    let url = format!("http://{}/review?token={}", s.addr, s.token("alice"));
    let mut b = Browser::launch_loopback(&exe, 1280, 800);
    b.call("Page.navigate", json!({ "url": url }));
    let first = b.loaded_item();
    assert_eq!(first, queue.items[0].id);
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    b.screenshot(&shots.join("review.png"));

    // A: accept the first; a digit: label the second; S: skip the third.
    let second_label = (queue.items[1].prediction + 1) % 10;
    let keys = ["a".to_string(), second_label.to_string(), "s".to_string()];
    let mut shown = vec![first];
    for key in &keys {
        let before = shown.last().unwrap().clone();
        b.press(key);
        b.wait_for(&format!(
            "document.readyState === 'complete' && document.body.dataset.item !== '{before}'"
        ));
        shown.push(b.loaded_item());
    }
    let flash = b.eval("document.getElementById('banner').textContent");
    assert!(flash.as_str().unwrap().contains("recorded"), "{flash}");
    b.press("o");
    assert_eq!(
        b.eval("document.body.classList.contains('overlay')"),
        json!(true)
    );
    b.screenshot(&shots.join("review-overlay.png"));
    let summary = format!("http://{}/summary?token={}", s.addr, s.token("alice"));
    b.call("Page.navigate", json!({ "url": summary }));
    b.wait_for("document.readyState === 'complete' && document.title.startsWith('Team')");
    b.screenshot(&shots.join("summary.png"));

    let records = read_audit_log(&q.join("audit.jsonl")).unwrap();
    let got: Vec<(String, Decision, Option<usize>)> = records
        .iter()
        .map(|r| (r.item_id.clone(), r.decision, r.label))
        .collect();
    let items = &queue.items;
    assert_eq!(
        got,
        [
            (
                items[0].id.clone(),
                Decision::Accept,
                Some(items[0].prediction)
            ),
            (items[1].id.clone(), Decision::Override, Some(second_label)),
            (items[2].id.clone(), Decision::Skip, None),
        ]
    );
    let order: Vec<String> = items[..4].iter().map(|i| i.id.clone()).collect();
    assert_eq!(shown, order, "each answer moved on to the next item");
    for f in ["review.png", "review-overlay.png", "summary.png"] {
        assert_real_png(&shots.join(f));
    }
    println!("screenshots in {}", shots.display());
}
