//! `cargo xtask bench compose`: what the compose deployer costs.
//!
//! Deploy-to-ready for 4 demo-node containers through the framework (the
//! run's deploy phase: engine check, image check, network, link proxies,
//! volumes, containers, start, port inspection, readiness), against the
//! floor of raw bollard calls in the same run: create a network, create and
//! start the same 4 containers (peers by name, no proxies, no volumes),
//! inspect their published API ports and poll readiness. Medians of 5,
//! alternating framework and floor; printed as a ratio.

#![allow(clippy::print_stdout)] // A benchmark reports on stdout.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, NetworkCreateRequest, PortBinding};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, RemoveContainerOptionsBuilder,
};
use demo_node::{API_PORT, DemoNode, P2P_PORT};
use deployer_compose::ComposeDeployer;
use deployer_compose::image::ImageBuilder;
use node_http::{ClientConfig, NodeHttpClient};
use scenario_core::report::Phase;
use scenario_core::{HostPort, NodeId, Scenario, Topology};

const REPEATS: usize = 5;
const NODES: usize = 4;
const IMAGE: &str = "testbed/demo-node:bench";

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

async fn framework(root: &std::path::Path) -> Duration {
    let plan = Scenario::builder("bench-compose")
        .topology(Topology::new().validators(NODES))
        .node_kind(DemoNode::locate().unwrap().image(IMAGE))
        .window(Duration::from_millis(1))
        .artifacts_root(root)
        .build()
        .unwrap();
    let report = plan.run(&ComposeDeployer::new()).await.unwrap();
    assert!(report.passed, "{report}");
    Duration::from_millis(report.phase(Phase::Deploy).unwrap().duration_ms)
}

/// The same containers with bare engine calls; removed afterwards by id.
async fn floor(docker: &Docker, round: usize) -> Duration {
    let network = format!("bench-floor-{}-{round}", std::process::id());
    let started = Instant::now();
    docker
        .create_network(NetworkCreateRequest {
            name: network.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    let api_key = format!("{API_PORT}/tcp");
    let mut ids = Vec::new();
    for i in 0..NODES {
        let mut args = vec![
            format!("--node-id=validator-{i}"),
            "--role=validator".to_owned(),
            format!("--api-listen=0.0.0.0:{API_PORT}"),
            format!("--p2p-listen=0.0.0.0:{P2P_PORT}"),
            "--data-dir=/data".to_owned(),
        ];
        for j in (0..NODES).filter(|j| *j != i) {
            args.push(format!(
                "--peer=validator-{j}=validator@{network}-{j}:{P2P_PORT}"
            ));
        }
        let body = ContainerCreateBody {
            image: Some(IMAGE.to_owned()),
            cmd: Some(args),
            exposed_ports: Some(vec![api_key.clone()]),
            host_config: Some(HostConfig {
                network_mode: Some(network.clone()),
                port_bindings: Some(HashMap::from([(
                    api_key.clone(),
                    Some(vec![PortBinding {
                        host_ip: Some("127.0.0.1".to_owned()),
                        host_port: Some(String::new()),
                    }]),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default()
            .name(&format!("{network}-{i}"))
            .build();
        ids.push(
            docker
                .create_container(Some(options), body)
                .await
                .unwrap()
                .id,
        );
    }
    let starts = ids.iter().map(|id| docker.start_container(id, None));
    for started in futures::future::join_all(starts).await {
        started.unwrap();
    }
    let mut clients = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let inspected = docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
            .unwrap();
        let port: u16 = inspected.network_settings.unwrap().ports.unwrap()[&api_key]
            .as_ref()
            .unwrap()[0]
            .host_port
            .as_ref()
            .unwrap()
            .parse()
            .unwrap();
        let mut config = ClientConfig::default();
        config.retries = 0;
        clients.push(NodeHttpClient::new(
            NodeId::new(format!("validator-{i}")),
            HostPort::new("127.0.0.1", port),
            config,
        ));
    }
    for client in &clients {
        while !client.ready().await.unwrap_or(false) {
            assert!(started.elapsed() < Duration::from_secs(60), "never ready");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let ready = started.elapsed();
    for id in &ids {
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        docker.remove_container(id, Some(options)).await.unwrap();
    }
    docker.remove_network(&network).await.unwrap();
    ready
}

#[tokio::main]
async fn main() {
    let docker = deployer_compose::connect(None)
        .await
        .expect("the benchmark needs a Docker engine");
    let binary = DemoNode::locate().unwrap().program().to_path_buf();
    let built = ImageBuilder::new(&binary, IMAGE)
        .build(&docker)
        .await
        .unwrap();
    println!("image {} from {}", built.tag, binary.display());
    let root = tempfile::tempdir().unwrap();
    let (mut ours, mut floors) = (Vec::new(), Vec::new());
    for round in 0..REPEATS {
        ours.push(framework(root.path()).await);
        floors.push(floor(&docker, round).await);
    }
    let (ours, floor) = (median(ours), median(floors));
    println!(
        "compose deploy-to-ready, {NODES} nodes: framework {:.1} ms, raw bollard floor {:.1} ms, ratio {:.2}x (goal <= 1.2x)",
        ms(ours),
        ms(floor),
        ours.as_secs_f64() / floor.as_secs_f64()
    );
}
