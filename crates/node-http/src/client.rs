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

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyDataStream, BodyExt, Full};
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
use tower::retry::{Policy, RetryLayer};
use tower::timeout::TimeoutLayer;
use tower::timeout::error::Elapsed;
use tower::util::BoxCloneSyncService;

use crate::{merkle, wire};

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

    /// Decode a successful JSON answer, or map an error answer.
    async fn json<T: DeserializeOwned>(&self, exchange: Exchange) -> Result<T, ClientError> {
        if !exchange.response.status().is_success() {
            return Err(self.error_answer(exchange).await);
        }
        let what = exchange.what.clone();
        let bytes = self.read_body(exchange).await?;
        serde_json::from_slice(&bytes).map_err(|error| {
            self.protocol(format!(
                "{what} answered a body that is not the expected JSON ({error}): {}",
                snippet(&bytes)
            ))
        })
    }

    /// Read a whole (non-streaming) body, within the configured timeout.
    async fn read_body(&self, exchange: Exchange) -> Result<Bytes, ClientError> {
        let Exchange { what, response } = exchange;
        let timeout = self.shared.config.timeout;
        match tokio::time::timeout(timeout, response.into_body().collect()).await {
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
            Ok(Err(error)) => Err(self.unavailable(format!(
                "{what}: reading the answer failed: {}",
                chain(&error)
            ))),
            Err(_) => Err(self.unavailable(format!(
                "{what}: the answer's body did not arrive within {timeout:?}"
            ))),
        }
    }

    /// The [`ClientError`] for a non-success answer.
    async fn error_answer(&self, exchange: Exchange) -> ClientError {
        let status = exchange.response.status();
        let retry_after = exchange.response.headers().get(RETRY_AFTER).cloned();
        let what = exchange.what.clone();
        let bytes = match self.read_body(exchange).await {
            Ok(bytes) => bytes,
            Err(error) => return error,
        };
        let detail = serde_json::from_slice::<wire::ErrorBody>(&bytes)
            .ok()
            .map(|body| body.error);
        let node = self.shared.node.clone();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            let mempool_full = detail.as_ref().is_some_and(|d| d.code == "mempool_full");
            if mempool_full || retry_after.is_some() {
                return ClientError::Overloaded {
                    node,
                    retry_after: retry_after.as_ref().and_then(parse_retry_after),
                };
            }
            let reason = detail.map_or_else(
                || "no error body".to_owned(),
                |d| format!("{}: {}", d.code, d.message),
            );
            return self.unavailable(format!("{what} answered 503 ({reason})"));
        }
        let Some(detail) = detail else {
            return self.protocol(format!(
                "{what} answered {status} without an error body: {}",
                snippet(&bytes)
            ));
        };
        match status {
            StatusCode::NOT_FOUND => ClientError::NotFound {
                node,
                what: detail.message,
            },
            status if status.is_client_error() => ClientError::Rejected {
                node,
                reason: detail.message,
            },
            _ => self.protocol(format!(
                "{what} answered {status} ({}: {})",
                detail.code, detail.message
            )),
        }
    }

    fn transport_failure(&self, what: &str, error: &BoxError) -> ClientError {
        if error.is::<Elapsed>() {
            let timeout = self.shared.config.timeout;
            return self.unavailable(format!("{what}: no answer within {timeout:?}"));
        }
        self.unavailable(format!("{what}: {}", chain(error.as_ref())))
    }

    fn unavailable(&self, reason: String) -> ClientError {
        ClientError::Unavailable {
            node: self.shared.node.clone(),
            source: Box::new(Cause(reason)),
        }
    }

    fn protocol(&self, detail: String) -> ClientError {
        ClientError::Protocol {
            node: self.shared.node.clone(),
            detail,
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

/// A request that got an HTTP answer.
struct Exchange {
    /// `METHOD /path`, for messages.
    what: String,
    response: Response<Incoming>,
}

/// Why a node is unavailable, as one sentence (the transport error's chain
/// rendered into it, so the reason shows however the error is printed).
#[derive(Debug)]
struct Cause(String);

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Cause {}

/// An error and its sources, joined by `: `.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The start of a body, for error messages.
fn snippet(bytes: &[u8]) -> String {
    const LIMIT: usize = 200;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(LIMIT)]).into_owned();
    if bytes.len() > LIMIT {
        format!("{text}…")
    } else {
        text
    }
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

/// `Retry-After` as delay-seconds (the form the contract uses).
fn parse_retry_after(value: &HeaderValue) -> Option<Duration> {
    value
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
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

/// The blocks of an NDJSON subscription body, one per line. Blank lines are
/// skipped; a line that is not a block yields a protocol error and the
/// stream goes on; a broken connection yields one error and ends the stream;
/// the node closing the body ends it.
fn ndjson_blocks(node: NodeId, what: String, body: Incoming) -> BlockStream {
    let lines = Lines {
        node,
        what,
        body: BodyDataStream::new(body),
        buffer: Vec::new(),
        scanned: 0,
        finished: false,
    };
    futures::stream::unfold(lines, |mut lines| async move {
        let item = lines.next_block().await?;
        Some((item, lines))
    })
    .boxed()
}

/// The state of an NDJSON subscription.
struct Lines {
    node: NodeId,
    what: String,
    body: BodyDataStream<Incoming>,
    buffer: Vec<u8>,
    /// How much of `buffer` is known to hold no newline.
    scanned: usize,
    finished: bool,
}

impl Lines {
    async fn next_block(&mut self) -> Option<Result<Block, ClientError>> {
        loop {
            if let Some(line) = self.next_line() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Some(self.parse(&line));
            }
            if self.finished {
                return None;
            }
            match self.body.next().await {
                Some(Ok(bytes)) => self.buffer.extend_from_slice(&bytes),
                Some(Err(error)) => {
                    self.finished = true;
                    self.buffer.clear();
                    return Some(Err(ClientError::Unavailable {
                        node: self.node.clone(),
                        source: Box::new(Cause(format!(
                            "{}: the subscription broke: {}",
                            self.what,
                            chain(&error)
                        ))),
                    }));
                }
                None => self.finished = true,
            }
        }
    }

    /// The next complete line; at the end of the body, what is left.
    fn next_line(&mut self) -> Option<Vec<u8>> {
        let newline = self.buffer[self.scanned..]
            .iter()
            .position(|&byte| byte == b'\n')
            .map(|offset| self.scanned + offset);
        match newline {
            Some(end) => {
                let line = self.buffer.drain(..=end).collect();
                self.scanned = 0;
                Some(line)
            }
            None if self.finished && !self.buffer.is_empty() => {
                self.scanned = 0;
                Some(std::mem::take(&mut self.buffer))
            }
            None => {
                self.scanned = self.buffer.len();
                None
            }
        }
    }

    fn parse(&self, line: &[u8]) -> Result<Block, ClientError> {
        serde_json::from_slice::<wire::BlockBody>(line)
            .map(block_from_wire)
            .map_err(|error| ClientError::Protocol {
                node: self.node.clone(),
                detail: format!(
                    "{} sent a line that is not a block ({error}): {}",
                    self.what,
                    snippet(line)
                ),
            })
    }
}

/// Whether a request may be sent again, as a request extension set by each
/// call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Retry {
    /// Never send it twice.
    Never,
    /// Sending it twice has the effect of sending it once.
    Idempotent,
}

/// Retries idempotent requests on transport errors, timeouts and `503`
/// answers without `Retry-After`, with exponential backoff.
///
/// A request is idempotent when it carries [`Retry::Idempotent`], or, without
/// a mark, when its method is `GET` or `HEAD`. `POST`s are never retried
/// unless marked: only `submit_tx` and `disperse_blob` are, because their ids
/// are content hashes and the node answers a known payload with the same id.
///
/// A `503` with `Retry-After` (e.g. a full mempool) is not retried: the node
/// said when to come back, which is for the caller to honour.
#[derive(Clone, Debug)]
struct RetryPolicy {
    /// Retries left for this request.
    remaining: u32,
    /// Retries done so far for this request.
    done: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl RetryPolicy {
    fn new(config: &ClientConfig) -> Self {
        Self {
            remaining: config.retries,
            done: 0,
            initial_backoff: config.initial_backoff,
            max_backoff: config.max_backoff,
        }
    }

    /// The wait before retry number `retry` (from 0): doubling, capped.
    fn backoff(&self, retry: u32) -> Duration {
        self.initial_backoff
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.max_backoff)
    }

    fn is_idempotent<B>(request: &Request<B>) -> bool {
        match request.extensions().get::<Retry>() {
            Some(Retry::Idempotent) => true,
            Some(Retry::Never) => false,
            None => matches!(*request.method(), Method::GET | Method::HEAD),
        }
    }
}

impl<ReqBody: Clone, ResBody> Policy<Request<ReqBody>, Response<ResBody>, BoxError>
    for RetryPolicy
{
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        request: &mut Request<ReqBody>,
        result: &mut Result<Response<ResBody>, BoxError>,
    ) -> Option<Self::Future> {
        if self.remaining == 0 || !Self::is_idempotent(request) {
            return None;
        }
        let again = match result {
            Ok(response) => {
                response.status() == StatusCode::SERVICE_UNAVAILABLE
                    && !response.headers().contains_key(RETRY_AFTER)
            }
            Err(_) => true,
        };
        if !again {
            return None;
        }
        let wait = self.backoff(self.done);
        self.remaining -= 1;
        self.done += 1;
        let outcome = match result {
            Ok(response) => response.status().to_string(),
            Err(error) => error.to_string(),
        };
        tracing::debug!(uri = %request.uri(), retry = self.done, ?wait, %outcome, "retrying");
        Some(tokio::time::sleep(wait))
    }

    fn clone_request(&mut self, request: &Request<ReqBody>) -> Option<Request<ReqBody>> {
        if self.remaining == 0 || !Self::is_idempotent(request) {
            return None;
        }
        let mut clone = Request::new(request.body().clone());
        *clone.method_mut() = request.method().clone();
        *clone.uri_mut() = request.uri().clone();
        *clone.version_mut() = request.version();
        *clone.headers_mut() = request.headers().clone();
        if let Some(retry) = request.extensions().get::<Retry>() {
            clone.extensions_mut().insert(*retry);
        }
        Some(clone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(retries: u32) -> RetryPolicy {
        RetryPolicy::new(&ClientConfig {
            retries,
            ..ClientConfig::default()
        })
    }

    fn request(method: Method, mark: Option<Retry>) -> Request<()> {
        let mut request = Request::new(());
        *request.method_mut() = method;
        if let Some(mark) = mark {
            request.extensions_mut().insert(mark);
        }
        request
    }

    fn status(status: StatusCode) -> Result<Response<()>, BoxError> {
        let mut response = Response::new(());
        *response.status_mut() = status;
        Ok(response)
    }

    fn failed() -> Result<Response<()>, BoxError> {
        Err("connection refused".into())
    }

    fn retries<B: Clone>(
        policy: &mut RetryPolicy,
        request: &mut Request<B>,
        result: &mut Result<Response<()>, BoxError>,
    ) -> bool {
        Policy::retry(policy, request, result).is_some()
    }

    #[tokio::test]
    async fn a_post_without_an_idempotency_mark_is_never_retried() {
        let mut policy = policy(3);
        let mut post = request(Method::POST, None);
        assert!(Policy::<_, Response<()>, BoxError>::clone_request(&mut policy, &post).is_none());
        assert!(!retries(&mut policy, &mut post, &mut failed()));
        assert!(!retries(
            &mut policy,
            &mut post,
            &mut status(StatusCode::SERVICE_UNAVAILABLE)
        ));
    }

    #[tokio::test]
    async fn a_request_marked_never_is_not_retried_even_as_a_get() {
        let mut policy = policy(3);
        let mut get = request(Method::GET, Some(Retry::Never));
        assert!(Policy::<_, Response<()>, BoxError>::clone_request(&mut policy, &get).is_none());
        assert!(!retries(&mut policy, &mut get, &mut failed()));
    }

    #[tokio::test]
    async fn a_post_marked_idempotent_is_retried_and_cloned_with_its_mark() {
        let mut policy = policy(3);
        let mut post = request(Method::POST, Some(Retry::Idempotent));
        let clone = Policy::<_, Response<()>, BoxError>::clone_request(&mut policy, &post)
            .expect("an idempotent request is cloned");
        assert_eq!(clone.method(), Method::POST);
        assert_eq!(clone.extensions().get::<Retry>(), Some(&Retry::Idempotent));
        assert!(retries(&mut policy, &mut post, &mut failed()));
    }

    #[tokio::test]
    async fn gets_are_retried_on_errors_and_503_until_the_retries_are_spent() {
        let mut policy = policy(2);
        let mut get = request(Method::GET, None);
        assert!(retries(&mut policy, &mut get, &mut failed()));
        assert!(retries(
            &mut policy,
            &mut get,
            &mut status(StatusCode::SERVICE_UNAVAILABLE)
        ));
        assert!(!retries(&mut policy, &mut get, &mut failed()));
    }

    #[tokio::test]
    async fn answers_other_than_a_plain_503_are_not_retried() {
        let mut policy = policy(3);
        let mut get = request(Method::GET, None);
        for code in [
            StatusCode::OK,
            StatusCode::NOT_FOUND,
            StatusCode::BAD_REQUEST,
            StatusCode::INTERNAL_SERVER_ERROR,
        ] {
            assert!(!retries(&mut policy, &mut get, &mut status(code)), "{code}");
        }
        let mut overloaded = status(StatusCode::SERVICE_UNAVAILABLE);
        if let Ok(response) = &mut overloaded {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("2"));
        }
        assert!(!retries(&mut policy, &mut get, &mut overloaded));
    }

    #[test]
    fn backoff_doubles_from_the_initial_wait_and_is_capped() {
        let policy = RetryPolicy::new(&ClientConfig {
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            ..ClientConfig::default()
        });
        let waits: Vec<u64> = (0..8)
            .map(|retry| policy.backoff(retry).as_millis() as u64)
            .collect();
        assert_eq!(waits, [50, 100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn retry_after_is_read_as_seconds() {
        assert_eq!(
            parse_retry_after(&HeaderValue::from_static(" 2 ")),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse_retry_after(&HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
    }

    #[test]
    fn path_segments_keep_hex_and_escape_the_rest() {
        assert_eq!(segment("00ffAB"), "00ffAB");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }
}
