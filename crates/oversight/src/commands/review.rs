//! `review`: a person (at the terminal) or a decisions file reviews a queue; each decision is
//! appended to the audit log and synced before the next item, and a stopped review resumes
//! where it stopped. The library function is [`crate::review()`].

use std::io::{BufReader, IsTerminal};
use std::path::PathBuf;
use std::time::Duration;

use crate::audit::AuditLog;
use crate::error::{OversightError, Result};
use crate::queue::Queue;
use crate::review::{ScriptedDecisions, TerminalReviewer, review};

/// The longest `--pause-ms`: a minute between decisions (the pause paces demonstrations and
/// tests; a longer one would look like a hung review).
const MAX_PAUSE_MS: u64 = 60_000;

/// Flags of `review`.
#[derive(clap::Args, Debug)]
pub struct ReviewArgs {
    /// Queue directory (from `queue`).
    pub queue: PathBuf,
    /// Reviewer name recorded with each decision.
    #[arg(long)]
    pub reviewer: String,
    /// Audit log [default: QUEUE/audit.jsonl].
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// Take decisions from this file (`ITEM_ID accept|skip|LABEL` per line) instead of the
    /// terminal.
    #[arg(long)]
    pub decisions: Option<PathBuf>,
    /// Wait this many milliseconds after each recorded decision (at most 60000).
    #[arg(long, default_value_t = 0)]
    pub pause_ms: u64,
}

impl ReviewArgs {
    /// Loads the queue, opens the audit log, runs [`review()`] with the decisions file or the
    /// terminal, and prints how many decisions were recorded.
    pub fn run(self) -> Result<()> {
        let Self {
            queue,
            reviewer,
            log,
            decisions,
            pause_ms,
        } = self;
        if pause_ms > MAX_PAUSE_MS {
            return Err(OversightError::invalid(
                "pause-ms",
                format!("{pause_ms} is not in [0, {MAX_PAUSE_MS}]"),
            ));
        }
        let q = Queue::load(&queue)?;
        let log_path = log.unwrap_or_else(|| queue.join("audit.jsonl"));
        let mut log = AuditLog::open(&log_path)?;
        let pause = Duration::from_millis(pause_ms);
        let outcome = match decisions {
            Some(path) => {
                let mut src = ScriptedDecisions::read(&path)?;
                review(&q, &mut log, &reviewer, &mut src, pause)?
            }
            None => {
                if !std::io::stdin().is_terminal() {
                    eprintln!("reading answers from standard input");
                }
                let stdin = std::io::stdin();
                let mut term =
                    TerminalReviewer::new(BufReader::new(stdin.lock()), std::io::stdout());
                review(&q, &mut log, &reviewer, &mut term, pause)?
            }
        };
        println!(
            "{} decisions recorded ({} already in the log), {} pending; log {}",
            outcome.recorded,
            outcome.already_decided,
            outcome.pending,
            log_path.display()
        );
        Ok(())
    }
}
