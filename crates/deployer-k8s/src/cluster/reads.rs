//! Reads that ride out a dropped connection: a GET or HEAD to the API
//! server that fails before any answer comes back (the server closed an
//! idle keep-alive connection just as the request went out, a reset, a
//! refused connect while the server restarts) is sent again, up to three
//! times with a short backoff. client-go retries its GETs the same way;
//! kube's own `RetryPolicy` retries only on 429/503/504 answers. Writes are
//! never resent here: whether one took effect is for the caller to decide
//! (see `create`, which reads a 409 after a retry as success).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{Method, Request};
use kube::client::Body;
use scenario_core::BoxError;
use tower::{Layer, Service, ServiceExt};

/// The waits before each resend.
const BACKOFF: [Duration; 3] = [
    Duration::from_millis(100),
    Duration::from_millis(400),
    Duration::from_millis(1_000),
];

/// Wraps a client's service stack so reads are resent after a transport
/// failure; see the module docs.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RetryReadsLayer;

impl<S> Layer<S> for RetryReadsLayer {
    type Service = RetryReads<S>;

    fn layer(&self, inner: S) -> RetryReads<S> {
        RetryReads {
            inner: Arc::new(tokio::sync::Mutex::new(inner)),
        }
    }
}

/// The service [`RetryReadsLayer`] makes. The stack below is shared behind
/// a lock held only while a request is handed to it (kube's stack is boxed
/// and cannot be cloned), so this works in any runtime, with no worker task.
pub(crate) struct RetryReads<S> {
    inner: Arc<tokio::sync::Mutex<S>>,
}

impl<S> Clone for RetryReads<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

type Answer<R> = Pin<Box<dyn Future<Output = Result<R, BoxError>> + Send>>;

impl<S> Service<Request<Body>> for RetryReads<S>
where
    S: Service<Request<Body>> + Send + 'static,
    S::Response: Send,
    S::Future: Send,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Answer<S::Response>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Readiness is awaited per request, under the lock, in `send`.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            let mut request = request;
            for wait in BACKOFF {
                let spare = resendable(&request);
                match send(&inner, request).await {
                    Err(error) if spare.is_some() => {
                        tracing::debug!(%error, ?wait, "resending a read after a transport failure");
                        tokio::time::sleep(wait).await;
                        request = spare.expect("checked just above");
                    }
                    answered => return answered,
                }
            }
            send(&inner, request).await
        })
    }
}

async fn send<S>(
    inner: &tokio::sync::Mutex<S>,
    request: Request<Body>,
) -> Result<S::Response, BoxError>
where
    S: Service<Request<Body>>,
    S::Error: Into<BoxError>,
{
    let answer = {
        let mut service = inner.lock().await;
        let ready = service.ready().await.map_err(Into::into)?;
        ready.call(request)
    };
    answer.await.map_err(Into::into)
}

/// A copy of `request` to send again, if it is a read with a body that can
/// be copied (a read's body is empty).
fn resendable(request: &Request<Body>) -> Option<Request<Body>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return None;
    }
    let body = request.body().try_clone()?;
    let mut copy = Request::builder()
        .method(request.method().clone())
        .uri(request.uri().clone())
        .version(request.version())
        .body(body)
        .ok()?;
    copy.headers_mut().clone_from(request.headers());
    copy.extensions_mut().clone_from(request.extensions());
    Some(copy)
}

#[cfg(test)]
mod tests;
