//! The labels every resource of a run carries (network, containers, volumes)
//! and the names derived from the run id, so a run's resources can be
//! found, audited and reaped by label, never by a broad name.

use std::collections::HashMap;

use deploykit::ProcessRef;

/// The run id; every resource of a run carries it.
pub const RUN_LABEL: &str = "dev.testbed.run";
/// The scenario's name.
pub const SCENARIO_LABEL: &str = "dev.testbed.scenario";
/// The node id (containers and volumes).
pub const NODE_LABEL: &str = "dev.testbed.node";
/// The node's role (containers and volumes).
pub const ROLE_LABEL: &str = "dev.testbed.role";
/// The runner process, as `pid:start-time` ([`ProcessRef`]).
pub const RUNNER_LABEL: &str = "dev.testbed.runner";
/// The host the runner ran on (reaping only considers this host's runs).
pub const HOST_LABEL: &str = "dev.testbed.host";

/// This machine's host name, as the runner labels resources with it.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_default()
}

/// The labels of a run's resources.
pub(crate) fn run_labels(run_id: &str, scenario: &str) -> HashMap<String, String> {
    let mut labels = HashMap::from([
        (RUN_LABEL.to_owned(), run_id.to_owned()),
        (SCENARIO_LABEL.to_owned(), scenario.to_owned()),
        (HOST_LABEL.to_owned(), host_name()),
    ]);
    if let Some(runner) = ProcessRef::current() {
        labels.insert(RUNNER_LABEL.to_owned(), runner.to_string());
    }
    labels
}

/// The engine filter that selects a run's resources.
pub fn run_filter(run_id: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_owned(), vec![format!("{RUN_LABEL}={run_id}")])])
}

/// The engine filter that selects every resource testbed created.
pub(crate) fn any_run_filter() -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_owned(), vec![RUN_LABEL.to_owned()])])
}

/// A resource name for the run: `tb-<run id>[-<suffix>]`, restricted to the
/// characters Docker accepts in names.
pub(crate) fn resource_name(run_id: &str, suffix: Option<&str>) -> String {
    let raw = match suffix {
        Some(suffix) => format!("tb-{run_id}-{suffix}"),
        None => format!("tb-{run_id}"),
    };
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_only_what_docker_accepts() {
        assert_eq!(
            resource_name("Smoke Run-20261127t1000-3fa2", Some("validator-0")),
            "tb-smoke-run-20261127t1000-3fa2-validator-0"
        );
        assert_eq!(resource_name("a/b", None), "tb-a-b");
    }

    #[test]
    fn a_run_is_selected_by_its_own_label_only() {
        let filter = run_filter("smoke-1");
        assert_eq!(filter["label"], ["dev.testbed.run=smoke-1"]);
        let labels = run_labels("smoke-1", "smoke");
        assert_eq!(labels[RUN_LABEL], "smoke-1");
        assert!(labels[RUNNER_LABEL].parse::<ProcessRef>().is_ok());
    }
}
