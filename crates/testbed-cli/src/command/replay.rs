//! `testbed replay RUN`: run a recorded run again from the scenario file
//! kept in its artifacts, with its seed and on its backend, so the fault
//! schedule and the load's targets are the same.

use std::path::PathBuf;

use testbed_cli::history;

use crate::{Backend, exit};

pub(crate) fn run(run: &str, keep: bool) -> u8 {
    let (dir, report) = match super::recorded(run) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let on = match report.deployer.as_str() {
        "local" => Backend::Local,
        "compose" => Backend::Compose,
        "k8s" => Backend::K8s,
        other => {
            eprintln!(
                "testbed: run {} ran on '{other}', which this binary cannot replay",
                report.run_id
            );
            return exit::BAD_PLAN;
        }
    };
    let copy = dir.join(history::SCENARIO_COPY);
    let Ok(text) = std::fs::read_to_string(&copy) else {
        eprintln!(
            "testbed: run {} kept no scenario file ({} is missing): only runs started with `testbed run` can be replayed",
            report.run_id,
            copy.display()
        );
        return exit::BAD_PLAN;
    };
    // Relative program paths start where the original file was.
    let original_dir = std::fs::read_to_string(dir.join(history::SCENARIO_DIR))
        .map_or_else(|_| dir.clone(), PathBuf::from);
    println!(
        "replaying run {} of '{}' on {} with seed {}",
        report.run_id, report.scenario, report.deployer, report.seed
    );
    let source = super::Source {
        path: copy,
        text,
        dir: original_dir,
    };
    match super::plan_from(source, Some(report.seed)) {
        Ok(planned) => super::run::run_plan(planned, on, keep),
        Err(code) => code,
    }
}
