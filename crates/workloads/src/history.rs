//! The transactions a load sent, one JSON line each in the run's artifacts
//! (`txs.ndjson`), as they are sent: the history `testbed show RUN --tx ID`
//! answers from, kept on disk rather than in the runner's memory.

use std::fs::File;
use std::io::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

use scenario_core::RunContext;
use scenario_core::ledger::{Ledger, TxRecord};

/// The file transaction loads write, in the run's artifact directory.
pub const TX_HISTORY_FILE: &str = "txs.ndjson";

/// Where a load writes down each transaction: the ledger (for the judges)
/// and the history file (for people, after the run).
#[derive(Clone)]
pub(crate) struct TxBook {
    ledger: Ledger,
    file: Option<Arc<Mutex<File>>>,
}

impl TxBook {
    /// The ledger and the run's history file (appended to, so several
    /// loads share it; without it when it cannot be opened).
    pub(crate) fn open(ledger: &Ledger, ctx: &RunContext) -> Self {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(ctx.artifacts_dir().join(TX_HISTORY_FILE))
            .ok()
            .map(|file| Arc::new(Mutex::new(file)));
        Self {
            ledger: ledger.clone(),
            file,
        }
    }

    /// Write one transaction down.
    pub(crate) fn record(&self, record: TxRecord) {
        if let Some(file) = &self.file
            && let Ok(mut line) = serde_json::to_vec(&record)
        {
            line.push(b'\n');
            // One write per line: appends of a line stay whole.
            let _ = file
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .write_all(&line);
        }
        self.ledger.tx(record);
    }
}
