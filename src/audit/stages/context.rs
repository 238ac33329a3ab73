//! What every stage reads: the opened run (its test split already limited to the audited
//! rows), the audit's settings, and whether progress bars are drawn.

use aegis_model::LoadedRun;

use crate::audit::config::AuditSettings;

/// The inputs every stage shares.
pub struct StageContext<'a> {
    /// The run, with `test` holding the audited rows.
    pub run: &'a LoadedRun,
    /// Every setting of the audit.
    pub settings: &'a AuditSettings,
    /// Draw a progress bar on stderr (when it is a terminal).
    pub progress: bool,
}

impl StageContext<'_> {
    /// A progress bar for this stage over `total` steps of `unit`, labelled with the stage.
    pub fn bar(&self, stage: &str, total: u64, unit: &str) -> indicatif::ProgressBar {
        let bar = aegis_model::cli::progress_bar(self.progress, total, unit);
        bar.set_prefix(stage.to_string());
        bar.set_message(stage.to_string());
        bar
    }

    /// The class names of the run.
    pub fn class_names(&self) -> Vec<String> {
        class_names(self.run)
    }
}

/// The class names of a run: the data's, or the class indices.
pub fn class_names(run: &LoadedRun) -> Vec<String> {
    let t = &run.test;
    if t.class_names.len() == t.num_classes {
        t.class_names.clone()
    } else {
        (0..t.num_classes).map(|c| c.to_string()).collect()
    }
}
