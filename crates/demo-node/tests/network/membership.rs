//! Strict membership: members configured with the same addresses confirm
//! each other and finalize; a member that reaches a peer at another address
//! (through a forwarder on another loopback alias, like the per-viewer link
//! proxies of the fallback plane) is refused and never becomes ready.

use std::net::SocketAddr;
use std::time::Duration;

use scenario_core::{HostPort, NodeClient};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{Network, kind, raw};

const THREE: [&str; 3] = ["validator-0", "validator-1", "validator-2"];

const REFUSED: &str = "demo_node_membership_refused_total";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_configured_with_the_same_addresses_become_ready_and_finalize() {
    // `start_kind` waits for every node to be ready, i.e. confirmed.
    let net = Network::start_kind(kind(&[]).strict_membership(), 3, 0).await;
    net.wait_finalized(&THREE, 3).await;
    for id in THREE {
        assert_eq!(net.metric(id, REFUSED).await, 0.0, "{id} refused nothing");
    }
}

/// Forward every connection to `listen` on to `target` (a link proxy).
async fn forward(listen: SocketAddr, target: SocketAddr) {
    let listener = TcpListener::bind(listen).await.unwrap();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_sees_a_peer_at_another_address_is_refused_and_never_ready() {
    let mut net = Network::plan(kind(&[]).strict_membership(), 3, 0);
    // validator-2 reaches validator-0 through a forwarder on another
    // loopback alias: reachable, but not the address the others use.
    let real = net.views["validator-0"].listen["p2p"].clone();
    let real: SocketAddr = real.to_string().parse().unwrap();
    let SocketAddr::V4(v4) = real else {
        panic!("the tests listen on IPv4 loopback")
    };
    let [a, b, c, _] = v4.ip().octets();
    let alias = SocketAddr::from(([a, b, c, 2], real.port()));
    forward(alias, real).await;
    let view = net.views.get_mut("validator-2").unwrap();
    for peer in &mut view.peers {
        if peer.id.as_str() == "validator-0" {
            let at = HostPort::new(alias.ip().to_string(), alias.port());
            peer.addresses.insert("p2p".to_owned(), at);
        }
    }
    net.spawn_all();

    let agreeing = ["validator-0", "validator-1"];
    for id in agreeing {
        net.wait_ready(id).await;
    }
    net.wait_finalized(&agreeing, 3).await;
    net.wait_for("every node to count refused requests", || async {
        for id in THREE {
            if net.metric(id, REFUSED).await == 0.0 {
                return false;
            }
        }
        true
    })
    .await;
    // An observation window, not a readiness wait: the disagreeing member
    // has heard from both peers many times over and must still refuse.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < deadline {
        let ready = net.client("validator-2").ready().await;
        assert!(matches!(ready, Ok(false)), "validator-2 ready: {ready:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let api = &net.views["validator-2"].listen["api"];
    let answer = raw(
        "GET",
        &format!("http://{api}{}", node_http::wire::READY),
        "application/json",
        Vec::new(),
    )
    .await;
    assert_eq!(answer.status, 503);
    assert!(
        answer
            .body
            .contains("membership not confirmed: 1 of 3 members agree"),
        "{}",
        answer.body
    );
    let info = net.client("validator-2").info().await.unwrap();
    assert_eq!(
        info.finalized_height, 0,
        "nothing refused reached consensus"
    );
}
