//! Golden tests of the rendered objects: what the cluster is asked to
//! create for a node, pinned so a change to it is a reviewed change.

use std::collections::BTreeSet;
use std::sync::Arc;

use scenario_core::{LaunchSpec, NodeId, NodeSlot, PortSpec, Readiness, Role};

use super::*;

fn plan(files: bool) -> NodePlan {
    let mut spec = LaunchSpec::image_only("testbed/demo-node:dev")
        .arg("--node-id=validator-0")
        .arg("--peer=validator-1=validator@validator-1:9000")
        .env("RUST_LOG", "info")
        .readiness(Readiness::http("api", "/testing/v1/ready"));
    if files {
        spec = spec.file("config/node.toml", b"block_time_ms = 500\n".to_vec());
    }
    NodePlan {
        slot: NodeSlot {
            id: NodeId::new("validator-0"),
            role: Role::Validator,
            index: 0,
            overrides: Default::default(),
        },
        name: "validator-0".to_owned(),
        spec,
        image: "testbed/demo-node:dev".to_owned(),
    }
}

fn ports() -> Vec<PortSpec> {
    vec![PortSpec::api("api", 8080), PortSpec::peer("p2p", 9000)]
}

fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "app.kubernetes.io/managed-by".to_owned(),
            "testbed".to_owned(),
        ),
        ("testbed.dev/run".to_owned(), "smoke-1".to_owned()),
    ])
}

fn settings(storage: Storage) -> PodSettings {
    PodSettings {
        grace: Duration::from_secs(5),
        pull_policy: "IfNotPresent".to_owned(),
        storage,
        agent: None,
    }
}

fn json<T: serde::Serialize>(object: &T) -> String {
    serde_json::to_string_pretty(object).unwrap()
}

#[test]
fn a_node_on_an_empty_dir() {
    let plan = plan(false);
    let labels = node_labels(&plan, &labels());
    let selector = node_selector(&plan, &labels);
    insta::assert_snapshot!(json(&stateful_set(
        &plan,
        &ports(),
        &labels,
        &selector,
        &settings(Storage::EmptyDir)
    )));
    insta::assert_snapshot!(json(&service(&plan, &ports(), &labels, &selector)));
    assert!(config_map(&plan, &labels).is_none());
}

#[test]
fn a_node_with_files_on_a_volume_claim() {
    let plan = plan(true);
    let labels = node_labels(&plan, &labels());
    let selector = node_selector(&plan, &labels);
    let claim = Storage::Claim {
        class: None,
        size: "1Gi".to_owned(),
    };
    insta::assert_snapshot!(json(&stateful_set(
        &plan,
        &ports(),
        &labels,
        &selector,
        &settings(claim)
    )));
    insta::assert_snapshot!(json(&config_map(&plan, &labels).unwrap()));
}

#[test]
fn a_node_with_the_fault_agent_beside_it() {
    let plan = plan(false);
    let labels = node_labels(&plan, &labels());
    let selector = node_selector(&plan, &labels);
    let mut settings = settings(Storage::EmptyDir);
    settings.agent = Some(AgentSettings {
        image: "testbed/k8s-agent:dev".to_owned(),
        pull_policy: "IfNotPresent".to_owned(),
        hold: Duration::from_secs(15),
        probe_only: false,
    });
    let set = stateful_set(&plan, &ports(), &labels, &selector, &settings);
    let pod = set.spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.share_process_namespace, Some(true));
    let names: Vec<&str> = pod.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [AGENT_CONTAINER, CONTAINER],
        "the agent starts first"
    );
    insta::assert_snapshot!(json(&pod.containers[0]));
}

#[test]
fn where_network_policy_makes_the_faults_the_agent_only_measures_them() {
    let plan = plan(false);
    let pod_labels = node_labels(&plan, &labels());
    let selector = node_selector(&plan, &pod_labels);
    let mut settings = settings(Storage::EmptyDir);
    settings.agent = Some(AgentSettings {
        image: "testbed/k8s-agent:dev".to_owned(),
        pull_policy: "IfNotPresent".to_owned(),
        hold: Duration::from_secs(15),
        probe_only: true,
    });
    let set = stateful_set(&plan, &ports(), &pod_labels, &selector, &settings);
    let pod = set.spec.unwrap().template.spec.unwrap();
    assert_eq!(pod.share_process_namespace, None);
    let agent = &pod.containers[0];
    assert_eq!(agent.security_context, None, "no privileges");
    assert_eq!(
        agent.args.as_deref(),
        Some(&["--probe-only".to_owned()][..])
    );
    let refused = BTreeSet::from(["validator-2".to_owned(), "validator-3".to_owned()]);
    insta::assert_snapshot!(json(&refuse_ingress(
        "testbed-cut-validator-0",
        &labels(),
        "validator-0",
        &refused
    )));
}

#[test]
fn probes_follow_the_readiness_and_names_fit_kubernetes() {
    let tcp = readiness_probe(&Readiness::tcp("p2p"), &ports()).unwrap();
    assert_eq!(tcp.tcp_socket.unwrap().port, IntOrString::Int(9000));
    assert!(readiness_probe(&Readiness::log_line("ready"), &ports()).is_none());
    assert_eq!(port_name("Metrics_Prometheus!"), "metrics-prometh");
    let _ = Arc::new(());
}
