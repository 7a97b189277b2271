//! The always-on UDP channel: a socket on the p2p address (same IP and port
//! as the TCP listener), a heartbeat datagram to every peer whose address is
//! known every `--udp-interval-ms`, and per-peer counts of what was sent and
//! received. A datagram is `demo-node/udp/1 <sender id>`; anything else, or
//! an id that is not a peer, is ignored (and counted as such), so the
//! labelled counters stay bounded by the member list.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;

use crate::node::Node;

/// What every heartbeat starts with.
const MAGIC: &str = "demo-node/udp/1 ";
/// Longest send (a host name may need resolving) before it counts as failed.
const SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// The sender id of a heartbeat, or `None` for anything else.
fn sender(datagram: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(datagram).ok()?;
    let id = text.strip_prefix(MAGIC)?;
    (!id.is_empty() && id.len() <= 128).then_some(id)
}

/// Send and receive heartbeats on `socket` until the process ends.
pub(crate) fn start(node: &Arc<Node>, socket: UdpSocket) {
    let socket = Arc::new(socket);
    let (sending, receiving) = (Arc::clone(node), Arc::clone(node));
    let outgoing = Arc::clone(&socket);
    tokio::spawn(async move {
        let datagram = format!("{MAGIC}{}", sending.config.node_id);
        let mut beats = tokio::time::interval(sending.config.udp_interval);
        beats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            beats.tick().await;
            for (peer, address) in sending.net.known() {
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
        let mut buffer = [0u8; 512];
        loop {
            let Ok((length, _)) = socket.recv_from(&mut buffer).await else {
                // E.g. an ICMP error reported for an earlier send: go on,
                // without spinning should the socket keep failing.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let metrics = &receiving.metrics;
            match sender(&buffer[..length]) {
                Some(peer) if receiving.net.is_peer(peer) => {
                    metrics.udp_received.get_or_create(&label(peer)).inc();
                }
                _ => {
                    metrics.udp_ignored.inc();
                }
            }
        }
    });
}

fn label(peer: &str) -> Vec<(String, String)> {
    vec![("peer".to_owned(), peer.to_owned())]
}

#[cfg(test)]
mod tests {
    use super::sender;

    #[test]
    fn only_a_heartbeat_with_an_id_names_a_sender() {
        assert_eq!(sender(b"demo-node/udp/1 validator-2"), Some("validator-2"));
        assert_eq!(sender(b"demo-node/udp/1 "), None);
        assert_eq!(sender(b"hello"), None);
        assert_eq!(sender(&[0xff, 0xfe, 0x00]), None);
    }
}
