//! Shared pieces of the Kubernetes end-to-end tests: the cluster (or a
//! printed skip), the demo-node image of this build loaded into the local
//! Docker engine (where the local cluster's kubelet finds it), one run at
//! a time (a 2-core machine runs the cluster too), and the "nothing left"
//! check; the demo-node scenarios come from `e2e-support`.

use deployer_compose::image::ImageBuilder;
use deployer_k8s::kube::Client;
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
        }
        *turn = true;
    }
    Some((client, turn))
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
