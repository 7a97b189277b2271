//! Node faults through the API, without privileges or `exec`: stop scales
//! the node's StatefulSet to 0 and waits for the pod to be gone (its grace
//! period for SIGTERM); start scales it to 1 and waits for readiness; kill
//! with SIGKILL also deletes the pod with grace 0, as stop does with a pod
//! whose containers have ended or that outlives its grace. A stopped node
//! stays down until started, as on the other backends. Pause and resume
//! are SIGSTOP and SIGCONT sent by the node's fault agent, which shares the
//! pod's process namespace.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use deploykit::ready::wait_ready;
use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::{Api, DeleteParams, PatchParams};
use scenario_core::{ControlError, NodeControl, NodeId, Signal};
use tokio::time::Instant;

use crate::agents::AgentPlane;
use crate::cluster::merge;
use crate::names;
use crate::pod::{self, NodePod};

/// How often a stop or start looks at the pod.
const POLL: Duration = Duration::from_millis(200);

pub(crate) struct K8sNodeControl {
    /// The fault agents, where the run has them (pause and resume).
    pub(crate) agents: Option<Arc<AgentPlane>>,
    pub(crate) nodes: RwLock<BTreeMap<NodeId, Arc<NodePod>>>,
    pub(crate) sets: Api<StatefulSet>,
    pub(crate) grace: Duration,
    pub(crate) ready_timeout: Duration,
}

/// A control action that failed on `target` (a node, a policy, links).
pub(crate) fn failed(
    action: &str,
    target: impl std::fmt::Display,
    source: impl Into<scenario_core::BoxError>,
) -> ControlError {
    ControlError::ActionFailed {
        action: action.to_owned(),
        target: target.to_string(),
        source: source.into(),
    }
}

impl K8sNodeControl {
    pub(crate) fn node(&self, id: &NodeId) -> Result<Arc<NodePod>, ControlError> {
        self.nodes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()
            .ok_or_else(|| ControlError::UnknownNode(id.clone()))
    }

    /// A node that joined the running network.
    pub(crate) fn add(&self, node: Arc<NodePod>) {
        self.nodes
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(node.id.clone(), node);
    }

    async fn detach(&self, id: &NodeId) {
        if let Some(plane) = &self.agents {
            plane.detach(id).await;
        }
    }

    async fn signal_through_agent(&self, id: &NodeId, signal: &str) -> Result<(), ControlError> {
        self.node(id)?;
        let plane = self
            .agents
            .as_ref()
            .ok_or(ControlError::Unsupported(scenario_core::Capability::Pause))?;
        plane.signal(id, signal).await.map(drop)
    }

    async fn scale(&self, id: &NodeId, replicas: i32, action: &str) -> Result<(), ControlError> {
        let patch = merge(serde_json::json!({ "spec": { "replicas": replicas } }));
        self.sets
            .patch(&names::node_object(id), &PatchParams::default(), &patch)
            .await
            .map(drop)
            .map_err(|e| failed(action, id, e))
    }

    /// Wait until the node's pod is gone. A pod whose containers have all
    /// ended, or that is still there `slack` after its grace period, is
    /// deleted with grace 0 (a kubelet can lose track of a container that
    /// already exited and leave its pod Terminating); still there another
    /// `slack` after that deadline, the action fails.
    async fn gone(
        &self,
        node: &NodePod,
        action: &str,
        slack: Duration,
    ) -> Result<(), ControlError> {
        let force_at = Instant::now() + self.grace + slack;
        let mut forced_at: Option<Instant> = None;
        loop {
            let found = node
                .pods
                .get_opt(&node.pod)
                .await
                .map_err(|e| failed(action, &node.id, e))?;
            let Some(found) = found else {
                return Ok(());
            };
            let overdue = Instant::now() >= force_at;
            match forced_at {
                None if overdue || pod::ended_while_deleting(&found) => {
                    if overdue {
                        tracing::warn!(node = %node.id, pod = %node.pod, "the pod outlived its grace period: deleting it with grace 0");
                    } else {
                        tracing::debug!(node = %node.id, pod = %node.pod, "the pod's containers have ended: deleting it with grace 0");
                    }
                    forced_at = Some(Instant::now());
                    force_delete(node)
                        .await
                        .map_err(|e| failed(action, &node.id, e))?;
                }
                Some(forced) if Instant::now() >= force_at + slack => {
                    return Err(failed(
                        action,
                        &node.id,
                        format!(
                            "its pod {} was still there {:.1?} after it was deleted with grace 0",
                            node.pod,
                            forced.elapsed()
                        ),
                    ));
                }
                _ => tokio::time::sleep(POLL).await,
            }
        }
    }
}

/// Delete the node's pod with grace 0 (gone already is fine).
async fn force_delete(node: &NodePod) -> Result<(), kube::Error> {
    let now = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    };
    match node.pods.delete(&node.pod, &now).await {
        Ok(_) => Ok(()),
        Err(error) if crate::error::status_code(&error) == Some(404) => Ok(()),
        Err(error) => Err(error),
    }
}

#[async_trait::async_trait]
impl NodeControl for K8sNodeControl {
    async fn stop(&self, id: &NodeId) -> Result<(), ControlError> {
        let node = self.node(id)?;
        node.expect_exit();
        self.detach(id).await;
        self.scale(id, 0, "stop").await?;
        self.gone(&node, "stop", Duration::from_secs(3)).await
    }

    async fn start(&self, id: &NodeId) -> Result<(), ControlError> {
        let node = self.node(id)?;
        if node
            .pods
            .get_opt(&node.pod)
            .await
            .map_err(|e| failed("start", id, e))?
            .is_some()
        {
            return Err(failed("start", id, "it is still running"));
        }
        self.scale(id, 1, "start").await?;
        // The new pod's agent holds its packets until it is synced, and the
        // kubelet's probe answers are among them: both at once.
        let ready = async {
            wait_ready(node.as_ref(), self.ready_timeout, POLL)
                .await
                .map_err(|e| failed("start", id, e))
        };
        let attached = async {
            match &self.agents {
                Some(plane) => plane.attach(id, self.ready_timeout).await,
                None => Ok(()),
            }
        };
        futures::future::try_join(ready, attached).await?;
        pod::wait_pod_ready(&node, self.ready_timeout)
            .await
            .map_err(|e| failed("start", id, e))?;
        pod::supervise(&node).await;
        Ok(())
    }

    async fn pause(&self, id: &NodeId) -> Result<(), ControlError> {
        self.signal_through_agent(id, "SIGSTOP").await
    }

    async fn resume(&self, id: &NodeId) -> Result<(), ControlError> {
        self.signal_through_agent(id, "SIGCONT").await
    }

    async fn kill(&self, id: &NodeId, signal: Signal) -> Result<(), ControlError> {
        match signal {
            Signal::Term => self.stop(id).await,
            Signal::Kill => {
                let node = self.node(id)?;
                node.expect_exit();
                self.detach(id).await;
                self.scale(id, 0, "signal").await?;
                force_delete(&node)
                    .await
                    .map_err(|e| failed("signal", id, e))?;
                self.gone(&node, "signal", Duration::from_secs(3)).await
            }
            _ => Err(failed(
                "signal",
                id,
                format!("{signal} is not supported on Kubernetes (SIGTERM and SIGKILL are)"),
            )),
        }
    }
}
