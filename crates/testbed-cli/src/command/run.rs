//! `testbed run FILE --on local|compose|k8s`: run a scenario file and print its
//! verdicts and where its reports are; the exit code says how it went. The
//! file is kept in the run's artifacts and the run in the per-user list, so
//! `show` and `replay` find it.

use std::path::Path;

use testbed::compose::ComposeDeployer;
use testbed::k8s::K8sDeployer;
use testbed::local::{Keep, LocalDeployer};
use testbed::report::Phase;
use testbed::{Event, EventKind, Report};
use testbed_cli::history;

use super::Planned;
use crate::{Backend, exit};

/// What `--keep` keeps: every node's data and log.
const KEEP_ALL: Keep = Keep {
    data: true,
    logs: true,
};

pub(crate) fn run(path: &Path, on: Backend, seed: Option<u64>, keep: bool) -> u8 {
    match super::plan(path, seed) {
        Ok(planned) => run_plan(planned, on, keep),
        Err(code) => code,
    }
}

/// Run a plan built from a scenario file and report on it.
pub(crate) fn run_plan(planned: Planned, on: Backend, keep: bool) -> u8 {
    match execute(planned, on, keep) {
        Ok(report) => {
            print_verdicts(&report);
            if report.passed {
                exit::PASSED
            } else {
                exit::FAILED
            }
        }
        Err(why) => {
            eprintln!("testbed: {why}");
            exit::ENVIRONMENT
        }
    }
}

/// Run a built plan on a backend; keep the scenario file in the run's
/// artifacts and the run in the per-user list. An error is the reason the
/// run could not go ahead. `keep`: keep every node's data and log.
pub(crate) fn execute(planned: Planned, on: Backend, keep: bool) -> Result<Report, String> {
    let Planned {
        scenario: plan,
        source,
        ..
    } = planned;
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|error| format!("cannot start the async runtime: {error}"))?;
    let report = runtime
        .block_on(async {
            match (on, keep) {
                (Backend::Local, false) => plan.run(&LocalDeployer::new()).await,
                (Backend::Local, true) => plan.run(&LocalDeployer::new().keep(KEEP_ALL)).await,
                (Backend::Compose, false) => plan.run(&ComposeDeployer::new()).await,
                (Backend::Compose, true) => plan.run(&ComposeDeployer::new().keep(KEEP_ALL)).await,
                (Backend::K8s, false) => plan.run(&K8sDeployer::new()).await,
                (Backend::K8s, true) => plan.run(&K8sDeployer::new().keep(KEEP_ALL)).await,
            }
        })
        .map_err(|error| format!("the run could not go ahead: {error}"))?;
    let kept = std::fs::write(
        report.artifacts_dir.join(history::SCENARIO_COPY),
        &source.text,
    )
    .and_then(|()| {
        std::fs::write(
            report.artifacts_dir.join(history::SCENARIO_DIR),
            source.dir.as_os_str().as_encoded_bytes(),
        )
    });
    if let Err(error) = kept {
        eprintln!(
            "testbed: could not keep the scenario file in the run's artifacts ({error}): it cannot be replayed"
        );
    }
    if let Err(error) = history::record(&report) {
        eprintln!("testbed: could not add the run to the list of runs: {error}");
    }
    Ok(report)
}

pub(crate) fn print_verdicts(report: &Report) {
    for verdict in &report.expectations {
        let mark = if verdict.passed { "pass" } else { "FAIL" };
        println!("{mark}  {}: {}", verdict.name, verdict.message);
    }
    println!(
        "{} on {} in run {} (seed {}): {}",
        report.scenario,
        report.deployer,
        report.run_id,
        report.seed,
        if report.passed { "passed" } else { "FAILED" }
    );
    println!("report.json: {}", report.path().display());
    println!(
        "report.html: {}",
        report
            .artifacts_dir
            .join(testbed::report::HTML_FILE)
            .display()
    );
    for note in cleanup_notes(&report.events) {
        println!("note: {note}");
    }
}

/// What the deployer noted while it cleaned up (e.g. a Kubernetes
/// namespace kept with `--keep`, its pods still running, and how to delete
/// it): the notes after the cleanup phase began.
fn cleanup_notes(events: &[Event]) -> impl Iterator<Item = &str> {
    let cleanup = events
        .iter()
        .rposition(|e| e.kind == EventKind::PhaseStarted && e.detail == Phase::Cleanup.to_string())
        .unwrap_or(events.len());
    events[cleanup..]
        .iter()
        .filter(|e| e.kind == EventKind::Note)
        .map(|e| e.detail.as_str())
}

#[cfg(test)]
mod tests {
    use testbed::Timeline;

    use super::*;

    #[test]
    fn only_the_notes_made_during_cleanup_are_printed() {
        let timeline = Timeline::new();
        timeline.record(EventKind::Note, None, "fault #1: matched 3 packets");
        timeline.record(EventKind::PhaseStarted, None, "cleanup");
        timeline.record(
            EventKind::Note,
            None,
            "kept namespace tb-run: delete it with …",
        );
        timeline.record(EventKind::PhaseFinished, None, "cleanup completed");
        let events = timeline.events();
        let notes: Vec<&str> = cleanup_notes(&events).collect();
        assert_eq!(notes, ["kept namespace tb-run: delete it with …"]);
        assert_eq!(cleanup_notes(&events[..1]).count(), 0);
    }
}
