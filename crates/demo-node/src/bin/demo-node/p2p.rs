//! Node-to-node traffic over HTTP on the peer port: one-way JSON envelopes
//! (consensus messages, forwarded mempool items, pings) and blob pushes to
//! executors. Each peer gets one ordered outgoing queue; a full queue drops
//! the newest message, as a congested network would. Every request names
//! its sender (`x-demo-node-from`) and, with `--strict-membership`, carries
//! its cluster fingerprint (`x-demo-node-fingerprint`), checked before any
//! handler runs. Peer addresses may change at run time (`--discover`).

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::consensus::Message;
use crate::mempool::PoolItem;
use crate::node::Node;

const QUEUE_DEPTH: usize = 512;
const SEND_TIMEOUT: Duration = Duration::from_secs(1);
const BLOB_TIMEOUT: Duration = Duration::from_secs(5);

/// What travels between nodes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum PeerMessage {
    Consensus { message: Message },
    Forward { items: Vec<PoolItem> },
    Ping,
}

/// The answer to a pull: committed blocks from the asked height on.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SyncAnswer {
    pub(crate) blocks: Vec<crate::block::Block>,
    pub(crate) commit: u64,
    pub(crate) leader: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct SyncRequest {
    from: u64,
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    from: String,
    message: PeerMessage,
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// The header naming the sending node on every peer request.
pub(crate) const FROM_HEADER: &str = "x-demo-node-from";
/// The header carrying the sender's cluster fingerprint (`--strict-membership`).
pub(crate) const FINGERPRINT_HEADER: &str = "x-demo-node-fingerprint";

/// Where each peer is reached: configured, or learned at run time.
type Addresses = Arc<RwLock<HashMap<String, String>>>;

/// Sends to peers.
pub(crate) struct Network {
    me: String,
    fingerprint: Option<String>,
    client: HttpClient,
    addresses: Addresses,
    queues: HashMap<String, mpsc::Sender<PeerMessage>>,
}

impl Network {
    /// Start one sender task per peer in `peers` (every member but this
    /// node); `addresses` holds those known so far (see [`Network::learn`]).
    pub(crate) fn start(
        me: String,
        fingerprint: Option<String>,
        peers: &[String],
        addresses: HashMap<String, String>,
    ) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(SEND_TIMEOUT));
        connector.set_nodelay(true);
        let client: HttpClient = Client::builder(TokioExecutor::new()).build(connector);
        let addresses: Addresses = Arc::new(RwLock::new(addresses));
        let mut queues = HashMap::new();
        for peer in peers {
            let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
            queues.insert(peer.clone(), sender);
            let drain = Drain {
                client: client.clone(),
                me: me.clone(),
                fingerprint: fingerprint.clone(),
                peer: peer.clone(),
                addresses: Arc::clone(&addresses),
            };
            tokio::spawn(drain.run(receiver));
        }
        Self {
            me,
            fingerprint,
            client,
            addresses,
            queues,
        }
    }

    /// Queue a message for `to`; dropped when the queue is full.
    pub(crate) fn send(&self, to: &str, message: PeerMessage) {
        if let Some(queue) = self.queues.get(to)
            && queue.try_send(message).is_err()
        {
            tracing::debug!(peer = to, "outgoing queue full; dropping a message");
        }
    }

    /// Every peer id (whether its address is known yet or not).
    pub(crate) fn peers(&self) -> impl Iterator<Item = &String> {
        self.queues.keys()
    }

    /// Whether `id` is one of this node's peers.
    pub(crate) fn is_peer(&self, id: &str) -> bool {
        self.queues.contains_key(id)
    }

    /// Where `peer` is reached, if known.
    pub(crate) fn address_of(&self, peer: &str) -> Option<String> {
        read(&self.addresses).get(peer).cloned()
    }

    /// Every peer whose address is known, with it, in id order.
    pub(crate) fn known(&self) -> Vec<(String, String)> {
        let mut known: Vec<_> = read(&self.addresses)
            .iter()
            .map(|(id, address)| (id.clone(), address.clone()))
            .collect();
        known.sort();
        known
    }

    /// Reach `peer` at `address` from now on; true when that is news.
    /// Ids that are not peers are ignored.
    pub(crate) fn learn(&self, peer: &str, address: &str) -> bool {
        if !self.is_peer(peer) {
            return false;
        }
        let mut addresses = self
            .addresses
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let old = addresses.insert(peer.to_owned(), address.to_owned());
        old.as_deref() != Some(address)
    }

    /// A peer request to `address` carrying this node's id and fingerprint.
    fn request(
        &self,
        address: &str,
        path: &str,
        content_type: &str,
        body: Bytes,
    ) -> Result<hyper::Request<Full<Bytes>>, String> {
        request(
            &self.me,
            self.fingerprint.as_deref(),
            address,
            path,
            content_type,
        )
        .body(Full::new(body))
        .map_err(|e| e.to_string())
    }

    /// POST `body` (JSON) to `path` at `address` and read the whole answer
    /// within `SEND_TIMEOUT` each for the head and the body.
    pub(crate) async fn exchange(
        &self,
        address: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, Bytes), String> {
        use http_body_util::BodyExt;
        let request = self.request(address, path, "application/json", Bytes::from(body))?;
        let response = tokio::time::timeout(SEND_TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| format!("{address} did not answer in time"))?
            .map_err(|e| format!("{address} unreachable: {e}"))?;
        let status = response.status();
        let bytes = tokio::time::timeout(SEND_TIMEOUT, response.into_body().collect())
            .await
            .map_err(|_| format!("{address} did not finish answering in time"))?
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, bytes))
    }

    /// Push a blob to an executor and wait for it to confirm storage.
    pub(crate) async fn push_blob(
        &self,
        to: &str,
        blob_id: &str,
        bytes: Bytes,
    ) -> Result<(), String> {
        let address = self
            .address_of(to)
            .ok_or_else(|| format!("no address known for peer {to}"))?;
        let path = format!("/p2p/v1/blobs/{blob_id}");
        let request = self.request(&address, &path, "application/octet-stream", bytes)?;
        match tokio::time::timeout(BLOB_TIMEOUT, self.client.request(request)).await {
            Ok(Ok(response)) if response.status().is_success() => Ok(()),
            Ok(Ok(response)) => Err(format!("{to} answered {}", response.status())),
            Ok(Err(error)) => Err(format!("{to} unreachable: {error}")),
            Err(_) => Err(format!("{to} did not answer within {BLOB_TIMEOUT:?}")),
        }
    }

    /// Pull committed blocks from `to`, starting at `from`.
    pub(crate) async fn pull(&self, to: &str, from: u64) -> Result<SyncAnswer, String> {
        let address = self
            .address_of(to)
            .ok_or_else(|| format!("no address known for peer {to}"))?;
        let body = serde_json::to_vec(&SyncRequest { from }).map_err(|e| e.to_string())?;
        let (status, bytes) = self.exchange(&address, "/p2p/v1/sync", body).await?;
        if !status.is_success() {
            return Err(format!("{to} answered {status}"));
        }
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())
    }
}

fn read(addresses: &Addresses) -> std::sync::RwLockReadGuard<'_, HashMap<String, String>> {
    addresses.read().unwrap_or_else(PoisonError::into_inner)
}

fn request(
    me: &str,
    fingerprint: Option<&str>,
    address: &str,
    path: &str,
    content_type: &str,
) -> hyper::http::request::Builder {
    let mut builder = hyper::Request::post(format!("http://{address}{path}"))
        .header("content-type", content_type)
        .header(FROM_HEADER, me);
    if let Some(fingerprint) = fingerprint {
        builder = builder.header(FINGERPRINT_HEADER, fingerprint);
    }
    builder
}

/// One peer's outgoing queue, sent in order to its current address.
struct Drain {
    client: HttpClient,
    me: String,
    fingerprint: Option<String>,
    peer: String,
    addresses: Addresses,
}

impl Drain {
    async fn run(self, mut queue: mpsc::Receiver<PeerMessage>) {
        let mut refused_before = false;
        while let Some(message) = queue.recv().await {
            // Not known yet (`--discover`): the message is lost, as on a
            // network that cannot route it.
            let Some(address) = read(&self.addresses).get(&self.peer).cloned() else {
                continue;
            };
            let envelope = Envelope {
                from: self.me.clone(),
                message,
            };
            let Ok(body) = serde_json::to_vec(&envelope) else {
                continue;
            };
            let fingerprint = self.fingerprint.as_deref();
            let path = "/p2p/v1/message";
            let Ok(request) = request(&self.me, fingerprint, &address, path, "application/json")
                .body(Full::new(Bytes::from(body)))
            else {
                continue;
            };
            match tokio::time::timeout(SEND_TIMEOUT, self.client.request(request)).await {
                Ok(Ok(response)) if response.status() == StatusCode::CONFLICT => {
                    if !refused_before {
                        tracing::warn!(peer = %self.peer, %address, "the peer refuses this node: its member list differs");
                    }
                    refused_before = true;
                }
                Ok(Ok(_)) => {}
                Ok(Err(error)) => tracing::trace!(%address, %error, "peer unreachable"),
                Err(_) => tracing::trace!(%address, "peer did not answer in time"),
            }
        }
    }
}

/// The peer port's routes.
pub(crate) fn router(node: Arc<Node>) -> Router {
    Router::new()
        .route("/p2p/v1/message", post(receive))
        .route("/p2p/v1/blobs/{id}", post(store_blob))
        .route("/p2p/v1/sync", post(sync))
        .route("/p2p/v1/peers", post(crate::discovery::answer))
        .layer(DefaultBodyLimit::max(256 << 20))
        .layer(middleware::from_fn_with_state(Arc::clone(&node), admit))
        .with_state(node)
}

/// `--strict-membership`: refuse a request whose sender has another member
/// list (409, saying both fingerprints) before any handler sees it.
async fn admit(State(node): State<Arc<Node>>, request: Request, next: Next) -> Response {
    match admission(&node, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => (StatusCode::CONFLICT, refusal).into_response(),
    }
}

fn admission(node: &Node, headers: &axum::http::HeaderMap) -> Result<(), String> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    node.membership
        .admit(header(FROM_HEADER), header(FINGERPRINT_HEADER))
}

async fn receive(State(node): State<Arc<Node>>, body: Bytes) -> StatusCode {
    match serde_json::from_slice::<Envelope>(&body) {
        Ok(envelope) => {
            node.receive(&envelope.from, envelope.message);
            StatusCode::NO_CONTENT
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

async fn sync(
    State(node): State<Arc<Node>>,
    body: Bytes,
) -> Result<axum::Json<SyncAnswer>, StatusCode> {
    let request: SyncRequest =
        serde_json::from_slice(&body).map_err(|_| StatusCode::BAD_REQUEST)?;
    Ok(axum::Json(node.sync_answer(request.from)))
}

async fn store_blob(
    State(node): State<Arc<Node>>,
    Path(id): Path<String>,
    body: Bytes,
) -> (StatusCode, String) {
    match node.store_blob(&id, &body) {
        Ok(()) => (StatusCode::NO_CONTENT, String::new()),
        Err(reason) => (StatusCode::BAD_REQUEST, reason),
    }
}
