//! The link-proxy network (the explicit fallback for machines without
//! namespaces): one claimed loopback address, ports reserved on it for each
//! node until the node binds them, and a TCP link proxy per directed peer
//! link (where the partitions, cuts, latency, loss and bandwidth limits
//! act). Every node sees each peer at a different address, and traffic the
//! node software does not send to a configured peer port (learned
//! addresses, UDP) escapes the faults.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use deploykit::proxy::{self, Links, Proxy};
use scenario_core::{HostPort, NodeId, PortSpec};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::loopback::{self, Loopback};

/// The run's address, its link proxies and the fault state they share.
pub(crate) struct ProxyNet {
    pub(crate) ip: Ipv4Addr,
    /// The network faults in force, and the runner's handle on them.
    pub(crate) links: Arc<Links>,
    loopback: Mutex<Option<Loopback>>,
    stop: CancellationToken,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    proxies: Mutex<Vec<SocketAddr>>,
}

/// Ports held for one node until it starts and binds them itself.
pub(crate) struct Reserved(Vec<TcpListener>);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The socket address of a host and port on the run's address.
pub(crate) fn socket(address: &HostPort) -> SocketAddr {
    address
        .to_string()
        .parse()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], address.port)))
}

impl ProxyNet {
    /// Claim a private loopback address for a run of `nodes`.
    pub(crate) fn claim(nodes: Vec<NodeId>) -> Result<Self> {
        let claimed = loopback::claim().map_err(Error::LoopbackUnavailable)?;
        Ok(Self {
            ip: claimed.ip,
            links: Links::new(nodes),
            loopback: Mutex::new(Some(claimed)),
            stop: CancellationToken::new(),
            tasks: Mutex::default(),
            proxies: Mutex::default(),
        })
    }

    fn unavailable(&self) -> impl Fn(std::io::Error) -> Error + '_ {
        |source| Error::PortsUnavailable {
            ip: self.ip,
            source,
        }
    }

    /// Reserve one free port per entry of `ports` on the run's address:
    /// where the node listens, per port name, and the hold on them.
    pub(crate) fn reserve(
        &self,
        ports: &[PortSpec],
    ) -> Result<(BTreeMap<String, HostPort>, Reserved)> {
        let held: Vec<TcpListener> = ports
            .iter()
            .map(|_| TcpListener::bind((self.ip, 0)))
            .collect::<std::io::Result<_>>()
            .map_err(self.unavailable())?;
        let mut listen = BTreeMap::new();
        for (port, listener) in ports.iter().zip(&held) {
            let number = listener.local_addr().map_err(self.unavailable())?.port();
            listen.insert(
                port.name.clone(),
                HostPort::new(self.ip.to_string(), number),
            );
        }
        Ok((listen, Reserved(held)))
    }

    /// Bind and serve the link proxy for `from → to`, forwarding to `to`'s
    /// port at `target`: where `from` reaches it.
    pub(crate) fn link(&self, from: &NodeId, to: &NodeId, target: &HostPort) -> Result<HostPort> {
        let listener = TcpListener::bind((self.ip, 0)).map_err(self.unavailable())?;
        listener.set_nonblocking(true).map_err(self.unavailable())?;
        let address = listener.local_addr().map_err(self.unavailable())?;
        let listener = tokio::net::TcpListener::from_std(listener).map_err(self.unavailable())?;
        let proxy = Proxy {
            from: from.clone(),
            to: to.clone(),
            listener,
        };
        let task = proxy::serve(
            proxy,
            proxy::Target::new(socket(target)),
            &self.links,
            self.stop.clone(),
        );
        lock(&self.tasks).push(task);
        lock(&self.proxies).push(address);
        Ok(HostPort::new(self.ip.to_string(), address.port()))
    }

    /// Every proxy address served so far (the leak audit checks them).
    pub(crate) fn proxy_addresses(&self) -> Vec<SocketAddr> {
        lock(&self.proxies).clone()
    }

    /// Stop every proxy and wait until each has closed.
    pub(crate) async fn close(&self) {
        self.stop.cancel();
        let tasks = std::mem::take(&mut *lock(&self.tasks));
        for task in tasks {
            let _ = task.await;
        }
    }

    /// Give the run's address back.
    pub(crate) fn release(&self) {
        if let Some(mut claimed) = lock(&self.loopback).take() {
            claimed.release();
        }
    }
}

impl Reserved {
    /// Let go of the ports, just before the node binds them.
    pub(crate) fn release(self) {
        drop(self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_reserved_on_the_run_address_are_distinct_and_held() {
        let net = ProxyNet::claim(Vec::new()).unwrap();
        let ports: Vec<PortSpec> = (0..50).map(|i| PortSpec::api(format!("p{i}"), 1)).collect();
        let (listen, held) = net.reserve(&ports).unwrap();
        let unique: std::collections::BTreeSet<u16> = listen.values().map(|a| a.port).collect();
        assert_eq!(unique.len(), 50);
        let taken = listen.values().next().unwrap();
        assert!(
            TcpListener::bind(socket(taken)).is_err(),
            "held until released"
        );
        held.release();
        assert!(TcpListener::bind(socket(taken)).is_ok());
        net.release();
    }
}
