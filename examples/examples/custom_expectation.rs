//! A custom expectation in one closure, combined with a built-in one:
//! "every node has at least two connected peers, and the chain agrees".
//! `cargo build -p demo-node && cargo run -p examples --example custom_expectation`

use std::time::Duration;

use demo_node::DemoNode;
use testbed::expectations::{Agreement, check};
use testbed::local::LocalDeployer;
use testbed::prelude::*;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let well_connected = check("well-connected", |ctx: RunContext| async move {
        for (id, client) in ctx.clients() {
            let peers = client.info().await?.peers.len();
            if peers < 2 {
                return Ok(Verdict::fail(format!(
                    "{id} has only {peers} connected peers"
                )));
            }
        }
        Ok(Verdict::pass("every node has at least two connected peers"))
    });
    let report = Scenario::builder("custom-expectation")
        .topology(Topology::new().validators(3))
        .node_kind(DemoNode::locate()?.block_time(Duration::from_millis(200)))
        .window(Duration::from_secs(5))
        .expectation(well_connected)
        .expectation(Agreement)
        .build()?
        .run(&LocalDeployer::new())
        .await?;
    report.ensure_passed()?;
    Ok(())
}
