//! When a pod being deleted may go at once: its containers have ended
//! (terminated, or waiting because this kubelet already removed them), read
//! from pod objects as the server returns them.

use super::*;

fn pod(deleting: bool, states: &[&str]) -> Pod {
    let statuses: Vec<serde_json::Value> = states
        .iter()
        .enumerate()
        .map(|(i, state)| {
            serde_json::json!({
                "name": format!("c{i}"), "image": "i", "imageID": "", "ready": false,
                "restartCount": 0, "state": { *state: {} }
            })
        })
        .collect();
    let mut pod = serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": { "name": "validator-0-0" },
        "status": { "phase": "Running", "containerStatuses": statuses }
    });
    if deleting {
        pod["metadata"]["deletionTimestamp"] = "2026-12-05T00:16:48Z".into();
    }
    serde_json::from_value(pod).unwrap()
}

#[test]
fn a_pod_being_deleted_may_go_once_no_container_runs() {
    assert!(ended_while_deleting(&pod(
        true,
        &["terminated", "terminated"]
    )));
    assert!(ended_while_deleting(&pod(true, &["waiting", "waiting"])));
    assert!(ended_while_deleting(&pod(true, &["terminated", "waiting"])));
}

#[test]
fn a_pod_with_a_running_container_or_not_being_deleted_stays() {
    assert!(!ended_while_deleting(&pod(
        true,
        &["running", "terminated"]
    )));
    assert!(!ended_while_deleting(&pod(
        false,
        &["terminated", "terminated"]
    )));
    assert!(
        !ended_while_deleting(&pod(true, &[])),
        "no status yet says nothing"
    );
}
