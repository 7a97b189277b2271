//! The fake node the client tests talk to: [`FakeNodeServer`], an in-process
//! axum server on 127.0.0.1:0 that serves whatever router a test scripts,
//! plus builders for wire bodies and a hit counter.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use node_http::wire;
use node_http::{ClientConfig, NodeHttpClient};
use scenario_core::{HostPort, NodeId};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The node id every fake answers for.
pub(crate) const NODE: &str = "validator-0";

/// A scripted, in-process stand-in for a node: NOT a node, just an HTTP
/// server answering what the test's router says. Stops when dropped.
pub(crate) struct FakeNodeServer {
    address: SocketAddr,
    task: JoinHandle<()>,
}

impl FakeNodeServer {
    /// Serve `router` on a fresh loopback port. The listener is bound before
    /// this returns, so the server accepts connections at once.
    pub(crate) async fn start(router: Router) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding a loopback port");
        let address = listener.local_addr().expect("the bound address");
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .await
                .expect("the fake node server runs");
        });
        Self { address, task }
    }

    /// Where it listens.
    pub(crate) fn address(&self) -> HostPort {
        HostPort::new(self.address.ip().to_string(), self.address.port())
    }

    /// A client with [`fast_config`].
    pub(crate) fn client(&self) -> NodeHttpClient {
        self.client_with(fast_config())
    }

    /// A client with this configuration.
    pub(crate) fn client_with(&self, config: ClientConfig) -> NodeHttpClient {
        NodeHttpClient::new(NodeId::new(NODE), self.address(), config)
    }
}

impl Drop for FakeNodeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The default configuration with short backoffs, so retries stay quick.
pub(crate) fn fast_config() -> ClientConfig {
    let mut config = ClientConfig::default();
    config.timeout = Duration::from_secs(5);
    config.retries = 3;
    config.initial_backoff = Duration::from_millis(5);
    config.max_backoff = Duration::from_millis(20);
    config
}

/// An error answer as the contract shapes it.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(wire::ErrorBody::new(code, message))).into_response()
}

/// A node's self-description.
pub(crate) fn info_body(role: &str, height: u64) -> wire::InfoBody {
    wire::InfoBody {
        node_id: NODE.to_owned(),
        role: role.to_owned(),
        height,
        tip_hash: format!("{height:064x}"),
        finalized_height: height.saturating_sub(2),
        peers: vec!["validator-1".to_owned(), "executor-0".to_owned()],
        leader: Some("validator-1".to_owned()),
        term: 3,
    }
}

/// A block at `height` with one transaction and, on even heights, one blob.
pub(crate) fn block_body(height: u64) -> wire::BlockBody {
    wire::BlockBody {
        height,
        hash: format!("{height:064x}"),
        parent: format!("{:064x}", height - 1),
        proposer: "validator-1".to_owned(),
        committed_at_ms: 1_700_000_000_000 + height,
        finalized: true,
        txs: vec![wire::content_id(&height.to_be_bytes())],
        blobs: if height.is_multiple_of(2) {
            vec![format!("{:064x}", height * 100)]
        } else {
            Vec::new()
        },
    }
}

/// Counts the requests a route saw.
#[derive(Clone, Default)]
pub(crate) struct Hits(Arc<AtomicUsize>);

impl Hits {
    /// Count one request; returns how many came before it.
    pub(crate) fn hit(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst)
    }

    /// How many requests were seen.
    pub(crate) fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}
