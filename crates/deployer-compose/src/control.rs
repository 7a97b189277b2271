//! Node faults through the engine: stop (SIGTERM, then SIGKILL after the
//! grace period), start (same container, same volume, waits for readiness),
//! signals, and pause / unpause (the cgroup freezer).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::query_parameters::{KillContainerOptionsBuilder, StopContainerOptionsBuilder};
use scenario_core::{ControlError, NodeControl, NodeId, Signal};
use tokio::time::Instant;

use deploykit::ready::wait_ready;

use crate::container::{NodeContainer, is_up};
use crate::readiness::PROBE_EVERY;

pub(crate) struct ComposeNodeControl {
    pub(crate) nodes: std::sync::RwLock<BTreeMap<NodeId, Arc<NodeContainer>>>,
    pub(crate) grace: Duration,
    pub(crate) ready_timeout: Duration,
}

fn failed(action: &str, node: &NodeId, source: impl Into<scenario_core::BoxError>) -> ControlError {
    ControlError::ActionFailed {
        action: action.to_owned(),
        target: node.to_string(),
        source: source.into(),
    }
}

/// Whole seconds of grace the engine's stop takes, at least one.
pub(crate) fn grace_seconds(grace: Duration) -> i32 {
    i32::try_from(grace.as_secs().max(1)).unwrap_or(i32::MAX)
}

impl ComposeNodeControl {
    pub(crate) fn node(&self, id: &NodeId) -> Result<Arc<NodeContainer>, ControlError> {
        self.nodes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
            .ok_or_else(|| ControlError::UnknownNode(id.clone()))
    }

    /// A node that joined the running network.
    pub(crate) fn add(&self, node: Arc<NodeContainer>) {
        self.nodes
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(node.id.clone(), node);
    }
}

/// Stop a container, giving it `grace` before the engine kills it.
pub(crate) async fn stop_container(
    node: &NodeContainer,
    grace: Duration,
) -> Result<(), bollard::errors::Error> {
    node.expect_exit();
    let options = StopContainerOptionsBuilder::default()
        .t(grace_seconds(grace))
        .build();
    match node.docker.stop_container(&node.name, Some(options)).await {
        // 304: it was not running.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        }) => Ok(()),
        other => other,
    }
}

#[async_trait::async_trait]
impl NodeControl for ComposeNodeControl {
    async fn stop(&self, id: &NodeId) -> Result<(), ControlError> {
        let node = self.node(id)?;
        stop_container(&node, self.grace)
            .await
            .map_err(|e| failed("stop", id, e))
    }

    async fn start(&self, id: &NodeId) -> Result<(), ControlError> {
        let node = self.node(id)?;
        let state = node.state().await.map_err(|e| failed("start", id, e))?;
        if is_up(&state) {
            return Err(failed("start", id, "it is still running"));
        }
        node.start().await.map_err(|e| failed("start", id, e))?;
        wait_ready(node.as_ref(), self.ready_timeout, PROBE_EVERY)
            .await
            .map_err(|e| failed("start", id, e))
    }

    async fn kill(&self, id: &NodeId, signal: Signal) -> Result<(), ControlError> {
        let node = self.node(id)?;
        let name = match signal {
            Signal::Term => "SIGTERM",
            Signal::Kill => "SIGKILL",
            Signal::Int => "SIGINT",
            _ => return Err(failed("signal", id, format!("{signal} is not supported"))),
        };
        node.expect_exit();
        let options = KillContainerOptionsBuilder::default().signal(name).build();
        node.docker
            .kill_container(&node.name, Some(options))
            .await
            .map_err(|e| failed("signal", id, e))?;
        // Like a process: the signal is sent; a killed node must be down
        // before the action returns.
        let deadline = Instant::now() + self.grace;
        loop {
            let state = node.state().await.map_err(|e| failed("signal", id, e))?;
            if !is_up(&state) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return if signal == Signal::Kill {
                    Err(failed("signal", id, "the container survived SIGKILL"))
                } else {
                    Ok(())
                };
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn pause(&self, id: &NodeId) -> Result<(), ControlError> {
        let node = self.node(id)?;
        node.docker
            .pause_container(&node.name)
            .await
            .map_err(|e| failed("pause", id, e))
    }

    async fn resume(&self, id: &NodeId) -> Result<(), ControlError> {
        let node = self.node(id)?;
        node.docker
            .unpause_container(&node.name)
            .await
            .map_err(|e| failed("resume", id, e))
    }
}
