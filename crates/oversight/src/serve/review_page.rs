//! The review page of one item: the input (an image at a readable size, or the row as a
//! table) with its attribution map beside it and as an overlay, the model's top classes with
//! their probabilities, the conformal set, the confidence and why the item was deferred, and
//! the answers: accept, another label, skip, undo, each a button with its keyboard key. With no
//! item left for the reviewer it says so, with their progress and undo.

use super::html::{REVIEW_JS, esc, hbar, link, page, top_bar};
use super::images::{heat_panel_png, heat_png, image_dims, input_png};
use super::state::{ItemStatus, ReviewState};
use crate::queue::{QueueItem, QueueMeta};

/// What the page shows besides the state.
#[derive(Debug)]
pub struct ReviewView<'a> {
    /// Who is reviewing.
    pub reviewer: &'a str,
    /// Their token (carried by links and the script's requests).
    pub token: &'a str,
    /// The item's position in the queue and where it stands for the reviewer; none when
    /// nothing is left for them.
    pub item: Option<(usize, ItemStatus)>,
    /// The conformal sets' α, when the queue's settings tell it.
    pub alpha: Option<f64>,
    /// This response's script nonce.
    pub nonce: &'a str,
}

/// The whole page.
pub fn review_page(state: &ReviewState, view: &ReviewView) -> String {
    let progress = state.progress();
    let top = top_bar(&progress, view.reviewer, view.token);
    let lease = state.lease_ttl().as_secs();
    let Some((pos, status)) = &view.item else {
        let attrs = format!("data-token=\"{}\" data-lease=\"{lease}\"", esc(view.token));
        return page(
            "Nothing left to review · Aegis",
            view.nonce,
            &attrs,
            &top,
            &done_card(state, view),
            Some(REVIEW_JS),
        );
    };
    let item = &state.queue().items[*pos];
    let meta = &state.queue().meta;
    let classes = meta.class_names.len().max(item.prediction + 1);
    let attrs = format!(
        "data-token=\"{}\" data-item=\"{}\" data-classes=\"{classes}\" data-lease=\"{lease}\" \
         data-open=\"{}\"",
        esc(view.token),
        esc(&item.id),
        u8::from(*status == ItemStatus::Open)
    );
    // A long feature table would push the answers off screen: beside it, they stay in view.
    let image = input_png(&item.features, &meta.sample_shape).is_some();
    let actions = actions(state, item, classes);
    let (beside, below) = if image {
        (String::new(), actions)
    } else {
        (actions, String::new())
    };
    let main = format!(
        "<div class=\"card\"><div class=\"item-head\"><h1>{id} <small>· item {n} of {total} · \
         test row {row}</small></h1></div>{note}<div class=\"grid\">{panels}<div class=\"side-col\">\
         {facts}{beside}</div></div>{below}<div id=\"banner\" role=\"status\" \
         aria-live=\"polite\"></div>{keys}</div>",
        id = esc(&item.id),
        n = pos + 1,
        total = state.queue().items.len(),
        row = item.index,
        note = status_note(status),
        panels = panels(item, meta),
        facts = facts(state, item, view.alpha),
        keys = keys_hint(classes),
    );
    page(
        &format!("Review {} · Aegis", item.id),
        view.nonce,
        &attrs,
        &top,
        &main,
        Some(REVIEW_JS),
    )
}

fn status_note(status: &ItemStatus) -> String {
    match status {
        ItemStatus::Open => String::new(),
        ItemStatus::DecidedByYou(what) => format!(
            "<p class=\"note\">You already answered this item: {}. Undo (<kbd>U</kbd>) \
             withdraws your latest answer.</p>",
            esc(what)
        ),
        ItemStatus::Complete(by) => format!(
            "<p class=\"note warn\">Already decided by {}; an answer now is refused.</p>",
            esc(&by.join(" and "))
        ),
        ItemStatus::LeasedTo(by) => format!(
            "<p class=\"note warn\">On {}'s screen right now; the first answer wins.</p>",
            esc(&by.join(" and "))
        ),
    }
}

/// Display scale: small images enlarged to about 300 px, large ones shown at most 360 px.
fn display_size(h: usize, w: usize) -> (usize, usize) {
    let side = h.max(w);
    if side >= 300 {
        let k = 360.0 / side as f64;
        return (
            ((w as f64) * k).round() as usize,
            ((h as f64) * k).round() as usize,
        );
    }
    let k = (300 / side).max(1);
    (w * k, h * k)
}

fn panels(item: &QueueItem, meta: &QueueMeta) -> String {
    let Some((c, h, w)) = image_dims(&meta.sample_shape) else {
        return tabular(item, meta);
    };
    let Some(input) = input_png(&item.features, &meta.sample_shape) else {
        return tabular(item, meta);
    };
    let (dw, dh) = display_size(h, w);
    let kind = if c == 3 {
        "colour".to_string()
    } else if c == 1 {
        "grey".to_string()
    } else {
        format!("{c} channels, mean shown")
    };
    let heat = heat_png(&item.attribution, &meta.sample_shape);
    let overlay = heat.as_ref().map_or(String::new(), |uri| {
        format!("<img class=\"overlay\" src=\"{uri}\" width=\"{dw}\" height=\"{dh}\" alt=\"\">")
    });
    let input_fig = format!(
        "<figure><div class=\"stack\"><img class=\"input\" src=\"{input}\" width=\"{dw}\" \
         height=\"{dh}\" alt=\"the input\">{overlay}</div><figcaption>Input, {h}×{w} \
         {kind}{toggle}</figcaption></figure>",
        toggle = if heat.is_some() {
            "<br><button class=\"toggle\" data-act=\"overlay\"><kbd>O</kbd>attribution overlay\
             </button>"
        } else {
            ""
        }
    );
    let panel = heat_panel_png(&item.attribution, &item.features, &meta.sample_shape);
    let heat_fig = panel.map_or(String::new(), |uri| {
        format!(
            "<figure><img class=\"heat\" src=\"{uri}\" width=\"{dw}\" height=\"{dh}\" \
             alt=\"attribution map\"><figcaption>{} attribution toward the prediction: \
             <b class=\"red\">red</b> supports it, <b class=\"blue\">blue</b> speaks against \
             it.</figcaption></figure>",
            esc(&meta.attribution_method)
        )
    });
    format!("<div class=\"panels\">{input_fig}{heat_fig}</div>")
}

/// A tabular row: each feature with its value and attribution, largest attribution first.
fn tabular(item: &QueueItem, meta: &QueueMeta) -> String {
    let mut order: Vec<usize> = (0..item.features.len()).collect();
    let has_attr = item.attribution.len() == item.features.len();
    if has_attr {
        order.sort_by(|&a, &b| {
            item.attribution[b]
                .abs()
                .total_cmp(&item.attribution[a].abs())
        });
    }
    let scale = item
        .attribution
        .iter()
        .fold(0f32, |m, v| m.max(v.abs()))
        .max(f32::EPSILON);
    let top: Vec<usize> = item.top_attribution.iter().map(|t| t.feature).collect();
    let mut rows = String::new();
    for j in order {
        let name = meta
            .feature_names
            .get(j)
            .cloned()
            .unwrap_or_else(|| format!("x{j}"));
        let (attr, bar) = match item.attribution.get(j).filter(|_| has_attr) {
            Some(&a) => (
                format!("{a:+.4}"),
                hbar(
                    (a.abs() / scale) as f64,
                    if a >= 0.0 { "pos" } else { "neg" },
                ),
            ),
            None => ("–".to_string(), String::new()),
        };
        rows.push_str(&format!(
            "<tr{cls}><td>{name}</td><td class=\"num\">{v:.4}</td><td class=\"num\">{attr}</td>\
             <td class=\"attrbar\">{bar}</td></tr>",
            cls = if top.contains(&j) {
                " class=\"top\""
            } else {
                ""
            },
            name = esc(&name),
            v = item.features[j],
        ));
    }
    format!(
        "<div class=\"panels\"><table class=\"data\"><thead><tr><th>feature</th><th>value</th>\
         <th>{} attribution</th><th></th></tr></thead><tbody>{rows}</tbody></table></div>",
        esc(&meta.attribution_method)
    )
}

fn facts(state: &ReviewState, item: &QueueItem, alpha: Option<f64>) -> String {
    let meta = &state.queue().meta;
    let set_names: Vec<String> = item
        .conformal_set
        .iter()
        .map(|&c| esc(&state.class_label(c)))
        .collect();
    let level = alpha.map_or(String::new(), |a| {
        format!(
            " (holds the true class {:.0}% of the time)",
            100.0 * (1.0 - a)
        )
    });
    let why = format!(
        "<b>Why deferred:</b> confidence κ ({kind}) = {k:.4} is below the threshold {t:.4} \
         ({src}); the conformal set holds {n} {classes}.",
        kind = esc(meta.confidence.key()),
        k = item.confidence,
        t = meta.threshold,
        src = esc(&meta.threshold_source),
        n = item.conformal_set.len(),
        classes = if item.conformal_set.len() == 1 {
            "class"
        } else {
            "classes"
        },
    );
    format!(
        "<div class=\"facts\"><p class=\"says\">Model says <b>{pred}</b> \
         <small class=\"muted\">p = {p:.3}</small></p><div class=\"why\">{why}</div>{table}\
         <p class=\"set\">Conformal set{level}: <b>{{{set}}}</b></p></div>",
        pred = esc(&state.class_label(item.prediction)),
        p = item.probability,
        table = top_classes(state, item),
        set = set_names.join(", "),
    )
}

/// The five most probable classes, with bars; the prediction alone for older queues.
fn top_classes(state: &ReviewState, item: &QueueItem) -> String {
    let mut ranked: Vec<(usize, f64)> = if item.probabilities.is_empty() {
        vec![(item.prediction, item.probability)]
    } else {
        item.probabilities.iter().copied().enumerate().collect()
    };
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(5);
    let mut rows = String::new();
    for (c, p) in ranked {
        let in_set = if item.conformal_set.contains(&c) {
            " <span class=\"inset\">in set</span>"
        } else {
            ""
        };
        rows.push_str(&format!(
            "<tr{cls}><td>{name}{in_set}</td><td class=\"barcell\">{bar}</td>\
             <td class=\"num\">{p:.3}</td></tr>",
            cls = if c == item.prediction {
                " class=\"pred\""
            } else {
                ""
            },
            name = esc(&state.class_label(c)),
            bar = hbar(p, "prob"),
        ));
    }
    format!("<table class=\"probs\" aria-label=\"top classes\">{rows}</table>")
}

fn actions(state: &ReviewState, item: &QueueItem, classes: usize) -> String {
    let labels =
        if classes <= 20 {
            let buttons: String = (0..classes)
            .map(|c| {
                let name = state.queue().meta.class_names.get(c).cloned();
                let name = name.unwrap_or_else(|| c.to_string());
                // The key is shown unless the name already is the key.
                let key = if classes <= 10 && name != c.to_string() {
                    format!("<kbd>{c}</kbd>")
                } else {
                    String::new()
                };
                format!(
                    "<button data-label=\"{c}\"{cls} title=\"label {title}\">{key}{text}</button>",
                    cls = if c == item.prediction { " class=\"pred\"" } else { "" },
                    title = esc(&state.class_label(c)),
                    text = esc(&name),
                )
            })
            .collect();
            format!("<div class=\"labels\">{buttons}</div>")
        } else {
            let options: String = (0..classes)
                .map(|c| {
                    format!(
                        "<option value=\"{c}\">{}</option>",
                        esc(&state.class_label(c))
                    )
                })
                .collect();
            format!(
                "<select id=\"picker\" aria-label=\"label\">{options}</select>\
             <button id=\"pick\"><kbd>L</kbd>set label</button>"
            )
        };
    format!(
        "<div class=\"actions\"><button class=\"primary\" data-act=\"accept\"><kbd>A</kbd>\
         Accept {pred}</button><span class=\"or\">or choose the label:</span>{labels}\
         <span class=\"side\"><button data-act=\"skip\"><kbd>S</kbd>Skip</button>\
         <button data-act=\"undo\"><kbd>U</kbd>Undo my last</button></span></div>",
        pred = esc(&state.class_label(item.prediction)),
    )
}

fn keys_hint(classes: usize) -> String {
    let label = if classes <= 10 {
        format!("<kbd>0</kbd>–<kbd>{}</kbd> that label", classes - 1)
    } else {
        "<kbd>L</kbd> pick a label".to_string()
    };
    format!(
        "<p class=\"keys\">Keys: <kbd>A</kbd> accept the prediction · {label} · <kbd>S</kbd> \
         skip · <kbd>U</kbd> undo your last answer · <kbd>O</kbd> overlay the attribution. \
         An answer counts once the server has written it to the audit log.</p>"
    )
}

fn done_card(state: &ReviewState, view: &ReviewView) -> String {
    let progress = state.progress();
    let waiting = progress.total - progress.complete;
    format!(
        "<div class=\"card\"><h1>Nothing left for you to review</h1><p>Every item is either \
         answered by you or has all its reviews{more}. <a href=\"{summary}\">See the team \
         summary</a>.</p><div class=\"actions\"><button data-act=\"undo\"><kbd>U</kbd>Undo my \
         last</button></div><div id=\"banner\" role=\"status\" aria-live=\"polite\"></div>\
         </div>",
        more = if waiting > 0 {
            format!(
                "; {waiting} item(s) still wait for a review by someone else (skipped, or on \
                 another reviewer's screen)"
            )
        } else {
            String::new()
        },
        summary = link("/summary", view.token),
    )
}
