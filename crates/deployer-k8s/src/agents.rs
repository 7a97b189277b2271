//! Network faults, pause and signals on Kubernetes, through the fault agent
//! (`testbed-agent`, crate `k8s-agent`) that runs as a sidecar in each
//! node's pod, with `NET_ADMIN` and the pod's process namespace shared.
//!
//! The runner keeps the one fault engine that assigns ids and checks
//! faults; every agent mirrors its faults and the pods' current addresses
//! ([`netplane::agent::Sync`]) and judges its own pod's outgoing packets,
//! so each directed link is judged once, in its sender's pod, with the same
//! seeded randomness as on local processes and Docker. The runner renews
//! every agent's lease every third of it; an agent not renewed heals every
//! fault and resumes its node by itself (runner SIGKILLed, laptop closed).
//! A restarted pod's agent holds the pod's packets until the runner has
//! synced it, so a fault in force also holds across restarts.

mod http;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use hyper::{Method, StatusCode};
use netplane::Fault;
use netplane::agent::{ActiveFault, Member, SignalRequest, Signalled, Status, Sync};
use netplane::engine::Engine;
use scenario_core::{
    ControlError, FailureReporter, FaultEffect, FaultId, NetworkControl, NetworkFault, NodeId,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::control::failed;

pub(crate) use http::{CallError, call, connects, status};

/// How often an agent is asked whether it answers yet.
const POLL: Duration = Duration::from_millis(100);

/// One node's agent, as the runner reaches it.
struct AgentLink {
    front: SocketAddr,
    /// Its pod's address while the pod is up; `None` while stopped.
    address: Mutex<Option<Ipv4Addr>>,
    /// What each fault did in this pod, as last read.
    counters: Mutex<BTreeMap<FaultId, FaultEffect>>,
    /// What each fault did in the node's earlier pods (a restarted pod's
    /// agent counts from zero).
    earlier: Mutex<BTreeMap<FaultId, FaultEffect>>,
}

/// `into` plus `more`, counter by counter.
fn add(into: &mut FaultEffect, more: &FaultEffect) {
    into.matched_packets += more.matched_packets;
    into.matched_bytes += more.matched_bytes;
    into.dropped_packets += more.dropped_packets;
    into.dropped_bytes += more.dropped_bytes;
    into.delayed_packets += more.delayed_packets;
    into.delayed_bytes += more.delayed_bytes;
}

/// A mutex's guard, poisoned or not (a panicked holder left consistent data).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Every agent of a run.
pub(crate) struct AgentPlane {
    seed: u64,
    lease: Duration,
    engine: Mutex<Engine>,
    agents: RwLock<BTreeMap<NodeId, Arc<AgentLink>>>,
    /// Serializes syncs, so agents see faults in the order applied.
    syncing: tokio::sync::Mutex<()>,
}

impl AgentPlane {
    /// A plane for a run with this seed, its agents' lease `lease`.
    pub(crate) fn new(seed: u64, lease: Duration) -> Arc<Self> {
        Arc::new(Self {
            seed,
            lease,
            engine: Mutex::new(Engine::new(seed)),
            agents: RwLock::new(BTreeMap::new()),
            syncing: tokio::sync::Mutex::new(()),
        })
    }

    fn link(&self, node: &NodeId) -> Result<Arc<AgentLink>, ControlError> {
        self.agents
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(node)
            .cloned()
            .ok_or_else(|| ControlError::UnknownNode(node.clone()))
    }

    /// Register a node's agent, reached at `front`.
    pub(crate) fn add(&self, node: &NodeId, front: SocketAddr) {
        lock(&self.engine).add_node(node.clone());
        self.agents
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                node.clone(),
                Arc::new(AgentLink {
                    front,
                    address: Mutex::new(None),
                    counters: Mutex::new(BTreeMap::new()),
                    earlier: Mutex::new(BTreeMap::new()),
                }),
            );
    }

    /// Wait until `node`'s (new) pod's agent answers, then sync every agent
    /// (the others learn the pod's address). Call it as soon as the pod is
    /// created: the agent holds the pod's packets until then.
    pub(crate) async fn attach(&self, node: &NodeId, within: Duration) -> Result<(), ControlError> {
        let link = self.link(node)?;
        let deadline = Instant::now() + within;
        let status = loop {
            match status(link.front).await {
                Ok(status) => break status,
                Err(error) if Instant::now() >= deadline => {
                    return Err(failed("reach the fault agent of", node, error));
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        };
        *lock(&link.address) = Some(status.address);
        self.sync_everyone().await
    }

    /// The node's pod is going away: what its agent counted is read one
    /// last time and kept; it is no longer synced, and its address is no
    /// longer a member's.
    pub(crate) async fn detach(&self, node: &NodeId) {
        if let Ok(link) = self.link(node) {
            if let Ok(status) = status(link.front).await {
                record(&link, &status);
            }
            *lock(&link.address) = None;
            let counted = std::mem::take(&mut *lock(&link.counters));
            let mut earlier = lock(&link.earlier);
            for (id, effect) in counted {
                add(earlier.entry(id).or_default(), &effect);
            }
        }
    }

    fn up(&self) -> Vec<(NodeId, Arc<AgentLink>, Ipv4Addr)> {
        self.agents
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter_map(|(id, link)| {
                let address = (*lock(&link.address))?;
                Some((id.clone(), Arc::clone(link), address))
            })
            .collect()
    }

    fn sync_for(&self, node: &NodeId, members: &[Member]) -> Sync {
        let engine = lock(&self.engine);
        let faults = engine
            .active()
            .into_iter()
            .filter_map(|id| engine.report(id))
            .map(|report| ActiveFault {
                id: report.id,
                fault: report.fault,
            })
            .collect();
        Sync {
            seed: self.seed,
            node: node.clone(),
            members: members.to_vec(),
            faults,
            lease_ms: u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// Give every agent whose pod is up the current faults and addresses.
    async fn sync_everyone(&self) -> Result<(), ControlError> {
        let _turn = self.syncing.lock().await;
        let up = self.up();
        let members: Vec<Member> = up
            .iter()
            .map(|(id, _, address)| Member {
                id: id.clone(),
                address: *address,
            })
            .collect();
        let calls = up.iter().map(|(id, link, _)| {
            let sync = self.sync_for(id, &members);
            async move {
                let status = call::<Status>(link.front, Method::PUT, "/sync", Some(&sync))
                    .await
                    .map_err(|error| failed("sync the fault agent of", id, error))?;
                record(link, &status);
                Ok::<(), ControlError>(())
            }
        });
        futures::future::try_join_all(calls).await.map(drop)
    }

    /// Read every agent's counters.
    async fn refresh(&self) {
        let calls = self.up().into_iter().map(|(_, link, _)| async move {
            if let Ok(status) = status(link.front).await {
                record(&link, &status);
            }
        });
        futures::future::join_all(calls).await;
    }

    /// Send the node's processes a signal through its agent.
    pub(crate) async fn signal(
        &self,
        node: &NodeId,
        signal: &str,
    ) -> Result<Vec<i32>, ControlError> {
        let link = self.link(node)?;
        let request = SignalRequest {
            signal: signal.to_owned(),
        };
        call::<Signalled>(link.front, Method::POST, "/signal", Some(&request))
            .await
            .map(|signalled| signalled.processes)
            .map_err(|error| failed(signal, node, error))
    }

    /// Renew every agent's lease every third of it until `stop`; an agent
    /// that lapsed fails the run, one that restarted is synced again.
    pub(crate) fn spawn_renewals(
        self: &Arc<Self>,
        stop: CancellationToken,
        failure: FailureReporter,
    ) {
        let plane = Arc::clone(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(plane.lease / 3);
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = every.tick() => {}
                }
                plane.renew_once(&failure).await;
            }
        });
    }

    async fn renew_once(&self, failure: &FailureReporter) {
        let mut resync = false;
        for (id, link, _) in self.up() {
            match call::<Status>(link.front, Method::POST, "/renew", None::<&()>).await {
                Ok(status) => record(&link, &status),
                Err(CallError::Refused { status, .. })
                    if status == StatusCode::PRECONDITION_FAILED =>
                {
                    tracing::warn!(node = %id, "its fault agent restarted: syncing it again");
                    resync = true;
                }
                Err(CallError::Refused { status, body }) if status == StatusCode::CONFLICT => {
                    failure.fail(format!(
                        "the fault agent of {id} healed every fault on its own: {body}"
                    ));
                }
                Err(error) => {
                    tracing::debug!(node = %id, %error, "renewing a fault agent's lease failed")
                }
            }
        }
        if resync && let Err(error) = self.sync_everyone().await {
            tracing::warn!(%error, "syncing a restarted fault agent failed");
        }
    }
}

/// Keep what an agent said each fault did.
fn record(link: &AgentLink, status: &Status) {
    let mut counters = lock(&link.counters);
    for report in &status.faults {
        counters.insert(report.id, report.counters);
    }
}

/// The run's network faults, on the agents.
pub(crate) struct AgentNetwork(pub(crate) Arc<AgentPlane>);

#[async_trait::async_trait]
impl NetworkControl for AgentNetwork {
    async fn apply(&self, fault: &NetworkFault) -> Result<FaultId, ControlError> {
        let plane = &self.0;
        let id = lock(&plane.engine).apply(Fault::from_network(fault)?)?;
        if let Err(error) = plane.sync_everyone().await {
            lock(&plane.engine).heal(id);
            let _ = plane.sync_everyone().await;
            return Err(error);
        }
        Ok(id)
    }

    async fn heal(&self, fault: FaultId) -> Result<(), ControlError> {
        lock(&self.0.engine).heal(fault);
        self.0.sync_everyone().await?;
        self.0.refresh().await;
        Ok(())
    }

    async fn heal_all(&self) -> Result<(), ControlError> {
        lock(&self.0.engine).heal_all();
        self.0.sync_everyone().await?;
        self.0.refresh().await;
        Ok(())
    }

    fn effect(&self, fault: FaultId) -> Option<FaultEffect> {
        let agents = self.0.agents.read().unwrap_or_else(PoisonError::into_inner);
        let mut total = FaultEffect::default();
        for link in agents.values() {
            for counted in [&link.counters, &link.earlier] {
                if let Some(effect) = lock(counted).get(&fault) {
                    add(&mut total, effect);
                }
            }
        }
        Some(total)
    }
}

#[cfg(test)]
mod tests {
    use netplane::agent::PacketCounters;
    use netplane::{FaultReport, Peer};

    use super::*;

    fn status(dropped: u64) -> Status {
        let fault = Fault::Cut {
            from: Peer::Node(NodeId::new("a")),
            to: Peer::Node(NodeId::new("b")),
        };
        Status {
            node: Some(NodeId::new("a")),
            address: Ipv4Addr::new(10, 0, 0, 1),
            synced: true,
            lapsed: false,
            paused: false,
            held_packets: 0,
            faults: vec![FaultReport {
                id: FaultId(1),
                fault,
                active: true,
                counters: FaultEffect {
                    matched_packets: dropped,
                    dropped_packets: dropped,
                    ..FaultEffect::default()
                },
            }],
            packets: PacketCounters::default(),
        }
    }

    #[tokio::test]
    async fn a_restarted_pods_counts_add_to_what_its_earlier_pod_counted() {
        let plane = AgentPlane::new(1, Duration::from_secs(15));
        let node = NodeId::new("a");
        // Nothing listens there: the last read before detaching fails at
        // once, and what was read before stays.
        plane.add(&node, SocketAddr::from(([127, 0, 0, 1], 1)));
        let link = plane.link(&node).unwrap();
        record(&link, &status(5));
        plane.detach(&node).await;
        record(&link, &status(3));
        let network = AgentNetwork(Arc::clone(&plane));
        let effect = network.effect(FaultId(1)).unwrap();
        assert_eq!(effect.dropped_packets, 8, "{effect}");
        assert_eq!(effect.matched_packets, 8, "{effect}");
    }
}
