//! The objects of a run, rendered without touching the cluster: the
//! namespace, the runner's lease, and per node a ConfigMap (its launch
//! files), a headless Service (its one address) and a StatefulSet of one
//! pod (stoppable and startable alone, its data on a volume claim where the
//! cluster has storage, an emptyDir otherwise).

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvVar, HTTPGetAction, Namespace, PersistentVolumeClaim, PersistentVolumeClaimSpec, Pod,
    PodSpec, PodTemplateSpec, Probe, SecurityContext, Service, ServicePort, ServiceSpec,
    TCPSocketAction, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, MicroTime, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use scenario_core::{PortSpec, Readiness};

use crate::names::{NODE_ID_ANNOTATION, NODE_LABEL, ROLE_LABEL, label_value};
use crate::plan::{DATA_DIR, NodePlan};

/// The node's container in its pod.
pub(crate) const CONTAINER: &str = "node";
/// The runner's lease in the run's namespace.
pub(crate) const LEASE: &str = "testbed-runner";
const DATA_VOLUME: &str = "data";
const FILES_VOLUME: &str = "launch-files";

/// Where a node's data lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Storage {
    /// A volume claim of `size` from the storage class `class` (`None`:
    /// the cluster's default class): kept across stop and start.
    Claim {
        /// The storage class, or the cluster's default.
        class: Option<String>,
        /// The claim's size, e.g. `1Gi`.
        size: String,
    },
    /// An emptyDir: kept across container restarts, lost when the pod is
    /// deleted (stop, start, kill).
    EmptyDir,
}

/// How every node's pod is set up.
#[derive(Clone, Debug)]
pub(crate) struct PodSettings {
    pub(crate) grace: Duration,
    pub(crate) pull_policy: String,
    pub(crate) storage: Storage,
    /// The fault agent beside every node, where the run needs one.
    pub(crate) agent: Option<AgentSettings>,
}

/// The fault agent sidecar (`testbed-agent`).
#[derive(Clone, Debug)]
pub(crate) struct AgentSettings {
    pub(crate) image: String,
    pub(crate) pull_policy: String,
    /// How long it holds the pod's packets for the runner's first sync.
    pub(crate) hold: Duration,
    /// Only its API and probe listener, without privileges: where
    /// NetworkPolicy makes the faults and the agent measures their effect.
    pub(crate) probe_only: bool,
}

/// The fault agent's container in a pod.
pub(crate) const AGENT_CONTAINER: &str = "testbed-agent";

/// The agent's container: first in the pod, so the kubelet starts it before
/// the node; `NET_ADMIN` for its TUN device and routes, `NET_RAW` for its
/// raw socket, `MKNOD` for `/dev/net/tun` where the runtime gives none.
pub(crate) fn agent_container(agent: &AgentSettings) -> Container {
    if agent.probe_only {
        return Container {
            name: AGENT_CONTAINER.to_owned(),
            image: Some(agent.image.clone()),
            image_pull_policy: Some(agent.pull_policy.clone()),
            args: Some(vec!["--probe-only".to_owned()]),
            ..Container::default()
        };
    }
    Container {
        name: AGENT_CONTAINER.to_owned(),
        image: Some(agent.image.clone()),
        image_pull_policy: Some(agent.pull_policy.clone()),
        args: Some(vec![
            "--hold-ms".to_owned(),
            agent.hold.as_millis().to_string(),
        ]),
        security_context: Some(SecurityContext {
            capabilities: Some(Capabilities {
                add: Some(
                    ["NET_ADMIN", "NET_RAW", "MKNOD"]
                        .map(str::to_owned)
                        .to_vec(),
                ),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        ..Container::default()
    }
}

fn meta(name: &str, labels: &BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        labels: Some(labels.clone()),
        ..ObjectMeta::default()
    }
}

/// The run's namespace.
pub(crate) fn namespace(name: &str, labels: &BTreeMap<String, String>) -> Namespace {
    Namespace {
        metadata: meta(name, labels),
        ..Namespace::default()
    }
}

/// The runner's lease, held by `holder` for `duration`, renewed `now`.
pub(crate) fn lease(
    holder: &str,
    duration: Duration,
    now: MicroTime,
    labels: &BTreeMap<String, String>,
) -> Lease {
    Lease {
        metadata: meta(LEASE, labels),
        spec: Some(LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            lease_duration_seconds: Some(seconds(duration)),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            ..LeaseSpec::default()
        }),
    }
}

fn seconds(duration: Duration) -> i32 {
    i32::try_from(duration.as_secs().max(1)).unwrap_or(i32::MAX)
}

/// The labels of one node's objects and pod: the run's, plus node and role.
pub(crate) fn node_labels(
    plan: &NodePlan,
    run_labels: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut labels = run_labels.clone();
    labels.insert(NODE_LABEL.to_owned(), plan.name.clone());
    labels.insert(ROLE_LABEL.to_owned(), label_value(plan.slot.role.as_str()));
    labels
}

/// What selects a node's pod.
pub(crate) fn node_selector(
    plan: &NodePlan,
    run_labels: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let run = crate::names::RUN_LABEL;
    BTreeMap::from([
        (run.to_owned(), run_labels[run].clone()),
        (NODE_LABEL.to_owned(), plan.name.clone()),
    ])
}

/// The node's launch files (paths relative to its data directory), if any.
pub(crate) fn config_map(plan: &NodePlan, labels: &BTreeMap<String, String>) -> Option<ConfigMap> {
    if plan.spec.files.is_empty() {
        return None;
    }
    let data = plan
        .spec
        .files
        .iter()
        .enumerate()
        .map(|(index, file)| (file_key(index), ByteString(file.contents.clone())))
        .collect();
    Some(ConfigMap {
        metadata: meta(&plan.name, labels),
        binary_data: Some(data),
        ..ConfigMap::default()
    })
}

fn file_key(index: usize) -> String {
    format!("file-{index}")
}

/// The node's headless Service: its one address for every peer, published
/// before the pod is ready (nodes must reach each other to become ready).
pub(crate) fn service(
    plan: &NodePlan,
    ports: &[PortSpec],
    labels: &BTreeMap<String, String>,
    selector: &BTreeMap<String, String>,
) -> Service {
    Service {
        metadata: meta(&plan.name, labels),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_owned()),
            publish_not_ready_addresses: Some(true),
            selector: Some(selector.clone()),
            ports: Some(
                ports
                    .iter()
                    .map(|port| ServicePort {
                        name: Some(port_name(&port.name)),
                        port: i32::from(port.container_port),
                        ..ServicePort::default()
                    })
                    .collect(),
            ),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// A port name Kubernetes accepts (at most 15 lowercase letters, digits
/// and `-`).
fn port_name(name: &str) -> String {
    let mut cleaned = crate::names::lowercase_dashed(name);
    cleaned.truncate(15);
    cleaned.trim_matches('-').to_owned()
}

/// The node's StatefulSet: one pod, created at once, `replicas` 1 (0 when
/// stopped).
pub(crate) fn stateful_set(
    plan: &NodePlan,
    ports: &[PortSpec],
    labels: &BTreeMap<String, String>,
    selector: &BTreeMap<String, String>,
    settings: &PodSettings,
) -> StatefulSet {
    let mut template_meta = meta(&plan.name, labels);
    template_meta.name = None;
    template_meta.annotations = Some(BTreeMap::from([(
        NODE_ID_ANNOTATION.to_owned(),
        plan.slot.id.to_string(),
    )]));
    let mut volumes = Vec::new();
    let mut mounts = vec![VolumeMount {
        name: DATA_VOLUME.to_owned(),
        mount_path: DATA_DIR.to_owned(),
        ..VolumeMount::default()
    }];
    let mut claims = None;
    match &settings.storage {
        Storage::EmptyDir => volumes.push(Volume {
            name: DATA_VOLUME.to_owned(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        }),
        Storage::Claim { class, size } => {
            claims = Some(vec![PersistentVolumeClaim {
                metadata: meta(DATA_VOLUME, labels),
                spec: Some(PersistentVolumeClaimSpec {
                    access_modes: Some(vec!["ReadWriteOnce".to_owned()]),
                    storage_class_name: class.clone(),
                    resources: Some(VolumeResourceRequirements {
                        requests: Some(BTreeMap::from([(
                            "storage".to_owned(),
                            Quantity(size.clone()),
                        )])),
                        ..VolumeResourceRequirements::default()
                    }),
                    ..PersistentVolumeClaimSpec::default()
                }),
                ..PersistentVolumeClaim::default()
            }]);
        }
    }
    if !plan.spec.files.is_empty() {
        volumes.push(Volume {
            name: FILES_VOLUME.to_owned(),
            config_map: Some(ConfigMapVolumeSource {
                name: plan.name.clone(),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        });
        for (index, file) in plan.spec.files.iter().enumerate() {
            mounts.push(VolumeMount {
                name: FILES_VOLUME.to_owned(),
                mount_path: format!("{DATA_DIR}/{}", file.path.trim_start_matches('/')),
                sub_path: Some(file_key(index)),
                read_only: Some(true),
                ..VolumeMount::default()
            });
        }
    }
    let container = Container {
        name: CONTAINER.to_owned(),
        image: Some(plan.image.clone()),
        image_pull_policy: Some(settings.pull_policy.clone()),
        args: Some(plan.spec.args.clone()),
        env: Some(
            plan.spec
                .env
                .iter()
                .map(|(name, value)| EnvVar {
                    name: name.clone(),
                    value: Some(value.clone()),
                    ..EnvVar::default()
                })
                .collect(),
        ),
        ports: Some(
            ports
                .iter()
                .map(|port| ContainerPort {
                    name: Some(port_name(&port.name)),
                    container_port: i32::from(port.container_port),
                    ..ContainerPort::default()
                })
                .collect(),
        ),
        readiness_probe: readiness_probe(&plan.spec.readiness, ports),
        volume_mounts: Some(mounts),
        ..Container::default()
    };
    StatefulSet {
        metadata: meta(&plan.name, labels),
        spec: Some(StatefulSetSpec {
            replicas: Some(1),
            pod_management_policy: Some("Parallel".to_owned()),
            service_name: Some(plan.name.clone()),
            selector: LabelSelector {
                match_labels: Some(selector.clone()),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(template_meta),
                spec: Some(PodSpec {
                    containers: settings
                        .agent
                        .iter()
                        .map(agent_container)
                        .chain([container])
                        .collect(),
                    // The agent signals the node's processes (pause).
                    share_process_namespace: settings
                        .agent
                        .as_ref()
                        .filter(|agent| !agent.probe_only)
                        .map(|_| true),
                    volumes: Some(volumes),
                    termination_grace_period_seconds: Some(i64::from(seconds(settings.grace))),
                    // No service links or API token: a node needs neither,
                    // and the token is what a fresh namespace lacks.
                    enable_service_links: Some(false),
                    automount_service_account_token: Some(false),
                    ..PodSpec::default()
                }),
            },
            volume_claim_templates: claims,
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    }
}

/// The pod's readiness probe: the node's own (HTTP or TCP), checked by the
/// kubelet every second; none for a log-line probe, which the runner
/// checks in the followed log.
fn readiness_probe(readiness: &Readiness, ports: &[PortSpec]) -> Option<Probe> {
    let number = |name: &str| {
        ports
            .iter()
            .find(|port| port.name == name)
            .map(|port| IntOrString::Int(i32::from(port.container_port)))
    };
    let probe = |probe: Probe| Probe {
        period_seconds: Some(1),
        failure_threshold: Some(3),
        ..probe
    };
    match readiness {
        Readiness::Http { port, path } => Some(probe(Probe {
            http_get: Some(HTTPGetAction {
                port: number(port)?,
                path: Some(path.clone()),
                ..HTTPGetAction::default()
            }),
            ..Probe::default()
        })),
        Readiness::Tcp { port } => Some(probe(Probe {
            tcp_socket: Some(TCPSocketAction {
                port: number(port)?,
                ..TCPSocketAction::default()
            }),
            ..Probe::default()
        })),
        _ => None,
    }
}

/// A probe pod: the fault agent alone, as the nodes would have it
/// (`probe_only`: without privileges, only its probe listener and
/// `/connect`), never restarted.
pub(crate) fn probe_pod(
    name: &str,
    labels: &BTreeMap<String, String>,
    agent: &AgentSettings,
    probe_only: bool,
) -> Pod {
    let container = agent_container(&AgentSettings {
        probe_only: probe_only || agent.probe_only,
        ..agent.clone()
    });
    Pod {
        metadata: meta(name, labels),
        spec: Some(PodSpec {
            containers: vec![container],
            restart_policy: Some("Never".to_owned()),
            termination_grace_period_seconds: Some(0),
            enable_service_links: Some(false),
            automount_service_account_token: Some(false),
            ..PodSpec::default()
        }),
        ..Pod::default()
    }
}

mod policy;
pub(crate) use policy::{deny_ingress, refuse_ingress};

#[cfg(test)]
mod tests;
