//! What cannot start fails the deploy at once with its reason, not after a
//! timeout: an image that cannot be pulled, a node that exits before it is
//! ready (named with its last output, its launch file having reached it
//! through the ConfigMap); and reaping deletes the namespaces of runners
//! whose lease expired, and no other.

use std::collections::BTreeMap;
use std::time::Duration;

use deployer_k8s::K8sDeployer;
use deployer_k8s::k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use deployer_k8s::k8s_openapi::api::core::v1::Namespace;
use deployer_k8s::k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use deployer_k8s::k8s_openapi::jiff::{SignedDuration, Timestamp};
use deployer_k8s::kube::Client;
use deployer_k8s::kube::api::{Api, DeleteParams, PostParams};
use deployer_k8s::names::{MANAGED_BY, MANAGED_BY_LABEL, RUN_LABEL};
use e2e_support::FromConfigFile;
use scenario_core::NodeOverride;
use scenario_core::prelude::*;

use crate::support::{assert_nothing_left, cluster, scenario};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_that_cannot_be_pulled_fails_the_deploy_with_the_reason() {
    let Some((client, _turn)) = cluster("missing image").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let topology = Topology::new().validators(3).override_node(
        "validator-2",
        NodeOverride::new().image("testbed/demo-node:absent"),
    );
    let plan = scenario("k8s-missing", 3, 0, 2, root.path())
        .topology(topology)
        .build()
        .unwrap();
    let report = plan.run(&K8sDeployer::new()).await.unwrap();

    assert!(!report.passed);
    let failure = report.failures.join("\n");
    assert!(failure.contains("validator-2"), "{failure}");
    assert!(
        failure.contains("cannot start: ErrImagePull")
            || failure.contains("cannot start: ImagePullBackOff"),
        "{failure}"
    );
    assert!(failure.contains("testbed/demo-node:absent"), "{failure}");
    assert!(failure.contains("its pod's events:"), "{failure}");
    // Failed fast: well before the readiness deadline of 60 s.
    assert!(!failure.contains("was not ready after"), "{failure}");
    assert_nothing_left(&client, &report).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_exits_before_it_is_ready_is_named_with_its_output() {
    let Some((client, _turn)) = cluster("early exit").await else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let plan = scenario("k8s-early-exit", 3, 0, 2, root.path())
        .node_kind(FromConfigFile(r#"{"mempool_limit": 0}"#))
        .build()
        .unwrap();
    let report = plan.run(&K8sDeployer::new()).await.unwrap();

    assert!(!report.passed);
    let failure = report.failures.join("\n");
    assert!(failure.starts_with("deploy on k8s failed:"), "{failure}");
    assert!(
        failure.contains("exited with code 2") || failure.contains("CrashLoopBackOff"),
        "{failure}"
    );
    // Only the file sets the limit: the node read it from /data.
    assert!(
        failure.contains("--mempool-limit must be between"),
        "{failure}"
    );
    assert!(!failure.contains("was not ready after"), "{failure}");
    assert_nothing_left(&client, &report).await;
}

/// A namespace labelled as a run's, with the run's lease renewed `ago`.
async fn run_namespace(client: &Client, name: &str, ago: Duration) {
    let labels = BTreeMap::from([
        (MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned()),
        (RUN_LABEL.to_owned(), name.to_owned()),
    ]);
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap();
    let renewed = Timestamp::now() - SignedDuration::try_from(ago).unwrap();
    let lease = Lease {
        metadata: ObjectMeta {
            name: Some("testbed-runner".to_owned()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some("elsewhere/1".to_owned()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(renewed)),
            ..LeaseSpec::default()
        }),
    };
    Api::<Lease>::namespaced(client.clone(), name)
        .create(&PostParams::default(), &lease)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reap_deletes_the_namespace_of_an_expired_lease_and_keeps_a_live_one() {
    let Some((client, _turn)) = cluster("reap").await else {
        return;
    };
    let pid = std::process::id();
    let (dead, alive) = (
        format!("tb-reap-dead-{pid}"),
        format!("tb-reap-alive-{pid}"),
    );
    run_namespace(&client, &dead, Duration::from_secs(3600)).await;
    run_namespace(&client, &alive, Duration::ZERO).await;

    let reaped = deployer_k8s::reap(&client).await.unwrap();

    let namespaces = Api::<Namespace>::all(client.clone());
    let _ = namespaces.delete(&alive, &DeleteParams::default()).await;
    let names: Vec<_> = reaped.iter().map(|run| run.namespace.as_str()).collect();
    assert!(names.contains(&dead.as_str()), "{reaped:?}");
    assert!(!names.contains(&alive.as_str()), "{reaped:?}");
    let holder = reaped.iter().find(|run| run.namespace == dead).unwrap();
    assert_eq!(holder.holder.as_deref(), Some("elsewhere/1"));
    let gone = namespaces.get_opt(&dead).await.unwrap();
    assert!(gone.is_none_or(|ns| ns.metadata.deletion_timestamp.is_some()));
}
