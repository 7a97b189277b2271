//! What the deployers' end-to-end tests share, so each backend's tests say
//! only what is particular to it: demo-node tuned so tests take seconds,
//! scenarios writing under a temporary root, a workload that joins a node,
//! and the scaffolding that runs a scenario in a child process to
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
