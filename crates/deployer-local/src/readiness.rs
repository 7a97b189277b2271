//! Readiness probes with a deadline: HTTP GET answering 2xx, a TCP connect,
//! or a line in the node's log. A node that exits while being probed fails
//! at once with its exit status and last output.

use std::collections::BTreeMap;
use std::time::Duration;

use deploykit::probe::{Prober, describe};
use scenario_core::{HostPort, Readiness};
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::process::{LOG_LINES, NodeProcess, last_lines};

/// How often a probe is retried.
const PROBE_EVERY: Duration = Duration::from_millis(20);

/// Wait until `node` answers `probe`, at most `limit`.
pub(crate) async fn wait_ready(
    node: &NodeProcess,
    probe: &Readiness,
    listen: &BTreeMap<String, HostPort>,
    limit: Duration,
) -> Result<()> {
    let started = Instant::now();
    let prober = Prober::default();
    loop {
        if let Some(status) = node.exited() {
            return Err(Error::ExitedBeforeReady {
                node: node.id.clone(),
                status: status.to_string(),
                last_lines: last_lines(&node.log_path, LOG_LINES),
            });
        }
        if probe_once(&prober, node, probe, listen).await {
            node.supervise();
            return Ok(());
        }
        if started.elapsed() >= limit {
            return Err(Error::ReadinessTimedOut {
                node: node.id.clone(),
                waited: started.elapsed(),
                probe: describe(probe),
                last_lines: last_lines(&node.log_path, LOG_LINES),
            });
        }
        tokio::time::sleep(PROBE_EVERY).await;
    }
}

async fn probe_once(
    prober: &Prober,
    node: &NodeProcess,
    probe: &Readiness,
    listen: &BTreeMap<String, HostPort>,
) -> bool {
    match prober.probe_once(probe, listen).await {
        Some(answered) => answered,
        None => match probe {
            Readiness::LogLine { contains } => std::fs::read_to_string(&node.log_path)
                .is_ok_and(|log| log.contains(contains.as_str())),
            _ => false,
        },
    }
}
