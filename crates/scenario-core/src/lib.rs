//! The scenario model and traits of testbed: the small core that node
//! integrations, workloads, expectations and deployers depend on.
//!
//! Depend on this crate when you write one of those pieces; depend on the
//! `testbed` facade when you write scenarios.
//!
//! A scenario goes through six phases, each visible here and in the report:
//!
//! 1. **build** – [`Scenario::builder`] collects a [`Topology`], a
//!    [`NodeKind`], [`Workload`]s, [`Expectation`]s and the run window, and
//!    [`ScenarioBuilder::build`] validates it, returning every problem at once
//!    in a [`BuildError`];
//! 2. **deploy** – a [`Deployer`] starts the nodes and returns a [`Deployment`];
//! 3. **capture** – every expectation snapshots its baseline;
//! 4. **execute** – workloads run concurrently for the run window;
//! 5. **evaluate** – after the cooldown every expectation judges;
//! 6. **cleanup** – everything the deployer registered is removed, exactly
//!    once, on every exit path (success, error, panic, deadline, Ctrl-C).
//!
//! [`Scenario::run`] drives all of it and returns a [`Report`], also written
//! as `report.json` into the run's artifact directory.
//!
//! # Modules
//!
//! | module | what it holds |
//! |---|---|
//! | [`topology`] | roles, counts, per-node overrides, stable node ids |
//! | [`launch`] | [`NodeKind`], [`LaunchSpec`], readiness probes, the resolved cluster |
//! | [`layout`] | where a run keeps each node's log and data |
//! | [`client`] | [`NodeClient`] and the chain types it returns |
//! | [`control`] | [`NodeControl`], [`NetworkControl`], capabilities |
//! | [`feed`] | the block feed handle implemented by the `blockfeed` crate |
//! | [`workload`], [`expectation`] | the extension points that drive and judge a run |
//! | [`deployer`] | [`Deployer`], [`Deployment`] and cleanup registration |
//! | [`scenario`] | the plan, its builder and its validation |
//! | [`context`], [`timeline`] | what workloads and expectations see during a run |
//! | [`environment`] | every `TESTBED_*` variable, parsed up front |
//! | [`faults`] | fault windows and quorum periods, computed from the timeline |
//! | [`ledger`] | what workloads submitted, for expectations to judge |
//! | [`report`] | the serialisable result of a run |
//! | [`output`] | where a run's banners and progress go: terminal, quiet or yours |
//!
//! # Async traits
//!
//! Every trait that is stored as a trait object ([`NodeClient`],
//! [`NodeControl`], [`NetworkControl`], [`Workload`], [`Expectation`],
//! [`Deployer`], [`NodeKind`]) uses [`macro@async_trait`], re-exported here so
//! implementors use the same version.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use scenario_core::prelude::*;
//!
//! # async fn example(node: impl NodeKind, deployer: impl Deployer) -> Result<(), Box<dyn std::error::Error>> {
//! let scenario = Scenario::builder("smoke")
//!     .topology(Topology::new().validators(4).executors(1))
//!     .node_kind(node)
//!     .window(Duration::from_secs(30))
//!     .build()?;
//! let report = scenario.run(&deployer).await?;
//! report.ensure_passed()?;
//! # Ok(())
//! # }
//! ```

pub mod client;
pub mod context;
pub mod control;
pub mod deployer;
pub mod environment;
pub mod expectation;
#[cfg(feature = "fake")]
pub mod fake;
pub mod faults;
pub mod feed;
pub mod launch;
pub mod layout;
pub mod ledger;
pub mod output;
pub mod report;
pub mod scenario;
pub mod thinned;
pub mod timeline;
pub mod topology;
pub mod workload;

mod error;
mod runner;

pub use async_trait::async_trait;
pub use tokio_util::sync::CancellationToken;

pub use client::{BlobId, BlobSample, Block, ClientError, NodeClient, NodeInfo, TxId};
pub use context::RunContext;
pub use control::{
    Capabilities, Capability, ControlError, FaultEffect, FaultId, Joined, LinkShape, Membership,
    NetworkControl, NetworkFault, NodeControl, Signal,
};
pub use deployer::{DeployEnv, Deployer, Deployment, FailureReporter, RunOutcome};
pub use error::BoxError;
pub use expectation::{Expectation, ExpectationExt, Verdict};
pub use faults::{Disruption, FaultWindow, Period, fault_windows, no_quorum_periods};
pub use feed::{BlockFeed, BlockFeedFactory, FeedEvent, ObservedBlock};
pub use launch::{
    HostPort, LaunchFile, LaunchProblem, LaunchSpec, NodeEndpoint, NodeKind, NodeView, PeerView,
    PortNotDeclared, PortSpec, Readiness,
};
pub use layout::NodeFiles;
pub use output::{Output, OutputEvent};
pub use report::{Report, RunFailed};
pub use runner::{RunError, default_artifacts_root};
pub use scenario::{BuildError, PlanProblem, Scenario, ScenarioBuilder};
pub use timeline::{Event, EventKind, NodeAction, NodeCause, Timeline};
pub use topology::{NodeId, NodeOverride, NodeSlot, Role, Topology};
pub use workload::{Requirements, Workload, WorkloadStats};

/// Everything a scenario author or extension writer usually needs.
pub mod prelude {
    pub use crate::{
        BoxError, CancellationToken, Capabilities, Capability, Deployer, Expectation,
        ExpectationExt, HostPort, LaunchSpec, NodeClient, NodeEndpoint, NodeId, NodeKind,
        NodeOverride, NodeView, PeerView, PortSpec, Readiness, Report, Requirements, Role,
        RunContext, Scenario, Topology, Verdict, Workload, WorkloadStats, async_trait,
    };
}

/// The guide's code samples, compiled as doctests so the docs match the code.
#[cfg(doctest)]
mod guide {
    #[doc = include_str!("../../../docs/src/writing-a-workload.md")]
    struct WritingAWorkload;
    #[doc = include_str!("../../../docs/src/writing-an-expectation.md")]
    struct WritingAnExpectation;
}
