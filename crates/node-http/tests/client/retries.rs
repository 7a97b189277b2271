//! Retries, timeouts and unreachable nodes: what the client sends again,
//! what it gives up on, and that every failure names the node.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use node_http::wire;
use scenario_core::{ClientError, NodeClient, NodeId};

use crate::support::{FakeNodeServer, Hits, NODE, error, fast_config, info_body};

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
