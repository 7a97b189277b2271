//! The run marker and reaping. Each run keeps `local-run.json` in its
//! artifact directory: the runner's pid and every node's pid, each with the
//! process start time (so a reused pid is never mistaken for ours). A runner
//! killed by SIGKILL cannot clean up; `reap` (run by `cargo xtask reap` and
//! at the start of every local run) kills the node process groups of runs
//! whose runner is gone, and only those.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use deploykit::ProcessRef;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

/// The marker's file name inside a run's artifact directory.
pub const MARKER_FILE: &str = "local-run.json";

/// What a run leaves behind while it runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    /// The process running the scenario.
    pub runner: Option<ProcessRef>,
    /// The run's loopback address.
    pub ip: String,
    /// Every node process started, by node id.
    pub nodes: Vec<(String, ProcessRef)>,
}

/// The marker file of a running run, kept up to date as nodes start.
pub(crate) struct MarkerFile {
    path: PathBuf,
    marker: Mutex<Marker>,
}

impl MarkerFile {
    pub(crate) fn create(dir: &Path, ip: String) -> std::io::Result<Self> {
        let file = Self {
            path: dir.join(MARKER_FILE),
            marker: Mutex::new(Marker {
                runner: ProcessRef::of(i32::try_from(std::process::id()).unwrap_or(0)),
                ip,
                nodes: Vec::new(),
            }),
        };
        file.write()?;
        crate::registry::register(dir)?;
        Ok(file)
    }

    pub(crate) fn add_node(&self, id: &str, pid: i32) -> std::io::Result<()> {
        if let Some(process) = ProcessRef::of(pid) {
            self.marker
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .nodes
                .push((id.to_owned(), process));
        }
        self.write()
    }

    pub(crate) fn nodes(&self) -> Vec<(String, ProcessRef)> {
        self.marker
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .nodes
            .clone()
    }

    fn write(&self) -> std::io::Result<()> {
        let text = {
            let marker = self
                .marker
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            serde_json::to_vec_pretty(&*marker).map_err(std::io::Error::other)?
        };
        let partial = self.path.with_extension("json.partial");
        std::fs::write(&partial, text)?;
        std::fs::rename(&partial, &self.path)
    }

    pub(crate) fn remove(&self) {
        let _ = std::fs::remove_file(&self.path);
        if let Some(run_dir) = self.path.parent() {
            crate::registry::unregister(run_dir);
        }
    }
}

/// What reaping did to one dead run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reaped {
    /// The run's artifact directory.
    pub run_dir: PathBuf,
    /// The nodes whose process groups were killed.
    pub killed: Vec<String>,
}

/// Kill the leftovers of runs under `root` whose runner is gone, remove
/// their data directories and markers. Runs whose runner is alive are left
/// alone.
pub fn reap(root: &Path) -> std::io::Result<Vec<Reaped>> {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut reaped = Vec::new();
    for entry in entries.flatten() {
        reaped.extend(reap_run(&entry.path())?);
    }
    Ok(reaped)
}

/// Reap every dead run in this user's registry of local runs, wherever its
/// artifacts are; entries of runs that ended cleanly are dropped.
pub fn reap_registered() -> std::io::Result<Vec<Reaped>> {
    let mut reaped = Vec::new();
    for (run_dir, entry) in crate::registry::runs() {
        if !run_dir.join(MARKER_FILE).exists() {
            let _ = std::fs::remove_file(&entry);
            continue;
        }
        reaped.extend(reap_run(&run_dir)?);
    }
    Ok(reaped)
}

/// One run directory: reaped when its marker names a runner that is gone.
fn reap_run(run_dir: &Path) -> std::io::Result<Option<Reaped>> {
    let path = run_dir.join(MARKER_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let Ok(marker) = serde_json::from_str::<Marker>(&text) else {
        return Ok(None);
    };
    if marker.runner.as_ref().is_some_and(ProcessRef::is_alive) {
        return Ok(None);
    }
    let mut killed = Vec::new();
    for (id, node) in &marker.nodes {
        if node.is_alive() && killpg(Pid::from_raw(node.pid), Signal::SIGKILL).is_ok() {
            killed.push(id.clone());
        }
        let data =
            scenario_core::NodeFiles::of(run_dir, &scenario_core::NodeId::new(id.as_str())).data;
        let _ = std::fs::remove_dir_all(data);
    }
    std::fs::remove_file(&path)?;
    crate::registry::unregister(run_dir);
    Ok(Some(Reaped {
        run_dir: run_dir.to_path_buf(),
        killed,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_forged_start_time_is_not() {
        let me = ProcessRef::of(i32::try_from(std::process::id()).unwrap()).unwrap();
        assert!(me.is_alive());
        let forged = ProcessRef {
            started: me.started + 1,
            ..me
        };
        assert!(!forged.is_alive());
    }

    #[test]
    fn a_live_run_is_left_alone_and_a_dead_runs_marker_is_removed() {
        let root = tempfile::tempdir().unwrap();
        let live = root.path().join("live");
        std::fs::create_dir(&live).unwrap();
        MarkerFile::create(&live, "127.9.9.1".to_owned()).unwrap();
        let dead = root.path().join("dead");
        std::fs::create_dir(&dead).unwrap();
        let gone = Marker {
            runner: Some(ProcessRef {
                pid: i32::MAX - 1,
                started: 1,
            }),
            ip: "127.9.9.2".to_owned(),
            nodes: vec![(
                "validator-0".to_owned(),
                ProcessRef {
                    pid: i32::MAX - 2,
                    started: 1,
                },
            )],
        };
        std::fs::write(dead.join(MARKER_FILE), serde_json::to_vec(&gone).unwrap()).unwrap();

        let reaped = reap(root.path()).unwrap();
        assert_eq!(
            reaped,
            [Reaped {
                run_dir: dead.clone(),
                killed: vec![]
            }]
        );
        assert!(live.join(MARKER_FILE).exists());
        assert!(!dead.join(MARKER_FILE).exists());
    }
}
