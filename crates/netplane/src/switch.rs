//! The packet switch the runner owns: one port per namespace (every node and
//! the runner), a reader task per port that takes IPv4 packets off the
//! port's TUN device, routes them by destination address to the
//! destination's TUN device, and asks the fault engine on the way (only for
//! node-to-node packets: the runner's traffic is never faulted). Delayed
//! packets wait in one timer task, ordered by release time.
//!
//! The source of a packet is the port it came in on, not its header, so a
//! node cannot escape a fault by spoofing. Non-IPv4 packets and packets to
//! an address with no port are dropped and counted.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use scenario_core::NodeId;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tun_rs::AsyncDevice;

use crate::counters::{Counters, SwitchCounters};
use crate::engine::{Engine, NodeIndex, Verdict};
use crate::error::{Error, Result};
use crate::netns::{self, NodeNamespace, Origin};
use crate::release::release;
use crate::subnet::RunSubnet;

/// The host number of the runner's port in the run's subnet.
const RUNNER_HOST: u32 = 1;

pub(crate) struct Port {
    pub(crate) node: Option<(NodeId, NodeIndex)>,
    pub(crate) ns: NodeNamespace,
    device: AsyncDevice,
}

#[derive(Default)]
struct Ports {
    by_address: HashMap<Ipv4Addr, Arc<Port>>,
    by_id: HashMap<NodeId, Arc<Port>>,
}

/// A packet waiting for its release time.
struct Delayed {
    to: Arc<Port>,
    packet: Vec<u8>,
}

pub(crate) struct Shared {
    engine: Mutex<Engine>,
    faulted: AtomicBool,
    ports: RwLock<Ports>,
    delayed: mpsc::UnboundedSender<(Instant, Delayed)>,
    pub(crate) counters: Counters,
    next_host: AtomicU32,
    pub(crate) network: (Ipv4Addr, u8),
    subnet: Mutex<Option<RunSubnet>>,
    pub(crate) runner: Mutex<Option<NodeNamespace>>,
    pub(crate) stop: CancellationToken,
    pub(crate) tasks: TaskTracker,
    pub(crate) fronts: tokio::sync::Mutex<HashMap<(NodeId, u16), SocketAddr>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The run's packet switch. Dropping it stops its tasks; `shutdown` also
/// waits for them and closes every TUN device before it returns.
pub struct Switch {
    pub(crate) shared: Arc<Shared>,
}

impl Switch {
    /// A switch on a freshly claimed run subnet, with the runner's port.
    pub async fn new(seed: u64) -> Result<Self> {
        Self::with_subnet(RunSubnet::claim()?, seed).await
    }

    /// A switch on `subnet`, drawing fault randomness from `seed`. Must be
    /// called from within a tokio runtime with IO and time enabled (the
    /// switch's tasks run on it).
    pub async fn with_subnet(subnet: RunSubnet, seed: u64) -> Result<Self> {
        crate::probe::probe()?;
        // Fronts listen on 127.0.0.1 in the runner's own namespace, which
        // may be a fresh one without `lo` up (`unshare --user --net`).
        std::thread::spawn(crate::netlink::loopback_up)
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the thread died")))
            .map_err(|source| Error::NamespaceSetupFailed {
                name: "the runner's own".to_owned(),
                step: "bring lo up",
                source,
            })?;
        let (delayed, queue) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            engine: Mutex::new(Engine::new(seed)),
            faulted: AtomicBool::new(false),
            ports: RwLock::new(Ports::default()),
            delayed,
            counters: Counters::default(),
            next_host: AtomicU32::new(RUNNER_HOST + 1),
            network: (subnet.network(), subnet.prefix()),
            runner: Mutex::new(None),
            stop: CancellationToken::new(),
            tasks: TaskTracker::new(),
            fronts: tokio::sync::Mutex::new(HashMap::new()),
            subnet: Mutex::new(None),
        });
        let address = subnet.host(RUNNER_HOST).ok_or(Error::SubnetFull {
            subnet: subnet.to_string(),
            node: NodeId::new("runner"),
        })?;
        *lock(&shared.subnet) = Some(subnet);
        let switch = Self { shared };
        let runner = switch
            .attach("runner".to_owned(), Origin::New, None, address)
            .await?;
        *lock(&switch.shared.runner) = Some(runner);
        let timer = Arc::clone(&switch.shared);
        switch.shared.tasks.spawn(release_delayed(timer, queue));
        Ok(switch)
    }

    /// Put a node on the switch: its own namespace, its TUN device, the next
    /// free address of the subnet. Faults may name it from now on.
    pub async fn add_node(&self, id: NodeId) -> Result<NodeNamespace> {
        self.place(id, Origin::New).await
    }

    /// Put a node whose network namespace already exists on the switch:
    /// `netns` is an open `/proc/<pid>/ns/net` of a process inside it (a
    /// container's sandbox, which must hold only `lo`). The switch adds its
    /// TUN device with the next free address, the subnet route and a
    /// default route; the namespace stays its owner's (it lives while any
    /// process in it does, or while the switch holds the device).
    pub async fn adopt_node(&self, id: NodeId, netns: std::fs::File) -> Result<NodeNamespace> {
        self.place(id, Origin::Existing(netns)).await
    }

    async fn place(&self, id: NodeId, origin: Origin) -> Result<NodeNamespace> {
        if self.port(&id).is_some() {
            return Err(Error::DuplicateNode(id));
        }
        let host = self.shared.next_host.fetch_add(1, Ordering::Relaxed);
        let (network, prefix) = self.shared.network;
        let address = lock(&self.shared.subnet)
            .as_ref()
            .ok_or(Error::SwitchStopped)?
            .host(host)
            .ok_or_else(|| Error::SubnetFull {
                subnet: format!("{network}/{prefix}"),
                node: id.clone(),
            })?;
        let index = self
            .shared
            .with_engine(|engine| engine.add_node(id.clone()));
        self.attach(id.to_string(), origin, Some((id, index)), address)
            .await
    }

    async fn attach(
        &self,
        name: String,
        origin: Origin,
        node: Option<(NodeId, NodeIndex)>,
        address: Ipv4Addr,
    ) -> Result<NodeNamespace> {
        if self.shared.stop.is_cancelled() {
            return Err(Error::SwitchStopped);
        }
        let (ns, device) =
            netns::create(name.clone(), origin, address, self.shared.network.1).await?;
        let device = AsyncDevice::new(device).map_err(|source| Error::NamespaceSetupFailed {
            name,
            step: "register the TUN device with the runtime",
            source,
        })?;
        let port = Arc::new(Port {
            node: node.clone(),
            ns: ns.clone(),
            device,
        });
        {
            let mut ports = self
                .shared
                .ports
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some((id, _)) = &node {
                if ports.by_id.contains_key(id) {
                    return Err(Error::DuplicateNode(id.clone()));
                }
                ports.by_id.insert(id.clone(), Arc::clone(&port));
            }
            ports.by_address.insert(address, Arc::clone(&port));
        }
        self.shared
            .tasks
            .spawn(read_port(Arc::clone(&self.shared), port));
        Ok(ns)
    }

    pub(crate) fn port(&self, id: &NodeId) -> Option<Arc<Port>> {
        self.shared
            .ports
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_id
            .get(id)
            .cloned()
    }

    /// The namespace of a node on the switch.
    pub fn node(&self, id: &NodeId) -> Option<NodeNamespace> {
        self.port(id).map(|port| port.ns.clone())
    }

    /// A node's one address.
    pub fn address(&self, id: &NodeId) -> Option<Ipv4Addr> {
        self.port(id).map(|port| port.ns.address())
    }

    /// The runner's namespace (its traffic is never faulted): open sockets
    /// here to reach nodes by their addresses.
    pub fn runner(&self) -> Result<NodeNamespace> {
        lock(&self.shared.runner)
            .clone()
            .ok_or(Error::SwitchStopped)
    }

    /// The run's subnet, e.g. `(198.18.4.0, 22)`.
    pub fn subnet(&self) -> (Ipv4Addr, u8) {
        self.shared.network
    }

    /// The switch's own counters (all ports, all faults).
    pub fn counters(&self) -> SwitchCounters {
        self.shared.counters.snapshot()
    }

    /// Stop every task, close every TUN device and the runner's namespace,
    /// give the subnet back. Node namespaces vanish once their handles and
    /// processes are gone too.
    pub async fn shutdown(self) {
        self.shared.stop.cancel();
        self.shared.tasks.close();
        self.shared.tasks.wait().await;
        self.teardown();
    }

    fn teardown(&self) {
        let ports = std::mem::take(
            &mut *self
                .shared
                .ports
                .write()
                .unwrap_or_else(PoisonError::into_inner),
        );
        drop(ports.by_id);
        close_in_parallel(ports.by_address.into_values().collect());
        lock(&self.shared.runner).take();
        lock(&self.shared.subnet).take();
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        // Tasks see the token and end soon; their ports close with them.
        self.shared.stop.cancel();
        self.teardown();
    }
}

/// Close ports (their TUN devices) from several threads at once: the kernel
/// spends a grace period on every device it removes, and grace periods of
/// devices closed together overlap, where one after the other they add up
/// (about 25 ms a node).
fn close_in_parallel(ports: Vec<Arc<Port>>) {
    const THREADS: usize = 8;
    let mut shares: Vec<Vec<Arc<Port>>> = (0..THREADS).map(|_| Vec::new()).collect();
    for (index, port) in ports.into_iter().enumerate() {
        shares[index % THREADS].push(port);
    }
    std::thread::scope(|scope| {
        for share in shares.into_iter().filter(|share| !share.is_empty()) {
            scope.spawn(move || drop(share));
        }
    });
}

/// Take packets off one port until the switch stops.
async fn read_port(shared: Arc<Shared>, port: Arc<Port>) {
    let mut buffer = vec![0u8; 65_536];
    loop {
        let received = tokio::select! {
            biased;
            () = shared.stop.cancelled() => return,
            received = port.device.recv(&mut buffer) => received,
        };
        match received {
            Ok(length) => shared.route(&port, &buffer[..length]).await,
            Err(error) => {
                tracing::warn!(port = port.ns.name(), %error, "reading a TUN device failed");
                return;
            }
        }
    }
}

impl Shared {
    /// Work on the engine; the packet path learns at once whether any fault
    /// is still active.
    pub(crate) fn with_engine<R>(&self, work: impl FnOnce(&mut Engine) -> R) -> R {
        let mut engine = lock(&self.engine);
        let result = work(&mut engine);
        self.faulted.store(engine.is_faulted(), Ordering::Release);
        result
    }

    async fn route(&self, from: &Port, packet: &[u8]) {
        if packet.len() < 20 || packet[0] >> 4 != 4 {
            self.counters.not_ipv4();
            return;
        }
        let destination = Ipv4Addr::new(packet[16], packet[17], packet[18], packet[19]);
        let to = self
            .ports
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_address
            .get(&destination)
            .cloned();
        let Some(to) = to else {
            self.counters.no_route();
            return;
        };
        let verdict = match (&from.node, &to.node) {
            (Some((_, a)), Some((_, b))) if self.faulted.load(Ordering::Acquire) => {
                lock(&self.engine).decide(*a, *b, packet.len(), Instant::now())
            }
            _ => Verdict::Forward,
        };
        match verdict {
            Verdict::Forward => self.deliver(&to, packet).await,
            Verdict::ForwardAt(at) => {
                self.counters.delayed();
                let packet = packet.to_vec();
                let _ = self.delayed.send((at, Delayed { to, packet }));
            }
            Verdict::Drop(_) => self.counters.dropped_by_fault(),
        }
    }

    async fn deliver(&self, to: &Port, packet: &[u8]) {
        match to.device.send(packet).await {
            Ok(_) => self.counters.forwarded(packet.len()),
            Err(_) => self.counters.write_error(),
        }
    }
}

/// Hold delayed packets until their release time, earliest first, until
/// the switch stops.
async fn release_delayed(shared: Arc<Shared>, queue: mpsc::UnboundedReceiver<(Instant, Delayed)>) {
    let deliver = |packet: Delayed| {
        let shared = Arc::clone(&shared);
        async move { shared.deliver(&packet.to, &packet.packet).await }
    };
    tokio::select! {
        () = shared.stop.cancelled() => {}
        () = release(queue, deliver) => {}
    }
}
