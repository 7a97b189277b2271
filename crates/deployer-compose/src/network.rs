//! A run's network and what hangs off it, shared by deploy and by nodes
//! that join later: the labelled bridge network, link proxies on its
//! gateway and fronts on 127.0.0.1 (each served until cleanup), and the
//! volume and container of one node.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, Mount, MountType, NetworkCreateRequest,
    NetworkingConfig, PortBinding, VolumeCreateRequest,
};
use bollard::query_parameters::{CreateContainerOptionsBuilder, UploadToContainerOptionsBuilder};
use deploykit::proxy::{self, Links, Proxy, Target};
use scenario_core::{DeployEnv, FailureReporter, HostPort, NodeFiles, NodeId, PortSpec, Timeline};

use crate::cleanup::Resources;
use crate::container::NodeContainer;
use crate::error::{Error, Result, engine, io};
use crate::labels::{NODE_LABEL, ROLE_LABEL, resource_name, run_labels};
use crate::plan::{DATA_DIR, NodePlan, port_key};

/// The run's network and everything new nodes are wired with.
pub(crate) struct RunNetwork {
    pub(crate) docker: Docker,
    pub(crate) run_id: String,
    pub(crate) name: String,
    gateway: IpAddr,
    labels: HashMap<String, String>,
    pub(crate) ports: Vec<PortSpec>,
    /// Faults on peer links: the run's `NetworkControl`.
    pub(crate) links: Arc<Links>,
    /// The runner's fronts; never faulted.
    fronts: Arc<Links>,
    pub(crate) resources: Resources,
    artifacts_dir: PathBuf,
    timeline: Timeline,
    failures: FailureReporter,
}

/// The id the runner's fronts are served under (never a node's).
const RUNNER: &str = "testbed-runner";

impl RunNetwork {
    /// Create the run's network (registered for cleanup through `resources`).
    pub(crate) async fn create(
        docker: Docker,
        env: &DeployEnv,
        scenario: &str,
        ports: Vec<PortSpec>,
        nodes: Vec<NodeId>,
        resources: Resources,
    ) -> Result<Self> {
        let run_id = env.run_id().to_owned();
        let labels = run_labels(&run_id, scenario);
        let name = resource_name(&run_id, None);
        let gateway = create_network(&docker, &name, &labels).await?;
        Ok(Self {
            docker,
            run_id,
            name,
            gateway,
            labels,
            ports,
            links: Links::new(nodes),
            fronts: Links::new(Vec::new()),
            resources,
            artifacts_dir: env.artifacts_dir().to_path_buf(),
            timeline: env.timeline().clone(),
            failures: env.failure_reporter(),
        })
    }

    async fn serve(
        &self,
        ip: IpAddr,
        from: &NodeId,
        to: &NodeId,
        links: &Links,
    ) -> Result<(Target, HostPort)> {
        let listener = tokio::net::TcpListener::bind((ip, 0))
            .await
            .map_err(io(format!("bind a proxy on {ip}")))?;
        let port = listener
            .local_addr()
            .map_err(io("read a proxy's address"))?
            .port();
        // Pointed at the container's published port once it runs.
        let target = Target::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        let proxy = Proxy {
            from: from.clone(),
            to: to.clone(),
            listener,
        };
        let task = proxy::serve(proxy, target.clone(), links, self.resources.proxy_stop());
        self.resources.proxy(task);
        Ok((target, HostPort::new(ip.to_string(), port)))
    }

    /// A link proxy for `from → to` on the gateway: where `from` reaches
    /// `to`, and the target that must follow `to`'s published port.
    pub(crate) async fn link(&self, from: &NodeId, to: &NodeId) -> Result<(Target, HostPort)> {
        self.serve(self.gateway, from, to, &self.links).await
    }

    /// A front on 127.0.0.1 for one of `node`'s ports: where the runner
    /// reaches it, and the target that must follow the published port.
    pub(crate) async fn front(&self, node: &NodeId) -> Result<(Target, HostPort)> {
        let runner = NodeId::new(RUNNER);
        self.serve(IpAddr::V4(Ipv4Addr::LOCALHOST), &runner, node, &self.fronts)
            .await
    }

    /// Create a node's volume and container (not started), with its launch
    /// files in the volume; tracked for cleanup.
    pub(crate) async fn create_node(
        &self,
        plan: &NodePlan,
        endpoints: BTreeMap<String, HostPort>,
    ) -> Result<Arc<NodeContainer>> {
        let docker = &self.docker;
        let id = plan.slot.id.clone();
        let name = resource_name(&self.run_id, Some(id.as_str()));
        let volume = format!("{name}-data");
        let mut volume_labels = self.labels.clone();
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
        let body = container_body(plan, &self.ports, &self.name, &volume, &self.labels);
        docker
            .create_container(Some(options), body)
            .await
            .map_err(engine(format!("create container {name}")))?;
        let files = NodeFiles::of(&self.artifacts_dir, &id);
        std::fs::create_dir_all(&files.dir)
            .map_err(io(format!("create {}", files.dir.display())))?;
        let node = Arc::new(NodeContainer::new(
            id,
            name.clone(),
            self.name.clone(),
            plan.spec.readiness.clone(),
            self.ports.clone(),
            endpoints,
            files.log,
            docker.clone(),
            self.timeline.clone(),
            self.failures.clone(),
        ));
        self.resources.track(Arc::clone(&node));
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
        Ok(node)
    }
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
