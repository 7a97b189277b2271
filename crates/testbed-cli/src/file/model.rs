//! The scenario file's types, as TOML deserializes them: every table and key
//! a file may hold, and nothing else (unknown keys are errors). The JSON
//! Schema for editors is derived from these same types.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

/// One scenario.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// The scenario's name, used in run ids and reports.
    pub name: String,
    /// The seed for every random choice (chaos schedule, load targets);
    /// random when absent, and printed so the run can be replayed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// How long the workloads run, e.g. `"50s"` or `"10m"`.
    pub window: Length,
    /// How long after the window before the expectations judge (default:
    /// none; give blobs and transactions sent at the end time to land).
    #[serde(default)]
    pub cooldown: Option<Length>,
    /// The whole run's deadline (default: generous for the window).
    #[serde(default)]
    pub deadline: Option<Length>,
    /// The nodes and their roles.
    pub topology: TopologyTable,
    /// The node software.
    pub node: NodeTable,
    /// Transactions and data-availability blobs to send.
    #[serde(default)]
    pub load: LoadTable,
    /// Faults, in any order.
    #[serde(default)]
    pub chaos: Vec<ChaosEntry>,
    /// What must hold.
    #[serde(default)]
    pub expect: ExpectTable,
}

/// `[topology]`: how many nodes of each role.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopologyTable {
    /// Validators (`validator-0`, `validator-1`, …).
    #[serde(default)]
    pub validators: usize,
    /// Executors (`executor-0`, …), which hold DA blobs.
    #[serde(default)]
    pub executors: usize,
    /// One node's launch changed, by its id: another program or image (a
    /// mixed-version network), extra arguments or environment.
    #[serde(default)]
    pub nodes: std::collections::BTreeMap<String, NodeOverrideTable>,
}

/// `[topology.nodes.<id>]`: what one node does differently.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NodeOverrideTable {
    /// Another program for this node (local).
    #[serde(default)]
    pub program: Option<String>,
    /// Another image for this node (Docker).
    #[serde(default)]
    pub image: Option<String>,
    /// Arguments added after the node kind's.
    #[serde(default)]
    pub args: Vec<String>,
    /// Environment variables added or replaced.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
}

/// `[node]`: the node software every node runs.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "kebab-case")]
pub enum NodeTable {
    /// The reference node shipped with testbed.
    DemoNode {
        /// Its program, for local runs: an absolute path, a path relative to
        /// the scenario file, or a bare name found next to the `testbed`
        /// binary or on PATH (default: `DEMO_NODE_BIN`, else `demo-node`
        /// found the same way).
        #[serde(default)]
        program: Option<String>,
        /// Its image, for Docker runs (default `testbed/demo-node:dev`).
        #[serde(default)]
        image: Option<String>,
        /// Time between blocks, e.g. `"250ms"`.
        #[serde(default)]
        block_time: Option<Length>,
    },
    /// Any program or image, speaking the HTTP testing contract or not.
    Command(Box<CommandNode>),
}

/// `[node] kind = "command"`: a node program or image of your own.
/// Placeholders in `args`, `env` and `files`: `{id}`, `{role}`,
/// `{data_dir}`, `{listen:PORT}`, `{peers:PORT}` (comma-joined); in
/// `peer_args`, repeated for each peer, also `{peer.id}`, `{peer.role}`,
/// `{peer.addr:PORT}`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandNode {
    /// A name for reports (default `command`).
    #[serde(default)]
    pub name: Option<String>,
    /// The program, for local runs: an absolute path, a path relative to
    /// the scenario file, or a bare name found next to the `testbed` binary
    /// or on PATH.
    #[serde(default)]
    pub program: Option<String>,
    /// The image, for Docker runs (built locally; nothing is pulled).
    #[serde(default)]
    pub image: Option<String>,
    /// The ports the node listens on (inside a container: these numbers;
    /// local processes get free ones).
    pub ports: Vec<PortTable>,
    /// The port that speaks the HTTP testing contract. Leave it out for
    /// software that does not speak it: its nodes are then judged by their
    /// logs and metrics only (`[load]`, liveness, agreement, inclusion,
    /// availability and recovery read the contract and are refused), and
    /// `readiness` must say when a node is ready.
    #[serde(default)]
    pub client_port: Option<String>,
    /// Without `client_port`: the port serving Prometheus text at
    /// `/metrics`, for `metric_at_least` (with `client_port`, metrics are
    /// read from it).
    #[serde(default)]
    pub metrics_port: Option<String>,
    /// Arguments, with placeholders.
    #[serde(default)]
    pub args: Vec<String>,
    /// Arguments repeated for every peer, with peer placeholders.
    #[serde(default)]
    pub peer_args: Vec<String>,
    /// Environment variables, with placeholders.
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    /// Files written into the node's data directory before it starts.
    #[serde(default)]
    pub files: Vec<FileTable>,
    /// When the node is ready (default: the testing contract's
    /// `/testing/v1/ready` on `client_port`).
    #[serde(default)]
    pub readiness: Option<ReadinessTable>,
}

/// One `[[node.ports]]` entry.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PortTable {
    /// Its name, used in placeholders and readiness.
    pub name: String,
    /// The port inside a container.
    pub port: u16,
    /// Whether node-to-node traffic uses it (network faults act on it).
    #[serde(default)]
    pub peer: bool,
}

/// One `[[node.files]]` entry.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileTable {
    /// Path relative to the data directory.
    pub path: String,
    /// Its contents, with placeholders.
    pub contents: String,
}

/// How to know a node is ready.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum ReadinessTable {
    /// `GET path` on the port answers 2xx.
    Http {
        /// The port's name.
        port: String,
        /// The path.
        path: String,
    },
    /// The port accepts TCP connections.
    Tcp {
        /// The port's name.
        port: String,
    },
    /// The node prints a line containing this text.
    Log {
        /// The text.
        line: String,
    },
}

/// `[load]`: the traffic the workloads send.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadTable {
    /// Transactions per second, open loop, to every node in turn.
    #[serde(default)]
    pub tx_rate: Option<f64>,
    /// DA blobs per second, to executors in turn.
    #[serde(default)]
    pub blob_rate: Option<f64>,
    /// Size of each DA blob in bytes (default 4096).
    #[serde(default)]
    pub blob_size: Option<usize>,
    /// The share of transaction submissions (0 to 1) that may fail before
    /// the load fails the run (default 0.1): nodes stopped by the chaos
    /// refuse theirs while they are down.
    #[serde(default)]
    pub max_failed_share: Option<f64>,
}

/// Which nodes a fault picks.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Who {
    /// Any one validator, drawn from the seed.
    AnyValidator,
    /// Any one executor, drawn from the seed.
    AnyExecutor,
    /// Any one node, drawn from the seed.
    Any,
    /// Partitions: the largest minority of validators cut off.
    Minority,
    /// Partitions: a majority of validators on one side.
    Majority,
    /// Partitions: two halves.
    Halves,
}

/// One `[[chaos]]` entry: a fault at a time, or one repeated.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, tag = "fault", rename_all = "kebab-case")]
pub enum ChaosEntry {
    /// Restart a node `at` into the window, with `down_for` of downtime.
    Restart {
        /// When, e.g. `"12s"`.
        at: Length,
        /// Which node.
        who: Who,
        /// Downtime between stop and start (default: an instant restart).
        #[serde(default)]
        down_for: Option<Length>,
    },
    /// Restart nodes again and again, every `every_min`..`every_max`.
    Restarts {
        /// Shortest wait between restarts.
        every_min: Length,
        /// Longest wait between restarts.
        every_max: Length,
        /// Which node each time.
        who: Who,
        /// Downtime of each restart.
        #[serde(default)]
        down_for: Option<Length>,
    },
    /// Freeze a node for `duration`.
    Pause {
        /// When.
        at: Length,
        /// For how long.
        duration: Length,
        /// Which node.
        who: Who,
    },
    /// Split the network for `duration`.
    Partition {
        /// When.
        at: Length,
        /// For how long.
        duration: Length,
        /// Which split.
        who: Who,
    },
    /// Make one directed link (drawn from the seed) slow and lossy.
    LinkFault {
        /// When.
        at: Length,
        /// For how long.
        duration: Length,
        /// Added one-way latency, e.g. `"80ms"`.
        #[serde(default)]
        latency: Option<Length>,
        /// Share of packets dropped, 0 to 1.
        #[serde(default)]
        loss: f64,
    },
}

/// `[expect]`: the judges, each with its thresholds.
#[derive(Clone, Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectTable {
    /// The finalized height advances by `blocks` in every `window`.
    #[serde(default)]
    pub liveness: Option<LivenessTable>,
    /// Accepted transactions are finalized.
    #[serde(default)]
    pub tx_inclusion: Option<InclusionTable>,
    /// Accepted blobs are certified and stay available.
    #[serde(default)]
    pub da_availability: Option<ShareTable>,
    /// No two nodes finalized different blocks at one height.
    #[serde(default)]
    pub agreement: bool,
    /// After the window, every node reaches the same tip within this.
    #[serde(default)]
    pub recovery_within: Option<Length>,
    /// A Prometheus metric of every node reaches a value.
    #[serde(default)]
    pub metric_at_least: Vec<MetricTable>,
    /// Texts no node's log may contain.
    #[serde(default)]
    pub logs_must_not_contain: Vec<String>,
}

/// `[expect.liveness]`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LivenessTable {
    /// Blocks finalized at least…
    pub blocks: u64,
    /// …in every window this long.
    pub window: Length,
}

/// `[expect.tx_inclusion]`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InclusionTable {
    /// The share that must be finalized, in percent (default 100).
    #[serde(default)]
    pub percent: Option<f64>,
    /// Median inclusion latency outside faults below this.
    #[serde(default)]
    pub p50_below: Option<Length>,
    /// 99th percentile outside faults below this.
    #[serde(default)]
    pub p99_below: Option<Length>,
}

/// A share threshold.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShareTable {
    /// In percent (default 100).
    #[serde(default)]
    pub percent: Option<f64>,
}

/// One `[[expect.metric_at_least]]`.
#[derive(Clone, Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricTable {
    /// The metric's name.
    pub metric: String,
    /// The value every node must reach.
    pub value: f64,
}

/// A length of time, written as text: `"250ms"`, `"30s"`, `"10m"`, `"1h"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[schemars(with = "String")]
pub struct Length(pub Duration);

impl<'de> Deserialize<'de> for Length {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(&text).map(Self).map_err(|error| {
            serde::de::Error::custom(format!(
                "{error}: write a duration such as \"250ms\", \"30s\", \"10m\" or \"1h\""
            ))
        })
    }
}
