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
        self.probe(probe, endpoints, log).await.is_ok()
    }

    /// Probe once: `Ok` when the node answered, else what it answered
    /// instead (an HTTP status, a refused connection, a timeout), for the
    /// error message of a readiness wait that ran out.
    pub async fn probe(
        &self,
        probe: &Readiness,
        endpoints: &BTreeMap<String, HostPort>,
        log: &Path,
    ) -> Result<(), String> {
        match probe {
            Readiness::Http { port, path } => {
                let address = address(endpoints, port).ok_or("the port has no address")?;
                let uri = format!("http://{address}{path}")
                    .parse::<hyper::Uri>()
                    .map_err(|e| format!("not a valid request path: {e}"))?;
                match tokio::time::timeout(PROBE_TIMEOUT, self.0.get(uri)).await {
                    Ok(Ok(response)) if response.status().is_success() => Ok(()),
                    Ok(Ok(response)) => Err(format!("it answered {}", response.status())),
                    Ok(Err(error)) => Err(format!("no answer: {}", cause(&error))),
                    Err(_) => Err(format!("no answer within {PROBE_TIMEOUT:?}")),
                }
            }
            Readiness::Tcp { port } => {
                let address = address(endpoints, port).ok_or("the port has no address")?;
                let connect =
                    tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect(address));
                match connect.await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(error)) => Err(format!("connect: {error}")),
                    Err(_) => Err(format!("no connection within {PROBE_TIMEOUT:?}")),
                }
            }
            Readiness::LogLine { contains } => {
                let text = std::fs::read_to_string(log).unwrap_or_default();
                if text.contains(contains.as_str()) {
                    Ok(())
                } else {
                    Err("not in the log yet".to_owned())
                }
            }
            other => Err(format!("unsupported probe {other:?}")),
        }
    }
}

/// The innermost cause of a client error (e.g. `Connection refused`).
fn cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = error;
    while let Some(source) = inner.source() {
        inner = source;
    }
    inner.to_string()
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

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn a_failed_probe_says_what_the_node_answered_instead() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = [0u8; 1024];
                let _ = stream.read(&mut request).await;
                let answer = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n";
                let _ = stream.write_all(answer).await;
            }
        });
        let endpoints = BTreeMap::from([("api".to_owned(), HostPort::new("127.0.0.1", port))]);
        let probe = Readiness::http("api", "/ready");
        let answer = Prober::default()
            .probe(&probe, &endpoints, Path::new("/nonexistent"))
            .await;
        assert_eq!(
            answer,
            Err("it answered 503 Service Unavailable".to_owned())
        );

        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let gone = closed.local_addr().unwrap().port();
        drop(closed);
        let endpoints = BTreeMap::from([("api".to_owned(), HostPort::new("127.0.0.1", gone))]);
        let refused = Prober::default()
            .probe(
                &Readiness::tcp("api"),
                &endpoints,
                Path::new("/nonexistent"),
            )
            .await
            .unwrap_err();
        assert!(refused.contains("refused"), "{refused}");
    }
}
