//! The compose deployer's deploy: reach the engine and check every image
//! before anything starts; then one labelled network, link proxies bound on
//! its gateway, a volume and a container per node, all started at once and
//! waited for; the docker-compose file written beside the report.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, Mount, MountType, NetworkCreateRequest,
    NetworkingConfig, PortBinding, VolumeCreateRequest,
};
use bollard::query_parameters::{CreateContainerOptionsBuilder, UploadToContainerOptionsBuilder};
use deploykit::proxy::{self, Links, Proxy, Target};
use scenario_core::{
    DeployEnv, Deployment, HostPort, NodeClient, NodeEndpoint, NodeId, PortSpec, Scenario,
};
use tokio_util::sync::CancellationToken;

use crate::ComposeDeployer;
use crate::cleanup::{self, Resources};
use crate::container::NodeContainer;
use crate::control::ComposeNodeControl;
use crate::error::{Error, Result, engine, io};
use crate::image::image_exists;
use crate::labels::{NODE_LABEL, ROLE_LABEL, resource_name, run_labels};
use crate::plan::{self, DATA_DIR, NodePlan, port_key};
use crate::readiness::wait_ready;
use crate::{compose_file, engine as docker_engine};

/// The hint printed when an image is missing, per image name.
fn build_hint(image: &str) -> String {
    if image.contains("demo-node") {
        ": run `cargo xtask image`".to_owned()
    } else {
        ": build it from your node's binary with `deployer_compose::image::ImageBuilder` (or `docker build`)"
            .to_owned()
    }
}

/// A listener bound now, served once the container's ports are known.
struct Bound {
    proxy: Proxy,
    target: Target,
}

async fn bind(ip: IpAddr, from: &NodeId, to: &NodeId) -> Result<(Bound, HostPort)> {
    let listener = tokio::net::TcpListener::bind((ip, 0))
        .await
        .map_err(io(format!("bind a link proxy on {ip}")))?;
    let port = listener
        .local_addr()
        .map_err(io("read a link proxy's address"))?
        .port();
    let bound = Bound {
        proxy: Proxy {
            from: from.clone(),
            to: to.clone(),
            listener,
        },
        // Pointed at the container's published port once it runs.
        target: Target::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
    };
    Ok((bound, HostPort::new(ip.to_string(), port)))
}

async fn create_network(
    docker: &Docker,
    name: &str,
    labels: &HashMap<String, String>,
) -> Result<IpAddr> {
    let request = NetworkCreateRequest {
        name: name.to_owned(),
        driver: Some("bridge".to_owned()),
        labels: Some(labels.clone()),
        // Containers cannot talk to each other directly: peer traffic takes
        // the link proxies, so a partition cannot be bypassed.
        options: Some(HashMap::from([(
            "com.docker.network.bridge.enable_icc".to_owned(),
            "false".to_owned(),
        )])),
        ..Default::default()
    };
    docker
        .create_network(request)
        .await
        .map_err(engine(format!("create network {name}")))?;
    let inspected = docker
        .inspect_network(name, None)
        .await
        .map_err(engine(format!("inspect network {name}")))?;
    inspected
        .ipam
        .and_then(|ipam| ipam.config)
        .into_iter()
        .flatten()
        .filter_map(|config| config.gateway)
        .find_map(|gateway| gateway.parse::<Ipv4Addr>().ok())
        .map(IpAddr::V4)
        .ok_or_else(|| Error::NoGateway {
            network: name.to_owned(),
        })
}

fn container_body(
    plan: &NodePlan,
    ports: &[PortSpec],
    network: &str,
    volume: &str,
    labels: &HashMap<String, String>,
) -> ContainerCreateBody {
    let mut labels = labels.clone();
    labels.insert(NODE_LABEL.to_owned(), plan.slot.id.to_string());
    labels.insert(ROLE_LABEL.to_owned(), plan.slot.role.to_string());
    let bindings = ports
        .iter()
        .map(|port| {
            (
                port_key(port),
                Some(vec![PortBinding {
                    host_ip: Some("127.0.0.1".to_owned()),
                    host_port: Some(String::new()),
                }]),
            )
        })
        .collect();
    ContainerCreateBody {
        image: Some(plan.image.clone()),
        hostname: Some(plan.slot.id.to_string()),
        cmd: Some(plan.spec.args.clone()),
        env: Some(
            plan.spec
                .env
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect(),
        ),
        labels: Some(labels),
        exposed_ports: Some(ports.iter().map(port_key).collect()),
        host_config: Some(HostConfig {
            port_bindings: Some(bindings),
            network_mode: Some(network.to_owned()),
            mounts: Some(vec![Mount {
                target: Some(DATA_DIR.to_owned()),
                source: Some(volume.to_owned()),
                typ: Some(MountType::VOLUME),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                network.to_owned(),
                EndpointSettings {
                    aliases: Some(vec![plan.slot.id.to_string()]),
                    ..Default::default()
                },
            )])),
        }),
        ..Default::default()
    }
}

/// The launch files as a tar archive rooted at the data directory.
fn files_archive(plan: &NodePlan) -> Result<Vec<u8>> {
    let mut archive = tar::Builder::new(Vec::new());
    for file in &plan.spec.files {
        let mut header = tar::Header::new_gnu();
        header.set_size(file.contents.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        archive
            .append_data(&mut header, &file.path, file.contents.as_slice())
            .map_err(io(format!("pack {} for {}", file.path, plan.slot.id)))?;
    }
    archive
        .into_inner()
        .map_err(io(format!("pack the files of {}", plan.slot.id)))
}

pub(crate) async fn deploy(
    deployer: &ComposeDeployer,
    scenario: &Scenario,
    env: &DeployEnv,
) -> Result<Deployment> {
    let docker = docker_engine::connect(deployer.host.as_deref()).await?;
    let kind = scenario.node_kind();
    let ports = kind.ports();
    let slots = scenario.topology().slots();
    let run_id = env.run_id();

    // Render once without proxies to learn and check the images: nothing
    // is created unless every image is there.
    for plan in plan::render(kind, &slots, &BTreeMap::new())? {
        if !image_exists(&docker, &plan.image).await? {
            return Err(Error::ImageMissing {
                hint: build_hint(&plan.image),
                image: plan.image,
                node: plan.slot.id,
            });
        }
    }

    let labels = run_labels(run_id, scenario.name());
    let network = resource_name(run_id, None);
    let resources = Resources::new(docker.clone(), run_id, deployer.grace);
    cleanup::register(env, &resources);
    let gateway = create_network(&docker, &network, &labels).await?;

    // Link proxies on the gateway (containers reach the runner there) and a
    // front per node port on 127.0.0.1 (the runner's stable endpoints).
    let links = Links::new(slots.iter().map(|slot| slot.id.clone()).collect());
    let fronts = Links::new(Vec::new());
    let runner = NodeId::new("testbed-runner");
    let mut via = BTreeMap::new();
    let mut peer_proxies = Vec::new();
    let mut targets: BTreeMap<NodeId, BTreeMap<String, Vec<Target>>> = BTreeMap::new();
    for from in &slots {
        for to in slots.iter().filter(|to| to.id != from.id) {
            for port in ports.iter().filter(|port| port.peer) {
                let (bound, address) = bind(gateway, &from.id, &to.id).await?;
                via.insert((from.id.clone(), to.id.clone(), port.name.clone()), address);
                targets
                    .entry(to.id.clone())
                    .or_default()
                    .entry(port.name.clone())
                    .or_default()
                    .push(bound.target.clone());
                peer_proxies.push(bound);
            }
        }
    }
    let mut front_proxies = Vec::new();
    let mut endpoints: BTreeMap<NodeId, BTreeMap<String, HostPort>> = BTreeMap::new();
    for slot in &slots {
        for port in &ports {
            let (bound, address) = bind(IpAddr::V4(Ipv4Addr::LOCALHOST), &runner, &slot.id).await?;
            endpoints
                .entry(slot.id.clone())
                .or_default()
                .insert(port.name.clone(), address);
            targets
                .entry(slot.id.clone())
                .or_default()
                .entry(port.name.clone())
                .or_default()
                .push(bound.target.clone());
            front_proxies.push(bound);
        }
    }
    let stop_proxies = CancellationToken::new();
    let mut tasks = Vec::new();
    for bound in peer_proxies {
        tasks.push(proxy::serve(
            bound.proxy,
            bound.target,
            &links,
            stop_proxies.clone(),
        ));
    }
    for bound in front_proxies {
        tasks.push(proxy::serve(
            bound.proxy,
            bound.target,
            &fronts,
            stop_proxies.clone(),
        ));
    }
    resources.proxies(stop_proxies, tasks);

    let plans = plan::render(kind, &slots, &via)?;
    compose_file::write(env.artifacts_dir(), run_id, &plans, &ports)?;

    // Volumes and containers, created and started all at once.
    let creates = plans.iter().map(|plan| {
        let (docker, labels, network, ports) = (&docker, &labels, &network, &ports);
        let endpoints = endpoints.remove_entry(&plan.slot.id);
        let targets = targets.remove_entry(&plan.slot.id);
        async move {
            let id = plan.slot.id.clone();
            let name = resource_name(run_id, Some(id.as_str()));
            let volume = format!("{name}-data");
            let mut volume_labels = labels.clone();
            volume_labels.insert(NODE_LABEL.to_owned(), id.to_string());
            docker
                .create_volume(VolumeCreateRequest {
                    name: Some(volume.clone()),
                    labels: Some(volume_labels),
                    ..Default::default()
                })
                .await
                .map_err(engine(format!("create volume {volume}")))?;
            let options = CreateContainerOptionsBuilder::default().name(&name).build();
            docker
                .create_container(
                    Some(options),
                    container_body(plan, ports, network, &volume, labels),
                )
                .await
                .map_err(engine(format!("create container {name}")))?;
            if !plan.spec.files.is_empty() {
                let options = UploadToContainerOptionsBuilder::default()
                    .path(DATA_DIR)
                    .build();
                docker
                    .upload_to_container(
                        &name,
                        Some(options),
                        bollard::body_full(files_archive(plan)?.into()),
                    )
                    .await
                    .map_err(engine(format!("copy the launch files into {name}")))?;
            }
            let node_dir = env.artifacts_dir().join("nodes").join(id.as_str());
            std::fs::create_dir_all(&node_dir)
                .map_err(io(format!("create {}", node_dir.display())))?;
            Ok::<_, Error>(Arc::new(NodeContainer::new(
                id,
                name,
                network.clone(),
                plan.spec.readiness.clone(),
                ports.clone(),
                endpoints.map(|(_, e)| e).unwrap_or_default(),
                targets.map(|(_, t)| t).unwrap_or_default(),
                node_dir.join("node.log"),
                docker.clone(),
                env.timeline().clone(),
                env.failure_reporter(),
            )))
        }
    });
    let mut nodes = BTreeMap::new();
    let mut first_error = None;
    for created in futures::future::join_all(creates).await {
        match created {
            Ok(node) => {
                resources.track(Arc::clone(&node));
                nodes.insert(node.id.clone(), node);
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(error) = first_error {
        return Err(error);
    }

    let starts = nodes.values().map(|node| node.start());
    for started in futures::future::join_all(starts).await {
        started?;
    }
    for node in nodes.values() {
        resources.follow_logs(Arc::clone(node));
    }
    let limit = deployer.ready_timeout_for(slots.len());
    let waits = nodes.values().map(|node| wait_ready(node, limit));
    for ready in futures::future::join_all(waits).await {
        ready?;
    }

    let mut clients: BTreeMap<NodeId, Arc<dyn NodeClient>> = BTreeMap::new();
    for slot in &slots {
        let endpoint = NodeEndpoint {
            id: slot.id.clone(),
            role: slot.role.clone(),
            addresses: nodes[&slot.id].endpoints.clone(),
        };
        let client = kind
            .client(&endpoint)
            .map_err(|source| Error::RenderFailed {
                node: slot.id.clone(),
                source,
            })?;
        clients.insert(slot.id.clone(), client);
    }
    Ok(Deployment {
        clients,
        node_control: Some(Arc::new(ComposeNodeControl {
            nodes,
            grace: deployer.grace,
            ready_timeout: limit,
        })),
        network_control: Some(links),
        membership: None,
    })
}
