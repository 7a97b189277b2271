//! Shared pieces of the Kubernetes end-to-end tests: the cluster (or a
//! printed skip), the demo-node image of this build loaded into the local
//! Docker engine (where the local cluster's kubelet finds it), one run at
//! a time (a 2-core machine runs the cluster too), and the "nothing left"
//! check; the demo-node scenarios come from `e2e-support`.

use deployer_compose::image::ImageBuilder;
use deployer_k8s::k8s_openapi::api::core::v1::Pod;
use deployer_k8s::kube::{Api, Client};
pub(crate) use e2e_support::{demo_node, scenario};
use scenario_core::prelude::*;

/// Set to `1` to make "no cluster" a failure instead of a skip (CI does).
const REQUIRE_ENV: &str = "TESTBED_REQUIRE_K8S";

/// One test on the cluster at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<bool> = tokio::sync::Mutex::const_new(false);

/// The cluster, the image built and this test's turn; `None` after
/// printing why the test is skipped.
pub(crate) async fn cluster(
    test: &str,
) -> Option<(Client, tokio::sync::MutexGuard<'static, bool>)> {
    let client = match deployer_k8s::connect().await {
        Ok(client) => client,
        Err(e) if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") => {
            panic!("{REQUIRE_ENV}=1 but no Kubernetes cluster is usable: {e}")
        }
        Err(e) => {
            eprintln!("skipped {test}: {e} (set {REQUIRE_ENV}=1 to fail instead)");
            return None;
        }
    };
    let mut turn = ONE_AT_A_TIME.lock().await;
    if !*turn {
        // Where a Docker engine answers, the image goes into it: the local
        // cluster's kubelet runs its pods there. Another cluster needs the
        // image in its own registry or nodes.
        if let Ok(docker) = deployer_compose::connect(None).await {
            ImageBuilder::new(demo_node().program(), demo_node::DEFAULT_IMAGE)
                .build(&docker)
                .await
                .expect("the demo-node image builds");
            ImageBuilder::new(agent_binary(), deployer_k8s::DEFAULT_AGENT_IMAGE)
                .build(&docker)
                .await
                .expect("the fault agent's image builds");
        }
        *turn = true;
    }
    Some((client, turn))
}

/// `testbed-agent` of this build, beside the test binary's directory
/// (`cargo test --workspace` builds it; so does `cargo build -p k8s-agent`).
fn agent_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary");
    let dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target/<profile>/deps");
    let binary = dir.join("testbed-agent");
    assert!(
        binary.is_file(),
        "{} is missing: run `cargo build -p k8s-agent` (or the whole workspace's tests)",
        binary.display()
    );
    binary
}

/// A GET to `path` on `port` of `pod` in `namespace`, through a
/// port-forward of the test's own, answered as JSON.
pub(crate) async fn pod_get(
    client: &Client,
    namespace: &str,
    pod: &str,
    port: u16,
    path: &str,
) -> Result<serde_json::Value, String> {
    use http_body_util::BodyExt;
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let mut forward = pods
        .portforward(pod, &[port])
        .await
        .map_err(|e| e.to_string())?;
    let stream = forward.take_stream(port).ok_or("no stream")?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let request = http::Request::get(path)
        .header("host", "test")
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        sender.send_request(request),
    )
    .await
    .map_err(|_| "no answer within 5 s".to_owned())?
    .map_err(|e| e.to_string())?;
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    serde_json::from_slice(&body).map_err(|e| format!("{e}: {}", String::from_utf8_lossy(&body)))
}

/// Nothing labelled with the run's id is left in the cluster.
pub(crate) async fn assert_nothing_left(client: &Client, report: &Report) {
    let left = deployer_k8s::leftovers(client, &report.run_id)
        .await
        .expect("the cluster lists objects");
    assert!(left.is_empty(), "run {} left {left:?}", report.run_id);
}

/// Every cleanup step of the report succeeded, the leak audit among them.
pub(crate) fn assert_clean(report: &Report) {
    assert!(
        report.cleanup.iter().all(|c| c.error.is_none()),
        "{:?}",
        report.cleanup
    );
    assert!(
        report
            .cleanup
            .iter()
            .any(|c| c.label == "leak audit by label"),
        "{:?}",
        report.cleanup
    );
}
