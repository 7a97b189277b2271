//! `cargo xtask bench run`: what running a scenario costs, on local
//! demo-node networks.
//!
//! * block-feed latency (node committed → subscriber saw), p50 and p99,
//!   against the floor of one direct block subscription to a node;
//! * the runner's CPU while driving 1,000 tx/s with `TxLoad`, against a bare
//!   open-loop submitter in the same kind of run;
//! * the runner's resident memory with 64 nodes, against its memory before
//!   deploying.

#![allow(clippy::print_stdout)] // A benchmark reports on stdout.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use demo_node::DemoNode;
use futures::StreamExt;
use testbed::FeedEvent;
use testbed::blockfeed::Feed;
use testbed::ledger::{Ledger, unix_ms};
use testbed::local::LocalDeployer;
use testbed::prelude::*;
use testbed::workloads::TxLoad;

type Samples = Arc<Mutex<Vec<u64>>>;

fn quantile(samples: &[u64], q: f64) -> u64 {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or(0)
}

/// Records latency of blocks seen through the feed and through one direct
/// subscription to validator-0.
struct FeedProbe {
    via_feed: Samples,
    direct: Samples,
}

#[async_trait]
impl Workload for FeedProbe {
    fn name(&self) -> &str {
        "feed-probe"
    }
    async fn run(&self, ctx: &RunContext, cancel: CancellationToken) -> Result<(), BoxError> {
        let mut feed = ctx.block_feed().ok_or("no feed")?.subscribe();
        let node = ctx
            .client(&NodeId::new("validator-0"))
            .ok_or("no validator-0")?;
        let from = node.info().await?.finalized_height + 1;
        let mut direct = node.block_stream(from).await?;
        let (via_feed, direct_samples) = (Arc::clone(&self.via_feed), Arc::clone(&self.direct));
        let direct_task = tokio::spawn(async move {
            while let Some(Ok(block)) = direct.next().await {
                if block.committed_at_ms > 0 {
                    direct_samples
                        .lock()
                        .unwrap()
                        .push(unix_ms().saturating_sub(block.committed_at_ms));
                }
            }
        });
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                event = feed.next() => match event {
                    Some(FeedEvent::Block(observed)) if observed.node == "validator-0" && observed.block.committed_at_ms > 0 => {
                        via_feed.lock().unwrap().push(unix_ms().saturating_sub(observed.block.committed_at_ms));
                    }
                    Some(_) => {}
                    None => break,
                }
            }
        }
        direct_task.abort();
        Ok(())
    }
}

fn cpu_seconds() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    let usage = getrusage(UsageWho::RUSAGE_SELF).unwrap();
    let (user, system) = (usage.user_time(), usage.system_time());
    user.tv_sec() as f64
        + user.tv_usec() as f64 / 1e6
        + system.tv_sec() as f64
        + system.tv_usec() as f64 / 1e6
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches(" kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Measures the runner's CPU share over the window.
struct CpuProbe(Arc<Mutex<f64>>);

#[async_trait]
impl Workload for CpuProbe {
    fn name(&self) -> &str {
        "cpu-probe"
    }
    async fn run(&self, _ctx: &RunContext, cancel: CancellationToken) -> Result<(), BoxError> {
        // Skip the first second (connections warming up).
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (cpu, wall) = (cpu_seconds(), std::time::Instant::now());
        cancel.cancelled().await;
        *self.0.lock().unwrap() = (cpu_seconds() - cpu) / wall.elapsed().as_secs_f64();
        Ok(())
    }
}

/// Submits `rate` tx/s with no framework around it: a plain loop on the client.
struct BareLoad(f64);

#[async_trait]
impl Workload for BareLoad {
    fn name(&self) -> &str {
        "bare-load"
    }
    async fn run(&self, ctx: &RunContext, cancel: CancellationToken) -> Result<(), BoxError> {
        let clients: Vec<_> = ctx.clients().into_values().collect();
        let period = Duration::from_secs_f64(1.0 / self.0);
        let start = tokio::time::Instant::now();
        for n in 0u64.. {
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep_until(start + period.mul_f64(n as f64)) => {}
            }
            let client = Arc::clone(&clients[usize::try_from(n).unwrap_or(0) % clients.len()]);
            tokio::spawn(async move {
                let _ = client.submit_tx(&n.to_be_bytes()).await;
            });
        }
        Ok(())
    }
}

fn plan(
    name: &str,
    validators: usize,
    window: Duration,
    root: &std::path::Path,
) -> testbed::ScenarioBuilder {
    Scenario::builder(name)
        .topology(Topology::new().validators(validators))
        .node_kind(
            DemoNode::locate()
                .unwrap()
                .block_time(Duration::from_millis(100)),
        )
        .window(window)
        .artifacts_root(root)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let root = tempfile_dir();
    let deployer = LocalDeployer::new();

    let (via_feed, direct): (Samples, Samples) = Default::default();
    plan("bench-feed", 4, Duration::from_secs(10), &root)
        .block_feed(Feed::new())
        .workload(FeedProbe {
            via_feed: Arc::clone(&via_feed),
            direct: Arc::clone(&direct),
        })
        .build()?
        .run(&deployer)
        .await?
        .ensure_passed()?;
    let (feed, floor) = (
        via_feed.lock().unwrap().clone(),
        direct.lock().unwrap().clone(),
    );
    println!(
        "block feed latency, committed on validator-0 → seen ({} blocks)",
        feed.len()
    );
    for (label, q) in [("p50", 0.5), ("p99", 0.99)] {
        let (f, d) = (quantile(&feed, q), quantile(&floor, q));
        println!(
            "  {label}: feed {f:>4} ms   direct subscription {d:>4} ms   ratio {:.2}x",
            f as f64 / (d.max(1)) as f64
        );
    }

    let mut shares = Vec::new();
    for bare in [false, true] {
        let cpu = Arc::new(Mutex::new(0.0));
        let ledger = Ledger::new();
        let mut scenario = plan("bench-cpu", 4, Duration::from_secs(11), &root)
            .workload(CpuProbe(Arc::clone(&cpu)));
        scenario = if bare {
            scenario.workload(BareLoad(1000.0))
        } else {
            scenario.workload(TxLoad::new(1000.0, &ledger).senders(64))
        };
        let report = scenario.build()?.run(&deployer).await?;
        if !report.passed {
            println!("  (run failed: {:?})", report.failures);
        }
        shares.push(*cpu.lock().unwrap());
    }
    println!(
        "runner CPU while driving 1000 tx/s to 4 validators (share of one core, link proxies included)"
    );
    println!(
        "  TxLoad {:>5.1} %   bare client loop {:>5.1} %   ratio {:.2}x",
        shares[0] * 100.0,
        shares[1] * 100.0,
        shares[0] / shares[1].max(1e-9)
    );

    let before = rss_mib();
    let rss = Arc::new(Mutex::new(0.0));
    struct RssProbe(Arc<Mutex<f64>>);
    #[async_trait]
    impl Workload for RssProbe {
        fn name(&self) -> &str {
            "rss-probe"
        }
        async fn run(&self, _ctx: &RunContext, cancel: CancellationToken) -> Result<(), BoxError> {
            cancel.cancelled().await;
            *self.0.lock().unwrap() = rss_mib();
            Ok(())
        }
    }
    let report = Scenario::builder("bench-rss")
        .topology(Topology::new().validators(64))
        .node_kind(DemoNode::locate().unwrap())
        .window(Duration::from_secs(5))
        .artifacts_root(&root)
        .block_feed(Feed::new())
        .workload(RssProbe(Arc::clone(&rss)))
        .build()?
        .run(&deployer)
        .await?;
    println!("runner memory with 64 nodes (4032 link proxies, block feed)");
    println!(
        "  resident {:>6.1} MiB   before deploying {:>6.1} MiB   run {}",
        *rss.lock().unwrap(),
        before,
        if report.passed { "passed" } else { "failed" }
    );
    let _ = std::fs::remove_dir_all(&root);
    Ok(())
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("testbed-bench-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
