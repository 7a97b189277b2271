//! Readiness, the same on every backend: one probe against a node's
//! endpoints (an HTTP GET answering 2xx, a TCP connect, or a line in the
//! node's log file), and the deadline a deployer waits for it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use scenario_core::{HostPort, Readiness};

/// The environment variable that overrides the readiness deadline, in seconds.
pub const READY_TIMEOUT_ENV: &str = scenario_core::environment::READY_TIMEOUT_SECS;

/// How long each node may take to become ready: `TESTBED_READY_TIMEOUT_SECS`,
/// else the deployer's `explicit` setting, else `base` plus 250 ms per node.
pub fn ready_deadline(explicit: Option<Duration>, base: Duration, nodes: usize) -> Duration {
    // An invalid value was refused when the plan was built.
    let from_env = scenario_core::environment::ready_timeout().ok().flatten();
    from_env.or(explicit).unwrap_or_else(|| {
        base + Duration::from_millis(250) * u32::try_from(nodes).unwrap_or(u32::MAX)
    })
}

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
    /// port name), its output in `log`.
    pub async fn probe_once(
        &self,
        probe: &Readiness,
        endpoints: &BTreeMap<String, HostPort>,
        log: &Path,
    ) -> bool {
        match probe {
            Readiness::Http { port, path } => {
                let Some(address) = address(endpoints, port) else {
                    return false;
                };
                let Ok(uri) = format!("http://{address}{path}").parse::<hyper::Uri>() else {
                    return false;
                };
                let answer = tokio::time::timeout(PROBE_TIMEOUT, self.0.get(uri)).await;
                matches!(answer, Ok(Ok(response)) if response.status().is_success())
            }
            Readiness::Tcp { port } => {
                let Some(address) = address(endpoints, port) else {
                    return false;
                };
                let connect =
                    tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect(address));
                connect.await.is_ok_and(|connected| connected.is_ok())
            }
            Readiness::LogLine { contains } => {
                std::fs::read_to_string(log).is_ok_and(|text| text.contains(contains.as_str()))
            }
            _ => false,
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
