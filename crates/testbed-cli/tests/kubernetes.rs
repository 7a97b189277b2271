//! The `testbed` binary on Kubernetes (the cluster `KUBECONFIG` names; CI
//! starts its own): `doctor --on k8s` finds the cluster and probes what it
//! allows, and the command-node and demo example files (the demo's
//! partition through the fault agent) pass on it. Skipped with a
//! printed reason where no cluster answers, unless `TESTBED_REQUIRE_K8S=1`.

#![allow(clippy::print_stderr)] // Tests say why they skip.

mod support;

use support::{one_run_at_a_time, place, report_of, scenarios, testbed, text};

/// Whether a cluster answers (the demo-node image put into the local
/// Docker engine, where the local cluster's kubelet finds it); `false`
/// after printing why the test skips, a panic where CI requires it.
fn cluster_ready(test: &str) -> bool {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        if let Err(e) = testbed::k8s::connect().await {
            assert!(
                std::env::var("TESTBED_REQUIRE_K8S").as_deref() != Ok("1"),
                "TESTBED_REQUIRE_K8S=1 but {e}"
            );
            eprintln!("skipped {test}: {e}");
            return false;
        }
        if let Ok(docker) = testbed::compose::connect(None).await {
            support::build_demo_image(&docker).await;
            support::build_agent_image(&docker).await;
        }
        true
    })
}

#[test]
fn the_command_node_and_demo_files_pass_on_kubernetes() {
    let _one = one_run_at_a_time();
    if !cluster_ready("the example files on Kubernetes") {
        return;
    }
    let (_root, artifacts) = place();
    let doctor = testbed(&["doctor", "--on", "k8s"], &artifacts);
    let said = text(&doctor.stdout);
    assert!(said.contains("ok       Kubernetes cluster v1."), "{said}");
    assert!(
        said.contains("runs with NET_ADMIN: network faults and pauses available"),
        "{said}"
    );
    assert!(said.contains("NetworkPolicy "), "{said}");

    let file = scenarios().join("command-node.toml");
    let out = testbed(&["run", file.to_str().unwrap(), "--on", "k8s"], &artifacts);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains(" on k8s in run "), "{stdout}");
    assert_eq!(report_of(&stdout)["passed"], true);

    let file = scenarios().join("demo.toml");
    let out = testbed(&["run", file.to_str().unwrap(), "--on", "k8s"], &artifacts);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let report = report_of(&stdout);
    assert_eq!(report["passed"], true);
    let partition = &report["faults"][0];
    assert_eq!(partition["fault"]["kind"], "partition", "{partition}");
    assert!(
        partition["effect"]["dropped_packets"].as_u64() > Some(0),
        "the partition dropped packets: {partition}"
    );
}
