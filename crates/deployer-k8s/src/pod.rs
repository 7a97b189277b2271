//! A node's pod as the readiness wait and the supervisor see it: whether it
//! ended or can never start (an image that cannot be pulled, a crash loop,
//! a container that cannot be created, a pod not scheduled for 10 s),
//! its last log lines and events for error messages, and a node that went
//! down or restarted on its own after it was ready fails the run.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use deploykit::ready::{LOG_LINES, Starting, last_lines};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, LogParams};
use scenario_core::{BoxError, FailureReporter, HostPort, NodeId, Readiness};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::manifest::CONTAINER;

/// Waiting reasons after which a container will not start by itself.
pub(crate) const HOPELESS: [&str; 7] = [
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "CrashLoopBackOff",
];

/// How long a pod may stay unschedulable before the deploy gives up on it
/// (a volume claim being bound makes it unschedulable for a moment).
const UNSCHEDULABLE_FOR: Duration = Duration::from_secs(10);

/// How often a ready node's pod is checked.
const SUPERVISE_EVERY: Duration = Duration::from_secs(1);

/// Whether `pod` reports the Ready condition (its readiness probe passes).
pub fn pod_is_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|status| status.conditions.as_ref())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        })
}

/// Whether `pod` is being deleted and none of its containers runs any more
/// (terminated, or back to waiting because the kubelet already removed
/// them). This kubelet can leave such a pod in place until its grace period
/// is over and beyond; nothing is lost by deleting it with grace 0 then.
pub(crate) fn ended_while_deleting(pod: &Pod) -> bool {
    let containers = pod
        .status
        .as_ref()
        .and_then(|status| status.container_statuses.as_deref())
        .unwrap_or_default();
    pod.metadata.deletion_timestamp.is_some()
        && !containers.is_empty()
        && containers
            .iter()
            .all(|c| c.state.as_ref().is_none_or(|state| state.running.is_none()))
}

/// Which pod a node runs in, and how it is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Identity {
    uid: String,
    restarts: i32,
    deleting: bool,
}

/// One node's pod.
pub(crate) struct NodePod {
    pub(crate) id: NodeId,
    /// The pod's name (`<object>-0`).
    pub(crate) pod: String,
    pub(crate) readiness: Readiness,
    /// Where the runner reaches each port (its fronts).
    pub(crate) endpoints: BTreeMap<String, HostPort>,
    pub(crate) log_path: PathBuf,
    pub(crate) pods: Api<Pod>,
    pub(crate) events: Api<Event>,
    pub(crate) failure: FailureReporter,
    /// Cancelled when cleanup starts: supervision ends.
    pub(crate) unsupervised: CancellationToken,
    /// Set while a fault or cleanup takes the node down.
    expected_down: AtomicBool,
    /// Since when the pod has been unschedulable.
    unschedulable_since: Mutex<Option<Instant>>,
    /// The pod the node was last ready with.
    baseline: Mutex<Option<Identity>>,
}

impl NodePod {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: NodeId,
        pod: String,
        readiness: Readiness,
        endpoints: BTreeMap<String, HostPort>,
        log_path: PathBuf,
        (pods, events): (Api<Pod>, Api<Event>),
        failure: FailureReporter,
        unsupervised: CancellationToken,
    ) -> Self {
        Self {
            id,
            pod,
            readiness,
            endpoints,
            log_path,
            pods,
            events,
            failure,
            unsupervised,
            expected_down: AtomicBool::new(false),
            unschedulable_since: Mutex::new(None),
            baseline: Mutex::new(None),
        }
    }

    /// A fault or cleanup is about to take the node down.
    pub(crate) fn expect_exit(&self) {
        self.expected_down.store(true, Ordering::SeqCst);
    }

    /// Why the pod will not become ready by itself, if it will not.
    fn hopeless(&self, pod: &Pod) -> Option<String> {
        let status = pod.status.as_ref()?;
        if let Some(phase @ ("Failed" | "Succeeded")) = status.phase.as_deref() {
            return Some(format!("ended (pod phase {phase})"));
        }
        let unschedulable = status.conditions.iter().flatten().find(|condition| {
            condition.type_ == "PodScheduled"
                && condition.status == "False"
                && condition.reason.as_deref() == Some("Unschedulable")
        });
        let mut since = self
            .unschedulable_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match unschedulable {
            Some(condition) => {
                let first = *since.get_or_insert_with(Instant::now);
                if first.elapsed() >= UNSCHEDULABLE_FOR {
                    return Some(format!(
                        "could not be scheduled for {UNSCHEDULABLE_FOR:?}: {}",
                        condition.message.as_deref().unwrap_or("no reason given")
                    ));
                }
            }
            None => *since = None,
        }
        for container in status.container_statuses.iter().flatten() {
            if let Some(waiting) = container.state.as_ref().and_then(|s| s.waiting.as_ref()) {
                let reason = waiting.reason.as_deref().unwrap_or_default();
                if HOPELESS.contains(&reason) {
                    return Some(format!(
                        "{} cannot start: {reason}: {}",
                        container_label(&container.name),
                        waiting.message.as_deref().unwrap_or("no message")
                    ));
                }
            }
            if let Some(ended) = container
                .last_state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
            {
                return Some(format!(
                    "{} exited with code {}{} before it was ready (restarted {} times)",
                    container_label(&container.name),
                    ended.exit_code,
                    ended
                        .reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default(),
                    container.restart_count
                ));
            }
        }
        None
    }

    /// The pod's uid, its container's restart count, and whether it is
    /// being deleted.
    fn identity(pod: &Pod) -> Identity {
        let restarts = pod
            .status
            .as_ref()
            .and_then(|status| status.container_statuses.as_ref())
            .and_then(|containers| containers.iter().find(|c| c.name == CONTAINER))
            .map_or(0, |container| container.restart_count);
        Identity {
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            restarts,
            deleting: pod.metadata.deletion_timestamp.is_some(),
        }
    }

    /// The pod's recent events, one per line.
    async fn events_text(&self) -> String {
        let params = ListParams::default().fields(&format!("involvedObject.name={}", self.pod));
        match self.events.list(&params).await {
            Ok(listed) if !listed.items.is_empty() => listed
                .items
                .iter()
                .map(|event| {
                    format!(
                        "{} {}: {}",
                        event.type_.as_deref().unwrap_or("Normal"),
                        event.reason.as_deref().unwrap_or("-"),
                        event.message.as_deref().unwrap_or("").trim()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Ok(_) => "(no events)".to_owned(),
            Err(error) => format!("(could not list its events: {error})"),
        }
    }

    /// The last lines the container printed (the previous container's when
    /// the current one has not started).
    async fn logs_tail(&self) -> Option<String> {
        let tail = |previous| LogParams {
            container: Some(CONTAINER.to_owned()),
            tail_lines: Some(i64::try_from(LOG_LINES).unwrap_or(20)),
            previous,
            ..LogParams::default()
        };
        for previous in [false, true] {
            if let Ok(text) = self.pods.logs(&self.pod, &tail(previous)).await
                && !text.trim().is_empty()
            {
                return Some(text.trim_end().to_owned());
            }
        }
        None
    }

    /// Check a ready node's pod until cleanup: gone, not running, or
    /// restarted when no fault took it down fails the run.
    async fn watch_ready(self: Arc<Self>) {
        loop {
            tokio::select! {
                () = self.unsupervised.cancelled() => return,
                () = tokio::time::sleep(SUPERVISE_EVERY) => {}
            }
            if self.expected_down.load(Ordering::SeqCst) {
                continue;
            }
            let Ok(found) = self.pods.get_opt(&self.pod).await else {
                continue;
            };
            let now = found.as_ref().map(Self::identity);
            let baseline = self
                .baseline
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            let ending = self.unsupervised.is_cancelled();
            if ending || self.expected_down.load(Ordering::SeqCst) || now == baseline {
                continue;
            }
            let what = match (now, baseline) {
                (None, _) => "its pod disappeared".to_owned(),
                (Some(now), Some(was)) if now.uid != was.uid => "its pod was replaced".to_owned(),
                (Some(now), _) if now.deleting => "its pod is being deleted".to_owned(),
                (Some(now), _) => format!("its container restarted ({} restarts)", now.restarts),
            };
            self.expect_exit();
            self.failure.fail(format!(
                "{} went down on its own ({what}); no fault caused it",
                self.id
            ));
            return;
        }
    }
}

#[async_trait::async_trait]
impl Starting for NodePod {
    fn node(&self) -> &NodeId {
        &self.id
    }

    fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    fn probe_endpoints(&self) -> BTreeMap<String, HostPort> {
        self.endpoints.clone()
    }

    fn log_path(&self) -> &std::path::Path {
        &self.log_path
    }

    async fn ended(&self) -> Result<Option<String>, BoxError> {
        Ok(self
            .pods
            .get_opt(&self.pod)
            .await?
            .and_then(|pod| self.hopeless(&pod)))
    }

    async fn last_output(&self) -> String {
        let logs = match self.logs_tail().await {
            Some(text) => text,
            None => last_lines(&self.log_path, LOG_LINES),
        };
        format!("{logs}\nits pod's events:\n{}", self.events_text().await)
    }

    fn supervise(&self) {
        // The baseline needs the pod's current identity, an API call:
        // `pod::supervise` does it once the wait returned.
    }

    async fn probe_tcp(&self, _port: &str) -> Option<Result<(), String>> {
        // A front accepts before the node listens: the kubelet's own TCP
        // probe, seen as the pod's Ready condition, tells instead.
        Some(match self.pods.get_opt(&self.pod).await {
            Ok(Some(pod)) if pod_is_ready(&pod) => Ok(()),
            Ok(_) => Err("its pod is not Ready".to_owned()),
            Err(error) => Err(error.to_string()),
        })
    }
}

/// Wait until the node's pod reports Ready (the kubelet's own probe of
/// the node), within `limit`: the second half of a node's readiness, after
/// the framework's probe answered.
pub(crate) async fn wait_pod_ready(node: &NodePod, limit: Duration) -> Result<(), BoxError> {
    let deadline = Instant::now() + limit;
    loop {
        match node.pods.get_opt(&node.pod).await? {
            Some(pod) if pod_is_ready(&pod) => return Ok(()),
            Some(pod) => {
                if let Some(why) = node.hopeless(&pod) {
                    return Err(format!("{} {why}", node.id).into());
                }
            }
            None => {}
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{}: the framework's probe answered, but its pod was not Ready after {limit:?}",
                node.id
            )
            .into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Take the pod's current identity as what it is ready with, and supervise
/// it from now on.
pub(crate) async fn supervise(node: &Arc<NodePod>) {
    let identity = node
        .pods
        .get_opt(&node.pod)
        .await
        .ok()
        .flatten()
        .map(|pod| NodePod::identity(&pod));
    *node.baseline.lock().unwrap_or_else(PoisonError::into_inner) = identity;
    node.expected_down.store(false, Ordering::SeqCst);
}

/// Start the supervisor of a node (once, after its first readiness).
pub(crate) fn spawn_supervisor(node: &Arc<NodePod>) {
    tokio::spawn(Arc::clone(node).watch_ready());
}

/// How a pod's container is named in a reason: the node's, or the fault
/// agent beside it.
fn container_label(name: &str) -> String {
    if name == CONTAINER {
        "its container".to_owned()
    } else {
        format!("its {name} sidecar")
    }
}

#[cfg(test)]
mod tests;
