//! The team summary page: progress per reviewer, agreement between reviewers on the items two
//! of them labelled (Cohen's κ per pair), and, when the run's true labels could be read, the
//! team metrics of `report` ([`crate::team::team_metrics`], the same code) on the live log.

use super::html::{esc, page, top_bar};
use super::state::ReviewState;
use crate::error::Result;
use crate::team::{ReviewAgreement, TeamMetrics, review_agreement, team_metrics};

/// The true labels of the run's test split, or why they are not at hand.
pub type Labels = std::result::Result<Vec<usize>, String>;

fn opt(v: Option<f64>) -> String {
    v.map_or("–".to_string(), |v| format!("{v:.3}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or("–".to_string(), |v| format!("{:.1}%", 100.0 * v))
}

/// The whole page.
pub fn summary_page(
    state: &ReviewState,
    reviewer: &str,
    token: &str,
    labels: &Labels,
    nonce: &str,
) -> Result<String> {
    let progress = state.progress();
    let agreement = review_agreement(state.queue(), state.ledger())?;
    let team = match labels {
        Ok(l) => Ok(team_metrics(state.queue(), l, state.ledger())?),
        Err(why) => Err(why.clone()),
    };
    let mut rows = String::new();
    for p in &progress.reviewers {
        let s = agreement
            .reviewers
            .iter()
            .find(|s| s.reviewer == p.reviewer);
        let n = |f: fn(&crate::team::ReviewerSummary) -> usize| s.map_or(0, f);
        rows.push_str(&format!(
            "<tr><td>{who}</td><td class=\"num\">{d}</td><td class=\"num\">{a}</td>\
             <td class=\"num\">{o}</td><td class=\"num\">{k}</td><td class=\"num\">{rate}</td>\
             <td class=\"num\">{left}</td></tr>",
            who = esc(&p.reviewer),
            d = p.decided,
            a = n(|s| s.accepted),
            o = n(|s| s.overridden),
            k = n(|s| s.skipped),
            rate = pct(s.and_then(|s| s.override_rate)),
            left = p.remaining,
        ));
    }
    let main = format!(
        "<div class=\"card\"><h1>Team summary <small>· {total} queued items, {complete} \
         complete, {per} review(s) each · log {log} ({lines} lines)</small></h1></div>\
         <div class=\"cols\"><div class=\"card\"><h2>Reviewers</h2><table class=\"data\">\
         <thead><tr><th>reviewer</th><th>decided</th><th>accepted</th><th>overridden</th>\
         <th>skipped</th><th>override rate</th><th>left</th></tr></thead><tbody>{rows}</tbody>\
         </table></div>{pairs}</div>{team}",
        total = progress.total,
        complete = progress.complete,
        per = progress.reviews_per_item,
        log = esc(&state.log().path().display().to_string()),
        lines = state.log().records().len(),
        pairs = pairs_card(&agreement),
        team = team_card(&team),
    );
    Ok(page(
        "Team summary · Aegis",
        nonce,
        "",
        &top_bar(&progress, reviewer, token),
        &main,
        None,
    ))
}

fn pairs_card(a: &ReviewAgreement) -> String {
    if a.pairs.is_empty() {
        return "<div class=\"card\"><h2>Agreement between reviewers</h2><p class=\"muted\">\
                No item has labels from two reviewers yet (serve with <code>--double-review\
                </code> to collect them).</p></div>"
            .to_string();
    }
    let rows: String = a
        .pairs
        .iter()
        .map(|p| {
            format!(
                "<tr><td>{} &amp; {}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td></tr>",
                esc(&p.first),
                esc(&p.second),
                p.items,
                pct(p.agreement),
                opt(p.kappa)
            )
        })
        .collect();
    format!(
        "<div class=\"card\"><h2>Agreement between reviewers</h2><p>{n} item(s) labelled by \
         two reviewers; their first two labels agree on {agree}.</p><table class=\"data\">\
         <thead><tr><th>pair</th><th>items</th><th>agreement</th><th>Cohen's κ</th></tr>\
         </thead><tbody>{rows}</tbody></table></div>",
        n = a.double_labelled,
        agree = pct(a.agreement),
    )
}

fn team_card(team: &std::result::Result<TeamMetrics, String>) -> String {
    let t = match team {
        Ok(t) => t,
        Err(why) => {
            return format!(
                "<div class=\"card\"><h2>Team metrics</h2><p class=\"muted\">The run's true \
                 labels are not at hand ({}), so accuracy cannot be measured here; \
                 <code>aegis-oversight report</code> computes it where the run is.</p></div>",
                esc(why)
            );
        }
    };
    let line = |k: &str, v: String| format!("<tr><td>{k}</td><td class=\"num\">{v}</td></tr>");
    let rows = [
        line("deployment rows", t.rows.to_string()),
        line("coverage (decided by the model)", pct(Some(t.coverage))),
        line(
            "selective risk of the model's decisions",
            pct(Some(t.selective_risk)),
        ),
        line(
            "queued: accepted / overridden / skipped / pending",
            format!(
                "{} / {} / {} / {}",
                t.accepted, t.overridden, t.skipped, t.pending
            ),
        ),
        line("override rate", pct(t.override_rate)),
        line(
            "reviewers' accuracy on decided items",
            pct(t.reviewer_accuracy),
        ),
        line(
            "model's accuracy on the same items",
            pct(t.model_accuracy_on_reviewed),
        ),
        line("Cohen's κ, model vs reviewers", opt(t.kappa_model_reviewer)),
        line(
            "system accuracy (model + reviewers)",
            pct(Some(t.system_accuracy)),
        ),
        line("model alone", pct(Some(t.model_accuracy))),
    ]
    .concat();
    format!(
        "<div class=\"card\"><h2>Team metrics <small>· as <code>aegis-oversight report</code> \
         computes them, on the live log</small></h2><table class=\"data\"><tbody>{rows}\
         </tbody></table></div>"
    )
}
