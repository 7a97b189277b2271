//! The [`Workload`] extension point: something that drives the network
//! during the run window (transactions, blobs, chaos), and what it needs.

use std::collections::BTreeMap;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::context::RunContext;
use crate::control::{Capabilities, Capability};
use crate::error::BoxError;
use crate::ledger::{Ledger, LedgerId};
use crate::topology::{NodeSlot, Role};

/// What a workload or expectation needs from the plan and the deployer.
/// Checked when the scenario is built (roles, node count) and before any node
/// starts (capabilities).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requirements {
    /// Roles it targets; each must exist in the topology.
    pub roles: Vec<Role>,
    /// Minimum number of nodes it needs.
    pub min_nodes: usize,
    /// What the deployer must be able to do.
    pub capabilities: Capabilities,
    /// Whether it needs the scenario's block feed.
    pub block_feed: bool,
    /// Whether it reads nodes through testbed's HTTP testing API (heights,
    /// blocks, transactions, blobs): refused for node software that does
    /// not speak it ([`NodeKind::testing_api`](crate::NodeKind::testing_api)).
    pub node_api: bool,
    /// Ledgers it reads (each must be written by a workload of the plan).
    pub reads: Vec<LedgerId>,
    /// Ledgers it writes.
    pub writes: Vec<LedgerId>,
}

impl Requirements {
    /// Needs nothing.
    pub fn none() -> Self {
        Self::default()
    }

    /// Also targets `role`.
    pub fn role(mut self, role: impl Into<Role>) -> Self {
        self.roles.push(role.into());
        self
    }

    /// Needs at least `count` nodes.
    pub fn min_nodes(mut self, count: usize) -> Self {
        self.min_nodes = self.min_nodes.max(count);
        self
    }

    /// Also needs `capability`.
    pub fn capability(mut self, capability: Capability) -> Self {
        self.capabilities = self.capabilities.with(capability);
        self
    }

    /// Also needs the scenario to have a block feed
    /// ([`ScenarioBuilder::block_feed`](crate::ScenarioBuilder::block_feed)).
    pub fn block_feed(mut self) -> Self {
        self.block_feed = true;
        self
    }

    /// Also reads nodes through the testing API (heights, blocks,
    /// transactions, blobs; not metrics, which any node may serve).
    pub fn node_api(mut self) -> Self {
        self.node_api = true;
        self
    }

    /// Reads `ledger`: some workload of the scenario must write it.
    pub fn reads(mut self, ledger: &Ledger) -> Self {
        self.reads.push(ledger.id());
        self
    }

    /// Writes `ledger` (what an expectation reading it judges).
    pub fn writes(mut self, ledger: &Ledger) -> Self {
        self.writes.push(ledger.id());
        self
    }

    /// What either needs.
    pub fn union(mut self, other: Self) -> Self {
        self.roles.extend(other.roles);
        self.min_nodes = self.min_nodes.max(other.min_nodes);
        self.capabilities.extend(&other.capabilities);
        self.block_feed |= other.block_feed;
        self.node_api |= other.node_api;
        self.reads.extend(other.reads);
        self.writes.extend(other.writes);
        self
    }
}

/// What a workload reports about itself at the end of the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkloadStats {
    /// Actions attempted (txs submitted, blobs dispersed, faults injected).
    pub submitted: u64,
    /// Actions the network accepted.
    pub accepted: u64,
    /// Actions that failed.
    pub failed: u64,
    /// Anything else worth reporting (rates, latencies), by name.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Drives the network during the run window.
///
/// `run` is called once, concurrently with the other workloads, and must
/// return soon after `cancel` fires at the end of the window; the runner
/// aborts a workload that does not and fails the run. An error or a panic
/// fails the run without stopping the other workloads or cleanup.
#[async_trait::async_trait]
pub trait Workload: Send + Sync + 'static {
    /// A unique name within the scenario, used in reports.
    fn name(&self) -> &str;

    /// What the workload needs.
    fn requirements(&self) -> Requirements {
        Requirements::none()
    }

    /// Check the workload against the plan when it is built, before
    /// anything starts: the run window and every node. An error rejects the
    /// plan with the error as the reason (e.g. a fault scheduled after the
    /// window, a node that does not exist).
    fn check_plan(&self, window: Duration, nodes: &[NodeSlot]) -> Result<(), BoxError> {
        let _ = (window, nodes);
        Ok(())
    }

    /// Prepare before the window opens (after expectations captured).
    async fn init(&self, ctx: &RunContext) -> Result<(), BoxError> {
        let _ = ctx;
        Ok(())
    }

    /// Drive the network until `cancel` fires.
    async fn run(&self, ctx: &RunContext, cancel: CancellationToken) -> Result<(), BoxError>;

    /// What it did, read after the window closed.
    fn stats(&self) -> WorkloadStats {
        WorkloadStats::default()
    }
}
