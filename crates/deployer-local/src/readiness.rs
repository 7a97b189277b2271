//! Readiness probes with a deadline: HTTP GET answering 2xx, a TCP connect,
//! or a line in the node's log. A node that exits while being probed fails
//! at once with its exit status and last output.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use scenario_core::{HostPort, Readiness};
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::process::{LOG_LINES, NodeProcess, last_lines};

/// How often a probe is retried.
const PROBE_EVERY: Duration = Duration::from_millis(20);

/// Wait until `node` answers `probe`, at most `limit`.
pub(crate) async fn wait_ready(
    node: &NodeProcess,
    probe: &Readiness,
    listen: &BTreeMap<String, HostPort>,
    limit: Duration,
) -> Result<()> {
    let started = Instant::now();
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    loop {
        if let Some(status) = node.exited() {
            return Err(Error::ExitedBeforeReady {
                node: node.id.clone(),
                status: status.to_string(),
                last_lines: last_lines(&node.log_path, LOG_LINES),
            });
        }
        if probe_once(&client, node, probe, listen).await {
            node.supervise();
            return Ok(());
        }
        if started.elapsed() >= limit {
            return Err(Error::ReadinessTimedOut {
                node: node.id.clone(),
                waited: started.elapsed(),
                probe: describe(probe),
                last_lines: last_lines(&node.log_path, LOG_LINES),
            });
        }
        tokio::time::sleep(PROBE_EVERY).await;
    }
}

fn address(listen: &BTreeMap<String, HostPort>, port: &str) -> Option<SocketAddr> {
    let host_port = listen.get(port)?;
    format!("{host_port}").parse().ok()
}

async fn probe_once(
    client: &Client<hyper_util::client::legacy::connect::HttpConnector, Empty<bytes::Bytes>>,
    node: &NodeProcess,
    probe: &Readiness,
    listen: &BTreeMap<String, HostPort>,
) -> bool {
    match probe {
        Readiness::Http { port, path } => {
            let Some(addr) = address(listen, port) else {
                return false;
            };
            let Ok(uri) = format!("http://{addr}{path}").parse::<hyper::Uri>() else {
                return false;
            };
            let answer = tokio::time::timeout(Duration::from_millis(500), client.get(uri)).await;
            matches!(answer, Ok(Ok(response)) if response.status().is_success())
        }
        Readiness::Tcp { port } => {
            let Some(addr) = address(listen, port) else {
                return false;
            };
            tokio::time::timeout(
                Duration::from_millis(500),
                tokio::net::TcpStream::connect(addr),
            )
            .await
            .is_ok_and(|connected| connected.is_ok())
        }
        Readiness::LogLine { contains } => {
            std::fs::read_to_string(&node.log_path).is_ok_and(|log| log.contains(contains.as_str()))
        }
        _ => false,
    }
}

pub(crate) fn describe(probe: &Readiness) -> String {
    match probe {
        Readiness::Http { port, path } => format!("GET {path} on port '{port}' never answered 2xx"),
        Readiness::Tcp { port } => format!("port '{port}' never accepted a connection"),
        Readiness::LogLine { contains } => format!("the log never showed {contains:?}"),
        other => format!("unsupported probe {other:?}"),
    }
}
