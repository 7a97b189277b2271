//! The result of a run: [`Report`], serialisable and versioned, written as
//! `report.json` into the run's artifact directory.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::runner::CleanupOutcome;
pub use crate::scenario::SeedSource;
mod html;
mod junit;
mod write;

use crate::timeline::Event;
use crate::topology::{NodeId, Role};
use crate::workload::WorkloadStats;

/// The version of the report's JSON layout. Bumped when a field changes
/// meaning or disappears; new fields may appear without a bump.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// The file name of the report inside the run's artifact directory.
pub const REPORT_FILE: &str = "report.json";

/// The file name of the JUnit XML report, next to `report.json`.
pub const JUNIT_FILE: &str = "junit.xml";

/// The file name of the self-contained HTML report, next to `report.json`.
pub const HTML_FILE: &str = "report.html";

/// One of the six phases of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Validating the plan.
    Build,
    /// Starting the nodes.
    Deploy,
    /// Expectations snapshot their baselines.
    Capture,
    /// Workloads run for the window.
    Execute,
    /// Expectations judge.
    Evaluate,
    /// Everything is removed.
    Cleanup,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Self; 6] = [
        Self::Build,
        Self::Deploy,
        Self::Capture,
        Self::Execute,
        Self::Evaluate,
        Self::Cleanup,
    ];
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Build => "build",
            Self::Deploy => "deploy",
            Self::Capture => "capture",
            Self::Execute => "execute",
            Self::Evaluate => "evaluate",
            Self::Cleanup => "cleanup",
        })
    }
}

/// How a phase ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhaseStatus {
    /// It ran to its end without a failure.
    Completed,
    /// It ran to its end, and something in it failed.
    Failed,
    /// The deadline or a signal stopped it midway.
    CutShort,
    /// It never started.
    Skipped,
}

/// One phase's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseRecord {
    /// Which phase.
    pub name: Phase,
    /// How long it took.
    pub duration_ms: u64,
    /// How it ended.
    pub status: PhaseStatus,
}

/// One node of the run: of the topology, or joined while it ran.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// Its id.
    pub id: NodeId,
    /// Its role.
    pub role: Role,
    /// For a node added while the run went on (`RunContext::add_node`):
    /// when it joined, in ms since the run started. `None` for the
    /// topology's nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_at_ms: Option<u64>,
}

/// One expectation's verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpectationRecord {
    /// Its name.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// Why.
    pub message: String,
    /// The figures behind the verdict.
    pub figures: BTreeMap<String, f64>,
    /// Points it plotted, by series name (`[seconds since start, value]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub series: BTreeMap<String, Vec<[f64; 2]>>,
}

/// One workload's outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkloadRecord {
    /// Its name.
    pub name: String,
    /// What it reported.
    pub stats: WorkloadStats,
    /// Why it failed, if it did (error, panic, or not stopping in time).
    pub error: Option<String>,
}

/// The result of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The layout version, [`REPORT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Whether every expectation held and nothing else failed.
    pub passed: bool,
    /// The scenario's name.
    pub scenario: String,
    /// The deployer's name.
    pub deployer: String,
    /// The run's id.
    pub run_id: String,
    /// The seed every random choice derived from.
    pub seed: u64,
    /// Where the seed came from.
    pub seed_source: SeedSource,
    /// The command that replays this run with the same seed.
    pub replay: String,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// The run's artifact directory.
    pub artifacts_dir: PathBuf,
    /// How long workloads were to run (the scenario's window), in ms.
    #[serde(default)]
    pub window_ms: u64,
    /// How long the runner waited after the window before evaluating, in ms.
    #[serde(default)]
    pub cooldown_ms: u64,
    /// The longest deploy to evaluation was allowed to take, in ms.
    #[serde(default)]
    pub deadline_ms: u64,
    /// Run-level failures besides expectations: deploy errors, workload
    /// errors and panics, the deadline, a signal, cleanup errors.
    pub failures: Vec<String>,
    /// The six phases, in order.
    pub phases: Vec<PhaseRecord>,
    /// The nodes of the topology, in declaration order, then those that
    /// joined while the run went on, in the order they joined.
    pub nodes: Vec<NodeRecord>,
    /// Every expectation's verdict, in plan order.
    pub expectations: Vec<ExpectationRecord>,
    /// Every workload's outcome, in plan order.
    pub workloads: Vec<WorkloadRecord>,
    /// Every cleanup action, in the order it ran.
    pub cleanup: Vec<CleanupOutcome>,
    /// Every network fault applied, with what it did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultRecord>,
    /// The event timeline.
    pub events: Vec<Event>,
    /// Each node's finalized height over time, `[ms since start, height]`,
    /// when the scenario had a block feed.
    #[serde(default)]
    pub heights: BTreeMap<NodeId, Vec<[u64; 2]>>,
}

/// One network fault of the run and what it did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultRecord {
    /// Its id (as on the timeline).
    pub id: crate::control::FaultId,
    /// The fault.
    pub fault: crate::control::NetworkFault,
    /// When it was applied, ms into the run.
    pub applied_at_ms: u64,
    /// What it did, from the fault engine's counters; `None` where the
    /// backend's mechanism does not count.
    pub effect: Option<crate::control::FaultEffect>,
    /// It matched no traffic at all: it did nothing.
    pub untouched: bool,
}

/// A run that did not pass, as an error carrying its report.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RunFailed(pub Box<Report>);

impl Report {
    /// `Ok(self)` when the run passed, otherwise an error whose message
    /// summarises why: use it as `scenario.run(&d).await?.ensure_passed()?`.
    pub fn ensure_passed(self) -> Result<Self, RunFailed> {
        if self.passed {
            Ok(self)
        } else {
            Err(RunFailed(Box::new(self)))
        }
    }

    /// The path of `report.json`.
    pub fn path(&self) -> PathBuf {
        self.artifacts_dir.join(REPORT_FILE)
    }

    /// Read a report written by an earlier run.
    pub fn read(path: &Path) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        serde_json::from_str(&text).map_err(std::io::Error::other)
    }

    /// The phase record for `phase`.
    pub fn phase(&self, phase: Phase) -> Option<&PhaseRecord> {
        self.phases.iter().find(|record| record.name == phase)
    }

    /// The verdict of the expectation named `name`.
    pub fn expectation(&self, name: &str) -> Option<&ExpectationRecord> {
        self.expectations.iter().find(|record| record.name == name)
    }

    /// The outcome of the workload named `name`.
    pub fn workload(&self, name: &str) -> Option<&WorkloadRecord> {
        self.workloads.iter().find(|record| record.name == name)
    }
}

/// A summary for people: verdict, reasons, where the report is and how to
/// replay the run.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed { "PASSED" } else { "FAILED" };
        let total_ms: u64 = self.phases.iter().map(|phase| phase.duration_ms).sum();
        write!(
            f,
            "scenario '{}' {verdict} on {} in {:.1}s (run {}, seed {})",
            self.scenario,
            self.deployer,
            total_ms as f64 / 1000.0,
            self.run_id,
            self.seed
        )?;
        for failure in &self.failures {
            write!(f, "\n  - {failure}")?;
        }
        for expectation in &self.expectations {
            let mark = if expectation.passed { "ok  " } else { "FAIL" };
            write!(
                f,
                "\n  {mark} {}: {}",
                expectation.name, expectation.message
            )?;
        }
        write!(f, "\n  report: {}", self.path().display())?;
        if !self.passed {
            write!(f, "\n  replay: {}", self.replay)?;
        }
        Ok(())
    }
}
