//! The events a run tells its [`Output`](super::Output), each with the one
//! line a person reads (its `Display`).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::report::Report;
use crate::scenario::SeedSource;

/// Something a run tells the person watching it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum OutputEvent {
    /// A run started: what runs where, with which seed.
    Started(RunStarted),
    /// Where the run stands, about once a second while the window runs.
    Progress(ProgressUpdate),
    /// The window closed: no more progress for this run.
    ProgressEnded,
    /// The run finished, its report written (or not: see its failures).
    Finished(Box<Report>),
    /// Ctrl-C or SIGTERM handling: what the run does about the signal.
    Notice {
        /// Which run.
        run_id: String,
        /// What it does.
        message: String,
    },
}

/// A run that started.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RunStarted {
    /// The scenario's name.
    pub scenario: String,
    /// The run's id.
    pub run_id: String,
    /// The deployer's name.
    pub deployer: String,
    /// The node software's name.
    pub node_kind: String,
    /// How many nodes the topology has.
    pub nodes: usize,
    /// The run's seed.
    pub seed: u64,
    /// Where the seed came from.
    pub seed_source: SeedSource,
    /// The run's artifact directory.
    pub artifacts_dir: PathBuf,
}

/// Where a run stands while its window runs.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProgressUpdate {
    /// Which run.
    pub run_id: String,
    /// Time since the window opened.
    pub elapsed: Duration,
    /// The window's length.
    pub window: Duration,
    /// The lowest and highest finalized height, from the block feed.
    pub finalized: Option<(u64, u64)>,
    /// Workload submissions since the last update (a second ago).
    pub submissions_per_s: u64,
    /// Network faults applied and not healed.
    pub faults_active: usize,
    /// Nodes down or frozen.
    pub nodes_down: usize,
    /// Expectations that already failed.
    pub failing: Vec<String>,
}

fn seed_origin(source: SeedSource) -> &'static str {
    match source {
        SeedSource::Builder => "set by the scenario",
        SeedSource::Environment => "from TESTBED_SEED",
        SeedSource::Random => "random; replay with TESTBED_SEED",
    }
}

impl fmt::Display for RunStarted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "testbed: running scenario '{}' ({} nodes of {}) on {} as run {}, seed {} ({}); artifacts in {}",
            self.scenario,
            self.nodes,
            self.node_kind,
            self.deployer,
            self.run_id,
            self.seed,
            seed_origin(self.seed_source),
            self.artifacts_dir.display(),
        )
    }
}

impl fmt::Display for ProgressUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let finalized = match self.finalized {
            Some((low, high)) => format!("{low}..{high}"),
            None => "-".to_owned(),
        };
        let failing = if self.failing.is_empty() {
            "none".to_owned()
        } else {
            self.failing.join(", ")
        };
        write!(
            f,
            "testbed: {:>4.0}s / {:.0}s | finalized {finalized} | {} submissions/s | faults active {} | nodes down {} | failing {failing}",
            self.elapsed.as_secs_f64(),
            self.window.as_secs_f64(),
            self.submissions_per_s,
            self.faults_active,
            self.nodes_down,
        )
    }
}

impl fmt::Display for OutputEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Started(started) => write!(f, "{started}"),
            Self::Progress(progress) => write!(f, "{progress}"),
            Self::ProgressEnded => Ok(()),
            Self::Finished(report) => write!(f, "testbed: {report}"),
            Self::Notice { run_id, message } => write!(f, "testbed: run {run_id}: {message}"),
        }
    }
}
