//! Phases 2 to 5 of a run: deploy, capture, execute, evaluate. Each records
//! into the [`RunState`] as it goes; none of them cleans up (the caller does,
//! on every exit path).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::panic;
use super::recorded::{RecordedNetworkControl, RecordedNodeControl};
use super::state::RunState;
use crate::context::{ContextParts, RunContext};
use crate::control::{NetworkControl, NodeControl};
use crate::deployer::{DeployEnv, Deployer, Deployment};
use crate::expectation::Verdict;
use crate::feed::FeedStart;
use crate::report::{ExpectationRecord, Phase};
use crate::scenario::Scenario;
use crate::timeline::EventKind;

/// Deploy, capture, execute and evaluate, recording into `state`.
pub(super) async fn run<D: Deployer + ?Sized>(
    scenario: &Scenario,
    deployer: &D,
    env: &DeployEnv,
    cancel: &CancellationToken,
    state: &mut RunState,
) {
    let Some(ctx) = deploy(scenario, deployer, env, cancel, state).await else {
        return;
    };
    capture(scenario, &ctx, state).await;
    execute(scenario, &ctx, env, cancel, state).await;
    evaluate(scenario, &ctx, state).await;
    record_fault_effects(scenario, state);
}

/// What every network fault did, into the report and on the timeline,
/// asked before cleanup tears the network down; a fault that matched no
/// traffic is flagged (and fails the run when the plan asks for that).
pub(super) fn record_fault_effects(scenario: &Scenario, state: &mut RunState) {
    let Some(network) = state.network.clone() else {
        return;
    };
    let records = network.fault_records();
    for record in &records {
        let what = match &record.effect {
            Some(effect) => format!("{}: {} — {effect}", record.id, record.fault),
            None => format!(
                "{}: {} — this backend's mechanism does not count packets",
                record.id, record.fault
            ),
        };
        state
            .timeline()
            .record_fault(EventKind::Note, Some(record.id), None, what);
        if record.untouched {
            let message = format!(
                "{} ({}) matched no traffic: the fault did nothing",
                record.id, record.fault
            );
            state.console.notice(message.clone());
            if scenario.fail_on_untouched_faults {
                state.fail(message);
            }
        }
    }
    state.faults = records;
}

async fn deploy<D: Deployer + ?Sized>(
    scenario: &Scenario,
    deployer: &D,
    env: &DeployEnv,
    cancel: &CancellationToken,
    state: &mut RunState,
) -> Option<RunContext> {
    state.begin(Phase::Deploy);
    let outcome = AssertUnwindSafe(deployer.deploy(scenario, env))
        .catch_unwind()
        .await;
    let deployment = match outcome {
        Ok(Ok(deployment)) => deployment,
        Ok(Err(error)) => {
            state.fail(format!("deploy on {} failed: {error}", deployer.name()));
            state.end();
            return None;
        }
        Err(payload) => {
            state.fail(format!(
                "the {} deployer panicked during deploy: {}",
                deployer.name(),
                panic::message(&*payload)
            ));
            state.end();
            return None;
        }
    };
    if let Some(missing) = scenario
        .topology
        .slots()
        .into_iter()
        .find(|slot| !deployment.clients.contains_key(&slot.id))
    {
        state.fail(format!(
            "the {} deployer returned no client for {}",
            deployer.name(),
            missing.id
        ));
        state.end();
        return None;
    }
    let ctx = context(scenario, env, deployment, cancel, state).await;
    state.end();
    ctx
}

/// Assemble the run context: recorded control handles and the block feed.
async fn context(
    scenario: &Scenario,
    env: &DeployEnv,
    deployment: Deployment,
    cancel: &CancellationToken,
    state: &mut RunState,
) -> Option<RunContext> {
    let timeline = state.timeline().clone();
    let feed = match &scenario.feed {
        None => None,
        Some(factory) => {
            let start = FeedStart {
                clients: deployment.clients.clone(),
                timeline: timeline.clone(),
                artifacts_dir: env.artifacts_dir.clone(),
                cancel: cancel.child_token(),
            };
            match AssertUnwindSafe(factory.start(start)).catch_unwind().await {
                Ok(Ok(feed)) => Some(feed),
                Ok(Err(error)) => {
                    state.fail(format!("the block feed could not start: {error}"));
                    return None;
                }
                Err(payload) => {
                    state.fail(format!(
                        "the block feed panicked while starting: {}",
                        panic::message(&*payload)
                    ));
                    return None;
                }
            }
        }
    };
    let node_control = deployment.node_control.map(|inner| {
        Arc::new(RecordedNodeControl {
            inner,
            timeline: timeline.clone(),
        }) as Arc<dyn NodeControl>
    });
    let network_control = deployment.network_control.map(|inner| {
        let recorded = Arc::new(RecordedNetworkControl::new(inner, timeline.clone()));
        state.network = Some(Arc::clone(&recorded));
        recorded as Arc<dyn NetworkControl>
    });
    Some(RunContext::new(ContextParts {
        run_id: env.run_id.clone(),
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        topology: scenario.topology.clone(),
        nodes: scenario.nodes.clone(),
        clients: deployment.clients,
        node_control,
        network_control,
        membership: deployment.membership,
        feed,
        timeline,
        window: scenario.window,
        artifacts_dir: env.artifacts_dir.clone(),
    }))
}

async fn capture(scenario: &Scenario, ctx: &RunContext, state: &mut RunState) {
    state.begin(Phase::Capture);
    for (index, expectation) in scenario.expectations.iter().enumerate() {
        let outcome = AssertUnwindSafe(expectation.capture(ctx))
            .catch_unwind()
            .await;
        let error = match outcome {
            Ok(Ok(())) => continue,
            Ok(Err(error)) => format!("could not capture its baseline: {error}"),
            Err(payload) => format!("panicked while capturing: {}", panic::message(&*payload)),
        };
        state.capture_errors[index] = Some(error);
    }
    state.end();
}

async fn execute(
    scenario: &Scenario,
    ctx: &RunContext,
    env: &DeployEnv,
    cancel: &CancellationToken,
    state: &mut RunState,
) {
    state.begin(Phase::Execute);
    let window_closed = cancel.child_token();
    let mut running = JoinSet::new();
    let mut pending: Vec<usize> = Vec::new();
    for (index, workload) in scenario.workloads.iter().enumerate() {
        match AssertUnwindSafe(workload.init(ctx)).catch_unwind().await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                state.workload_failed(index, format!("failed to initialise: {error}"));
                continue;
            }
            Err(payload) => {
                let message = panic::message(&*payload);
                state.workload_failed(index, format!("panicked while initialising: {message}"));
                continue;
            }
        }
        let (workload, ctx, token) = (Arc::clone(workload), ctx.clone(), window_closed.clone());
        pending.push(index);
        running.spawn(async move {
            let outcome = AssertUnwindSafe(workload.run(&ctx, token))
                .catch_unwind()
                .await;
            (index, outcome)
        });
    }
    let window = tokio::time::sleep(scenario.window);
    tokio::pin!(window);
    let mut checks = tokio::time::interval(CHECK_EVERY);
    checks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut progress = super::progress::Progress::new(scenario.window, Arc::clone(&state.console));
    loop {
        tokio::select! {
            () = &mut window => break,
            Some(joined) = running.join_next(), if !running.is_empty() => {
                record_workload_end(joined, &mut pending, state);
            }
            _ = checks.tick() => {
                let failing: Vec<String> = state.expectations.iter().flatten().map(|e| e.name.clone()).collect();
                progress.show(ctx, scenario, &failing);
                if check_expectations(scenario, ctx, state).await {
                    break;
                }
                if let Some(reason) = env.first_failure() {
                    // A node died on its own (or the deployer failed the run
                    // otherwise): nothing the window could still show helps.
                    state.timeline().record(
                        EventKind::Note,
                        None,
                        format!("the run stopped early: {reason}"),
                    );
                    break;
                }
            }
        }
    }
    progress.finish();
    window_closed.cancel();
    let drain = async {
        while let Some(joined) = running.join_next().await {
            record_workload_end(joined, &mut pending, state);
        }
    };
    if tokio::time::timeout(scenario.workload_stop_grace, drain)
        .await
        .is_err()
    {
        running.abort_all();
        let grace = crate::scenario::human(scenario.workload_stop_grace);
        for index in std::mem::take(&mut pending) {
            state.workload_failed(
                index,
                format!("did not stop within {grace} after the window closed and was aborted"),
            );
        }
    }
    for (index, workload) in scenario.workloads.iter().enumerate() {
        match std::panic::catch_unwind(AssertUnwindSafe(|| workload.stats())) {
            Ok(stats) => state.workloads[index].stats = stats,
            Err(payload) => {
                let message = panic::message(&*payload);
                state.workload_failed(index, format!("panicked while reporting stats: {message}"));
            }
        }
    }
    state.end();
}

/// How often continuous expectations are checked and progress is shown.
const CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Ask every expectation whether it already failed; true when one did (the
/// run then stops early).
async fn check_expectations(scenario: &Scenario, ctx: &RunContext, state: &mut RunState) -> bool {
    let mut stop = false;
    for (index, expectation) in scenario.expectations.iter().enumerate() {
        if state.expectations[index].is_some() || state.capture_errors[index].is_some() {
            continue;
        }
        let verdict = match AssertUnwindSafe(expectation.check_now(ctx))
            .catch_unwind()
            .await
        {
            Ok(Ok(Some(verdict))) if !verdict.passed => verdict,
            Ok(Ok(_)) => continue,
            // A check that cannot say is a failed check, not a pass.
            Ok(Err(error)) => Verdict::fail(format!("its check during the run failed: {error}")),
            Err(payload) => Verdict::fail(format!(
                "its check during the run panicked: {}",
                panic::message(&*payload)
            )),
        };
        let at = ctx.timeline().elapsed_ms();
        let name = expectation.name().to_owned();
        state.timeline().record(
            EventKind::ExpectationFailed,
            None,
            format!("{name} failed during the run: {}", verdict.message),
        );
        state.fail(format!(
            "expectation '{name}' failed during the run at {at} ms, so the run stopped early: {}",
            verdict.message
        ));
        state.expectations[index] = Some(ExpectationRecord {
            name,
            passed: false,
            message: verdict.message,
            figures: verdict.figures,
            series: verdict.series,
        });
        stop = true;
    }
    stop
}

type WorkloadEnd = (
    usize,
    Result<Result<(), crate::BoxError>, Box<dyn std::any::Any + Send>>,
);

fn record_workload_end(
    joined: Result<WorkloadEnd, tokio::task::JoinError>,
    pending: &mut Vec<usize>,
    state: &mut RunState,
) {
    // Tasks are only aborted after every pending one has been recorded.
    let Ok((index, outcome)) = joined else {
        return;
    };
    pending.retain(|&running| running != index);
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(error)) => state.workload_failed(index, format!("failed: {error}")),
        Err(payload) => {
            state.workload_failed(index, format!("panicked: {}", panic::message(&*payload)));
        }
    }
}

async fn evaluate(scenario: &Scenario, ctx: &RunContext, state: &mut RunState) {
    state.begin(Phase::Evaluate);
    tokio::time::sleep(scenario.cooldown).await;
    for (index, expectation) in scenario.expectations.iter().enumerate() {
        if state.expectations[index].is_some() {
            continue; // Already failed while the run went on.
        }
        let name = expectation.name().to_owned();
        let record = match state.capture_errors[index].clone() {
            Some(error) => failed(name, error),
            None => match AssertUnwindSafe(expectation.evaluate(ctx))
                .catch_unwind()
                .await
            {
                Ok(Ok(verdict)) => ExpectationRecord {
                    name,
                    passed: verdict.passed,
                    message: verdict.message,
                    figures: verdict.figures,
                    series: verdict.series,
                },
                Ok(Err(error)) => failed(name, format!("could not evaluate: {error}")),
                Err(payload) => failed(
                    name,
                    format!("panicked while evaluating: {}", panic::message(&*payload)),
                ),
            },
        };
        if !record.passed {
            state.timeline().record(
                EventKind::ExpectationFailed,
                None,
                format!("{}: {}", record.name, record.message),
            );
        }
        state.expectations[index] = Some(record);
    }
    if let Some(feed) = ctx.block_feed() {
        state.heights = feed.height_series();
    }
    state.end();
}

pub(super) fn failed(name: String, message: String) -> ExpectationRecord {
    ExpectationRecord {
        name,
        passed: false,
        message,
        figures: Default::default(),
        series: Default::default(),
    }
}
