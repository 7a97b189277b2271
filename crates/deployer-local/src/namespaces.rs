//! The network plane on local processes (the default): every node in its
//! own network namespace with one address on the run's subnet, every packet
//! between nodes through the runner's switch (where faults act, on any
//! protocol, by source and destination), and a front on 127.0.0.1 per API
//! port through which the runner reaches each node.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use netplane::{NodeNamespace, Switch, SwitchControl};
use scenario_core::{HostPort, NodeId, PortSpec};

use crate::error::{Error, Result};

/// The run's switch and the fronts it serves.
pub(crate) struct NamespaceNet {
    /// Taken at close (shutdown needs it by value when no one else holds it).
    switch: Mutex<Option<Arc<Switch>>>,
    control: Arc<SwitchControl>,
    fronts: Mutex<Vec<SocketAddr>>,
    subnet: String,
}

fn plane_failed(node: Option<&NodeId>) -> impl Fn(netplane::Error) -> Error + '_ {
    move |source| Error::NetworkPlane {
        node: node.cloned(),
        source: Box::new(source),
    }
}

impl NamespaceNet {
    /// A switch on a fresh run subnet; fails naming the missing piece and
    /// the fix when this machine cannot run the plane.
    pub(crate) async fn create(seed: u64) -> Result<Self> {
        let switch = Switch::new(seed).await.map_err(plane_failed(None))?;
        let (network, prefix) = switch.subnet();
        Ok(Self {
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
            .ok_or(Error::NetworkClosed)
    }

    /// The run's subnet, for messages and the run marker.
    pub(crate) fn subnet(&self) -> &str {
        &self.subnet
    }

    /// Put `node` on the switch: its namespace, and where it listens (its
    /// one address, each port at its container port).
    pub(crate) async fn add(
        &self,
        node: &NodeId,
        ports: &[PortSpec],
    ) -> Result<(NodeNamespace, BTreeMap<String, HostPort>)> {
        let namespace = self
            .switch()?
            .add_node(node.clone())
            .await
            .map_err(plane_failed(Some(node)))?;
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
        Ok((namespace, listen))
    }

    /// Where the runner reaches `node` on each port: a front on 127.0.0.1.
    pub(crate) async fn fronts(
        &self,
        node: &NodeId,
        ports: &[PortSpec],
    ) -> Result<BTreeMap<String, HostPort>> {
        let switch = self.switch()?;
        let mut reached = BTreeMap::new();
        for port in ports {
            let front = switch
                .front(node, port.container_port)
                .await
                .map_err(plane_failed(Some(node)))?;
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
    pub(crate) async fn tcp_probe(
        &self,
        node: &NodeId,
        port: u16,
    ) -> std::result::Result<(), String> {
        let switch = self.switch().map_err(|e| e.to_string())?;
        switch
            .connect(node, port)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// The runner's handle on the faults.
    pub(crate) fn control(&self) -> Arc<SwitchControl> {
        Arc::clone(&self.control)
    }

    /// Every front served so far (the leak audit checks they closed).
    pub(crate) fn front_addresses(&self) -> Vec<SocketAddr> {
        self.fronts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stop the switch: its tasks, fronts and TUN devices; the subnet is
    /// given back. Node namespaces vanish with their processes.
    pub(crate) async fn close(&self) {
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
