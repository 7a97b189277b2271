//! A network of real demo-node processes on loopback for the tests: ports
//! from the OS, a temporary data directory per node, logs kept for failure
//! messages, every process killed when the network is dropped.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use demo_node::DemoNode;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use node_http::{ClientConfig, NodeHttpClient};
use scenario_core::{HostPort, NodeClient, NodeId, NodeKind, NodeSlot, NodeView, PeerView, Role};
use tokio::process::{Child, Command};

/// How long a condition may take before a test fails.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

pub(crate) struct Network {
    pub(crate) kind: DemoNode,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) views: BTreeMap<String, NodeView>,
    pub(crate) children: BTreeMap<String, Child>,
    pub(crate) clients: BTreeMap<String, NodeHttpClient>,
}

/// The kind the tests run: short block time and election timeout, and
/// `extra` flags for every node.
pub(crate) fn kind(extra: &[&str]) -> DemoNode {
    let mut kind = DemoNode::locate()
        .expect("cargo builds the demo-node binary for this package's tests")
        .block_time(Duration::from_millis(100))
        .election_timeout(Duration::from_millis(500));
    for arg in extra {
        kind = kind.arg(*arg);
    }
    kind
}

/// A loopback address of this network's own (Linux routes all of 127/8 to
/// the loopback device), so concurrent tests never compete for ports.
fn private_loopback() -> std::net::Ipv4Addr {
    use rand::Rng;
    let mut rng = rand::rng();
    std::net::Ipv4Addr::new(127, rng.random_range(1..=254), rng.random(), 1)
}

/// `count` distinct free ports on `ip`: all bound at once, then released.
fn free_ports(ip: std::net::Ipv4Addr, count: usize) -> Vec<u16> {
    let held: Vec<_> = (0..count)
        .map(|_| std::net::TcpListener::bind((ip, 0)).unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

impl Network {
    /// Start `validators` + `executors` nodes and wait until each is ready.
    pub(crate) async fn start(validators: usize, executors: usize, extra: &[&str]) -> Self {
        Self::start_kind(kind(extra), validators, executors).await
    }

    /// [`Network::start`] with a kind of the test's own (see [`kind`]).
    pub(crate) async fn start_kind(kind: DemoNode, validators: usize, executors: usize) -> Self {
        let mut network = Self::plan(kind, validators, executors);
        network.spawn_all();
        for id in network.views.keys() {
            network.wait_ready(id).await;
        }
        network
    }

    /// The network's views and clients, nothing started yet (a test may
    /// change a view, then [`Network::spawn_all`]).
    pub(crate) fn plan(kind: DemoNode, validators: usize, executors: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut slots = Vec::new();
        for (role, count) in [(Role::Validator, validators), (Role::Executor, executors)] {
            for index in 0..count {
                slots.push(NodeSlot {
                    id: NodeId::of(&role, index),
                    role: role.clone(),
                    index,
                    overrides: Default::default(),
                });
            }
        }
        let ip = private_loopback();
        let host = ip.to_string();
        let mut free = free_ports(ip, slots.len() * 2).into_iter();
        let ports: BTreeMap<String, (u16, u16)> = slots
            .iter()
            .map(|s| {
                (
                    s.id.to_string(),
                    (free.next().unwrap(), free.next().unwrap()),
                )
            })
            .collect();
        let views = slots
            .iter()
            .map(|slot| {
                let id = slot.id.to_string();
                let (api, p2p) = ports[&id];
                let view = NodeView {
                    slot: slot.clone(),
                    listen: BTreeMap::from([
                        ("api".to_owned(), HostPort::new(host.clone(), api)),
                        ("p2p".to_owned(), HostPort::new(host.clone(), p2p)),
                    ]),
                    data_dir: dir.path().join(&id).display().to_string(),
                    peers: slots
                        .iter()
                        .filter(|p| p.id != slot.id)
                        .map(|p| PeerView {
                            id: p.id.clone(),
                            role: p.role.clone(),
                            addresses: BTreeMap::from([(
                                "p2p".to_owned(),
                                HostPort::new(host.clone(), ports[p.id.as_str()].1),
                            )]),
                        })
                        .collect(),
                };
                (id, view)
            })
            .collect::<BTreeMap<_, _>>();
        let clients = views
            .iter()
            .map(|(id, view)| {
                let mut config = ClientConfig::default();
                config.retries = 0;
                (
                    id.clone(),
                    NodeHttpClient::new(view.slot.id.clone(), view.listen["api"].clone(), config),
                )
            })
            .collect();
        Self {
            kind,
            dir,
            views,
            children: BTreeMap::new(),
            clients,
        }
    }

    /// Start every node, without waiting for any.
    pub(crate) fn spawn_all(&mut self) {
        let ids: Vec<String> = self.views.keys().cloned().collect();
        for id in &ids {
            self.spawn(id);
        }
    }

    pub(crate) fn log_path(&self, id: &str) -> PathBuf {
        self.dir.path().join(format!("{id}.log"))
    }

    /// Start (or restart) one node from its rendered launch.
    pub(crate) fn spawn(&mut self, id: &str) {
        let spec = self.kind.render(&self.views[id]).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(id))
            .unwrap();
        let child = Command::new(spec.program.unwrap())
            .args(&spec.args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        self.children.insert(id.to_owned(), child);
    }

    pub(crate) async fn wait_ready(&self, id: &str) {
        let client = &self.clients[id];
        self.wait_for(&format!("{id} to be ready"), || async {
            client.ready().await.unwrap_or(false)
        })
        .await;
    }

    /// Stop a node: SIGTERM (graceful) or SIGKILL (a crash), and reap it.
    pub(crate) async fn stop(&mut self, id: &str, signal: nix::sys::signal::Signal) {
        let mut child = self.children.remove(id).expect("the node is running");
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id().unwrap()).unwrap());
        nix::sys::signal::kill(pid, signal).unwrap();
        tokio::time::timeout(PATIENCE, child.wait())
            .await
            .expect("the node exits")
            .unwrap();
    }

    pub(crate) fn client(&self, id: &str) -> &NodeHttpClient {
        &self.clients[id]
    }

    /// The value of one sample of `id`'s metrics, e.g.
    /// `demo_node_udp_received_total{peer="validator-1"}` (0 when absent or
    /// unreachable).
    pub(crate) async fn metric(&self, id: &str, sample: &str) -> f64 {
        let text = self.client(id).metrics().await.unwrap_or_default();
        text.lines()
            .find_map(|line| {
                let value = line.strip_prefix(sample)?.strip_prefix(' ')?;
                value.trim().parse().ok()
            })
            .unwrap_or(0.0)
    }

    pub(crate) async fn finalized(&self, id: &str) -> u64 {
        self.client(id)
            .info()
            .await
            .map(|i| i.finalized_height)
            .unwrap_or(0)
    }

    /// Poll `condition` until it holds; fail with the nodes' last log lines.
    pub(crate) async fn wait_for<F, Fut>(&self, what: &str, mut condition: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while tokio::time::Instant::now() < deadline {
            if condition().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "timed out after {PATIENCE:?} waiting for {what}\n{}",
            self.logs()
        );
    }

    /// Wait until every listed node finalized at least `height`.
    pub(crate) async fn wait_finalized(&self, ids: &[&str], height: u64) {
        self.wait_for(&format!("{ids:?} to finalize height {height}"), || async {
            for id in ids {
                if self.finalized(id).await < height {
                    return false;
                }
            }
            true
        })
        .await;
    }

    pub(crate) fn logs(&self) -> String {
        self.views
            .keys()
            .map(|id| {
                let text = std::fs::read_to_string(self.log_path(id)).unwrap_or_default();
                let tail: Vec<&str> = text
                    .lines()
                    .rev()
                    .take(8)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                format!("--- {id}\n{}", tail.join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A raw HTTP answer: status, Retry-After header, body text.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) retry_after: Option<String>,
    pub(crate) body: String,
}

/// Send a request exactly as given (for malformed inputs the client never sends).
pub(crate) async fn raw(method: &str, url: &str, content_type: &str, body: Vec<u8>) -> Answer {
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new())
        .build(hyper_util::client::legacy::connect::HttpConnector::new());
    let request = hyper::Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", content_type)
        .body(Full::new(bytes::Bytes::from(body)))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        retry_after,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}
