//! `cargo xtask bench k8s`: what the Kubernetes deployer costs.
//!
//! Deploy-to-ready for 4 demo-node pods through the framework (the run's
//! deploy phase: reaching the cluster, reaping, rendering, the namespace and
//! lease, a ConfigMap-less StatefulSet and headless Service per node, fronts,
//! log followers, readiness through the pod's Ready condition and the
//! framework's probe over port-forward), against the floor of raw kube calls
//! in the same run: a namespace and the same 4 pods (same image, args and
//! readiness probe, emptyDir data) created directly, polled until each is
//! Ready. Both on emptyDir, so no volume provisioning is timed. Medians of
//! 5, alternating framework and floor; printed as a ratio.

#![allow(clippy::print_stdout)] // A benchmark reports on stdout.

use std::time::{Duration, Instant};

use demo_node::{API_PORT, DemoNode, P2P_PORT};
use deployer_k8s::k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, HTTPGetAction, Namespace, Pod, PodSpec, Probe, Volume,
    VolumeMount,
};
use deployer_k8s::k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use deployer_k8s::k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use deployer_k8s::kube::Client;
use deployer_k8s::kube::api::{Api, DeleteParams, PostParams};
use deployer_k8s::{K8sDeployer, Storage};
use scenario_core::report::Phase;
use scenario_core::{Scenario, Topology};

const REPEATS: usize = 5;
const NODES: usize = 4;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

async fn framework(root: &std::path::Path) -> Duration {
    let plan = Scenario::builder("bench-k8s")
        .topology(Topology::new().validators(NODES))
        .node_kind(DemoNode::locate().unwrap())
        .window(Duration::from_millis(1))
        .artifacts_root(root)
        .build()
        .unwrap();
    let report = plan
        .run(&K8sDeployer::new().storage(Storage::EmptyDir))
        .await
        .unwrap();
    assert!(report.passed, "{report}");
    Duration::from_millis(report.phase(Phase::Deploy).unwrap().duration_ms)
}

fn floor_pod(i: usize, namespace: &str) -> Pod {
    let mut args = vec![
        format!("--node-id=validator-{i}"),
        "--role=validator".to_owned(),
        format!("--api-listen=0.0.0.0:{API_PORT}"),
        format!("--p2p-listen=0.0.0.0:{P2P_PORT}"),
        "--data-dir=/data".to_owned(),
    ];
    for j in (0..NODES).filter(|j| *j != i) {
        args.push(format!(
            "--peer=validator-{j}=validator@floor-{j}.{namespace}:{P2P_PORT}"
        ));
    }
    Pod {
        metadata: ObjectMeta {
            name: Some(format!("floor-{i}")),
            ..ObjectMeta::default()
        },
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "node".to_owned(),
                image: Some(demo_node::DEFAULT_IMAGE.to_owned()),
                image_pull_policy: Some("IfNotPresent".to_owned()),
                args: Some(args),
                readiness_probe: Some(Probe {
                    http_get: Some(HTTPGetAction {
                        port: IntOrString::Int(i32::from(API_PORT)),
                        path: Some("/testing/v1/ready".to_owned()),
                        ..HTTPGetAction::default()
                    }),
                    period_seconds: Some(1),
                    ..Probe::default()
                }),
                volume_mounts: Some(vec![VolumeMount {
                    name: "data".to_owned(),
                    mount_path: "/data".to_owned(),
                    ..VolumeMount::default()
                }]),
                ..Container::default()
            }],
            volumes: Some(vec![Volume {
                name: "data".to_owned(),
                empty_dir: Some(EmptyDirVolumeSource::default()),
                ..Volume::default()
            }]),
            termination_grace_period_seconds: Some(5),
            enable_service_links: Some(false),
            automount_service_account_token: Some(false),
            ..PodSpec::default()
        }),
        ..Pod::default()
    }
}

/// The same pods with bare API calls, in a namespace of their own that is
/// deleted (by name, it being this benchmark's) and waited for afterwards.
async fn floor(client: &Client, round: usize) -> Duration {
    let name = format!("bench-floor-{}-{round}", std::process::id());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let started = Instant::now();
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    namespaces
        .create(&PostParams::default(), &namespace)
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), &name);
    for i in 0..NODES {
        // The fresh namespace's service account may not exist yet: the
        // server says so, and the create is simply asked again.
        while let Err(error) = pods
            .create(&PostParams::default(), &floor_pod(i, &name))
            .await
        {
            assert!(started.elapsed() < Duration::from_secs(30), "{error}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for i in 0..NODES {
        loop {
            let pod = pods.get(&format!("floor-{i}")).await.unwrap();
            if deployer_k8s::pod_is_ready(&pod) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "never ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let ready = started.elapsed();
    namespaces
        .delete(&name, &DeleteParams::default())
        .await
        .unwrap();
    while namespaces.get_opt(&name).await.unwrap().is_some() {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    ready
}

#[tokio::main]
async fn main() {
    let client = deployer_k8s::connect()
        .await
        .expect("the benchmark needs a cluster (KUBECONFIG; `cargo xtask k8s up` starts one)");
    let root = tempfile::tempdir().unwrap();
    let (mut ours, mut floors) = (Vec::new(), Vec::new());
    for round in 0..REPEATS {
        ours.push(framework(root.path()).await);
        floors.push(floor(&client, round).await);
    }
    let (ours, floor) = (median(ours), median(floors));
    println!(
        "k8s deploy-to-ready, {NODES} nodes: framework {:.1} ms, raw kube floor {:.1} ms, ratio {:.2}x (goal <= 1.2x)",
        ms(ours),
        ms(floor),
        ours.as_secs_f64() / floor.as_secs_f64()
    );
}
