//! Recovery: once the window is over (and every fault with it), every node
//! must reach one finalized tip within T.

use std::time::Duration;

use scenario_core::prelude::*;

/// Every node reaches the same finalized tip within `within` after the window.
pub struct Recovery {
    within: Duration,
}

impl Recovery {
    /// All nodes converge within `within`.
    pub fn within(within: Duration) -> Self {
        Self { within }
    }
}

#[async_trait]
impl Expectation for Recovery {
    fn name(&self) -> &str {
        "recovery"
    }

    async fn evaluate(&self, ctx: &RunContext) -> Result<Verdict, BoxError> {
        let started = tokio::time::Instant::now();
        let mut target = 0;
        for client in ctx.clients().values() {
            if let Ok(info) = client.info().await {
                target = target.max(info.finalized_height);
            }
        }
        loop {
            let mut behind = Vec::new();
            let mut hashes = std::collections::BTreeSet::new();
            for (id, client) in ctx.clients() {
                match client.info().await {
                    Ok(info) if info.finalized_height >= target => {
                        if let Ok(block) = client.block(target).await {
                            hashes.insert(block.hash);
                        }
                    }
                    Ok(info) => behind.push(format!("{id} at {}", info.finalized_height)),
                    Err(error) => behind.push(format!("{id} unreachable ({error})")),
                }
            }
            if behind.is_empty() && hashes.len() == 1 {
                let took = started.elapsed();
                return Ok(Verdict::pass(format!(
                    "every node reached finalized height {target} with one hash within {} ms",
                    took.as_millis()
                ))
                .figure("recovery_ms", took.as_millis() as f64));
            }
            if started.elapsed() >= self.within {
                let why = if behind.is_empty() {
                    format!("nodes disagree on the block at height {target}")
                } else {
                    behind.join(", ")
                };
                return Ok(Verdict::fail(format!(
                    "not every node reached finalized height {target} within {} ms: {why}",
                    self.within.as_millis()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
