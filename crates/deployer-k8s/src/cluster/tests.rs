//! The create rules against a scripted fake API server (a `tower-test`
//! mock, named as the fake it is): what a real server answers right after a
//! namespace appears is retried as told, a 409 after a retry is the object
//! being there, and a 409 at once or a 403 from a terminating namespace is
//! an error naming the object and the server's reason.

use http::{Request, Response, StatusCode};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::Api;
use kube::client::Body;
use kube::core::Status;
use tower_test::mock;

use super::*;

fn status(code: u16, reason: &str, message: &str, retry: u32) -> String {
    let mut status = Status::failure(message, reason);
    status.code = code;
    let mut json = serde_json::to_value(&status).unwrap();
    if retry > 0 {
        json["details"] = serde_json::json!({ "retryAfterSeconds": retry });
    }
    json["kind"] = "Status".into();
    json["apiVersion"] = "v1".into();
    json.to_string()
}

fn created() -> String {
    serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": "validator-0", "namespace": "tb-run" }
    })
    .to_string()
}

/// A client whose server answers the requests with `answers`, in order;
/// the methods and paths it was asked, once the test is done with it.
fn fake_server(answers: Vec<(u16, String)>) -> (Client, tokio::task::JoinHandle<Vec<String>>) {
    let (service, mut handle) = mock::pair::<Request<Body>, Response<Body>>();
    let server = tokio::spawn(async move {
        let mut asked = Vec::new();
        for (code, body) in answers {
            let Some((request, respond)) = handle.next_request().await else {
                break;
            };
            asked.push(format!("{} {}", request.method(), request.uri().path()));
            let response = Response::builder()
                .status(StatusCode::from_u16(code).unwrap())
                .header("content-type", "application/json")
                .body(Body::from(body.into_bytes()))
                .unwrap();
            respond.send_response(response);
        }
        asked
    });
    (Client::new(service, "default"), server)
}

fn config_map() -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some("validator-0".to_owned()),
            ..ObjectMeta::default()
        },
        ..ConfigMap::default()
    }
}

#[tokio::test(start_paused = true)]
async fn the_missing_service_account_token_right_after_a_namespace_is_retried_as_told() {
    let token = "No API token found for service account \"default\", retry after the token is automatically created and added to the service account";
    let (client, server) = fake_server(vec![
        (500, status(500, "ServerTimeout", token, 1)),
        (201, created()),
    ]);
    let api: Api<ConfigMap> = Api::namespaced(client, "tb-run");
    create(&api, &config_map()).await.unwrap();
    let asked = server.await.unwrap();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(
        asked
            .iter()
            .all(|a| a == "POST /api/v1/namespaces/tb-run/configmaps"),
        "{asked:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_409_after_a_retry_is_the_earlier_attempt_having_made_it() {
    let (client, server) = fake_server(vec![
        (503, status(503, "ServiceUnavailable", "etcd is slow", 0)),
        (
            409,
            status(
                409,
                "AlreadyExists",
                "configmaps \"validator-0\" already exists",
                0,
            ),
        ),
    ]);
    let api: Api<ConfigMap> = Api::namespaced(client, "tb-run");
    create(&api, &config_map()).await.unwrap();
    assert_eq!(server.await.unwrap().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_leftover_with_the_name_or_a_terminating_namespace_is_an_error_with_the_reason() {
    let (client, _server) = fake_server(vec![(
        409,
        status(
            409,
            "AlreadyExists",
            "configmaps \"validator-0\" already exists",
            0,
        ),
    )]);
    let api: Api<ConfigMap> = Api::namespaced(client, "tb-run");
    let error = create(&api, &config_map()).await.unwrap_err().to_string();
    assert!(
        error.starts_with("could not create ConfigMap validator-0:"),
        "{error}"
    );
    assert!(error.contains("already exists"), "{error}");

    let terminating = "configmaps \"validator-0\" is forbidden: unable to create new content in namespace tb-run because it is being terminated";
    let (client, _server) = fake_server(vec![(403, status(403, "Forbidden", terminating, 0))]);
    let api: Api<ConfigMap> = Api::namespaced(client, "tb-run");
    let error = create(&api, &config_map()).await.unwrap_err().to_string();
    assert!(error.contains("because it is being terminated"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_server_that_keeps_refusing_is_given_up_on_after_30_seconds() {
    let answers = (0..40)
        .map(|_| (500, status(500, "ServerTimeout", "still no token", 1)))
        .collect();
    let (client, _server) = fake_server(answers);
    let api: Api<ConfigMap> = Api::namespaced(client, "tb-run");
    let error = create(&api, &config_map()).await.unwrap_err().to_string();
    assert!(error.contains("still no token"), "{error}");
}

#[test]
fn only_what_the_server_says_to_retry_is_retried() {
    let error = |code, retry| {
        let body: Status = serde_json::from_str(&status(code, "x", "refused", retry)).unwrap();
        kube::Error::Api(body.boxed())
    };
    assert_eq!(retry_after(&error(500, 1)), Some(Duration::from_secs(1)));
    assert_eq!(retry_after(&error(429, 0)), Some(Duration::from_secs(1)));
    assert_eq!(retry_after(&error(500, 0)), None);
    assert_eq!(retry_after(&error(403, 0)), None);
    assert_eq!(retry_after(&error(409, 0)), None);
}
