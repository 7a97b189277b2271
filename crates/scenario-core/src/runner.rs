//! The runner: drives a built [`Scenario`] through deploy, capture, execute
//! and evaluate under its deadline and Ctrl-C / SIGTERM, then always cleans
//! up, writes `report.json` and returns the [`Report`].

mod artifacts;
mod cleanup;
mod error;
mod interrupt;
mod panic;
mod phases;
mod progress;
mod recorded;
mod state;

pub use self::cleanup::{CleanupOutcome, CleanupRegistry};
pub use self::error::RunError;

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use futures::FutureExt;
use tokio_util::sync::CancellationToken;

use self::cleanup::CleanupGuard;
use self::state::RunState;
use crate::deployer::{DeployEnv, Deployer};
use crate::output::{Console, OutputEvent, RunStarted};
use crate::report::{NodeRecord, Phase, PhaseRecord, PhaseStatus, REPORT_SCHEMA_VERSION, Report};
use crate::scenario::{SEED_ENV, Scenario, human};
use crate::timeline::{Event, EventKind, NodeCause, Timeline};

impl Scenario {
    /// Run the scenario on `deployer` and return its report, which is also
    /// written as `report.json` into the run's artifact directory.
    ///
    /// A run that started always returns a report, passed or not; cleanup
    /// has run by then, whatever happened. The exception is Ctrl-C or
    /// SIGTERM: the run cleans up, writes its report, and the process then
    /// ends by that signal once every active run has done the same. An `Err` means nothing was started
    /// (the deployer lacks a capability the scenario needs, or the artifact
    /// directory or signal handling could not be set up).
    pub async fn run<D: Deployer + ?Sized>(self, deployer: &D) -> Result<Report, RunError> {
        run(self, deployer).await
    }
}

/// How phases 2–5 ended.
enum Ending {
    Finished,
    Panicked(String),
    DeadlineExceeded,
    Interrupted(&'static str),
}

async fn run<D: Deployer + ?Sized>(scenario: Scenario, deployer: &D) -> Result<Report, RunError> {
    let missing = scenario
        .required_capabilities()
        .missing_from(&deployer.capabilities());
    if !missing.is_empty() {
        return Err(RunError::CapabilitiesMissing {
            scenario: scenario.name.clone(),
            deployer: deployer.name().to_owned(),
            missing,
        });
    }
    let started_at = SystemTime::now();
    let root = artifacts_root(&scenario);
    let (run_id, artifacts_dir) = artifacts::create_run_dir(&root, &scenario.name, started_at)
        .map_err(|source| RunError::ArtifactsDirUnavailable {
            path: root.clone(),
            source,
        })?;
    let console = Arc::new(Console::new(scenario.output.clone(), &run_id));
    let registration =
        interrupt::register(Arc::clone(&console)).map_err(RunError::SignalHandlerUnavailable)?;
    console.emit(&OutputEvent::Started(RunStarted {
        scenario: scenario.name.clone(),
        run_id: run_id.clone(),
        deployer: deployer.name().to_owned(),
        node_kind: scenario.node_kind.name().to_owned(),
        nodes: scenario.topology.len(),
        seed: scenario.seed,
        seed_source: scenario.seed_source,
        artifacts_dir: artifacts_dir.clone(),
    }));

    let timeline = Timeline::new();
    let registry = CleanupRegistry::new();
    let guard = CleanupGuard::new(registry.clone(), scenario.cleanup_timeout);
    let workload_names = scenario
        .workloads
        .iter()
        .map(|w| w.name().to_owned())
        .collect();
    let mut state = RunState::new(
        timeline.clone(),
        Arc::clone(&console),
        workload_names,
        scenario.expectations.len(),
    );
    state.phases.push(PhaseRecord {
        name: Phase::Build,
        duration_ms: u64::try_from(scenario.build_duration.as_millis()).unwrap_or(u64::MAX),
        status: PhaseStatus::Completed,
    });
    let env = DeployEnv::new(
        run_id.clone(),
        scenario.seed,
        artifacts_dir.clone(),
        timeline.clone(),
        registry,
    );
    let cancel = CancellationToken::new();
    let deadline = tokio::time::Instant::now() + scenario.deadline;

    let ending = tokio::select! {
        biased;
        signal = registration.interrupted() => Ending::Interrupted(signal),
        () = tokio::time::sleep_until(deadline) => Ending::DeadlineExceeded,
        outcome = AssertUnwindSafe(phases::run(&scenario, deployer, &env, &cancel, &mut state)).catch_unwind() => {
            match outcome {
                Ok(()) => Ending::Finished,
                Err(payload) => Ending::Panicked(panic::message(&*payload)),
            }
        }
    };
    cancel.cancel();
    record_ending(&ending, &scenario, &mut state);
    for reason in env.take_failures() {
        state.fail(reason);
    }
    let passed_so_far =
        state.failures.is_empty() && state.expectations.iter().flatten().all(|e| e.passed);
    env.run_passed().set(passed_so_far);

    state.begin(Phase::Cleanup);
    let cleanup = guard.run().await;
    for reason in env.take_failures() {
        state.fail(reason);
    }
    for outcome in &cleanup {
        if let Some(error) = &outcome.error {
            state.fail(format!("cleanup '{}' failed: {error}", outcome.label));
        }
    }
    state.end();
    state.mark_unstarted();

    let mut report = assemble(
        &scenario,
        deployer.name(),
        run_id,
        started_at,
        artifacts_dir,
        state,
        cleanup,
    );
    if let Err(error) = report.write() {
        report.passed = false;
        report.failures.push(format!(
            "could not write {}: {error}",
            report.path().display()
        ));
    }
    console.emit(&OutputEvent::Finished(Box::new(report.clone())));
    drop(registration);
    if matches!(ending, Ending::Interrupted(_)) {
        // The signal supervisor ends the process by that signal as soon as
        // every run has cleaned up; nothing after a Ctrl-C may start anew.
        std::future::pending::<()>().await;
    }
    Ok(report)
}

/// Record why phases 2–5 ended early, if they did, and mark every
/// expectation that was never judged as failed with the reason.
fn record_ending(ending: &Ending, scenario: &Scenario, state: &mut RunState) {
    let phase = state
        .current_phase()
        .map_or_else(|| "between phases".to_owned(), |p| format!("during {p}"));
    let reason = match ending {
        Ending::Finished => return,
        Ending::Panicked(message) => format!("the runner panicked {phase}: {message}"),
        Ending::DeadlineExceeded => {
            let reason = format!(
                "the run hit its deadline of {} {phase}",
                human(scenario.deadline)
            );
            state
                .timeline()
                .record(EventKind::DeadlineExceeded, None, reason.clone());
            reason
        }
        Ending::Interrupted(signal) => {
            let reason = format!("the run was interrupted by {signal} {phase}");
            state
                .timeline()
                .record(EventKind::Interrupted, None, reason.clone());
            reason
        }
    };
    state.fail(reason.clone());
    state.cut_short();
    for (index, expectation) in scenario.expectations.iter().enumerate() {
        if state.expectations[index].is_none() {
            state.expectations[index] = Some(phases::failed(
                expectation.name().to_owned(),
                format!("not evaluated: {reason}"),
            ));
        }
    }
}

fn assemble(
    scenario: &Scenario,
    deployer: &str,
    run_id: String,
    started_at: SystemTime,
    artifacts_dir: PathBuf,
    state: RunState,
    cleanup: Vec<CleanupOutcome>,
) -> Report {
    let events = state.timeline().events();
    let expectations: Vec<_> = state
        .expectations
        .into_iter()
        .zip(&scenario.expectations)
        .map(|(record, expectation)| {
            record.unwrap_or_else(|| {
                phases::failed(
                    expectation.name().to_owned(),
                    "not evaluated: the run ended before the evaluate phase".to_owned(),
                )
            })
        })
        .collect();
    let passed = state.failures.is_empty() && expectations.iter().all(|e| e.passed);
    Report {
        schema_version: REPORT_SCHEMA_VERSION,
        passed,
        scenario: scenario.name.clone(),
        deployer: deployer.to_owned(),
        run_id,
        seed: scenario.seed,
        seed_source: scenario.seed_source,
        replay: replay_command(scenario.seed),
        started_at: humantime::format_rfc3339_millis(started_at).to_string(),
        artifacts_dir,
        failures: state.failures,
        phases: state.phases,
        window_ms: millis(scenario.window),
        cooldown_ms: millis(scenario.cooldown),
        deadline_ms: millis(scenario.deadline),
        nodes: node_records(scenario, &events),
        expectations,
        workloads: state.workloads,
        cleanup,
        faults: state.faults,
        events,
        heights: state.heights,
    }
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The topology's nodes, then every node the timeline says joined.
fn node_records(scenario: &Scenario, events: &[Event]) -> Vec<NodeRecord> {
    let declared = scenario
        .topology
        .slots()
        .into_iter()
        .map(|slot| NodeRecord {
            id: slot.id,
            role: slot.role,
            joined_at_ms: None,
        });
    let joined = events
        .iter()
        .filter_map(|event| match (&event.cause, &event.node) {
            (Some(NodeCause::Joined { role }), Some(id)) => Some(NodeRecord {
                id: id.clone(),
                role: role.clone(),
                joined_at_ms: Some(event.at_ms),
            }),
            _ => None,
        });
    declared.chain(joined).collect()
}

fn artifacts_root(scenario: &Scenario) -> PathBuf {
    root_for(scenario.artifacts_root.as_deref())
}

/// Where runs of scenarios that set no artifacts root of their own write:
/// `TESTBED_ARTIFACTS_DIR`, else the `target/testbed` of the Cargo
/// workspace around the current directory (`CARGO_TARGET_DIR` respected),
/// else `./target/testbed`.
pub fn default_artifacts_root() -> PathBuf {
    root_for(None)
}

fn root_for(from_scenario: Option<&std::path::Path>) -> PathBuf {
    let env_path = |name: &str| std::env::var_os(name).map(PathBuf::from);
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    artifacts::root(
        from_scenario,
        env_path(artifacts::ARTIFACTS_ENV),
        env_path("CARGO_TARGET_DIR"),
        &cwd,
    )
}

/// The current command line with the seed pinned by `TESTBED_SEED`.
fn replay_command(seed: u64) -> String {
    let args: Vec<String> = std::env::args().map(|arg| shell_quote(&arg)).collect();
    format!("{SEED_ENV}={seed} {}", args.join(" "))
}

fn shell_quote(arg: &str) -> String {
    let plain = arg
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+".contains(c));
    if plain && !arg.is_empty() {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}
