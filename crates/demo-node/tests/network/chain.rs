//! A healthy network: blocks finalize and agree, transactions sent to a
//! follower are included, blobs are certified and sampled with proofs.

use scenario_core::{BlobId, NodeClient, TxId};

use crate::support::Network;

const FIVE: [&str; 5] = [
    "validator-0",
    "validator-1",
    "validator-2",
    "validator-3",
    "executor-0",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validators_and_an_executor_finalize_the_same_blocks() {
    let net = Network::start(4, 1, &[]).await;
    net.wait_finalized(&FIVE, 5).await;
    let mut hashes = Vec::new();
    for id in FIVE {
        let block = net.client(id).block(5).await.unwrap();
        assert!(block.finalized, "{id}: block 5 is final");
        assert!(block.committed_at_ms > 0, "{id}: commit time recorded");
        hashes.push(block.hash);
    }
    assert!(hashes.windows(2).all(|w| w[0] == w[1]), "{hashes:?}");
    // Peers ping each other every 2 s: soon every other node is connected.
    net.wait_for("validator-0 to see every other node as a peer", || async {
        net.client("validator-0")
            .info()
            .await
            .is_ok_and(|info| info.peers.len() == 4)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_sent_to_a_follower_is_included() {
    let net = Network::start(4, 1, &[]).await;
    net.wait_finalized(&FIVE, 1).await;
    let mut follower = None;
    for id in FIVE {
        let info = net.client(id).info().await.unwrap();
        if info.leader.as_ref().is_some_and(|leader| leader != id) && id.starts_with("validator") {
            follower = Some(id);
        }
    }
    let follower = follower.expect("a validator that follows a leader");
    let tx = net
        .client(follower)
        .submit_tx(b"hello from a follower")
        .await
        .unwrap();
    let again = net
        .client(follower)
        .submit_tx(b"hello from a follower")
        .await
        .unwrap();
    assert_eq!(tx, again, "submission is idempotent");
    let status = || async {
        net.client("executor-0")
            .tx_status(&tx)
            .await
            .ok()
            .and_then(|s| s.height)
    };
    net.wait_for("the transaction to be included", || async {
        status().await.is_some()
    })
    .await;
    let height = status().await.unwrap();
    let block = net.client("validator-2").block(height).await.unwrap();
    assert!(
        block.txs.contains(&TxId(tx.0.clone())),
        "block {height} carries {tx}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_is_dispersed_certified_and_sampled_with_a_verifying_proof() {
    let net = Network::start(3, 2, &["--chunk-size=256"]).await;
    net.wait_finalized(&["validator-0"], 1).await;
    let data: Vec<u8> = (0..3000u32).map(|i| (i * 31 % 256) as u8).collect();
    let blob = net
        .client("validator-1")
        .disperse_blob(&data)
        .await
        .unwrap();
    let certified = || async {
        net.client("validator-0")
            .blob_status(&blob)
            .await
            .ok()
            .and_then(|s| s.certified_height.map(|h| (h, s)))
    };
    net.wait_for("the blob to be certified", || async {
        certified().await.is_some()
    })
    .await;
    let (height, status) = certified().await.unwrap();
    assert_eq!(status.chunk_count, 12);
    assert_eq!(
        status.holders.len(),
        2,
        "replication 2: {:?}",
        status.holders
    );
    let block = net.client("validator-2").block(height).await.unwrap();
    assert!(block.blobs.contains(&BlobId(blob.0.clone())));
    for holder in &status.holders {
        for index in [0, 5, 11] {
            let sample = net.client(holder).sample_blob(&blob, index).await.unwrap();
            assert!(
                node_http::verify_sample(&sample),
                "{holder} chunk {index} verifies"
            );
            let start = index as usize * 256;
            assert_eq!(sample.chunk, data[start..(start + 256).min(data.len())]);
            let mut forged = sample.clone();
            forged.chunk[0] ^= 1;
            assert!(
                !node_http::verify_sample(&forged),
                "a changed chunk does not verify"
            );
        }
    }
}
