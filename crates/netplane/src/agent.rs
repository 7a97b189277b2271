//! The wire protocol between a runner and the fault agent that runs beside
//! each node in a Kubernetes pod (the `testbed-agent` sidecar): JSON over
//! HTTP on the pod's loopback, reached through a port-forward.
//!
//! The agent runs this crate's [`Engine`](crate::engine::Engine) on the
//! pod's own outgoing packets, so a directed link `a → b` is judged in `a`'s
//! pod only, with the same seeded per-link randomness as the runner's
//! switch on local processes and Docker. The runner keeps the one list of
//! faults and their ids; every agent mirrors it ([`Sync`]), and heals every
//! fault by itself when the runner stops renewing ([`Sync::lease_ms`]).

use std::net::Ipv4Addr;

use scenario_core::{FaultId, NodeId};
use serde::{Deserialize, Serialize};

use crate::fault::{Fault, FaultReport};

/// The agent's control API, on the pod's loopback only.
pub const CONTROL_PORT: u16 = 47_001;
/// The agent's probe listener, on every address of the pod: what the
/// NetworkPolicy probe tries to reach from another pod.
pub const PROBE_PORT: u16 = 47_002;

/// `PUT /sync`: the whole state an agent must hold, idempotent. Faults it
/// holds but not listed are healed; listed ones it lacks are applied under
/// the runner's ids.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sync {
    /// The run's seed (the engine's per-link randomness).
    pub seed: u64,
    /// The node whose pod this agent is in.
    pub node: NodeId,
    /// Every node of the run with its current pod address.
    pub members: Vec<Member>,
    /// The faults in force, with the runner's ids.
    pub faults: Vec<ActiveFault>,
    /// Heal every fault (and resume a paused node) if no sync or renewal
    /// arrives for this long.
    pub lease_ms: u64,
}

/// A node and the address its pod has now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The node.
    pub id: NodeId,
    /// Its pod's address.
    pub address: Ipv4Addr,
}

/// A fault in force, under the runner's id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActiveFault {
    /// The runner's id for it.
    pub id: FaultId,
    /// The fault.
    pub fault: Fault,
}

/// `GET /status`, and the answer to every other call: what the agent holds
/// and what it did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// The node it serves, once synced.
    pub node: Option<NodeId>,
    /// The pod's address.
    pub address: Ipv4Addr,
    /// Whether a sync arrived since the agent started.
    pub synced: bool,
    /// Whether the lease lapsed: every fault was healed by the agent itself.
    pub lapsed: bool,
    /// Whether the node's processes are stopped (SIGSTOP).
    pub paused: bool,
    /// Packets held now, waiting for the first sync.
    pub held_packets: u64,
    /// Every fault it applied, with what it did in this pod.
    pub faults: Vec<FaultReport>,
    /// What its packet path did.
    pub packets: PacketCounters,
}

/// What an agent's packet path did to the pod's outgoing packets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacketCounters {
    /// Packets sent on, at once or later.
    pub forwarded: u64,
    /// Packets sent on later (a delay, a rate, or held until the first sync).
    pub delayed: u64,
    /// Packets dropped by a fault or a full hold queue.
    pub dropped: u64,
    /// Packets the kernel refused to send on.
    pub send_errors: u64,
}

/// `POST /signal`: send the node's processes a signal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalRequest {
    /// The signal's name, e.g. `SIGSTOP`, `SIGCONT`, `SIGHUP`.
    pub signal: String,
}

/// The answer to [`SignalRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signalled {
    /// The processes signalled, as the pod's process namespace numbers them.
    pub processes: Vec<i32>,
}

/// `GET /connect?to=ADDR:PORT`: whether this pod can open a TCP connection
/// to another (the NetworkPolicy probe).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connected {
    /// Whether the connection opened within a second.
    pub connected: bool,
    /// Why not.
    pub error: Option<String>,
}
