//! The smallest useful scenario: 4 validators and 1 executor of demo-node on
//! local processes for 15 seconds; blocks must finalize and agree.
//! `cargo build -p demo-node && cargo run -p examples --example local_smoke`

use std::time::Duration;

use demo_node::DemoNode;
use testbed::expectations::{Agreement, Liveness};
use testbed::local::LocalDeployer;
use testbed::prelude::*;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let report = Scenario::builder("local-smoke")
        .topology(Topology::new().validators(4).executors(1))
        .node_kind(DemoNode::locate()?.block_time(Duration::from_millis(200)))
        .window(Duration::from_secs(15))
        .expectation(Liveness::new(5, Duration::from_secs(5)))
        .expectation(Agreement)
        .build()?
        .run(&LocalDeployer::new())
        .await?;
    report.ensure_passed()?;
    Ok(())
}
