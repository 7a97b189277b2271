//! A soak: the demo's network and load (4 validators, 1 executor,
//! transactions and DA blobs) under repeated chaos for a long window —
//! validator restarts with downtime every one to three minutes, a minority
//! partition of two minutes every ten, a slow and lossy link every five —
//! judged like the demo, and on the runner's own footprint
//! (`RunnerResources`: descriptors and resident memory stay bounded, CPU
//! reported and plotted in `report.html`). Run it with
//! `cargo xtask soak --duration 1h [--on local|compose]`.

#![allow(clippy::print_stdout)] // A program: it tells the user where the reports are.

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use demo_node::DemoNode;
use testbed::blockfeed::Feed;
use testbed::compose::ComposeDeployer;
use testbed::expectations::{
    Agreement, DaAvailability, Liveness, Recovery, RunnerResources, TxInclusion,
};
use testbed::ledger::Ledger;
use testbed::local::LocalDeployer;
use testbed::prelude::*;
use testbed::workloads::{Chaos, DaLoad, Selector, TxLoad};

/// Where the soak runs.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Backend {
    /// Local processes.
    Local,
    /// Docker containers (`cargo xtask image` first).
    Compose,
}

/// A long run of the demo network under repeated chaos.
#[derive(Parser)]
struct Args {
    /// Length of the run window: `90s`, `10m`, `1h`, or seconds.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    duration: Duration,
    /// The backend.
    #[arg(long, value_enum, default_value_t = Backend::Local)]
    on: Backend,
    /// The seed (default: random, printed, and in the report).
    #[arg(long)]
    seed: Option<u64>,
    /// Transactions per second.
    #[arg(long, default_value_t = 20.0)]
    tx_rate: f64,
}

/// `90s`, `10m`, `1h` or plain seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, ""), |at| text.split_at(at));
    let count: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a number with s, m or h, e.g. 1h"))?;
    let seconds = match unit {
        "" | "s" => count,
        "m" => count * 60,
        "h" => count * 3600,
        other => return Err(format!("{text:?}: unknown unit {other:?} (use s, m or h)")),
    };
    if seconds < 60 {
        return Err(format!("{text:?}: a soak lasts at least a minute"));
    }
    Ok(Duration::from_secs(seconds))
}

/// The chaos schedule for `window`: restarts with downtime throughout, and
/// at fixed offsets of each ten minutes a two-minute minority partition and
/// a slow, lossy link.
fn chaos(window: Duration) -> Chaos {
    let mut chaos = Chaos::new()
        .restarts(
            Duration::from_secs(60),
            Duration::from_secs(180),
            Selector::AnyOf(Role::Validator),
        )
        .down_for(Duration::from_secs(5));
    let mut at = Duration::from_secs(240);
    while at + Duration::from_secs(150) < window {
        chaos = chaos.partition_at(at, Duration::from_secs(120), Selector::Minority);
        at += Duration::from_secs(600);
    }
    let mut at = Duration::from_secs(90);
    while at + Duration::from_secs(60) < window {
        chaos = chaos.link_fault_at(at, Duration::from_secs(45), Duration::from_millis(80), 0.05);
        at += Duration::from_secs(300);
    }
    chaos
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    let window = args.duration;
    let ledger = Ledger::new();
    let node = DemoNode::locate()?.block_time(Duration::from_millis(250));
    let mut plan = Scenario::builder("soak")
        .topology(Topology::new().validators(4).executors(1))
        .node_kind(node)
        .window(window)
        .cooldown(Duration::from_secs(10))
        .block_feed(Feed::new())
        .workload(TxLoad::new(args.tx_rate, &ledger))
        .workload(DaLoad::new(0.5, 4096, &ledger))
        .workload(chaos(window))
        .expectation(Liveness::new(5, Duration::from_secs(20)).grace(Duration::from_secs(10)))
        .expectation(TxInclusion::all(&ledger).p50_below(Duration::from_millis(1000)))
        .expectation(DaAvailability::all(&ledger))
        .expectation(Agreement)
        .expectation(Recovery::within(Duration::from_secs(30)))
        .expectation(RunnerResources::new());
    if let Some(seed) = args.seed {
        plan = plan.seed(seed);
    }
    let plan = plan.build()?;
    let report = match args.on {
        Backend::Local => plan.run(&LocalDeployer::new()).await?,
        Backend::Compose => plan.run(&ComposeDeployer::new()).await?,
    };
    println!("report.json: {}", report.path().display());
    println!(
        "report.html: {}",
        report
            .artifacts_dir
            .join(testbed::report::HTML_FILE)
            .display()
    );
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
