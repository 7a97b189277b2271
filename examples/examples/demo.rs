//! The demo: 4 validators and 1 executor of demo-node on local processes,
//! transactions and DA blobs, one restart and one minority partition, judged
//! by liveness, inclusion, DA availability, agreement and recovery. About a
//! minute. Run it with `cargo xtask demo` (which builds demo-node first).

#![allow(clippy::print_stdout)] // A program: it tells the user where the reports are.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use demo_node::DemoNode;
use testbed::blockfeed::Feed;
use testbed::expectations::{
    Agreement, DaAvailability, Liveness, LogLines, MetricAtLeast, Recovery, TxInclusion,
};
use testbed::ledger::Ledger;
use testbed::local::LocalDeployer;
use testbed::prelude::*;
use testbed::workloads::{Chaos, DaLoad, Selector, TxLoad};

/// The testbed demo scenario on local processes.
#[derive(Parser)]
struct Args {
    /// Length of the run window, in seconds.
    #[arg(long, default_value_t = 50)]
    duration: u64,
    /// How many validators.
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// How many executors.
    #[arg(long, default_value_t = 1)]
    executors: usize,
    /// The seed (default: random, printed, and in the report).
    #[arg(long)]
    seed: Option<u64>,
    /// Transactions per second.
    #[arg(long, default_value_t = 20.0)]
    tx_rate: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let window = Duration::from_secs(args.duration.max(10));
    let ledger = Ledger::new();
    let node = DemoNode::locate()?.block_time(Duration::from_millis(250));
    let chaos = Chaos::new()
        // A real outage: the validator misses blocks and must catch up.
        .restart_at(window / 4, Selector::AnyOf(Role::Validator))
        .down_for(Duration::from_secs(3))
        .partition_at(window / 2, window / 5, Selector::Minority);
    let mut plan = Scenario::builder("demo")
        .topology(
            Topology::new()
                .validators(args.validators)
                .executors(args.executors),
        )
        .node_kind(node)
        .window(window)
        .cooldown(Duration::from_secs(5))
        .block_feed(Feed::new())
        .workload(TxLoad::new(args.tx_rate, &ledger))
        .workload(DaLoad::new(1.0, 4096, &ledger))
        .workload(chaos)
        .expectation(Liveness::new(5, Duration::from_secs(10)))
        // Every accepted transaction finalized; outside fault windows the
        // median stays near one block time and the tail below a few.
        .expectation(
            TxInclusion::all(&ledger)
                .p50_below(Duration::from_millis(600))
                .p99_below(Duration::from_millis(3000)),
        )
        .expectation(DaAvailability::all(&ledger))
        .expectation(Agreement)
        .expectation(Recovery::within(Duration::from_secs(20)))
        .expectation(MetricAtLeast::new("demo_node_finalized_height", 10.0))
        .expectation(LogLines::must_not_contain("panicked"));
    if let Some(seed) = args.seed {
        plan = plan.seed(seed);
    }
    let report = plan.build()?.run(&LocalDeployer::new()).await?;
    println!("report.json: {}", report.path().display());
    println!(
        "junit.xml:   {}",
        report
            .artifacts_dir
            .join(testbed::report::JUNIT_FILE)
            .display()
    );
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
