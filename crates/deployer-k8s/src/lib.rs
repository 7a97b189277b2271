//! testbed's Kubernetes deployer: runs every node of a scenario as a pod,
//! talking to the cluster through its API ([kube] and [k8s_openapi]; no
//! kubectl, no helm).
//!
//! Depend on it (or on the `testbed` facade with feature `k8s`) to run the
//! scenarios you run on local processes or Docker on a cluster instead.
//! This crate selects no Kubernetes version feature of `k8s-openapi`: the
//! binary or test that uses it does (`k8s-openapi = { features = ["v1_33"] }`),
//! as kube-rs recommends.
//!
//! * **Per run**: one namespace, `tb-<run id>`, labelled with the run id,
//!   scenario, runner host and pid ([`names`]); in it a `coordination.k8s.io`
//!   Lease the runner renews. [`reap`] deletes run namespaces whose lease
//!   expired, from any machine.
//! * **Per node**: a StatefulSet of one pod (`replicas` 0 stops it, 1
//!   starts it), a headless Service whose name is the node's one address
//!   for every peer (resolved by the cluster's DNS), a ConfigMap with its
//!   launch files. Its data is on a volume claim when the cluster has a
//!   default storage class (or [`K8sDeployer::storage`] names one) and
//!   survives stop and start; on an emptyDir otherwise, lost when the pod
//!   is deleted.
//! * **Readiness**: the pod's Ready condition (the node's own probe, run by
//!   the kubelet) and the framework's probe through the runner's front. A
//!   pod that cannot pull its image, crash-loops, cannot create its
//!   container or is not scheduled for 10 s fails the deploy at once with
//!   the reason, its events and its last log lines.
//! * **The runner reaches nodes** through port-forward over WebSocket, one
//!   stream per connection, behind fronts on 127.0.0.1 that outlive pod
//!   restarts.
//! * **Logs**: each pod's log is followed into `<run>/nodes/<id>/node.log`
//!   across container restarts and pod recreation, without duplicates.
//! * **Node faults**: stop, start, restart, SIGTERM and SIGKILL through
//!   the API; pause and resume through the fault agent.
//! * **Network faults** (partition, one-way cut, latency, jitter, loss,
//!   bandwidth) through the fault agent, a sidecar beside every node of a
//!   run that needs them (`testbed-agent`, [`DEFAULT_AGENT_IMAGE`]): it
//!   runs the network plane's fault engine on its pod's outgoing packets,
//!   with the same semantics and counters as on local processes and
//!   Docker, and heals everything by itself when the runner stops renewing
//!   its lease. Whether the cluster lets a pod have `NET_ADMIN` is probed
//!   before any node is created. Where it does not, partitions and one-way
//!   cuts are made with NetworkPolicy if the cluster enforces it (probed
//!   live too; each change's effect measured), see [`NetworkFaults`];
//!   otherwise the deploy fails with both reasons.
//! * **Dynamic join**: `RunContext::add_node(role)` adds one more node the
//!   same way.
//! * **Cleanup** on every exit path: the lease is let go, the namespace
//!   deleted and waited for by uid (what holds it is reported), then a leak
//!   audit by the run's label across the cluster fails the run if anything
//!   remains. `TESTBED_KEEP=1` keeps the namespace and says how to delete it.
//!
//! ```no_run
//! use std::time::Duration;
//! use deployer_k8s::K8sDeployer;
//! use scenario_core::prelude::*;
//!
//! # async fn example(node: impl NodeKind) -> Result<(), Box<dyn std::error::Error>> {
//! let report = Scenario::builder("smoke")
//!     .topology(Topology::new().validators(4))
//!     .node_kind(node)
//!     .window(Duration::from_secs(20))
//!     .build()?
//!     .run(&K8sDeployer::new())
//!     .await?;
//! report.ensure_passed()?;
//! # Ok(())
//! # }
//! ```

mod agents;
mod cleanup;
mod cluster;
mod control;
mod deploy;
mod error;
mod forward;
mod lease;
mod logs;
mod manifest;
mod mechanism;
pub mod names;
mod plan;
mod pod;
mod policies;
mod probe;
mod reap;

use std::time::Duration;

use scenario_core::{
    BoxError, Capabilities, Capability, DeployEnv, Deployer, Deployment, Scenario,
};

pub use cleanup::{KEPT_ANNOTATION, leftovers};
pub use cluster::{connect, default_storage_class};
pub use deploykit::probe::READY_TIMEOUT_ENV;
pub use deploykit::{KEEP_ENV, KEEP_LOGS_ENV, Keep};
pub use error::{Error, Result};
pub use lease::holder;
pub use manifest::Storage;
pub use pod::pod_is_ready;
pub use probe::{ClusterProbe, PolicyEnforcement, probe_cluster};
pub use reap::{Reaped, reap};
pub use {k8s_openapi, kube};

/// Runs scenarios as pods on the cluster `KUBECONFIG` names.
#[derive(Clone, Debug)]
pub struct K8sDeployer {
    grace: Duration,
    ready_timeout: Option<Duration>,
    keep: Option<Keep>,
    storage: Option<Storage>,
    pull_policy: String,
    lease: Duration,
    agent_image: String,
    network_faults: NetworkFaults,
}

/// How a run makes its network faults ([`K8sDeployer::network_faults`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum NetworkFaults {
    /// The fault agent where the cluster lets a pod have `NET_ADMIN`;
    /// where it does not, NetworkPolicy for a scenario that needs only
    /// partitions and one-way cuts, if the cluster enforces it.
    #[default]
    Auto,
    /// The fault agent only.
    Agent,
    /// NetworkPolicy only: partitions and one-way cuts, no pause, no link
    /// shaping, no packet counters (each change's effect is measured with
    /// new connections instead), not on a lease.
    NetworkPolicy,
}

/// The fault agent's image: `testbed-agent` (crate `k8s-agent`), built by
/// `cargo xtask image` into the local Docker engine. Another cluster needs
/// it in a registry its nodes pull from ([`K8sDeployer::agent_image`]).
pub const DEFAULT_AGENT_IMAGE: &str = "testbed/k8s-agent:dev";

/// What the fault agent offers: a scenario that needs any of these gets the
/// agent beside every node.
const AGENT_CAPABILITIES: [Capability; 6] = [
    Capability::Pause,
    Capability::Partition,
    Capability::OneWayCut,
    Capability::LinkLatency,
    Capability::LinkLoss,
    Capability::LinkBandwidth,
];

/// What NetworkPolicy can make where the fault agent cannot run.
const POLICY_CAPABILITIES: [Capability; 2] = [Capability::Partition, Capability::OneWayCut];

impl Default for K8sDeployer {
    fn default() -> Self {
        Self::new()
    }
}

impl K8sDeployer {
    /// A deployer with the defaults: 5 s stop grace, readiness deadline of
    /// 60 s plus 250 ms per node, image pull policy `IfNotPresent`, a 15 s
    /// lease, storage from the cluster's default class if it has one.
    pub fn new() -> Self {
        Self {
            grace: Duration::from_secs(5),
            ready_timeout: None,
            keep: None,
            storage: None,
            pull_policy: "IfNotPresent".to_owned(),
            lease: Duration::from_secs(15),
            agent_image: DEFAULT_AGENT_IMAGE.to_owned(),
            network_faults: NetworkFaults::Auto,
        }
    }

    /// What cleanup keeps (the namespace, logs of passing runs), whatever
    /// `TESTBED_KEEP` and `TESTBED_KEEP_LOGS` say.
    pub fn keep(mut self, keep: Keep) -> Self {
        self.keep = Some(keep);
        self
    }

    /// Where node data lives, instead of what the cluster offers.
    pub fn storage(mut self, storage: Storage) -> Self {
        self.storage = Some(storage);
        self
    }

    /// The pods' image pull policy (`IfNotPresent`, `Never`, `Always`).
    pub fn pull_policy(mut self, policy: impl Into<String>) -> Self {
        self.pull_policy = policy.into();
        self
    }

    /// How long a stopped pod gets between SIGTERM and SIGKILL (whole
    /// seconds, at least one).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// How long each node may take to become ready (beats the default, not
    /// `TESTBED_READY_TIMEOUT_SECS`).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = Some(timeout);
        self
    }

    /// How long the run's lease lasts unrenewed before [`reap`] may delete
    /// the run (renewed every third of it).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_secs(3));
        self
    }

    /// The fault agent's image, for scenarios with network faults or
    /// pauses (default [`DEFAULT_AGENT_IMAGE`]).
    pub fn agent_image(mut self, image: impl Into<String>) -> Self {
        self.agent_image = image.into();
        self
    }

    /// How network faults are made (default [`NetworkFaults::Auto`]).
    pub fn network_faults(mut self, mechanism: NetworkFaults) -> Self {
        self.network_faults = mechanism;
        self
    }

    fn ready_timeout_for(&self, nodes: usize) -> Duration {
        deploykit::probe::ready_deadline(self.ready_timeout, Duration::from_secs(60), nodes)
    }
}

#[async_trait::async_trait]
impl Deployer for K8sDeployer {
    fn name(&self) -> &str {
        "k8s"
    }

    fn capabilities(&self) -> Capabilities {
        [
            Capability::StopStart,
            Capability::Kill,
            Capability::DynamicJoin,
        ]
        .into_iter()
        .chain(AGENT_CAPABILITIES)
        .collect()
    }

    async fn deploy(&self, scenario: &Scenario, env: &DeployEnv) -> Result<Deployment, BoxError> {
        Ok(deploy::deploy(self, scenario, env).await?)
    }
}

/// The guide's chapter on this deployer, compiled as a doctest so its code
/// matches the crate.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/src/k8s-deployer.md")]
struct GuideChapter;
