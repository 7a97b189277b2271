//! The labels every object of a run carries and the names derived from the
//! run id and node ids, kept within what Kubernetes accepts (DNS labels of
//! at most 63 characters), so a run's objects are found, audited and
//! reaped by label, never by a broad name.

use std::collections::BTreeMap;

use scenario_core::NodeId;
use sha2::{Digest, Sha256};

/// Every object testbed creates carries this label with value `testbed`.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY: &str = "testbed";
/// The run id (as a label value); every object of a run carries it.
pub const RUN_LABEL: &str = "testbed.dev/run";
/// The scenario's name.
pub const SCENARIO_LABEL: &str = "testbed.dev/scenario";
/// The node (its object name), on every per-node object and pod.
pub const NODE_LABEL: &str = "testbed.dev/node";
/// The node's role.
pub const ROLE_LABEL: &str = "testbed.dev/role";
/// The runner's host name.
pub const HOST_LABEL: &str = "testbed.dev/runner-host";
/// The runner's pid.
pub const PID_LABEL: &str = "testbed.dev/runner-pid";
/// The node id as written in the scenario (an annotation: ids need not be
/// label values).
pub const NODE_ID_ANNOTATION: &str = "testbed.dev/node-id";

/// Longest object name that leaves room for a StatefulSet's pod suffix and
/// its controller-revision label (`<name>-<10 chars>` within 63).
const MAX_NODE_NAME: usize = 52;

/// `text` in lowercase letters, digits and `-` (anything else becomes `-`).
pub(crate) fn lowercase_dashed(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// `text` as a DNS label: lowercase letters, digits and `-`, starting with
/// a letter, at most `max` characters. When that changed anything, a short
/// hash of the original keeps distinct texts distinct.
fn dns_label(text: &str, prefix: &str, max: usize) -> String {
    let mut cleaned = lowercase_dashed(text);
    if !cleaned.starts_with(|c: char| c.is_ascii_lowercase()) {
        cleaned.insert_str(0, prefix);
    }
    let exact = cleaned == text && cleaned.len() <= max && !cleaned.ends_with('-');
    if exact {
        return cleaned;
    }
    let hash = short_hash(text);
    cleaned.truncate(max - hash.len() - 1);
    let trimmed = cleaned.trim_end_matches('-');
    format!("{trimmed}-{hash}")
}

fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..4])
}

/// A label value for `text` (at most 63 characters of letters, digits,
/// `-`, `_` and `.`, starting and ending with a letter or digit).
pub fn label_value(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if trimmed == text && text.len() <= 63 {
        return trimmed.to_owned();
    }
    let hash = short_hash(text);
    let mut head = trimmed.to_owned();
    head.truncate(63 - hash.len() - 1);
    let head = head.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
    if head.is_empty() {
        hash
    } else {
        format!("{head}-{hash}")
    }
}

/// The run's namespace: `tb-<run id>`, made a DNS label.
pub fn namespace(run_id: &str) -> String {
    dns_label(&format!("tb-{run_id}"), "tb-", 63)
}

/// The name of a node's StatefulSet, Service and ConfigMap, which is also
/// the host name its peers reach it by.
pub fn node_object(node: &NodeId) -> String {
    dns_label(node.as_str(), "n-", MAX_NODE_NAME)
}

/// The one pod of a node's StatefulSet.
pub fn node_pod(node: &NodeId) -> String {
    format!("{}-0", node_object(node))
}

/// This machine's host name, as the runner labels objects with it.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_default()
}

/// The labels of every object of a run.
pub fn run_labels(run_id: &str, scenario: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY_LABEL.to_owned(), MANAGED_BY.to_owned()),
        (RUN_LABEL.to_owned(), label_value(run_id)),
        (SCENARIO_LABEL.to_owned(), label_value(scenario)),
        (HOST_LABEL.to_owned(), label_value(&host_name())),
        (PID_LABEL.to_owned(), std::process::id().to_string()),
    ])
}

/// The label selector of a run's objects.
pub fn run_selector(run_id: &str) -> String {
    format!("{RUN_LABEL}={}", label_value(run_id))
}

/// The label selector of every object testbed created.
pub fn any_run_selector() -> String {
    format!("{MANAGED_BY_LABEL}={MANAGED_BY},{RUN_LABEL}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_ids_are_kept_and_others_made_dns_labels_that_stay_distinct() {
        assert_eq!(node_object(&NodeId::new("validator-0")), "validator-0");
        assert_eq!(node_pod(&NodeId::new("validator-0")), "validator-0-0");
        let upper = node_object(&NodeId::new("Validator_0"));
        let other = node_object(&NodeId::new("validator.0"));
        assert!(upper.starts_with("validator-0-"), "{upper}");
        assert_ne!(upper, other);
        let numeric = node_object(&NodeId::new("0"));
        assert!(numeric.starts_with("n-0-"), "{numeric}");
        let long = node_object(&NodeId::new("x".repeat(80)));
        assert!(long.len() <= MAX_NODE_NAME, "{long}");
    }

    #[test]
    fn namespaces_and_label_values_stay_within_63_characters() {
        let run = "a-scenario-with-a-rather-long-name-20261203t162800-3fa2-and-more";
        let ns = namespace(run);
        assert!(ns.len() <= 63 && ns.starts_with("tb-"), "{ns}");
        assert_eq!(
            namespace("smoke-20261203t1628-3fa2"),
            "tb-smoke-20261203t1628-3fa2"
        );
        let value = label_value(run);
        assert!(value.len() <= 63, "{value}");
        assert_eq!(label_value("smoke"), "smoke");
        assert_eq!(label_value("my scenario!").len(), "my-scenario".len() + 9);
        assert_ne!(label_value(run), label_value(&format!("{run}x")));
    }

    #[test]
    fn a_run_is_selected_by_its_own_label() {
        let labels = run_labels("smoke-1", "smoke");
        assert_eq!(labels[RUN_LABEL], "smoke-1");
        assert_eq!(run_selector("smoke-1"), "testbed.dev/run=smoke-1");
        assert_eq!(labels[MANAGED_BY_LABEL], "testbed");
    }
}
