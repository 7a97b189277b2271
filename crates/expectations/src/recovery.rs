//! Recovery: once the window is over (and every fault with it), every node
//! must reach one finalized tip within T, and the chain must move on past
//! it: converged nodes on a stopped chain did not recover. A node that
//! claims the target but cannot serve its block fails the check.

use std::collections::BTreeSet;
use std::time::Duration;

use scenario_core::prelude::*;

/// Every node reaches the same finalized tip within `within` after the
/// window, and finalizes the block after it.
pub struct Recovery {
    within: Duration,
}

impl Recovery {
    /// All nodes converge, and progress, within `within`.
    pub fn within(within: Duration) -> Self {
        Self { within }
    }
}

/// Where every node stands relative to `target`.
struct Standing {
    behind: Vec<String>,
    hashes: BTreeSet<String>,
    unservable: Vec<String>,
}

async fn standing(ctx: &RunContext, target: u64) -> Standing {
    let mut standing = Standing {
        behind: Vec::new(),
        hashes: BTreeSet::new(),
        unservable: Vec::new(),
    };
    for (id, client) in ctx.clients() {
        match client.info().await {
            Ok(info) if info.finalized_height >= target => match client.block(target).await {
                Ok(block) => {
                    standing.hashes.insert(block.hash);
                }
                Err(error) => standing.unservable.push(format!(
                    "{id} claims finalized height {} but cannot serve block {target} ({error})",
                    info.finalized_height
                )),
            },
            Ok(info) => standing
                .behind
                .push(format!("{id} at {}", info.finalized_height)),
            Err(error) => standing.behind.push(format!("{id} unreachable ({error})")),
        }
    }
    standing
}

#[async_trait]
impl Expectation for Recovery {
    fn name(&self) -> &str {
        "recovery"
    }

    fn requirements(&self) -> Requirements {
        // It reads heights and blocks through the testing API.
        Requirements::none().node_api()
    }

    async fn evaluate(&self, ctx: &RunContext) -> Result<Verdict, BoxError> {
        let started = tokio::time::Instant::now();
        let mut target = 0;
        for client in ctx.clients().values() {
            if let Ok(info) = client.info().await {
                target = target.max(info.finalized_height);
            }
        }
        let within = self.within.as_millis();
        // First every node on one block at the target, then everyone one
        // block further: converged and progressing again.
        let mut converged_ms = None;
        let mut goal = target;
        loop {
            let now = standing(ctx, goal).await;
            if !now.unservable.is_empty() {
                return Ok(Verdict::fail(now.unservable.join("; ")));
            }
            if now.behind.is_empty() && now.hashes.len() == 1 {
                let took = started.elapsed().as_millis();
                match converged_ms {
                    None => {
                        converged_ms = Some(took);
                        goal = target + 1;
                        continue;
                    }
                    Some(converged) => {
                        return Ok(Verdict::pass(format!(
                            "every node reached finalized height {target} with one hash within {converged} ms, and height {goal} within {took} ms"
                        ))
                        .figure("recovery_ms", converged as f64)
                        .figure("progress_ms", took as f64));
                    }
                }
            }
            if started.elapsed() >= self.within {
                let why = if now.behind.is_empty() {
                    format!("nodes disagree on the block at height {goal}")
                } else {
                    now.behind.join(", ")
                };
                return Ok(Verdict::fail(match converged_ms {
                    None => format!(
                        "not every node reached finalized height {target} within {within} ms: {why}"
                    ),
                    Some(converged) => format!(
                        "every node reached finalized height {target} within {converged} ms, but the chain did not finalize height {goal} within {within} ms ({why}): it stopped instead of recovering"
                    ),
                }));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
