//! A run's network and what hangs off it, shared by deploy and by nodes
//! that join later: on the network plane, the run's switch and each node's
//! holder container; on the link-proxy fallback, the labelled bridge
//! network, link proxies on its gateway and fronts on 127.0.0.1 (each
//! served until cleanup); and the volume and container of one node.

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
use deploykit::NetworkMode;
use deploykit::proxy::{self, Links, Proxy, Target};
use netplane::RunPlane;
use scenario_core::{
    DeployEnv, FailureReporter, HostPort, NetworkControl, NodeFiles, NodeId, PortSpec, Timeline,
};

use crate::cleanup::Resources;
use crate::container::{Attachment, NodeContainer};
use crate::error::{Error, Result, engine, io, plane};
use crate::labels::{NODE_LABEL, ROLE_LABEL, resource_name, run_labels};
use crate::plan::{DATA_DIR, NodePlan, port_key};

/// How the run's containers are wired.
pub(crate) enum Wiring {
    /// The network plane: one address per node, the switch in the runner.
    Plane(Arc<RunPlane>),
    /// The fallback: a bridge network without inter-container traffic,
    /// link proxies on its gateway.
    Proxies(Proxied),
}

/// The link-proxy fallback's pieces.
pub(crate) struct Proxied {
    /// The bridge network's name.
    name: String,
    gateway: IpAddr,
    /// Faults on peer links: the run's `NetworkControl`.
    pub(crate) links: Arc<Links>,
    /// The runner's fronts; never faulted.
    fronts: Arc<Links>,
}

/// The run's network and everything new nodes are wired with.
pub(crate) struct RunNetwork {
    pub(crate) docker: Docker,
    pub(crate) run_id: String,
    labels: HashMap<String, String>,
    pub(crate) ports: Vec<PortSpec>,
    pub(crate) wiring: Wiring,
    pub(crate) resources: Resources,
    artifacts_dir: PathBuf,
    timeline: Timeline,
    failures: FailureReporter,
}

/// The id the runner's fronts are served under (never a node's).
const RUNNER: &str = "testbed-runner";

impl RunNetwork {
    /// Create the run's network (registered for cleanup through
    /// `resources`). On the plane, the switch is made first: a machine that
    /// cannot run it is told why before any container exists.
    pub(crate) async fn create(
        docker: Docker,
        env: &DeployEnv,
        scenario: &str,
        (ports, mode): (Vec<PortSpec>, NetworkMode),
        nodes: Vec<NodeId>,
        resources: Resources,
    ) -> Result<Self> {
        let run_id = env.run_id().to_owned();
        let labels = run_labels(&run_id, scenario);
        let wiring = match mode {
            NetworkMode::Namespaces => {
                let run_plane = RunPlane::create(env.seed()).await.map_err(plane(None))?;
                crate::plane::ensure_holder_image(&docker).await?;
                let run_plane = Arc::new(run_plane);
                resources.set_plane(Arc::clone(&run_plane));
                Wiring::Plane(run_plane)
            }
            NetworkMode::LinkProxies => {
                let name = resource_name(&run_id, None);
                let gateway = create_network(&docker, &name, &labels).await?;
                Wiring::Proxies(Proxied {
                    name,
                    gateway,
                    links: Links::new(nodes),
                    fronts: Links::new(Vec::new()),
                })
            }
        };
        Ok(Self {
            docker,
            run_id,
            labels,
            ports,
            wiring,
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
    pub(crate) async fn link(
        &self,
        proxied: &Proxied,
        from: &NodeId,
        to: &NodeId,
    ) -> Result<(Target, HostPort)> {
        self.serve(proxied.gateway, from, to, &proxied.links).await
    }

    /// A front on 127.0.0.1 for one of `node`'s ports: where the runner
    /// reaches it, and the target that must follow the published port.
    pub(crate) async fn front(
        &self,
        proxied: &Proxied,
        node: &NodeId,
    ) -> Result<(Target, HostPort)> {
        let runner = NodeId::new(RUNNER);
        self.serve(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            &runner,
            node,
            &proxied.fronts,
        )
        .await
    }

    /// Put `node` on the plane: its holder container started, its namespace
    /// adopted by the switch. Returns its one address and the fronts where
    /// the runner reaches each of its ports.
    pub(crate) async fn place(
        &self,
        run_plane: &RunPlane,
        node: &NodeId,
    ) -> Result<(Ipv4Addr, BTreeMap<String, HostPort>)> {
        let container = resource_name(&self.run_id, Some(node.as_str()));
        let netns =
            crate::plane::start_holder(&self.docker, node, &container, &self.labels).await?;
        let (namespace, _) = run_plane
            .adopt(node, netns, &self.ports)
            .await
            .map_err(plane(Some(node)))?;
        let fronts = run_plane
            .fronts(node, &self.ports)
            .await
            .map_err(plane(Some(node)))?;
        Ok((namespace.address(), fronts))
    }

    /// The run's `NetworkControl`.
    pub(crate) fn control(&self) -> Arc<dyn NetworkControl> {
        match &self.wiring {
            Wiring::Plane(run_plane) => run_plane.control(),
            Wiring::Proxies(proxied) => Arc::clone(&proxied.links) as Arc<dyn NetworkControl>,
        }
    }

    /// A node joined: faults may name it from now on (the switch knows
    /// every node it placed).
    pub(crate) fn admit(&self, node: &NodeId) {
        if let Wiring::Proxies(proxied) = &self.wiring {
            proxied.links.add_node(node.clone());
        }
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
        let attachment = match &self.wiring {
            Wiring::Plane(run_plane) => Attachment::Plane {
                holder: crate::plane::holder_name(&name),
                run_plane: Arc::clone(run_plane),
            },
            Wiring::Proxies(proxied) => Attachment::Bridge(proxied.name.clone()),
        };
        let body = container_body(plan, &self.ports, &attachment, &volume, &self.labels);
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
            attachment,
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
    attachment: &Attachment,
    volume: &str,
    labels: &HashMap<String, String>,
) -> ContainerCreateBody {
    let mut labels = labels.clone();
    labels.insert(NODE_LABEL.to_owned(), plan.slot.id.to_string());
    labels.insert(ROLE_LABEL.to_owned(), plan.slot.role.to_string());
    let mount = Mount {
        target: Some(DATA_DIR.to_owned()),
        source: Some(volume.to_owned()),
        typ: Some(MountType::VOLUME),
        ..Default::default()
    };
    let network = match attachment {
        Attachment::Plane { holder, .. } => {
            // The holder's namespace: its one address, nothing published
            // (the runner reaches the node through the plane's fronts).
            return ContainerCreateBody {
                image: Some(plan.image.clone()),
                cmd: Some(plan.spec.args.clone()),
                env: Some(environment(plan)),
                labels: Some(labels),
                host_config: Some(HostConfig {
                    network_mode: Some(format!("container:{holder}")),
                    mounts: Some(vec![mount]),
                    ..Default::default()
                }),
                ..Default::default()
            };
        }
        Attachment::Bridge(network) => network,
    };
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
        env: Some(environment(plan)),
        labels: Some(labels),
        exposed_ports: Some(ports.iter().map(port_key).collect()),
        host_config: Some(HostConfig {
            port_bindings: Some(bindings),
            network_mode: Some(network.to_owned()),
            mounts: Some(vec![mount]),
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

/// The launch's environment, as the engine takes it.
fn environment(plan: &NodePlan) -> Vec<String> {
    plan.spec
        .env
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect()
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
