//! What every plane test needs: the skip-or-fail gate, a switch with named
//! nodes, echo servers inside namespaces, and condition polling with a
//! deadline (never a sleep standing in for readiness).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use netplane::{NodeNamespace, Switch};
use scenario_core::NodeId;

/// Whether the plane can run here. Prints why not and skips, unless
/// `TESTBED_REQUIRE_NETNS=1`, which turns the skip into a failure.
pub(crate) fn plane_available() -> bool {
    match netplane::probe::probe() {
        Ok(()) => true,
        Err(why) if std::env::var("TESTBED_REQUIRE_NETNS").as_deref() == Ok("1") => {
            panic!("TESTBED_REQUIRE_NETNS=1 but {why}")
        }
        Err(why) => {
            eprintln!("skipped: {why}");
            false
        }
    }
}

pub(crate) fn id(name: &str) -> NodeId {
    NodeId::new(name)
}

/// A switch with one node per name, or `None` (skipped) where the plane
/// cannot run.
pub(crate) async fn switch_with(names: &[&str]) -> Option<(Switch, Vec<NodeNamespace>)> {
    if !plane_available() {
        return None;
    }
    let switch = Switch::new(7).await.expect("switch starts");
    let mut nodes = Vec::new();
    for name in names {
        nodes.push(switch.add_node(id(name)).await.expect("node joins"));
    }
    Some((switch, nodes))
}

/// A UDP socket in `ns` that echoes every datagram; returns its address
/// (the node's one address).
pub(crate) fn udp_echo(ns: &NodeNamespace) -> SocketAddr {
    let socket = ns.udp_socket(0).expect("udp socket in the namespace");
    let port = socket.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 65_536];
        while let Ok((n, from)) = socket.recv_from(&mut buffer).await {
            let _ = socket.send_to(&buffer[..n], from).await;
        }
    });
    SocketAddr::new(ns.address().into(), port)
}

/// A TCP echo server in `ns`; returns its address.
pub(crate) fn tcp_echo(ns: &NodeNamespace) -> SocketAddr {
    let listener = ns.tcp_listener(0).expect("tcp listener in the namespace");
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut read, mut write) = socket.split();
                let _ = tokio::io::copy(&mut read, &mut write).await;
            });
        }
    });
    SocketAddr::new(ns.address().into(), port)
}

/// Poll `condition` until it holds; panic naming `what` after `deadline`.
pub(crate) async fn eventually(
    what: &str,
    deadline: Duration,
    mut condition: impl FnMut() -> bool,
) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < deadline,
            "{what}: not within {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// One UDP round trip from `socket` to `to`, or `None` after `timeout`.
pub(crate) async fn udp_round_trip(
    socket: &tokio::net::UdpSocket,
    to: SocketAddr,
    timeout: Duration,
) -> Option<Duration> {
    let start = Instant::now();
    socket.send_to(b"ping", to).await.unwrap();
    let mut buffer = [0u8; 64];
    tokio::time::timeout(timeout, socket.recv_from(&mut buffer))
        .await
        .ok()
        .map(|received| {
            received.unwrap();
            start.elapsed()
        })
}

/// The median of some durations.
pub(crate) fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}
