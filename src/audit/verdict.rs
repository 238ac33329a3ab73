//! The summary's verdicts: one or more [`Verdict`]s per stage, each a claim without numbers
//! and the evidence as JSON pointers into `audit.json` (so the HTML writes the numbers from
//! the document itself). Failures come first: a failed sanity check, a coverage off target or
//! an uncertifiable risk is said in the summary, never only in a table. A stage that failed has
//! no result: its one verdict is a failure saying it was not assessed, with the error as
//! evidence (never a pass).

use super::cache::StageStatus;
use super::config::{AuditSettings, Stage};
use super::report::{AuditReport, Evidence, Fmt, Verdict, VerdictStatus};

fn verdict(stage: Stage, status: VerdictStatus, claim: &str, evidence: Vec<Evidence>) -> Verdict {
    Verdict {
        stage,
        status,
        claim: claim.to_string(),
        evidence,
    }
}

/// Every verdict of `report` (whose results are filled in), failures first, then by stage.
pub fn verdicts(report: &AuditReport) -> Vec<Verdict> {
    let s = &report.settings;
    let mut v = Vec::new();
    accuracy(report, &mut v);
    robustness(report, s, &mut v);
    certified(report, s, &mut v);
    calibration(report, &mut v);
    conformal(report, &mut v);
    ood(report, &mut v);
    explain(report, &mut v);
    deferral(report, &mut v);
    failed(report, &mut v);
    v.sort_by_key(|x| (x.status, x.stage));
    v
}

/// One verdict per failed stage: not assessed, its error as evidence.
fn failed(r: &AuditReport, v: &mut Vec<Verdict>) {
    for (i, rec) in r.stages.iter().enumerate() {
        if rec.status == StageStatus::Failed {
            v.push(verdict(
                rec.stage,
                VerdictStatus::Fail,
                "Not assessed because the stage failed",
                vec![Evidence::new(
                    "error",
                    format!("/stages/{i}/reason"),
                    Fmt::Text,
                )],
            ));
        }
    }
}

fn accuracy(r: &AuditReport, v: &mut Vec<Verdict>) {
    let Some(a) = &r.accuracy else { return };
    let mut ev = vec![
        Evidence::new("accuracy", "/accuracy/accuracy", Fmt::Pct1),
        Evidence::new("test items", "/accuracy/n", Fmt::Int),
    ];
    let worst = a
        .per_class
        .iter()
        .enumerate()
        .filter_map(|(k, c)| c.accuracy.map(|acc| (k, acc)))
        .min_by(|x, y| x.1.total_cmp(&y.1));
    if let Some((k, _)) = worst {
        ev.push(Evidence::new(
            "weakest class",
            format!("/accuracy/per_class/{k}/name"),
            Fmt::Text,
        ));
        ev.push(Evidence::new(
            "its accuracy",
            format!("/accuracy/per_class/{k}/accuracy"),
            Fmt::Pct1,
        ));
    }
    v.push(verdict(
        Stage::Accuracy,
        VerdictStatus::Info,
        "Accuracy on the audited test items",
        ev,
    ));
}

fn robustness(r: &AuditReport, s: &AuditSettings, v: &mut Vec<Verdict>) {
    let Some(rb) = &r.robustness else { return };
    let status = if rb.headline.accuracy < s.robustness.warn_below {
        VerdictStatus::Warn
    } else {
        VerdictStatus::Pass
    };
    let claim = if status == VerdictStatus::Pass {
        "Keeps most of its accuracy under attack at the headline radius"
    } else {
        "Loses most of its accuracy under attack at the headline radius"
    };
    v.push(verdict(
        Stage::Robustness,
        status,
        claim,
        vec![
            Evidence::new("ε", "/robustness/headline/eps", Fmt::Exact),
            Evidence::new(
                "robust accuracy",
                "/robustness/headline/accuracy",
                Fmt::Pct1,
            ),
            Evidence::new("clean accuracy", "/robustness/clean_accuracy", Fmt::Pct1),
            Evidence::new("attack suite", "/robustness/suite", Fmt::Text),
            Evidence::new("items attacked", "/robustness/n", Fmt::Int),
        ],
    ));
    for (i, c) in rb.sanity_checks.iter().enumerate() {
        if !c.passed {
            v.push(verdict(
                Stage::Robustness,
                VerdictStatus::Fail,
                "Sanity check of the attacks failed (possible gradient masking): the robust accuracy may be overstated",
                vec![Evidence::labelled_by(
                    format!("/robustness/sanity_checks/{i}/name"),
                    format!("/robustness/sanity_checks/{i}/detail"),
                    Fmt::Text,
                )],
            ));
        }
    }
}

/// The interval certified ≤ robust accuracy ≤ attacked: a failure when the certified end lies
/// above the attacked one (an unsound bound or an attack outside the ball), a warning when it
/// is wider than `wide_gap`, else information.
fn certified(r: &AuditReport, s: &AuditSettings, v: &mut Vec<Verdict>) {
    let Some(c) = &r.certified else { return };
    let mut ev = vec![
        Evidence::new("ε", "/certified/eps", Fmt::Exact),
        Evidence::new("certified", "/certified/verified_accuracy", Fmt::Pct1),
    ];
    let attacked = r.robustness.as_ref().filter(|_| r.same_ball());
    let Some(rb) = attacked else {
        ev.push(Evidence::new("method", "/certified/method", Fmt::Text));
        v.push(verdict(
            Stage::Certified,
            VerdictStatus::Info,
            "Robust accuracy proven at the headline radius (a lower bound; no attack ran to bound it from above)",
            ev,
        ));
        return;
    };
    ev.push(Evidence::new(
        "attacked",
        "/robustness/headline/accuracy",
        Fmt::Pct1,
    ));
    ev.push(Evidence::new("method", "/certified/method", Fmt::Text));
    let gap = rb.headline.accuracy - c.verified_accuracy;
    let (status, claim) = if gap < -1e-12 {
        (
            VerdictStatus::Fail,
            "Certified accuracy above the attacked one: a bound is unsound or an attack left the ball",
        )
    } else if gap > s.certified.wide_gap {
        (
            VerdictStatus::Warn,
            "Robust accuracy lies in a wide interval: certified ≤ true ≤ attacked, the proof far below the attacks",
        )
    } else {
        (
            VerdictStatus::Info,
            "Robust accuracy pinned to a narrow interval: certified ≤ true ≤ attacked",
        )
    };
    v.push(verdict(Stage::Certified, status, claim, ev));
}

fn calibration(r: &AuditReport, v: &mut Vec<Verdict>) {
    let Some(c) = &r.calibration else { return };
    let target = r.settings.calibration.target_ece;
    if !c.temperature_estimated {
        // No temperature to speak of: the unscaled ECE against the bar, and why.
        let (status, claim) = if c.before.ece <= target {
            (
                VerdictStatus::Pass,
                "Calibrated as trained; temperature scaling not assessed (too few misclassified or correctly classified items to fit a temperature)",
            )
        } else {
            (
                VerdictStatus::Warn,
                "Above the calibration bar as trained; temperature scaling not assessed (too few misclassified or correctly classified items to fit a temperature)",
            )
        };
        v.push(verdict(
            Stage::Calibration,
            status,
            claim,
            vec![
                Evidence::new("ECE", "/calibration/before/ece", Fmt::Pct1),
                Evidence::new("bar", "/settings/calibration/target_ece", Fmt::Pct1),
                Evidence::new(
                    "misclassified fit items",
                    "/calibration/fit_misclassified",
                    Fmt::Int,
                ),
                Evidence::new("of", "/calibration/n_fit", Fmt::Int),
                Evidence::new("needed", "/calibration/min_fit_events", Fmt::Int),
                Evidence::new("held-out items", "/calibration/n_eval", Fmt::Int),
            ],
        ));
        return;
    }
    let (status, claim) = if c.before.ece <= target {
        (VerdictStatus::Pass, "Calibrated as trained")
    } else if c.after.ece <= target {
        (
            VerdictStatus::Warn,
            "Calibrated only after temperature scaling",
        )
    } else {
        (
            VerdictStatus::Fail,
            "Miscalibrated, even after temperature scaling",
        )
    };
    v.push(verdict(
        Stage::Calibration,
        status,
        claim,
        vec![
            Evidence::new("ECE", "/calibration/before/ece", Fmt::Pct1),
            Evidence::new(
                "after temperature scaling",
                "/calibration/after/ece",
                Fmt::Pct1,
            ),
            Evidence::new("temperature", "/calibration/temperature", Fmt::Dec3),
            Evidence::new("bar", "/settings/calibration/target_ece", Fmt::Pct1),
            Evidence::new("held-out items", "/calibration/n_eval", Fmt::Int),
        ],
    ));
}

fn conformal(r: &AuditReport, v: &mut Vec<Verdict>) {
    let Some(c) = &r.conformal else { return };
    for (i, l) in c.levels.iter().enumerate() {
        let p = |f: &str| format!("/conformal/levels/{i}/{f}");
        let (status, claim) = if l.within_tolerance {
            (
                VerdictStatus::Pass,
                "Conformal prediction sets reach their coverage",
            )
        } else {
            (
                VerdictStatus::Fail,
                "Conformal prediction sets miss their coverage",
            )
        };
        v.push(verdict(
            Stage::Conformal,
            status,
            claim,
            vec![
                Evidence::new("α", p("alpha"), Fmt::Exact),
                Evidence::new("coverage", p("mean_coverage"), Fmt::Pct1),
                Evidence::new("target", p("target_coverage"), Fmt::Pct1),
                Evidence::new("expected at most", p("max_expected_coverage"), Fmt::Pct1),
                Evidence::new("mean set size", p("mean_set_size"), Fmt::Dec2),
                Evidence::new("test items per split", p("n_test"), Fmt::Int),
            ],
        ));
    }
}

fn ood(r: &AuditReport, v: &mut Vec<Verdict>) {
    let Some(o) = &r.ood else { return };
    let bar = r.settings.ood.pass_auroc;
    let noise_ok = o
        .sets
        .iter()
        .filter(|s| s.noise)
        .all(|s| s.best_auroc >= bar);
    let (status, claim) = if noise_ok {
        (
            VerdictStatus::Pass,
            "Tells noise inputs from real ones (best score's AUROC per set)",
        )
    } else {
        (
            VerdictStatus::Warn,
            "Does not reliably tell noise inputs from real ones (best score's AUROC per set)",
        )
    };
    let mut ev: Vec<Evidence> = o
        .sets
        .iter()
        .enumerate()
        .map(|(i, _)| {
            Evidence::labelled_by(
                format!("/ood/sets/{i}/set"),
                format!("/ood/sets/{i}/best_auroc"),
                Fmt::Dec3,
            )
        })
        .collect();
    ev.push(Evidence::new(
        "bar for noise sets",
        "/settings/ood/pass_auroc",
        Fmt::Dec2,
    ));
    v.push(verdict(Stage::Ood, status, claim, ev));
}

fn explain(r: &AuditReport, v: &mut Vec<Verdict>) {
    let Some(e) = &r.explain else { return };
    let failed: Vec<usize> = (0..e.checks.len())
        .filter(|&i| !e.checks[i].passed)
        .collect();
    let k = e.deletion.len().saturating_sub(1);
    let ig = e
        .deletion
        .iter()
        .position(|d| d.method.contains("integrated"))
        .unwrap_or(0);
    let mut ev = vec![
        Evidence::new(
            "IG deletion AUC",
            format!("/explain/deletion/{ig}/auc"),
            Fmt::Dec3,
        ),
        Evidence::new(
            "random order",
            format!("/explain/deletion/{k}/auc"),
            Fmt::Dec3,
        ),
    ];
    let (status, claim) = if failed.is_empty() {
        (
            VerdictStatus::Pass,
            "Explanations pass their faithfulness and sanity checks",
        )
    } else {
        for i in &failed {
            ev.push(Evidence::labelled_by(
                format!("/explain/checks/{i}/name"),
                format!("/explain/checks/{i}/detail"),
                Fmt::Text,
            ));
        }
        (VerdictStatus::Fail, "Explanation checks failed")
    };
    v.push(verdict(Stage::Explain, status, claim, ev));
}

fn deferral(r: &AuditReport, v: &mut Vec<Verdict>) {
    let Some(d) = &r.deferral else { return };
    let max = r.settings.deferral.max_violation_rate;
    let (status, claim) = if !d.feasible && d.n_calibration < d.min_calibration_items {
        (
            VerdictStatus::Fail,
            "Cannot certify the target risk on this few items (too few for any certificate, however good the model): every input would be deferred",
        )
    } else if !d.feasible {
        (
            VerdictStatus::Fail,
            "Cannot certify the target risk: the model's confident errors keep every threshold's bound above it, so every input would be deferred",
        )
    } else if d.violation_rate > max {
        (
            VerdictStatus::Fail,
            "The risk guarantee broke on held-out splits",
        )
    } else {
        (
            VerdictStatus::Pass,
            "Defers a share of inputs to a human to hold the target risk",
        )
    };
    v.push(verdict(
        Stage::Deferral,
        status,
        claim,
        vec![
            Evidence::new("deferred", "/deferral/deferral_rate", Fmt::Pct1),
            Evidence::new("target risk", "/deferral/target_risk", Fmt::Pct1),
            Evidence::new("δ", "/deferral/delta", Fmt::Exact),
            Evidence::new("held-out risk", "/deferral/risk", Fmt::Pct2),
            Evidence::new("splits over target", "/deferral/violation_rate", Fmt::Pct1),
            Evidence::new("calibration items", "/deferral/n_calibration", Fmt::Int),
            Evidence::new(
                "a certificate needs at least",
                "/deferral/min_calibration_items",
                Fmt::Int,
            ),
        ],
    ));
}
