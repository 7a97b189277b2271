//! A run's switch as a deployer holds it: shared by deploy, joins and
//! cleanup, it places nodes (in namespaces it makes, or adopts: a
//! container's), gives each node's ports their one address, serves the
//! runner's fronts on 127.0.0.1, probes TCP readiness from inside the plane,
//! and closes once. The local and compose deployers both run on it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use scenario_core::{HostPort, NodeId, PortSpec};

use crate::control::SwitchControl;
use crate::error::{Error, Result};
use crate::netns::NodeNamespace;
use crate::switch::Switch;

/// A run's switch and the fronts it serves (see the module docs).
pub struct RunPlane {
    /// Taken at close (shutdown needs it by value when no one else holds it).
    switch: Mutex<Option<Arc<Switch>>>,
    control: Arc<SwitchControl>,
    fronts: Mutex<Vec<SocketAddr>>,
    /// Every namespace placed (and the runner's), by name: the leak audit
    /// checks each is gone after close.
    namespaces: Mutex<Vec<(String, u64)>>,
    subnet: String,
}

impl RunPlane {
    /// A switch on a fresh run subnet; fails naming the missing piece and
    /// the fix when this machine cannot run the plane.
    pub async fn create(seed: u64) -> Result<Self> {
        let switch = Switch::new(seed).await?;
        let (network, prefix) = switch.subnet();
        let runner = ("runner".to_owned(), switch.runner()?.inode());
        Ok(Self {
            namespaces: Mutex::new(vec![runner]),
            control: switch.control(),
            switch: Mutex::new(Some(Arc::new(switch))),
            fronts: Mutex::default(),
            subnet: format!("{network}/{prefix}"),
        })
    }

    fn switch(&self) -> Result<Arc<Switch>> {
        self.switch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(Error::SwitchStopped)
    }

    /// The run's subnet, for messages and the run marker.
    pub fn subnet(&self) -> &str {
        &self.subnet
    }

    /// Put `node` on the switch in a namespace of its own: the namespace,
    /// and where it listens (its one address, each port at its container
    /// port).
    pub async fn add(
        &self,
        node: &NodeId,
        ports: &[PortSpec],
    ) -> Result<(NodeNamespace, BTreeMap<String, HostPort>)> {
        let namespace = self.switch()?.add_node(node.clone()).await?;
        self.placed(node, &namespace);
        Ok(listening(namespace, ports))
    }

    /// Put `node` on the switch in a namespace that exists (`netns`: an
    /// open `/proc/<pid>/ns/net`, see [`Switch::adopt_node`]); what
    /// [`RunPlane::add`] returns.
    pub async fn adopt(
        &self,
        node: &NodeId,
        netns: std::fs::File,
        ports: &[PortSpec],
    ) -> Result<(NodeNamespace, BTreeMap<String, HostPort>)> {
        let namespace = self.switch()?.adopt_node(node.clone(), netns).await?;
        self.placed(node, &namespace);
        Ok(listening(namespace, ports))
    }

    fn placed(&self, node: &NodeId, namespace: &NodeNamespace) {
        self.namespaces
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((node.to_string(), namespace.inode()));
    }

    /// What of the run's namespaces is still there: one line per process
    /// that runs in or holds one (empty once the nodes are gone and the
    /// plane is closed). The runner's own fds on them do not count: the
    /// deployer's handles (kept to restart nodes) close when the run's
    /// deployment is dropped, right after cleanup; a thread of the runner
    /// inside one does count.
    pub fn leftover_namespaces(&self) -> Vec<String> {
        let namespaces = self
            .namespaces
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let inodes: Vec<u64> = namespaces.iter().map(|(_, inode)| *inode).collect();
        crate::audit::namespace_holders(&inodes)
            .into_iter()
            .filter(|holder| holder.inside || holder.pid != std::process::id())
            .map(|holder| {
                let name = namespaces
                    .iter()
                    .find(|(_, inode)| *inode == holder.inode)
                    .map_or("?", |(name, _)| name.as_str());
                let how = if holder.inside { "runs in" } else { "holds" };
                format!(
                    "pid {} {how} the network namespace of {name} (net:[{}])",
                    holder.pid, holder.inode
                )
            })
            .collect()
    }

    /// Where the runner reaches `node` on each port: a front on 127.0.0.1.
    pub async fn fronts(
        &self,
        node: &NodeId,
        ports: &[PortSpec],
    ) -> Result<BTreeMap<String, HostPort>> {
        let switch = self.switch()?;
        let mut reached = BTreeMap::new();
        for port in ports {
            let front = switch.front(node, port.container_port).await?;
            self.fronts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(front);
            reached.insert(
                port.name.clone(),
                HostPort::new(front.ip().to_string(), front.port()),
            );
        }
        Ok(reached)
    }

    /// Whether `node` accepts TCP connections on `port`, tried from the
    /// runner's namespace (a front accepts before the node listens).
    pub async fn tcp_probe(&self, node: &NodeId, port: u16) -> std::result::Result<(), String> {
        let switch = self.switch().map_err(|e| e.to_string())?;
        switch
            .connect(node, port)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// The runner's handle on the faults.
    pub fn control(&self) -> Arc<SwitchControl> {
        Arc::clone(&self.control)
    }

    /// Every front served so far (the leak audit checks they closed).
    pub fn front_addresses(&self) -> Vec<SocketAddr> {
        self.fronts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stop the switch: its tasks, fronts and TUN devices; the subnet is
    /// given back. Node namespaces vanish with their processes.
    pub async fn close(&self) {
        let taken = self
            .switch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(switch) = taken {
            match Arc::try_unwrap(switch) {
                Ok(switch) => switch.shutdown().await,
                // Someone still holds it for a moment: dropping the last
                // handle tears it down the same way.
                Err(shared) => drop(shared),
            }
        }
    }
}

/// `namespace`'s node listens on each port at its one address.
fn listening(
    namespace: NodeNamespace,
    ports: &[PortSpec],
) -> (NodeNamespace, BTreeMap<String, HostPort>) {
    let address = namespace.address().to_string();
    let listen = ports
        .iter()
        .map(|port| {
            (
                port.name.clone(),
                HostPort::new(address.clone(), port.container_port),
            )
        })
        .collect();
    (namespace, listen)
}
