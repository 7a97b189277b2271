//! Test-only misbehaviour switches (`--misbehave KIND`, repeatable): bugs
//! planted on purpose so that testbed's end-to-end suite can prove that its
//! judges catch them. Each one acts in the node's real code path (the
//! proposal timer, the mempool, block acceptance, blob storage); only
//! `inflate-height` fakes an answer, because that bug *is* a lie. Never use
//! them outside tests.

use std::time::Duration;

use crate::block::Block;

/// Every kind, as `--help` and the errors list them.
pub(crate) const KINDS: &str = "stall-proposals[=H], drop-txs=P, fork-at=H, lose-blobs-after=T, \
                                no-catch-up, inflate-height=K, delay-proposals=N";

/// The switches a node runs with; the default misbehaves in no way.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Misbehaviour {
    /// As leader, propose no block once the chain is this high (0: never).
    pub(crate) stall_proposals_at: Option<u64>,
    /// Accept, then silently drop, this share (in %) of new transactions.
    pub(crate) drop_txs_percent: u64,
    /// The block at this height that this node accepts from a leader (or
    /// pulls) is replaced by one of its own making.
    pub(crate) fork_at: Option<u64>,
    /// Delete every blob this long after the block certifying it committed.
    pub(crate) lose_blobs_after: Option<Duration>,
    /// After a restart, never apply a block proposed before the process
    /// started.
    pub(crate) no_catch_up: bool,
    /// Report the height and finalized height this much higher than they are.
    pub(crate) inflate_height: u64,
    /// As leader, wait this long more before each proposal.
    pub(crate) delay_proposals: Duration,
}

fn number(kind: &str, value: Option<&str>, what: &str) -> Result<u64, String> {
    let value =
        value.ok_or_else(|| format!("--misbehave {kind} needs a value: {kind}=<{what}>"))?;
    value.parse().map_err(|_| {
        format!("--misbehave {kind}={value}: {value:?} is not a whole number of {what}")
    })
}

impl Misbehaviour {
    /// Parse the `--misbehave` values; an error names the bad one.
    pub(crate) fn parse(switches: &[String]) -> Result<Self, String> {
        let mut parsed = Self::default();
        for switch in switches {
            let (kind, value) = match switch.split_once('=') {
                Some((kind, value)) => (kind, Some(value)),
                None => (switch.as_str(), None),
            };
            let no_value = || match value {
                Some(value) => Err(format!("--misbehave {kind} takes no value (got {value:?})")),
                None => Ok(()),
            };
            match kind {
                "stall-proposals" => {
                    let height = match value {
                        Some(_) => number(kind, value, "blocks")?,
                        None => 0,
                    };
                    parsed.stall_proposals_at = Some(height);
                }
                "drop-txs" => {
                    let percent = number(kind, value, "percent")?;
                    if !(1..=100).contains(&percent) {
                        return Err(format!(
                            "--misbehave drop-txs must be between 1 and 100 % (got {percent})"
                        ));
                    }
                    parsed.drop_txs_percent = percent;
                }
                "fork-at" => {
                    let height = number(kind, value, "blocks")?;
                    if height == 0 {
                        return Err(
                            "--misbehave fork-at must name a height of 1 or more".to_owned()
                        );
                    }
                    parsed.fork_at = Some(height);
                }
                "lose-blobs-after" => {
                    let seconds = number(kind, value, "seconds")?;
                    parsed.lose_blobs_after = Some(Duration::from_secs(seconds));
                }
                "no-catch-up" => {
                    no_value()?;
                    parsed.no_catch_up = true;
                }
                "inflate-height" => parsed.inflate_height = number(kind, value, "blocks")?,
                "delay-proposals" => {
                    parsed.delay_proposals = Duration::from_millis(number(kind, value, "ms")?);
                }
                other => {
                    return Err(format!(
                        "--misbehave {other:?} is not a misbehaviour; the kinds are {KINDS}"
                    ));
                }
            }
        }
        Ok(parsed)
    }

    /// Whether any switch is on.
    pub(crate) fn any(&self) -> bool {
        *self != Self::default()
    }

    /// Whether a leader with its chain at `height` must skip proposing.
    pub(crate) fn stalls_at(&self, height: u64) -> bool {
        self.stall_proposals_at.is_some_and(|at| height >= at)
    }
}

/// The misbehaviours that act inside the consensus state machine (pure, so
/// it gets its clock reading, the process start, from outside).
#[derive(Clone, Debug, Default)]
pub(crate) struct ChainFaults {
    /// See [`Misbehaviour::fork_at`].
    pub(crate) fork_at: Option<u64>,
    /// Blocks proposed before this unix time (ms) are refused: `no-catch-up`
    /// on a node that restarted with a chain on disk.
    pub(crate) refuse_proposed_before_ms: Option<u64>,
}

impl ChainFaults {
    /// The block to accept in place of `block`: at the fork height, a block
    /// of the same height, parent and contents with another timestamp, so
    /// another hash (the same one each time the block is delivered again).
    pub(crate) fn accepted(&self, block: Block) -> Block {
        if self.fork_at != Some(block.height) {
            return block;
        }
        Block::new(
            block.height,
            block.parent,
            block.term,
            block.proposer,
            block.proposed_at_ms.wrapping_add(1),
            block.txs,
            block.certs,
        )
    }

    /// Whether `block` is history this node refuses to sync.
    pub(crate) fn refuses(&self, block: &Block) -> bool {
        self.refuse_proposed_before_ms
            .is_some_and(|start| block.proposed_at_ms < start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::GENESIS_HASH;

    fn parse(switches: &[&str]) -> Result<Misbehaviour, String> {
        Misbehaviour::parse(&switches.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn every_kind_parses_and_they_combine() {
        let all = parse(&[
            "stall-proposals=7",
            "drop-txs=4",
            "fork-at=12",
            "lose-blobs-after=3",
            "no-catch-up",
            "inflate-height=50",
            "delay-proposals=250",
        ])
        .unwrap();
        assert_eq!(all.stall_proposals_at, Some(7));
        assert_eq!(all.drop_txs_percent, 4);
        assert_eq!(all.fork_at, Some(12));
        assert_eq!(all.lose_blobs_after, Some(Duration::from_secs(3)));
        assert!(all.no_catch_up);
        assert_eq!(all.inflate_height, 50);
        assert_eq!(all.delay_proposals, Duration::from_millis(250));
        assert!(all.stalls_at(7) && !all.stalls_at(6));
        assert!(parse(&["stall-proposals"]).unwrap().stalls_at(0));
        assert!(!parse(&[]).unwrap().any());
    }

    #[test]
    fn a_bad_switch_is_named_with_the_accepted_forms() {
        let cases = [
            (
                &["drop-txs=0"][..],
                "--misbehave drop-txs must be between 1 and 100 % (got 0)",
            ),
            (
                &["fork-at"],
                "--misbehave fork-at needs a value: fork-at=<blocks>",
            ),
            (&["no-catch-up=1"], "--misbehave no-catch-up takes no value"),
            (
                &["delay-proposals=soon"],
                "\"soon\" is not a whole number of ms",
            ),
            (
                &["explode"],
                "--misbehave \"explode\" is not a misbehaviour; the kinds are stall-proposals",
            ),
        ];
        for (switches, expected) in cases {
            let error = parse(switches).unwrap_err();
            assert!(
                error.contains(expected),
                "{error:?} should contain {expected:?}"
            );
        }
    }

    #[test]
    fn the_forged_block_differs_from_the_real_one_the_same_way_every_time() {
        let real = Block::new(
            3,
            GENESIS_HASH.to_owned(),
            1,
            "v".to_owned(),
            10,
            vec![],
            vec![],
        );
        let faults = ChainFaults {
            fork_at: Some(3),
            refuse_proposed_before_ms: Some(11),
        };
        let forged = faults.accepted(real.clone());
        assert_ne!(forged.hash, real.hash);
        assert_eq!(forged.hash, forged.computed_hash());
        assert_eq!(faults.accepted(real.clone()), forged);
        assert_eq!(ChainFaults::default().accepted(real.clone()), real);
        assert!(faults.refuses(&real) && !faults.refuses(&forged));
    }
}
