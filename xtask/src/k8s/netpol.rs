//! The local cluster's NetworkPolicy enforcer (`cargo xtask k8s policies
//! on`), which a cluster without a network plugin lacks: it follows pods,
//! namespaces and NetworkPolicies with watches and keeps one nftables table
//! (`bridge testbed_netpol`) on the Docker bridge that drops what the
//! policies do not allow between pods.
//!
//! What it enforces, and how it differs from real plugins:
//! * ingress and egress rules with pod, namespace and ipBlock peers (with
//!   `except`), numeric ports and port ranges, and named ports on ingress;
//! * per packet, as OVN-Kubernetes does: a connection opened before a
//!   policy is cut too (Calico, Cilium and Antrea let such connections
//!   live on), and replies are not let through by connection state;
//! * traffic from and to the node itself (kubelet probes, port-forward,
//!   the cluster DNS) never crosses the bridge and is always allowed, as
//!   plugins allow it.
//!
//! It exists so the Kubernetes deployer's NetworkPolicy faults can be
//! tested here; the deployer does not depend on its quirks.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::sync::Arc;

use anyhow::Context;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::Api;
use kube::core::{Selector, SelectorExt};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::Notify;

/// The nftables table it owns (family `bridge`).
pub(crate) const TABLE: &str = "testbed_netpol";

/// What the enforcer prints once its first rules are in place.
pub(crate) const READY_LINE: &str = "network-policy: enforcing";

/// A pod as the rules need it.
#[derive(Clone, Debug)]
pub(crate) struct PodView {
    pub(crate) namespace: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) ip: Ipv4Addr,
    /// Named container ports: name → (protocol, number).
    pub(crate) ports: BTreeMap<String, (String, i32)>,
}

fn view(pod: &Pod) -> Option<PodView> {
    let spec = pod.spec.as_ref()?;
    let status = pod.status.as_ref()?;
    let ended = matches!(status.phase.as_deref(), Some("Succeeded" | "Failed"));
    if spec.host_network == Some(true) || ended {
        return None;
    }
    let ip = status.pod_ip.as_ref()?.parse().ok()?;
    let ports = spec
        .containers
        .iter()
        .flat_map(|container| container.ports.iter().flatten())
        .filter_map(|port| {
            let protocol = port.protocol.clone().unwrap_or_else(|| "TCP".to_owned());
            Some((port.name.clone()?, (protocol, port.container_port)))
        })
        .collect();
    Some(PodView {
        namespace: pod.metadata.namespace.clone()?,
        labels: pod.metadata.labels.clone().unwrap_or_default(),
        ip,
        ports,
    })
}

fn matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    // A selector that does not parse selects nothing (the apiserver
    // validates them, so this does not happen in practice).
    Selector::try_from(selector.clone()).is_ok_and(|selector| selector.matches(labels))
}

/// Whether `policy` has rules of `kind` ("Ingress" or "Egress").
fn has_type(policy: &NetworkPolicy, kind: &str) -> bool {
    let Some(spec) = &policy.spec else {
        return false;
    };
    match &spec.policy_types {
        Some(types) => types.iter().any(|t| t == kind),
        None => kind == "Ingress" || spec.egress.is_some(),
    }
}

fn selects(policy: &NetworkPolicy, pod: &PodView) -> bool {
    policy.metadata.namespace.as_deref() == Some(pod.namespace.as_str())
        && policy.spec.as_ref().is_some_and(|spec| {
            matches(&spec.pod_selector.clone().unwrap_or_default(), &pod.labels)
        })
}

/// The address matches (`ip saddr …` where `there` is `saddr`) one peer
/// stands for; empty when it selects no pod.
fn peer_matches(
    peer: &NetworkPolicyPeer,
    there: &str,
    policy_namespace: &str,
    pods: &[PodView],
    namespaces: &HashMap<String, BTreeMap<String, String>>,
) -> Vec<String> {
    if let Some(block) = &peer.ip_block {
        let except = block.except.clone().unwrap_or_default();
        let mut matched = format!("ip {there} {}", block.cidr);
        if !except.is_empty() {
            let _ = write!(matched, " ip {there} != {{ {} }}", except.join(", "));
        }
        return vec![matched];
    }
    let ips: Vec<String> = pods
        .iter()
        .filter(|pod| match &peer.namespace_selector {
            Some(selector) => namespaces
                .get(&pod.namespace)
                .is_some_and(|labels| matches(selector, labels)),
            None => pod.namespace == policy_namespace,
        })
        .filter(|pod| {
            peer.pod_selector
                .as_ref()
                .is_none_or(|selector| matches(selector, &pod.labels))
        })
        .map(|pod| pod.ip.to_string())
        .collect();
    if ips.is_empty() {
        Vec::new()
    } else {
        vec![format!("ip {there} {{ {} }}", ips.join(", "))]
    }
}

/// The port matches of a rule (`None` entry: every port); named ports are
/// looked up on `named_on` (the destination pod) and skipped where absent.
fn port_matches(
    ports: Option<&Vec<NetworkPolicyPort>>,
    named_on: Option<&PodView>,
) -> Vec<Option<String>> {
    let Some(ports) = ports.filter(|ports| !ports.is_empty()) else {
        return vec![None];
    };
    ports
        .iter()
        .filter_map(|port| {
            let protocol = port.protocol.clone().unwrap_or_else(|| "TCP".to_owned());
            let number = match &port.port {
                None => return Some(format!("meta l4proto {}", protocol.to_lowercase())),
                Some(IntOrString::Int(number)) => *number,
                Some(IntOrString::String(name)) => {
                    let (named_protocol, number) = named_on?.ports.get(name)?;
                    if *named_protocol != protocol {
                        return None;
                    }
                    *number
                }
            };
            let range = match port.end_port {
                Some(end) => format!("{number}-{end}"),
                None => number.to_string(),
            };
            Some(format!(
                "meta l4proto {} th dport {range}",
                protocol.to_lowercase()
            ))
        })
        .map(Some)
        .collect()
}

/// One rule of a policy: its peers (`None` or empty: everyone) and ports.
type Rule = (
    Option<Vec<NetworkPolicyPeer>>,
    Option<Vec<NetworkPolicyPort>>,
);

/// A policy's rules of `kind` ("Ingress" or "Egress").
fn rules_of(policy: &NetworkPolicy, kind: &str) -> Vec<Rule> {
    let spec = policy.spec.clone().unwrap_or_default();
    if kind == "Ingress" {
        spec.ingress
            .unwrap_or_default()
            .into_iter()
            .map(|rule| (rule.from, rule.ports))
            .collect()
    } else {
        spec.egress
            .unwrap_or_default()
            .into_iter()
            .map(|rule| (rule.to, rule.ports))
            .collect()
    }
}

/// The whole table for these pods, policies and namespaces, as an `nft -f`
/// script that replaces the previous one atomically.
pub(crate) fn ruleset(
    pods: &[PodView],
    policies: &[NetworkPolicy],
    namespaces: &HashMap<String, BTreeMap<String, String>>,
) -> String {
    let mut dispatch = String::new();
    let mut chains = String::new();
    for (index, pod) in pods.iter().enumerate() {
        for (kind, here, there, chain) in [
            ("Ingress", "daddr", "saddr", format!("in_{index}")),
            ("Egress", "saddr", "daddr", format!("out_{index}")),
        ] {
            let applying: Vec<&NetworkPolicy> = policies
                .iter()
                .filter(|policy| has_type(policy, kind) && selects(policy, pod))
                .collect();
            if applying.is_empty() {
                continue;
            }
            let _ = writeln!(dispatch, "    ip {here} {} jump {chain}", pod.ip);
            let _ = writeln!(chains, "  chain {chain} {{");
            for policy in applying {
                let namespace = policy.metadata.namespace.clone().unwrap_or_default();
                for (peers, ports) in rules_of(policy, kind) {
                    let addresses: Vec<Option<String>> = match peers.filter(|p| !p.is_empty()) {
                        None => vec![None],
                        Some(peers) => peers
                            .iter()
                            .flat_map(|peer| {
                                peer_matches(peer, there, &namespace, pods, namespaces)
                            })
                            .map(Some)
                            .collect(),
                    };
                    let named_on = (kind == "Ingress").then_some(pod);
                    for address in &addresses {
                        for port in port_matches(ports.as_ref(), named_on) {
                            let mut rule = String::from("    ");
                            if let Some(address) = address {
                                let _ = write!(rule, "{address} ");
                            }
                            if let Some(port) = port {
                                let _ = write!(rule, "{port} ");
                            }
                            let _ = writeln!(chains, "{rule}return");
                        }
                    }
                }
            }
            let _ = writeln!(chains, "    counter drop\n  }}");
        }
    }
    format!(
        "table bridge {TABLE}\ndelete table bridge {TABLE}\ntable bridge {TABLE} {{\n  chain forward {{\n    type filter hook forward priority 0; policy accept;\n{dispatch}  }}\n{chains}}}\n"
    )
}

/// Load an `nft -f` script.
fn load(script: &str) -> anyhow::Result<()> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run nft")?;
    child
        .stdin
        .take()
        .context("nft's stdin")?
        .write_all(script.as_bytes())?;
    let output = child.wait_with_output()?;
    anyhow::ensure!(
        output.status.success(),
        "nft refused the rules: {}\n{script}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
}

/// Remove the table (nothing enforced any more); quiet when it is absent.
pub(crate) fn remove_table() -> anyhow::Result<()> {
    load(&format!(
        "table bridge {TABLE}\ndelete table bridge {TABLE}\n"
    ))
}

fn follow<K>(api: Api<K>, notify: Arc<Notify>) -> Store<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + k8s_openapi::serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer);
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            if let Err(error) = event {
                // Its log is its output (`policies on` writes it to a file).
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("network-policy: watching: {error}");
                }
            }
            notify.notify_one();
        }
    });
    reader
}

/// Enforce until SIGTERM, then remove the table.
pub(crate) fn serve() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let client = kube::Client::try_default()
            .await
            .context("cannot reach the apiserver")?;
        let notify = Arc::new(Notify::new());
        let pods = follow(Api::<Pod>::all(client.clone()), Arc::clone(&notify));
        let policies = follow(
            Api::<NetworkPolicy>::all(client.clone()),
            Arc::clone(&notify),
        );
        let namespaces = follow(Api::<Namespace>::all(client), Arc::clone(&notify));
        for (what, ready) in [
            ("pods", pods.wait_until_ready().await),
            ("policies", policies.wait_until_ready().await),
            ("namespaces", namespaces.wait_until_ready().await),
        ] {
            ready.with_context(|| format!("the first listing of {what}"))?;
        }
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let mut loaded = String::new();
        let mut first = true;
        loop {
            let views: Vec<PodView> = pods.state().iter().filter_map(|pod| view(pod)).collect();
            let listed: Vec<NetworkPolicy> =
                policies.state().iter().map(|p| (**p).clone()).collect();
            let labels = namespaces
                .state()
                .iter()
                .filter_map(|ns| {
                    Some((
                        ns.metadata.name.clone()?,
                        ns.metadata.labels.clone().unwrap_or_default(),
                    ))
                })
                .collect();
            let script = ruleset(&views, &listed, &labels);
            if script != loaded {
                load(&script)?;
                println!(
                    "network-policy: {} policies over {} pods loaded",
                    listed.len(),
                    views.len()
                );
                loaded = script;
            }
            if std::mem::take(&mut first) {
                println!("{READY_LINE}");
            }
            tokio::select! {
                () = notify.notified() => {}
                _ = terminate.recv() => break,
            }
        }
        remove_table()?;
        println!("network-policy: stopped, table removed");
        Ok(())
    })
}

#[cfg(test)]
mod tests;
