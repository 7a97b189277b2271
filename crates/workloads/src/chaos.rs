//! Seeded chaos: a fault schedule planned from the run's seed before the run
//! (so the same seed gives the same faults on the same targets) and played
//! during the window. Selectors in the style of Jepsen's nemeses choose the
//! targets.

use std::time::Duration;

use rand::seq::SliceRandom;
use scenario_core::prelude::*;
use scenario_core::{NetworkFault, NodeSlot};
use serde::Serialize;

/// Which nodes a fault hits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// This node.
    One(NodeId),
    /// One node of this role, drawn from the seed.
    AnyOf(Role),
    /// Any one node, drawn from the seed.
    Any,
    /// For partitions: the largest minority of validators (fewer than half),
    /// drawn from the seed, cut off from everyone else.
    Minority,
    /// For partitions: the nodes split into two halves, drawn from the seed.
    Halves,
    /// For partitions: the nodes of this role cut off from the others.
    Role(Role),
}

/// One fault of the schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlannedFault {
    /// Restart a node.
    Restart {
        /// When, from the start of the window.
        at: Duration,
        /// Which node.
        node: NodeId,
    },
    /// Partition the network for a while.
    Partition {
        /// When, from the start of the window.
        at: Duration,
        /// How long until it heals itself.
        duration: Duration,
        /// The sides.
        groups: Vec<Vec<NodeId>>,
    },
}

impl PlannedFault {
    fn at(&self) -> Duration {
        match self {
            Self::Restart { at, .. } | Self::Partition { at, .. } => *at,
        }
    }
}

#[derive(Clone, Debug)]
enum Spec {
    Restart {
        at: Duration,
        who: Selector,
    },
    Partition {
        at: Duration,
        duration: Duration,
        who: Selector,
    },
}

/// A fault schedule; build it, then add it to the scenario as a workload.
#[derive(Clone, Debug, Default)]
pub struct Chaos {
    specs: Vec<Spec>,
}

impl Chaos {
    /// No faults yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Restart a node `at` into the window.
    pub fn restart_at(mut self, at: Duration, who: Selector) -> Self {
        self.specs.push(Spec::Restart { at, who });
        self
    }

    /// Partition the network `at` into the window, healing after `duration`.
    pub fn partition_at(mut self, at: Duration, duration: Duration, who: Selector) -> Self {
        self.specs.push(Spec::Partition { at, duration, who });
        self
    }

    /// The schedule the seed gives for these nodes, in time order.
    pub fn plan(&self, seed: u64, nodes: &[NodeSlot]) -> Vec<PlannedFault> {
        let mut rng = scenario_core::context::seeded_rng(seed, "chaos");
        let ids: Vec<NodeId> = nodes.iter().map(|s| s.id.clone()).collect();
        let with_role = |role: &Role| -> Vec<NodeId> {
            nodes
                .iter()
                .filter(|s| &s.role == role)
                .map(|s| s.id.clone())
                .collect()
        };
        let mut plan = Vec::new();
        for spec in &self.specs {
            match spec {
                Spec::Restart { at, who } => {
                    let mut pool = match who {
                        Selector::One(node) => vec![node.clone()],
                        Selector::AnyOf(role) | Selector::Role(role) => with_role(role),
                        Selector::Any | Selector::Minority | Selector::Halves => ids.clone(),
                    };
                    pool.shuffle(&mut rng);
                    if let Some(node) = pool.into_iter().next() {
                        plan.push(PlannedFault::Restart { at: *at, node });
                    }
                }
                Spec::Partition { at, duration, who } => {
                    let cut_off: Vec<NodeId> = match who {
                        Selector::One(node) => vec![node.clone()],
                        Selector::AnyOf(role) => {
                            let mut pool = with_role(role);
                            pool.shuffle(&mut rng);
                            pool.into_iter().take(1).collect()
                        }
                        Selector::Any => {
                            let mut pool = ids.clone();
                            pool.shuffle(&mut rng);
                            pool.into_iter().take(1).collect()
                        }
                        Selector::Minority => {
                            let mut validators = with_role(&Role::Validator);
                            let size = validators.len().saturating_sub(1) / 2;
                            validators.shuffle(&mut rng);
                            validators.into_iter().take(size.max(1)).collect()
                        }
                        Selector::Halves => {
                            let mut pool = ids.clone();
                            pool.shuffle(&mut rng);
                            pool.into_iter().take(ids.len() / 2).collect()
                        }
                        Selector::Role(role) => with_role(role),
                    };
                    let rest: Vec<NodeId> = ids
                        .iter()
                        .filter(|id| !cut_off.contains(id))
                        .cloned()
                        .collect();
                    plan.push(PlannedFault::Partition {
                        at: *at,
                        duration: *duration,
                        groups: vec![cut_off, rest],
                    });
                }
            }
        }
        plan.sort_by_key(PlannedFault::at);
        plan
    }
}

#[async_trait]
impl Workload for Chaos {
    fn name(&self) -> &str {
        "chaos"
    }

    fn requirements(&self) -> Requirements {
        let mut needs = Requirements::none();
        for spec in &self.specs {
            needs = match spec {
                Spec::Restart { .. } => needs.capability(Capability::StopStart),
                Spec::Partition { .. } => needs.capability(Capability::Partition).min_nodes(2),
            };
        }
        needs
    }

    async fn run(&self, ctx: &RunContext, cancel: CancellationToken) -> Result<(), BoxError> {
        let plan = self.plan(ctx.seed(), &ctx.nodes());
        let start = tokio::time::Instant::now();
        for fault in plan {
            tokio::select! {
                () = cancel.cancelled() => return Ok(()),
                () = tokio::time::sleep_until(start + fault.at()) => {}
            }
            match fault {
                PlannedFault::Restart { node, .. } => {
                    let control = ctx
                        .node_control()
                        .ok_or("the deployer offers no node control")?;
                    control.restart(&node).await?;
                }
                PlannedFault::Partition {
                    duration, groups, ..
                } => {
                    ctx.network_fault(&NetworkFault::Partition { groups }, Some(duration))
                        .await?;
                }
            }
        }
        cancel.cancelled().await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes() -> Vec<NodeSlot> {
        Topology::new().validators(5).executors(1).slots()
    }

    fn chaos() -> Chaos {
        Chaos::new()
            .restart_at(Duration::from_secs(5), Selector::AnyOf(Role::Validator))
            .partition_at(
                Duration::from_secs(10),
                Duration::from_secs(5),
                Selector::Minority,
            )
    }

    #[test]
    fn the_same_seed_plans_the_same_faults_and_another_seed_may_not() {
        assert_eq!(chaos().plan(42, &nodes()), chaos().plan(42, &nodes()));
        let plans: std::collections::BTreeSet<String> = (0..20)
            .map(|seed| format!("{:?}", chaos().plan(seed, &nodes())))
            .collect();
        assert!(plans.len() > 1, "the seed chooses the targets");
    }

    #[test]
    fn a_minority_partition_cuts_off_fewer_than_half_of_the_validators() {
        let plan = chaos().plan(7, &nodes());
        let PlannedFault::Partition { groups, .. } = &plan[1] else {
            panic!("{plan:?}")
        };
        assert_eq!(groups[0].len(), 2);
        assert!(
            groups[0]
                .iter()
                .all(|id| id.as_str().starts_with("validator"))
        );
        assert_eq!(groups[0].len() + groups[1].len(), 6);
    }
}
