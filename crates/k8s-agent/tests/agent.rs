//! `testbed-agent` as a process: its API without privileges (`--probe-only`
//! on this machine), and its packet path inside a network namespace of the
//! plane's own making, where a partition synced to it really cuts a TCP
//! connection, counted, and its heal lets it through again. The namespace
//! tests skip with a printed reason where namespaces cannot be made,
//! unless `TESTBED_REQUIRE_NETNS=1`.

#![allow(clippy::print_stderr)] // A skipped test says why.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use netplane::agent::{ActiveFault, Member, Sync};
use netplane::{Fault, NodeNamespace, Switch};
use scenario_core::{FaultId, NodeId};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

const AGENT: &str = env!("CARGO_BIN_EXE_testbed-agent");

/// Read the agent's stdout until it says it is ready; its control address
/// and probe port.
async fn ready(child: &mut Child) -> (SocketAddr, u16) {
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await.expect("the agent's output") {
        if let Some(rest) = line.strip_prefix("testbed-agent ready: control ") {
            let (control, probe) = rest.split_once(", probe port ").expect("both ports");
            return (control.parse().unwrap(), probe.parse().unwrap());
        }
    }
    panic!("the agent ended before it was ready");
}

/// One HTTP/1.1 exchange on `stream`; the status and the JSON body.
async fn http(mut stream: TcpStream, method: &str, path: &str, body: &str) -> (u16, Value) {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: agent\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (
        status,
        serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())),
    )
}

#[tokio::test]
async fn a_probe_only_agent_answers_its_status_and_connection_probes() {
    let mut child = Command::new(AGENT)
        .args(["--probe-only", "--control-port", "0", "--probe-port", "0"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (control, probe) = ready(&mut child).await;
    let call = |method: &'static str, path: String| async move {
        http(
            TcpStream::connect(control).await.unwrap(),
            method,
            &path,
            "",
        )
        .await
    };

    let (status, body) = call("GET", "/status".to_owned()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["synced"], false, "{body}");
    let (_, open) = call("GET", format!("/connect?to=127.0.0.1:{probe}")).await;
    assert_eq!(open["connected"], true, "{open}");
    let (_, closed) = call("GET", "/connect?to=127.0.0.1:1".to_owned()).await;
    assert_eq!(closed["connected"], false, "{closed}");
    assert!(closed["error"].as_str().is_some(), "{closed}");
    let (status, refused) = call("PUT", "/sync".to_owned()).await;
    assert!(status >= 400, "a probe-only agent takes no sync: {refused}");
}

/// Whether `from` opens a TCP connection to `to` within a second.
async fn connects(from: &NodeNamespace, to: SocketAddr) -> bool {
    matches!(
        tokio::time::timeout(Duration::from_secs(1), from.connect(to)).await,
        Ok(Ok(_))
    )
}

async fn control(node: &NodeNamespace, method: &str, path: &str, body: &str) -> (u16, Value) {
    let address = SocketAddr::from(([127, 0, 0, 1], netplane::agent::CONTROL_PORT));
    http(node.connect(address).await.unwrap(), method, path, body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synced_partition_cuts_the_pods_packets_and_its_heal_restores_them() {
    if let Err(why) = netplane::probe::probe() {
        assert!(
            std::env::var("TESTBED_REQUIRE_NETNS").as_deref() != Ok("1"),
            "TESTBED_REQUIRE_NETNS=1 but {why}"
        );
        eprintln!("skipped: {why}");
        return;
    }
    let switch = Switch::new(7).await.unwrap();
    let a = switch.add_node(NodeId::new("a")).await.unwrap();
    let b = switch.add_node(NodeId::new("b")).await.unwrap();
    let listener = b.tcp_listener(7000).unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });
    let target = SocketAddr::from((b.address(), 7000));
    assert!(
        connects(&a, target).await,
        "the plane works without the agent"
    );

    let mut command = Command::new(AGENT);
    command
        .args(["--probe-port", "0", "--hold-ms", "60000"])
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    let mut agent = a.spawn(&mut command).unwrap();
    ready(&mut agent).await;
    assert!(
        !connects(&a, target).await,
        "packets wait for the first sync"
    );

    let members = vec![
        Member {
            id: NodeId::new("a"),
            address: a.address(),
        },
        Member {
            id: NodeId::new("b"),
            address: b.address(),
        },
    ];
    let sync = |faults: Vec<ActiveFault>| {
        serde_json::to_string(&Sync {
            seed: 7,
            node: NodeId::new("a"),
            members: members.clone(),
            faults,
            lease_ms: 60_000,
        })
        .unwrap()
    };
    let (status, body) = control(&a, "PUT", "/sync", &sync(Vec::new())).await;
    assert_eq!(status, 200, "{body}");
    assert!(connects(&a, target).await, "synced without faults: through");

    let partition = ActiveFault {
        id: FaultId(1),
        fault: Fault::Partition {
            groups: vec![vec![NodeId::new("a")], vec![NodeId::new("b")]],
        },
    };
    control(&a, "PUT", "/sync", &sync(vec![partition])).await;
    assert!(!connects(&a, target).await, "partitioned: cut");
    let (_, status) = control(&a, "GET", "/status", "").await;
    let counters = &status["faults"][0]["counters"];
    assert!(counters["dropped_packets"].as_u64() > Some(0), "{status}");

    control(&a, "PUT", "/sync", &sync(Vec::new())).await;
    assert!(connects(&a, target).await, "healed: through again");
    let (_, status) = control(&a, "GET", "/status", "").await;
    assert_eq!(status["faults"][0]["active"], false, "{status}");

    agent.kill().await.unwrap();
    switch.shutdown().await;
}
