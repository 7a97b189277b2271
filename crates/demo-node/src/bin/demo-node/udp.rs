//! The always-on UDP channel: a socket on the p2p address (same IP and port
//! as the TCP listener), a heartbeat to every peer whose address is known
//! every `--udp-interval-ms`, answered by the peer, and per-peer counts of
//! what was sent and received with the round trip of the last answer.
//!
//! A heartbeat is `demo-node/udp/1 <sender id> ping <stamp>[ <padding>]`,
//! its answer `demo-node/udp/1 <answering id> pong <the same stamp>`; the
//! stamp is microseconds on the sender's own clock, so only the sender
//! reads it. Anything else, or an id that is not a peer, is ignored (and
//! counted as such), so the labelled counters stay bounded by the member
//! list.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use crate::node::Node;

/// What every datagram starts with.
const MAGIC: &str = "demo-node/udp/1 ";
/// Longest send (a host name may need resolving) before it counts as failed.
const SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// A datagram of the channel.
#[derive(Debug, PartialEq, Eq)]
enum Datagram<'a> {
    /// A heartbeat from `from`, stamped by its sender.
    Ping { from: &'a str, stamp: u64 },
    /// `from`'s answer to a heartbeat of ours.
    Pong { from: &'a str, stamp: u64 },
}

/// Read a datagram, or `None` for anything that is not one.
fn parse(datagram: &[u8]) -> Option<Datagram<'_>> {
    let text = std::str::from_utf8(datagram).ok()?;
    let mut words = text.strip_prefix(MAGIC)?.split(' ');
    let from = words
        .next()
        .filter(|id| !id.is_empty() && id.len() <= 128)?;
    let kind = words.next()?;
    let stamp = words.next()?.parse().ok()?;
    match kind {
        "ping" => Some(Datagram::Ping { from, stamp }),
        "pong" => Some(Datagram::Pong { from, stamp }),
        _ => None,
    }
}

/// Send, answer and count heartbeats on `socket` until the process ends.
pub(crate) fn start(node: &Arc<Node>, socket: UdpSocket) {
    let socket = Arc::new(socket);
    let clock = Instant::now();
    let (sending, receiving) = (Arc::clone(node), Arc::clone(node));
    let outgoing = Arc::clone(&socket);
    tokio::spawn(async move {
        let me = sending.config.node_id.clone();
        let padding = " ".repeat(sending.config.udp_padding);
        let mut beats = tokio::time::interval(sending.config.udp_interval);
        beats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            beats.tick().await;
            for (peer, address) in sending.net.known() {
                let stamp = micros_since(clock);
                let datagram = format!("{MAGIC}{me} ping {stamp}{padding}");
                let sent = tokio::time::timeout(
                    SEND_TIMEOUT,
                    outgoing.send_to(datagram.as_bytes(), address.as_str()),
                )
                .await;
                let metrics = &sending.metrics;
                match sent {
                    Ok(Ok(_)) => metrics.udp_sent.get_or_create(&label(&peer)).inc(),
                    Ok(Err(_)) | Err(_) => metrics.udp_send_errors.inc(),
                };
            }
        }
    });
    tokio::spawn(async move {
        let me = receiving.config.node_id.clone();
        let mut buffer = [0u8; 2048];
        loop {
            let Ok((length, source)) = socket.recv_from(&mut buffer).await else {
                // E.g. an ICMP error reported for an earlier send: go on,
                // without spinning should the socket keep failing.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            received(&receiving, &socket, (&buffer[..length], source), &me, clock).await;
        }
    });
}

/// Count one datagram, answer it if it is a heartbeat.
async fn received(
    node: &Node,
    socket: &UdpSocket,
    (datagram, source): (&[u8], SocketAddr),
    me: &str,
    clock: Instant,
) {
    let metrics = &node.metrics;
    match parse(datagram) {
        Some(Datagram::Ping { from, stamp }) if node.net.is_peer(from) => {
            metrics.udp_received.get_or_create(&label(from)).inc();
            metrics
                .udp_received_bytes
                .get_or_create(&label(from))
                .inc_by(datagram.len() as u64);
            let answer = format!("{MAGIC}{me} pong {stamp}");
            // Back to where it came from: the peer's one address.
            let _ = socket.send_to(answer.as_bytes(), source).await;
        }
        Some(Datagram::Pong { from, stamp }) if node.net.is_peer(from) => {
            let now = micros_since(clock);
            if let Some(round_trip) = now.checked_sub(stamp) {
                #[allow(clippy::cast_precision_loss)] // Microseconds: exact far past any run.
                let seconds = round_trip as f64 / 1e6;
                metrics
                    .udp_round_trip
                    .get_or_create(&label(from))
                    .set(seconds);
            }
        }
        _ => {
            metrics.udp_ignored.inc();
        }
    }
}

fn micros_since(clock: Instant) -> u64 {
    u64::try_from(clock.elapsed().as_micros()).unwrap_or(u64::MAX)
}

fn label(peer: &str) -> Vec<(String, String)> {
    vec![("peer".to_owned(), peer.to_owned())]
}

#[cfg(test)]
mod tests {
    use super::{Datagram, parse};

    #[test]
    fn only_a_ping_or_pong_with_an_id_and_a_stamp_is_read() {
        assert_eq!(
            parse(b"demo-node/udp/1 validator-2 ping 17"),
            Some(Datagram::Ping {
                from: "validator-2",
                stamp: 17
            })
        );
        assert_eq!(
            parse(b"demo-node/udp/1 validator-2 ping 17    "),
            Some(Datagram::Ping {
                from: "validator-2",
                stamp: 17
            }),
            "padding is ignored"
        );
        assert_eq!(
            parse(b"demo-node/udp/1 executor-0 pong 5"),
            Some(Datagram::Pong {
                from: "executor-0",
                stamp: 5
            })
        );
        assert_eq!(parse(b"demo-node/udp/1 validator-2"), None);
        assert_eq!(parse(b"demo-node/udp/1  ping 1"), None);
        assert_eq!(parse(b"demo-node/udp/1 v ping x"), None);
        assert_eq!(parse(b"demo-node/udp/1 v hello 1"), None);
        assert_eq!(parse(b"hello"), None);
        assert_eq!(parse(&[0xff, 0xfe, 0x00]), None);
    }
}
