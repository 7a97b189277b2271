//! Who is in the network: roles, counts, per-node overrides and the stable
//! node ids (`validator-0`, `executor-1`) every backend and report uses.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What a node does in the network.
///
/// `validator` and `executor` are built in; any other lowercase name is a
/// custom role (`Role::custom("light")`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Role {
    /// Takes part in consensus.
    Validator,
    /// Follows the finalized chain and serves data (e.g. DA blobs).
    Executor,
    /// A role of the node software's own, named by the user.
    Custom(String),
}

impl Role {
    /// A role from its name; `"validator"` and `"executor"` map to the built-in roles.
    pub fn custom(name: impl Into<String>) -> Self {
        Self::from(name.into())
    }

    /// The role's name as used in node ids, labels and reports.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Validator => "validator",
            Self::Executor => "executor",
            Self::Custom(name) => name,
        }
    }
}

impl From<String> for Role {
    fn from(name: String) -> Self {
        match name.as_str() {
            "validator" => Self::Validator,
            "executor" => Self::Executor,
            _ => Self::Custom(name),
        }
    }
}

impl From<&str> for Role {
    fn from(name: &str) -> Self {
        Self::from(name.to_owned())
    }
}

impl From<Role> for String {
    fn from(role: Role) -> Self {
        role.as_str().to_owned()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A node's stable id, e.g. `validator-0`: the same on every backend, in every
/// report, label and log file name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(String);

impl NodeId {
    /// A node id from its text. Ids are validated when the scenario is built.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id of the `index`-th node of `role`: `<role>-<index>`.
    pub fn of(role: &Role, index: usize) -> Self {
        Self(format!("{role}-{index}"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for NodeId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

impl From<String> for NodeId {
    fn from(id: String) -> Self {
        Self(id)
    }
}

impl PartialEq<str> for NodeId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for NodeId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Changes to one node's software or launch: a different program or image
/// (mixed versions), extra arguments, extra environment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeOverride {
    /// Run this program instead of the node kind's (local processes).
    pub program: Option<PathBuf>,
    /// Run this image instead of the node kind's (containers, pods).
    pub image: Option<String>,
    /// Arguments appended after the rendered ones.
    pub args: Vec<String>,
    /// Environment variables set on top of the rendered ones.
    pub env: BTreeMap<String, String>,
}

impl NodeOverride {
    /// An override that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Run a different program for this node.
    pub fn program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = Some(program.into());
        self
    }

    /// Run a different image for this node.
    pub fn image(mut self, image: impl Into<String>) -> Self {
        self.image = Some(image.into());
        self
    }

    /// Append one argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Set one environment variable.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(name.into(), value.into());
        self
    }
}

/// One node of a topology, as the deployer and the node kind see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSlot {
    /// The node's stable id.
    pub id: NodeId,
    /// Its role.
    pub role: Role,
    /// Its index among the nodes of its role.
    pub index: usize,
    /// What the user changed for this node alone.
    pub overrides: NodeOverride,
}

impl NodeSlot {
    /// The slot a node of `role` joining a running network gets: the next
    /// index of its role, under the first id of that role no member has.
    pub fn next_of(role: &Role, members: &[NodeSlot]) -> Self {
        let index = members.iter().filter(|slot| &slot.role == role).count();
        let id = (index..)
            .map(|i| NodeId::of(role, i))
            .find(|candidate| members.iter().all(|slot| &slot.id != candidate))
            .unwrap_or_else(|| NodeId::of(role, index));
        Self {
            id,
            role: role.clone(),
            index,
            overrides: NodeOverride::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Entry {
    Group { role: Role, count: usize },
    Named { id: NodeId, role: Role },
}

/// The shape of the network: which roles, how many nodes of each, and
/// per-node overrides.
///
/// ```
/// use scenario_core::{NodeOverride, Topology};
///
/// let topology = Topology::new()
///     .validators(4)
///     .executors(1)
///     .override_node("validator-3", NodeOverride::new().arg("--verbose"));
/// let ids: Vec<String> = topology.slots().iter().map(|s| s.id.to_string()).collect();
/// assert_eq!(ids, ["validator-0", "validator-1", "validator-2", "validator-3", "executor-0"]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Topology {
    entries: Vec<Entry>,
    overrides: BTreeMap<NodeId, NodeOverride>,
}

impl Topology {
    /// An empty topology.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the number of validators (`validator-0` …).
    pub fn validators(self, count: usize) -> Self {
        self.role(Role::Validator, count)
    }

    /// Set the number of executors (`executor-0` …).
    pub fn executors(self, count: usize) -> Self {
        self.role(Role::Executor, count)
    }

    /// Set the number of nodes of `role`, replacing an earlier count for it.
    pub fn role(mut self, role: impl Into<Role>, count: usize) -> Self {
        let role = role.into();
        let existing = self.entries.iter_mut().find_map(|entry| match entry {
            Entry::Group { role: r, count } if *r == role => Some(count),
            _ => None,
        });
        match existing {
            Some(existing) => *existing = count,
            None => self.entries.push(Entry::Group { role, count }),
        }
        self
    }

    /// Add one node with an id of your choosing (e.g. `bootnode`).
    pub fn node(mut self, id: impl Into<NodeId>, role: impl Into<Role>) -> Self {
        self.entries.push(Entry::Named {
            id: id.into(),
            role: role.into(),
        });
        self
    }

    /// Change one node's launch; several calls for the same node merge.
    pub fn override_node(mut self, id: impl Into<NodeId>, change: NodeOverride) -> Self {
        let merged = self.overrides.entry(id.into()).or_default();
        if change.program.is_some() {
            merged.program = change.program;
        }
        if change.image.is_some() {
            merged.image = change.image;
        }
        merged.args.extend(change.args);
        merged.env.extend(change.env);
        self
    }

    /// Every node, in declaration order.
    pub fn slots(&self) -> Vec<NodeSlot> {
        let mut slots = Vec::new();
        let mut per_role: BTreeMap<&Role, usize> = BTreeMap::new();
        for entry in &self.entries {
            match entry {
                Entry::Group { role, count } => {
                    for local in 0..*count {
                        let index = next_index(&mut per_role, role);
                        slots.push(self.slot(NodeId::of(role, local), role, index));
                    }
                }
                Entry::Named { id, role } => {
                    let index = next_index(&mut per_role, role);
                    slots.push(self.slot(id.clone(), role, index));
                }
            }
        }
        slots
    }

    fn slot(&self, id: NodeId, role: &Role, index: usize) -> NodeSlot {
        let overrides = self.overrides.get(&id).cloned().unwrap_or_default();
        NodeSlot {
            id,
            role: role.clone(),
            index,
            overrides,
        }
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.entries
            .iter()
            .map(|entry| match entry {
                Entry::Group { count, .. } => *count,
                Entry::Named { .. } => 1,
            })
            .sum()
    }

    /// Whether the topology has no node.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The roles declared, in declaration order, without repeats.
    pub fn roles(&self) -> Vec<Role> {
        let mut roles: Vec<Role> = Vec::new();
        for entry in &self.entries {
            let role = match entry {
                Entry::Group { role, .. } | Entry::Named { role, .. } => role,
            };
            if !roles.contains(role) {
                roles.push(role.clone());
            }
        }
        roles
    }

    /// Whether at least one node has `role`.
    pub fn has_role(&self, role: &Role) -> bool {
        self.slots().iter().any(|slot| &slot.role == role)
    }

    /// The overrides, keyed by the node id they name (which may not exist;
    /// the scenario's validation reports that).
    pub fn overrides(&self) -> &BTreeMap<NodeId, NodeOverride> {
        &self.overrides
    }
}

fn next_index<'a>(per_role: &mut BTreeMap<&'a Role, usize>, role: &'a Role) -> usize {
    let counter = per_role.entry(role).or_default();
    let index = *counter;
    *counter += 1;
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_joining_node_takes_the_next_free_id_of_its_role() {
        let members = Topology::new()
            .validators(2)
            .node("executor-1", Role::Executor)
            .slots();
        let joined = NodeSlot::next_of(&Role::Executor, &members);
        assert_eq!(joined.id.as_str(), "executor-2");
        assert_eq!(joined.index, 1);
        let validator = NodeSlot::next_of(&Role::Validator, &members);
        assert_eq!(validator.id.as_str(), "validator-2");
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in [Role::Validator, Role::Executor, Role::custom("light")] {
            assert_eq!(Role::custom(role.as_str()), role);
        }
        assert_eq!(Role::custom("validator"), Role::Validator);
    }

    #[test]
    fn a_later_count_for_the_same_role_replaces_the_earlier_one() {
        let topology = Topology::new().validators(2).executors(1).validators(3);
        assert_eq!(topology.len(), 4);
        assert_eq!(topology.roles(), [Role::Validator, Role::Executor]);
    }

    #[test]
    fn named_nodes_keep_their_id_and_overrides_merge() {
        let topology = Topology::new()
            .validators(1)
            .node("bootnode", "seed")
            .override_node("bootnode", NodeOverride::new().arg("--a"))
            .override_node("bootnode", NodeOverride::new().arg("--b").image("old:1"));
        let slots = topology.slots();
        assert_eq!(slots[1].id, "bootnode");
        assert_eq!(slots[1].role, Role::custom("seed"));
        assert_eq!(slots[1].overrides.args, ["--a", "--b"]);
        assert_eq!(slots[1].overrides.image.as_deref(), Some("old:1"));
    }
}
