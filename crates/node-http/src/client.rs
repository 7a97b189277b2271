//! The hyper + tower client of the node testing API: [`NodeHttpClient`]
//! implements scenario-core's [`NodeClient`] over the routes of [`wire`].
//!
//! One client talks to one node. Underneath it is a hyper-util connection
//! pool (HTTP/1, plain `http://`) wrapped in three tower layers, outermost
//! first:
//!
//! 1. a concurrency limit, shared by every clone of the client; a call holds
//!    its slot until its answer's headers arrive (so an open block
//!    subscription does not keep one);
//! 2. retries with exponential backoff, for idempotent requests only
//!    ([`RetryPolicy`]);
//! 3. a timeout per attempt, which covers everything up to the response
//!    headers (a block subscription's body may then stay open forever).
//!
//! The stack is boxed into one cloneable, `Sync` service, so a clone costs a
//! few reference-count increments.

mod answer;
mod ndjson;
mod retry;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use scenario_core::client::BlockStream;
use scenario_core::{
    BlobId, BlobSample, Block, BoxError, ClientError, HostPort, NodeClient, NodeEndpoint, NodeId,
    NodeInfo, Role, TxId,
};
use serde::de::DeserializeOwned;
use tower::ServiceBuilder;
use tower::ServiceExt;
use tower::limit::ConcurrencyLimitLayer;
use tower::retry::RetryLayer;
use tower::timeout::TimeoutLayer;
use tower::util::BoxCloneSyncService;

use crate::{merkle, wire};
use answer::Exchange;
use ndjson::ndjson_blocks;
use retry::{Retry, RetryPolicy};

/// The request body every call sends: small and cloneable, so a retried
/// request can be sent again.
type RequestBody = Full<Bytes>;

/// The boxed tower stack: limit, retry, timeout, hyper.
type HttpService = BoxCloneSyncService<Request<RequestBody>, Response<Incoming>, BoxError>;

/// How a [`NodeHttpClient`] treats requests: timeouts, retries, backoff and
/// concurrency.
///
/// ```
/// use std::time::Duration;
/// use node_http::ClientConfig;
///
/// let mut config = ClientConfig::default();
/// config.timeout = Duration::from_secs(2);
/// config.retries = 0;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// How long one attempt may take until the response headers arrive; the
    /// body of an ordinary answer gets the same time again. Default 5 s.
    pub timeout: Duration,
    /// How many times an idempotent request is retried after its first
    /// attempt failed. Default 3.
    pub retries: u32,
    /// The wait before the first retry; it doubles for every further retry.
    /// Default 50 ms.
    pub initial_backoff: Duration,
    /// The longest wait between two attempts. Default 1 s.
    pub max_backoff: Duration,
    /// How many calls may be in progress at once, over all clones of the
    /// client (at least 1). Default 64.
    pub concurrency_limit: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            retries: 3,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            concurrency_limit: 64,
        }
    }
}

/// A client for one node that implements the node testing API.
///
/// Cheap to clone; clones share the connection pool and the concurrency
/// limit. Errors always name the node.
///
/// ```no_run
/// use node_http::{ClientConfig, NodeHttpClient};
/// use scenario_core::{HostPort, NodeClient, NodeId};
///
/// # async fn example() -> Result<(), scenario_core::ClientError> {
/// let client = NodeHttpClient::new(
///     NodeId::new("validator-0"),
///     HostPort::new("127.0.0.1", 8080),
///     ClientConfig::default(),
/// );
/// let info = client.info().await?;
/// let tip = client.block(info.height).await?;
/// println!("{} is at {} ({})", info.node_id, tip.height, tip.hash);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct NodeHttpClient {
    shared: Arc<Shared>,
    service: HttpService,
}

/// What every clone shares besides the service.
struct Shared {
    node: NodeId,
    /// Where the node listens.
    address: HostPort,
    /// `http://host:port`, without a trailing slash.
    base: String,
    config: ClientConfig,
}

impl fmt::Debug for NodeHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeHttpClient")
            .field("node", &self.shared.node)
            .field("base", &self.shared.base)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl NodeHttpClient {
    /// The client a [`NodeKind`](scenario_core::NodeKind) that speaks the
    /// node testing API returns from `client`: the node reached on its port
    /// named `api_port`, with the default configuration. An undeclared port
    /// is an error naming it.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use scenario_core::{BoxError, NodeClient, NodeEndpoint};
    /// fn client(node: &NodeEndpoint) -> Result<Arc<dyn NodeClient>, BoxError> {
    ///     node_http::NodeHttpClient::for_node(node, "api")
    /// }
    /// ```
    pub fn for_node(node: &NodeEndpoint, api_port: &str) -> Result<Arc<dyn NodeClient>, BoxError> {
        let base = node.address(api_port)?.clone();
        Ok(Arc::new(Self::new(
            node.id.clone(),
            base,
            ClientConfig::default(),
        )))
    }

    /// A client for `node`, reached at `http://{base}`.
    ///
    /// Needs no runtime to be built; calls need a Tokio runtime.
    pub fn new(node: NodeId, base: HostPort, config: ClientConfig) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let hyper = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .build::<_, RequestBody>(connector);
        let stack = ServiceBuilder::new()
            .layer(ConcurrencyLimitLayer::new(config.concurrency_limit.max(1)))
            .layer(RetryLayer::new(RetryPolicy::new(&config)))
            .layer(TimeoutLayer::new(config.timeout))
            .service(hyper);
        Self {
            shared: Arc::new(Shared {
                node,
                base: format!("http://{base}"),
                address: base,
                config,
            }),
            service: BoxCloneSyncService::new(stack),
        }
    }

    /// The configuration the client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.shared.config
    }

    /// Where the node is reached.
    pub fn address(&self) -> &HostPort {
        &self.shared.address
    }

    /// The node's base URL, `http://host:port`.
    pub fn base_url(&self) -> &str {
        &self.shared.base
    }

    /// Whether the node is ready (`GET /testing/v1/ready`): `true` on 200,
    /// `false` on 503. Never retried, so a readiness poll sees the node's
    /// state now; an unreachable node is an [`ClientError::Unavailable`].
    pub async fn ready(&self) -> Result<bool, ClientError> {
        let exchange = self
            .send(Method::GET, wire::READY.to_owned(), None, Retry::Never)
            .await?;
        match exchange.response.status() {
            status if status.is_success() => Ok(true),
            StatusCode::SERVICE_UNAVAILABLE => Ok(false),
            _ => Err(self.error_answer(exchange).await),
        }
    }

    /// Which version of the contract the node speaks (`GET /testing/v1`).
    pub async fn version(&self) -> Result<wire::VersionBody, ClientError> {
        self.get_json(wire::PREFIX.to_owned()).await
    }

    /// Where a transaction is (`GET /testing/v1/txs/{id}`).
    pub async fn tx_status(&self, tx: &TxId) -> Result<wire::TxStatusBody, ClientError> {
        self.get_json(format!("{}/txs/{}", wire::PREFIX, segment(&tx.0)))
            .await
    }

    /// Where a blob is (`GET /testing/v1/blobs/{id}`).
    pub async fn blob_status(&self, blob: &BlobId) -> Result<wire::BlobStatusBody, ClientError> {
        self.get_json(format!("{}/blobs/{}", wire::PREFIX, segment(&blob.0)))
            .await
    }

    /// `GET` a path and decode its JSON answer.
    async fn get_json<T: DeserializeOwned>(&self, path: String) -> Result<T, ClientError> {
        let exchange = self
            .send(Method::GET, path, None, Retry::Idempotent)
            .await?;
        self.json(exchange).await
    }

    /// Send one request through the stack; any HTTP answer is `Ok`.
    async fn send(
        &self,
        method: Method,
        path: String,
        body: Option<(&'static str, Bytes)>,
        retry: Retry,
    ) -> Result<Exchange, ClientError> {
        let what = format!("{method} {path}");
        let uri: Uri = format!("{}{path}", self.shared.base).parse().map_err(
            |error: http::uri::InvalidUri| {
                self.unavailable(format!(
                    "{what}: invalid address {}: {error}",
                    self.shared.base
                ))
            },
        )?;
        let mut request = Request::new(Full::new(
            body.as_ref().map(|(_, b)| b.clone()).unwrap_or_default(),
        ));
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        if let Some((content_type, _)) = body {
            request
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        request.extensions_mut().insert(retry);
        tracing::trace!(node = %self.shared.node, %what, "sending");
        match self.service.clone().oneshot(request).await {
            Ok(response) => Ok(Exchange { what, response }),
            Err(error) => Err(self.transport_failure(&what, &error)),
        }
    }
}

#[scenario_core::async_trait]
impl NodeClient for NodeHttpClient {
    fn node(&self) -> &NodeId {
        &self.shared.node
    }

    async fn info(&self) -> Result<NodeInfo, ClientError> {
        let body: wire::InfoBody = self.get_json(wire::INFO.to_owned()).await?;
        Ok(NodeInfo {
            node_id: NodeId::new(body.node_id),
            role: Role::custom(body.role),
            height: body.height,
            tip_hash: body.tip_hash,
            finalized_height: body.finalized_height,
            peers: body.peers.into_iter().map(NodeId::new).collect(),
            leader: body.leader.map(NodeId::new),
        })
    }

    async fn block(&self, height: u64) -> Result<Block, ClientError> {
        let body: wire::BlockBody = self
            .get_json(format!("{}/blocks/{height}", wire::PREFIX))
            .await?;
        Ok(block_from_wire(body))
    }

    async fn block_stream(&self, from: u64) -> Result<BlockStream, ClientError> {
        let path = format!("{}?from={from}", wire::SUBSCRIBE_BLOCKS);
        let exchange = self
            .send(Method::GET, path, None, Retry::Idempotent)
            .await?;
        if !exchange.response.status().is_success() {
            return Err(self.error_answer(exchange).await);
        }
        Ok(ndjson_blocks(
            self.shared.node.clone(),
            exchange.what,
            exchange.response.into_body(),
        ))
    }

    // Idempotent in this contract: a transaction's id is the SHA-256 of its
    // payload and the node answers 202 with the same id when it already knows
    // it, so sending it again after a lost answer changes nothing.
    async fn submit_tx(&self, tx: &[u8]) -> Result<TxId, ClientError> {
        let body = wire::SubmitTxBody {
            payload: hex::encode(tx),
        };
        let json = serde_json::to_vec(&body)
            .map_err(|error| self.protocol(format!("encoding a transaction failed: {error}")))?;
        let exchange = self
            .send(
                Method::POST,
                wire::TXS.to_owned(),
                Some(("application/json", Bytes::from(json))),
                Retry::Idempotent,
            )
            .await?;
        let accepted: wire::TxAccepted = self.json(exchange).await?;
        Ok(TxId(accepted.tx_id))
    }

    // Idempotent in this contract: a blob's id is its commitment, a hash of
    // its content, and dispersing a known blob again answers the same id.
    async fn disperse_blob(&self, data: &[u8]) -> Result<BlobId, ClientError> {
        let exchange = self
            .send(
                Method::POST,
                wire::BLOBS.to_owned(),
                Some(("application/octet-stream", Bytes::copy_from_slice(data))),
                Retry::Idempotent,
            )
            .await?;
        let accepted: wire::BlobAccepted = self.json(exchange).await?;
        Ok(BlobId(accepted.blob_id))
    }

    async fn sample_blob(&self, blob: &BlobId, index: u32) -> Result<BlobSample, ClientError> {
        let path = format!(
            "{}/blobs/{}/samples/{index}",
            wire::PREFIX,
            segment(&blob.0)
        );
        let body: wire::SampleBody = self.get_json(path).await?;
        if !body.blob_id.eq_ignore_ascii_case(&blob.0) || body.index != index {
            return Err(self.protocol(format!(
                "asked for chunk {index} of blob {blob}, got chunk {} of blob {}",
                body.index, body.blob_id
            )));
        }
        let chunk = hex::decode(&body.chunk)
            .map_err(|error| self.protocol(format!("sample chunk is not hex: {error}")))?;
        Ok(BlobSample {
            blob: blob.clone(),
            index,
            chunk_count: body.chunk_count,
            chunk,
            // The blob id is the commitment (the Merkle root, hex).
            commitment: blob.0.clone(),
            proof: body.proof,
        })
    }

    async fn metrics(&self) -> Result<String, ClientError> {
        let exchange = self
            .send(
                Method::GET,
                wire::METRICS.to_owned(),
                None,
                Retry::Idempotent,
            )
            .await?;
        if !exchange.response.status().is_success() {
            return Err(self.error_answer(exchange).await);
        }
        let what = exchange.what.clone();
        let bytes = self.read_body(exchange).await?;
        String::from_utf8(bytes.to_vec()).map_err(|error| {
            self.protocol(format!("{what} answered text that is not UTF-8: {error}"))
        })
    }
}

/// Whether a sample's chunk and proof check out against its commitment
/// (see [`merkle`]); `false` when any hash is not 32 bytes of hex.
pub fn verify_sample(sample: &BlobSample) -> bool {
    let Some(root) = merkle::parse_hash(&sample.commitment) else {
        return false;
    };
    let Some(proof) = sample
        .proof
        .iter()
        .map(|hash| merkle::parse_hash(hash))
        .collect::<Option<Vec<_>>>()
    else {
        return false;
    };
    let (Ok(index), Ok(count)) = (
        usize::try_from(sample.index),
        usize::try_from(sample.chunk_count),
    ) else {
        return false;
    };
    merkle::verify(&root, &sample.chunk, index, count, &proof)
}

/// A path segment, percent-encoded (ids are hex, so usually unchanged).
fn segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

fn block_from_wire(body: wire::BlockBody) -> Block {
    Block {
        height: body.height,
        hash: body.hash,
        parent: body.parent,
        proposer: NodeId::new(body.proposer),
        committed_at_ms: body.committed_at_ms,
        finalized: body.finalized,
        txs: body.txs.into_iter().map(TxId).collect(),
        blobs: body.blobs.into_iter().map(BlobId).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_keep_hex_and_escape_the_rest() {
        assert_eq!(segment("00ffAB"), "00ffAB");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }
}
