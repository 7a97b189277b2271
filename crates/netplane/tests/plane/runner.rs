//! The runner's way in: a front on 127.0.0.1 reaches a node's TCP server
//! (which sees the runner's one address), faults never touch the runner,
//! and a process spawned in a node's namespace runs inside it.

use std::io::{Read, Write};
use std::net::IpAddr;

use netplane::Fault;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{id, switch_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runner_front_reaches_a_nodes_tcp_server() {
    let Some((switch, nodes)) = switch_with(&["a"]).await else {
        return;
    };
    let a = &nodes[0];
    let listener = a.tcp_listener(8080).unwrap();
    let server = tokio::spawn(async move {
        let mut peers = Vec::new();
        for _ in 0..3 {
            let (mut socket, peer) = listener.accept().await.unwrap();
            let mut request = [0u8; 4];
            socket.read_exact(&mut request).await.unwrap();
            socket.write_all(b"pong").await.unwrap();
            peers.push(peer.ip());
        }
        peers
    });
    let front = switch.front(&id("a"), 8080).await.unwrap();
    assert!(front.ip().is_loopback());
    assert_eq!(
        switch.front(&id("a"), 8080).await.unwrap(),
        front,
        "one front per port"
    );
    // Isolating the node does not cut the runner off.
    switch.apply(Fault::Isolate { node: id("a") }).unwrap();
    for _ in 0..2 {
        // A plain blocking client in the root namespace, as an HTTP client would be.
        let reply = tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(front).unwrap();
            stream.write_all(b"ping").unwrap();
            let mut reply = [0u8; 4];
            stream.read_exact(&mut reply).unwrap();
            reply
        })
        .await
        .unwrap();
        assert_eq!(&reply, b"pong");
    }
    // The runner's own sockets reach the node the same way.
    let mut direct = switch.connect(&id("a"), 8080).await.unwrap();
    direct.write_all(b"ping").await.unwrap();
    let mut reply = [0u8; 4];
    direct.read_exact(&mut reply).await.unwrap();
    let runner = IpAddr::from(switch.runner().unwrap().address());
    assert_eq!(server.await.unwrap(), vec![runner; 3]);
    switch.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_spawned_in_a_node_namespace_runs_inside_it() {
    let Some((switch, nodes)) = switch_with(&["a"]).await else {
        return;
    };
    let a = &nodes[0];
    let mut command = tokio::process::Command::new("sleep");
    command.arg("30").kill_on_drop(true);
    let mut child = a.spawn(&mut command).unwrap();
    let pid = child.id().unwrap();
    let namespace = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    assert_eq!(
        namespace.to_string_lossy(),
        format!("net:[{}]", a.inode()),
        "the child lives in the node's namespace"
    );
    let own = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
    assert_ne!(
        own, namespace,
        "the caller's thread never changed namespace"
    );
    child.kill().await.unwrap();
    switch.shutdown().await;
}
