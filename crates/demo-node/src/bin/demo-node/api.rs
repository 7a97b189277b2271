//! The node testing API (`/testing/v1/…` and `/metrics`), as documented in
//! the guide's "Node testing API" chapter and typed by `node_http::wire`.

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, extract::DefaultBodyLimit};
use futures::stream;
use node_http::wire::{self, ErrorBody};
use serde::Deserialize;

use crate::mempool::{Admission, PoolItem};
use crate::node::Node;

/// Blocks sent per read while a subscription catches up.
const STREAM_BATCH: usize = 256;

/// An error answer: status, stable code, sentence.
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after_secs: None,
        }
    }
    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
    fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, Json(ErrorBody::new(self.code, self.message))).into_response();
        if let Some(seconds) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// The API's routes.
pub(crate) fn router(node: Arc<Node>) -> Router {
    Router::new()
        .route(wire::PREFIX, get(version))
        .route(wire::LIVE, get(live))
        .route(wire::READY, get(ready))
        .route(wire::INFO, get(info))
        .route(wire::BLOCK, get(block))
        .route(wire::SUBSCRIBE_BLOCKS, get(subscribe))
        .route(wire::TXS, axum::routing::post(submit_tx))
        .route(wire::TX, get(tx_status))
        .route(wire::BLOBS, axum::routing::post(disperse))
        .route(wire::BLOB, get(blob_status))
        .route(wire::SAMPLE, get(sample))
        .route(wire::METRICS, get(metrics))
        // Size limits are checked by the handlers, which answer 413 in the
        // contract's error format.
        .layer(DefaultBodyLimit::disable())
        .fallback(|| async { ApiError::not_found("no such route in the node testing API v1") })
        .with_state(node)
}

async fn version() -> Json<wire::VersionBody> {
    Json(wire::VersionBody {
        api_version: wire::API_VERSION,
        software: format!("demo-node {}", env!("CARGO_PKG_VERSION")),
    })
}

async fn live() -> Json<wire::StatusBody> {
    Json(wire::StatusBody {
        status: "live".to_owned(),
    })
}

/// Ready once serving: the node loaded its state and bound both ports
/// before this router started.
async fn ready(State(node): State<Arc<Node>>) -> ApiResult<Json<wire::StatusBody>> {
    node.membership
        .readiness()
        .map_err(|reason| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", reason))?;
    Ok(Json(wire::StatusBody {
        status: "ready".to_owned(),
    }))
}

async fn info(State(node): State<Arc<Node>>) -> Json<wire::InfoBody> {
    Json(node.info())
}

async fn block(
    State(node): State<Arc<Node>>,
    Path(height): Path<String>,
) -> ApiResult<Json<wire::BlockBody>> {
    let height: u64 = height
        .parse()
        .map_err(|_| ApiError::bad_request(format!("height {height:?} is not a whole number")))?;
    node.block(height).map(Json).ok_or_else(|| {
        let tip = node.info().height;
        // A noun phrase, like the contract's example: clients print "<node> has no <it>".
        ApiError::not_found(format!("block at height {height} (the tip is at {tip})"))
    })
}

#[derive(Deserialize)]
struct From {
    from: Option<u64>,
}

async fn subscribe(State(node): State<Arc<Node>>, Query(query): Query<From>) -> Response {
    let start = query.from.unwrap_or(1).max(1);
    let commits = node.commits();
    let lines = stream::unfold(
        (node, start, commits),
        |(node, next, mut commits)| async move {
            loop {
                let blocks = node.committed_blocks(next, STREAM_BATCH);
                if let Some(last) = blocks.last() {
                    let next = last.height + 1;
                    let mut text = Vec::new();
                    for block in &blocks {
                        if serde_json::to_writer(&mut text, block).is_err() {
                            return None;
                        }
                        text.push(b'\n');
                    }
                    return Some((
                        Ok::<_, std::convert::Infallible>(Bytes::from(text)),
                        (node, next, commits),
                    ));
                }
                if commits.changed().await.is_err() {
                    return None;
                }
            }
        },
    );
    let mut response = Body::from_stream(lines).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    response
}

async fn read_limited(body: Body, limit: usize, what: &str) -> ApiResult<Bytes> {
    let too_large = || {
        ApiError::too_large(format!(
            "the {what} exceeds this node's limit of {limit} bytes"
        ))
    };
    let bytes = axum::body::to_bytes(body, limit.saturating_add(1))
        .await
        .map_err(|_| too_large())?;
    if bytes.len() > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

async fn submit_tx(
    State(node): State<Arc<Node>>,
    body: Body,
) -> ApiResult<(StatusCode, Json<wire::TxAccepted>)> {
    // The hex payload is twice the transaction's size, plus the JSON around it.
    let limit = node.config.max_tx_bytes * 2 + 64;
    let bytes = read_limited(body, limit, "request body").await?;
    let request: wire::SubmitTxBody = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request(format!("the body must be {{\"payload\": \"<hex>\"}}: {e}"))
    })?;
    let payload = hex::decode(&request.payload)
        .map_err(|e| ApiError::bad_request(format!("payload is not valid hex: {e}")))?;
    if payload.is_empty() {
        return Err(ApiError::bad_request("payload is empty"));
    }
    if payload.len() > node.config.max_tx_bytes {
        return Err(ApiError::too_large(format!(
            "the transaction has {} bytes; this node accepts at most {}",
            payload.len(),
            node.config.max_tx_bytes
        )));
    }
    let tx_id = wire::content_id(&payload);
    match node.submit(PoolItem::Tx { id: tx_id.clone() }) {
        Admission::Added | Admission::Known | Admission::Swallowed => {
            Ok((StatusCode::ACCEPTED, Json(wire::TxAccepted { tx_id })))
        }
        Admission::Full => Err(ApiError {
            retry_after_secs: Some(1),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "mempool_full",
                format!(
                    "the mempool holds its limit of {} items",
                    node.config.mempool_limit
                ),
            )
        }),
    }
}

async fn tx_status(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
) -> ApiResult<Json<wire::TxStatusBody>> {
    node.tx_status(&id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("this node knows no transaction {id}")))
}

async fn disperse(
    State(node): State<Arc<Node>>,
    body: Body,
) -> ApiResult<(StatusCode, Json<wire::BlobAccepted>)> {
    let bytes = read_limited(body, node.config.max_blob_bytes, "blob").await?;
    if bytes.is_empty() {
        return Err(ApiError::bad_request("the blob is empty"));
    }
    let size = bytes.len() as u64;
    let cert = node.disperse(bytes).await.map_err(|reason| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("the blob was not stored: {reason}"),
        )
    })?;
    let accepted = wire::BlobAccepted {
        blob_id: cert.blob_id.clone(),
        size,
        chunk_count: cert.chunk_count,
    };
    if node.submit(PoolItem::Cert { cert }) == Admission::Full {
        return Err(ApiError {
            retry_after_secs: Some(1),
            ..ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "mempool_full",
                "the blob is stored but the mempool is full; submit it again",
            )
        });
    }
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

async fn blob_status(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
) -> ApiResult<Json<wire::BlobStatusBody>> {
    node.blob_status(&id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("this node knows no blob {id}")))
}

async fn sample(
    State(node): State<Arc<Node>>,
    Path((id, index)): Path<(String, String)>,
) -> ApiResult<Json<wire::SampleBody>> {
    let index: u32 = index.parse().map_err(|_| {
        ApiError::bad_request(format!("chunk index {index:?} is not a whole number"))
    })?;
    let Some(path) = node.blob_file(&id) else {
        let holders = node
            .blob_status(&id)
            .map(|s| s.holders.join(", "))
            .unwrap_or_default();
        return Err(ApiError::not_found(format!(
            "{} does not hold blob {id}; its holders are: {}",
            node.config.node_id,
            if holders.is_empty() {
                "unknown"
            } else {
                &holders
            }
        )));
    };
    let bytes = tokio::fs::read(&path).await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("cannot read the blob: {e}"),
        )
    })?;
    crate::da::sample(&id, &bytes, node.config.chunk_size, index)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("blob {id} has no chunk {index}")))
}

async fn metrics(State(node): State<Arc<Node>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        node.metrics.render(),
    )
}
