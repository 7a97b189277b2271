//! The schedule: what the builder recorded ([`Spec`]) and what the seed
//! turns it into before the run ([`PlannedFault`]s on concrete nodes, in
//! time order).

use std::time::Duration;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use scenario_core::{LinkShape, NetworkFault, NodeId, NodeSlot};
use serde::Serialize;

use super::action::{ChaosAction, NodeAction};
use super::selector::{Picker, Selector};

/// One fault of the planned schedule.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PlannedFault {
    /// Act on one node.
    Node {
        /// When, from the start of the window.
        at: Duration,
        /// Which node.
        node: NodeId,
        /// What to do.
        action: NodeAction,
        /// When set, the action is undone this long after it was done (a
        /// stopped or killed node started, a paused one resumed).
        heal_after: Option<Duration>,
    },
    /// Apply a network fault.
    Network {
        /// When, from the start of the window.
        at: Duration,
        /// The fault.
        fault: NetworkFault,
        /// When set, the fault heals this long after it was applied.
        heal_after: Option<Duration>,
    },
}

impl PlannedFault {
    /// When, from the start of the window.
    pub fn at(&self) -> Duration {
        match self {
            Self::Node { at, .. } | Self::Network { at, .. } => *at,
        }
    }

    /// How long until it is healed or undone, if it is.
    pub fn heal_after(&self) -> Option<Duration> {
        match self {
            Self::Node { heal_after, .. } | Self::Network { heal_after, .. } => *heal_after,
        }
    }
}

/// One entry of the builder, before the seed resolved it.
#[derive(Clone, Debug)]
pub(super) enum Spec {
    /// One action at one time (`at`, `restart_at`, `pause_at`).
    At {
        at: Duration,
        action: ChaosAction,
        heal_after: Option<Duration>,
    },
    /// Restarts again and again; with `down`, each is a stop and a start
    /// that long after (real downtime), else an instant kill-and-start.
    Restarts {
        min: Duration,
        max: Duration,
        who: Selector,
        down: Option<Duration>,
    },
    /// One directed link between two nodes drawn from the seed.
    Link {
        at: Duration,
        duration: Duration,
        latency: Duration,
        loss: f64,
    },
    /// One partition chosen by a selector.
    Partition {
        at: Duration,
        duration: Duration,
        who: Selector,
    },
    /// Partitions again and again.
    Partitions {
        min: Duration,
        max: Duration,
        duration: Duration,
        who: Selector,
    },
}

/// What the player does with a spec at one time.
enum Due<'a> {
    Action(&'a ChaosAction, Option<Duration>),
    Restart(&'a Selector, Option<Duration>),
    Link(Duration, Duration, f64),
    Partition(Duration, &'a Selector),
}

/// The times of a repeated spec: a random gap between `min` and `max`,
/// then `busy` while the fault lasts, until `window`.
fn repeated(
    min: Duration,
    max: Duration,
    busy: Duration,
    window: Duration,
    rng: &mut ChaCha8Rng,
) -> Vec<Duration> {
    let mut times = Vec::new();
    let mut at = Duration::ZERO;
    loop {
        let gap_ms = rng.random_range(min.as_millis()..=max.as_millis().max(min.as_millis()));
        at += Duration::from_millis(u64::try_from(gap_ms).unwrap_or(u64::MAX))
            .max(Duration::from_millis(1));
        if at >= window {
            return times;
        }
        times.push(at);
        at += busy;
    }
}

/// The schedule `specs` give for `nodes`: repeated specs cover `window`,
/// every random choice comes from `rng`, and the faults are in time order.
pub(super) fn plan(
    specs: &[Spec],
    window: Duration,
    cooldown: Duration,
    mut rng: ChaCha8Rng,
    nodes: &[NodeSlot],
) -> Vec<PlannedFault> {
    let mut due: Vec<(Duration, Due<'_>)> = Vec::new();
    for spec in specs {
        match spec {
            Spec::At {
                at,
                action,
                heal_after,
            } => due.push((*at, Due::Action(action, *heal_after))),
            Spec::Restarts {
                min,
                max,
                who,
                down,
            } => {
                let busy = down.unwrap_or(Duration::ZERO);
                for at in repeated(*min, *max, busy, window, &mut rng) {
                    due.push((at, Due::Restart(who, *down)));
                }
            }
            Spec::Link {
                at,
                duration,
                latency,
                loss,
            } => due.push((*at, Due::Link(*duration, *latency, *loss))),
            Spec::Partition { at, duration, who } => {
                due.push((*at, Due::Partition(*duration, who)));
            }
            Spec::Partitions {
                min,
                max,
                duration,
                who,
            } => {
                for at in repeated(*min, *max, *duration, window, &mut rng) {
                    due.push((at, Due::Partition(*duration, who)));
                }
            }
        }
    }
    due.sort_by_key(|(at, _)| *at);
    let mut picker = Picker::new(nodes, cooldown);
    let mut plan = Vec::new();
    for (at, what) in due {
        let planned = match what {
            Due::Action(ChaosAction::Node { action, who }, heal_after) => {
                let restart = *action == NodeAction::Restart;
                picker
                    .node(who, at, &mut rng, restart)
                    .map(|node| PlannedFault::Node {
                        at,
                        node,
                        action: *action,
                        heal_after,
                    })
            }
            Due::Action(ChaosAction::Network(fault), heal_after) => Some(PlannedFault::Network {
                at,
                fault: fault.clone(),
                heal_after,
            }),
            Due::Restart(who, down) => {
                picker
                    .node(who, at, &mut rng, true)
                    .map(|node| PlannedFault::Node {
                        at,
                        node,
                        // Downtime: stopped now, started `down` later.
                        action: if down.is_some() {
                            NodeAction::Stop
                        } else {
                            NodeAction::Restart
                        },
                        heal_after: down,
                    })
            }
            Due::Link(duration, latency, loss) => {
                picker
                    .link(&mut rng)
                    .map(|(from, to)| PlannedFault::Network {
                        at,
                        fault: NetworkFault::Shape {
                            from,
                            to,
                            shape: LinkShape {
                                latency,
                                loss: loss.clamp(0.0, 1.0),
                                ..LinkShape::default()
                            },
                        },
                        heal_after: Some(duration),
                    })
            }
            Due::Partition(duration, who) => Some(PlannedFault::Network {
                at,
                fault: NetworkFault::Partition {
                    groups: picker.partition(who, &mut rng),
                },
                heal_after: Some(duration),
            }),
        };
        plan.extend(planned);
    }
    plan
}
