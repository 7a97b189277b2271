//! `testbed show RUN [--block H] [--tx ID] [--heights NODE]`: a run's
//! summary from its artifacts (verdicts, faults and node actions, figures),
//! and queries over its recorded history: a block at a height on each node
//! (`blocks.ndjson`), a transaction's path from submission to inclusion
//! (`txs.ndjson` and `blocks.ndjson`), a node's height over time.

use std::io::BufRead as _;
use std::path::Path;

use testbed::ledger::TxRecord;
use testbed::{EventKind, NodeCause, ObservedBlock, Report};

use crate::exit;

/// What to show besides the summary.
pub(crate) struct Query {
    pub(crate) block: Option<u64>,
    pub(crate) tx: Option<String>,
    pub(crate) heights: Option<String>,
}

pub(crate) fn run(run: &str, query: &Query) -> u8 {
    let (dir, report) = match super::recorded(run) {
        Ok(found) => found,
        Err(code) => return code,
    };
    if let Some(height) = query.block {
        show_block(&dir, height);
    } else if let Some(tx) = &query.tx {
        show_tx(&dir, &report, tx);
    } else if let Some(node) = &query.heights {
        show_heights(&report, node);
    } else {
        summary(&report);
    }
    exit::PASSED
}

fn summary(report: &Report) {
    println!(
        "run {}: scenario '{}' on {}, seed {}, started {}: {}",
        report.run_id,
        report.scenario,
        report.deployer,
        report.seed,
        report.started_at,
        if report.passed { "passed" } else { "FAILED" }
    );
    let phases: Vec<String> = report
        .phases
        .iter()
        .map(|p| format!("{} {:.1} s", p.name, p.duration_ms as f64 / 1000.0))
        .collect();
    println!("phases: {}", phases.join(", "));
    println!("verdicts:");
    for verdict in &report.expectations {
        let mark = if verdict.passed { "pass" } else { "FAIL" };
        println!("  {mark}  {}: {}", verdict.name, verdict.message);
    }
    println!("faults and node actions:");
    let fault_or_action = |event: &&testbed::Event| {
        matches!(
            event.kind,
            EventKind::FaultApplied
                | EventKind::FaultHealed
                | EventKind::FaultFailed
                | EventKind::NodeExited
        ) || event
            .cause
            .as_ref()
            .is_some_and(NodeCause::is_control_action)
    };
    for event in report.events.iter().filter(fault_or_action) {
        println!(
            "  at {:>7.1} s  {:?} {}: {}",
            event.at_ms as f64 / 1000.0,
            event.kind,
            event.node.as_ref().map_or("network", |n| n.as_str()),
            event.detail
        );
    }
    println!("figures:");
    for verdict in &report.expectations {
        for (name, value) in &verdict.figures {
            println!("  {}.{name} = {value}", verdict.name);
        }
    }
}

/// Each line of an ndjson artifact that parses as `T`.
fn lines<T: serde::de::DeserializeOwned>(path: &Path) -> impl Iterator<Item = T> {
    let file = std::fs::File::open(path).ok();
    file.into_iter().flat_map(|file| {
        std::io::BufReader::new(file)
            .lines()
            .map_while(Result::ok)
            .filter_map(|line| serde_json::from_str(&line).ok())
    })
}

fn show_block(dir: &Path, height: u64) {
    let mut seen = 0;
    for observed in lines::<ObservedBlock>(&dir.join(testbed::blockfeed::HISTORY_FILE)) {
        if observed.block.height != height {
            continue;
        }
        seen += 1;
        let block = &observed.block;
        println!(
            "{} finalized height {height} (seen at {:.1} s): hash {}, parent {}, proposer {}, {} transactions, {} blobs",
            observed.node,
            observed.observed_at_ms as f64 / 1000.0,
            block.hash,
            block.parent,
            block.proposer,
            block.txs.len(),
            block.blobs.len()
        );
    }
    if seen == 0 {
        println!("no node was seen finalizing height {height}");
    }
}

fn show_tx(dir: &Path, report: &Report, id: &str) {
    let started_ms = humantime::parse_rfc3339(&report.started_at)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
    let in_run = |unix_ms: u64| unix_ms.saturating_sub(started_ms) as f64 / 1000.0;
    let sent = lines::<TxRecord>(&dir.join(testbed::workloads::TX_HISTORY_FILE))
        .find(|record| record.id.as_ref().is_some_and(|tx| tx.0 == id));
    match &sent {
        Some(record) => println!(
            "{id}: submitted to {} at {:.1} s, accepted",
            record.node,
            in_run(record.submitted_at_ms)
        ),
        None => println!("{id}: not among the transactions the run's loads sent"),
    }
    let included = lines::<ObservedBlock>(&dir.join(testbed::blockfeed::HISTORY_FILE))
        .find(|observed| observed.block.txs.iter().any(|tx| tx.0 == id));
    match included {
        Some(observed) => println!(
            "{id}: included at height {} (committed at {:.1} s{}), first seen finalized on {} at {:.1} s",
            observed.block.height,
            in_run(observed.block.committed_at_ms),
            sent.map_or_else(String::new, |record| format!(
                ", {} ms after it was sent",
                observed
                    .block
                    .committed_at_ms
                    .saturating_sub(record.submitted_at_ms)
            )),
            observed.node,
            observed.observed_at_ms as f64 / 1000.0
        ),
        None => println!("{id}: in no finalized block the run saw"),
    }
}

fn show_heights(report: &Report, node: &str) {
    let Some((id, series)) = report.heights.iter().find(|(id, _)| id.as_str() == node) else {
        let known: Vec<&str> = report.heights.keys().map(testbed::NodeId::as_str).collect();
        println!(
            "no heights recorded for {node}; nodes: {}",
            known.join(", ")
        );
        return;
    };
    println!("{id}'s finalized height over time (s, height):");
    for [at_ms, height] in series {
        println!("  {:>8.1}  {height}", *at_ms as f64 / 1000.0);
    }
}
