//! The HTML layer: `report.html` ([`render_report`]) and `compare.html`
//! ([`render_compare`]), both self-contained pages with inline SVG figures.
//!
//! - `doc.rs`: numbers and strings looked up in `audit.json` by JSON pointer and written in
//!   elements that name the pointer; escaping;
//! - `svg.rs`: the chart primitives; `figures.rs`: the report's figures;
//! - `sections/`: one section per stage; `page.rs`: the page, its style sheet and summary;
//! - `compare.rs`: two audits side by side.

mod compare;
pub mod doc;
mod figures;
mod page;
mod sections;
mod svg;

pub use compare::{Side, render_compare};
pub use page::render_report;
