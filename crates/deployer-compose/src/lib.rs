//! testbed's Docker deployer: runs every node of a scenario as a container,
//! talking to the engine through its API ([bollard]; no docker CLI), with
//! images built locally and never pulled.
//!
//! Depend on it (or on the `testbed` facade with feature `compose`) to run
//! the scenarios you run on local processes in containers instead.
//!
//! * **Images**: [`image::ImageBuilder`] builds a `FROM scratch` image from
//!   a binary and the libraries it links (`cargo xtask image` does it for
//!   demo-node). A missing image fails the deploy before anything starts,
//!   naming the command that builds it.
//! * **Per run**: one volume, one container and one holder container per
//!   node, all labelled with the run id, scenario, node id, role, runner
//!   process and host ([`labels`]). Names derive from the run id, addresses
//!   from the run's own subnet, so concurrent runs never collide.
//! * **One address per node** (the default, [`NetworkMode::Namespaces`]):
//!   the holder (`sleep infinity`, network mode `none`) keeps the node's
//!   network namespace; the runner adds the network plane's device with
//!   the node's one address there (through `/proc/<pid>/ns/net`, so the
//!   runner needs root and the engine on the same machine), and the node's
//!   container joins that namespace, keeping its address across restarts.
//!   The runner reaches each node through a front on 127.0.0.1.
//! * **Readiness**: the container must be running and the node must answer
//!   its probe within the deadline (default 20 s plus 250 ms per node,
//!   `TESTBED_READY_TIMEOUT_SECS` overrides); a container that stops fails at
//!   once with its exit code and last output.
//! * **Logs**: each container's output streams into
//!   `<run>/nodes/<id>/node.log`, kept when the run fails.
//! * **Node faults**: stop, start, restart, signals, pause and unpause.
//! * **Network faults**: every packet between nodes (TCP, UDP, anything IP)
//!   crosses the runner's switch, which applies partitions, **one-way
//!   cuts**, latency, jitter, loss and bandwidth limits by source and
//!   destination and counts what each did; nothing is needed in the image.
//!   [`NetworkMode::LinkProxies`] is the explicit fallback without root: a
//!   bridge network without inter-container traffic, ports published on
//!   127.0.0.1, a TCP proxy per directed peer link (TCP to configured peers
//!   only, nothing counted, node kinds needing one address refused).
//! * **Dynamic join**: `RunContext::add_node(role)` starts one more
//!   container, wired like the others.
//! * **Artifacts**: a `docker-compose.yml` equivalent to what was started,
//!   peers addressed by service name, to bring the topology up by hand.
//! * **Cleanup** on every exit path (including Ctrl-C and SIGTERM):
//!   containers (holders included), the plane (or proxies), volumes (and
//!   the fallback's network) removed, then a leak audit by the
//!   run's label fails the run if anything remains. Leftovers of a runner
//!   killed with SIGKILL are removed by [`reap`] (`cargo xtask reap`).
//!
//! ```no_run
//! use std::time::Duration;
//! use deployer_compose::ComposeDeployer;
//! use scenario_core::prelude::*;
//!
//! # async fn example(node: impl NodeKind) -> Result<(), Box<dyn std::error::Error>> {
//! let report = Scenario::builder("smoke")
//!     .topology(Topology::new().validators(4))
//!     .node_kind(node)
//!     .window(Duration::from_secs(20))
//!     .build()?
//!     .run(&ComposeDeployer::new())
//!     .await?;
//! report.ensure_passed()?;
//! # Ok(())
//! # }
//! ```

mod cleanup;
mod compose_file;
mod container;
mod control;
mod deploy;
mod engine;
mod error;
pub mod image;
mod join;
pub mod labels;
mod logs;
mod network;
mod plan;
mod plane;
mod readiness;
mod reap;

use std::time::Duration;

use scenario_core::{
    BoxError, Capabilities, Capability, DeployEnv, Deployer, Deployment, Scenario,
};

pub use bollard;
pub use cleanup::leftovers;
pub use compose_file::COMPOSE_FILE;
pub use deploykit::{KEEP_ENV, KEEP_LOGS_ENV, Keep, NetworkMode};
pub use engine::{DOCKER_HOST_ENV, connect, engine_address};
pub use error::{Error, Result};
pub use plane::HOLDER_LABEL;
pub use reap::{Reaped, reap};

pub use deploykit::probe::READY_TIMEOUT_ENV;

/// Runs scenarios as Docker containers.
#[derive(Clone, Debug)]
pub struct ComposeDeployer {
    grace: Duration,
    ready_timeout: Option<Duration>,
    host: Option<String>,
    network: NetworkMode,
    keep: Option<Keep>,
}

impl Default for ComposeDeployer {
    fn default() -> Self {
        Self::new()
    }
}

impl ComposeDeployer {
    /// A deployer with the defaults: the engine `DOCKER_HOST` names (else
    /// the local socket), 5 s stop grace, readiness deadline of 20 s plus
    /// 250 ms per node.
    pub fn new() -> Self {
        Self {
            grace: Duration::from_secs(5),
            ready_timeout: None,
            host: None,
            network: NetworkMode::default(),
            keep: None,
        }
    }

    /// What cleanup keeps (node data volumes, logs of passing runs),
    /// whatever `TESTBED_KEEP` and `TESTBED_KEEP_LOGS` say; without it,
    /// they decide.
    pub fn keep(mut self, keep: Keep) -> Self {
        self.keep = Some(keep);
        self
    }

    /// Use the engine at `host` (`unix:///path`, `tcp://host:port`) instead
    /// of `DOCKER_HOST`.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// Which network plane carries the run (default: the network plane,
    /// one address per node; [`NetworkMode::LinkProxies`] is the documented
    /// fallback for runners without root or an engine on another machine).
    pub fn network(mut self, mode: NetworkMode) -> Self {
        self.network = mode;
        self
    }

    /// How long a stopped container gets before the engine kills it (whole
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

    fn ready_timeout_for(&self, nodes: usize) -> Duration {
        deploykit::probe::ready_deadline(self.ready_timeout, Duration::from_secs(20), nodes)
    }
}

#[async_trait::async_trait]
impl Deployer for ComposeDeployer {
    fn name(&self) -> &str {
        "compose"
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

/// The guide's chapter on this deployer, compiled as a doctest so its code
/// matches the crate.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/src/compose-deployer.md")]
struct GuideChapter;
