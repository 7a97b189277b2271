//! A workload that splits the network for a while and records finalized
//! heights inside the partition and after it heals: what every backend's
//! "a partition halts finalization and its heal resumes it" test checks.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scenario_core::prelude::*;
use scenario_core::{FaultEffect, NetworkFault, NodeId};

/// What a [`PartitionProbe`] saw: finalized heights per node at the start
/// and end of the partition and after healing, and what the fault did.
#[derive(Debug, Default)]
pub struct Observed {
    /// Heights 1.5 s into the partition.
    pub during_start: BTreeMap<NodeId, u64>,
    /// Heights 3 s later, still partitioned.
    pub during_end: BTreeMap<NodeId, u64>,
    /// Heights 4 s after the heal.
    pub healed: BTreeMap<NodeId, u64>,
    /// The fault's counters after the heal, where the backend counts.
    pub effect: Option<FaultEffect>,
}

impl Observed {
    /// What a partition with no quorum on either side must show: nothing
    /// finalized while it held, and every node at least 5 blocks further
    /// once it healed.
    pub fn assert_halted_then_resumed(&self) {
        assert_eq!(
            self.during_start, self.during_end,
            "nothing finalizes without a quorum"
        );
        let halted = self.during_end.values().max().copied().unwrap_or(0);
        for (id, height) in &self.healed {
            assert!(
                *height >= halted + 5,
                "{id} resumed only to {height} (halted at {halted})"
            );
        }
    }
}

/// Partitions the network one second into the window.
pub struct PartitionProbe {
    groups: Vec<Vec<&'static str>>,
    observed: Arc<Mutex<Observed>>,
}

impl PartitionProbe {
    /// A probe splitting the network into `groups`, and where it writes
    /// what it saw.
    pub fn new(groups: Vec<Vec<&'static str>>) -> (Self, Arc<Mutex<Observed>>) {
        let observed = Arc::new(Mutex::new(Observed::default()));
        let probe = Self {
            groups,
            observed: Arc::clone(&observed),
        };
        (probe, observed)
    }
}

async fn heights(ctx: &RunContext) -> BTreeMap<NodeId, u64> {
    let mut heights = BTreeMap::new();
    for (id, client) in ctx.clients() {
        heights.insert(
            id.clone(),
            client.info().await.map(|i| i.finalized_height).unwrap_or(0),
        );
    }
    heights
}

#[async_trait]
impl Workload for PartitionProbe {
    fn name(&self) -> &str {
        "partition-probe"
    }

    fn requirements(&self) -> Requirements {
        Requirements::none().capability(Capability::Partition)
    }

    async fn run(&self, ctx: &RunContext, _cancel: CancellationToken) -> Result<(), BoxError> {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let groups = self
            .groups
            .iter()
            .map(|g| g.iter().map(|id| NodeId::new(*id)).collect())
            .collect();
        let fault = ctx
            .network_fault(&NetworkFault::Partition { groups }, None)
            .await?;
        // Let commits already in flight land, then observe the partition.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let start = heights(ctx).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        let end = heights(ctx).await;
        let control = ctx.network_control().ok_or("no network control")?;
        control.heal(fault).await?;
        tokio::time::sleep(Duration::from_secs(4)).await;
        let healed = heights(ctx).await;
        *self.observed.lock().map_err(|_| "poisoned")? = Observed {
            during_start: start,
            during_end: end,
            healed,
            effect: control.effect(fault),
        };
        Ok(())
    }
}
