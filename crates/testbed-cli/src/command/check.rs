//! `testbed check FILE`: validate a scenario file and print the resolved
//! plan (nodes, window, workloads, expectations, the fault schedule for the
//! seed) without starting anything.

use std::path::Path;

use testbed::workloads::PlannedFault;

use crate::exit;

pub(crate) fn run(path: &Path, seed: Option<u64>) -> u8 {
    let (plan, chaos) = match super::plan(path, seed) {
        Ok(planned) => (planned.scenario, planned.chaos),
        Err(code) => return code,
    };
    println!("scenario '{}': valid", plan.name());
    println!(
        "seed {} ({})",
        plan.seed(),
        match plan.seed_source() {
            testbed::report::SeedSource::Random => {
                "random: pass --seed to run and check with the same one"
            }
            _ => "fixed",
        }
    );
    println!(
        "window {:?}, cooldown {:?}, deadline {:?}",
        plan.window(),
        plan.cooldown(),
        plan.deadline()
    );
    println!("nodes ({}):", plan.nodes().len());
    for slot in plan.nodes() {
        let change = &slot.overrides;
        let mut differs = Vec::new();
        if let Some(program) = &change.program {
            differs.push(format!("program {}", program.display()));
        }
        if let Some(image) = &change.image {
            differs.push(format!("image {image}"));
        }
        if !change.args.is_empty() {
            differs.push(format!("args {}", change.args.join(" ")));
        }
        for (name, value) in &change.env {
            differs.push(format!("{name}={value}"));
        }
        if differs.is_empty() {
            println!("  {} ({})", slot.id, slot.role);
        } else {
            println!("  {} ({}): {}", slot.id, slot.role, differs.join(", "));
        }
    }
    println!("workloads:");
    for workload in plan.workloads() {
        println!("  {}", workload.name());
    }
    println!("expectations:");
    for expectation in plan.expectations() {
        println!("  {}", expectation.name());
    }
    let schedule = chaos
        .map(|chaos| chaos.plan(plan.seed(), plan.nodes()))
        .unwrap_or_default();
    println!("fault schedule ({}):", schedule.len());
    for fault in &schedule {
        println!(
            "  at {:>7.1} s  {}",
            fault.at().as_secs_f64(),
            describe(fault)
        );
    }
    exit::PASSED
}

/// One planned fault in a line: who, what, and when it is undone.
fn describe(fault: &PlannedFault) -> String {
    let what = match fault {
        PlannedFault::Node { node, action, .. } => {
            format!(
                "{node}: {}",
                serde_json::to_string(action).unwrap_or_default()
            )
        }
        PlannedFault::Network { fault, .. } => {
            format!(
                "network: {}",
                serde_json::to_string(fault).unwrap_or_default()
            )
        }
        other => format!("{other:?}"),
    };
    match fault.heal_after() {
        Some(after) => format!("{what}, undone after {:.1} s", after.as_secs_f64()),
        None => what,
    }
}
