//! The [`Expectation`] extension point: a check that captures a baseline
//! before the workloads start and judges after the cooldown, with a
//! [`Verdict`] a person can act on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::context::RunContext;
use crate::error::BoxError;
use crate::workload::Requirements;

mod combinators;

pub use combinators::{And, ExpectationExt, Not, Or};

/// The judgement of one expectation: pass or fail, why, and the figures
/// behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Whether the expectation held.
    pub passed: bool,
    /// A sentence naming nodes, heights and figures.
    pub message: String,
    /// The numbers behind the verdict, by name.
    pub figures: BTreeMap<String, f64>,
    /// Points to plot in the HTML report, by series name: `[x, y]` with x in
    /// seconds since the run started.
    pub series: BTreeMap<String, Vec<[f64; 2]>>,
}

impl Verdict {
    /// The expectation held.
    pub fn pass(message: impl Into<String>) -> Self {
        Self {
            passed: true,
            message: message.into(),
            figures: BTreeMap::new(),
            series: BTreeMap::new(),
        }
    }

    /// The expectation did not hold.
    pub fn fail(message: impl Into<String>) -> Self {
        Self {
            passed: false,
            message: message.into(),
            figures: BTreeMap::new(),
            series: BTreeMap::new(),
        }
    }

    /// Attach points to plot (x in seconds since the run started).
    pub fn series(mut self, name: impl Into<String>, points: Vec<[f64; 2]>) -> Self {
        self.series.insert(name.into(), points);
        self
    }

    /// Attach a figure.
    pub fn figure(mut self, name: impl Into<String>, value: f64) -> Self {
        self.figures.insert(name.into(), value);
        self
    }
}

/// A check on the run.
///
/// `capture` runs before any workload starts; `evaluate` runs after the
/// window and the cooldown. Every expectation is evaluated even when another
/// failed or panicked; an error from either call fails this expectation with
/// the error as its message.
#[async_trait::async_trait]
pub trait Expectation: Send + Sync + 'static {
    /// A unique name within the scenario, used in reports.
    fn name(&self) -> &str;

    /// What the expectation needs (roles it looks at).
    fn requirements(&self) -> Requirements {
        Requirements::none()
    }

    /// Snapshot the baseline (start heights, counters).
    async fn capture(&self, ctx: &RunContext) -> Result<(), BoxError> {
        let _ = ctx;
        Ok(())
    }

    /// Judge the run.
    async fn evaluate(&self, ctx: &RunContext) -> Result<Verdict, BoxError>;

    /// Check while the run goes on (about once a second during the window).
    /// A failed verdict stops the run early: the window closes, cleanup runs,
    /// and the report says when and why. `None` means nothing to say yet.
    async fn check_now(&self, ctx: &RunContext) -> Result<Option<Verdict>, BoxError> {
        let _ = ctx;
        Ok(None)
    }
}
