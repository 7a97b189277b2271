//! What the deployers' end-to-end tests share, so each backend's tests say
//! only what is particular to it: demo-node tuned so tests take seconds,
//! scenarios writing under a temporary root, a workload that joins a node
//! and the checks that it joined, topologies that decide who leads first
//! (for tests where one node misbehaves as leader or as follower), and the
//! scaffolding that runs a scenario in a child process to interrupt. Used
//! as a dev-dependency only.
//!
//! Its own test target, `judges`, proves the expectations on real
//! demo-node networks: each test-only misbehaviour of demo-node is caught
//! by the right judge, and a healthy run passes them all.

mod from_file;
mod partition;
pub mod runner_process;

pub use from_file::FromConfigFile;
pub use partition::{Observed, PartitionProbe};

use std::path::Path;
use std::time::Duration;

use demo_node::DemoNode;
use scenario_core::ScenarioBuilder;
use scenario_core::prelude::*;

/// demo-node with short block time and elections, so tests take seconds.
pub fn demo_node() -> DemoNode {
    DemoNode::locate()
        .expect("cargo builds demo-node for the workspace's tests")
        .block_time(Duration::from_millis(100))
        .election_timeout(Duration::from_millis(400))
}

/// The seed of every scenario made here (also given to demo-node's own
/// randomness, which the node kind is not told otherwise).
pub const SEED: u64 = 1;

/// The election timeout [`slow_elections`] gives: far above
/// [`demo_node()`]'s, so those nodes never campaign while a leader is heard.
pub const SLOW_ELECTION: Duration = Duration::from_secs(3);

/// `topology` with `nodes` on [`SLOW_ELECTION`] timeouts: they will not be
/// the first leader (and not take over from a leader that keeps sending
/// heartbeats).
pub fn slow_elections(mut topology: Topology, nodes: &[&str]) -> Topology {
    let flag = format!("--election-timeout-ms={}", SLOW_ELECTION.as_millis());
    for node in nodes {
        topology = topology.override_node(*node, NodeOverride::new().arg(flag.clone()));
    }
    topology
}

/// `topology` where `leader` is the one validator on [`demo_node()`]'s short
/// election timeout, so it leads first.
pub fn leads_first(topology: Topology, leader: &str) -> Topology {
    let others: Vec<String> = topology
        .slots()
        .into_iter()
        .filter(|slot| slot.role == Role::Validator && slot.id != leader)
        .map(|slot| slot.id.to_string())
        .collect();
    let others: Vec<&str> = others.iter().map(String::as_str).collect();
    slow_elections(topology, &others)
}

/// A scenario of demo-node with `validators` and `executors`, a window of
/// `window_secs`, seed [`SEED`] (demo-node's too), writing its artifacts
/// under `root`.
pub fn scenario(
    name: &str,
    validators: usize,
    executors: usize,
    window_secs: u64,
    root: &Path,
) -> ScenarioBuilder {
    Scenario::builder(name)
        .topology(Topology::new().validators(validators).executors(executors))
        .node_kind(demo_node().seed(SEED))
        .window(Duration::from_secs(window_secs))
        .seed(SEED)
        .artifacts_root(root)
}

/// Adds an executor one second into the window; fails unless it gets the
/// id `executor-0`.
pub struct JoinExecutor;

#[async_trait]
impl Workload for JoinExecutor {
    fn name(&self) -> &str {
        "join"
    }

    fn requirements(&self) -> Requirements {
        Requirements::none().capability(Capability::DynamicJoin)
    }

    async fn run(&self, ctx: &RunContext, cancel: CancellationToken) -> Result<(), BoxError> {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let id = ctx.add_node(&Role::Executor).await?;
        if id != "executor-0" {
            return Err(format!("the joined node got id {id}").into());
        }
        cancel.cancelled().await;
        Ok(())
    }
}

/// The executor [`JoinExecutor`] added follows the chain: it finalized, it
/// is within 5 blocks of `validator-0`, and the block feed saw it (the
/// scenario needs a block feed).
pub struct JoinedExecutorFollows;

#[async_trait]
impl Expectation for JoinedExecutorFollows {
    fn name(&self) -> &str {
        "joined-follows"
    }

    async fn evaluate(&self, ctx: &RunContext) -> Result<Verdict, BoxError> {
        let joined = NodeId::new("executor-0");
        let height = |id: NodeId| async move {
            let client = ctx.client(&id).ok_or(format!("{id} has no client"))?;
            Ok::<_, BoxError>(client.info().await?.finalized_height)
        };
        let theirs = height(joined.clone()).await?;
        let ours = height(NodeId::new("validator-0")).await?;
        let fed = ctx
            .block_feed()
            .ok_or("the scenario has no block feed")?
            .finalized_heights()
            .get(&joined)
            .copied()
            .unwrap_or(0);
        let figures = format!("executor-0 at {theirs} (feed saw {fed}), validator-0 at {ours}");
        Ok(if theirs == 0 || theirs + 5 < ours || fed == 0 {
            Verdict::fail(figures)
        } else {
            Verdict::pass(figures)
        })
    }
}

/// The report shows `executor-0` joining, on the timeline.
pub fn assert_executor_joined(report: &Report) {
    let joined = report
        .events
        .iter()
        .find(|e| e.kind == scenario_core::EventKind::NodeJoined)
        .expect("a node_joined event");
    assert_eq!(joined.node.as_ref().map(NodeId::as_str), Some("executor-0"));
}

/// A node's finalized height at `at_ms`, from the report's height series
/// (0 before its first sample).
pub fn height_at(report: &Report, node: &str, at_ms: u64) -> u64 {
    report.heights[&NodeId::new(node)]
        .iter()
        .take_while(|[ms, _]| *ms <= at_ms)
        .last()
        .map_or(0, |[_, height]| *height)
}

/// The last moment of the report's height series, in ms.
pub fn last_height_ms(report: &Report) -> u64 {
    report
        .heights
        .values()
        .flatten()
        .map(|[ms, _]| *ms)
        .max()
        .unwrap_or(0)
}
