//! Which mechanism makes a run's network faults and pauses: probed in the
//! run's namespace before any node exists, so a scenario the cluster cannot
//! serve fails before it costs anything, with what refused each mechanism.

use std::collections::BTreeMap;

use kube::Client;
use scenario_core::{Capability, EventKind, Timeline};

use crate::error::{Error, Result};
use crate::manifest::AgentSettings;
use crate::probe::{self, PolicyEnforcement};
use crate::{NetworkFaults, POLICY_CAPABILITIES};

/// How this run's faults are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mechanism {
    /// The fault agent beside every node, with `NET_ADMIN`.
    Agent,
    /// NetworkPolicy objects, measured by the unprivileged agent.
    Policy,
}

/// Where the run's pods live, for the probes.
pub(crate) struct Place<'a> {
    pub(crate) client: &'a Client,
    pub(crate) namespace: &'a str,
    pub(crate) labels: &'a BTreeMap<String, String>,
    pub(crate) timeline: &'a Timeline,
}

fn named(needs: &[Capability]) -> String {
    needs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Choose the mechanism for a scenario that needs `needs` (each one only
/// the agent or a policy offers), probing as `mode` allows. `agent` is the
/// privileged agent as nodes would run it.
pub(crate) async fn choose(
    mode: NetworkFaults,
    needs: &[Capability],
    place: &Place<'_>,
    agent: &AgentSettings,
) -> Result<Mechanism> {
    let agent_refused = match mode {
        NetworkFaults::NetworkPolicy => None,
        NetworkFaults::Agent | NetworkFaults::Auto => {
            match probe::fault_agent(place.client, place.namespace, place.labels, agent).await {
                Ok(()) => {
                    place.timeline.record(
                        EventKind::Note,
                        None,
                        format!(
                            "fault agent {} beside every node: a probe pod ran it with NET_ADMIN",
                            agent.image
                        ),
                    );
                    return Ok(Mechanism::Agent);
                }
                Err(reason) => Some(reason),
            }
        }
    };
    if let Some(refused) = without_policy(mode, needs, agent_refused.clone()) {
        return Err(refused);
    }
    let unprivileged = AgentSettings {
        probe_only: true,
        ..agent.clone()
    };
    let enforcement =
        probe::network_policy(place.client, place.namespace, place.labels, &unprivileged).await;
    let chosen = with_policy(needs, agent_refused.clone(), &enforcement)?;
    if let PolicyEnforcement::Enforced { after } = enforcement {
        place.timeline.record(
            EventKind::Note,
            None,
            format!(
                "network faults by NetworkPolicy{}: a denying policy took effect after {:.2} s; agent {} beside every node, without privileges, measures each change",
                agent_refused
                    .map(|why| format!(" (the fault agent cannot run: {why})"))
                    .unwrap_or_default(),
                after.as_secs_f64(),
                agent.image
            ),
        );
    }
    Ok(chosen)
}

/// Where the agent was refused (`agent_refused`; `None`: not asked), the
/// error that ends the choice before NetworkPolicy is probed, if any: the
/// mode insists on the agent, or the scenario needs more than policies make.
fn without_policy(
    mode: NetworkFaults,
    needs: &[Capability],
    agent_refused: Option<String>,
) -> Option<Error> {
    let beyond_policy: Vec<Capability> = needs
        .iter()
        .copied()
        .filter(|need| !POLICY_CAPABILITIES.contains(need))
        .collect();
    if mode != NetworkFaults::Agent && beyond_policy.is_empty() {
        return None;
    }
    let needs = named(needs);
    Some(match agent_refused {
        Some(reason) => Error::NoFaultAgent { needs, reason },
        None => Error::NoNetworkFaults {
            needs,
            reason: format!(
                "NetworkPolicy makes only partitions and one-way cuts, not {}",
                named(&beyond_policy)
            ),
        },
    })
}

/// NetworkPolicy where the probe saw it enforced, else the error naming
/// what refused each mechanism.
fn with_policy(
    needs: &[Capability],
    agent_refused: Option<String>,
    enforcement: &PolicyEnforcement,
) -> Result<Mechanism> {
    if matches!(enforcement, PolicyEnforcement::Enforced { .. }) {
        return Ok(Mechanism::Policy);
    }
    Err(Error::NoNetworkFaults {
        needs: named(needs),
        reason: match agent_refused {
            Some(why) => format!("the fault agent cannot run ({why}), and {enforcement}"),
            None => enforcement.to_string(),
        },
    })
}

#[cfg(test)]
mod tests;
