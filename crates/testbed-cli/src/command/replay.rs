//! `testbed replay RUN`: run a recorded run again from the scenario file
//! kept in its artifacts, with its seed and on its backend, so the fault
//! schedule and the load's targets are the same.

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
        other => {
            eprintln!(
                "testbed: run {} ran on '{other}', which this binary cannot replay",
                report.run_id
            );
            return exit::BAD_PLAN;
        }
    };
    let source = dir.join(history::SCENARIO_COPY);
    if !source.is_file() {
        eprintln!(
            "testbed: run {} kept no scenario file ({} is missing): only runs started with `testbed run` can be replayed",
            report.run_id,
            source.display()
        );
        return exit::BAD_PLAN;
    }
    println!(
        "replaying run {} of '{}' on {} with seed {}",
        report.run_id, report.scenario, report.deployer, report.seed
    );
    let (plan, _) = match super::plan(&source, Some(report.seed)) {
        Ok(built) => built,
        Err(code) => return code,
    };
    super::run::run_plan(plan, on, &source, keep)
}
