//! One readiness probe against a node's endpoints: an HTTP GET answering
//! 2xx, or a TCP connect. Log-line readiness depends on where the backend
//! keeps the node's output, so deployers check that themselves.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use scenario_core::{HostPort, Readiness};

/// How long one probe waits for an answer.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// An HTTP client for probes; build one per wait and reuse it.
#[derive(Clone, Debug)]
pub struct Prober(Client<HttpConnector, Empty<bytes::Bytes>>);

impl Default for Prober {
    fn default() -> Self {
        Self(Client::builder(TokioExecutor::new()).build_http())
    }
}

fn address(endpoints: &BTreeMap<String, HostPort>, port: &str) -> Option<SocketAddr> {
    format!("{}", endpoints.get(port)?).parse().ok()
}

impl Prober {
    /// Whether the node answers `probe` now, reached at `endpoints` (per
    /// port name). `None` for a probe this function does not run
    /// ([`Readiness::LogLine`] and kinds added later).
    pub async fn probe_once(
        &self,
        probe: &Readiness,
        endpoints: &BTreeMap<String, HostPort>,
    ) -> Option<bool> {
        match probe {
            Readiness::Http { port, path } => {
                let Some(address) = address(endpoints, port) else {
                    return Some(false);
                };
                let Ok(uri) = format!("http://{address}{path}").parse::<hyper::Uri>() else {
                    return Some(false);
                };
                let answer = tokio::time::timeout(PROBE_TIMEOUT, self.0.get(uri)).await;
                Some(matches!(answer, Ok(Ok(response)) if response.status().is_success()))
            }
            Readiness::Tcp { port } => {
                let Some(address) = address(endpoints, port) else {
                    return Some(false);
                };
                let connect =
                    tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect(address));
                Some(connect.await.is_ok_and(|connected| connected.is_ok()))
            }
            _ => None,
        }
    }
}

/// What a probe that never succeeded was waiting for, for error messages.
pub fn describe(probe: &Readiness) -> String {
    match probe {
        Readiness::Http { port, path } => format!("GET {path} on port '{port}' never answered 2xx"),
        Readiness::Tcp { port } => format!("port '{port}' never accepted a connection"),
        Readiness::LogLine { contains } => format!("the log never showed {contains:?}"),
        other => format!("unsupported probe {other:?}"),
    }
}
