//! The Kubernetes deployer's deploy: reach the cluster and render every
//! node before anything is created; then the run's namespace (cleanup
//! registered at once) and lease, per node a ConfigMap, a headless Service
//! and a StatefulSet, all created at once; fronts and log followers; the
//! readiness wait. Joins bring up one more node the same way.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use deploykit::plan::join_failed;
use deploykit::ready::{Starting, wait_all_ready, wait_ready};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Pod, Service};
use kube::api::Api;
use kube::{Client, Resource};
use scenario_core::layout::NodeFiles;
use scenario_core::{
    Capability, ControlError, DeployEnv, Deployment, EventKind, FailureReporter, HostPort, Joined,
    Membership, NetworkControl, NodeKind, NodeSlot, PortSpec, Role, Scenario,
};

use crate::agents::{AgentNetwork, AgentPlane};
use crate::cleanup::{self, RunHold};
use crate::cluster::{self, create};
use crate::control::K8sNodeControl;
use crate::error::{Error, Result, api};
use crate::manifest::{self, AgentSettings, PodSettings, Storage};
use crate::mechanism::{self, Mechanism, Place};
use crate::names;
use crate::plan::{self, NodePlan};
use crate::pod::{self, NodePod};
use crate::policies::{PolicyNetwork, PolicyPlane};
use crate::{K8sDeployer, forward, logs};

/// How often readiness is probed.
const PROBE_EVERY: std::time::Duration = std::time::Duration::from_millis(200);

/// What bringing up a node of the run needs.
pub(crate) struct Run {
    hold: RunHold,
    agents: Option<Arc<AgentPlane>>,
    policies: Option<Arc<PolicyPlane>>,
    labels: BTreeMap<String, String>,
    ports: Vec<PortSpec>,
    settings: PodSettings,
    run_dir: PathBuf,
    failure: FailureReporter,
}

pub(crate) async fn deploy(
    deployer: &K8sDeployer,
    scenario: &Scenario,
    env: &DeployEnv,
) -> Result<Deployment> {
    let client = cluster::connect().await?;
    reap_dead_runs(&client, env).await;
    let kind = scenario.node_kind();
    let slots = scenario.nodes();
    let plans = plan::render(kind, slots)?;
    let storage = storage(deployer, &client).await?;
    let needs = needs_agent_or_policy(scenario);
    let mut agent = (!needs.is_empty()).then(|| AgentSettings {
        image: deployer.agent_image.clone(),
        pull_policy: deployer.pull_policy.clone(),
        hold: deployer.lease,
        probe_only: false,
    });
    env.timeline().record(EventKind::Note, None, match &storage {
        Storage::Claim { class, size } => format!(
            "node data on volume claims of {size} ({}): kept across stop and start",
            class.as_deref().unwrap_or("the cluster's default storage class")
        ),
        Storage::EmptyDir => "node data on emptyDir volumes (the cluster has no default storage class): lost when a node is stopped or killed".to_owned(),
    });

    let namespace = names::namespace(env.run_id());
    let labels = names::run_labels(env.run_id(), scenario.name());
    let namespaces: Api<Namespace> = Api::all(client.clone());
    create(&namespaces, &manifest::namespace(&namespace, &labels)).await?;
    let uid = namespaces
        .get(&namespace)
        .await
        .map_err(api(format!("read namespace {namespace}")))?
        .meta()
        .uid
        .clone()
        .unwrap_or_default();
    let hold = RunHold {
        client: client.clone(),
        namespace: namespace.clone(),
        uid,
        run_id: env.run_id().to_owned(),
        grace: deployer.grace,
        unsupervised: tokio_util::sync::CancellationToken::new(),
        closing: tokio_util::sync::CancellationToken::new(),
        lease: Arc::new(Mutex::new(None)),
        followers: Arc::new(Mutex::new(Vec::new())),
    };
    cleanup::register(
        env,
        &hold,
        deployer.keep.unwrap_or_else(deploykit::Keep::from_env),
    );
    let lease = crate::lease::hold(
        &client,
        &namespace,
        &labels,
        deployer.lease,
        env.failure_reporter(),
    )
    .await?;
    *hold
        .lease
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(lease);

    let mechanism = match &agent {
        Some(settings) => {
            let place = Place {
                client: &client,
                namespace: &namespace,
                labels: &labels,
                timeline: env.timeline(),
            };
            Some(mechanism::choose(deployer.network_faults, &needs, &place, settings).await?)
        }
        None => None,
    };
    let (mut agents, mut policies) = (None, None);
    match mechanism {
        Some(Mechanism::Agent) => {
            let plane = AgentPlane::new(scenario.seed(), deployer.lease);
            plane.spawn_renewals(hold.closing.clone(), env.failure_reporter());
            agents = Some(plane);
        }
        Some(Mechanism::Policy) => {
            if let Some(settings) = &mut agent {
                settings.probe_only = true;
            }
            policies = Some(PolicyPlane::new(
                Api::namespaced(client.clone(), &namespace),
                labels.clone(),
                scenario.seed(),
                env.timeline().clone(),
            ));
        }
        None => {}
    }
    let run = Run {
        hold,
        agents,
        policies,
        labels,
        ports: kind.ports(),
        settings: PodSettings {
            grace: deployer.grace,
            pull_policy: deployer.pull_policy.clone(),
            storage,
            agent,
        },
        run_dir: env.artifacts_dir().to_path_buf(),
        failure: env.failure_reporter(),
    };
    let brought =
        futures::future::try_join_all(plans.iter().map(|plan| run.create_node(plan))).await?;
    let nodes: BTreeMap<_, _> = brought
        .into_iter()
        .map(|node| (node.id.clone(), node))
        .collect();
    let limit = deployer.ready_timeout_for(slots.len());
    let ready = async {
        wait_all_ready(
            nodes.values().map(|node| node.as_ref() as &dyn Starting),
            limit,
            PROBE_EVERY,
        )
        .await
        .map_err(Error::from)
    };
    let attached = async {
        match &run.agents {
            Some(plane) => {
                futures::future::try_join_all(nodes.keys().map(|id| plane.attach(id, limit)))
                    .await?;
                Ok(())
            }
            None => Ok(()),
        }
    };
    futures::future::try_join(ready, attached).await?;
    for node in nodes.values() {
        pod::wait_pod_ready(node, limit)
            .await
            .map_err(|why| Error::PodNotReady { why })?;
    }
    for node in nodes.values() {
        pod::supervise(node).await;
        pod::spawn_supervisor(node);
    }
    let clients = deploykit::plan::clients(
        kind.as_ref(),
        slots
            .iter()
            .map(|slot| (slot, nodes[&slot.id].endpoints.clone())),
    )?;
    let network_control = match (&run.agents, &run.policies) {
        (Some(plane), _) => {
            Some(Arc::new(AgentNetwork(Arc::clone(plane))) as Arc<dyn NetworkControl>)
        }
        (None, Some(plane)) => {
            Some(Arc::new(PolicyNetwork(Arc::clone(plane))) as Arc<dyn NetworkControl>)
        }
        (None, None) => None,
    };
    let control = Arc::new(K8sNodeControl {
        agents: run.agents.clone(),
        nodes: RwLock::new(nodes),
        sets: Api::namespaced(client, &namespace),
        grace: deployer.grace,
        ready_timeout: limit,
    });
    let membership = K8sMembership {
        run,
        kind: Arc::clone(kind),
        members: tokio::sync::Mutex::new(slots.to_vec()),
        control: Arc::clone(&control),
    };
    Ok(Deployment {
        clients,
        node_control: Some(control),
        network_control,
        membership: Some(Arc::new(membership)),
    })
}

/// What the scenario needs that only the fault agent (or, for some of it,
/// NetworkPolicy) offers.
fn needs_agent_or_policy(scenario: &Scenario) -> Vec<Capability> {
    let required = scenario.required_capabilities();
    crate::AGENT_CAPABILITIES
        .into_iter()
        .filter(|capability| required.contains(*capability))
        .collect()
}

/// What runners that are gone left in the cluster goes first.
async fn reap_dead_runs(client: &Client, env: &DeployEnv) {
    let note = match crate::reap::reap(client).await {
        Ok(reaped) => reaped
            .into_iter()
            .map(|run| {
                format!(
                    "reaped namespace {} of dead run {} (lease holder {})",
                    run.namespace,
                    run.run_id,
                    run.holder.as_deref().unwrap_or("none")
                )
            })
            .collect(),
        Err(error) => vec![format!("could not reap dead runs' namespaces: {error}")],
    };
    for line in note {
        env.timeline().record(EventKind::Note, None, line);
    }
}

async fn storage(deployer: &K8sDeployer, client: &Client) -> Result<Storage> {
    if let Some(storage) = &deployer.storage {
        return Ok(storage.clone());
    }
    Ok(match cluster::default_storage_class(client).await? {
        Some(_) => Storage::Claim {
            class: None,
            size: "1Gi".to_owned(),
        },
        None => Storage::EmptyDir,
    })
}

impl Run {
    fn api<K>(&self) -> Api<K>
    where
        K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.hold.client.clone(), &self.hold.namespace)
    }

    /// Create a node's objects, its fronts and its log follower; the node
    /// is starting when this returns.
    async fn create_node(&self, plan: &NodePlan) -> Result<Arc<NodePod>> {
        let labels = manifest::node_labels(plan, &self.labels);
        let selector = manifest::node_selector(plan, &self.labels);
        if let Some(config_map) = manifest::config_map(plan, &labels) {
            create(&self.api::<ConfigMap>(), &config_map).await?;
        }
        create(
            &self.api::<Service>(),
            &manifest::service(plan, &self.ports, &labels, &selector),
        )
        .await?;
        let set = manifest::stateful_set(plan, &self.ports, &labels, &selector, &self.settings);
        create(&self.api::<StatefulSet>(), &set).await?;

        let id = plan.slot.id.clone();
        let pod_name = names::node_pod(&id);
        let front = async |port: u16| {
            forward::open(
                self.api(),
                pod_name.clone(),
                port,
                self.hold.closing.clone(),
            )
            .await
            .map_err(|source| Error::Front {
                node: id.clone(),
                source,
            })
        };
        let mut endpoints = BTreeMap::new();
        for port in &self.ports {
            let address = front(port.container_port).await?;
            endpoints.insert(
                port.name.clone(),
                HostPort::new(address.ip().to_string(), address.port()),
            );
        }
        if let Some(plane) = &self.agents {
            plane.add(&id, front(netplane::agent::CONTROL_PORT).await?);
        }
        if let Some(plane) = &self.policies {
            plane.add(&id, &plan.name, front(netplane::agent::CONTROL_PORT).await?);
        }
        let files = NodeFiles::of(&self.run_dir, &id);
        std::fs::create_dir_all(&files.dir).map_err(|source| Error::Front {
            node: id.clone(),
            source,
        })?;
        self.hold.follower(logs::follow(
            self.api(),
            pod_name.clone(),
            files.log.clone(),
            self.hold.closing.clone(),
        ));
        Ok(Arc::new(NodePod::new(
            id,
            pod_name,
            plan.spec.readiness.clone(),
            endpoints,
            files.log,
            (self.api::<Pod>(), self.api::<Event>()),
            self.failure.clone(),
            self.hold.unsupervised.clone(),
        )))
    }
}

pub(crate) struct K8sMembership {
    run: Run,
    kind: Arc<dyn NodeKind>,
    /// Every node so far; joins are serialized here.
    members: tokio::sync::Mutex<Vec<NodeSlot>>,
    control: Arc<K8sNodeControl>,
}

#[async_trait::async_trait]
impl Membership for K8sMembership {
    async fn add_node(&self, role: &Role) -> Result<Joined, ControlError> {
        let mut members = self.members.lock().await;
        let slot = NodeSlot::next_of(role, &members);
        let id = slot.id.clone();
        let failed = |error: Error| join_failed(&id, error);
        // Members were rendered before it existed; they learn of it the
        // way the node software lets them (demo-node: its inbound
        // connections). Its name is its address, as for every member.
        let mut slots = members.clone();
        slots.push(slot.clone());
        // Rendering them all checks that its name clashes with no member's.
        plan::render(&self.kind, &slots).map_err(failed)?;
        let plan = plan::render_node(&self.kind, &slot, &slots).map_err(failed)?;
        let node = self.run.create_node(&plan).await.map_err(failed)?;
        let ready = async {
            wait_ready(node.as_ref(), self.control.ready_timeout, PROBE_EVERY)
                .await
                .map_err(Error::from)
        };
        let attached = async {
            match &self.run.agents {
                Some(plane) => Ok(plane.attach(&id, self.control.ready_timeout).await?),
                None => Ok(()),
            }
        };
        futures::future::try_join(ready, attached)
            .await
            .map_err(failed)?;
        pod::wait_pod_ready(&node, self.control.ready_timeout)
            .await
            .map_err(|why| failed(Error::PodNotReady { why }))?;
        pod::supervise(&node).await;
        pod::spawn_supervisor(&node);
        self.control.add(Arc::clone(&node));
        let client = deploykit::plan::client(self.kind.as_ref(), &slot, node.endpoints.clone())
            .map_err(|e| failed(e.into()))?;
        members.push(slot.clone());
        Ok(Joined { slot, client })
    }
}
