//! Seeded chaos: a fault schedule planned from the run's seed before the run
//! (so the same seed gives the same faults on the same targets) and played
//! during the window. Selectors in the style of Jepsen's nemeses choose the
//! targets.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
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
    /// For partitions: a majority of validators (drawn from the seed) on one
    /// side, everyone else on the other.
    Majority,
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
    /// Freeze a node for a while, then thaw it.
    Pause {
        /// When, from the start of the window.
        at: Duration,
        /// How long it stays frozen.
        duration: Duration,
        /// Which node.
        node: NodeId,
    },
    /// Make one directed link slow or lossy for a while.
    Link {
        /// When, from the start of the window.
        at: Duration,
        /// How long until it heals itself.
        duration: Duration,
        /// The sending node.
        from: NodeId,
        /// The receiving node.
        to: NodeId,
        /// Latency in milliseconds.
        latency_ms: u64,
        /// Share of chunks lost, from 0 to 1, in thousandths.
        loss_permille: u32,
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
            Self::Restart { at, .. }
            | Self::Partition { at, .. }
            | Self::Pause { at, .. }
            | Self::Link { at, .. } => *at,
        }
    }
}

#[derive(Clone, Debug)]
enum Spec {
    Restart {
        at: Duration,
        who: Selector,
    },
    Restarts {
        min: Duration,
        max: Duration,
        who: Selector,
    },
    Pause {
        at: Duration,
        duration: Duration,
        who: Selector,
    },
    Link {
        at: Duration,
        duration: Duration,
        latency: Duration,
        loss: f64,
    },
    Partition {
        at: Duration,
        duration: Duration,
        who: Selector,
    },
    Partitions {
        min: Duration,
        max: Duration,
        duration: Duration,
        who: Selector,
    },
}

/// A fault schedule; build it, then add it to the scenario as a workload.
#[derive(Clone, Debug, Default)]
pub struct Chaos {
    specs: Vec<Spec>,
    cooldown: Duration,
    window: Option<Duration>,
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

    /// Restart nodes again and again, waiting a random delay between `min`
    /// and `max` before each, for the whole window.
    pub fn restarts(mut self, min: Duration, max: Duration, who: Selector) -> Self {
        self.specs.push(Spec::Restarts {
            min,
            max: max.max(min),
            who,
        });
        self
    }

    /// A node restarted is not picked again for this long (default: none).
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// The window repeated faults ([`Chaos::restarts`], [`Chaos::partitions`])
    /// cover (default: the scenario's window).
    pub fn window(mut self, window: Duration) -> Self {
        self.window = Some(window);
        self
    }

    /// Freeze a node `at` into the window for `duration`.
    pub fn pause_at(mut self, at: Duration, duration: Duration, who: Selector) -> Self {
        self.specs.push(Spec::Pause { at, duration, who });
        self
    }

    /// Make one directed link between two nodes (drawn from the seed) slow
    /// and lossy `at` into the window, healing after `duration`.
    pub fn link_fault_at(
        mut self,
        at: Duration,
        duration: Duration,
        latency: Duration,
        loss: f64,
    ) -> Self {
        self.specs.push(Spec::Link {
            at,
            duration,
            latency,
            loss,
        });
        self
    }

    /// Partition the network again and again for the whole window: wait a
    /// random delay between `min` and `max`, partition for `duration`, repeat.
    pub fn partitions(
        mut self,
        min: Duration,
        max: Duration,
        duration: Duration,
        who: Selector,
    ) -> Self {
        self.specs.push(Spec::Partitions {
            min,
            max: max.max(min),
            duration,
            who,
        });
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
        let mut last_restart: std::collections::BTreeMap<NodeId, Duration> = Default::default();
        let cooldown = self.cooldown;
        let mut pick = |who: &Selector,
                        at: Duration,
                        rng: &mut rand_chacha::ChaCha8Rng,
                        restart: bool|
         -> Option<NodeId> {
            let mut pool = match who {
                Selector::One(node) => vec![node.clone()],
                Selector::AnyOf(role) | Selector::Role(role) => with_role(role),
                Selector::Any | Selector::Minority | Selector::Majority | Selector::Halves => {
                    ids.clone()
                }
            };
            pool.shuffle(rng);
            let chosen = pool.into_iter().find(|node| {
                !restart
                    || last_restart
                        .get(node)
                        .is_none_or(|last| at >= *last + cooldown)
            })?;
            if restart {
                last_restart.insert(chosen.clone(), at);
            }
            Some(chosen)
        };
        let mut specs: Vec<(Duration, &Spec)> = Vec::new();
        for spec in &self.specs {
            match spec {
                Spec::Restarts { min, max, .. } | Spec::Partitions { min, max, .. } => {
                    let window = self.window.unwrap_or(Duration::ZERO);
                    let busy = match spec {
                        Spec::Partitions { duration, .. } => *duration,
                        _ => Duration::ZERO,
                    };
                    let mut at = Duration::ZERO;
                    loop {
                        let gap_ms = rng
                            .random_range(min.as_millis()..=max.as_millis().max(min.as_millis()));
                        at += Duration::from_millis(u64::try_from(gap_ms).unwrap_or(u64::MAX))
                            .max(Duration::from_millis(1));
                        if at >= window {
                            break;
                        }
                        specs.push((at, spec));
                        at += busy;
                    }
                }
                Spec::Restart { at, .. }
                | Spec::Pause { at, .. }
                | Spec::Link { at, .. }
                | Spec::Partition { at, .. } => {
                    specs.push((*at, spec));
                }
            }
        }
        specs.sort_by_key(|(at, _)| *at);
        for (at, spec) in specs {
            match spec {
                Spec::Restart { who, .. } | Spec::Restarts { who, .. } => {
                    if let Some(node) = pick(who, at, &mut rng, true) {
                        plan.push(PlannedFault::Restart { at, node });
                    }
                }
                Spec::Pause { duration, who, .. } => {
                    if let Some(node) = pick(who, at, &mut rng, false) {
                        plan.push(PlannedFault::Pause {
                            at,
                            duration: *duration,
                            node,
                        });
                    }
                }
                Spec::Link {
                    duration,
                    latency,
                    loss,
                    ..
                } => {
                    let mut pair = ids.clone();
                    pair.shuffle(&mut rng);
                    if let [from, to, ..] = pair.as_slice() {
                        plan.push(PlannedFault::Link {
                            at,
                            duration: *duration,
                            from: from.clone(),
                            to: to.clone(),
                            latency_ms: u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
                            loss_permille: (loss.clamp(0.0, 1.0) * 1000.0).round() as u32,
                        });
                    }
                }
                Spec::Partition { duration, who, .. } | Spec::Partitions { duration, who, .. } => {
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
                        Selector::Majority => {
                            let mut validators = with_role(&Role::Validator);
                            let size = validators.len() / 2 + 1;
                            validators.shuffle(&mut rng);
                            validators.into_iter().take(size).collect()
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
                        at,
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
                Spec::Restart { .. } | Spec::Restarts { .. } => {
                    needs.capability(Capability::StopStart)
                }
                Spec::Pause { .. } => needs.capability(Capability::Pause),
                Spec::Link { loss, .. } if *loss > 0.0 => needs
                    .capability(Capability::LinkLatency)
                    .capability(Capability::LinkLoss)
                    .min_nodes(2),
                Spec::Link { .. } => needs.capability(Capability::LinkLatency).min_nodes(2),
                Spec::Partition { .. } | Spec::Partitions { .. } => {
                    needs.capability(Capability::Partition).min_nodes(2)
                }
            };
        }
        needs
    }

    async fn run(&self, ctx: &RunContext, cancel: CancellationToken) -> Result<(), BoxError> {
        // Repeated faults cover the scenario's window unless told otherwise.
        let window = self.window.unwrap_or_else(|| ctx.window());
        let plan = Self {
            window: Some(window),
            ..self.clone()
        }
        .plan(ctx.seed(), &ctx.nodes());
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
                PlannedFault::Link {
                    duration,
                    from,
                    to,
                    latency_ms,
                    loss_permille,
                    ..
                } => {
                    let shape = scenario_core::LinkShape {
                        latency: Duration::from_millis(latency_ms),
                        loss: f64::from(loss_permille) / 1000.0,
                        ..scenario_core::LinkShape::default()
                    };
                    ctx.network_fault(&NetworkFault::Shape { from, to, shape }, Some(duration))
                        .await?;
                }
                PlannedFault::Pause { duration, node, .. } => {
                    let control = Arc::clone(
                        ctx.node_control()
                            .ok_or("the deployer offers no node control")?,
                    );
                    control.pause(&node).await?;
                    tokio::spawn(async move {
                        tokio::time::sleep(duration).await;
                        if let Err(error) = control.resume(&node).await {
                            tracing::warn!(%error, "could not resume a paused node");
                        }
                    });
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
    fn repeated_restarts_respect_the_bounds_and_the_per_target_cooldown() {
        let chaos = Chaos::new()
            .window(Duration::from_secs(60))
            .cooldown(Duration::from_secs(20))
            .restarts(
                Duration::from_secs(2),
                Duration::from_secs(4),
                Selector::AnyOf(Role::Validator),
            );
        let plan = chaos.plan(3, &nodes());
        assert!(plan.len() >= 10, "{plan:?}");
        let mut last: std::collections::BTreeMap<NodeId, Duration> = Default::default();
        let mut previous = Duration::ZERO;
        for fault in &plan {
            let PlannedFault::Restart { at, node } = fault else {
                panic!("{fault:?}")
            };
            // Slots whose every candidate is cooling down are skipped, so gaps
            // may exceed the upper bound, never undercut the lower one.
            assert!(*at - previous >= Duration::from_secs(2), "{plan:?}");
            previous = *at;
            if let Some(before) = last.insert(node.clone(), *at) {
                assert!(
                    *at - before >= Duration::from_secs(20),
                    "{node} restarted again after {:?}",
                    *at - before
                );
            }
        }
    }

    #[test]
    fn repeated_partitions_never_overlap_and_cover_the_window() {
        let plan = Chaos::new()
            .window(Duration::from_secs(60))
            .partitions(
                Duration::from_secs(3),
                Duration::from_secs(6),
                Duration::from_secs(5),
                Selector::Minority,
            )
            .plan(4, &nodes());
        assert!(plan.len() >= 4, "{plan:?}");
        let mut free_from = Duration::ZERO;
        for fault in &plan {
            let PlannedFault::Partition { at, duration, .. } = fault else {
                panic!("{fault:?}")
            };
            assert!(*at >= free_from + Duration::from_secs(3), "{plan:?}");
            free_from = *at + *duration;
        }
    }

    #[test]
    fn a_majority_partition_puts_a_quorum_of_validators_on_one_side() {
        let plan = Chaos::new()
            .partition_at(
                Duration::from_secs(1),
                Duration::from_secs(1),
                Selector::Majority,
            )
            .plan(9, &nodes());
        let PlannedFault::Partition { groups, .. } = &plan[0] else {
            panic!("{plan:?}")
        };
        assert_eq!(groups[0].len(), 3, "3 of 5 validators: {groups:?}");
        assert!(
            groups[0]
                .iter()
                .all(|id| id.as_str().starts_with("validator"))
        );
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
