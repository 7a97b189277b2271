//! A local node as the shared readiness wait sees it: its probe against the
//! ports it listens on, its log file, and its exit status if it exited.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use deploykit::ready::{LOG_LINES, Starting, last_lines};
use scenario_core::{BoxError, HostPort, NodeId, Readiness};

use crate::control::LocalNode;

/// How often a local node's probe is retried.
pub(crate) const PROBE_EVERY: Duration = Duration::from_millis(20);

#[async_trait::async_trait]
impl Starting for LocalNode {
    fn node(&self) -> &NodeId {
        &self.process.id
    }

    fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    fn probe_endpoints(&self) -> BTreeMap<String, HostPort> {
        self.endpoints.clone()
    }

    fn log_path(&self) -> &Path {
        &self.process.log_path
    }

    async fn ended(&self) -> Result<Option<String>, BoxError> {
        Ok(self
            .process
            .exited()
            .map(|status| format!("exited with {status}")))
    }

    async fn last_output(&self) -> String {
        last_lines(&self.process.log_path, LOG_LINES)
    }

    fn supervise(&self) {
        self.process.supervise();
    }

    async fn probe_tcp(&self, port: &str) -> Option<Result<(), String>> {
        let number = *self.ports.get(port)?;
        self.net.tcp_probe(&self.process.id, number).await
    }
}
