//! Agreement: no two nodes finalized different blocks at the same height,
//! checked at every height that at least two nodes finalized (not only up to
//! the slowest node's tip), and every finalized height a node claims must be
//! one it can serve, as a final block (the highest claim included), and,
//! with a block feed, one the feed saw it finalize.

use std::collections::BTreeMap;

use futures::StreamExt as _;

use scenario_core::prelude::*;

/// How far a node's claimed finalized height may run ahead of what the block
/// feed saw from it before the claim counts as false (the feed follows each
/// node with a short lag).
const FEED_LAG_BLOCKS: u64 = 10;

/// Heights fetched at once.
const HEIGHTS_AT_ONCE: usize = 8;

/// No two nodes finalized different blocks at one height.
#[derive(Clone, Debug, Default)]
pub struct Agreement;

#[async_trait]
impl Expectation for Agreement {
    fn name(&self) -> &str {
        "agreement"
    }

    fn requirements(&self) -> Requirements {
        // It reads heights and blocks through the testing API.
        Requirements::none().node_api()
    }

    async fn evaluate(&self, ctx: &RunContext) -> Result<Verdict, BoxError> {
        let clients = ctx.clients();
        let mut claimed: BTreeMap<&NodeId, u64> = BTreeMap::new();
        for (id, client) in &clients {
            let info = client.info().await.map_err(|e| format!("{id}: {e}"))?;
            claimed.insert(id, info.finalized_height);
        }
        let mut by_height: Vec<u64> = claimed.values().copied().collect();
        by_height.sort_unstable();
        // The highest height at least two nodes finalized.
        let shared = by_height.iter().rev().nth(1).copied().unwrap_or(0);
        let lowest = by_height.first().copied().unwrap_or(0);
        // Several heights at once, every node's block of a height at once,
        // judged in height order: a long run has thousands of heights.
        let mut heights = futures::stream::iter(1..=shared)
            .map(|height| {
                let (clients, claimed) = (&clients, &claimed);
                async move {
                    let asks = clients
                        .iter()
                        .filter(|(id, _)| claimed[id] >= height)
                        .map(|(id, client)| async move {
                            let block = client.block(height).await.map_err(|e| {
                                format!(
                                    "{id} claims finalized height {} but cannot serve block {height}: {e}",
                                    claimed[id]
                                )
                            })?;
                            Ok::<_, String>((id, block.hash))
                        });
                    (height, futures::future::join_all(asks).await)
                }
            })
            .buffered(HEIGHTS_AT_ONCE);
        while let Some((height, answers)) = heights.next().await {
            let mut hashes: BTreeMap<String, Vec<&NodeId>> = BTreeMap::new();
            for answer in answers {
                let (id, hash) = answer?;
                hashes.entry(hash).or_default().push(id);
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
        // A claim above `shared` (the highest one) is reached by no hash
        // comparison: it must still be servable, and final.
        for (id, client) in &clients {
            let claim = claimed[id];
            if claim <= shared {
                continue;
            }
            let wrong = match client.block(claim).await {
                Ok(block) if block.finalized => continue,
                Ok(_) => "serves it as not final".to_owned(),
                Err(e) => format!("cannot serve block {claim}: {e}"),
            };
            return Ok(
                Verdict::fail(format!("{id} claims finalized height {claim} but {wrong}"))
                    .figure("height", claim as f64),
            );
        }
        // Last: a node's claim must match what the block feed saw it finalize
        // (with room for the feed's lag), when the plan has a feed.
        if let Some(feed) = ctx.block_feed() {
            let seen = feed.finalized_heights();
            for (id, height) in &claimed {
                if let Some(observed) = seen.get(*id)
                    && *height > observed + FEED_LAG_BLOCKS
                {
                    return Ok(Verdict::fail(format!(
                        "{id} claims finalized height {height}, but the block feed saw it finalize blocks only up to {observed}"
                    ))
                    .figure("height", *height as f64));
                }
            }
        }
        let range = if shared == lowest {
            format!("every finalized block up to height {shared}")
        } else {
            format!(
                "every height two or more of them finalized, 1..={shared} (all {} nodes up to {lowest})",
                clients.len()
            )
        };
        Ok(
            Verdict::pass(format!("{} nodes agree on {range}", clients.len()))
                .figure("checked_height", shared as f64)
                .figure("lowest_height", lowest as f64),
        )
    }
}
