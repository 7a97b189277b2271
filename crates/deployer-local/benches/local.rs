//! `cargo xtask bench local`: what the local deployer costs.
//!
//! * deploy-to-ready for 4 and 32 demo-node processes, against the floor of
//!   spawning the same processes and polling their readiness without the
//!   framework;
//! * teardown of 32 nodes, against the floor of SIGTERM and waiting;
//! * the link proxies' added latency per message with no fault active,
//!   against a direct loopback round trip.
//!
//! Figures are medians; each is printed next to its floor as a ratio.

#![allow(clippy::print_stdout)] // A benchmark reports on stdout.

use std::process::Stdio;
use std::time::{Duration, Instant};

use demo_node::DemoNode;
use deployer_local::LocalDeployer;
use deployer_local::proxy::{Links, Proxy, Target, serve};
use node_http::{ClientConfig, NodeHttpClient};
use scenario_core::report::Phase;
use scenario_core::{HostPort, NodeId, Scenario, Topology};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

const REPEATS: usize = 3;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// `count` distinct free ports: all bound at once, then released together.
fn free_ports(count: usize) -> Vec<u16> {
    let held: Vec<_> = (0..count)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// Deploy and tear down `nodes` validators through the framework; returns
/// (deploy-to-ready, teardown) from the run's report.
async fn framework(nodes: usize, root: &std::path::Path) -> (Duration, Duration) {
    let plan = Scenario::builder("bench")
        .topology(Topology::new().validators(nodes))
        .node_kind(DemoNode::locate().unwrap())
        .window(Duration::from_millis(1))
        .artifacts_root(root)
        .build()
        .unwrap();
    let report = plan.run(&LocalDeployer::new()).await.unwrap();
    assert!(report.passed, "{report}");
    let phase = |p| Duration::from_millis(report.phase(p).unwrap().duration_ms);
    (phase(Phase::Deploy), phase(Phase::Cleanup))
}

/// The same processes without the framework: spawn all, poll /ready, then
/// SIGTERM all and wait.
async fn floor(nodes: usize, program: &std::path::Path) -> (Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let free = free_ports(nodes * 2);
    let ports: Vec<(u16, u16)> = free.chunks(2).map(|pair| (pair[0], pair[1])).collect();
    let started = Instant::now();
    let mut children = Vec::new();
    let mut clients = Vec::new();
    for (i, (api, p2p)) in ports.iter().enumerate() {
        let mut command = Command::new(program);
        command
            .arg(format!("--node-id=validator-{i}"))
            .arg("--role=validator")
            .arg(format!("--api-listen=127.0.0.1:{api}"))
            .arg(format!("--p2p-listen=127.0.0.1:{p2p}"))
            .arg(format!(
                "--data-dir={}",
                dir.path().join(i.to_string()).display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (j, (_, peer)) in ports.iter().enumerate().filter(|(j, _)| *j != i) {
            command.arg(format!("--peer=validator-{j}=validator@127.0.0.1:{peer}"));
        }
        children.push(command.spawn().unwrap());
        let mut config = ClientConfig::default();
        config.retries = 0;
        clients.push(NodeHttpClient::new(
            NodeId::new(format!("validator-{i}")),
            HostPort::new("127.0.0.1", *api),
            config,
        ));
    }
    for client in &clients {
        while !client.ready().await.unwrap_or(false) {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{} never became ready",
                client.address()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let ready = started.elapsed();
    let started = Instant::now();
    for child in &children {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id().unwrap()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    }
    for child in &mut children {
        child.wait().await.unwrap();
    }
    (ready, started.elapsed())
}

async fn echo_server() -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 256];
                while let Ok(n) = socket.read(&mut buffer).await {
                    if n == 0 || socket.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    address
}

async fn round_trips(address: std::net::SocketAddr, count: usize) -> Duration {
    let mut socket = TcpStream::connect(address).await.unwrap();
    socket.set_nodelay(true).unwrap();
    let message = [7u8; 64];
    let mut answer = [0u8; 64];
    let started = Instant::now();
    for _ in 0..count {
        socket.write_all(&message).await.unwrap();
        socket.read_exact(&mut answer).await.unwrap();
    }
    started.elapsed()
}

async fn proxy_latency() -> (Duration, Duration) {
    let target = echo_server().await;
    let links = Links::new(vec![NodeId::new("a"), NodeId::new("b")]);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxied = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    serve(
        Proxy {
            from: NodeId::new("a"),
            to: NodeId::new("b"),
            listener,
        },
        Target::new(target),
        &links,
        stop.clone(),
    );
    let count = 5000;
    let mut direct = Vec::new();
    let mut through = Vec::new();
    for _ in 0..REPEATS {
        direct.push(round_trips(target, count).await / u32::try_from(count).unwrap());
        through.push(round_trips(proxied, count).await / u32::try_from(count).unwrap());
    }
    stop.cancel();
    (median(direct), median(through))
}

#[tokio::main]
async fn main() {
    let program = DemoNode::locate()
        .expect("cargo bench builds demo-node")
        .program()
        .to_path_buf();
    let root = tempfile::tempdir().unwrap();
    println!("local deployer (median of {REPEATS} runs)");
    for nodes in [4usize, 32] {
        let mut deploys = Vec::new();
        let mut teardowns = Vec::new();
        let mut floor_deploys = Vec::new();
        let mut floor_teardowns = Vec::new();
        for _ in 0..REPEATS {
            let (deploy, teardown) = framework(nodes, root.path()).await;
            deploys.push(deploy);
            teardowns.push(teardown);
            let (ready, down) = floor(nodes, &program).await;
            floor_deploys.push(ready);
            floor_teardowns.push(down);
        }
        let (deploy, floor_deploy) = (median(deploys), median(floor_deploys));
        let (teardown, floor_teardown) = (median(teardowns), median(floor_teardowns));
        println!(
            "  {nodes:>2} nodes  deploy-to-ready {:>8.1} ms  floor {:>8.1} ms  ratio {:>5.2}x",
            ms(deploy),
            ms(floor_deploy),
            deploy.as_secs_f64() / floor_deploy.as_secs_f64()
        );
        println!(
            "  {nodes:>2} nodes  teardown        {:>8.1} ms  floor {:>8.1} ms  ratio {:>5.2}x",
            ms(teardown),
            ms(floor_teardown),
            teardown.as_secs_f64() / floor_teardown.as_secs_f64()
        );
    }
    let (direct, proxied) = proxy_latency().await;
    println!(
        "  link proxy, no fault: round trip {:>6.1} µs  direct {:>6.1} µs  added {:>6.1} µs per message ({:.2}x)",
        proxied.as_secs_f64() * 1e6,
        direct.as_secs_f64() * 1e6,
        (proxied.as_secs_f64() - direct.as_secs_f64()) * 1e6,
        proxied.as_secs_f64() / direct.as_secs_f64()
    );
}
