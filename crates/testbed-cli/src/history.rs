//! The per-user list of runs the `testbed` binary started
//! (`$XDG_STATE_HOME/testbed/runs.ndjson`, else
//! `~/.local/state/testbed/runs.ndjson`): one line per run, appended when it
//! ends, for `testbed runs` to list and `show` and `replay` to find a run
//! by its id. The runs' artifacts stay where they were written.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use testbed::Report;

/// The copy of the scenario file kept in each run's artifacts, for replay:
/// the text that ran, as it was read when the run was planned.
pub const SCENARIO_COPY: &str = "scenario.toml";

/// Beside it: the directory the file was in, where its relative program
/// paths start.
pub const SCENARIO_DIR: &str = "scenario-dir";

/// One run, as listed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunEntry {
    /// The run's id.
    pub run_id: String,
    /// Where its artifacts are.
    pub artifacts_dir: PathBuf,
}

/// The list's file.
pub fn list_file() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".local/state")))?;
    Some(state.join("testbed").join("runs.ndjson"))
}

/// Add a finished run to the list.
pub fn record(report: &Report) -> std::io::Result<()> {
    let Some(file) = list_file() else {
        return Ok(());
    };
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let entry = RunEntry {
        run_id: report.run_id.clone(),
        artifacts_dir: report.artifacts_dir.clone(),
    };
    let mut line = serde_json::to_vec(&entry).map_err(std::io::Error::other)?;
    line.push(b'\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)?
        .write_all(&line)
}

/// Every listed run whose artifacts still exist, oldest first.
pub fn runs() -> Vec<RunEntry> {
    let Some(text) = list_file().and_then(|file| std::fs::read_to_string(file).ok()) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| serde_json::from_str::<RunEntry>(line).ok())
        .filter(|entry| {
            entry
                .artifacts_dir
                .join(testbed::report::REPORT_FILE)
                .is_file()
        })
        .collect()
}

/// A run's artifact directory: `run` is a directory holding a report, or a
/// listed run's id.
pub fn find(run: &str) -> Result<PathBuf, String> {
    let direct = Path::new(run);
    if direct.join(testbed::report::REPORT_FILE).is_file() {
        return Ok(direct.to_owned());
    }
    runs()
        .into_iter()
        .rev()
        .find(|entry| entry.run_id == run)
        .map(|entry| entry.artifacts_dir)
        .ok_or_else(|| {
            format!(
                "no run '{run}': give a run id from `testbed runs` or a run's artifact directory"
            )
        })
}
