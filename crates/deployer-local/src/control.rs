//! Node faults for local processes: stop (SIGTERM, then SIGKILL after the
//! grace period), start (same launch, same data, waits for readiness),
//! signals, and pause / resume with SIGSTOP / SIGCONT, all on the node's
//! process group.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal as NixSignal;
use scenario_core::{ControlError, HostPort, NodeControl, NodeId, Readiness, Signal};

use deploykit::ready::wait_ready;

use crate::marker::MarkerFile;
use crate::network::RunNetwork;
use crate::process::NodeProcess;
use crate::readiness::PROBE_EVERY;

#[derive(Clone)]
pub(crate) struct LocalNode {
    pub(crate) process: Arc<NodeProcess>,
    pub(crate) readiness: Readiness,
    /// Where the runner reaches it, per port name.
    pub(crate) endpoints: BTreeMap<String, HostPort>,
    /// Its container port per port name (for probes on the plane).
    pub(crate) ports: BTreeMap<String, u16>,
    pub(crate) net: Arc<RunNetwork>,
}

pub(crate) struct LocalNodeControl {
    pub(crate) nodes: std::sync::RwLock<BTreeMap<NodeId, LocalNode>>,
    pub(crate) grace: Duration,
    pub(crate) ready_timeout: Duration,
    pub(crate) marker: Arc<MarkerFile>,
}

fn failed(action: &str, node: &NodeId, source: impl Into<scenario_core::BoxError>) -> ControlError {
    ControlError::ActionFailed {
        action: action.to_owned(),
        target: node.to_string(),
        source: source.into(),
    }
}

impl LocalNodeControl {
    fn node(&self, id: &NodeId) -> Result<LocalNode, ControlError> {
        self.nodes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
            .ok_or_else(|| ControlError::UnknownNode(id.clone()))
    }

    /// A node that joined the running network.
    pub(crate) fn add(&self, id: NodeId, node: LocalNode) {
        self.nodes
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id, node);
    }
}

#[async_trait::async_trait]
impl NodeControl for LocalNodeControl {
    async fn stop(&self, id: &NodeId) -> Result<(), ControlError> {
        let node = self.node(id)?;
        node.process
            .stop(self.grace)
            .await
            .map_err(|e| failed("stop", id, e))?;
        Ok(())
    }

    async fn start(&self, id: &NodeId) -> Result<(), ControlError> {
        let node = self.node(id)?;
        if node.process.exited().is_none() && node.process.pid() > 0 {
            return Err(failed("start", id, "it is still running"));
        }
        let pid = node.process.spawn().map_err(|e| failed("start", id, e))?;
        self.marker
            .add_node(id.as_str(), pid)
            .map_err(|e| failed("start", id, e))?;
        wait_ready(&node, self.ready_timeout, PROBE_EVERY)
            .await
            .map_err(|e| failed("start", id, e))
    }

    async fn kill(&self, id: &NodeId, signal: Signal) -> Result<(), ControlError> {
        let node = self.node(id)?;
        let nix_signal = match signal {
            Signal::Term => NixSignal::SIGTERM,
            Signal::Kill => NixSignal::SIGKILL,
            Signal::Int => NixSignal::SIGINT,
            _ => return Err(failed("signal", id, format!("{signal} is not supported"))),
        };
        node.process
            .signal(nix_signal, true)
            .map_err(|e| failed("signal", id, e))?;
        if node.process.wait_exit(self.grace).await.is_none() && signal == Signal::Kill {
            return Err(failed("signal", id, "the node survived SIGKILL"));
        }
        Ok(())
    }

    async fn pause(&self, id: &NodeId) -> Result<(), ControlError> {
        let node = self.node(id)?;
        node.process
            .signal(NixSignal::SIGSTOP, false)
            .map_err(|e| failed("pause", id, e))
    }

    async fn resume(&self, id: &NodeId) -> Result<(), ControlError> {
        let node = self.node(id)?;
        node.process
            .signal(NixSignal::SIGCONT, false)
            .map_err(|e| failed("resume", id, e))
    }
}
