//! What the cluster allows, probed live, because its answers cannot be read
//! from any API: whether a pod may run the fault agent (`NET_ADMIN`, a TUN
//! device and routes; Pod Security admission or a policy engine may refuse
//! it), and whether NetworkPolicy is enforced (a CNI that does not enforce
//! it stores policies and ignores them).

use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::Client;
use kube::api::{Api, DeleteParams, LogParams};
use netplane::agent::{CONTROL_PORT, PROBE_PORT, Status};
use serde::Serialize;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::agents::{connects, status};
use crate::cluster::create;
use crate::error::api;
use crate::manifest::{self, AgentSettings};
use crate::names;
use scenario_core::BoxError;

/// How long a probe pod may take to answer.
const PROBE_WITHIN: Duration = Duration::from_secs(60);
/// How long a denying policy is watched for its effect.
const POLICY_WATCH: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(250);

/// What [`probe_cluster`] found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClusterProbe {
    /// `Ok` where a pod may run the fault agent (network faults and pause
    /// are available), else what refused it.
    pub fault_agent: Result<(), String>,
    /// Whether NetworkPolicy is enforced.
    pub network_policy: PolicyEnforcement,
}

/// Whether the cluster enforces NetworkPolicy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyEnforcement {
    /// A policy denying ingress cut a working connection this long after
    /// it was created.
    Enforced {
        /// From creation to the first refused connection.
        after: Duration,
    },
    /// The connection still opened this long after the policy was created.
    NotEnforced {
        /// How long it was watched.
        watched: Duration,
    },
    /// The probe could not tell.
    Unknown {
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for PolicyEnforcement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Enforced { after } => write!(
                f,
                "NetworkPolicy enforced (a denying policy took effect after {after:?})"
            ),
            Self::NotEnforced { watched } => write!(
                f,
                "NetworkPolicy not enforced (a denying policy changed nothing in {watched:?})"
            ),
            Self::Unknown { reason } => write!(f, "NetworkPolicy enforcement unknown: {reason}"),
        }
    }
}

/// A pod of the probe, deleted when dropped out of scope by [`Probe::end`].
struct Probe {
    pods: Api<Pod>,
    closing: CancellationToken,
}

impl Probe {
    /// Create `name` and wait until its agent answers through a front;
    /// the error says what stopped it (admission, its exit and last lines).
    async fn start(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
        agent: &AgentSettings,
        probe_only: bool,
    ) -> Result<(std::net::SocketAddr, Status), String> {
        let pod = manifest::probe_pod(name, labels, agent, probe_only);
        create(&self.pods, &pod).await.map_err(|e| e.to_string())?;
        let front = crate::forward::open(
            self.pods.clone(),
            name.to_owned(),
            CONTROL_PORT,
            self.closing.clone(),
        )
        .await
        .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + PROBE_WITHIN;
        loop {
            if let Ok(status) = status(front).await {
                return Ok((front, status));
            }
            if let Some(ended) = self.ended(name).await {
                return Err(ended);
            }
            if Instant::now() >= deadline {
                return Err(format!("its agent did not answer within {PROBE_WITHIN:?}"));
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Why the probe pod's agent will not answer, if it will not.
    async fn ended(&self, name: &str) -> Option<String> {
        let pod = self.pods.get_opt(name).await.ok()??;
        let status = pod.status?;
        let container = status.container_statuses?.into_iter().next()?;
        let state = container.state?;
        let why = if let Some(waiting) = state.waiting {
            let reason = waiting.reason.unwrap_or_default();
            if !crate::pod::HOPELESS.contains(&reason.as_str()) {
                return None;
            }
            format!("{reason}: {}", waiting.message.unwrap_or_default())
        } else {
            let ended = state.terminated?;
            format!("the agent exited with code {}", ended.exit_code)
        };
        let params = LogParams {
            tail_lines: Some(5),
            ..LogParams::default()
        };
        let lines = self.pods.logs(name, &params).await.unwrap_or_default();
        Some(format!("{why}; its last lines: {}", lines.trim()))
    }
}

/// Whether a pod in `namespace` may run the fault agent as the nodes would.
pub(crate) async fn fault_agent(
    client: &Client,
    namespace: &str,
    labels: &BTreeMap<String, String>,
    agent: &AgentSettings,
) -> Result<(), String> {
    let probe = Probe {
        pods: Api::namespaced(client.clone(), namespace),
        closing: CancellationToken::new(),
    };
    let name = "testbed-probe-agent";
    let outcome = probe.start(name, labels, agent, false).await.map(drop);
    probe.closing.cancel();
    let _ = probe.pods.delete(name, &now()).await;
    outcome
}

fn now() -> DeleteParams {
    DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    }
}

/// Probe the cluster `client` reaches, in a namespace of its own (deleted
/// after): whether a pod may run the fault agent, and whether a
/// NetworkPolicy denying ingress cuts a working connection between two
/// pods (watched for 10 s). Takes the agent's image as nodes would.
pub async fn probe_cluster(client: &Client, agent_image: &str) -> Result<ClusterProbe, BoxError> {
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let run_id = format!("probe-{}-{}", std::process::id(), started % 1_000_000);
    let namespace = names::namespace(&run_id);
    let labels = names::run_labels(&run_id, "cluster-probe");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    create(&namespaces, &manifest::namespace(&namespace, &labels)).await?;
    let agent = AgentSettings {
        image: agent_image.to_owned(),
        pull_policy: "IfNotPresent".to_owned(),
        hold: Duration::from_secs(1),
        probe_only: false,
    };
    // Created before anything can fail, so its deletion below is certain.
    let fault_agent = fault_agent(client, &namespace, &labels, &agent).await;
    let network_policy = network_policy(client, &namespace, &labels, &agent).await;
    let uid = namespaces
        .get(&namespace)
        .await
        .map_err(api(format!("read namespace {namespace}")))?
        .metadata
        .uid
        .unwrap_or_default();
    crate::cleanup::delete_namespace(client, &namespace, &uid, Duration::ZERO).await?;
    Ok(ClusterProbe {
        fault_agent,
        network_policy,
    })
}

/// Whether a NetworkPolicy denying ingress cuts a working connection
/// between two probe pods in `namespace` (the policy and pods are deleted
/// after).
pub(crate) async fn network_policy(
    client: &Client,
    namespace: &str,
    labels: &BTreeMap<String, String>,
    agent: &AgentSettings,
) -> PolicyEnforcement {
    let probe = Probe {
        pods: Api::namespaced(client.clone(), namespace),
        closing: CancellationToken::new(),
    };
    let unknown = |reason: String| PolicyEnforcement::Unknown { reason };
    let with_role = |role: &str| {
        let mut labels = labels.clone();
        labels.insert(names::ROLE_LABEL.to_owned(), role.to_owned());
        labels
    };
    let outcome = async {
        let (_, server) = probe
            .start(
                "testbed-probe-server",
                &with_role("probe-server"),
                agent,
                true,
            )
            .await
            .map_err(|e| unknown(format!("the server pod: {e}")))?;
        let (front, _) = probe
            .start(
                "testbed-probe-client",
                &with_role("probe-client"),
                agent,
                true,
            )
            .await
            .map_err(|e| unknown(format!("the client pod: {e}")))?;
        let target = SocketAddrV4::new(server.address, PROBE_PORT);
        let reaches = || async {
            connects(front, target)
                .await
                .map_err(|e| unknown(format!("the client pod's agent: {e}")))
        };
        if !reaches().await? {
            return Err(unknown(
                "the client pod cannot reach the server pod even without a policy".to_owned(),
            ));
        }
        let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), namespace);
        let selector = BTreeMap::from([(names::ROLE_LABEL.to_owned(), "probe-server".to_owned())]);
        create(
            &policies,
            &manifest::deny_ingress("testbed-probe-deny", labels, &selector),
        )
        .await
        .map_err(|e| unknown(format!("creating the policy: {e}")))?;
        let created = Instant::now();
        while created.elapsed() < POLICY_WATCH {
            // A refused attempt takes the agent's 1 s timeout: the policy
            // was in force when the attempt began.
            let attempt = created.elapsed();
            if !reaches().await? {
                return Ok(PolicyEnforcement::Enforced { after: attempt });
            }
            tokio::time::sleep(POLL).await;
        }
        Ok(PolicyEnforcement::NotEnforced {
            watched: created.elapsed(),
        })
    }
    .await;
    probe.closing.cancel();
    for name in ["testbed-probe-server", "testbed-probe-client"] {
        let _ = probe.pods.delete(name, &now()).await;
    }
    let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), namespace);
    let _ = policies
        .delete("testbed-probe-deny", &DeleteParams::default())
        .await;
    outcome.unwrap_or_else(|unknown| unknown)
}
