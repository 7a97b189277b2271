//! The choice between the fault agent and NetworkPolicy, given what the
//! probes found: who wins, and what the refusal says.

use std::time::Duration;

use super::*;

const PARTITION: [Capability; 1] = [Capability::Partition];

fn enforced() -> PolicyEnforcement {
    PolicyEnforcement::Enforced {
        after: Duration::from_millis(300),
    }
}

fn ignored() -> PolicyEnforcement {
    PolicyEnforcement::NotEnforced {
        watched: Duration::from_secs(10),
    }
}

fn refused() -> Option<String> {
    Some("Pod Security baseline forbids NET_ADMIN".to_owned())
}

#[test]
fn a_refused_agent_falls_back_to_enforced_policies_for_partitions() {
    assert!(without_policy(NetworkFaults::Auto, &PARTITION, refused()).is_none());
    assert_eq!(
        with_policy(&PARTITION, refused(), &enforced()).unwrap(),
        Mechanism::Policy
    );
}

#[test]
fn without_either_mechanism_the_error_names_both_refusals() {
    let error = with_policy(&PARTITION, refused(), &ignored())
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("this scenario needs network partitions, which cannot be made"),
        "{error}"
    );
    assert!(
        error.contains("Pod Security baseline forbids NET_ADMIN"),
        "{error}"
    );
    assert!(error.contains("NetworkPolicy not enforced"), "{error}");
}

#[test]
fn pause_and_shapes_need_the_agent_whatever_policies_do() {
    let needs = [Capability::Partition, Capability::Pause];
    let auto = without_policy(NetworkFaults::Auto, &needs, refused())
        .expect("no fallback")
        .to_string();
    assert!(auto.contains("the fault agent"), "{auto}");
    assert!(auto.contains("Pod Security baseline"), "{auto}");
    let forced = without_policy(NetworkFaults::NetworkPolicy, &needs, None)
        .expect("refused")
        .to_string();
    assert!(
        forced.contains("NetworkPolicy makes only partitions and one-way cuts, not pausing nodes"),
        "{forced}"
    );
}

#[test]
fn insisting_on_the_agent_never_falls_back() {
    let error = without_policy(NetworkFaults::Agent, &PARTITION, refused())
        .expect("no fallback")
        .to_string();
    assert!(error.contains("the fault agent provides"), "{error}");
}
