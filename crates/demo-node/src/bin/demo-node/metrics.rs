//! The node's Prometheus metrics, rendered in the text exposition format by
//! prometheus-client (chosen over hand-written text: it gets escaping, types
//! and the `_total` suffix of counters right).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) height: Gauge,
    pub(crate) finalized_height: Gauge,
    pub(crate) mempool_size: Gauge,
    pub(crate) peers: Gauge,
    pub(crate) term: Gauge,
    pub(crate) txs_included: Counter,
    pub(crate) leader_changes: Counter,
    pub(crate) blobs_stored: Counter,
    /// Per peer (`peer="<id>"`), bounded by the member list.
    pub(crate) udp_sent: PeerCounters,
    pub(crate) udp_received: PeerCounters,
    pub(crate) udp_received_bytes: PeerCounters,
    pub(crate) udp_round_trip: PeerGauges,
    pub(crate) udp_send_errors: Counter,
    pub(crate) udp_ignored: Counter,
    pub(crate) known_peers: Gauge,
    pub(crate) membership_refused: Counter,
}

/// Counters labelled by peer id.
pub(crate) type PeerCounters = Family<Vec<(String, String)>, Counter>;

/// Gauges of seconds labelled by peer id.
pub(crate) type PeerGauges = Family<Vec<(String, String)>, Gauge<f64, AtomicU64>>;

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("demo_node");
        let metrics = Self {
            height: Gauge::default(),
            finalized_height: Gauge::default(),
            mempool_size: Gauge::default(),
            peers: Gauge::default(),
            term: Gauge::default(),
            txs_included: Counter::default(),
            leader_changes: Counter::default(),
            blobs_stored: Counter::default(),
            udp_sent: PeerCounters::default(),
            udp_received: PeerCounters::default(),
            udp_received_bytes: PeerCounters::default(),
            udp_round_trip: PeerGauges::default(),
            udp_send_errors: Counter::default(),
            udp_ignored: Counter::default(),
            known_peers: Gauge::default(),
            membership_refused: Counter::default(),
            registry: Registry::default(),
        };
        registry.register("height", "Height of the node's tip", metrics.height.clone());
        registry.register(
            "finalized_height",
            "Height of the node's last finalized block",
            metrics.finalized_height.clone(),
        );
        registry.register(
            "mempool_size",
            "Pending transactions and certificates",
            metrics.mempool_size.clone(),
        );
        registry.register("peers", "Peers heard from recently", metrics.peers.clone());
        registry.register("term", "Current consensus term", metrics.term.clone());
        registry.register(
            "txs_included",
            "Transactions in blocks this node committed",
            metrics.txs_included.clone(),
        );
        registry.register(
            "leader_changes",
            "Times the leader this node follows changed",
            metrics.leader_changes.clone(),
        );
        registry.register(
            "blobs_stored",
            "Blobs this node stored",
            metrics.blobs_stored.clone(),
        );
        registry.register(
            "udp_sent",
            "UDP heartbeats sent, by peer",
            metrics.udp_sent.clone(),
        );
        registry.register(
            "udp_received",
            "UDP heartbeats received, by the peer named in them",
            metrics.udp_received.clone(),
        );
        registry.register(
            "udp_received_bytes",
            "Bytes of UDP heartbeats received, by the peer named in them",
            metrics.udp_received_bytes.clone(),
        );
        registry.register(
            "udp_round_trip_seconds",
            "Round trip of the last UDP heartbeat answered, by peer",
            metrics.udp_round_trip.clone(),
        );
        registry.register(
            "udp_send_errors",
            "UDP heartbeats that could not be sent",
            metrics.udp_send_errors.clone(),
        );
        registry.register(
            "udp_ignored",
            "UDP datagrams received that are no heartbeat of a peer",
            metrics.udp_ignored.clone(),
        );
        registry.register(
            "known_peers",
            "Peers whose address this node knows (configured or learned)",
            metrics.known_peers.clone(),
        );
        registry.register(
            "membership_refused",
            "Peer requests refused because the sender's member list differs",
            metrics.membership_refused.clone(),
        );
        Self {
            registry,
            ..metrics
        }
    }

    pub(crate) fn render(&self) -> String {
        let mut text = String::new();
        if let Err(error) = encode(&mut text, &self.registry) {
            tracing::error!(%error, "could not render metrics");
        }
        text
    }
}

/// A count as a gauge value.
pub(crate) fn gauge_value(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}
