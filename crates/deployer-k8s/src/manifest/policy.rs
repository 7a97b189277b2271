//! The NetworkPolicy objects the deployer renders: the probe's denying
//! policy, and the per-node policies that make partitions and cuts where
//! the fault agent cannot run.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use super::meta;
use crate::names::NODE_LABEL;

/// A NetworkPolicy that denies every inbound connection to the pods
/// `selector` matches.
pub(crate) fn deny_ingress(
    name: &str,
    labels: &BTreeMap<String, String>,
    selector: &BTreeMap<String, String>,
) -> NetworkPolicy {
    NetworkPolicy {
        metadata: meta(name, labels),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(selector.clone()),
                ..LabelSelector::default()
            }),
            policy_types: Some(vec!["Ingress".to_owned()]),
            ingress: Some(Vec::new()),
            ..NetworkPolicySpec::default()
        }),
    }
}

/// A NetworkPolicy that lets the pod of the node whose name label is
/// `node` accept connections only from the pods of its namespace that are
/// not the nodes named in `refused`: how a partition or cut is made where
/// the fault agent cannot run.
pub(crate) fn refuse_ingress(
    name: &str,
    labels: &BTreeMap<String, String>,
    node: &str,
    refused: &BTreeSet<String>,
) -> NetworkPolicy {
    let run = crate::names::RUN_LABEL;
    NetworkPolicy {
        metadata: meta(name, labels),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([
                    (run.to_owned(), labels[run].clone()),
                    (NODE_LABEL.to_owned(), node.to_owned()),
                ])),
                ..LabelSelector::default()
            }),
            policy_types: Some(vec!["Ingress".to_owned()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(vec![NetworkPolicyPeer {
                    pod_selector: Some(LabelSelector {
                        match_expressions: Some(vec![LabelSelectorRequirement {
                            key: NODE_LABEL.to_owned(),
                            operator: "NotIn".to_owned(),
                            values: Some(refused.iter().cloned().collect()),
                        }]),
                        ..LabelSelector::default()
                    }),
                    ..NetworkPolicyPeer::default()
                }]),
                ..NetworkPolicyIngressRule::default()
            }]),
            ..NetworkPolicySpec::default()
        }),
    }
}
