//! Tests of `NodeHttpClient` against a scripted fake node (`FakeNodeServer`):
//! mapping of wire bodies and error answers, retries, timeouts, the NDJSON
//! block subscription, DA sample proofs and the shared concurrency limit.

mod support;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt;
use node_http::{merkle, verify_sample, wire};
use scenario_core::{BlobId, Block, ClientError, NodeClient, NodeId, NodeInfo, Role, TxId};
use serde::Deserialize;
use tokio::sync::{Semaphore, mpsc};

use support::{FakeNodeServer, Hits, NODE, block_body, error, fast_config, info_body};

#[tokio::test]
async fn info_maps_the_wire_body_onto_node_info() {
    let fake = FakeNodeServer::start(Router::new().route(
        wire::INFO,
        get(|| async { Json(info_body("sequencer", 7)) }),
    ))
    .await;

    let info = fake.client().info().await.expect("info");

    assert_eq!(
        info,
        NodeInfo {
            node_id: NodeId::new(NODE),
            role: Role::custom("sequencer"),
            height: 7,
            tip_hash: format!("{:064x}", 7),
            finalized_height: 5,
            peers: vec![NodeId::new("validator-1"), NodeId::new("executor-0")],
            leader: Some(NodeId::new("validator-1")),
        }
    );
}

#[tokio::test]
async fn a_block_maps_its_ids_timestamps_and_finality() {
    let fake = FakeNodeServer::start(Router::new().route(
        wire::BLOCK,
        get(|Path(height): Path<u64>| async move { Json(block_body(height)) }),
    ))
    .await;

    let block = fake.client().block(4).await.expect("block 4");

    assert_eq!(
        block,
        Block {
            height: 4,
            hash: format!("{:064x}", 4),
            parent: format!("{:064x}", 3),
            proposer: NodeId::new("validator-1"),
            committed_at_ms: 1_700_000_000_004,
            finalized: true,
            txs: vec![TxId(wire::content_id(&4u64.to_be_bytes()))],
            blobs: vec![BlobId(format!("{:064x}", 400))],
        }
    );
}

#[tokio::test]
async fn a_block_above_the_tip_is_not_found_and_the_error_names_the_node() {
    let fake = FakeNodeServer::start(Router::new().route(
        wire::BLOCK,
        get(|Path(height): Path<u64>| async move {
            error(
                StatusCode::NOT_FOUND,
                "not_found",
                &format!("block at height {height}"),
            )
        }),
    ))
    .await;

    let failure = fake.client().block(12).await.expect_err("no block 12");

    match &failure {
        ClientError::NotFound { node, what } => {
            assert_eq!(node, NODE);
            assert_eq!(what, "block at height 12");
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert!(failure.to_string().contains(NODE), "{failure}");
}

#[tokio::test]
async fn an_oversized_blob_is_rejected_with_the_nodes_reason() {
    let seen = Arc::new(Mutex::new(None));
    let record = seen.clone();
    let fake = FakeNodeServer::start(Router::new().route(
        wire::BLOBS,
        post(move |headers: HeaderMap, body: Bytes| async move {
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned);
            *record.lock().expect("lock") = Some((content_type, body.to_vec()));
            error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "blob of 3 bytes exceeds 2",
            )
        }),
    ))
    .await;

    let failure = fake
        .client()
        .disperse_blob(b"abc")
        .await
        .expect_err("too large");

    match failure {
        ClientError::Rejected { node, reason } => {
            assert_eq!(node, NODE);
            assert_eq!(reason, "blob of 3 bytes exceeds 2");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(
        seen,
        Some((Some("application/octet-stream".to_owned()), b"abc".to_vec()))
    );
}

#[tokio::test]
async fn a_transaction_is_posted_as_hex_and_its_id_returned() {
    let payloads = Arc::new(Mutex::new(Vec::new()));
    let record = payloads.clone();
    let fake = FakeNodeServer::start(Router::new().route(
        wire::TXS,
        post(move |Json(body): Json<wire::SubmitTxBody>| async move {
            let bytes = hex::decode(&body.payload).expect("hex payload");
            record.lock().expect("lock").push(body.payload);
            let accepted = wire::TxAccepted {
                tx_id: wire::content_id(&bytes),
            };
            (StatusCode::ACCEPTED, Json(accepted))
        }),
    ))
    .await;

    let id = fake.client().submit_tx(b"hello").await.expect("accepted");

    assert_eq!(id, TxId(wire::content_id(b"hello")));
    assert_eq!(*payloads.lock().expect("lock"), [hex::encode(b"hello")]);
}

#[tokio::test]
async fn a_blob_is_posted_raw_and_its_id_returned() {
    let fake = FakeNodeServer::start(Router::new().route(
        wire::BLOBS,
        post(|body: Bytes| async move {
            let chunks = merkle::chunks(&body, 4);
            let accepted = wire::BlobAccepted {
                blob_id: hex::encode(merkle::Tree::new(&chunks).root()),
                size: body.len() as u64,
                chunk_count: chunks.len() as u32,
            };
            (StatusCode::ACCEPTED, Json(accepted))
        }),
    ))
    .await;

    let id = fake
        .client()
        .disperse_blob(b"0123456789")
        .await
        .expect("accepted");

    let chunks = merkle::chunks(b"0123456789", 4);
    assert_eq!(id, BlobId(hex::encode(merkle::Tree::new(&chunks).root())));
}

#[tokio::test]
async fn a_full_mempool_with_retry_after_is_overloaded_and_not_retried() {
    let hits = Hits::default();
    let counter = hits.clone();
    let fake = FakeNodeServer::start(Router::new().route(
        wire::TXS,
        post(move || async move {
            counter.hit();
            let mut answer = error(
                StatusCode::SERVICE_UNAVAILABLE,
                "mempool_full",
                "mempool holds 10000 transactions",
            );
            answer
                .headers_mut()
                .insert(header::RETRY_AFTER, "2".parse().expect("header value"));
            answer
        }),
    ))
    .await;

    let failure = fake.client().submit_tx(b"tx").await.expect_err("full");

    match failure {
        ClientError::Overloaded { node, retry_after } => {
            assert_eq!(node, NODE);
            assert_eq!(retry_after, Some(Duration::from_secs(2)));
        }
        other => panic!("expected Overloaded, got {other:?}"),
    }
    assert_eq!(hits.count(), 1, "the node said when to come back");
}

#[tokio::test]
async fn a_get_answered_503_twice_is_retried_and_then_succeeds() {
    let hits = Hits::default();
    let counter = hits.clone();
    let fake = FakeNodeServer::start(Router::new().route(
        wire::INFO,
        get(move || async move {
            if counter.hit() < 2 {
                error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "restarting")
            } else {
                Json(info_body("validator", 3)).into_response()
            }
        }),
    ))
    .await;

    let info = fake.client().info().await.expect("third attempt succeeds");

    assert_eq!(info.height, 3);
    assert_eq!(hits.count(), 3);
}

#[tokio::test]
async fn a_get_that_keeps_failing_is_tried_once_plus_the_retries_then_unavailable() {
    let hits = Hits::default();
    let counter = hits.clone();
    let fake = FakeNodeServer::start(Router::new().route(
        wire::INFO,
        get(move || async move {
            counter.hit();
            error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "restarting")
        }),
    ))
    .await;
    let mut config = fast_config();
    config.retries = 2;

    let failure = fake.client_with(config).info().await.expect_err("down");

    assert!(
        matches!(&failure, ClientError::Unavailable { node, .. } if node == NODE),
        "{failure:?}"
    );
    assert!(failure.to_string().contains("restarting"), "{failure}");
    assert_eq!(hits.count(), 3);
}

#[tokio::test]
async fn a_node_that_does_not_answer_in_time_is_unavailable_after_its_retries() {
    let hits = Hits::default();
    let counter = hits.clone();
    let fake = FakeNodeServer::start(Router::new().route(
        wire::INFO,
        get(move || async move {
            counter.hit();
            std::future::pending::<()>().await;
        }),
    ))
    .await;
    let mut config = fast_config();
    config.timeout = Duration::from_millis(100);
    config.retries = 1;

    let failure = fake.client_with(config).info().await.expect_err("timeout");

    match &failure {
        ClientError::Unavailable { node, source } => {
            assert_eq!(node, NODE);
            assert!(source.to_string().contains("no answer within"), "{source}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(hits.count(), 2);
}

#[tokio::test]
async fn a_node_nobody_listens_for_is_unavailable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    };
    let mut config = fast_config();
    config.retries = 0;
    let client = node_http::NodeHttpClient::new(
        NodeId::new(NODE),
        scenario_core::HostPort::new("127.0.0.1", port),
        config,
    );

    let failure = client.info().await.expect_err("nobody listens");

    assert!(
        matches!(&failure, ClientError::Unavailable { node, .. } if node == NODE),
        "{failure:?}"
    );
}

#[tokio::test]
async fn answers_that_break_the_contract_are_protocol_errors() {
    let fake = FakeNodeServer::start(
        Router::new()
            .route(wire::INFO, get(|| async { "this is not JSON" }))
            .route(
                wire::BLOCK,
                get(|| async { (StatusCode::NOT_FOUND, "no such route here") }),
            ),
    )
    .await;
    let client = fake.client();

    let not_json = client.info().await.expect_err("not JSON");
    let no_error_body = client.block(1).await.expect_err("no error body");

    assert!(
        matches!(&not_json, ClientError::Protocol { node, .. } if node == NODE),
        "{not_json:?}"
    );
    assert!(
        matches!(&no_error_body, ClientError::Protocol { detail, .. } if detail.contains("no such route")),
        "{no_error_body:?}"
    );
}

#[derive(Deserialize)]
struct From {
    from: u64,
}

#[tokio::test]
async fn the_block_stream_yields_blocks_in_order_including_ones_sent_later() {
    let (sender, receiver) = mpsc::unbounded_channel::<String>();
    let receiver = Arc::new(Mutex::new(Some(receiver)));
    let asked_from = Arc::new(AtomicUsize::new(0));
    let record = asked_from.clone();
    let fake = FakeNodeServer::start(Router::new().route(
        wire::SUBSCRIBE_BLOCKS,
        get(move |Query(query): Query<From>| async move {
            record.store(query.from as usize, Ordering::SeqCst);
            let receiver = receiver
                .lock()
                .expect("lock")
                .take()
                .expect("one subscriber");
            let lines = futures::stream::unfold(receiver, |mut receiver| async move {
                let chunk = receiver.recv().await?;
                Some((Ok::<_, Infallible>(chunk), receiver))
            });
            Response::builder()
                .header(header::CONTENT_TYPE, "application/x-ndjson")
                .body(Body::from_stream(lines))
                .expect("a response")
        }),
    ))
    .await;
    let line = |height: u64| {
        let mut text = serde_json::to_string(&block_body(height)).expect("json");
        text.push('\n');
        text
    };
    // Two finalized blocks are there before the subscription starts.
    sender
        .send(format!("{}{}", line(5), line(6)))
        .expect("queued");

    let mut blocks = fake.client().block_stream(5).await.expect("subscribed");

    assert_eq!(asked_from.load(Ordering::SeqCst), 5);
    assert_eq!(next(&mut blocks).await, 5);
    assert_eq!(next(&mut blocks).await, 6);
    // A block finalized later, arriving split over two chunks, with a blank
    // keep-alive line before it.
    let seven = line(7);
    let (head, tail) = seven.split_at(seven.len() / 2);
    sender.send(format!("\n{head}")).expect("queued");
    sender.send(tail.to_owned()).expect("queued");
    assert_eq!(next(&mut blocks).await, 7);
    sender.send(line(8)).expect("queued");
    assert_eq!(next(&mut blocks).await, 8);
    // The node closing the subscription ends the stream.
    drop(sender);
    assert!(blocks.next().await.is_none());
}

/// The height of the stream's next block.
async fn next(blocks: &mut scenario_core::client::BlockStream) -> u64 {
    blocks
        .next()
        .await
        .expect("a block")
        .expect("a valid block")
        .height
}

#[tokio::test]
async fn a_real_proof_verifies_and_a_tampered_sample_does_not() {
    let data: Vec<u8> = (0..100u8).collect();
    let chunks: Vec<Vec<u8>> = merkle::chunks(&data, 16)
        .into_iter()
        .map(<[u8]>::to_vec)
        .collect();
    let tree = merkle::Tree::new(&chunks);
    let blob_id = hex::encode(tree.root());
    let served = (blob_id.clone(), chunks.clone(), tree.clone());
    let fake = FakeNodeServer::start(Router::new().route(
        wire::SAMPLE,
        get(move |Path((id, index)): Path<(String, u32)>| {
            let (blob_id, chunks, tree) = served.clone();
            async move {
                if id != blob_id {
                    return error(StatusCode::NOT_FOUND, "not_found", "blob");
                }
                let proof = tree.proof(index as usize).expect("index in range");
                Json(wire::SampleBody {
                    blob_id,
                    index,
                    chunk_count: chunks.len() as u32,
                    chunk: hex::encode(&chunks[index as usize]),
                    proof: proof.iter().map(hex::encode).collect(),
                })
                .into_response()
            }
        }),
    ))
    .await;
    let client = fake.client();

    let sample = client
        .sample_blob(&BlobId(blob_id.clone()), 3)
        .await
        .expect("sample");

    assert_eq!(sample.chunk, chunks[3]);
    assert_eq!(sample.chunk_count, 7);
    assert_eq!(sample.commitment, blob_id);
    assert!(verify_sample(&sample));
    let mut tampered = sample.clone();
    tampered.chunk[0] ^= 1;
    assert!(!verify_sample(&tampered));
    let mut moved = sample.clone();
    moved.index = 4;
    assert!(!verify_sample(&moved));
    let mut garbled = sample;
    garbled.proof[0] = "not hex".to_owned();
    assert!(!verify_sample(&garbled));
}

#[tokio::test]
async fn the_status_readiness_version_and_metrics_helpers_read_their_routes() {
    let ready_hits = Hits::default();
    let counter = ready_hits.clone();
    let fake = FakeNodeServer::start(
        Router::new()
            .route(
                wire::READY,
                get(move || async move {
                    if counter.hit() == 0 {
                        error(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "no peers yet")
                    } else {
                        Json(wire::StatusBody {
                            status: "ready".to_owned(),
                        })
                        .into_response()
                    }
                }),
            )
            .route(
                wire::PREFIX,
                get(|| async {
                    Json(wire::VersionBody {
                        api_version: wire::API_VERSION,
                        software: "fake 0.0.0".to_owned(),
                    })
                }),
            )
            .route(
                wire::TX,
                get(|Path(id): Path<String>| async move {
                    Json(wire::TxStatusBody {
                        tx_id: id,
                        status: "included".to_owned(),
                        height: Some(9),
                    })
                }),
            )
            .route(
                wire::BLOB,
                get(|Path(id): Path<String>| async move {
                    error(StatusCode::NOT_FOUND, "not_found", &format!("blob {id}"))
                }),
            )
            .route(
                wire::METRICS,
                get(|| async { "# TYPE height gauge\nheight 9\n" }),
            ),
    )
    .await;
    let client = fake.client();

    assert!(!client.ready().await.expect("not ready yet"));
    assert_eq!(ready_hits.count(), 1, "a readiness probe is never retried");
    assert!(client.ready().await.expect("ready"));
    assert_eq!(client.version().await.expect("version").api_version, 1);
    let status = client
        .tx_status(&TxId("ab".repeat(32)))
        .await
        .expect("status");
    assert_eq!(status.tx_id, "ab".repeat(32));
    assert_eq!(status.height, Some(9));
    assert!(matches!(
        client.blob_status(&BlobId("cd".into())).await,
        Err(ClientError::NotFound { what, .. }) if what == "blob cd"
    ));
    assert!(
        client
            .metrics()
            .await
            .expect("metrics")
            .contains("height 9")
    );
}

#[tokio::test]
async fn clones_of_a_client_share_one_concurrency_limit() {
    struct Gate {
        in_flight: AtomicUsize,
        most: AtomicUsize,
        arrived: Semaphore,
        release: Semaphore,
    }
    let gate = Arc::new(Gate {
        in_flight: AtomicUsize::new(0),
        most: AtomicUsize::new(0),
        arrived: Semaphore::new(0),
        release: Semaphore::new(0),
    });
    let server_gate = gate.clone();
    let fake = FakeNodeServer::start(Router::new().route(
        wire::INFO,
        get(move || {
            let gate = server_gate.clone();
            async move {
                let now = gate.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                gate.most.fetch_max(now, Ordering::SeqCst);
                gate.arrived.add_permits(1);
                gate.release.acquire().await.expect("open").forget();
                gate.in_flight.fetch_sub(1, Ordering::SeqCst);
                Json(info_body("validator", 1))
            }
        }),
    ))
    .await;
    let mut config = fast_config();
    config.concurrency_limit = 2;
    let client = fake.client_with(config);

    let calls: Vec<_> = (0..6)
        .map(|_| {
            let clone = client.clone();
            tokio::spawn(async move { clone.info().await })
        })
        .collect();
    gate.arrived.acquire_many(2).await.expect("open").forget();
    assert_eq!(gate.in_flight.load(Ordering::SeqCst), 2);
    // Let one request finish at a time: each frees the slot the next one takes.
    for _ in 0..4 {
        gate.release.add_permits(1);
        gate.arrived.acquire().await.expect("open").forget();
        assert_eq!(gate.in_flight.load(Ordering::SeqCst), 2);
    }
    gate.release.add_permits(2);
    for call in calls {
        call.await.expect("joined").expect("answered");
    }

    assert_eq!(gate.most.load(Ordering::SeqCst), 2);
}
