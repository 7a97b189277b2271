//! Node-to-node traffic over HTTP on the peer port: one-way JSON envelopes
//! (consensus messages, forwarded mempool items, pings) and blob pushes to
//! executors. Each peer gets one ordered outgoing queue; a full queue drops
//! the newest message, as a congested network would.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
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

/// Sends to peers.
pub(crate) struct Network {
    me: String,
    client: HttpClient,
    addresses: HashMap<String, String>,
    queues: HashMap<String, mpsc::Sender<PeerMessage>>,
}

impl Network {
    /// Start one sender task per peer.
    pub(crate) fn start(me: String, addresses: HashMap<String, String>) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(SEND_TIMEOUT));
        connector.set_nodelay(true);
        let client: HttpClient = Client::builder(TokioExecutor::new()).build(connector);
        let mut queues = HashMap::new();
        for (peer, address) in &addresses {
            let (sender, receiver) = mpsc::channel(QUEUE_DEPTH);
            queues.insert(peer.clone(), sender);
            tokio::spawn(drain(client.clone(), me.clone(), address.clone(), receiver));
        }
        Self {
            me,
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

    /// Every peer id.
    pub(crate) fn peers(&self) -> impl Iterator<Item = &String> {
        self.addresses.keys()
    }

    /// Push a blob to an executor and wait for it to confirm storage.
    pub(crate) async fn push_blob(
        &self,
        to: &str,
        blob_id: &str,
        bytes: Bytes,
    ) -> Result<(), String> {
        let address = self
            .addresses
            .get(to)
            .ok_or_else(|| format!("unknown peer {to}"))?;
        let request = hyper::Request::post(format!("http://{address}/p2p/v1/blobs/{blob_id}"))
            .header("content-type", "application/octet-stream")
            .header("x-demo-node-from", &self.me)
            .body(Full::new(bytes))
            .map_err(|e| e.to_string())?;
        match tokio::time::timeout(BLOB_TIMEOUT, self.client.request(request)).await {
            Ok(Ok(response)) if response.status().is_success() => Ok(()),
            Ok(Ok(response)) => Err(format!("{to} answered {}", response.status())),
            Ok(Err(error)) => Err(format!("{to} unreachable: {error}")),
            Err(_) => Err(format!("{to} did not answer within {BLOB_TIMEOUT:?}")),
        }
    }
}

impl Network {
    /// Pull committed blocks from `to`, starting at `from`.
    pub(crate) async fn pull(&self, to: &str, from: u64) -> Result<SyncAnswer, String> {
        use http_body_util::BodyExt;
        let address = self
            .addresses
            .get(to)
            .ok_or_else(|| format!("unknown peer {to}"))?;
        let body = serde_json::to_vec(&SyncRequest { from }).map_err(|e| e.to_string())?;
        let request = hyper::Request::post(format!("http://{address}/p2p/v1/sync"))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let response = tokio::time::timeout(SEND_TIMEOUT, self.client.request(request))
            .await
            .map_err(|_| format!("{to} did not answer in time"))?
            .map_err(|e| e.to_string())?;
        let bytes = tokio::time::timeout(SEND_TIMEOUT, response.into_body().collect())
            .await
            .map_err(|_| format!("{to} did not finish answering in time"))?
            .map_err(|e| e.to_string())?
            .to_bytes();
        serde_json::from_slice(&bytes).map_err(|e| e.to_string())
    }
}

async fn drain(
    client: HttpClient,
    me: String,
    address: String,
    mut queue: mpsc::Receiver<PeerMessage>,
) {
    let uri = format!("http://{address}/p2p/v1/message");
    while let Some(message) = queue.recv().await {
        let envelope = Envelope {
            from: me.clone(),
            message,
        };
        let Ok(body) = serde_json::to_vec(&envelope) else {
            continue;
        };
        let Ok(request) = hyper::Request::post(&uri)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
        else {
            continue;
        };
        match tokio::time::timeout(SEND_TIMEOUT, client.request(request)).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::trace!(%address, %error, "peer unreachable"),
            Err(_) => tracing::trace!(%address, "peer did not answer in time"),
        }
    }
}

/// The peer port's routes.
pub(crate) fn router(node: Arc<Node>) -> Router {
    Router::new()
        .route("/p2p/v1/message", post(receive))
        .route("/p2p/v1/blobs/{id}", post(store_blob))
        .route("/p2p/v1/sync", post(sync))
        .layer(DefaultBodyLimit::max(256 << 20))
        .with_state(node)
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
