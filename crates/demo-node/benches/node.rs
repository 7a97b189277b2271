//! `cargo xtask bench node`: demo-node's start-to-ready time on loopback
//! against the floor of starting the same binary at all (`--version`), and
//! finalized blocks per second at the default block time against the ideal
//! of one block per block time. Figures, not assertions.

#![allow(clippy::print_stdout)] // A benchmark reports on stdout.

use std::process::Stdio;
use std::time::{Duration, Instant};

use demo_node::DemoNode;
use node_http::{ClientConfig, NodeHttpClient};
use scenario_core::{HostPort, NodeClient, NodeId};
use tokio::process::{Child, Command};

const RUNS: usize = 10;

/// `count` distinct free ports: all bound at once, then released together.
fn free_ports(count: usize) -> Vec<u16> {
    let held: Vec<_> = (0..count)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

fn port_pair() -> (u16, u16) {
    let pair = free_ports(2);
    (pair[0], pair[1])
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

struct Launched {
    child: Child,
    client: NodeHttpClient,
}

fn launch(
    program: &std::path::Path,
    dir: &std::path::Path,
    id: &str,
    role: &str,
    ports: (u16, u16),
    peers: &[String],
) -> Launched {
    let mut command = Command::new(program);
    command
        .arg(format!("--node-id={id}"))
        .arg(format!("--role={role}"))
        .arg(format!("--api-listen=127.0.0.1:{}", ports.0))
        .arg(format!("--p2p-listen=127.0.0.1:{}", ports.1))
        .arg(format!("--data-dir={}", dir.join(id).display()))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    for peer in peers {
        command.arg(format!("--peer={peer}"));
    }
    let mut config = ClientConfig::default();
    config.retries = 0;
    config.timeout = Duration::from_millis(200);
    Launched {
        child: command.spawn().unwrap(),
        client: NodeHttpClient::new(NodeId::new(id), HostPort::new("127.0.0.1", ports.0), config),
    }
}

async fn start_to_ready(program: &std::path::Path) -> (Duration, Duration) {
    let mut floors = Vec::new();
    let mut readies = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let status = Command::new(program)
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .await
            .unwrap();
        assert!(status.success());
        floors.push(started.elapsed());

        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let mut node = launch(
            program,
            dir.path(),
            "validator-0",
            "validator",
            port_pair(),
            &[],
        );
        while !node.client.ready().await.unwrap_or(false) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        readies.push(started.elapsed());
        node.child.kill().await.unwrap();
    }
    (median(floors), median(readies))
}

async fn finalized_blocks_per_second(program: &std::path::Path, window: Duration) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let mut free = free_ports(10).into_iter();
    let mut pair = || (free.next().unwrap(), free.next().unwrap());
    let mut nodes: Vec<(String, &str, (u16, u16))> = (0..4)
        .map(|i| (format!("validator-{i}"), "validator", pair()))
        .collect();
    nodes.push(("executor-0".to_owned(), "executor", pair()));
    let mut launched = Vec::new();
    for (id, role, ports) in &nodes {
        let peers: Vec<String> = nodes
            .iter()
            .filter(|(other, ..)| other != id)
            .map(|(other, r, p)| format!("{other}={r}@127.0.0.1:{}", p.1))
            .collect();
        launched.push(launch(program, dir.path(), id, role, *ports, &peers));
    }
    let observer = &launched[4].client;
    let finalized = || async {
        observer
            .info()
            .await
            .map(|i| i.finalized_height)
            .unwrap_or(0)
    };
    while finalized().await == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (start_height, started) = (finalized().await, Instant::now());
    tokio::time::sleep(window).await;
    let blocks = finalized().await - start_height;
    blocks as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    let program = DemoNode::locate()
        .expect("cargo bench builds demo-node")
        .program()
        .to_path_buf();
    let (floor, ready) = start_to_ready(&program).await;
    println!("demo-node start to ready (median of {RUNS}, loopback)");
    println!(
        "  floor: start the binary, --version   {:>8.1} ms",
        floor.as_secs_f64() * 1000.0
    );
    println!(
        "  demo-node: spawn to /ready 200       {:>8.1} ms",
        ready.as_secs_f64() * 1000.0
    );
    println!(
        "  ratio                                {:>8.2}x",
        ready.as_secs_f64() / floor.as_secs_f64()
    );

    let block_time = Duration::from_millis(500);
    let window = Duration::from_secs(10);
    let rate = finalized_blocks_per_second(&program, window).await;
    let ideal = 1.0 / block_time.as_secs_f64();
    println!(
        "finalized blocks per second, 4 validators + 1 executor, default block time {block_time:?}, {window:?}"
    );
    println!("  ideal (one per block time)           {ideal:>8.2} /s");
    println!("  measured at executor-0               {rate:>8.2} /s");
    println!(
        "  ratio to ideal                       {:>8.2}",
        rate / ideal
    );
}
