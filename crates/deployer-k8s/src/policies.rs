//! Partitions and one-way cuts made with NetworkPolicy, for clusters that
//! will not run the fault agent with `NET_ADMIN` but enforce policies.
//!
//! The runner keeps the same fault engine as everywhere (ids, checks,
//! stacking); from the links it cuts, each node whose inbound links are
//! cut gets one policy (`testbed-cut-<node>`) that admits connections only
//! from the run's pods that are not the nodes cut off from it. Policies
//! select by label, so a fault holds across pod restarts and new addresses.
//!
//! A policy has no counters and takes effect when the cluster's network
//! plugin gets to it, so every change is measured: the unprivileged agent
//! beside each node (`--probe-only`) is asked to connect across every link
//! the change cut (or reopened) until the answer flips, and the moment it
//! did goes on the run's timeline. A cut that does not take effect within
//! [`EFFECT_WITHIN`] fails the fault. Plugins differ on connections open
//! before the policy: some cut them, many (Calico, Cilium, Antrea) let them
//! live on; the measurement sees new connections only.
//!
//! Unlike the agent's faults, these are not on a lease: a runner that dies
//! leaves them in its namespace until [`crate::reap`] deletes the whole run.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use netplane::Fault;
use netplane::agent::PROBE_PORT;
use netplane::engine::Engine;
use scenario_core::{
    Capability, ControlError, EventKind, FaultId, NetworkControl, NetworkFault, NodeId, Timeline,
};
use tokio::time::Instant;

use crate::agents::{connects, lock, status};
use crate::control::failed;
use crate::error::status_code;
use crate::manifest;

/// How long a policy change may take to show on every link it changes.
pub(crate) const EFFECT_WITHIN: Duration = Duration::from_secs(10);
/// Pause between two connection attempts on one link.
const RETRY: Duration = Duration::from_millis(100);

/// A node as the policies see it.
struct Member {
    /// Its pod's node label (and the stem of its policy's name).
    name: String,
    /// Its agent's front, for measuring.
    front: SocketAddr,
}

/// Every policy of a run.
pub(crate) struct PolicyPlane {
    policies: Api<NetworkPolicy>,
    labels: BTreeMap<String, String>,
    timeline: Timeline,
    engine: Mutex<Engine>,
    members: RwLock<BTreeMap<NodeId, Member>>,
    /// Per node, the nodes its policy refuses, as written to the cluster;
    /// also serializes changes.
    written: tokio::sync::Mutex<BTreeMap<NodeId, BTreeSet<NodeId>>>,
}

/// What changing the policies did on one link, measured.
enum Seen {
    /// The answer flipped this long after the policies were written.
    After(Duration),
    /// It had not flipped when the wait ended.
    Never,
    /// One end's agent could not be asked (its pod is down).
    Unmeasured,
}

impl PolicyPlane {
    pub(crate) fn new(
        policies: Api<NetworkPolicy>,
        labels: BTreeMap<String, String>,
        seed: u64,
        timeline: Timeline,
    ) -> Arc<Self> {
        Arc::new(Self {
            policies,
            labels,
            timeline,
            engine: Mutex::new(Engine::new(seed)),
            members: RwLock::new(BTreeMap::new()),
            written: tokio::sync::Mutex::new(BTreeMap::new()),
        })
    }

    /// Register a node: `name` is its pod's node label, `front` its agent.
    pub(crate) fn add(&self, node: &NodeId, name: &str, front: SocketAddr) {
        lock(&self.engine).add_node(node.clone());
        self.members
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                node.clone(),
                Member {
                    name: name.to_owned(),
                    front,
                },
            );
    }

    fn member(&self, node: &NodeId) -> Option<(String, SocketAddr)> {
        self.members
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(node)
            .map(|member| (member.name.clone(), member.front))
    }

    /// Per node, whom the engine's active faults cut off from it.
    fn wanted(&self) -> BTreeMap<NodeId, BTreeSet<NodeId>> {
        let links = lock(&self.engine).cut_links();
        let mut wanted: BTreeMap<NodeId, BTreeSet<NodeId>> = BTreeMap::new();
        for (from, to) in links {
            wanted.entry(to).or_default().insert(from);
        }
        wanted
    }

    /// Write the policies the engine's faults call for, then measure the
    /// links that changed; a cut that did not show fails with the links.
    async fn enforce(&self, what: &str) -> Result<(), ControlError> {
        let mut written = self.written.lock().await;
        let wanted = self.wanted();
        let nodes: BTreeSet<&NodeId> = wanted.keys().chain(written.keys()).collect();
        for node in nodes {
            let refused = wanted.get(node).cloned().unwrap_or_default();
            if written.get(node).cloned().unwrap_or_default() != refused {
                self.write(node, &refused).await?;
            }
        }
        let pairs = |of: &BTreeMap<NodeId, BTreeSet<NodeId>>| -> BTreeSet<(NodeId, NodeId)> {
            of.iter()
                .flat_map(|(to, froms)| froms.iter().map(|from| (from.clone(), to.clone())))
                .collect()
        };
        let (now, before) = (pairs(&wanted), pairs(&written));
        *written = wanted;
        let written_at = Instant::now();
        let cut: Vec<_> = now.difference(&before).cloned().collect();
        let reopened: Vec<_> = before.difference(&now).cloned().collect();
        let targets = self.probe_addresses(cut.iter().chain(&reopened)).await;
        let measured = futures::future::join_all(
            cut.iter()
                .map(|link| self.measure(link, &targets, false, written_at))
                .chain(
                    reopened
                        .iter()
                        .map(|link| self.measure(link, &targets, true, written_at)),
                ),
        )
        .await;
        let (cut_seen, reopened_seen) = measured.split_at(cut.len());
        self.note(what, "refused", &cut, cut_seen);
        self.note(what, "open again", &reopened, reopened_seen);
        let stuck: Vec<String> = cut
            .iter()
            .zip(cut_seen)
            .filter(|(_, seen)| matches!(seen, Seen::Never))
            .map(|((from, to), _)| format!("{from} → {to}"))
            .collect();
        if stuck.is_empty() {
            Ok(())
        } else {
            Err(failed(
                "cut with NetworkPolicy",
                stuck.join(", "),
                format!(
                    "new connections still opened {EFFECT_WITHIN:?} after the policies were written: the cluster's network plugin does not enforce them"
                ),
            ))
        }
    }

    /// Create, replace or (nothing refused) delete `node`'s policy.
    async fn write(&self, node: &NodeId, refused: &BTreeSet<NodeId>) -> Result<(), ControlError> {
        let (name, _) = self
            .member(node)
            .ok_or_else(|| ControlError::UnknownNode(node.clone()))?;
        let policy_name = format!("testbed-cut-{name}");
        if refused.is_empty() {
            return match self
                .policies
                .delete(&policy_name, &DeleteParams::default())
                .await
            {
                Err(error) if status_code(&error) != Some(404) => {
                    Err(failed("delete NetworkPolicy", &policy_name, error))
                }
                _ => Ok(()),
            };
        }
        let names = refused
            .iter()
            .map(|id| self.member(id).map(|(name, _)| name))
            .collect::<Option<BTreeSet<String>>>()
            .ok_or_else(|| failed("write NetworkPolicy", &policy_name, "an unknown node"))?;
        let policy = manifest::refuse_ingress(&policy_name, &self.labels, &name, &names);
        self.policies
            .patch(
                &policy_name,
                &PatchParams::apply("testbed").force(),
                &Patch::Apply(&policy),
            )
            .await
            .map(drop)
            .map_err(|error| failed("write NetworkPolicy", &policy_name, error))
    }

    /// The probe address of every link's receiving node whose agent answers
    /// (its pod is up), each asked once.
    async fn probe_addresses<'a>(
        &self,
        links: impl Iterator<Item = &'a (NodeId, NodeId)>,
    ) -> BTreeMap<NodeId, SocketAddrV4> {
        let receivers: BTreeSet<&NodeId> = links.map(|(_, to)| to).collect();
        let asked = receivers.into_iter().map(|node| async move {
            let (_, front) = self.member(node)?;
            let answer = status(front).await.ok()?;
            Some((node.clone(), SocketAddrV4::new(answer.address, PROBE_PORT)))
        });
        futures::future::join_all(asked)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    /// Ask `from`'s agent to connect to `to`'s probe port until whether it
    /// connects is `open`.
    async fn measure(
        &self,
        (from, to): &(NodeId, NodeId),
        targets: &BTreeMap<NodeId, SocketAddrV4>,
        open: bool,
        since: Instant,
    ) -> Seen {
        let (Some((_, from_front)), Some(&target)) = (self.member(from), targets.get(to)) else {
            return Seen::Unmeasured;
        };
        let deadline = since + EFFECT_WITHIN;
        loop {
            let attempt = Instant::now();
            match connects(from_front, target).await {
                Ok(connected) if connected == open => return Seen::After(attempt - since),
                Ok(_) => {}
                Err(_) => return Seen::Unmeasured,
            }
            if Instant::now() >= deadline {
                return Seen::Never;
            }
            tokio::time::sleep(RETRY).await;
        }
    }

    /// Put what was measured on the timeline, one line per change.
    fn note(&self, what: &str, state: &str, links: &[(NodeId, NodeId)], seen: &[Seen]) {
        if links.is_empty() {
            return;
        }
        let slowest = links
            .iter()
            .zip(seen)
            .filter_map(|(link, seen)| match seen {
                Seen::After(after) => Some((*after, link)),
                _ => None,
            })
            .max_by_key(|(after, _)| *after);
        let unmeasured = seen
            .iter()
            .filter(|s| matches!(s, Seen::Unmeasured))
            .count();
        let never = seen.iter().filter(|s| matches!(s, Seen::Never)).count();
        let mut line = format!("{what} by NetworkPolicy: new connections {state}");
        match slowest {
            Some((after, (from, to))) => line.push_str(&format!(
                " on {} of {} links within {:.2} s of writing the policies (slowest {from} → {to})",
                links.len() - unmeasured - never,
                links.len(),
                after.as_secs_f64()
            )),
            None => line.push_str(&format!(" on none of {} links", links.len())),
        }
        if never > 0 {
            line.push_str(&format!("; {never} not within {EFFECT_WITHIN:?}"));
        }
        if unmeasured > 0 {
            line.push_str(&format!("; {unmeasured} not measured (a node was down)"));
        }
        self.timeline.record(EventKind::Note, None, line);
    }
}

/// The capability a fault needs that NetworkPolicy cannot give, if any.
fn beyond_policy(fault: &Fault) -> Option<Capability> {
    match fault {
        Fault::Shape { shape, .. } if shape.loss > 0.0 => Some(Capability::LinkLoss),
        Fault::Shape { shape, .. } if shape.bandwidth.is_some() => Some(Capability::LinkBandwidth),
        Fault::Shape { .. } => Some(Capability::LinkLatency),
        _ => None,
    }
}

/// The run's network faults, as NetworkPolicy objects.
pub(crate) struct PolicyNetwork(pub(crate) Arc<PolicyPlane>);

#[async_trait::async_trait]
impl NetworkControl for PolicyNetwork {
    async fn apply(&self, fault: &NetworkFault) -> Result<FaultId, ControlError> {
        let plane = &self.0;
        let fault = Fault::from_network(fault)?;
        if let Some(capability) = beyond_policy(&fault) {
            return Err(ControlError::Unsupported(capability));
        }
        let id = lock(&plane.engine).apply(fault)?;
        if let Err(error) = plane.enforce(&id.to_string()).await {
            lock(&plane.engine).heal(id);
            let _ = plane.enforce(&format!("{id} taken back")).await;
            return Err(error);
        }
        Ok(id)
    }

    async fn heal(&self, fault: FaultId) -> Result<(), ControlError> {
        lock(&self.0.engine).heal(fault);
        self.0.enforce(&format!("{fault} healed")).await
    }

    async fn heal_all(&self) -> Result<(), ControlError> {
        lock(&self.0.engine).heal_all();
        self.0.enforce("every fault healed").await
    }
}
