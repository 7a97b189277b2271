//! How an answer becomes a result: decoding JSON bodies, mapping error
//! answers and transport failures onto [`ClientError`]s that name the node.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::header::RETRY_AFTER;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use scenario_core::{BoxError, ClientError};
use serde::de::DeserializeOwned;
use tower::timeout::error::Elapsed;

use super::NodeHttpClient;
use crate::wire;

impl NodeHttpClient {
    /// Decode a successful JSON answer, or map an error answer.
    pub(super) async fn json<T: DeserializeOwned>(
        &self,
        exchange: Exchange,
    ) -> Result<T, ClientError> {
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
    pub(super) async fn read_body(&self, exchange: Exchange) -> Result<Bytes, ClientError> {
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
    pub(super) async fn error_answer(&self, exchange: Exchange) -> ClientError {
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

    pub(super) fn transport_failure(&self, what: &str, error: &BoxError) -> ClientError {
        if error.is::<Elapsed>() {
            let timeout = self.shared.config.timeout;
            return self.unavailable(format!("{what}: no answer within {timeout:?}"));
        }
        self.unavailable(format!("{what}: {}", chain(error.as_ref())))
    }

    pub(super) fn unavailable(&self, reason: String) -> ClientError {
        ClientError::Unavailable {
            node: self.shared.node.clone(),
            source: Box::new(Cause(reason)),
        }
    }

    pub(super) fn protocol(&self, detail: String) -> ClientError {
        ClientError::Protocol {
            node: self.shared.node.clone(),
            detail,
        }
    }
}

/// A request that got an HTTP answer.
pub(super) struct Exchange {
    /// `METHOD /path`, for messages.
    pub(super) what: String,
    pub(super) response: Response<Incoming>,
}

/// Why a node is unavailable, as one sentence (the transport error's chain
/// rendered into it, so the reason shows however the error is printed).
#[derive(Debug)]
pub(super) struct Cause(pub(super) String);

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Cause {}

/// An error and its sources, joined by `: `.
pub(super) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
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
pub(super) fn snippet(bytes: &[u8]) -> String {
    const LIMIT: usize = 200;
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(LIMIT)]).into_owned();
    if bytes.len() > LIMIT {
        format!("{text}…")
    } else {
        text
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
