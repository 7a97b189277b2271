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

/// A scenario file as it was read: its text and the directory relative
/// program paths in it start from.
pub(crate) struct Source {
    /// The file, for messages.
    pub(crate) path: PathBuf,
    /// Its text when it was read (what runs, even if the file changes).
    pub(crate) text: String,
    /// Its directory, absolute.
    pub(crate) dir: PathBuf,
}

impl Source {
    /// Read a scenario file, or the exit code after printing why not.
    pub(crate) fn read(path: &Path) -> Result<Self, u8> {
        let text = std::fs::read_to_string(path).map_err(|error| {
            eprintln!("testbed: {}: cannot read it: {error}", path.display());
            exit::BAD_PLAN
        })?;
        let dir = std::path::absolute(path.parent().unwrap_or(Path::new(".")))
            .unwrap_or_else(|_| PathBuf::from("."));
        Ok(Self {
            path: path.to_owned(),
            text,
            dir,
        })
    }
}

/// A plan built from a scenario file.
pub(crate) struct Planned {
    pub(crate) scenario: Scenario,
    /// Its fault schedule, to show.
    pub(crate) chaos: Option<Chaos>,
    pub(crate) source: Source,
}

/// The file read and its plan built, or the exit code after printing why not.
pub(crate) fn plan(path: &Path, seed: Option<u64>) -> Result<Planned, u8> {
    plan_from(Source::read(path)?, seed)
}

/// The plan of a scenario file already read.
pub(crate) fn plan_from(source: Source, seed: Option<u64>) -> Result<Planned, u8> {
    let path = &source.path;
    let scenario = file::parse(path, &source.text).map_err(|error| {
        eprintln!("testbed: {error}");
        exit::BAD_PLAN
    })?;
    let (mut builder, chaos) = file::build::builder(&scenario, &source.dir).map_err(|error| {
        eprintln!("testbed: {}: {error}", path.display());
        exit::BAD_PLAN
    })?;
    if let Some(seed) = seed {
        builder = builder.seed(seed);
    }
    let scenario = builder.build().map_err(|error| {
        eprintln!(
            "testbed: {}: the plan is not valid: {error}",
            path.display()
        );
        exit::BAD_PLAN
    })?;
    Ok(Planned {
        scenario,
        chaos,
        source,
    })
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
