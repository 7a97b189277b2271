//! Playing a planned schedule during the window: each fault at its time,
//! through the run's recorded control handles (so every action lands on the
//! timeline), each heal or undo on its own timer. Whatever is still in
//! effect when the window closes, or when an action fails, is healed then.

use std::sync::Arc;
use std::time::Duration;

use scenario_core::{
    CancellationToken, ControlError, FaultId, NetworkControl, NetworkFault, NodeControl, NodeId,
    RunContext,
};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::action::NodeAction;
use super::plan::PlannedFault;
use super::stats::ChaosLog;
use crate::Error;

/// What the player needs to perform and log actions.
#[derive(Clone)]
struct Player {
    workload: String,
    log: Arc<ChaosLog>,
    opened: Instant,
}

/// How to undo one applied fault.
enum Undo {
    Node {
        control: Arc<dyn NodeControl>,
        node: NodeId,
        action: NodeAction,
        undoing: NodeAction,
    },
    Network {
        control: Arc<dyn NetworkControl>,
        id: FaultId,
        fault: NetworkFault,
    },
}

impl Player {
    /// Log the outcome of `action` and turn a failure into the workload's error.
    fn logged<T>(
        &self,
        action: String,
        heal: bool,
        result: Result<T, ControlError>,
    ) -> Result<T, Error> {
        self.log.record(
            self.opened.elapsed(),
            action.clone(),
            heal,
            result.as_ref().err().map(ToString::to_string),
        );
        result.map_err(|source| Error::ActionFailed {
            workload: self.workload.clone(),
            action,
            source,
        })
    }

    /// Perform one planned fault; what undoes it, if it is to be undone.
    async fn apply(
        &self,
        fault: PlannedFault,
        ctx: &RunContext,
    ) -> Result<Option<(Duration, Undo)>, Error> {
        match fault {
            PlannedFault::Node {
                node,
                action,
                heal_after,
                ..
            } => {
                let what = format!("{action} {node}");
                let control =
                    Arc::clone(ctx.node_control().ok_or_else(|| Error::NoNodeControl {
                        workload: self.workload.clone(),
                        action: what.clone(),
                    })?);
                let result = action.perform(&*control, &node).await;
                self.logged(what, false, result)?;
                Ok(heal_after.zip(action.undo()).map(|(after, undo)| {
                    let undo = Undo::Node {
                        control,
                        node,
                        action: undo,
                        undoing: action,
                    };
                    (after, undo)
                }))
            }
            PlannedFault::Network {
                fault, heal_after, ..
            } => {
                let control =
                    Arc::clone(
                        ctx.network_control()
                            .ok_or_else(|| Error::NoNetworkControl {
                                workload: self.workload.clone(),
                                action: fault.to_string(),
                            })?,
                    );
                let applied = control.apply(&fault).await;
                let what = match &applied {
                    Ok(id) => format!("{id}: {fault}"),
                    Err(_) => fault.to_string(),
                };
                let id = self.logged(what, false, applied)?;
                Ok(heal_after.map(|after| (after, Undo::Network { control, id, fault })))
            }
        }
    }

    /// Undo one fault.
    async fn undo(&self, undo: Undo) -> Result<(), Error> {
        match undo {
            Undo::Node {
                control,
                node,
                action,
                undoing,
            } => {
                let result = action.perform(&*control, &node).await;
                self.logged(format!("{action} {node} (undoing {undoing})"), true, result)
            }
            Undo::Network { control, id, fault } => {
                let result = control.heal(id).await;
                self.logged(format!("heal {id} ({fault})"), true, result)
            }
        }
    }
}

/// Play `plan` from now until `cancel` fires; heal everything it applied
/// before returning. The first failure stops the schedule and is returned.
pub(super) async fn play(
    workload: &str,
    log: Arc<ChaosLog>,
    plan: Vec<PlannedFault>,
    ctx: &RunContext,
    cancel: &CancellationToken,
) -> Result<(), Error> {
    let player = Player {
        workload: workload.to_owned(),
        log,
        opened: Instant::now(),
    };
    let heal_now = CancellationToken::new();
    let mut heals: JoinSet<Result<(), Error>> = JoinSet::new();
    let mut outcome = Ok(());
    'plan: for fault in plan {
        let due = tokio::time::sleep_until(player.opened + fault.at());
        tokio::pin!(due);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break 'plan,
                () = &mut due => break,
                Some(healed) = heals.join_next(), if !heals.is_empty() => {
                    outcome = flatten(healed);
                    if outcome.is_err() {
                        break 'plan;
                    }
                }
            }
        }
        match player.apply(fault, ctx).await {
            Ok(None) => {}
            Ok(Some((after, undo))) => {
                let (player, heal_now) = (player.clone(), heal_now.clone());
                heals.spawn(async move {
                    tokio::select! {
                        () = tokio::time::sleep(after) => {}
                        () = heal_now.cancelled() => {}
                    }
                    player.undo(undo).await
                });
            }
            Err(error) => {
                outcome = Err(error);
                break;
            }
        }
    }
    while outcome.is_ok() {
        tokio::select! {
            () = cancel.cancelled() => break,
            Some(healed) = heals.join_next(), if !heals.is_empty() => outcome = flatten(healed),
        }
    }
    heal_now.cancel();
    while let Some(healed) = heals.join_next().await {
        let healed = flatten(healed);
        if outcome.is_ok() {
            outcome = healed;
        }
    }
    outcome
}

fn flatten(joined: Result<Result<(), Error>, tokio::task::JoinError>) -> Result<(), Error> {
    joined.map_err(|error| Error::HealPanicked(error.to_string()))?
}
