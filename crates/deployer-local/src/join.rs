//! Dynamic join: one more node in a running local network. Its ports are
//! reserved on the run's address, link proxies are added both ways between
//! it and every node, its launch is rendered by the node kind (its peers as
//! it reaches them), and it is started, supervised, cleaned up and audited
//! like the nodes deployed at first.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use scenario_core::{
    ControlError, FailureReporter, HostPort, Joined, Membership, NodeEndpoint, NodeId, NodeKind,
    NodeSlot, NodeView, PeerView, Role, Timeline,
};
use tokio_util::sync::CancellationToken;

use crate::control::{LocalNode, LocalNodeControl};
use crate::deploy::{Shared, check_program, socket};
use crate::marker::MarkerFile;
use crate::process::NodeProcess;
use crate::readiness::wait_ready;
use deploykit::proxy::{self, Links, Proxy};

pub(crate) struct LocalMembership {
    pub(crate) ip: Ipv4Addr,
    pub(crate) kind: Arc<dyn NodeKind>,
    pub(crate) artifacts_dir: PathBuf,
    /// Every node so far with where it listens; joins are serialized here.
    pub(crate) members: tokio::sync::Mutex<Vec<(NodeSlot, BTreeMap<String, HostPort>)>>,
    pub(crate) links: Arc<Links>,
    pub(crate) stop_proxies: CancellationToken,
    pub(crate) proxy_tasks: Shared<Vec<tokio::task::JoinHandle<()>>>,
    pub(crate) proxy_addresses: Shared<Vec<SocketAddr>>,
    pub(crate) started: Shared<Vec<Arc<NodeProcess>>>,
    pub(crate) control: Arc<LocalNodeControl>,
    pub(crate) marker: Arc<MarkerFile>,
    pub(crate) timeline: Timeline,
    pub(crate) failures: FailureReporter,
}

fn failed(node: &NodeId, source: impl Into<scenario_core::BoxError>) -> ControlError {
    ControlError::ActionFailed {
        action: "add".to_owned(),
        target: node.to_string(),
        source: source.into(),
    }
}

fn lock<T>(shared: &Shared<T>) -> std::sync::MutexGuard<'_, T> {
    shared
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl LocalMembership {
    /// Bind a proxy for `from → to` on the run's address and serve it.
    fn proxy(&self, from: &NodeId, to: &NodeId, target: &HostPort) -> std::io::Result<HostPort> {
        let listener = std::net::TcpListener::bind((self.ip, 0))?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let proxy = Proxy {
            from: from.clone(),
            to: to.clone(),
            listener,
        };
        let task = proxy::serve(
            proxy,
            proxy::Target::new(socket(target)),
            &self.links,
            self.stop_proxies.clone(),
        );
        lock(&self.proxy_tasks).push(task);
        lock(&self.proxy_addresses).push(address);
        Ok(HostPort::new(self.ip.to_string(), address.port()))
    }
}

#[async_trait::async_trait]
impl Membership for LocalMembership {
    async fn add_node(&self, role: &Role) -> Result<Joined, ControlError> {
        let mut members = self.members.lock().await;
        let taken: Vec<&NodeId> = members.iter().map(|(slot, _)| &slot.id).collect();
        let index = members
            .iter()
            .filter(|(slot, _)| &slot.role == role)
            .count();
        let id = (index..)
            .map(|i| NodeId::of(role, i))
            .find(|candidate| !taken.contains(&candidate))
            .unwrap_or_else(|| NodeId::of(role, index));
        let slot = NodeSlot {
            id: id.clone(),
            role: role.clone(),
            index,
            overrides: Default::default(),
        };

        let ports = self.kind.ports();
        let reserved: Vec<std::net::TcpListener> = ports
            .iter()
            .map(|_| std::net::TcpListener::bind((self.ip, 0)))
            .collect::<std::io::Result<_>>()
            .map_err(|e| failed(&id, e))?;
        let listen: BTreeMap<String, HostPort> = ports
            .iter()
            .zip(&reserved)
            .map(|(port, held)| {
                let number = held.local_addr().map(|a| a.port()).unwrap_or_default();
                (
                    port.name.clone(),
                    HostPort::new(self.ip.to_string(), number),
                )
            })
            .collect();

        let mut peers = Vec::new();
        for (member, member_listen) in members.iter() {
            let mut addresses = BTreeMap::new();
            for port in &ports {
                let address = if port.peer {
                    self.proxy(&member.id, &id, &listen[&port.name])
                        .map_err(|e| failed(&id, e))?;
                    self.proxy(&id, &member.id, &member_listen[&port.name])
                        .map_err(|e| failed(&id, e))?
                } else {
                    member_listen[&port.name].clone()
                };
                addresses.insert(port.name.clone(), address);
            }
            peers.push(PeerView {
                id: member.id.clone(),
                role: member.role.clone(),
                addresses,
            });
        }

        let node_dir = self.artifacts_dir.join("nodes").join(id.as_str());
        let data_dir = node_dir.join("data");
        let view = NodeView {
            slot: slot.clone(),
            listen: listen.clone(),
            data_dir: data_dir.display().to_string(),
            peers,
        };
        let spec = self.kind.render(&view).map_err(|e| failed(&id, e))?;
        let program = spec
            .program
            .clone()
            .ok_or_else(|| failed(&id, "the launch names no program"))?;
        check_program(&id, &program).map_err(|e| failed(&id, e))?;
        std::fs::create_dir_all(&data_dir).map_err(|e| failed(&id, e))?;
        for file in &spec.files {
            std::fs::write(data_dir.join(&file.path), &file.contents)
                .map_err(|e| failed(&id, e))?;
        }
        let process = NodeProcess::new(
            id.clone(),
            program,
            spec.args.clone(),
            spec.env.clone(),
            data_dir,
            node_dir.join("node.log"),
            self.timeline.clone(),
            self.failures.clone(),
        );
        drop(reserved);
        let pid = process.spawn().map_err(|e| failed(&id, e))?;
        lock(&self.started).push(Arc::clone(&process));
        self.marker
            .add_node(id.as_str(), pid)
            .map_err(|e| failed(&id, e))?;
        wait_ready(
            &process,
            &spec.readiness,
            &listen,
            self.control.ready_timeout,
        )
        .await
        .map_err(|e| failed(&id, e))?;
        self.links.add_node(id.clone());
        self.control.add(
            id.clone(),
            LocalNode {
                process,
                readiness: spec.readiness.clone(),
                listen: listen.clone(),
            },
        );
        let endpoint = NodeEndpoint {
            id: id.clone(),
            role: role.clone(),
            addresses: listen.clone(),
        };
        let client = self.kind.client(&endpoint).map_err(|e| failed(&id, e))?;
        members.push((slot.clone(), listen));
        Ok(Joined { slot, client })
    }
}
