//! `report.html`: the run as one self-contained page (inline SVG, no script,
//! nothing fetched), rendered with maud: the verdicts, each node's finalized
//! height over time, every series an expectation plotted (e.g. inclusion
//! latency), fault windows shaded on the same time axis, phases, nodes and
//! workloads. What happened when is read from the timeline's structured
//! fields through [`fault_windows`], never from event text.

mod chart;
mod page;

use std::collections::BTreeSet;

use crate::faults::{FaultWindow, Period, fault_windows, no_quorum_periods};
use crate::report::Report;
use crate::timeline::{EventKind, NodeCause};
use crate::topology::{NodeId, Role};

impl Report {
    /// The report as the self-contained HTML page written to `report.html`.
    pub fn html(&self) -> String {
        one_tag_a_line(&page::page(self, &Timeframe::of(self)).into_string())
    }
}

/// Start every opening tag that directly follows another tag on a new line,
/// so the file reads (and diffs) line by line. Text never holds a raw `<`
/// or `>` (maud escapes it), so only markup is touched; whitespace between
/// these tags does not change how the page looks.
fn one_tag_a_line(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + html.len() / 16);
    let mut rest = html;
    while let Some(at) = rest.find("><") {
        let (head, tail) = rest.split_at(at + 1);
        out.push_str(head);
        if !tail.starts_with("</") {
            out.push('\n');
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// What every chart of the page shares: the time axis and what to draw on it.
pub(super) struct Timeframe {
    /// The last moment on the axis, in seconds since the run started.
    end_s: f64,
    /// Network faults and nodes down or frozen.
    windows: Vec<FaultWindow>,
    /// When no majority of the validators could talk.
    no_quorum: Vec<Period>,
    /// Instant node actions `(at_s, what)`: restarts, kills, exits, joins…
    marks: Vec<(f64, String)>,
}

impl Timeframe {
    fn of(report: &Report) -> Self {
        let last_ms = report.events.iter().map(|e| e.at_ms).max().unwrap_or(0);
        let validators: BTreeSet<NodeId> = report
            .nodes
            .iter()
            .filter(|node| node.role == Role::Validator)
            .map(|node| node.id.clone())
            .collect();
        let windows = fault_windows(&report.events);
        let no_quorum = if validators.is_empty() {
            Vec::new()
        } else {
            no_quorum_periods(&windows, &validators)
        };
        let marks = report
            .events
            .iter()
            .filter_map(|event| {
                let node = event.node.as_ref()?;
                let what = match &event.cause {
                    Some(NodeCause::Launched) => return None,
                    Some(cause) => cause.to_string(),
                    // Recorded without a cause (an older report, or a
                    // backend's own record): a start is the backend
                    // launching the node, everything else is worth a mark.
                    None if event.kind == EventKind::NodeStarted => return None,
                    None if is_node_event(event.kind) => event.kind.to_string(),
                    None => return None,
                };
                Some((seconds(event.at_ms), format!("{what}: {node}")))
            })
            .collect();
        Self {
            end_s: seconds(last_ms).max(1.0),
            windows,
            no_quorum,
            marks,
        }
    }

    /// When a window or period ends on the axis: its end, or the axis's.
    fn until_s(&self, until_ms: Option<u64>) -> f64 {
        until_ms.map_or(self.end_s, seconds)
    }
}

fn is_node_event(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::NodeStarted
            | EventKind::NodeStopped
            | EventKind::NodeRestarted
            | EventKind::NodeKilled
            | EventKind::NodePaused
            | EventKind::NodeResumed
            | EventKind::NodeExited
            | EventKind::NodeJoined
    )
}

fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}
