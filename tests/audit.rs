//! `aegis audit`, end to end through the binary:
//!
//! - a tabular run (breast cancer, MLP) and an imported PyTorch CNN on MNIST
//!   (`tests/fixtures/mnist_bn`) are audited with the quick profile on a few test items; on
//!   the tabular run's 113 items the report says no temperature can be estimated (too few
//!   mistakes) and how many items an SGR certificate would need;
//! - a CIFAR-style residual network brought from outside (`[3, 32, 32]`, batch norm, random
//!   weights exported in PyTorch's layout) is audited on test labels of one class and of all
//!   ten: every stage is computed, the OOD section included;
//! - `report.html` is rendered by headless Chromium with networking off: the page loads, every
//!   figure decodes and has a size, no console error, no request leaves the file, it prints to
//!   PDF; full-page screenshots are saved under the target directory
//!   (`CARGO_TARGET_TMPDIR/screenshots/`). Without Chromium the test fails and says how to
//!   install it;
//! - every number shown in the HTML (read with an HTML tokenizer) equals its value in
//!   `audit.json`, and no digit appears in the page's text outside those tagged values;
//! - a rerun recomputes nothing cached (every stage cached, its result file untouched); a
//!   retrained model recomputes everything; `--compare` renders both audits (the first as an
//!   audit.json written before the certified stage existed);
//! - a stage that cannot write its folder (a plain file in the way) fails alone: exit code 3,
//!   one stderr line naming it, `audit.json` marks it failed with the error, every other stage
//!   is computed, the report renders with a visible failed-section box; a rerun once the file
//!   is gone computes only that stage; `--compare` renders the failed audit beside it;
//! - bad input (missing or corrupt run, unknown stage, `--limit 0`, output folder that is a
//!   file) is one line, exit code 2, and leaves no output behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aegis::model::import::WeightsSource;
use aegis::model::{
    DataSource, DeviceSpec, ImportRequest, SequentialSpec, TrainRequest, train_run,
};
use html5gum::{Token, Tokenizer};
use serde_json::Value;

#[path = "support/chromium.rs"]
mod chromium;
#[path = "support/cli_contract.rs"]
mod cli_contract;
#[path = "support/npy.rs"]
mod npy;

use chromium::{Browser, require_chromium};
use cli_contract::assert_clean_error;

fn aegis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aegis"))
        .args(args)
        .output()
        .expect("the aegis binary runs")
}

fn audit(run: &Path, out: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "audit",
        "--run",
        run.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--profile",
        "quick",
    ];
    args.extend_from_slice(extra);
    let o = aegis(&args);
    assert!(
        o.status.success(),
        "audit failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    serde_json::from_slice(&std::fs::read(out.join("audit.json")).unwrap()).unwrap()
}

/// A breast-cancer MLP run trained with `seed`.
fn tabular_run(dir: &Path, seed: u64) {
    let mut req = TrainRequest::new(DataSource::BreastCancer);
    req.out = Some(dir.to_path_buf());
    req.train.seed = seed;
    req.train.epochs = 5;
    train_run(&req).unwrap();
}

/// The PyTorch CNN of `tests/fixtures/mnist_bn` imported as a run.
fn imported_run(dir: &Path) {
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mnist_bn");
    let req = ImportRequest {
        spec: SequentialSpec::from_file(&f.join("arch.json")).unwrap(),
        arch_path: f.join("arch.json"),
        weights: f.join("model.safetensors"),
        source: WeightsSource::default(),
        data: DataSource::Mnist,
        classes: None,
        split_seed: 0,
        device: DeviceSpec::Flex,
        out: dir.to_path_buf(),
    };
    aegis::model::import_run(&req).unwrap();
}

/// The PyTorch CNN of `tests/fixtures/torch_import` (`[3, 16, 16]` colour inputs, residual
/// blocks with batch norms, 10 classes) imported as a run on its own 16 rows.
fn imported_colour_run(dir: &Path) {
    let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch_import");
    let req = ImportRequest {
        spec: SequentialSpec::from_file(&f.join("arch.json")).unwrap(),
        arch_path: f.join("arch.json"),
        weights: f.join("model.safetensors"),
        source: WeightsSource::default(),
        data: DataSource::Path(f.join("inputs.npy")),
        classes: None,
        split_seed: 0,
        device: DeviceSpec::Flex,
        out: dir.to_path_buf(),
    };
    aegis::model::import_run(&req).unwrap();
}

/// The values the HTML shows: `(pointer, text, is a count)` of every element with `data-json`,
/// and the page text outside them (not in `<head>`, `<style>` or SVG).
struct Shown {
    values: Vec<(String, String, bool)>,
    loose_text: String,
}

const VOID: [&str; 8] = ["meta", "br", "img", "link", "input", "hr", "wbr", "source"];

fn shown(html: &str) -> Shown {
    // Open elements: (name, index into `values` when it carries `data-json`).
    let mut stack: Vec<(String, Option<usize>)> = Vec::new();
    let mut values: Vec<(String, String, bool)> = Vec::new();
    let mut loose_text = String::new();
    for token in Tokenizer::new(html).flatten() {
        match token {
            Token::StartTag(tag) => {
                let name = String::from_utf8_lossy(&tag.name).to_string();
                let attr = |k: &str| {
                    tag.attributes
                        .get(k.as_bytes())
                        .map(|v| String::from_utf8_lossy(v).to_string())
                };
                let slot = attr("data-json").map(|p| {
                    values.push((p, String::new(), attr("data-count").is_some()));
                    values.len() - 1
                });
                if !tag.self_closing && !VOID.contains(&name.as_str()) {
                    stack.push((name, slot));
                }
            }
            Token::EndTag(tag) => {
                let name = String::from_utf8_lossy(&tag.name).to_string();
                if let Some(at) = stack.iter().rposition(|(n, _)| *n == name) {
                    stack.truncate(at);
                }
            }
            Token::String(s) => {
                let text = String::from_utf8_lossy(&s).to_string();
                if let Some(slot) = stack.iter().rev().find_map(|(_, s)| *s) {
                    values[slot].1.push_str(&text);
                } else if !stack
                    .iter()
                    .any(|(n, _)| matches!(n.as_str(), "head" | "style" | "svg" | "title"))
                {
                    loose_text.push_str(&text);
                    loose_text.push(' ');
                }
            }
            _ => {}
        }
    }
    Shown { values, loose_text }
}

/// Checks one shown value against the JSON: strings exactly, numbers to the precision shown.
fn check_value(json: &Value, pointer: &str, text: &str, is_count: bool) -> Result<(), String> {
    let v = json
        .pointer(pointer)
        .ok_or_else(|| format!("{pointer}: not in audit.json (shown {text:?})"))?;
    let text = text.trim();
    if is_count {
        let n = v.as_array().map_or(usize::MAX, Vec::len);
        return (text == n.to_string())
            .then_some(())
            .ok_or_else(|| format!("{pointer}: count {text} vs {n}"));
    }
    match v {
        Value::Null => (text == "n/a")
            .then_some(())
            .ok_or_else(|| format!("{pointer}: null shown as {text:?}")),
        Value::String(s) => (text == s)
            .then_some(())
            .ok_or_else(|| format!("{pointer}: {text:?} vs {s:?}")),
        Value::Number(n) => {
            let want = n.as_f64().unwrap();
            let (body, scale) = match text.strip_suffix('%') {
                Some(b) => (b, 0.01),
                None => (text, 1.0),
            };
            let (mantissa, exp) = match body.split_once('e') {
                Some((m, e)) => (
                    m,
                    e.parse::<i32>()
                        .map_err(|_| format!("{pointer}: {text:?}"))?,
                ),
                None => (body, 0),
            };
            let x: f64 = mantissa
                .parse()
                .map_err(|_| format!("{pointer}: {text:?} is not a number"))?;
            let decimals = mantissa.split_once('.').map_or(0, |(_, d)| d.len()) as i32;
            let unit = scale * 10f64.powi(exp);
            let tol = 0.5 * 10f64.powi(-decimals) * unit + 1e-9 * want.abs();
            let got = x * unit;
            ((got - want).abs() <= tol)
                .then_some(())
                .ok_or_else(|| format!("{pointer}: shown {text} = {got} vs {want}"))
        }
        other => (text == other.to_string())
            .then_some(())
            .ok_or_else(|| format!("{pointer}: {text:?} vs {other}")),
    }
}

/// Every number in the report equals `audit.json`, and none is shown untagged.
fn assert_numbers_match(out: &Path) -> usize {
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let json: Value =
        serde_json::from_slice(&std::fs::read(out.join("audit.json")).unwrap()).unwrap();
    let s = shown(&html);
    let faults: Vec<String> = s
        .values
        .iter()
        .filter_map(|(p, t, c)| check_value(&json, p, t, *c).err())
        .collect();
    assert!(
        faults.is_empty(),
        "{} of {} values differ:\n{}",
        faults.len(),
        s.values.len(),
        faults.join("\n")
    );
    let untagged: Vec<&str> = s
        .loose_text
        .split_whitespace()
        .filter(|w| w.chars().any(|c| c.is_ascii_digit()) && !w.contains("SHA-256"))
        .collect();
    assert!(
        untagged.is_empty(),
        "numbers shown outside audit.json's values: {untagged:?}"
    );
    assert!(s.values.len() > 100, "only {} values shown", s.values.len());
    s.values.len()
}

/// The certified stage bounded the attacked rows at the headline ε, its verified accuracy is
/// at most the attacked one, and the certified section states the interval with both ends
/// tagged by their pointers (their values are checked by `assert_numbers_match`).
fn assert_certified_interval(out: &Path, j: &Value) {
    let (c, r) = (&j["certified"], &j["robustness"]);
    assert_eq!(c["eps"], r["headline"]["eps"], "{c}");
    assert_eq!(c["n"], r["n"], "{c}");
    let n = c["n"].as_f64().unwrap();
    let certified = c["verified_accuracy"].as_f64().unwrap();
    assert_eq!(certified, c["verified"].as_f64().unwrap() / n, "{c}");
    let attacked = r["headline"]["accuracy"].as_f64().unwrap();
    assert!(
        certified <= attacked,
        "certified {certified} > attacked {attacked}"
    );
    eprintln!(
        "certified interval at ε {}: {certified} ≤ robust accuracy ≤ {attacked} ({} rows)",
        c["eps"], c["n"]
    );
    assert!(out.join("stages/certified/bounds.csv").is_file());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let section = &html[html
        .find("<section id=\"certified\">")
        .expect("certified section")..];
    let section = &section[..section.find("</section>").unwrap()];
    let interval = &section[section.find("class=\"interval\"").expect("the interval")..];
    let (lower, upper) = (
        interval
            .find("data-json=\"/certified/verified_accuracy\"")
            .expect("certified end"),
        interval
            .find("data-json=\"/robustness/headline/accuracy\"")
            .expect("attacked end"),
    );
    assert!(
        lower < upper && interval.contains("≤ robust accuracy ≤"),
        "{interval}"
    );
    let verdict = j["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["stage"] == "certified")
        .expect("a certified verdict");
    assert_ne!(verdict["status"], "fail", "{verdict}");
}

/// Renders the report in Chromium with networking off and checks it as a reader would see it.
fn assert_renders(out: &Path, name: &str) {
    let exe = require_chromium();
    let mut b = Browser::launch(&exe, 1280, 900);
    let url = format!(
        "file://{}",
        out.join("report.html").canonicalize().unwrap().display()
    );
    b.call("Page.navigate", serde_json::json!({ "url": url }));
    b.wait_for("document.readyState === 'complete'");
    let figures = b.eval(
        "(async () => {
            const imgs = [...document.images];
            const decoded = await Promise.all(imgs.map(i => i.decode().then(() => i.naturalWidth > 0, () => false)));
            const svgs = [...document.querySelectorAll('svg')];
            const sized = svgs.filter(s => { const r = s.getBoundingClientRect(); return r.width > 0 && r.height > 0; });
            return { imgs: imgs.length, decoded: decoded.filter(x => x).length,
                     svgs: svgs.length, sized: sized.length,
                     verdicts: document.querySelectorAll('#summary .verdicts li').length,
                     external: [...document.querySelectorAll('[src],link[href],script')]
                        .filter(e => !(e.getAttribute('src') || '').startsWith('data:')).length };
        })()",
    );
    assert_eq!(figures["decoded"], figures["imgs"], "{figures}");
    assert_eq!(figures["sized"], figures["svgs"], "{figures}");
    assert!(figures["svgs"].as_u64().unwrap() >= 6, "{figures}");
    assert!(figures["verdicts"].as_u64().unwrap() >= 5, "{figures}");
    assert_eq!(figures["external"], 0, "{figures}");
    let pdf = b.print_pdf();
    assert!(
        pdf.starts_with(b"%PDF") && pdf.len() > 10_000,
        "{} bytes",
        pdf.len()
    );
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join(format!("audit-{name}.png"));
    b.screenshot_full_page(&shot);
    std::fs::write(shots.join(format!("audit-{name}.pdf")), &pdf).unwrap();
    let img = image::open(&shot).unwrap().to_rgb8();
    assert!(
        img.height() > 2000,
        "{}: {:?}",
        shot.display(),
        img.dimensions()
    );
    let errors = b.errors();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    let requests: Vec<String> = b
        .requests()
        .into_iter()
        .filter(|u| !u.starts_with("file://") && !u.starts_with("data:"))
        .collect();
    assert!(requests.is_empty(), "requests left the file: {requests:?}");
    println!("screenshot: {}", shot.display());
}

/// Opens `report.html` in Chromium (networking off) and evaluates `expression` there.
fn in_page(out: &Path, expression: &str) -> Value {
    let mut b = Browser::launch(&require_chromium(), 1280, 900);
    let url = format!(
        "file://{}",
        out.join("report.html").canonicalize().unwrap().display()
    );
    b.call("Page.navigate", serde_json::json!({ "url": url }));
    b.wait_for("document.readyState === 'complete'");
    b.eval(expression)
}

/// `stage → status` of an audit.json.
fn statuses(j: &Value) -> BTreeMap<String, String> {
    j["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The `reason` an audit.json's record of `stage` gives.
fn stage_reason<'a>(j: &'a Value, stage: &str) -> &'a str {
    j["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["stage"] == stage)
        .unwrap()["reason"]
        .as_str()
        .unwrap()
}

/// The bytes and modification time of every stage's result file.
fn results(out: &Path) -> BTreeMap<String, (Vec<u8>, std::time::SystemTime)> {
    std::fs::read_dir(out.join("stages"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let f = e.path().join("result.json");
            let meta = std::fs::metadata(&f).ok()?;
            Some((
                e.file_name().to_string_lossy().to_string(),
                (std::fs::read(&f).unwrap(), meta.modified().unwrap()),
            ))
        })
        .collect()
}

#[test]
fn tabular_audit_renders_matches_its_json_resumes_and_recomputes_a_changed_model() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("bc");
    let out = tmp.path().join("audit");
    tabular_run(&run, 1);
    let first = audit(&run, &out, &[]);
    let st = statuses(&first);
    // Tabular rows get the two noise sets, drawn in the per-feature box; no image shift.
    let sets: Vec<&str> = first["ood"]["sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["set"].as_str().unwrap())
        .collect();
    assert_eq!(sets, ["gaussian-noise", "uniform-noise"]);
    for stage in [
        "accuracy",
        "robustness",
        "certified",
        "calibration",
        "conformal",
        "ood",
        "explain",
        "deferral",
    ] {
        assert_eq!(st[stage], "computed", "{stage}: {st:?}");
    }
    assert_eq!(first["robustness"]["units"], "std");
    assert_eq!(first["certified"]["method"], "CROWN-IBP");
    assert_certified_interval(&out, &first);
    assert_eq!(
        first["settings"]["robustness"]["eps"],
        serde_json::json!([0.0, 0.1, 0.5])
    );
    // 113 test items cannot certify 2% risk at δ = 0.001: the summary says so first, with
    // how many a certificate needs (451 error-free calibration items, 564 audited at 0.8).
    assert_eq!(first["deferral"]["feasible"], false);
    assert_eq!(first["verdicts"][0]["status"], "fail");
    assert_eq!(first["deferral"]["min_calibration_items"], 451);
    assert_eq!(first["deferral"]["min_items"], 564);
    // A fit half of 56 rows from a ~99% model holds far fewer than ten mistakes: no
    // temperature is estimated (it ran towards T → 0 before), T = 1 is kept and said why.
    let cal = &first["calibration"];
    assert_eq!(cal["temperature_estimated"], false, "{cal}");
    assert_eq!(cal["temperature"], 1.0);
    assert_eq!(cal["after"], cal["before"]);
    assert!(
        cal["not_estimated_reason"]
            .as_str()
            .unwrap()
            .contains("fit rows")
    );
    let calibration_verdict = first["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["stage"] == "calibration")
        .unwrap();
    assert!(
        calibration_verdict["claim"]
            .as_str()
            .unwrap()
            .contains("temperature scaling not assessed"),
        "{calibration_verdict}"
    );
    assert_numbers_match(&out);
    assert_renders(&out, "tabular");

    // A rerun recomputes nothing: every stage cached, its result untouched.
    let before = results(&out);
    let second = audit(&run, &out, &[]);
    assert!(
        statuses(&second)
            .values()
            .all(|s| s == "cached" || s == "skipped"),
        "{:?}",
        statuses(&second)
    );
    assert_eq!(results(&out), before, "a cached stage was rewritten");
    assert_eq!(second["accuracy"], first["accuracy"]);
    assert_eq!(second["robustness"], first["robustness"]);

    // Keep this audit to compare with, then retrain the model in place.
    let kept = tmp.path().join("kept");
    std::fs::create_dir_all(&kept).unwrap();
    // As an audit written before the certified stage existed: no certified settings or result.
    let mut old: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("audit.json")).unwrap()).unwrap();
    old["settings"].as_object_mut().unwrap().remove("certified");
    old.as_object_mut().unwrap().remove("certified");
    std::fs::write(kept.join("audit.json"), old.to_string()).unwrap();
    tabular_run(&run, 2);
    let third = audit(&run, &out, &[]);
    assert_ne!(third["model"]["sha256"], first["model"]["sha256"]);
    for (stage, status) in statuses(&third) {
        assert_eq!(status, "computed", "{stage}");
    }
    assert_numbers_match(&out);

    let o = aegis(&[
        "audit",
        "--compare",
        kept.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(kept.join("compare.html")).unwrap();
    assert!(
        page.contains("B − A") && page.contains("robust accuracy at ε"),
        "compare page"
    );
}

#[test]
fn imported_image_model_audit_has_heatmaps_and_renders() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("mnist-bn");
    imported_run(&run);
    let out = tmp.path().join("audit");
    let j = audit(&run, &out, &["--limit", "120", "--skip", "deferral"]);
    let st = statuses(&j);
    assert_eq!(st["deferral"], "skipped");
    assert!(
        j["model"]["imported_from"]
            .as_str()
            .unwrap()
            .ends_with("model.safetensors")
    );
    assert_eq!(j["robustness"]["units"], "raw");
    assert_eq!(st["certified"], "computed");
    assert_certified_interval(&out, &j);
    // All seven kinds apply to a one-channel 28 × 28 image: the two noise sets, inversion,
    // the two rotations, and (since issue 29) Gaussian blur and colour jitter, which on one
    // channel is a contrast and brightness change.
    let sets = j["ood"]["sets"].as_array().unwrap();
    assert_eq!(sets.len(), 7);
    assert_eq!(sets[5]["set"], "gaussian-blur");
    assert!(sets[5]["label"].as_str().unwrap().contains("σ = 1 px"));
    assert!(sets[5]["shifted_accuracy"].is_f64() && sets[1]["shifted_accuracy"].is_null());
    let items = j["explain"]["items"].as_array().unwrap();
    assert!(items.len() >= 4, "{} items", items.len());
    for item in items {
        let png = out
            .join("stages/explain")
            .join(item["ig_png"].as_str().unwrap());
        assert!(image::open(&png).is_ok(), "{}", png.display());
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.matches("data:image/png;base64,").count() >= 2 * items.len());
    assert_numbers_match(&out);
    assert_renders(&out, "imported-mnist");
}

#[test]
fn imported_colour_model_audit_has_an_ood_section() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("colour");
    imported_colour_run(&run);
    let out = tmp.path().join("audit");
    // Its labels use classes 3 and 6 of 10: every stage sizes its work by the model. Its GELU
    // is a layer bound propagation refuses: the certified stage is skipped, saying so.
    let j = audit(&run, &out, &[]);
    for (stage, status) in statuses(&j) {
        let want = if stage == "certified" {
            "skipped"
        } else {
            "computed"
        };
        assert_eq!(status, want, "stage {stage}");
    }
    let reason = stage_reason(&j, "certified");
    assert!(
        reason.starts_with("not applicable") && reason.contains("(gelu)"),
        "{reason}"
    );
    assert!(j["certified"].is_null());
    let sets = j["ood"]["sets"].as_array().unwrap();
    let keys: Vec<&str> = sets.iter().map(|s| s["set"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "gaussian-noise",
            "uniform-noise",
            "inverted",
            "rotated-45",
            "rotated-90",
            "gaussian-blur",
            "colour-jitter"
        ]
    );
    for s in sets {
        let a = s["best_auroc"].as_f64().unwrap();
        assert!(a.is_finite() && (0.0..=1.0).contains(&a), "{s}");
        assert_eq!(s["noise"], s["shifted_accuracy"].is_null(), "{s}");
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let section = &html[html.find("<section id=\"ood\">").expect("OOD section")..];
    let section = &section[..section.find("</section>").unwrap()];
    for (i, s) in sets.iter().enumerate() {
        let label = s["label"].as_str().unwrap();
        assert!(
            section.contains(&format!("data-json=\"/ood/sets/{i}/label\">{label}<")),
            "{label} not shown"
        );
    }
}

#[test]
fn a_failed_stage_is_a_failed_section_and_a_rerun_computes_only_it() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("bc");
    let out = tmp.path().join("audit");
    tabular_run(&run, 1);
    // A plain file where the conformal stage's folder goes: the stage cannot write anything.
    let blocker = out.join("stages").join("conformal");
    std::fs::create_dir_all(blocker.parent().unwrap()).unwrap();
    std::fs::write(&blocker, "in the way").unwrap();
    let o = aegis(&[
        "audit",
        "--run",
        run.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--profile",
        "quick",
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    let path = blocker.display().to_string();
    assert!(
        errors[0].contains("stage conformal failed") && errors[0].contains(&path),
        "{stderr}"
    );

    let j: Value = serde_json::from_slice(&std::fs::read(out.join("audit.json")).unwrap()).unwrap();
    let st = statuses(&j);
    assert_eq!(st["conformal"], "failed", "{st:?}");
    let reason = stage_reason(&j, "conformal");
    assert!(reason.contains(&path) && !reason.contains('\n'), "{reason}");
    assert!(j["conformal"].is_null());
    for stage in [
        "accuracy",
        "robustness",
        "certified",
        "calibration",
        "ood",
        "explain",
        "deferral",
    ] {
        assert_eq!(st[stage], "computed", "{stage}: {st:?}");
        assert!(j[stage].is_object(), "{stage} has no result");
    }
    let about = |j: &Value, stage: &str| -> Vec<Value> {
        j["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["stage"] == stage)
            .cloned()
            .collect()
    };
    let conformal = about(&j, "conformal");
    assert_eq!(conformal.len(), 1, "{conformal:?}");
    assert_eq!(conformal[0]["status"], "fail");
    assert_eq!(
        conformal[0]["claim"],
        "Not assessed because the stage failed"
    );
    assert_eq!(
        conformal[0]["evidence"][0]["pointer"],
        format!("/stages/{}/reason", 4)
    );
    assert_eq!(about(&j, "accuracy").len(), 1);
    assert_numbers_match(&out);
    assert_renders(&out, "failed-stage");
    let shown = in_page(
        &out,
        "(() => { const box = document.querySelector('#conformal .failed-stage');
                  const r = box ? box.getBoundingClientRect() : { width: 0, height: 0 };
                  return { text: box ? box.innerText : '', width: r.width, height: r.height,
                           sections: document.querySelectorAll('section table, section svg').length }; })()",
    );
    assert!(
        shown["width"].as_f64().unwrap() > 100.0 && shown["height"].as_f64().unwrap() > 10.0,
        "{shown}"
    );
    let text = shown["text"].as_str().unwrap();
    assert!(text.contains("failed") && text.contains(&path), "{shown}");

    // Keep the failed audit to compare with; remove the file and rerun: only conformal runs.
    let kept = tmp.path().join("kept");
    std::fs::create_dir_all(&kept).unwrap();
    std::fs::copy(out.join("audit.json"), kept.join("audit.json")).unwrap();
    let before = results(&out);
    assert!(!before.contains_key("conformal"));
    std::fs::remove_file(&blocker).unwrap();
    let again = audit(&run, &out, &[]);
    for (stage, status) in statuses(&again) {
        let want = if stage == "conformal" {
            "computed"
        } else {
            "cached"
        };
        assert_eq!(status, want, "{stage}");
    }
    let mut after = results(&out);
    assert!(after.remove("conformal").is_some());
    assert_eq!(after, before, "a cached stage was rewritten");
    assert!(again["conformal"].is_object());
    assert!(
        about(&again, "conformal")
            .iter()
            .all(|v| v["claim"] != "Not assessed because the stage failed")
    );
    assert_numbers_match(&out);

    let o = aegis(&[
        "audit",
        "--compare",
        kept.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(kept.join("compare.html")).unwrap();
    assert!(
        page.contains("Not assessed because the stage failed") && page.contains("B − A"),
        "compare page"
    );
}

#[test]
fn bad_input_is_one_line_exit_2_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let t = |p: &str| tmp.path().join(p);
    let s = |p: &Path| p.to_str().unwrap().to_string();

    let o = aegis(&["audit", "--run", &s(&t("nope")), "--out", &s(&t("out1"))]);
    assert_clean_error(&o, &["nope"]);
    assert!(!t("out1").exists());

    let run = t("bc");
    tabular_run(&run, 1);
    let o = aegis(&[
        "audit",
        "--run",
        &s(&run),
        "--skip",
        "ood,shap",
        "--out",
        &s(&t("out2")),
    ]);
    assert_clean_error(&o, &["shap", "explain"]);
    assert!(!t("out2").exists());
    let o = aegis(&[
        "audit",
        "--run",
        &s(&run),
        "--limit",
        "0",
        "--out",
        &s(&t("out2")),
    ]);
    assert_clean_error(&o, &["limit"]);
    assert!(!t("out2").exists());

    std::fs::write(t("file"), "not a folder").unwrap();
    let o = aegis(&["audit", "--run", &s(&run), "--out", &s(&t("file"))]);
    assert_clean_error(&o, &["file", "not a folder"]);
    let o = aegis(&[
        "audit",
        "--run",
        &s(&run),
        "--out",
        &s(&t("file").join("sub")),
    ]);
    assert_clean_error(&o, &["not a folder"]);
    assert_eq!(std::fs::read_to_string(t("file")).unwrap(), "not a folder");

    let weights = run.join("model.bpk");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let o = aegis(&["audit", "--run", &s(&run), "--out", &s(&t("out3"))]);
    assert_clean_error(&o, &["model.bpk"]);
    assert!(!t("out3").exists());
    std::fs::write(run.join("config.json"), "{ torn").unwrap();
    let o = aegis(&["audit", "--run", &s(&run), "--out", &s(&t("out4"))]);
    assert_clean_error(&o, &["config.json"]);
    assert!(!t("out4").exists());

    let o = aegis(&["audit", "--compare", &s(&t("a")), &s(&t("b"))]);
    assert_clean_error(&o, &["audit.json"]);
}

/// A CIFAR-style residual network (`[3, 32, 32]`, batch norm, a projection shortcut, global
/// average pooling, 10 classes) with seeded random weights, exported in PyTorch's layout and
/// imported as a user would bring it, with 80 uniform images labelled by `label(row)`.
fn imported_resnet(dir: &Path, label: impl Fn(usize) -> i64) -> PathBuf {
    use aegis::model::import::{export_safetensors, sequential_config, state_dict_of};
    std::fs::create_dir_all(dir).unwrap();
    let conv = |i: usize, o: usize, k: usize, s: usize| {
        serde_json::json!({"type": "conv2d", "in_channels": i, "out_channels": o,
            "kernel_size": [k, k], "stride": [s, s], "padding": [k / 2, k / 2], "bias": false})
    };
    let bn = |c: usize| serde_json::json!({"type": "batchnorm2d", "num_features": c});
    let relu = serde_json::json!({"type": "relu"});
    let spec = serde_json::json!({
        "input_shape": [3, 32, 32],
        "layers": [
            {"type": "normalize", "mean": [0.4914, 0.4822, 0.4465], "std": [0.247, 0.243, 0.261]},
            conv(3, 16, 3, 1), bn(16), relu,
            {"type": "residual", "layers": [conv(16, 16, 3, 1), bn(16), relu, conv(16, 16, 3, 1), bn(16)]},
            relu,
            {"type": "residual",
             "layers": [conv(16, 32, 3, 2), bn(32), relu, conv(32, 32, 3, 1), bn(32)],
             "projection": [conv(16, 32, 1, 2), bn(32)]},
            relu,
            {"type": "adaptiveavgpool2d", "output_size": [1, 1]},
            {"type": "flatten"},
            {"type": "linear", "in_features": 32, "out_features": 10}
        ]
    });
    let arch = dir.join("resnet.json");
    std::fs::write(&arch, spec.to_string()).unwrap();
    let spec = SequentialSpec::from_file(&arch).unwrap();
    let cfg = sequential_config(&spec, vec![3, 32, 32]).unwrap();
    let device = DeviceSpec::Flex.open().unwrap();
    let model = cfg.init(&device, 3).unwrap();
    let (_, params) = state_dict_of(&model, &cfg).unwrap();
    let weights = dir.join("resnet.safetensors");
    export_safetensors(&params, Default::default(), &weights).unwrap();
    let rows = 80;
    let x = dir.join("x.npy");
    npy::write_f32(
        &x,
        &[rows, 3, 32, 32],
        &npy::uniform(rows * 3 * 32 * 32, 11),
    );
    let labels: Vec<i64> = (0..rows).map(label).collect();
    npy::write_labels(&dir.join("x_labels.npy"), &labels);
    let run = dir.join("run");
    aegis::model::import_run(&ImportRequest {
        spec,
        arch_path: arch,
        weights,
        source: WeightsSource::default(),
        data: DataSource::Path(x),
        classes: None,
        split_seed: 0,
        device: DeviceSpec::Flex,
        out: run.clone(),
    })
    .unwrap();
    run
}

#[test]
fn imported_colour_resnet_audit_is_complete_with_one_test_class_and_with_all() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: [(&str, fn(usize) -> i64); 2] =
        [("one-class", |_| 3), ("all-classes", |i| (i % 10) as i64)];
    for (name, label) in cases {
        let run = imported_resnet(&tmp.path().join(name), label);
        let out = tmp.path().join(name).join("audit");
        let j = audit(&run, &out, &[]);
        for (stage, status) in statuses(&j) {
            assert_eq!(status, "computed", "{name}: stage {stage}");
        }
        assert_eq!(j["model"]["input_shape"], serde_json::json!([3, 32, 32]));
        assert!(!j["ood"]["sets"].as_array().unwrap().is_empty(), "{name}");
        let per_class = j["accuracy"]["per_class"].as_array().unwrap();
        assert_eq!(per_class.len(), 10, "{name}");
        let empty = per_class.iter().filter(|c| c["n"] == 0).count();
        assert_eq!(empty > 0, name == "one-class", "{name}");
        assert_numbers_match(&out);
        assert_renders(&out, &format!("resnet-{name}"));
    }
}
