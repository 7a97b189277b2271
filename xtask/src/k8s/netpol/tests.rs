//! The enforcer's rules for pods and policies given by hand: who is
//! isolated, what each rule lets through, and that nothing else passes.

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelectorRequirement, ObjectMeta};

use super::*;

fn pod(namespace: &str, name: &str, last: u8) -> PodView {
    PodView {
        namespace: namespace.to_owned(),
        labels: BTreeMap::from([("node".to_owned(), name.to_owned())]),
        ip: Ipv4Addr::new(172, 17, 0, last),
        ports: BTreeMap::from([("api".to_owned(), ("TCP".to_owned(), 8080))]),
    }
}

fn labels(node: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(BTreeMap::from([("node".to_owned(), node.to_owned())])),
        ..LabelSelector::default()
    }
}

fn policy(namespace: &str, spec: NetworkPolicySpec) -> NetworkPolicy {
    NetworkPolicy {
        metadata: ObjectMeta {
            name: Some("p".to_owned()),
            namespace: Some(namespace.to_owned()),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
    }
}

fn lines(script: &str) -> Vec<&str> {
    script.lines().map(str::trim).collect()
}

#[test]
fn a_pod_no_policy_selects_is_left_alone() {
    let script = ruleset(&[pod("run", "a", 2)], &[], &HashMap::new());
    assert!(!script.contains("jump"), "{script}");
    assert!(
        script.starts_with("table bridge testbed_netpol\ndelete table bridge testbed_netpol\n")
    );
}

#[test]
fn a_cut_admits_every_pod_of_the_namespace_but_the_refused_ones() {
    let pods = [
        pod("run", "a", 2),
        pod("run", "b", 3),
        pod("run", "c", 4),
        pod("other", "d", 5),
    ];
    let refuse_c = policy(
        "run",
        NetworkPolicySpec {
            pod_selector: Some(labels("a")),
            policy_types: Some(vec!["Ingress".to_owned()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(vec![NetworkPolicyPeer {
                    pod_selector: Some(LabelSelector {
                        match_expressions: Some(vec![LabelSelectorRequirement {
                            key: "node".to_owned(),
                            operator: "NotIn".to_owned(),
                            values: Some(vec!["c".to_owned()]),
                        }]),
                        ..LabelSelector::default()
                    }),
                    ..NetworkPolicyPeer::default()
                }]),
                ..NetworkPolicyIngressRule::default()
            }]),
            ..NetworkPolicySpec::default()
        },
    );
    let script = ruleset(&pods, &[refuse_c], &HashMap::new());
    let lines = lines(&script);
    assert!(lines.contains(&"ip daddr 172.17.0.2 jump in_0"), "{script}");
    let chain = lines.iter().position(|l| *l == "chain in_0 {").unwrap();
    assert_eq!(
        &lines[chain + 1..chain + 3],
        ["ip saddr { 172.17.0.2, 172.17.0.3 } return", "counter drop"],
        "{script}"
    );
    assert_eq!(
        script.matches("jump").count(),
        1,
        "only a is isolated: {script}"
    );
}

#[test]
fn ports_named_ports_namespaces_and_ip_blocks_narrow_what_passes() {
    let pods = [pod("run", "a", 2), pod("ops", "b", 3)];
    let namespaces = HashMap::from([(
        "ops".to_owned(),
        BTreeMap::from([("team".to_owned(), "ops".to_owned())]),
    )]);
    let spec = NetworkPolicySpec {
        pod_selector: Some(labels("a")),
        policy_types: Some(vec!["Ingress".to_owned(), "Egress".to_owned()]),
        ingress: Some(vec![NetworkPolicyIngressRule {
            from: Some(vec![NetworkPolicyPeer {
                namespace_selector: Some(LabelSelector {
                    match_labels: Some(BTreeMap::from([("team".to_owned(), "ops".to_owned())])),
                    ..LabelSelector::default()
                }),
                ..NetworkPolicyPeer::default()
            }]),
            ports: Some(vec![NetworkPolicyPort {
                port: Some(IntOrString::String("api".to_owned())),
                ..NetworkPolicyPort::default()
            }]),
        }]),
        egress: Some(vec![NetworkPolicyEgressRule {
            to: Some(vec![NetworkPolicyPeer {
                ip_block: Some(IPBlock {
                    cidr: "10.0.0.0/8".to_owned(),
                    except: Some(vec!["10.1.0.0/16".to_owned()]),
                }),
                ..NetworkPolicyPeer::default()
            }]),
            ports: Some(vec![NetworkPolicyPort {
                port: Some(IntOrString::Int(53)),
                end_port: Some(60),
                protocol: Some("UDP".to_owned()),
            }]),
        }]),
    };
    let script = ruleset(&pods, &[policy("run", spec)], &namespaces);
    let lines = lines(&script);
    for expected in [
        "ip saddr { 172.17.0.3 } meta l4proto tcp th dport 8080 return",
        "ip daddr 10.0.0.0/8 ip daddr != { 10.1.0.0/16 } meta l4proto udp th dport 53-60 return",
        "ip saddr 172.17.0.2 jump out_0",
    ] {
        assert!(
            lines.contains(&expected),
            "{expected} missing from:\n{script}"
        );
    }
    assert_eq!(script.matches("counter drop").count(), 2, "{script}");
}

#[test]
fn a_rule_whose_peers_select_no_pod_lets_nothing_through() {
    let spec = NetworkPolicySpec {
        pod_selector: Some(labels("a")),
        ingress: Some(vec![NetworkPolicyIngressRule {
            from: Some(vec![NetworkPolicyPeer {
                pod_selector: Some(labels("nobody")),
                ..NetworkPolicyPeer::default()
            }]),
            ..NetworkPolicyIngressRule::default()
        }]),
        ..NetworkPolicySpec::default()
    };
    let script = ruleset(
        &[pod("run", "a", 2)],
        &[policy("run", spec)],
        &HashMap::new(),
    );
    let lines = lines(&script);
    let chain = lines.iter().position(|l| *l == "chain in_0 {").unwrap();
    assert_eq!(lines[chain + 1], "counter drop", "{script}");
}
