//! Bad input gets a clear answer and loses nothing: malformed transactions,
//! oversized blobs, unknown heights, a full mempool, bad flags and config.

use std::process::Command;

use scenario_core::{ClientError, NodeClient};

use crate::support::{Network, raw};

fn api(net: &Network, id: &str) -> String {
    format!("http://{}", net.views[id].listen["api"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_requests_are_refused_with_reasons() {
    let net = Network::start(1, 1, &["--max-blob-bytes=1000", "--max-tx-bytes=100"]).await;
    let base = api(&net, "validator-0");
    let txs = format!("{base}/testing/v1/txs");

    let not_json = raw("POST", &txs, "application/json", b"{not json".to_vec()).await;
    assert_eq!(not_json.status, 400);
    assert!(
        not_json.body.contains("\"code\":\"bad_request\""),
        "{}",
        not_json.body
    );
    assert!(not_json.body.contains("payload"), "{}", not_json.body);

    let not_hex = raw(
        "POST",
        &txs,
        "application/json",
        br#"{"payload": "zz"}"#.to_vec(),
    )
    .await;
    assert_eq!(not_hex.status, 400);
    assert!(not_hex.body.contains("not valid hex"), "{}", not_hex.body);

    let big_tx = format!(r#"{{"payload": "{}"}}"#, "ab".repeat(101));
    let too_big = raw("POST", &txs, "application/json", big_tx.into_bytes()).await;
    assert_eq!(too_big.status, 413, "{}", too_big.body);

    let blob = raw(
        "POST",
        &format!("{base}/testing/v1/blobs"),
        "application/octet-stream",
        vec![7; 1001],
    )
    .await;
    assert_eq!(blob.status, 413);
    assert!(blob.body.contains("limit of 1000 bytes"), "{}", blob.body);

    match net.client("validator-0").block(999_999).await {
        Err(ClientError::NotFound { what, .. }) => {
            assert!(
                what.starts_with("block at height 999999 (the tip is at "),
                "{what}"
            );
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    let bad_height = raw(
        "GET",
        &format!("{base}/testing/v1/blocks/tip"),
        "text/plain",
        Vec::new(),
    )
    .await;
    assert_eq!(bad_height.status, 400);

    // Nothing was lost: the node still serves and accepts a good transaction.
    net.client("validator-0").submit_tx(b"fine").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_mempool_answers_503_with_retry_after() {
    // Two validators with one running: no quorum, so nothing leaves the mempool.
    let mut net = Network::start(2, 0, &["--mempool-limit=2"]).await;
    net.stop("validator-1", nix::sys::signal::Signal::SIGKILL)
        .await;
    let client = net.client("validator-0");
    client.submit_tx(b"one").await.unwrap();
    client.submit_tx(b"two").await.unwrap();
    client
        .submit_tx(b"one")
        .await
        .expect("a known transaction is accepted again");
    let url = format!("{}/testing/v1/txs", api(&net, "validator-0"));
    let full = raw(
        "POST",
        &url,
        "application/json",
        br#"{"payload": "0303"}"#.to_vec(),
    )
    .await;
    assert_eq!(full.status, 503);
    assert_eq!(full.retry_after.as_deref(), Some("1"));
    assert!(full.body.contains("mempool_full"), "{}", full.body);
    match client.submit_tx(b"three").await {
        Err(ClientError::Overloaded { retry_after, .. }) => {
            assert_eq!(retry_after, Some(std::time::Duration::from_secs(1)));
        }
        other => panic!("expected Overloaded, got {other:?}"),
    }
}

fn demo_node(args: &[&str]) -> std::process::Output {
    let program = demo_node::DemoNode::locate()
        .unwrap()
        .program()
        .to_path_buf();
    Command::new(program).args(args).output().unwrap()
}

#[test]
fn a_bad_flag_or_config_exits_non_zero_naming_the_field() {
    let base = [
        "--node-id=validator-0",
        "--role=validator",
        "--api-listen=127.0.0.1:1",
        "--p2p-listen=127.0.0.1:2",
    ];
    let mut zero_block_time = base.to_vec();
    zero_block_time.extend(["--data-dir=/tmp/never-used", "--block-time-ms=0"]);
    let out = demo_node(&zero_block_time);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--block-time-ms must be between 10 and 60000 (got 0)"),
        "{stderr}"
    );

    let mut bad_switch = base.to_vec();
    bad_switch.extend(["--data-dir=/tmp/never-used", "--misbehave=explode"]);
    let out = demo_node(&bad_switch);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--misbehave \"explode\" is not a misbehaviour; the kinds are "),
        "{stderr}"
    );

    let unknown = demo_node(&["--blok-time-ms=5"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--blok-time-ms"));

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("node.json");
    std::fs::write(&config, r#"{"node_id": "validator-0", "block_tme_ms": 5}"#).unwrap();
    let bad_file = demo_node(&[&format!("--config={}", config.display())]);
    assert_eq!(bad_file.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_file.stderr).contains("unknown field `block_tme_ms`"));
}
