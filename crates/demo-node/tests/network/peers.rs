//! Peers found and reached at run time: validators given only the member
//! list and one bootstrap address learn every other node and form a chain,
//! and every node's UDP heartbeats reach every peer.

use scenario_core::{NodeClient, NodeKind};

use crate::support::{Network, kind};

const FOUR: [&str; 4] = ["validator-0", "validator-1", "validator-2", "validator-3"];

/// Wait until every node's `sample(peer)` metric exceeds what it was
/// (`before`, by node and peer), for every other node as the peer.
async fn wait_growing(
    net: &Network,
    ids: &[&str],
    what: &str,
    sample: impl Fn(&str) -> String,
    before: &[(String, String, f64)],
) {
    net.wait_for(what, || async {
        for (id, peer, was) in before {
            if net.metric(id, &sample(peer)).await <= *was {
                return false;
            }
        }
        true
    })
    .await;
    assert_eq!(before.len(), ids.len() * (ids.len() - 1));
}

async fn udp_counts(net: &Network, ids: &[&str]) -> Vec<(String, String, f64)> {
    let mut counts = Vec::new();
    for id in ids {
        for peer in ids.iter().filter(|p| *p != id) {
            let value = net.metric(id, &received(peer)).await;
            counts.push((id.to_string(), peer.to_string(), value));
        }
    }
    counts
}

fn received(peer: &str) -> String {
    format!("demo_node_udp_received_total{{peer=\"{peer}\"}}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validators_given_only_a_bootstrap_learn_every_peer_and_finalize_together() {
    let net = Network::start_kind(kind(&[]).discovery(), 4, 0).await;
    for id in FOUR {
        let args = &net.kind.render(&net.views[id]).unwrap().args;
        assert!(
            args.iter().all(|a| !a.starts_with("--peer")),
            "{id} is given no peer address: {args:?}"
        );
    }
    net.wait_for("every validator to know the three others", || async {
        for id in FOUR {
            if net.metric(id, "demo_node_known_peers").await != 3.0 {
                return false;
            }
        }
        true
    })
    .await;
    net.wait_finalized(&FOUR, 5).await;
    let mut hashes = Vec::new();
    for id in FOUR {
        hashes.push(net.client(id).block(5).await.unwrap().hash);
    }
    assert!(hashes.windows(2).all(|w| w[0] == w[1]), "{hashes:?}");
    // UDP goes to the learned addresses too.
    let before = udp_counts(&net, &FOUR).await;
    wait_growing(
        &net,
        &FOUR,
        "UDP heartbeats between learned peers",
        received,
        &before,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_heartbeats_from_each_peer_keep_arriving_and_are_counted_by_sender() {
    let net = Network::start(3, 0, &["--udp-interval-ms=50"]).await;
    let ids = ["validator-0", "validator-1", "validator-2"];
    let zero: Vec<_> = udp_counts(&net, &ids)
        .await
        .into_iter()
        .map(|(id, peer, _)| (id, peer, 0.0))
        .collect();
    wait_growing(
        &net,
        &ids,
        "a first heartbeat from each peer",
        received,
        &zero,
    )
    .await;
    let before = udp_counts(&net, &ids).await;
    wait_growing(
        &net,
        &ids,
        "more heartbeats from each peer",
        received,
        &before,
    )
    .await;
    let sent = |peer: &str| format!("demo_node_udp_sent_total{{peer=\"{peer}\"}}");
    assert!(net.metric("validator-0", &sent("validator-1")).await > 0.0);
    assert_eq!(
        net.metric("validator-0", &received("validator-0")).await,
        0.0,
        "a node hears no heartbeat of its own"
    );
}
