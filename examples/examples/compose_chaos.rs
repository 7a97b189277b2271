//! Chaos on Docker: transactions while validators restart, one is paused, a
//! minority is cut off, and one direction of a link is cut, then another
//! link turns slow and lossy; the chain must stay live, agree, include what
//! it accepted, and converge afterwards. The fault schedule comes from the
//! seed: `--seed N` replays it.
//! `cargo xtask image && cargo run -p examples --example compose_chaos`

use std::time::Duration;

use clap::Parser;
use demo_node::DemoNode;
use testbed::LinkShape;
use testbed::blockfeed::Feed;
use testbed::compose::ComposeDeployer;
use testbed::expectations::{Agreement, Liveness, Recovery, TxInclusion};
use testbed::ledger::Ledger;
use testbed::prelude::*;
use testbed::workloads::{Chaos, ChaosAction, Selector, TxLoad};

/// Chaos on Docker.
#[derive(Parser)]
struct Args {
    /// The seed (default: random, printed, and in the report).
    #[arg(long)]
    seed: Option<u64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let ledger = Ledger::new();
    let slow = LinkShape {
        latency: Duration::from_millis(150),
        loss: 0.2,
        ..LinkShape::default()
    };
    let chaos = Chaos::new()
        .restart_at(Duration::from_secs(3), Selector::AnyOf(Role::Validator))
        .at(
            Duration::from_secs(4),
            ChaosAction::cut("validator-0", "validator-1"),
        )
        .heal_after(Duration::from_secs(4))
        .at(
            Duration::from_secs(8),
            ChaosAction::shape("validator-2", "validator-3", slow),
        )
        .heal_after(Duration::from_secs(5))
        .pause_at(
            Duration::from_secs(8),
            Duration::from_secs(2),
            Selector::AnyOf(Role::Validator),
        )
        .partition_at(
            Duration::from_secs(14),
            Duration::from_secs(5),
            Selector::Minority,
        );
    let mut plan = Scenario::builder("compose-chaos")
        .topology(Topology::new().validators(5).executors(1))
        .node_kind(DemoNode::locate()?.block_time(Duration::from_millis(250)))
        .window(Duration::from_secs(25))
        .cooldown(Duration::from_secs(5))
        .block_feed(Feed::new())
        .workload(TxLoad::new(10.0, &ledger))
        .workload(chaos)
        .expectation(Liveness::new(3, Duration::from_secs(10)))
        .expectation(TxInclusion::at_least(90.0, &ledger))
        .expectation(Agreement)
        .expectation(Recovery::within(Duration::from_secs(20)));
    if let Some(seed) = args.seed {
        plan = plan.seed(seed);
    }
    plan.build()?
        .run(&ComposeDeployer::new())
        .await?
        .ensure_passed()?;
    Ok(())
}
