//! testbed's network plane: every node gets **one IPv4 address** that every
//! peer and the runner use, in its own network namespace, and every packet
//! between nodes crosses a userspace **packet switch** in the runner that
//! enforces faults by source and destination node, for every protocol (TCP,
//! UDP, anything IP).
//!
//! Depend on it from a deployer (the tidy rules allow nothing else but the
//! facade, examples, xtask and e2e-support); it depends only on
//! `scenario-core`.
//!
//! # How it fits together
//!
//! * A run claims a block of 198.18.0.0/15 ([`RunSubnet`], a /22 per run,
//!   lock file under the temp dir), so concurrent runs never share an
//!   address.
//! * [`Switch::new`] probes the machine ([`probe::probe`]), then creates the
//!   runner's namespace (host `.1`, never faulted). [`Switch::add_node`]
//!   creates a node's namespace on a dedicated thread (`unshare`), brings
//!   `lo` up, creates the TUN device [`DEVICE`] with the node's address, the
//!   subnet route and a default route, and hands back a [`NodeNamespace`].
//! * [`NodeNamespace::spawn`] starts the node's process inside (a fresh
//!   thread `setns`es, enters the tokio runtime, forks; the child is an
//!   ordinary `tokio::process::Child`); sockets can be opened inside too.
//! * The switch reads each TUN device, routes by destination address, and
//!   asks the [`engine::Engine`] per packet: partition, isolate, one-way
//!   cut, latency + jitter, loss, bandwidth (token bucket, bounded queue),
//!   per link or per node ([`Peer::Any`]), seeded per link. Every fault
//!   counts what it matched, dropped and delayed ([`FaultCounters`]); a
//!   fault that matched nothing is visible ([`Switch::untouched_faults`]).
//! * The runner reaches node APIs with [`Switch::connect`] or a front
//!   ([`Switch::front`]): a listener on 127.0.0.1 forwarding into the plane,
//!   so existing HTTP clients work unchanged.
//! * [`Switch::control`] is the core's `NetworkControl`.
//! * [`Switch::adopt_node`] puts a namespace that exists on the switch (a
//!   container's, entered through `/proc/<pid>/ns/net`): the compose
//!   deployer's nodes get their one address this way.
//! * [`RunPlane`] is the switch as a deployer shares it between deploy,
//!   joins and cleanup: nodes placed with their listen addresses, fronts,
//!   TCP probes from inside the plane, one close.
//! * Nothing is named or mounted in the kernel: namespaces and TUN devices
//!   vanish with the last fd or process, so a SIGKILLed runner leaks no
//!   kernel object once its node processes are gone.
//!
//! No `ip` or `nft` command is run: TUN devices come from `tun-rs`, links,
//! addresses and routes from `rtnetlink`, namespaces from `nix`.
//!
//! # Modules
//!
//! | module | what it holds |
//! |---|---|
//! | [`engine`] | the pure fault engine: per-packet verdicts, stacking, seeded randomness, counters |
//! | [`agent`] | the wire protocol of the fault agent in each Kubernetes pod |
//! | [`audit`] | whether a run's namespaces are gone after cleanup |
//! | [`release`] | packets held for later, released earliest first |
//! | [`probe`] | whether this machine can run the plane, and the fix when not |
//! | [`subnet`] | run subnets of 198.18.0.0/15 and their lock files |
//! | crate root | [`Switch`], [`RunPlane`], [`NodeNamespace`], [`Fault`], [`SwitchControl`], counters, [`Error`] |
//!
//! # Example
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use netplane::{Fault, Peer, Switch};
//! use scenario_core::{LinkShape, NetworkControl, NetworkFault, NodeId};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Fails before anything starts, naming the fix, where the plane cannot run.
//! netplane::probe::probe()?;
//! let switch = Switch::new(42).await?; // 42: the run seed
//! let a = switch.add_node(NodeId::new("a")).await?;
//! let b = switch.add_node(NodeId::new("b")).await?;
//!
//! // Start b's software inside its namespace; it binds 0.0.0.0:8080 and
//! // every peer reaches it at b.address():8080.
//! let mut command = tokio::process::Command::new("my-node");
//! command
//!     .arg("--listen=0.0.0.0:8080")
//!     .arg(format!("--advertise={}:8080", b.address()))
//!     .arg(format!("--peer={}:8080", a.address()))
//!     .kill_on_drop(true);
//! let mut child = b.spawn(&mut command)?;
//!
//! // The runner's HTTP client talks to b through a front on 127.0.0.1.
//! let api = switch.front(&NodeId::new("b"), 8080).await?;
//! println!("b's API: http://{api}/");
//!
//! // Faults: through the core trait, or the plane's per-node forms.
//! let control: Arc<dyn NetworkControl> = switch.control();
//! let cut = control
//!     .apply(&NetworkFault::Cut { from: NodeId::new("a"), to: NodeId::new("b") })
//!     .await?;
//! let slow = switch.apply(Fault::Shape {
//!     from: Peer::Any,
//!     to: Peer::Node(NodeId::new("b")),
//!     shape: LinkShape { latency: Duration::from_millis(100), ..LinkShape::default() },
//! })?;
//! control.heal(cut).await?;
//! println!("the shape delayed {} packets", switch.fault_counters(slow).unwrap().delayed_packets);
//! for idle in switch.untouched_faults() {
//!     println!("{} matched no traffic", idle.fault);
//! }
//!
//! child.kill().await?;
//! switch.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod agent;
pub mod audit;
mod control;
mod counters;
pub mod engine;
mod error;
mod fault;
mod front;
mod netlink;
mod netns;
pub mod probe;
pub mod release;
mod run_plane;
pub mod subnet;
mod switch;
mod user;

pub use control::SwitchControl;
pub use counters::SwitchCounters;
pub use error::{Error, Result};
pub use fault::{Fault, FaultCounters, FaultReport, Peer};
pub use netns::{DEVICE, NodeNamespace};
pub use run_plane::RunPlane;
pub use subnet::RunSubnet;
pub use switch::Switch;
pub use user::outer_uid;
