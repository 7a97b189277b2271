//! Link proxies: every directed peer link A→B goes through a TCP proxy the
//! framework owns (A is told the proxy's address as B's), so links can be
//! cut one way, delayed, made lossy or throttled without root.
//!
//! Semantics on a byte stream:
//! * **cut**: bytes of that direction are held (not read further) until the
//!   cut heals, as a partitioned network would leave them in flight;
//! * **latency / jitter**: each chunk read (up to 64 KiB) is delayed;
//! * **loss**: with that probability per chunk, the connection is reset
//!   (TCP hides single lost packets; a lossy link shows as failed requests);
//! * **bandwidth**: writes are paced to the rate.
//!
//! With no fault on a link, a chunk costs one map lookup before it is copied.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rand::Rng;
use scenario_core::{ControlError, FaultId, LinkShape, NetworkControl, NetworkFault, NodeId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// What is imposed on one directed link right now.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LinkState {
    /// Whether bytes of this direction are held.
    pub cut: bool,
    /// Delay, loss and rate imposed.
    pub shape: LinkShape,
}

impl LinkState {
    fn is_clean(&self) -> bool {
        !self.cut && self.shape == LinkShape::default()
    }
}

type LinkMap = BTreeMap<(NodeId, NodeId), LinkState>;

/// The active faults and the link states they add up to; the local
/// `NetworkControl` of every deployer that routes peer traffic through
/// link proxies.
pub struct Links {
    nodes: std::sync::RwLock<Vec<NodeId>>,
    active: Mutex<BTreeMap<FaultId, NetworkFault>>,
    next_id: AtomicU64,
    states: watch::Sender<Arc<LinkMap>>,
}

impl Links {
    /// Links between `nodes`, all clean.
    pub fn new(nodes: Vec<NodeId>) -> Arc<Self> {
        Arc::new(Self {
            nodes: std::sync::RwLock::new(nodes),
            active: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
            states: watch::channel(Arc::new(LinkMap::new())).0,
        })
    }

    fn subscribe(&self) -> watch::Receiver<Arc<LinkMap>> {
        self.states.subscribe()
    }

    /// A node that joined: faults may name it from now on.
    pub fn add_node(&self, node: NodeId) {
        self.nodes
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(node);
    }

    fn check(&self, node: &NodeId) -> Result<(), ControlError> {
        let nodes = self
            .nodes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if nodes.contains(node) {
            Ok(())
        } else {
            Err(ControlError::UnknownNode(node.clone()))
        }
    }

    fn publish(&self, active: &BTreeMap<FaultId, NetworkFault>) {
        let mut map = LinkMap::new();
        for fault in active.values() {
            match fault {
                NetworkFault::Partition { groups } => {
                    for (i, a) in groups.iter().enumerate() {
                        for (j, b) in groups.iter().enumerate() {
                            if i == j {
                                continue;
                            }
                            for from in a {
                                for to in b {
                                    map.entry((from.clone(), to.clone())).or_default().cut = true;
                                }
                            }
                        }
                    }
                }
                NetworkFault::Cut { from, to } => {
                    map.entry((from.clone(), to.clone())).or_default().cut = true;
                }
                NetworkFault::Shape { from, to, shape } => {
                    let link = &mut map.entry((from.clone(), to.clone())).or_default().shape;
                    link.latency = link.latency.max(shape.latency);
                    link.jitter = link.jitter.max(shape.jitter);
                    link.loss = link.loss.max(shape.loss);
                    link.bandwidth = match (link.bandwidth, shape.bandwidth) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
                _ => {}
            }
        }
        self.states.send_replace(Arc::new(map));
    }
}

#[async_trait::async_trait]
impl NetworkControl for Links {
    async fn apply(&self, fault: &NetworkFault) -> Result<FaultId, ControlError> {
        match fault {
            NetworkFault::Partition { groups } => {
                for node in groups.iter().flatten() {
                    self.check(node)?;
                }
            }
            NetworkFault::Cut { from, to } | NetworkFault::Shape { from, to, .. } => {
                self.check(from)?;
                self.check(to)?;
            }
            _ => {
                return Err(ControlError::Unsupported(
                    scenario_core::Capability::Partition,
                ));
            }
        }
        if let NetworkFault::Shape { shape, .. } = fault
            && !(0.0..=1.0).contains(&shape.loss)
        {
            return Err(ControlError::ActionFailed {
                action: "shape".to_owned(),
                target: fault.to_string(),
                source: format!("loss must be between 0 and 1, not {}", shape.loss).into(),
            });
        }
        let id = FaultId(self.next_id.fetch_add(1, Ordering::Relaxed));
        let mut active = self
            .active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        active.insert(id, fault.clone());
        self.publish(&active);
        Ok(id)
    }

    async fn heal(&self, fault: FaultId) -> Result<(), ControlError> {
        let mut active = self
            .active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        active.remove(&fault);
        self.publish(&active);
        Ok(())
    }

    async fn heal_all(&self) -> Result<(), ControlError> {
        let mut active = self
            .active
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        active.clear();
        self.publish(&active);
        Ok(())
    }
}

/// A bound, not yet serving, proxy for the link `from → to`.
pub struct Proxy {
    /// The sending node.
    pub from: NodeId,
    /// The receiving node.
    pub to: NodeId,
    /// Where the sender connects.
    pub listener: TcpListener,
}

/// Where a proxy forwards to. Cheap to clone; a backend whose nodes move
/// (a restarted container gets a new published port) updates it, and the
/// next connection goes to the new address.
#[derive(Clone, Debug)]
pub struct Target(Arc<std::sync::RwLock<SocketAddr>>);

impl Target {
    /// Forward to `address`.
    pub fn new(address: SocketAddr) -> Self {
        Self(Arc::new(std::sync::RwLock::new(address)))
    }

    /// Forward new connections to `address` from now on.
    pub fn set(&self, address: SocketAddr) {
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = address;
    }

    /// Where new connections go.
    pub fn get(&self) -> SocketAddr {
        *self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Serve a proxy until `stop` fires: forward each accepted connection to
/// where `target` points at that moment. The returned task ends (and the
/// listener closes) after `stop`.
pub fn serve(
    proxy: Proxy,
    target: Target,
    links: &Links,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let states = links.subscribe();
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                () = stop.cancelled() => break,
                accepted = proxy.listener.accept() => accepted,
            };
            let Ok((client, _)) = accepted else { continue };
            let (from, to, states, stop, target) = (
                proxy.from.clone(),
                proxy.to.clone(),
                states.clone(),
                stop.clone(),
                target.get(),
            );
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(target).await else {
                    return;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let connection = stop.child_token();
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                let forward = pump(
                    client_read,
                    server_write,
                    (from.clone(), to.clone()),
                    states.clone(),
                    connection.clone(),
                );
                let backward = pump(
                    server_read,
                    client_write,
                    (to, from),
                    states,
                    connection.clone(),
                );
                tokio::select! {
                    () = connection.cancelled() => {}
                    _ = async { tokio::join!(forward, backward) } => {}
                }
            });
        }
    })
}

/// Copy one direction of a connection, applying the link's state per chunk.
async fn pump(
    mut read: tokio::net::tcp::OwnedReadHalf,
    mut write: tokio::net::tcp::OwnedWriteHalf,
    link: (NodeId, NodeId),
    mut states: watch::Receiver<Arc<LinkMap>>,
    connection: CancellationToken,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let read_bytes = tokio::select! {
            () = connection.cancelled() => return,
            read_bytes = read.read(&mut buffer) => read_bytes,
        };
        let count = match read_bytes {
            Ok(0) | Err(_) => {
                let _ = write.shutdown().await;
                return;
            }
            Ok(count) => count,
        };
        let mut state = states.borrow().get(&link).cloned().unwrap_or_default();
        if !state.is_clean() {
            while state.cut {
                if states.changed().await.is_err() {
                    return;
                }
                state = states.borrow().get(&link).cloned().unwrap_or_default();
            }
            let (lost, delay) = {
                let mut rng = rand::rng();
                let jitter_ms = state.shape.jitter.as_millis() as u64;
                let jitter = Duration::from_millis(if jitter_ms > 0 {
                    rng.random_range(0..=jitter_ms)
                } else {
                    0
                });
                (
                    state.shape.loss > 0.0 && rng.random_bool(state.shape.loss),
                    state.shape.latency + jitter,
                )
            };
            if lost {
                connection.cancel();
                return;
            }
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
        }
        if write.write_all(&buffer[..count]).await.is_err() {
            connection.cancel();
            return;
        }
        if let Some(rate) = state.shape.bandwidth.filter(|rate| *rate > 0) {
            tokio::time::sleep(Duration::from_secs_f64(count as f64 / rate as f64)).await;
        }
    }
}

#[cfg(test)]
mod tests;
