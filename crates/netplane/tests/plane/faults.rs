//! Faults on real traffic: a partition stops TCP and UDP across it (the
//! counters show the drops) and heal resumes them; a one-way cut drops one
//! direction only; a fault on a silent link matched nothing; the core's
//! `NetworkControl` drives the same engine.

use std::sync::Arc;
use std::time::Duration;

use netplane::{Fault, NodeNamespace, Switch};
use scenario_core::{ControlError, FaultId, NetworkControl, NetworkFault};
use tokio::net::UdpSocket;

use crate::support::{eventually, id, switch_with, tcp_echo};

/// Send `count` datagrams from `from` to `to` and wait until the switch has
/// judged all of them (`fault` matched them); returns how many `to` got.
pub(crate) async fn datagrams(
    switch: &Switch,
    fault: FaultId,
    from: &UdpSocket,
    to: &UdpSocket,
    count: u64,
) -> u64 {
    let before = switch.fault_counters(fault).unwrap().matched_packets;
    let target = to.local_addr().unwrap();
    for _ in 0..count {
        from.send_to(b"datagram", target).await.unwrap();
    }
    eventually(
        "the switch judged every datagram",
        Duration::from_secs(10),
        || switch.fault_counters(fault).unwrap().matched_packets >= before + count,
    )
    .await;
    let mut received = 0;
    let mut buffer = [0u8; 64];
    while to.try_recv_from(&mut buffer).is_ok() {
        received += 1;
    }
    received
}

/// A UDP socket bound to the node's one address (so `local_addr` is where
/// peers send).
pub(crate) fn udp_at_node(ns: &NodeNamespace) -> UdpSocket {
    let ip = ns.address();
    let socket = ns
        .run(move || {
            let socket = std::net::UdpSocket::bind((ip, 0))?;
            socket.set_nonblocking(true)?;
            Ok::<_, std::io::Error>(socket)
        })
        .unwrap()
        .unwrap();
    UdpSocket::from_std(socket).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_stops_tcp_and_udp_and_heal_resumes_them() {
    let Some((switch, nodes)) = switch_with(&["a", "b", "c"]).await else {
        return;
    };
    let [a, b, c] = &nodes[..] else {
        unreachable!()
    };
    let (at_a, at_b, at_c) = (udp_at_node(a), udp_at_node(b), udp_at_node(c));
    let echo_b = tcp_echo(b);
    let fault = switch
        .apply(Fault::Partition {
            groups: vec![vec![id("a")], vec![id("b"), id("c")]],
        })
        .unwrap();

    assert_eq!(
        datagrams(&switch, fault, &at_a, &at_b, 50).await,
        0,
        "a → b cut"
    );
    assert_eq!(
        datagrams(&switch, fault, &at_b, &at_a, 50).await,
        0,
        "b → a cut"
    );
    let connect = tokio::time::timeout(Duration::from_millis(500), a.connect(echo_b)).await;
    assert!(
        connect.is_err(),
        "TCP across the partition does not connect"
    );
    // Within a side, traffic flows (and the partition does not match it).
    let matched = switch.fault_counters(fault).unwrap().matched_packets;
    at_c.send_to(b"same side", at_b.local_addr().unwrap())
        .await
        .unwrap();
    let mut buffer = [0u8; 64];
    at_b.recv_from(&mut buffer).await.unwrap();
    assert_eq!(
        switch.fault_counters(fault).unwrap().matched_packets,
        matched
    );

    let counters = switch.fault_counters(fault).unwrap();
    assert!(counters.dropped_packets >= 101, "{counters:?}"); // 100 datagrams + SYN(s)
    assert_eq!(counters.dropped_packets, counters.matched_packets);
    assert!(switch.counters().dropped_by_faults >= 101);

    switch.heal(fault);
    assert!(!switch.fault_report(fault).unwrap().active);
    let mut stream = a.connect(echo_b).await.expect("TCP connects after heal");
    tokio::io::AsyncWriteExt::write_all(&mut stream, b"back")
        .await
        .unwrap();
    at_a.send_to(b"after heal", at_b.local_addr().unwrap())
        .await
        .unwrap();
    at_b.recv_from(&mut buffer).await.unwrap();
    switch.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_way_cut_drops_only_one_direction() {
    let Some((switch, nodes)) = switch_with(&["a", "b"]).await else {
        return;
    };
    let [a, b] = &nodes[..] else { unreachable!() };
    let (at_a, at_b) = (udp_at_node(a), udp_at_node(b));
    let fault = switch
        .apply(
            Fault::from_network(&NetworkFault::Cut {
                from: id("a"),
                to: id("b"),
            })
            .unwrap(),
        )
        .unwrap();
    // b → a is not covered by the fault: send and receive directly.
    for _ in 0..20 {
        at_b.send_to(b"b to a", at_a.local_addr().unwrap())
            .await
            .unwrap();
        let mut buffer = [0u8; 64];
        at_a.recv_from(&mut buffer).await.unwrap();
    }
    assert_eq!(datagrams(&switch, fault, &at_a, &at_b, 20).await, 0);
    let counters = switch.fault_counters(fault).unwrap();
    assert_eq!(
        (counters.matched_packets, counters.dropped_packets),
        (20, 20)
    );
    switch.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_on_a_link_with_no_traffic_matched_nothing() {
    let Some((switch, nodes)) = switch_with(&["a", "b", "c"]).await else {
        return;
    };
    let [a, b, _] = &nodes[..] else {
        unreachable!()
    };
    let idle = switch
        .apply(
            Fault::from_network(&NetworkFault::Cut {
                from: id("b"),
                to: id("c"),
            })
            .unwrap(),
        )
        .unwrap();
    let busy = switch
        .apply(
            Fault::from_network(&NetworkFault::Cut {
                from: id("b"),
                to: id("a"),
            })
            .unwrap(),
        )
        .unwrap();
    let (at_a, at_b) = (udp_at_node(a), udp_at_node(b));
    assert_eq!(datagrams(&switch, busy, &at_b, &at_a, 10).await, 0);
    let untouched: Vec<FaultId> = switch.untouched_faults().iter().map(|r| r.id).collect();
    assert_eq!(untouched, vec![idle]);
    assert!(switch.fault_counters(idle).unwrap().touched_nothing());
    switch.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_core_network_control_drives_the_switch() {
    let Some((switch, nodes)) = switch_with(&["a", "b"]).await else {
        return;
    };
    let [a, b] = &nodes[..] else { unreachable!() };
    let control: Arc<dyn NetworkControl> = switch.control();
    let unknown = control
        .apply(&NetworkFault::Cut {
            from: id("a"),
            to: id("nobody"),
        })
        .await;
    assert!(matches!(unknown, Err(ControlError::UnknownNode(n)) if n.as_str() == "nobody"));
    let cut = control
        .apply(&NetworkFault::Cut {
            from: id("a"),
            to: id("b"),
        })
        .await
        .unwrap();
    let (at_a, at_b) = (udp_at_node(a), udp_at_node(b));
    assert_eq!(datagrams(&switch, cut, &at_a, &at_b, 5).await, 0);
    control.heal_all().await.unwrap();
    at_a.send_to(b"healed", at_b.local_addr().unwrap())
        .await
        .unwrap();
    let mut buffer = [0u8; 64];
    at_b.recv_from(&mut buffer).await.unwrap();
    let reports = switch.control().fault_reports();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].counters.dropped_packets, 5);

    let kept = switch.control();
    switch.shutdown().await;
    let late = kept
        .apply(&NetworkFault::Cut {
            from: id("a"),
            to: id("b"),
        })
        .await;
    assert!(
        late.is_err(),
        "a control outliving its switch refuses faults"
    );
    kept.heal_all().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolating_a_node_cuts_it_from_every_peer_including_one_that_joins_later() {
    let Some((switch, nodes)) = switch_with(&["a", "b"]).await else {
        return;
    };
    let [a, b] = &nodes[..] else { unreachable!() };
    let fault = switch.apply(Fault::Isolate { node: id("a") }).unwrap();
    let late = switch.add_node(id("late")).await.unwrap();
    let (at_a, at_b, at_late) = (udp_at_node(a), udp_at_node(b), udp_at_node(&late));
    assert_eq!(datagrams(&switch, fault, &at_a, &at_b, 10).await, 0);
    assert_eq!(datagrams(&switch, fault, &at_late, &at_a, 10).await, 0);
    // The late node reaches the others that are not isolated.
    at_late
        .send_to(b"hi", at_b.local_addr().unwrap())
        .await
        .unwrap();
    let mut buffer = [0u8; 8];
    let (_, from) = at_b.recv_from(&mut buffer).await.unwrap();
    assert_eq!(from, at_late.local_addr().unwrap());
    assert_eq!(switch.fault_counters(fault).unwrap().dropped_packets, 20);
    switch.shutdown().await;
}
