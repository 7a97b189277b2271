//! `testbed doctor --on k8s`: the cluster `KUBECONFIG` names answers, and
//! the runner may create namespaces and list them; whether the cluster has
//! a default storage class (node data kept across stop and start) is said.

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
        findings
    })
}
