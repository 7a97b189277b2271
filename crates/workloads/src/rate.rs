//! Checks every load workload applies to its plan at build: a rate that is
//! a positive, finite number below a sane ceiling, and targets that exist.

use scenario_core::NodeSlot;

use crate::target::Targets;

/// The most transactions per second one `TxLoad` may ask for: far above
/// what one runner can drive, so anything higher is a typo.
pub const MAX_TX_RATE: f64 = 100_000.0;

/// The most blobs per second one `DaLoad` may ask for.
pub const MAX_BLOB_RATE: f64 = 1_000.0;

/// `rate` (of `what` per second) is usable: finite, above zero, at most `max`.
pub(crate) fn check_rate(rate: f64, what: &str, max: f64) -> Result<(), String> {
    if !rate.is_finite() || rate <= 0.0 {
        return Err(format!(
            "the rate must be a number of {what} per second above 0, not {rate}"
        ));
    }
    if rate > max {
        return Err(format!(
            "the rate of {rate} {what} per second is above the {max} one workload may drive; split the load or lower it"
        ));
    }
    Ok(())
}

impl Targets {
    /// The targets exist among `nodes`.
    pub(crate) fn check(&self, nodes: &[NodeSlot]) -> Result<(), String> {
        match self {
            Self::One(node) if !nodes.iter().any(|slot| &slot.id == node) => Err(format!(
                "it targets {node}, which is not a node of the topology (the nodes are: {})",
                nodes
                    .iter()
                    .map(|slot| slot.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scenario_core::{NodeId, Topology};

    #[test]
    fn unusable_rates_are_refused_with_the_reason() {
        for bad in [0.0, -3.0, f64::NAN, f64::INFINITY, 1e12] {
            assert!(
                check_rate(bad, "transactions", MAX_TX_RATE).is_err(),
                "{bad}"
            );
        }
        assert_eq!(check_rate(250.0, "transactions", MAX_TX_RATE), Ok(()));
        assert_eq!(
            check_rate(-3.0, "blobs", MAX_BLOB_RATE).unwrap_err(),
            "the rate must be a number of blobs per second above 0, not -3"
        );
    }

    #[test]
    fn a_target_that_is_not_a_node_is_named() {
        let nodes = Topology::new().validators(2).slots();
        let error = Targets::One(NodeId::new("validator-7"))
            .check(&nodes)
            .unwrap_err();
        assert_eq!(
            error,
            "it targets validator-7, which is not a node of the topology (the nodes are: validator-0, validator-1)"
        );
        assert!(
            Targets::One(NodeId::new("validator-1"))
                .check(&nodes)
                .is_ok()
        );
    }
}
