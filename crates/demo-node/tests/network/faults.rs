//! Faults with real effects: losing one of four validators keeps the chain
//! finalizing, losing two halts it until they return, and a crashed node
//! restarts from its data and catches up to identical hashes.

use std::time::Duration;

use nix::sys::signal::Signal;
use scenario_core::NodeClient;

use crate::support::Network;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_of_four_validators_down_keeps_finalizing_and_two_down_halts_until_they_return() {
    let mut net = Network::start(4, 1, &[]).await;
    let all = [
        "validator-0",
        "validator-1",
        "validator-2",
        "validator-3",
        "executor-0",
    ];
    net.wait_finalized(&all, 3).await;

    net.stop("validator-3", Signal::SIGTERM).await;
    let rest = ["validator-0", "validator-1", "validator-2", "executor-0"];
    let before = net.finalized("validator-0").await;
    net.wait_finalized(&rest, before + 5).await;

    net.stop("validator-2", Signal::SIGTERM).await;
    let survivors = ["validator-0", "validator-1", "executor-0"];
    // Let a commit already under way land, then watch for new ones.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut halted = Vec::new();
    for id in survivors {
        halted.push(net.finalized(id).await);
    }
    // An observation window, not a readiness wait: with 2 of 4 validators
    // gone nothing may be finalized during twenty block times.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (id, before) in survivors.iter().zip(&halted) {
        assert_eq!(
            net.finalized(id).await,
            *before,
            "{id} finalized without a quorum"
        );
    }

    net.spawn("validator-2");
    net.spawn("validator-3");
    net.wait_ready("validator-2").await;
    net.wait_ready("validator-3").await;
    let top = *halted.iter().max().unwrap();
    net.wait_finalized(&all, top + 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_node_restarts_from_its_data_and_catches_up_to_identical_hashes() {
    let mut net = Network::start(4, 1, &[]).await;
    let all = [
        "validator-0",
        "validator-1",
        "validator-2",
        "validator-3",
        "executor-0",
    ];
    net.wait_finalized(&all, 5).await;
    let kept = net
        .client("validator-1")
        .info()
        .await
        .unwrap()
        .finalized_height;
    net.stop("validator-1", Signal::SIGKILL).await;
    let others = ["validator-0", "validator-2", "validator-3"];
    net.wait_finalized(&others, kept + 10).await;

    net.spawn("validator-1");
    net.wait_ready("validator-1").await;
    let after_restart = net.client("validator-1").info().await.unwrap();
    assert!(
        after_restart.height >= kept,
        "the chain on disk survived: {} < {kept}",
        after_restart.height
    );

    let target = net.finalized("validator-0").await;
    net.wait_finalized(&["validator-1"], target).await;
    for height in 1..=target {
        let a = net.client("validator-0").block(height).await.unwrap();
        let b = net.client("validator-1").block(height).await.unwrap();
        assert_eq!(a.hash, b.hash, "height {height}");
    }
}
