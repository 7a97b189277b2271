//! Clean links: TCP and UDP pass between nodes by their one address each,
//! and every peer sees a node at that same address.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{switch_with, tcp_echo, udp_echo, udp_round_trip};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_and_udp_pass_between_nodes_by_their_single_addresses() {
    let Some((switch, nodes)) = switch_with(&["a", "b", "c"]).await else {
        return;
    };
    let [a, b, c] = &nodes[..] else {
        unreachable!()
    };
    assert_ne!(a.address(), b.address());
    assert!(a.address().octets()[..2] == [198, 18] || a.address().octets()[..2] == [198, 19]);

    // TCP: b serves, a and c connect to b's address; b sees each at its own.
    let listener = b.tcp_listener(7000).unwrap();
    for client in [a, c] {
        let target = std::net::SocketAddr::new(b.address().into(), 7000);
        let mut stream = client.connect(target).await.unwrap();
        let (mut served, peer) = listener.accept().await.unwrap();
        assert_eq!(peer.ip(), std::net::IpAddr::from(client.address()));
        stream.write_all(b"hello").await.unwrap();
        let mut got = [0u8; 5];
        served.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"hello");
    }

    // UDP: a datagram from a arrives at b from a's address, and back.
    let to_b = udp_echo(b);
    let socket = a.udp_socket(0).unwrap();
    let rtt = udp_round_trip(&socket, to_b, Duration::from_secs(5)).await;
    assert!(rtt.is_some(), "the UDP echo through the switch answered");
    let server = b.udp_socket(7001).unwrap();
    socket
        .send_to(b"x", std::net::SocketAddr::new(b.address().into(), 7001))
        .await
        .unwrap();
    let mut buffer = [0u8; 8];
    let (_, from) = server.recv_from(&mut buffer).await.unwrap();
    assert_eq!(from.ip(), std::net::IpAddr::from(a.address()));

    // TCP echo both ways works as well.
    let echo = tcp_echo(c);
    let mut stream = a.connect(echo).await.unwrap();
    stream.write_all(&[7u8; 100_000]).await.unwrap();
    let mut back = vec![0u8; 100_000];
    stream.read_exact(&mut back).await.unwrap();
    assert!(back.iter().all(|byte| *byte == 7));

    // Only IPv4 crosses the switch: tb0 carries no IPv6 chatter.
    let ipv6 = a
        .run(|| std::fs::read_to_string("/proc/sys/net/ipv6/conf/tb0/disable_ipv6"))
        .unwrap();
    if let Ok(disabled) = ipv6 {
        assert_eq!(disabled.trim(), "1");
    }

    let counters = switch.counters();
    assert!(counters.forwarded_packets > 0, "{counters:?}");
    assert_eq!(counters.dropped_by_faults, 0);
    switch.shutdown().await;
}

/// A namespace that exists before the switch knows it (as a container's
/// does): made here by a `sleep` started in a fresh namespace of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adopted_namespace_gets_one_address_and_carries_traffic_both_ways() {
    let Some((switch, nodes)) = switch_with(&["a"]).await else {
        return;
    };
    let a = &nodes[0];
    // The "sandbox": a process alone in a new network namespace (only lo).
    let holder = std::thread::spawn(|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare");
        std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep starts")
    })
    .join()
    .unwrap();
    let netns = std::fs::File::open(format!("/proc/{}/ns/net", holder.id())).unwrap();
    let adopted = switch
        .adopt_node(crate::support::id("b"), netns)
        .await
        .expect("the existing namespace is adopted");
    assert_eq!(
        switch.address(&crate::support::id("b")),
        Some(adopted.address())
    );
    // The holder's own view of its namespace now has the plane's device.
    let held = std::fs::read_link(format!("/proc/{}/ns/net", holder.id())).unwrap();
    assert_eq!(held.to_string_lossy(), format!("net:[{}]", adopted.inode()));
    let mut names = adopted.interfaces().unwrap();
    names.sort();
    assert_eq!(names, ["lo", netplane::DEVICE]);

    // a reaches b at its one address, and b sees a at a's.
    let echo = tcp_echo(&adopted);
    let mut stream = a.connect(echo).await.unwrap();
    stream.write_all(b"ping").await.unwrap();
    let mut back = [0u8; 4];
    stream.read_exact(&mut back).await.unwrap();
    assert_eq!(&back, b"ping");
    let to_a = udp_echo(a);
    let socket = adopted.udp_socket(0).unwrap();
    assert!(
        udp_round_trip(&socket, to_a, Duration::from_secs(5))
            .await
            .is_some()
    );

    let mut holder = holder;
    let _ = holder.kill();
    let _ = holder.wait();
    switch.shutdown().await;
}
