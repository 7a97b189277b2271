//! What the deployers' end-to-end tests share, so each backend's tests say
//! only what is particular to it: demo-node tuned so tests take seconds,
//! scenarios writing under a temporary root, a workload that joins a node
//! and the checks that it joined, and the scaffolding that runs a scenario in a child process to
//! interrupt. Used as a dev-dependency only.

pub mod runner_process;

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

/// A scenario of demo-node with `validators` and `executors`, a window of
/// `window_secs`, seed 1, writing its artifacts under `root`.
pub fn scenario(
    name: &str,
    validators: usize,
    executors: usize,
    window_secs: u64,
    root: &Path,
) -> ScenarioBuilder {
    Scenario::builder(name)
        .topology(Topology::new().validators(validators).executors(executors))
        .node_kind(demo_node())
        .window(Duration::from_secs(window_secs))
        .seed(1)
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
