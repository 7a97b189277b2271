//! One JSON request to an agent through its front on 127.0.0.1: a fresh
//! HTTP/1 connection each time (a port-forward stream per connection), with
//! a deadline.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// How long one request may take, connection included.
const DEADLINE: Duration = Duration::from_secs(5);

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    /// The agent answered with an error status.
    #[error("the agent answered {status}: {body}")]
    Refused {
        /// The status.
        status: StatusCode,
        /// What it said.
        body: String,
    },
    /// No answer.
    #[error("the agent did not answer: {0}")]
    Unreachable(String),
}

/// Send `body` (if any) as JSON and read the JSON answer.
pub(crate) async fn call<T: DeserializeOwned>(
    front: SocketAddr,
    method: Method,
    path: &str,
    body: Option<&impl Serialize>,
) -> Result<T, CallError> {
    let unreachable = |error: &dyn std::fmt::Display| CallError::Unreachable(error.to_string());
    let exchange = async {
        let stream = tokio::net::TcpStream::connect(front)
            .await
            .map_err(|e| unreachable(&e))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| unreachable(&e))?;
        tokio::spawn(connection);
        let bytes = match body {
            Some(body) => serde_json::to_vec(body).map_err(|e| unreachable(&e))?,
            None => Vec::new(),
        };
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "testbed-agent")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(bytes)))
            .map_err(|e| unreachable(&e))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| unreachable(&e))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| unreachable(&e))?
            .to_bytes();
        if !status.is_success() {
            return Err(CallError::Refused {
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        serde_json::from_slice(&body).map_err(|e| unreachable(&e))
    };
    tokio::time::timeout(DEADLINE, exchange)
        .await
        .unwrap_or_else(|_| {
            Err(CallError::Unreachable(format!(
                "no answer within {DEADLINE:?}"
            )))
        })
}

/// The agent's `GET /status`.
pub(crate) async fn status(front: SocketAddr) -> Result<netplane::agent::Status, CallError> {
    call(front, Method::GET, "/status", None::<&()>).await
}

/// Whether the agent at `front` opens a TCP connection to `to` (within
/// the agent's own 1 s), via its `GET /connect`.
pub(crate) async fn connects(
    front: SocketAddr,
    to: std::net::SocketAddrV4,
) -> Result<bool, CallError> {
    let path = format!("/connect?to={to}");
    call::<netplane::agent::Connected>(front, Method::GET, &path, None::<&()>)
        .await
        .map(|connected| connected.connected)
}
