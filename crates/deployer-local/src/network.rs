//! The run's network, whichever plane carries it: the network plane (one
//! address per node in its own namespace, faults on every packet; the
//! default) or the link-proxy fallback (one loopback address for the run,
//! a TCP proxy per directed peer link). Deploy and join ask it the same
//! questions: where a node listens, where a peer reaches it, where the
//! runner reaches it, and how to start it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use deploykit::NetworkMode;
use netplane::{NodeNamespace, RunPlane};
use scenario_core::{HostPort, NetworkControl, NodeId, PortSpec};

use crate::error::{Error, Result};
use crate::proxies::{ProxyNet, Reserved};

/// A node put on the network, not started yet.
pub(crate) struct Placed {
    /// Where it listens, per port name.
    pub(crate) listen: BTreeMap<String, HostPort>,
    /// The namespace to start it in (network plane only).
    pub(crate) namespace: Option<NodeNamespace>,
    /// Ports held for it until it starts (link proxies only).
    pub(crate) held: Option<Reserved>,
}

/// The run's network.
pub(crate) enum RunNetwork {
    /// One address per node, the switch in the runner.
    Plane(RunPlane),
    /// One loopback address, link proxies.
    Proxies(ProxyNet),
}

impl RunNetwork {
    /// Set up the run's network for `nodes`.
    pub(crate) async fn create(
        mode: NetworkMode,
        nodes: Vec<NodeId>,
        seed: u64,
    ) -> Result<Arc<Self>> {
        Ok(Arc::new(match mode {
            NetworkMode::Namespaces => {
                Self::Plane(RunPlane::create(seed).await.map_err(plane_failed(None))?)
            }
            NetworkMode::LinkProxies => Self::Proxies(ProxyNet::claim(nodes)?),
        }))
    }

    /// The run's address (proxies) or subnet (plane), for messages and the
    /// run marker.
    pub(crate) fn label(&self) -> String {
        match self {
            Self::Plane(net) => net.subnet().to_owned(),
            Self::Proxies(net) => net.ip.to_string(),
        }
    }

    /// Put `node` on the network.
    pub(crate) async fn place(&self, node: &NodeId, ports: &[PortSpec]) -> Result<Placed> {
        match self {
            Self::Plane(net) => {
                let (namespace, listen) = net
                    .add(node, ports)
                    .await
                    .map_err(plane_failed(Some(node)))?;
                Ok(Placed {
                    listen,
                    namespace: Some(namespace),
                    held: None,
                })
            }
            Self::Proxies(net) => {
                let (listen, held) = net.reserve(ports)?;
                Ok(Placed {
                    listen,
                    namespace: None,
                    held: Some(held),
                })
            }
        }
    }

    /// Where `from` reaches `to`'s peer port listening at `at`: the same
    /// address for every viewer on the plane, a link proxy otherwise. (API
    /// ports are reached where they listen, on either plane.)
    pub(crate) fn peer_address(
        &self,
        from: &NodeId,
        to: &NodeId,
        at: &HostPort,
    ) -> Result<HostPort> {
        match self {
            Self::Plane(_) => Ok(at.clone()),
            Self::Proxies(net) => net.link(from, to, at),
        }
    }

    /// Where the runner reaches `node`, which listens at `listen`.
    pub(crate) async fn runner_endpoints(
        &self,
        node: &NodeId,
        ports: &[PortSpec],
        listen: &BTreeMap<String, HostPort>,
    ) -> Result<BTreeMap<String, HostPort>> {
        match self {
            Self::Plane(net) => net
                .fronts(node, ports)
                .await
                .map_err(plane_failed(Some(node))),
            Self::Proxies(_) => Ok(listen.clone()),
        }
    }

    /// A node joined: faults may name it from now on.
    pub(crate) fn admit(&self, node: &NodeId) {
        match self {
            // The switch knows every node it placed.
            Self::Plane(_) => {}
            Self::Proxies(net) => net.links.add_node(node.clone()),
        }
    }

    /// `Some` probe result when a TCP readiness probe must not go through
    /// the runner's front (which accepts before the node listens).
    pub(crate) async fn tcp_probe(
        &self,
        node: &NodeId,
        port: u16,
    ) -> Option<std::result::Result<(), String>> {
        match self {
            Self::Plane(net) => Some(net.tcp_probe(node, port).await),
            Self::Proxies(_) => None,
        }
    }

    /// The runner's handle on network faults.
    pub(crate) fn control(&self) -> Arc<dyn NetworkControl> {
        match self {
            Self::Plane(net) => net.control(),
            Self::Proxies(net) => Arc::clone(&net.links) as Arc<dyn NetworkControl>,
        }
    }

    /// Every listening address the runner serves for the run (proxies or
    /// fronts): the leak audit checks each is closed after cleanup.
    pub(crate) fn served_addresses(&self) -> Vec<SocketAddr> {
        match self {
            Self::Plane(net) => net.front_addresses(),
            Self::Proxies(net) => net.proxy_addresses(),
        }
    }

    /// The run's namespaces that are still there, one line per process in
    /// or holding one (the leak audit; the fallback makes none).
    pub(crate) fn leftover_namespaces(&self) -> Vec<String> {
        match self {
            Self::Plane(net) => net.leftover_namespaces(),
            Self::Proxies(_) => Vec::new(),
        }
    }

    /// Stop serving: the proxies, or the switch with its fronts and devices.
    pub(crate) async fn close(&self) {
        match self {
            Self::Plane(net) => net.close().await,
            Self::Proxies(net) => net.close().await,
        }
    }

    /// Give the run's address back (the plane gave its subnet back at close).
    pub(crate) fn release(&self) {
        if let Self::Proxies(net) = self {
            net.release();
        }
    }
}

fn plane_failed(node: Option<&NodeId>) -> impl Fn(netplane::Error) -> Error + '_ {
    move |source| Error::NetworkPlane {
        node: node.cloned(),
        source: Box::new(source),
    }
}
