//! The NDJSON block subscription: blocks in order, ones sent later, split
//! chunks and keep-alive lines, and the end of the stream.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::Query;
use axum::http::header;
use axum::response::Response;
use axum::routing::get;
use futures::StreamExt;
use node_http::wire;
use scenario_core::NodeClient;
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::support::{FakeNodeServer, block_body};

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
