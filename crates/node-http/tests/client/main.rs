//! Tests of `NodeHttpClient` against a scripted fake node (`FakeNodeServer`):
//! mapping of wire bodies and error answers, DA sample proofs, the status
//! helpers and the shared concurrency limit here; retries and timeouts in
//! `retries`, the NDJSON block subscription in `stream`.

mod retries;
mod stream;
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use node_http::{merkle, verify_sample, wire};
use scenario_core::{BlobId, Block, ClientError, NodeClient, NodeId, NodeInfo, Role, TxId};
use tokio::sync::Semaphore;

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
