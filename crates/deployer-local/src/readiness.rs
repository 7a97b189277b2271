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
        if prober.probe_once(probe, listen, &node.log_path).await {
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
