//! A container as the shared readiness wait sees it: the container must be
//! running (one that stops fails at once with its exit status and its last
//! output, read from the engine) and the node must answer its probe.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use deploykit::ready::{LOG_LINES, Starting, last_lines};
use scenario_core::{BoxError, HostPort, NodeId, Readiness};

use crate::container::{Attachment, NodeContainer, describe_exit, is_up};
use crate::logs::engine_tail;

/// How often the state and the probe are checked.
pub(crate) const PROBE_EVERY: Duration = Duration::from_millis(50);

#[async_trait::async_trait]
impl Starting for NodeContainer {
    fn node(&self) -> &NodeId {
        &self.id
    }

    fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    fn probe_endpoints(&self) -> BTreeMap<String, HostPort> {
        NodeContainer::probe_endpoints(self)
    }

    fn log_path(&self) -> &Path {
        &self.log_path
    }

    async fn ended(&self) -> Result<Option<String>, BoxError> {
        let state = self.state().await?;
        Ok((!is_up(&state)).then(|| format!("stopped ({})", describe_exit(&state))))
    }

    async fn last_output(&self) -> String {
        // The engine has all of it, even what the follower has not copied
        // yet (a container that stopped at once); the log file otherwise.
        let told = engine_tail(self, LOG_LINES).await;
        if told == "(no output)" {
            last_lines(&self.log_path, LOG_LINES)
        } else {
            told
        }
    }

    fn supervise(&self) {
        NodeContainer::supervise(self);
    }

    async fn probe_tcp(&self, port: &str) -> Option<Result<(), String>> {
        // On the plane a front accepts before the node listens: connect
        // from the runner's namespace to the node's own address instead.
        let Attachment::Plane { run_plane, .. } = &self.attachment else {
            return None;
        };
        let number = self.ports.iter().find(|p| p.name == port)?.container_port;
        Some(run_plane.tcp_probe(&self.id, number).await)
    }
}
