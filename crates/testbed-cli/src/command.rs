//! The subcommands, one file each.

pub(crate) mod check;
pub(crate) mod doctor;
pub(crate) mod parity;
pub(crate) mod reap;
pub(crate) mod replay;
pub(crate) mod run;
pub(crate) mod runs;
pub(crate) mod schema;
pub(crate) mod show;

use std::path::{Path, PathBuf};

use testbed::workloads::Chaos;
use testbed::{Report, Scenario};
use testbed_cli::{file, history};

use crate::exit;

/// The file read and its plan built, or the exit code after printing why not.
pub(crate) fn plan(path: &Path, seed: Option<u64>) -> Result<(Scenario, Option<Chaos>), u8> {
    let scenario = file::load(path).map_err(|error| {
        eprintln!("testbed: {error}");
        exit::BAD_PLAN
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let (mut builder, chaos) = file::build::builder(&scenario, dir).map_err(|error| {
        eprintln!("testbed: {}: {error}", path.display());
        exit::BAD_PLAN
    })?;
    if let Some(seed) = seed {
        builder = builder.seed(seed);
    }
    let plan = builder.build().map_err(|error| {
        eprintln!(
            "testbed: {}: the plan is not valid: {error}",
            path.display()
        );
        exit::BAD_PLAN
    })?;
    Ok((plan, chaos))
}

/// A recorded run's artifact directory and report (`run`: a run id from the
/// list of runs, or a directory), or the exit code after printing why not.
pub(crate) fn recorded(run: &str) -> Result<(PathBuf, Report), u8> {
    let dir = history::find(run).map_err(|why| {
        eprintln!("testbed: {why}");
        exit::BAD_PLAN
    })?;
    let report = Report::read(&dir.join(testbed::report::REPORT_FILE)).map_err(|error| {
        eprintln!("testbed: cannot read {}'s report: {error}", dir.display());
        exit::BAD_PLAN
    })?;
    Ok((dir, report))
}
