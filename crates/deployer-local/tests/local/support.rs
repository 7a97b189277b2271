//! Shared pieces of the local deployer's end-to-end tests: small
//! expectations and workloads (the full ones live in their own crates);
//! the demo-node scenarios come from `e2e-support`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub(crate) use expectations::Agreement;
use scenario_core::prelude::*;

pub(crate) use e2e_support::scenario;

/// Every node's finalized height grows by at least `blocks` during the run.
pub(crate) struct Finalizes {
    pub(crate) blocks: u64,
    pub(crate) start: Mutex<BTreeMap<NodeId, u64>>,
}

impl Finalizes {
    pub(crate) fn by(blocks: u64) -> Self {
        Self {
            blocks,
            start: Mutex::default(),
        }
    }
}

#[async_trait]
impl Expectation for Finalizes {
    fn name(&self) -> &str {
        "finalizes"
    }

    async fn capture(&self, ctx: &RunContext) -> Result<(), BoxError> {
        let mut start = BTreeMap::new();
        for (id, client) in ctx.clients() {
            start.insert(id.clone(), client.info().await?.finalized_height);
        }
        *self.start.lock().unwrap() = start;
        Ok(())
    }

    async fn evaluate(&self, ctx: &RunContext) -> Result<Verdict, BoxError> {
        let start = self.start.lock().unwrap().clone();
        let mut short = Vec::new();
        for (id, before) in &start {
            let now = ctx
                .client(id)
                .ok_or("no client")?
                .info()
                .await?
                .finalized_height;
            if now < before + self.blocks {
                short.push(format!("{id} went from {before} to {now}"));
            }
        }
        Ok(if short.is_empty() {
            Verdict::pass(format!(
                "every node finalized at least {} blocks",
                self.blocks
            ))
        } else {
            Verdict::fail(format!(
                "finalized fewer than {} blocks: {}",
                self.blocks,
                short.join(", ")
            ))
        })
    }
}

/// Restarts one node after a delay.
pub(crate) struct RestartAfter(pub(crate) &'static str, pub(crate) Duration);

#[async_trait]
impl Workload for RestartAfter {
    fn name(&self) -> &str {
        "restart"
    }

    fn requirements(&self) -> Requirements {
        Requirements::none().capability(Capability::StopStart)
    }

    async fn run(&self, ctx: &RunContext, cancel: CancellationToken) -> Result<(), BoxError> {
        tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            () = tokio::time::sleep(self.1) => {}
        }
        ctx.node_control()
            .ok_or("no node control")?
            .restart(&NodeId::new(self.0))
            .await?;
        Ok(())
    }
}

/// The pids of the node processes the run started, from its timeline.
pub(crate) fn started_pids(report: &Report) -> Vec<i32> {
    report
        .events
        .iter()
        .filter(|e| e.kind == scenario_core::EventKind::NodeStarted)
        .filter_map(|e| {
            e.detail
                .strip_prefix("pid ")
                .and_then(|pid| pid.parse().ok())
        })
        .collect()
}

/// Whether a process with this pid exists (a zombie counts as gone).
pub(crate) fn alive(pid: i32) -> bool {
    deployer_local::ProcessRef::of(pid).is_some()
}

/// A node that is a shell script: it prints `up` (its readiness) and idles,
/// sending no packet at all. Its client is a fake (nothing to query).
pub(crate) struct ShellNode(&'static str);

impl ShellNode {
    /// Idles, and never sends a packet.
    pub(crate) fn silent() -> Self {
        Self("echo up; while :; do sleep 1; done")
    }

    /// Idles and ignores SIGTERM (only SIGKILL stops it).
    pub(crate) fn ignoring_sigterm() -> Self {
        Self("trap '' TERM; echo up; while :; do sleep 1; done")
    }
}

impl NodeKind for ShellNode {
    fn name(&self) -> &str {
        "shell"
    }
    fn ports(&self) -> Vec<PortSpec> {
        vec![PortSpec::api("api", 8080)]
    }
    fn render(&self, _node: &NodeView) -> Result<LaunchSpec, BoxError> {
        Ok(LaunchSpec::program("/bin/sh")
            .args(["-c", self.0])
            .readiness(Readiness::log_line("up")))
    }
    fn client(&self, node: &NodeEndpoint) -> Result<Arc<dyn NodeClient>, BoxError> {
        Ok(Arc::new(scenario_core::fake::FakeNodeClient::new(
            node.id.clone(),
            node.role.clone(),
        )))
    }
}
