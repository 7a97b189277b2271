//! Which requests the client sends again, and when: [`RetryPolicy`], the
//! tower retry policy of [`NodeHttpClient`](super::NodeHttpClient)'s stack.

use std::time::Duration;

use http::header::RETRY_AFTER;
use http::{Method, Request, Response, StatusCode};
use scenario_core::BoxError;
use tower::retry::Policy;

use super::ClientConfig;

/// Whether a request may be sent again, as a request extension set by each
/// call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Retry {
    /// Never send it twice.
    Never,
    /// Sending it twice has the effect of sending it once.
    Idempotent,
}

/// Retries idempotent requests on transport errors, timeouts and `503`
/// answers without `Retry-After`, with exponential backoff.
///
/// A request is idempotent when it carries [`Retry::Idempotent`], or, without
/// a mark, when its method is `GET` or `HEAD`. `POST`s are never retried
/// unless marked: only `submit_tx` and `disperse_blob` are, because their ids
/// are content hashes and the node answers a known payload with the same id.
///
/// A `503` with `Retry-After` (e.g. a full mempool) is not retried: the node
/// said when to come back, which is for the caller to honour.
#[derive(Clone, Debug)]
pub(super) struct RetryPolicy {
    /// Retries left for this request.
    remaining: u32,
    /// Retries done so far for this request.
    done: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
}

impl RetryPolicy {
    pub(super) fn new(config: &ClientConfig) -> Self {
        Self {
            remaining: config.retries,
            done: 0,
            initial_backoff: config.initial_backoff,
            max_backoff: config.max_backoff,
        }
    }

    /// The wait before retry number `retry` (from 0): doubling, capped.
    fn backoff(&self, retry: u32) -> Duration {
        self.initial_backoff
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.max_backoff)
    }

    fn is_idempotent<B>(request: &Request<B>) -> bool {
        match request.extensions().get::<Retry>() {
            Some(Retry::Idempotent) => true,
            Some(Retry::Never) => false,
            None => matches!(*request.method(), Method::GET | Method::HEAD),
        }
    }
}

impl<ReqBody: Clone, ResBody> Policy<Request<ReqBody>, Response<ResBody>, BoxError>
    for RetryPolicy
{
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        request: &mut Request<ReqBody>,
        result: &mut Result<Response<ResBody>, BoxError>,
    ) -> Option<Self::Future> {
        if self.remaining == 0 || !Self::is_idempotent(request) {
            return None;
        }
        let again = match result {
            Ok(response) => {
                response.status() == StatusCode::SERVICE_UNAVAILABLE
                    && !response.headers().contains_key(RETRY_AFTER)
            }
            Err(_) => true,
        };
        if !again {
            return None;
        }
        let wait = self.backoff(self.done);
        self.remaining -= 1;
        self.done += 1;
        let outcome = match result {
            Ok(response) => response.status().to_string(),
            Err(error) => error.to_string(),
        };
        tracing::debug!(uri = %request.uri(), retry = self.done, ?wait, %outcome, "retrying");
        Some(tokio::time::sleep(wait))
    }

    fn clone_request(&mut self, request: &Request<ReqBody>) -> Option<Request<ReqBody>> {
        if self.remaining == 0 || !Self::is_idempotent(request) {
            return None;
        }
        let mut clone = Request::new(request.body().clone());
        *clone.method_mut() = request.method().clone();
        *clone.uri_mut() = request.uri().clone();
        *clone.version_mut() = request.version();
        *clone.headers_mut() = request.headers().clone();
        if let Some(retry) = request.extensions().get::<Retry>() {
            clone.extensions_mut().insert(*retry);
        }
        Some(clone)
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn policy(retries: u32) -> RetryPolicy {
        RetryPolicy::new(&ClientConfig {
            retries,
            ..ClientConfig::default()
        })
    }

    fn request(method: Method, mark: Option<Retry>) -> Request<()> {
        let mut request = Request::new(());
        *request.method_mut() = method;
        if let Some(mark) = mark {
            request.extensions_mut().insert(mark);
        }
        request
    }

    fn status(status: StatusCode) -> Result<Response<()>, BoxError> {
        let mut response = Response::new(());
        *response.status_mut() = status;
        Ok(response)
    }

    fn failed() -> Result<Response<()>, BoxError> {
        Err("connection refused".into())
    }

    fn retries<B: Clone>(
        policy: &mut RetryPolicy,
        request: &mut Request<B>,
        result: &mut Result<Response<()>, BoxError>,
    ) -> bool {
        Policy::retry(policy, request, result).is_some()
    }

    #[tokio::test]
    async fn a_post_without_an_idempotency_mark_is_never_retried() {
        let mut policy = policy(3);
        let mut post = request(Method::POST, None);
        assert!(Policy::<_, Response<()>, BoxError>::clone_request(&mut policy, &post).is_none());
        assert!(!retries(&mut policy, &mut post, &mut failed()));
        assert!(!retries(
            &mut policy,
            &mut post,
            &mut status(StatusCode::SERVICE_UNAVAILABLE)
        ));
    }

    #[tokio::test]
    async fn a_request_marked_never_is_not_retried_even_as_a_get() {
        let mut policy = policy(3);
        let mut get = request(Method::GET, Some(Retry::Never));
        assert!(Policy::<_, Response<()>, BoxError>::clone_request(&mut policy, &get).is_none());
        assert!(!retries(&mut policy, &mut get, &mut failed()));
    }

    #[tokio::test]
    async fn a_post_marked_idempotent_is_retried_and_cloned_with_its_mark() {
        let mut policy = policy(3);
        let mut post = request(Method::POST, Some(Retry::Idempotent));
        let clone = Policy::<_, Response<()>, BoxError>::clone_request(&mut policy, &post)
            .expect("an idempotent request is cloned");
        assert_eq!(clone.method(), Method::POST);
        assert_eq!(clone.extensions().get::<Retry>(), Some(&Retry::Idempotent));
        assert!(retries(&mut policy, &mut post, &mut failed()));
    }

    #[tokio::test]
    async fn gets_are_retried_on_errors_and_503_until_the_retries_are_spent() {
        let mut policy = policy(2);
        let mut get = request(Method::GET, None);
        assert!(retries(&mut policy, &mut get, &mut failed()));
        assert!(retries(
            &mut policy,
            &mut get,
            &mut status(StatusCode::SERVICE_UNAVAILABLE)
        ));
        assert!(!retries(&mut policy, &mut get, &mut failed()));
    }

    #[tokio::test]
    async fn answers_other_than_a_plain_503_are_not_retried() {
        let mut policy = policy(3);
        let mut get = request(Method::GET, None);
        for code in [
            StatusCode::OK,
            StatusCode::NOT_FOUND,
            StatusCode::BAD_REQUEST,
            StatusCode::INTERNAL_SERVER_ERROR,
        ] {
            assert!(!retries(&mut policy, &mut get, &mut status(code)), "{code}");
        }
        let mut overloaded = status(StatusCode::SERVICE_UNAVAILABLE);
        if let Ok(response) = &mut overloaded {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("2"));
        }
        assert!(!retries(&mut policy, &mut get, &mut overloaded));
    }

    #[test]
    fn backoff_doubles_from_the_initial_wait_and_is_capped() {
        let policy = RetryPolicy::new(&ClientConfig {
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            ..ClientConfig::default()
        });
        let waits: Vec<u64> = (0..8)
            .map(|retry| policy.backoff(retry).as_millis() as u64)
            .collect();
        assert_eq!(waits, [50, 100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_secs(1));
    }
}
