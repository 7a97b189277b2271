//! A scenario file into the very builder the Rust API uses: each table
//! becomes the same calls a test would make, so the file and the Rust API
//! cannot drift apart.

use std::path::{Path, PathBuf};
use std::time::Duration;

use demo_node::DemoNode;
use testbed::blockfeed::Feed;
use testbed::expectations::{
    Agreement, DaAvailability, Liveness, LogLines, MetricAtLeast, Recovery, TxInclusion,
};
use testbed::ledger::Ledger;
use testbed::prelude::*;
use testbed::workloads::{Chaos, DaLoad, Selector, TxLoad};
use testbed::{NodeOverride, ScenarioBuilder};

use super::command_node::CommandKind;
use super::model::{ChaosEntry, ExpectTable, NodeTable, ScenarioFile, Who};

impl Who {
    fn selector(&self) -> Selector {
        match self {
            Self::AnyValidator => Selector::AnyOf(Role::Validator),
            Self::AnyExecutor => Selector::AnyOf(Role::Executor),
            Self::Any => Selector::Any,
            Self::Minority => Selector::Minority,
            Self::Majority => Selector::Majority,
            Self::Halves => Selector::Halves,
        }
    }
}

/// The builder for this file (`dir`: the file's directory, for relative
/// program paths), and the chaos schedule it plays (to print).
pub fn builder(
    file: &ScenarioFile,
    dir: &Path,
) -> Result<(ScenarioBuilder, Option<Chaos>), String> {
    let ledger = Ledger::new();
    let mut topology = Topology::new()
        .validators(file.topology.validators)
        .executors(file.topology.executors);
    for (id, table) in &file.topology.nodes {
        let mut change = NodeOverride::new();
        if let Some(program) = &table.program {
            change = change.program(resolve_program(program, dir)?);
        }
        if let Some(image) = &table.image {
            change = change.image(image.clone());
        }
        for arg in &table.args {
            change = change.arg(arg.clone());
        }
        for (name, value) in &table.env {
            change = change.env(name.clone(), value.clone());
        }
        topology = topology.override_node(id.as_str(), change);
    }
    let mut plan = Scenario::builder(file.name.clone())
        .topology(topology)
        .window(file.window.0);
    // The feed reads blocks through the testing contract: not for command
    // nodes that do not speak it.
    let speaks = !matches!(&file.node, NodeTable::Command(node) if node.client_port.is_none());
    if speaks {
        plan = plan.block_feed(Feed::new());
    }
    if let Some(seed) = file.seed {
        plan = plan.seed(seed);
    }
    if let Some(cooldown) = file.cooldown {
        plan = plan.cooldown(cooldown.0);
    }
    if let Some(deadline) = file.deadline {
        plan = plan.deadline(deadline.0);
    }
    plan = match &file.node {
        NodeTable::DemoNode {
            program,
            image,
            block_time,
        } => {
            // A program that is not here matters only to local runs: their
            // deploy says so (and `testbed doctor` before it); Docker runs
            // use the image.
            let mut node = match program {
                Some(program) => DemoNode::new(program_or_name(program, dir)),
                None => DemoNode::locate().unwrap_or_else(|_| DemoNode::new("demo-node")),
            };
            if let Some(image) = image {
                node = node.image(image.clone());
            }
            if let Some(block_time) = block_time {
                node = node.block_time(block_time.0);
            }
            plan.node_kind(node)
        }
        NodeTable::Command(command) => {
            let program = command
                .program
                .as_deref()
                .map(|program| program_or_name(program, dir));
            plan.node_kind(CommandKind::new(command.as_ref().clone(), program)?)
        }
    };
    if let Some(rate) = file.load.tx_rate {
        let mut load = TxLoad::new(rate, &ledger);
        if let Some(share) = file.load.max_failed_share {
            load = load.max_failed_share(share);
        }
        plan = plan.workload(load);
    }
    if let Some(rate) = file.load.blob_rate {
        plan = plan.workload(DaLoad::new(
            rate,
            file.load.blob_size.unwrap_or(4096),
            &ledger,
        ));
    }
    // Built twice, alike: one plays in the run, one is shown by `check`.
    if let Some(chaos) = chaos(&file.chaos) {
        plan = plan.workload(chaos);
    }
    let shown = chaos(&file.chaos).map(|chaos| chaos.window(file.window.0));
    Ok((expectations(plan, &file.expect, &ledger), shown))
}

/// A command node's program: absolute, relative to the scenario file, or a
/// bare name found next to this binary or on PATH.
pub fn resolve_program(program: &str, dir: &Path) -> Result<PathBuf, String> {
    let path = Path::new(program);
    if path.is_absolute() {
        return Ok(path.to_owned());
    }
    if program.contains('/') {
        return Ok(dir.join(path));
    }
    // Beside this binary, or up to two directories above it (a test
    // binary runs from `target/debug/deps`).
    let beside_me = std::env::current_exe()
        .ok()
        .map(|exe| {
            exe.ancestors()
                .skip(1)
                .take(3)
                .map(|dir| dir.join(program))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(program));
    beside_me
        .into_iter()
        .chain(on_path)
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            format!("[node] program `{program}` is neither next to the testbed binary nor on PATH")
        })
}

/// [`resolve_program`], or the name as given when it is nowhere to be found.
fn program_or_name(program: &str, dir: &Path) -> PathBuf {
    resolve_program(program, dir).unwrap_or_else(|_| PathBuf::from(program))
}

/// The `[[chaos]]` entries as one schedule, or none.
fn chaos(entries: &[ChaosEntry]) -> Option<Chaos> {
    if entries.is_empty() {
        return None;
    }
    let mut chaos = Chaos::new();
    for entry in entries {
        chaos = match entry {
            ChaosEntry::Restart { at, who, down_for } => {
                let chaos = chaos.restart_at(at.0, who.selector());
                match down_for {
                    Some(down) => chaos.down_for(down.0),
                    None => chaos,
                }
            }
            ChaosEntry::Restarts {
                every_min,
                every_max,
                who,
                down_for,
            } => {
                let chaos = chaos.restarts(every_min.0, every_max.0, who.selector());
                match down_for {
                    Some(down) => chaos.down_for(down.0),
                    None => chaos,
                }
            }
            ChaosEntry::Pause { at, duration, who } => {
                chaos.pause_at(at.0, duration.0, who.selector())
            }
            ChaosEntry::Partition { at, duration, who } => {
                chaos.partition_at(at.0, duration.0, who.selector())
            }
            ChaosEntry::LinkFault {
                at,
                duration,
                latency,
                loss,
            } => chaos.link_fault_at(
                at.0,
                duration.0,
                latency.map_or(Duration::ZERO, |latency| latency.0),
                *loss,
            ),
        };
    }
    Some(chaos)
}

fn expectations(
    mut plan: ScenarioBuilder,
    expect: &ExpectTable,
    ledger: &Ledger,
) -> ScenarioBuilder {
    if let Some(liveness) = &expect.liveness {
        plan = plan.expectation(Liveness::new(liveness.blocks, liveness.window.0));
    }
    if let Some(inclusion) = &expect.tx_inclusion {
        let mut judge = TxInclusion::at_least(inclusion.percent.unwrap_or(100.0), ledger);
        if let Some(bound) = inclusion.p50_below {
            judge = judge.p50_below(bound.0);
        }
        if let Some(bound) = inclusion.p99_below {
            judge = judge.p99_below(bound.0);
        }
        plan = plan.expectation(judge);
    }
    if let Some(availability) = &expect.da_availability {
        plan = plan.expectation(DaAvailability::at_least(
            availability.percent.unwrap_or(100.0),
            ledger,
        ));
    }
    if expect.agreement {
        plan = plan.expectation(Agreement);
    }
    if let Some(within) = expect.recovery_within {
        plan = plan.expectation(Recovery::within(within.0));
    }
    for metric in &expect.metric_at_least {
        plan = plan.expectation(MetricAtLeast::new(metric.metric.clone(), metric.value));
    }
    for text in &expect.logs_must_not_contain {
        plan = plan.expectation(LogLines::must_not_contain(text.clone()));
    }
    plan
}
