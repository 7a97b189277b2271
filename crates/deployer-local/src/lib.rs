//! testbed's local-process deployer: runs every node of a scenario as a
//! child process of the test, each in its own network namespace with one
//! address, every packet between nodes through the runner's switch. The
//! fastest backend, and the one every user starts with.
//!
//! Depend on it (or on the `testbed` facade with feature `local`) to run
//! scenarios on local processes.
//!
//! * **The network plane** ([`NetworkMode::Namespaces`], the default): each
//!   run claims a subnet of 198.18.0.0/15; each node gets a namespace and one
//!   address that every peer and the runner use (the runner through fronts
//!   on 127.0.0.1). Faults act on every packet by source and destination
//!   (TCP, UDP, anything IP) and report what they did. Needs root or
//!   CAP_NET_ADMIN + CAP_SYS_ADMIN and TUN; without them the deploy fails
//!   before anything starts, naming the fix.
//! * **The fallback** ([`NetworkMode::LinkProxies`]): one loopback address
//!   per run and a TCP proxy per directed peer link; no privileges, but
//!   learned addresses and UDP escape its faults, so node kinds that need
//!   [`Capability::OneAddressPerNode`](scenario_core::Capability) are refused.
//! * **Isolation**: nodes run in their own process groups; data and logs go
//!   under the run's artifact directory; concurrent runs never collide.
//! * **Readiness**: each node's probe must succeed within
//!   [`LocalDeployer::ready_timeout`] (default 10 s plus 250 ms per node,
//!   overridable with `TESTBED_READY_TIMEOUT_SECS`). A node that does not come
//!   up is named with how long the deployer waited, its exit status if it
//!   exited, and its last log lines.
//! * **Node faults**: stop, start, restart, signals, pause and resume.
//! * **Dynamic join**: `RunContext::add_node(role)` starts one more node,
//!   its peers rendered by the node kind, on the run's network like the
//!   others.
//! * **Network faults**: partitions, one-way cuts, latency, jitter, loss and
//!   bandwidth, per link or per node, seeded. API traffic is never faulted.
//! * **Cleanup**: every node stopped and verified dead, the network closed, data
//!   removed (unless `TESTBED_KEEP=1`), logs kept when the run failed (or with
//!   `TESTBED_KEEP_LOGS=1`), then a leak audit. A runner killed by SIGKILL
//!   leaves a marker that [`reap`] (and the next run) uses to kill what it
//!   left behind.
//!
//! ```no_run
//! use std::time::Duration;
//! use deployer_local::LocalDeployer;
//! use scenario_core::prelude::*;
//!
//! # async fn example(node: impl NodeKind) -> Result<(), Box<dyn std::error::Error>> {
//! let report = Scenario::builder("smoke")
//!     .topology(Topology::new().validators(4))
//!     .node_kind(node)
//!     .window(Duration::from_secs(20))
//!     .build()?
//!     .run(&LocalDeployer::new())
//!     .await?;
//! report.ensure_passed()?;
//! # Ok(())
//! # }
//! ```

mod cleanup;
mod control;
mod deploy;
mod error;
mod join;
mod launcher;
mod loopback;
mod marker;
mod network;
mod plan;
mod process;
mod proxies;
mod readiness;
mod registry;

use std::time::Duration;

use scenario_core::{
    BoxError, Capabilities, Capability, DeployEnv, Deployer, Deployment, Scenario,
};

pub use deploykit::ProcessRef;
/// The link proxies peer traffic goes through (shared with other deployers).
pub use deploykit::proxy;
pub use deploykit::{KEEP_ENV, KEEP_LOGS_ENV};
pub use deploykit::{Keep, NetworkMode};
pub use error::{Error, Result};
pub use marker::{MARKER_FILE, Marker, Reaped, reap, reap_registered};
/// Whether this machine can run the network plane, and the fix when not.
pub use netplane::probe as network_plane;

pub use deploykit::probe::READY_TIMEOUT_ENV;

/// Runs scenarios as local processes.
#[derive(Clone, Debug)]
pub struct LocalDeployer {
    grace: Duration,
    ready_timeout: Option<Duration>,
    network: NetworkMode,
    keep: Option<Keep>,
}

impl Default for LocalDeployer {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalDeployer {
    /// A deployer with the defaults: 5 s stop grace, readiness deadline of
    /// 10 s plus 250 ms per node.
    pub fn new() -> Self {
        Self {
            grace: Duration::from_secs(5),
            ready_timeout: None,
            network: NetworkMode::default(),
            keep: None,
        }
    }

    /// What cleanup keeps (node data, logs of passing runs), whatever
    /// `TESTBED_KEEP` and `TESTBED_KEEP_LOGS` say; without it, they decide.
    pub fn keep(mut self, keep: Keep) -> Self {
        self.keep = Some(keep);
        self
    }

    /// Which network plane carries the run (default: namespaces, one
    /// address per node; [`NetworkMode::LinkProxies`] is the documented
    /// fallback for machines without them).
    pub fn network(mut self, mode: NetworkMode) -> Self {
        self.network = mode;
        self
    }

    /// How long a stopped node gets between SIGTERM and SIGKILL.
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

    fn ready_timeout_for(&self, nodes: usize) -> Duration {
        deploykit::probe::ready_deadline(self.ready_timeout, Duration::from_secs(10), nodes)
    }
}

#[async_trait::async_trait]
impl Deployer for LocalDeployer {
    fn name(&self) -> &str {
        "local"
    }

    fn capabilities(&self) -> Capabilities {
        let plane = match self.network {
            NetworkMode::Namespaces => Some(Capability::OneAddressPerNode),
            NetworkMode::LinkProxies => None,
        };
        [
            Capability::StopStart,
            Capability::Kill,
            Capability::Pause,
            Capability::Partition,
            Capability::OneWayCut,
            Capability::LinkLatency,
            Capability::LinkLoss,
            Capability::LinkBandwidth,
            Capability::DynamicJoin,
        ]
        .into_iter()
        .chain(plane)
        .collect()
    }

    async fn deploy(&self, scenario: &Scenario, env: &DeployEnv) -> Result<Deployment, BoxError> {
        Ok(deploy::deploy(self, scenario, env).await?)
    }
}
