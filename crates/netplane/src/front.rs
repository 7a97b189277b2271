//! How the runner reaches node APIs: connections made from the runner's
//! namespace (its own port on the switch, never faulted) to a node's one
//! address, and fronts — a TCP listener on 127.0.0.1 in the caller's
//! namespace per node port, forwarding each connection into the plane — so
//! HTTP clients that know nothing of namespaces work unchanged (as the
//! compose deployer fronts containers with published ports).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use scenario_core::NodeId;
use tokio::net::{TcpListener, TcpStream};

use crate::error::{Error, Result};
use crate::switch::Switch;

impl Switch {
    /// A TCP connection from the runner's namespace to `node`'s `port`.
    pub async fn connect(&self, node: &NodeId, port: u16) -> Result<TcpStream> {
        let address = self
            .address(node)
            .ok_or_else(|| Error::UnknownNode(node.clone()))?;
        let runner = self.runner()?;
        runner
            .connect(SocketAddrV4::new(address, port).into())
            .await
    }

    /// A listener on `127.0.0.1` (in the caller's namespace) forwarding every
    /// connection to `node`'s `port` through the runner's namespace. Asking
    /// twice gives the same address; the front closes with the switch.
    pub async fn front(&self, node: &NodeId, port: u16) -> Result<SocketAddr> {
        let mut fronts = self.shared.fronts.lock().await;
        if let Some(front) = fronts.get(&(node.clone(), port)) {
            return Ok(*front);
        }
        let address = self
            .address(node)
            .ok_or_else(|| Error::UnknownNode(node.clone()))?;
        let failed = |source| Error::FrontFailed {
            node: node.clone(),
            port,
            source,
        };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(failed)?;
        let front = listener.local_addr().map_err(failed)?;
        let target = SocketAddr::V4(SocketAddrV4::new(address, port));
        let runner = self.runner()?;
        let (stop, tasks) = (self.shared.stop.clone(), self.shared.tasks.clone());
        self.shared.tasks.spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = stop.cancelled() => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((mut client, _)) = accepted else {
                    continue;
                };
                let (runner, stop) = (runner.clone(), stop.clone());
                tasks.spawn(async move {
                    let Ok(mut server) = runner.connect(target).await else {
                        return;
                    };
                    let _ = (client.set_nodelay(true), server.set_nodelay(true));
                    tokio::select! {
                        () = stop.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    }
                });
            }
        });
        fronts.insert((node.clone(), port), front);
        Ok(front)
    }
}
