//! In-process fakes for testing the runner and the crates built on the core:
//! a fake deployer that "starts" nodes in memory and fake nodes whose chain
//! is a counter. They exercise the runner's semantics; they never stand in
//! for a real backend. Enabled by the `fake` feature.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::client::{Block, ClientError, NodeClient, NodeInfo, TxId};
use crate::control::{Capabilities, Capability, ControlError, NodeControl};
use crate::deployer::{DeployEnv, Deployer, Deployment};
use crate::error::BoxError;
use crate::launch::{HostPort, LaunchSpec, NodeEndpoint, NodeKind, NodeView, PortSpec, Readiness};
use crate::runner::CleanupRegistry;
use crate::scenario::Scenario;
use crate::timeline::{NodeCause, Timeline};
use crate::topology::{NodeId, Role};

/// A node kind for fakes: renders a launch nobody runs and hands out
/// [`FakeNodeClient`]s.
#[derive(Clone, Debug, Default)]
pub struct FakeNodeKind;

impl NodeKind for FakeNodeKind {
    fn name(&self) -> &str {
        "fake-node"
    }

    fn ports(&self) -> Vec<PortSpec> {
        vec![PortSpec::api("api", 8080), PortSpec::peer("p2p", 9000)]
    }

    fn render(&self, node: &NodeView) -> Result<LaunchSpec, BoxError> {
        let peers: Vec<String> = node
            .peers
            .iter()
            .map(|p| p.address("p2p").map(ToString::to_string))
            .collect::<Result<_, _>>()?;
        Ok(LaunchSpec::program("fake-node")
            .arg(format!("--id={}", node.id()))
            .arg(format!("--peers={}", peers.join(",")))
            .readiness(Readiness::http("api", "/ready")))
    }

    fn client(&self, node: &NodeEndpoint) -> Result<Arc<dyn NodeClient>, BoxError> {
        Ok(Arc::new(FakeNodeClient::new(
            node.id.clone(),
            node.role.clone(),
        )))
    }
}

/// A fake node: its chain is a counter that grows by one block per `info` call.
#[derive(Debug)]
pub struct FakeNodeClient {
    id: NodeId,
    role: Role,
    height: AtomicU64,
    txs: AtomicU64,
}

impl FakeNodeClient {
    /// A fake node at height 0.
    pub fn new(id: NodeId, role: Role) -> Self {
        Self {
            id,
            role,
            height: AtomicU64::new(0),
            txs: AtomicU64::new(0),
        }
    }
}

#[async_trait::async_trait]
impl NodeClient for FakeNodeClient {
    fn node(&self) -> &NodeId {
        &self.id
    }

    async fn info(&self) -> Result<NodeInfo, ClientError> {
        let height = self.height.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(NodeInfo {
            node_id: self.id.clone(),
            role: self.role.clone(),
            height,
            tip_hash: format!("{height:064x}"),
            finalized_height: height.saturating_sub(1),
            peers: Vec::new(),
            leader: None,
        })
    }

    async fn block(&self, height: u64) -> Result<Block, ClientError> {
        if height > self.height.load(Ordering::SeqCst) {
            return Err(ClientError::NotFound {
                node: self.id.clone(),
                what: format!("block at height {height}"),
            });
        }
        Ok(Block {
            height,
            hash: format!("{height:064x}"),
            parent: format!("{:064x}", height.saturating_sub(1)),
            proposer: self.id.clone(),
            committed_at_ms: 0,
            finalized: true,
            txs: Vec::new(),
            blobs: Vec::new(),
        })
    }

    async fn submit_tx(&self, _tx: &[u8]) -> Result<TxId, ClientError> {
        let n = self.txs.fetch_add(1, Ordering::SeqCst);
        Ok(TxId(format!("{}-tx-{n}", self.id)))
    }
}

/// What a [`FakeDeployer`] did, for tests to inspect after the run.
#[derive(Debug, Default)]
struct Record {
    started: Mutex<Vec<NodeId>>,
    cleanups: Mutex<BTreeMap<NodeId, usize>>,
    deploy_calls: AtomicUsize,
    actions: Mutex<Vec<String>>,
}

/// A handle on what a [`FakeDeployer`] did; clone it before the run.
#[derive(Clone, Debug, Default)]
pub struct FakeProbe(Arc<Record>);

impl FakeProbe {
    /// The nodes started, in order.
    pub fn started(&self) -> Vec<NodeId> {
        lock(&self.0.started).clone()
    }

    /// How many times each node's cleanup ran.
    pub fn cleanups(&self) -> BTreeMap<NodeId, usize> {
        lock(&self.0.cleanups).clone()
    }

    /// How many times `deploy` was called.
    pub fn deploy_calls(&self) -> usize {
        self.0.deploy_calls.load(Ordering::SeqCst)
    }

    /// The control actions performed, as `"<action> <node>"`.
    pub fn actions(&self) -> Vec<String> {
        lock(&self.0.actions).clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How a [`FakeDeployer`] misbehaves, if at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FakeFault {
    /// Deploys every node.
    #[default]
    None,
    /// Starts this many nodes, then returns an error.
    FailAfter(usize),
    /// Starts this many nodes, then panics.
    PanicAfter(usize),
}

mod join;

/// A deployer that starts fake nodes in memory. Each started node registers
/// a cleanup action that the probe counts. Offered
/// [`Capability::DynamicJoin`], it also adds nodes to the running network.
#[derive(Clone, Debug)]
pub struct FakeDeployer {
    probe: FakeProbe,
    fault: FakeFault,
    delay_per_node: Duration,
    capabilities: Capabilities,
}

impl Default for FakeDeployer {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeDeployer {
    /// A fake deployer offering stop/start, kill and pause.
    pub fn new() -> Self {
        Self {
            probe: FakeProbe::default(),
            fault: FakeFault::None,
            delay_per_node: Duration::ZERO,
            capabilities: [Capability::StopStart, Capability::Kill, Capability::Pause]
                .into_iter()
                .collect(),
        }
    }

    /// Misbehave during deploy.
    pub fn fault(mut self, fault: FakeFault) -> Self {
        self.fault = fault;
        self
    }

    /// Take this long to "start" each node.
    pub fn delay_per_node(mut self, delay: Duration) -> Self {
        self.delay_per_node = delay;
        self
    }

    /// Offer these capabilities instead.
    pub fn capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// A handle on what this deployer does.
    pub fn probe(&self) -> FakeProbe {
        self.probe.clone()
    }
}

#[async_trait::async_trait]
impl Deployer for FakeDeployer {
    fn name(&self) -> &str {
        "fake"
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }

    async fn deploy(&self, scenario: &Scenario, env: &DeployEnv) -> Result<Deployment, BoxError> {
        let record = &self.probe.0;
        record.deploy_calls.fetch_add(1, Ordering::SeqCst);
        let slots = scenario.nodes().to_vec();
        let addresses = |id: &NodeId| addresses(scenario.node_kind().as_ref(), id);
        let mut clients: BTreeMap<NodeId, Arc<dyn NodeClient>> = BTreeMap::new();
        for (started, slot) in slots.iter().enumerate() {
            match self.fault {
                FakeFault::FailAfter(n) if n == started => {
                    return Err(format!("fake failure after starting {n} nodes").into());
                }
                FakeFault::PanicAfter(n) if n == started => {
                    panic!("fake panic after starting {n} nodes");
                }
                _ => {}
            }
            let view = NodeView {
                slot: slot.clone(),
                listen: addresses(&slot.id),
                data_dir: format!("/data/{}", slot.id),
                peers: slots
                    .iter()
                    .filter(|peer| peer.id != slot.id)
                    .map(|peer| crate::launch::PeerView {
                        id: peer.id.clone(),
                        role: peer.role.clone(),
                        addresses: addresses(&peer.id),
                    })
                    .collect(),
            };
            scenario.node_kind().render(&view)?;
            tokio::time::sleep(self.delay_per_node).await;
            let endpoint = NodeEndpoint {
                id: slot.id.clone(),
                role: slot.role.clone(),
                addresses: addresses(&slot.id),
            };
            let client = start_node(
                &self.probe,
                scenario.node_kind().as_ref(),
                &endpoint,
                env.cleanup(),
                env.timeline(),
            )?;
            clients.insert(slot.id.clone(), client);
        }
        let known: Arc<Mutex<Vec<NodeId>>> =
            Arc::new(Mutex::new(clients.keys().cloned().collect()));
        let membership = self
            .capabilities
            .contains(Capability::DynamicJoin)
            .then(|| {
                Arc::new(join::FakeMembership {
                    probe: self.probe.clone(),
                    node_kind: Arc::clone(scenario.node_kind()),
                    slots: Mutex::new(slots.clone()),
                    known: Arc::clone(&known),
                    cleanup: env.cleanup().clone(),
                    timeline: env.timeline().clone(),
                }) as Arc<dyn crate::control::Membership>
            });
        Ok(Deployment {
            clients,
            node_control: Some(Arc::new(FakeNodeControl {
                probe: self.probe.clone(),
                known,
            })),
            network_control: None,
            membership,
        })
    }
}

/// A fake node's addresses: its id as the host, the kind's container ports.
fn addresses(node_kind: &dyn NodeKind, id: &NodeId) -> BTreeMap<String, HostPort> {
    node_kind
        .ports()
        .into_iter()
        .map(|port| (port.name, HostPort::new(id.as_str(), port.container_port)))
        .collect()
}

/// "Start" one fake node: record it in the probe and on the timeline,
/// register its cleanup, and hand out its client.
fn start_node(
    probe: &FakeProbe,
    node_kind: &dyn NodeKind,
    endpoint: &NodeEndpoint,
    cleanup: &CleanupRegistry,
    timeline: &Timeline,
) -> Result<Arc<dyn NodeClient>, BoxError> {
    let id = endpoint.id.clone();
    lock(&probe.0.started).push(id.clone());
    timeline.record_node(&id, NodeCause::Launched, "fake node started");
    let probe = probe.clone();
    cleanup.register(format!("stop {id}"), move || async move {
        *lock(&probe.0.cleanups).entry(id).or_default() += 1;
        Ok(())
    });
    node_kind.client(endpoint)
}

/// Records node actions into the probe.
struct FakeNodeControl {
    probe: FakeProbe,
    known: Arc<Mutex<Vec<NodeId>>>,
}

impl FakeNodeControl {
    fn act(&self, action: &str, node: &NodeId) -> Result<(), ControlError> {
        if !lock(&self.known).contains(node) {
            return Err(ControlError::UnknownNode(node.clone()));
        }
        lock(&self.probe.0.actions).push(format!("{action} {node}"));
        Ok(())
    }
}

#[async_trait::async_trait]
impl NodeControl for FakeNodeControl {
    async fn stop(&self, node: &NodeId) -> Result<(), ControlError> {
        self.act("stop", node)
    }
    async fn start(&self, node: &NodeId) -> Result<(), ControlError> {
        self.act("start", node)
    }
    async fn kill(&self, node: &NodeId, signal: crate::Signal) -> Result<(), ControlError> {
        self.act(&format!("kill({signal})"), node)
    }
    async fn pause(&self, node: &NodeId) -> Result<(), ControlError> {
        self.act("pause", node)
    }
    async fn resume(&self, node: &NodeId) -> Result<(), ControlError> {
        self.act("resume", node)
    }
}
