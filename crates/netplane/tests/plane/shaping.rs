//! Shapes measured on real traffic, with generous margins (the figures are
//! printed; benchmarks own timing claims): latency raises the UDP round
//! trip, loss drops about the share asked, a bandwidth limit caps TCP
//! throughput, and a clean link costs little.

use std::time::{Duration, Instant};

use netplane::{Fault, Peer};
use scenario_core::LinkShape;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::faults::udp_at_node;
use crate::support::{eventually, id, median, switch_with, udp_echo, udp_round_trip};

fn shape(from: &str, to: &str, shape: LinkShape) -> Fault {
    Fault::Shape {
        from: Peer::Node(id(from)),
        to: Peer::Node(id(to)),
        shape,
    }
}

async fn pings(socket: &tokio::net::UdpSocket, to: std::net::SocketAddr, count: usize) -> Duration {
    let mut samples = Vec::new();
    for _ in 0..count {
        let rtt = udp_round_trip(socket, to, Duration::from_secs(3)).await;
        samples.push(rtt.expect("a clean or delayed link answers"));
    }
    median(samples)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_raises_the_measured_round_trip() {
    let Some((switch, nodes)) = switch_with(&["a", "b"]).await else {
        return;
    };
    let [a, b] = &nodes[..] else { unreachable!() };
    let echo = udp_echo(b);
    let socket = a.udp_socket(0).unwrap();
    let clean = pings(&socket, echo, 20).await;
    let one_way = LinkShape {
        latency: Duration::from_millis(100),
        ..LinkShape::default()
    };
    let there = switch.apply(shape("a", "b", one_way.clone())).unwrap();
    let back = switch.apply(shape("b", "a", one_way)).unwrap();
    let delayed = pings(&socket, echo, 5).await;
    let extra = delayed.saturating_sub(clean);
    eprintln!("UDP RTT a <-> b: clean {clean:?}, with 100 ms each way {delayed:?} (+{extra:?})");
    assert!(extra >= Duration::from_millis(170), "+{extra:?}");
    assert!(extra <= Duration::from_millis(600), "+{extra:?}");
    for fault in [there, back] {
        let counters = switch.fault_counters(fault).unwrap();
        assert_eq!(counters.delayed_packets, 5, "{counters:?}");
    }
    switch.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_link_costs_little_over_the_direct_path() {
    let Some((switch, nodes)) = switch_with(&["a", "b"]).await else {
        return;
    };
    let [a, b] = &nodes[..] else { unreachable!() };
    let socket = a.udp_socket(0).unwrap();
    // The floor: an echo inside a's own namespace (loopback, no switch).
    let local = udp_echo(a);
    let direct = pings(&socket, local, 200).await;
    let through = pings(&socket, udp_echo(b), 200).await;
    eprintln!(
        "UDP RTT direct (same namespace) {direct:?}, through the switch {through:?}: \
         about {:?} per packet each way",
        through.saturating_sub(direct) / 2
    );
    assert!(through < Duration::from_millis(20), "{through:?}");
    switch.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loss_drops_about_the_share_asked() {
    let Some((switch, nodes)) = switch_with(&["a", "b"]).await else {
        return;
    };
    let [a, b] = &nodes[..] else { unreachable!() };
    let (at_a, at_b) = (udp_at_node(a), udp_at_node(b));
    let asked = 0.3;
    let fault = switch
        .apply(shape(
            "a",
            "b",
            LinkShape {
                loss: asked,
                ..LinkShape::default()
            },
        ))
        .unwrap();
    let target = at_b.local_addr().unwrap();
    let (mut sent, mut received) = (0u64, 0u64);
    let mut buffer = [0u8; 64];
    // Batches, so no socket queue overflows: each batch is judged by the
    // switch and every survivor read before the next is sent.
    for _ in 0..20 {
        for _ in 0..100 {
            at_a.send_to(b"lossy", target).await.unwrap();
        }
        sent += 100;
        eventually(
            "the switch judged the batch",
            Duration::from_secs(10),
            || switch.fault_counters(fault).unwrap().matched_packets >= sent,
        )
        .await;
        let counters = switch.fault_counters(fault).unwrap();
        let survivors = counters.matched_packets - counters.dropped_packets;
        eventually("every survivor arrived", Duration::from_secs(10), || {
            while at_b.try_recv_from(&mut buffer).is_ok() {
                received += 1;
            }
            received >= survivors
        })
        .await;
    }
    let counters = switch.fault_counters(fault).unwrap();
    let observed = 1.0 - received as f64 / sent as f64;
    eprintln!(
        "loss asked {asked}, observed {observed:.3} ({received} of {sent} arrived, switch dropped {})",
        counters.dropped_packets
    );
    assert_eq!(counters.matched_packets, sent);
    assert_eq!(received, sent - counters.dropped_packets);
    assert!((0.2..=0.4).contains(&observed), "{observed}");
    switch.shutdown().await;
}

/// Send `bytes` over TCP from `a` to a sink on `b`; how long until the sink
/// had them all.
async fn transfer(
    a: &netplane::NodeNamespace,
    b: &netplane::NodeNamespace,
    bytes: usize,
) -> Duration {
    let listener = b.tcp_listener(0).unwrap();
    let port = listener.local_addr().unwrap().port();
    let sink = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buffer = vec![0u8; 65_536];
        let mut total = 0;
        while total < bytes {
            let n = socket.read(&mut buffer).await.unwrap();
            assert!(n > 0, "the sender closed early");
            total += n;
        }
        Instant::now()
    });
    let mut stream = a
        .connect(std::net::SocketAddr::new(b.address().into(), port))
        .await
        .unwrap();
    let start = Instant::now();
    stream.write_all(&vec![1u8; bytes]).await.unwrap();
    let done = sink.await.unwrap();
    done - start
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bandwidth_limit_caps_the_measured_throughput() {
    let Some((switch, nodes)) = switch_with(&["a", "b"]).await else {
        return;
    };
    let [a, b] = &nodes[..] else { unreachable!() };
    let bytes = 2_000_000;
    let clean = transfer(a, b, bytes).await;
    let limit = 1_000_000u64;
    let fault = switch
        .apply(shape(
            "a",
            "b",
            LinkShape {
                bandwidth: Some(limit),
                ..LinkShape::default()
            },
        ))
        .unwrap();
    let limited = transfer(a, b, bytes).await;
    let rate = |took: Duration| bytes as f64 / took.as_secs_f64();
    eprintln!(
        "TCP a -> b, {bytes} bytes: clean {clean:?} ({:.1} MB/s), limited to {limit} B/s: {limited:?} ({:.3} MB/s)",
        rate(clean) / 1e6,
        rate(limited) / 1e6
    );
    let ratio = rate(limited) / limit as f64;
    assert!(
        (0.5..=1.3).contains(&ratio),
        "throughput {ratio:.2} x the limit"
    );
    let counters = switch.fault_counters(fault).unwrap();
    assert!(counters.delayed_packets > 0, "{counters:?}");
    switch.shutdown().await;
}
