//! `testbed doctor --on k8s`: the cluster `KUBECONFIG` names answers, and
//! the runner may create namespaces and list them; whether the cluster has
//! a default storage class (node data kept across stop and start) is said;
//! and, probed live (about 20 s), whether a pod may run the fault agent
//! (network faults and pauses) and whether NetworkPolicy is enforced.

use testbed::k8s::k8s_openapi::api::core::v1::Namespace;
use testbed::k8s::kube::api::{Api, ListParams};

use super::{Finding, ok, problem};

/// The findings about the cluster.
pub(super) fn check() -> Vec<Finding> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return vec![problem("Kubernetes", error.to_string(), "retry")],
    };
    runtime.block_on(async {
        let client = match testbed::k8s::connect().await {
            Ok(client) => client,
            Err(error) => {
                return vec![problem(
                    "Kubernetes cluster",
                    error.to_string(),
                    "export KUBECONFIG=<a kubeconfig of the cluster> (`cargo xtask k8s up` in the testbed workspace starts a local one)",
                )];
            }
        };
        let version = client
            .apiserver_version()
            .await
            .map(|info| info.git_version)
            .unwrap_or_default();
        let mut findings = vec![ok(format!("Kubernetes cluster {version} answers"))];
        let namespaces: Api<Namespace> = Api::all(client.clone());
        findings.push(match namespaces.list(&ListParams::default().limit(1)).await {
            Ok(_) => ok("permission to list namespaces (runs, leftovers, reaping)"),
            Err(error) => problem(
                "permissions",
                format!("cannot list namespaces: {error}"),
                "use a kubeconfig whose user may create, list and delete namespaces and the objects in them",
            ),
        });
        // A failed lookup reads as no default class, as the deployer's does.
        let default = testbed::k8s::default_storage_class(&client).await.ok().flatten();
        findings.push(ok(match default {
            Some(name) => format!("default storage class {name}: node data kept across stop and start"),
            None => "no default storage class: node data on emptyDir, lost when a node is stopped".to_owned(),
        }));
        findings.extend(probe(&client).await);
        findings
    })
}

/// What the live probe says: the fault agent allowed or refused (with
/// why), NetworkPolicy enforced or not.
async fn probe(client: &testbed::k8s::kube::Client) -> Vec<Finding> {
    let image = testbed::k8s::DEFAULT_AGENT_IMAGE;
    let probe = match testbed::k8s::probe_cluster(client, image).await {
        Ok(probe) => probe,
        Err(error) => {
            return vec![problem(
                "cluster probe",
                error.to_string(),
                "check that the runner may create namespaces, pods and network policies",
            )];
        }
    };
    let agent = match probe.fault_agent {
        Ok(()) => ok(format!(
            "fault agent {image} runs with NET_ADMIN: network faults and pauses available"
        )),
        Err(why) => problem(
            "fault agent",
            format!("a pod may not run {image}: {why}"),
            "allow NET_ADMIN in the run namespaces (Pod Security `privileged`) and make the image pullable (`cargo xtask image` for the local cluster, a registry elsewhere, `K8sDeployer::agent_image`); scenarios without network faults or pauses do not need it, and where NetworkPolicy is enforced (below) partitions and one-way cuts are made of policies without it",
        ),
    };
    // Only the fallback for clusters that refuse the agent: never a problem.
    let policy = ok(probe.network_policy.to_string());
    vec![agent, policy]
}
