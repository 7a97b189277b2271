//! Agreement: no two nodes finalized different blocks at the same height,
//! checked across every node up to the lowest finalized height.

use std::collections::BTreeMap;

use scenario_core::prelude::*;

/// No two nodes finalized different blocks at one height.
#[derive(Clone, Debug, Default)]
pub struct Agreement;

#[async_trait]
impl Expectation for Agreement {
    fn name(&self) -> &str {
        "agreement"
    }

    async fn evaluate(&self, ctx: &RunContext) -> Result<Verdict, BoxError> {
        let clients = ctx.clients();
        let mut lowest = u64::MAX;
        for (id, client) in &clients {
            let info = client.info().await.map_err(|e| format!("{id}: {e}"))?;
            lowest = lowest.min(info.finalized_height);
        }
        for height in 1..=lowest {
            let mut hashes: BTreeMap<String, Vec<&NodeId>> = BTreeMap::new();
            for (id, client) in &clients {
                let block = client
                    .block(height)
                    .await
                    .map_err(|e| format!("{id}: {e}"))?;
                hashes.entry(block.hash).or_default().push(id);
            }
            if hashes.len() > 1 {
                let sides: Vec<String> = hashes
                    .iter()
                    .map(|(hash, nodes)| {
                        let names: Vec<&str> = nodes.iter().map(|n| n.as_str()).collect();
                        format!(
                            "{} → {}",
                            names.join(", "),
                            hash.chars().take(12).collect::<String>()
                        )
                    })
                    .collect();
                return Ok(Verdict::fail(format!(
                    "nodes finalized different blocks at height {height}: {}",
                    sides.join("; ")
                ))
                .figure("height", height as f64));
            }
        }
        Ok(Verdict::pass(format!(
            "{} nodes agree on every finalized block up to height {lowest}",
            ctx.clients().len()
        ))
        .figure("checked_height", lowest as f64))
    }
}
