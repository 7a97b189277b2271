//! Reaping what killed runs left in the engine: every resource carries its
//! run id, the runner process (pid and start time) and the host; a run
//! whose runner, on this host, no longer exists is removed, and only such
//! runs. Runs of live runners and of other hosts are never touched.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use bollard::Docker;
use deploykit::ProcessRef;
use scenario_core::BoxError;

use crate::cleanup::{list, remove_run};
use crate::labels::{HOST_LABEL, RUN_LABEL, RUNNER_LABEL, any_run_filter, host_name};

/// A run whose leftovers were removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reaped {
    /// The run's id.
    pub run_id: String,
    /// The runner that owned it, as labelled (`pid:start-time`).
    pub runner: String,
}

/// Whether a run with these labels belongs to a runner of this host that is
/// gone. Resources without a runner or host label are never reaped.
fn orphaned(labels: &std::collections::HashMap<String, String>, this_host: &str) -> Option<String> {
    let runner = labels.get(RUNNER_LABEL)?;
    if labels.get(HOST_LABEL).map(String::as_str) != Some(this_host) {
        return None;
    }
    let process: ProcessRef = runner.parse().ok()?;
    (!process.is_alive()).then(|| runner.clone())
}

/// Remove the leftovers of every run whose runner on this host is gone.
pub async fn reap(docker: &Docker) -> Result<Vec<Reaped>, BoxError> {
    let this_host = host_name();
    let filter = any_run_filter();
    let mut runs: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut consider = |labels: Option<std::collections::HashMap<String, String>>| {
        let labels = labels.unwrap_or_default();
        let Some(run) = labels.get(RUN_LABEL).cloned() else {
            return;
        };
        let verdict = orphaned(&labels, &this_host);
        match runs.entry(run) {
            // One live or foreign resource keeps the whole run.
            Entry::Occupied(mut seen) => {
                if verdict.is_none() {
                    seen.insert(None);
                }
            }
            Entry::Vacant(new) => {
                new.insert(verdict);
            }
        }
    };
    let listed = list(docker, &filter).await?;
    listed
        .containers
        .into_iter()
        .for_each(|c| consider(c.labels));
    listed.networks.into_iter().for_each(|n| consider(n.labels));
    listed
        .volumes
        .into_iter()
        .for_each(|v| consider(Some(v.labels)));
    let mut reaped = Vec::new();
    for (run_id, runner) in runs {
        if let Some(runner) = runner {
            remove_run(docker, &run_id).await?;
            reaped.push(Reaped { run_id, runner });
        }
    }
    Ok(reaped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn labels(runner: &str, host: &str) -> HashMap<String, String> {
        HashMap::from([
            (RUN_LABEL.to_owned(), "r".to_owned()),
            (RUNNER_LABEL.to_owned(), runner.to_owned()),
            (HOST_LABEL.to_owned(), host.to_owned()),
        ])
    }

    #[test]
    fn only_dead_runners_of_this_host_are_orphans() {
        let me = ProcessRef::current().unwrap();
        let dead = ProcessRef {
            started: me.started + 1,
            ..me.clone()
        };
        assert_eq!(
            orphaned(&labels(&dead.to_string(), "here"), "here"),
            Some(dead.to_string())
        );
        assert_eq!(
            orphaned(&labels(&me.to_string(), "here"), "here"),
            None,
            "alive"
        );
        assert_eq!(
            orphaned(&labels(&dead.to_string(), "there"), "here"),
            None,
            "other host"
        );
        assert_eq!(orphaned(&HashMap::new(), "here"), None, "unlabelled");
    }
}
