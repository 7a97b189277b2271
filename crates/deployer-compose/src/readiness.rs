//! Readiness with a deadline: the container must be running (a container
//! that stops fails at once with its exit status and last output) and the
//! node must answer its probe.

use std::time::Duration;

use deploykit::probe::{Prober, describe};
use tokio::time::Instant;

use crate::container::{NodeContainer, describe_exit, is_up};
use crate::error::{Error, Result};
use crate::logs::{LOG_LINES, engine_tail, last_lines};

/// How often the state and the probe are checked.
const PROBE_EVERY: Duration = Duration::from_millis(50);

/// Wait until `node` is ready, at most `limit`.
pub(crate) async fn wait_ready(node: &NodeContainer, limit: Duration) -> Result<()> {
    let started = Instant::now();
    let prober = Prober::default();
    loop {
        let state = node.state().await?;
        if !is_up(&state) {
            return Err(Error::ExitedBeforeReady {
                node: node.id.clone(),
                status: describe_exit(&state),
                last_lines: engine_tail(node, LOG_LINES).await,
            });
        }
        let answered = prober
            .probe_once(&node.readiness, &node.probe_endpoints(), &node.log_path)
            .await;
        if answered {
            node.supervise();
            return Ok(());
        }
        if started.elapsed() >= limit {
            return Err(Error::ReadinessTimedOut {
                node: node.id.clone(),
                waited: started.elapsed(),
                probe: describe(&node.readiness),
                last_lines: last_lines(&node.log_path, LOG_LINES),
            });
        }
        tokio::time::sleep(PROBE_EVERY).await;
    }
}
