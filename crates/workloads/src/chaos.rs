//! Chaos: a fault schedule planned from the run's seed before the run (so
//! the same seed gives the same faults on the same targets) and played
//! during the window. Any node action or network fault can be scheduled at
//! a time with [`Chaos::at`], healed after a while with
//! [`Chaos::heal_after`]; seeded helpers (restarts, partitions, slow links)
//! draw their targets with Jepsen-style [`Selector`]s.
//!
//! * `action` — [`ChaosAction`] and [`NodeAction`], what one step does;
//! * `selector` — [`Selector`] and how the seed resolves it;
//! * `plan` — the builder's entries and the [`PlannedFault`]s they become;
//! * `check` — [`ScheduleProblem`]s, found before the window opens;
//! * `play` — playing the plan and its heals during the window;
//! * `stats` — what the workload reports.

mod action;
mod check;
mod plan;
mod play;
mod selector;
mod stats;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use scenario_core::NodeSlot;
use scenario_core::prelude::*;

pub use action::{ChaosAction, NodeAction};
pub use check::ScheduleProblem;
pub use plan::PlannedFault;
pub use selector::Selector;

use crate::Error;
use plan::Spec;
use stats::ChaosLog;

/// A fault schedule; build it, then add it to the scenario as a workload.
///
/// ```
/// use std::time::Duration;
/// use scenario_core::{NetworkFault, NodeId, Role, Signal};
/// use workloads::{Chaos, ChaosAction, Selector};
///
/// let chaos = Chaos::new()
///     .named("split-brain")
///     .at(
///         Duration::from_secs(5),
///         ChaosAction::partition([vec!["validator-0", "validator-1"], vec!["validator-2"]]),
///     )
///     .heal_after(Duration::from_secs(10))
///     .at(Duration::from_secs(8), ChaosAction::kill("validator-2", Signal::Kill))
///     .heal_after(Duration::from_secs(3))
///     .at(Duration::from_secs(20), NetworkFault::Cut {
///         from: NodeId::new("validator-0"),
///         to: NodeId::new("validator-1"),
///     })
///     .restart_at(Duration::from_secs(12), Selector::AnyOf(Role::Validator));
/// ```
///
/// Every action goes through the run's control handles, so it lands on the
/// timeline; anything still in effect when the window closes is healed then.
/// The workload's stats count every action (applies, heals and undos) as
/// submitted, accepted or failed, `healed` the heals that worked, and
/// `actions` lists them with their time into the window.
#[derive(Debug)]
pub struct Chaos {
    name: String,
    specs: Vec<Spec>,
    misuse: Vec<ScheduleProblem>,
    cooldown: Duration,
    window: Option<Duration>,
    log: Arc<ChaosLog>,
}

impl Default for Chaos {
    fn default() -> Self {
        Self {
            name: Self::DEFAULT_NAME.to_owned(),
            specs: Vec::new(),
            misuse: Vec::new(),
            cooldown: Duration::ZERO,
            window: None,
            log: Arc::default(),
        }
    }
}

/// A clone has the same name and schedule and stats of its own.
impl Clone for Chaos {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            specs: self.specs.clone(),
            misuse: self.misuse.clone(),
            cooldown: self.cooldown,
            window: self.window,
            log: Arc::default(),
        }
    }
}

impl Chaos {
    /// The name a chaos workload has unless [`Chaos::named`] says otherwise.
    pub const DEFAULT_NAME: &str = "chaos";

    /// No faults yet, named [`Chaos::DEFAULT_NAME`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Name the workload in the report (default `chaos`); two chaos
    /// workloads of one scenario need distinct names. The name is also the
    /// stream of the seed the targets are drawn from.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Do `action` (a [`ChaosAction`] or a
    /// [`NetworkFault`](scenario_core::NetworkFault)) `at` into the window.
    /// It must be due before the window closes.
    pub fn at(mut self, at: Duration, action: impl Into<ChaosAction>) -> Self {
        self.specs.push(Spec::At {
            at,
            action: action.into(),
            heal_after: None,
        });
        self
    }

    /// Heal the fault of the [`Chaos::at`] just before, or undo its node
    /// action (start a stopped or killed node, resume a paused one),
    /// `duration` after it was done — at the latest when the window closes.
    /// Anything else before it is a schedule problem reported when the run
    /// starts.
    pub fn heal_after(mut self, duration: Duration) -> Self {
        match self.specs.last_mut() {
            Some(Spec::At { action, .. }) if !action.can_be_undone() => {
                self.misuse.push(ScheduleProblem::CannotBeUndone {
                    action: action.to_string(),
                });
            }
            Some(Spec::At { heal_after, .. }) => *heal_after = Some(duration),
            _ => self
                .misuse
                .push(ScheduleProblem::HealAfterWithoutAction { duration }),
        }
        self
    }

    /// Restart a node `at` into the window.
    pub fn restart_at(self, at: Duration, who: Selector) -> Self {
        self.at(at, ChaosAction::restart(who))
    }

    /// Restart nodes again and again, waiting a random delay between `min`
    /// and `max` before each, for the whole window.
    pub fn restarts(mut self, min: Duration, max: Duration, who: Selector) -> Self {
        self.specs.push(Spec::Restarts {
            min,
            max: max.max(min),
            who,
            down: None,
        });
        self
    }

    /// Give the restarts just scheduled real downtime: each restart of
    /// [`Chaos::restarts`] or [`Chaos::restart_at`] becomes a stop, and a
    /// start `down` later, so a restarted node misses blocks and has to
    /// catch up (an instant restart misses nothing).
    pub fn down_for(mut self, down: Duration) -> Self {
        match self.specs.last_mut() {
            Some(Spec::Restarts { down: slot, .. }) => *slot = Some(down),
            Some(Spec::At {
                action:
                    ChaosAction::Node {
                        action: action @ NodeAction::Restart,
                        ..
                    },
                heal_after,
                ..
            }) => {
                *action = NodeAction::Stop;
                *heal_after = Some(down);
            }
            _ => self
                .misuse
                .push(ScheduleProblem::DownForWithoutRestart { duration: down }),
        }
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
    pub fn pause_at(self, at: Duration, duration: Duration, who: Selector) -> Self {
        self.at(at, ChaosAction::pause(who)).heal_after(duration)
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

    /// The schedule the seed gives for these nodes, in time order. Repeated
    /// faults cover [`Chaos::window`] (none without it; during a run, the
    /// scenario's window).
    pub fn plan(&self, seed: u64, nodes: &[NodeSlot]) -> Vec<PlannedFault> {
        self.plan_for(self.window.unwrap_or(Duration::ZERO), seed, nodes)
    }

    fn plan_for(&self, window: Duration, seed: u64, nodes: &[NodeSlot]) -> Vec<PlannedFault> {
        let rng = scenario_core::context::seeded_rng(seed, &self.name);
        plan::plan(&self.specs, window, self.cooldown, rng, nodes)
    }

    /// Whether the schedule can be played in a window this long on these
    /// nodes: every problem found, or none. The workload checks it when the
    /// run initialises it, before any fault.
    pub fn check(&self, window: Duration, nodes: &[NodeSlot]) -> Result<(), Error> {
        let mut problems = self.misuse.clone();
        for spec in &self.specs {
            check::spec_problems(spec, window, nodes, &mut problems);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidSchedule {
                workload: self.name.clone(),
                problems,
            })
        }
    }
}

#[async_trait]
impl Workload for Chaos {
    fn name(&self) -> &str {
        &self.name
    }

    fn requirements(&self) -> Requirements {
        let mut needs = Requirements::none();
        for spec in &self.specs {
            let (more, role) = match spec {
                Spec::At {
                    action, heal_after, ..
                } => (action.requirements(heal_after.is_some()), None),
                Spec::Restarts { who, .. } => (
                    Requirements::none().capability(Capability::StopStart),
                    who.role(),
                ),
                Spec::Link { loss, .. } => {
                    let link = Requirements::none()
                        .capability(Capability::LinkLatency)
                        .min_nodes(2);
                    let link = if *loss > 0.0 {
                        link.capability(Capability::LinkLoss)
                    } else {
                        link
                    };
                    (link, None)
                }
                Spec::Partition { who, .. } | Spec::Partitions { who, .. } => (
                    Requirements::none()
                        .capability(Capability::Partition)
                        .min_nodes(2),
                    who.role(),
                ),
            };
            needs = action::with_capabilities(needs, &more.capabilities).min_nodes(more.min_nodes);
            for role in more.roles.iter().chain(role) {
                if !needs.roles.contains(role) {
                    needs = needs.role(role.clone());
                }
            }
        }
        needs
    }

    fn check_plan(&self, window: Duration, nodes: &[NodeSlot]) -> Result<(), BoxError> {
        Ok(self.check(window, nodes)?)
    }

    async fn init(&self, ctx: &RunContext) -> Result<(), BoxError> {
        self.log.reset();
        // Checked at build too; joined nodes may have changed the picture.
        self.check(ctx.window(), &ctx.nodes())?;
        Ok(())
    }

    async fn run(&self, ctx: &RunContext, cancel: CancellationToken) -> Result<(), BoxError> {
        // Repeated faults cover the scenario's window unless told otherwise.
        let window = self.window.unwrap_or_else(|| ctx.window());
        let plan = self.plan_for(window, ctx.seed(), &ctx.nodes());
        self.log.set_planned(plan.len());
        play::play(&self.name, Arc::clone(&self.log), plan, ctx, &cancel).await?;
        Ok(())
    }

    fn stats(&self) -> WorkloadStats {
        self.log.stats()
    }
}
