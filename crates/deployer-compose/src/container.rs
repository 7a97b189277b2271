//! One node as a container: its engine name, where the runner reaches it,
//! the proxy targets that follow its published ports across restarts, and
//! the flags that tell an exit a fault action caused from one it did not.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use bollard::Docker;
use bollard::models::ContainerState;
use bollard::query_parameters::InspectContainerOptions;
use deploykit::proxy::Target;
use netplane::RunPlane;
use scenario_core::{FailureReporter, HostPort, NodeCause, NodeId, PortSpec, Readiness, Timeline};
use tokio::sync::watch;

use crate::error::{Error, Result, engine};
use crate::plan::port_key;

/// Where one port is published now, and the proxy targets that follow it.
type Following = (Option<SocketAddr>, Vec<Target>);

/// Where a node's container sits on the run's network.
pub(crate) enum Attachment {
    /// On the network plane, in its holder's namespace (nothing published;
    /// the runner reaches it through the plane).
    Plane {
        /// The holder container's name.
        holder: String,
        /// The run's plane (TCP probes go through it).
        run_plane: Arc<RunPlane>,
    },
    /// On this bridge network, its ports published on 127.0.0.1.
    Bridge(String),
}

/// A node's container and everything that follows it.
pub(crate) struct NodeContainer {
    pub(crate) id: NodeId,
    /// The container's name in the engine.
    pub(crate) name: String,
    pub(crate) attachment: Attachment,
    pub(crate) readiness: Readiness,
    pub(crate) ports: Vec<PortSpec>,
    /// Where the runner reaches the node (stable fronts), per port name.
    pub(crate) endpoints: BTreeMap<String, HostPort>,
    /// Per port name, every proxy target that must point at the container's
    /// published port (the runner's front and the peer links into it), and
    /// where that port is published now.
    targets: Mutex<BTreeMap<String, Following>>,
    pub(crate) log_path: PathBuf,
    pub(crate) docker: Docker,
    pub(crate) timeline: Timeline,
    pub(crate) failures: FailureReporter,
    container_ip: RwLock<Option<IpAddr>>,
    expected_exit: AtomicBool,
    /// Set while a start is under way (the follower must not mistake the
    /// stopped container it sees then for an exit).
    starting: AtomicBool,
    supervised: AtomicBool,
    started_unix: AtomicI64,
    /// Bumped on every start, so the log follower resumes.
    starts: watch::Sender<u64>,
}

/// Whether the engine reports the container as running (paused counts).
pub(crate) fn is_up(state: &ContainerState) -> bool {
    state.running == Some(true) || state.paused == Some(true)
}

/// The exit status as the engine reports it, for messages.
pub(crate) fn describe_exit(state: &ContainerState) -> String {
    let mut text = match state.exit_code {
        Some(code) => format!("exit code {code}"),
        None => "no exit code".to_owned(),
    };
    if state.oom_killed == Some(true) {
        text.push_str(", killed for using too much memory");
    }
    if let Some(error) = state.error.as_deref().filter(|e| !e.is_empty()) {
        text.push_str(&format!(", engine error: {error}"));
    }
    text
}

impl NodeContainer {
    #[allow(clippy::too_many_arguments)] // One node's container, and where to report about it.
    pub(crate) fn new(
        id: NodeId,
        name: String,
        attachment: Attachment,
        readiness: Readiness,
        ports: Vec<PortSpec>,
        endpoints: BTreeMap<String, HostPort>,
        log_path: PathBuf,
        docker: Docker,
        timeline: Timeline,
        failures: FailureReporter,
    ) -> Self {
        Self {
            id,
            name,
            attachment,
            readiness,
            ports,
            endpoints,
            targets: Mutex::default(),
            log_path,
            docker,
            timeline,
            failures,
            container_ip: RwLock::new(None),
            expected_exit: AtomicBool::new(false),
            starting: AtomicBool::new(false),
            supervised: AtomicBool::new(false),
            started_unix: AtomicI64::new(0),
            starts: watch::channel(0).0,
        }
    }

    /// Start the container, then point every target at its published ports.
    pub(crate) async fn start(&self) -> Result<()> {
        self.starting.store(true, Ordering::SeqCst);
        let started = self.start_inner().await;
        self.starting.store(false, Ordering::SeqCst);
        started
    }

    async fn start_inner(&self) -> Result<()> {
        self.expected_exit.store(false, Ordering::SeqCst);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
            });
        self.started_unix.store(now, Ordering::SeqCst);
        self.docker
            .start_container(&self.name, None)
            .await
            .map_err(engine(format!("start container {}", self.name)))?;
        self.follow_ports().await?;
        self.starts.send_modify(|count| *count += 1);
        self.timeline.record_node(
            &self.id,
            NodeCause::Launched,
            format!("container {}", self.name),
        );
        Ok(())
    }

    /// Read the published ports and the container's address, and point
    /// every proxy target at the new ports.
    async fn follow_ports(&self) -> Result<()> {
        let Attachment::Bridge(network) = &self.attachment else {
            return Ok(());
        };
        let inspected = self
            .docker
            .inspect_container(&self.name, None::<InspectContainerOptions>)
            .await
            .map_err(engine(format!("inspect container {}", self.name)))?;
        if !inspected.state.as_ref().is_some_and(is_up) {
            // It stopped already: readiness reports it; ports follow the
            // next start.
            return Ok(());
        }
        let settings = inspected.network_settings.unwrap_or_default();
        let ip = settings
            .networks
            .as_ref()
            .and_then(|networks| networks.get(network))
            .and_then(|endpoint| endpoint.ip_address.as_deref())
            .and_then(|ip| ip.parse().ok());
        *self
            .container_ip
            .write()
            .unwrap_or_else(PoisonError::into_inner) = ip;
        let published = settings.ports.unwrap_or_default();
        for port in &self.ports {
            let key = port_key(port);
            let host_port = published
                .get(&key)
                .and_then(Option::as_ref)
                .and_then(|bindings| bindings.iter().find_map(|b| b.host_port.clone()))
                .and_then(|p| p.parse::<u16>().ok())
                .ok_or_else(|| Error::PortNotPublished {
                    node: self.id.clone(),
                    port: key.clone(),
                })?;
            let address = SocketAddr::from((Ipv4Addr::LOCALHOST, host_port));
            let mut targets = self.targets.lock().unwrap_or_else(PoisonError::into_inner);
            let (published, following) = targets.entry(port.name.clone()).or_default();
            *published = Some(address);
            for target in following.iter() {
                target.set(address);
            }
        }
        Ok(())
    }

    /// `target` follows the container's published `port` from now on.
    pub(crate) fn follow_with(&self, port: &str, target: Target) {
        let mut targets = self.targets.lock().unwrap_or_else(PoisonError::into_inner);
        let (published, following) = targets.entry(port.to_owned()).or_default();
        if let Some(address) = published {
            target.set(*address);
        }
        following.push(target);
    }

    /// The container's state as the engine reports it now.
    pub(crate) async fn state(&self) -> Result<ContainerState> {
        let inspected = self
            .docker
            .inspect_container(&self.name, None::<InspectContainerOptions>)
            .await
            .map_err(engine(format!("inspect container {}", self.name)))?;
        Ok(inspected.state.unwrap_or_default())
    }

    /// Where a probe reaches the node on each port. A TCP probe goes to the
    /// container's own address: a published port accepts connections (the
    /// engine's proxy does) before the node listens.
    pub(crate) fn probe_endpoints(&self) -> BTreeMap<String, HostPort> {
        let ip = *self
            .container_ip
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        match (&self.readiness, ip) {
            (Readiness::Tcp { .. }, Some(ip)) => self
                .ports
                .iter()
                .map(|port| {
                    (
                        port.name.clone(),
                        HostPort::new(ip.to_string(), port.container_port),
                    )
                })
                .collect(),
            _ => self.endpoints.clone(),
        }
    }

    /// A fault action (or cleanup) is about to make the container exit.
    pub(crate) fn expect_exit(&self) {
        self.expected_exit.store(true, Ordering::SeqCst);
    }

    pub(crate) fn exit_expected(&self) -> bool {
        self.expected_exit.load(Ordering::SeqCst)
    }

    /// Whether a start is under way.
    pub(crate) fn starting(&self) -> bool {
        self.starting.load(Ordering::SeqCst)
    }

    /// The node is ready: an exit no fault action caused now fails the run.
    pub(crate) fn supervise(&self) {
        self.supervised.store(true, Ordering::SeqCst);
    }

    pub(crate) fn supervised(&self) -> bool {
        self.supervised.load(Ordering::SeqCst)
    }

    /// The Unix second of the latest start.
    pub(crate) fn started_unix(&self) -> i64 {
        self.started_unix.load(Ordering::SeqCst)
    }

    /// Changes on every start.
    pub(crate) fn starts(&self) -> watch::Receiver<u64> {
        self.starts.subscribe()
    }
}
