//! The read-retry layer against a scripted fake server (a `tower-test`
//! mock): a read that fails in transport is sent again and its answer
//! comes back; a write that fails is not sent again; a read that keeps
//! failing gives up after three resends with the last error.

use http::{Response, StatusCode};
use tower_test::mock;

use super::*;

type Mock = mock::Mock<Request<Body>, Response<Body>>;
type Handle = mock::Handle<Request<Body>, Response<Body>>;

fn fake_server() -> (RetryReads<Mock>, Handle) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    (RetryReadsLayer.layer(service), handle)
}

fn request(method: Method) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri("/api/v1/namespaces/tb-run/pods/validator-0-0")
        .header("accept", "application/json")
        .body(Body::empty())
        .unwrap()
}

fn dropped() -> BoxError {
    "connection closed before message completed".into()
}

#[tokio::test(start_paused = true)]
async fn a_read_that_fails_in_transport_is_sent_again_and_answered() {
    let (mut client, mut server) = fake_server();
    let answer = tokio::spawn(client.call(request(Method::GET)));
    let (first, respond) = server.next_request().await.unwrap();
    respond.send_error(dropped());
    let (again, respond) = server.next_request().await.unwrap();
    assert_eq!(again.uri(), first.uri());
    assert_eq!(again.headers(), first.headers());
    respond.send_response(
        Response::builder()
            .status(StatusCode::OK)
            .body(Body::empty())
            .unwrap(),
    );
    let answer = answer.await.unwrap().unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
}

/// Send `method`, fail it in transport `times` times; the caller gets the
/// transport error and nothing more is sent.
async fn fails_after(method: Method, times: usize) {
    let (mut client, mut server) = fake_server();
    let answer = tokio::spawn(client.call(request(method.clone())));
    for _ in 0..times {
        let (_, respond) = server.next_request().await.unwrap();
        respond.send_error(dropped());
    }
    let error = answer.await.unwrap().unwrap_err();
    assert!(error.to_string().contains("connection closed"), "{error}");
    drop(client);
    assert!(
        server.next_request().await.is_none(),
        "{method} sent more than {times} times"
    );
}

#[tokio::test(start_paused = true)]
async fn a_write_that_fails_is_not_sent_again() {
    fails_after(Method::POST, 1).await;
}

#[tokio::test(start_paused = true)]
async fn a_read_that_keeps_failing_gives_up_after_three_resends() {
    fails_after(Method::GET, 1 + BACKOFF.len()).await;
}

#[tokio::test(start_paused = true)]
async fn an_error_answer_from_the_server_is_not_resent_here() {
    let (mut client, mut server) = fake_server();
    let answer = tokio::spawn(client.call(request(Method::GET)));
    let (_, respond) = server.next_request().await.unwrap();
    respond.send_response(
        Response::builder()
            .status(StatusCode::INTERNAL_SERVER_ERROR)
            .body(Body::empty())
            .unwrap(),
    );
    let answer = answer.await.unwrap().unwrap();
    assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
    drop(client);
    assert!(server.next_request().await.is_none());
}
