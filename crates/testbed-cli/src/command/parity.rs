//! `testbed parity FILE --on local,compose`: one scenario, with one seed, on
//! several backends, one after the other; then verdicts and key figures side
//! by side (deploy time, block rate, inclusion latency percentiles, recovery
//! time), each figure flagged where a backend is off the first one by more
//! than the tolerance. Exit 0 when every run passed with the same verdicts,
//! 1 otherwise; figures only flag.

use std::path::Path;

use testbed::Report;
use testbed::report::Phase;

use crate::{Backend, exit};

/// One row of the table: a name and each backend's value.
type Row = (String, Vec<Option<f64>>);

pub(crate) fn run(path: &Path, backends: &[Backend], seed: Option<u64>, tolerance: f64) -> u8 {
    // One seed for every backend: the same faults on the same nodes.
    let seed = match (seed, super::plan(path, seed)) {
        (_, Err(code)) => return code,
        (Some(seed), _) => seed,
        (None, Ok(planned)) => planned.scenario.seed(),
    };
    let mut reports = Vec::new();
    for &on in backends {
        let planned = match super::plan(path, Some(seed)) {
            Ok(planned) => planned,
            Err(code) => return code,
        };
        println!("parity: running on {} with seed {seed}", name(on));
        match super::run::execute(planned, on, false) {
            Ok(report) => reports.push(report),
            Err(why) => {
                eprintln!("testbed: on {}: {why}", name(on));
                return exit::ENVIRONMENT;
            }
        }
    }
    let verdicts_differ = print_table(&reports, tolerance);
    for report in &reports {
        println!("{}: {}", report.deployer, report.path().display());
    }
    if verdicts_differ || reports.iter().any(|r| !r.passed) {
        exit::FAILED
    } else {
        exit::PASSED
    }
}

fn name(on: Backend) -> &'static str {
    match on {
        Backend::Local => "local",
        Backend::Compose => "compose",
        Backend::K8s => "k8s",
    }
}

/// Print the table; whether any verdict differs between backends.
fn print_table(reports: &[Report], tolerance: f64) -> bool {
    let header: Vec<String> = reports
        .iter()
        .map(|r| format!("{:>12}", r.deployer))
        .collect();
    println!("{:<28}{}", "", header.join(""));
    let mut verdicts_differ = false;
    if let Some(first) = reports.first() {
        for verdict in &first.expectations {
            let marks: Vec<&str> = reports
                .iter()
                .map(
                    |r| match r.expectations.iter().find(|v| v.name == verdict.name) {
                        Some(v) if v.passed => "pass",
                        Some(_) => "FAIL",
                        None => "-",
                    },
                )
                .collect();
            let differs = marks.iter().any(|m| *m != marks[0]);
            verdicts_differ |= differs;
            let cells: Vec<String> = marks.iter().map(|m| format!("{m:>12}")).collect();
            println!(
                "{:<28}{}{}",
                format!("verdict {}", verdict.name),
                cells.join(""),
                if differs { "   DIFFERS" } else { "" }
            );
        }
    }
    for (label, values) in figures(reports) {
        let cells: Vec<String> = values
            .iter()
            .map(|v| v.map_or_else(|| format!("{:>12}", "-"), |v| format!("{v:>12.1}")))
            .collect();
        let flag = match (values.first().copied().flatten(), values.iter().skip(1)) {
            (Some(base), rest) => {
                let off: Vec<f64> = rest
                    .flatten()
                    .map(|v| {
                        if base.abs() > f64::EPSILON {
                            v / base
                        } else {
                            f64::INFINITY
                        }
                    })
                    .filter(|ratio| (ratio - 1.0).abs() > tolerance)
                    .collect();
                if off.is_empty() {
                    String::new()
                } else {
                    let ratios: Vec<String> = off.iter().map(|r| format!("{r:.2}×")).collect();
                    format!("   differs ({})", ratios.join(", "))
                }
            }
            _ => String::new(),
        };
        println!("{label:<28}{}{flag}", cells.join(""));
    }
    verdicts_differ
}

/// The key figures of each report.
fn figures(reports: &[Report]) -> Vec<Row> {
    let figure = |judge: &str, name: &str| -> Vec<Option<f64>> {
        reports
            .iter()
            .map(|r| {
                r.expectations
                    .iter()
                    .find(|v| v.name == judge)
                    .and_then(|v| v.figures.get(name).copied())
            })
            .collect()
    };
    let deploy = reports
        .iter()
        .map(|r| {
            r.phases
                .iter()
                .find(|p| p.name == Phase::Deploy)
                .map(|p| p.duration_ms as f64)
        })
        .collect();
    let block_rate = reports
        .iter()
        .map(|r| {
            let top = r
                .heights
                .values()
                .filter_map(|s| s.last())
                .map(|p| p[1])
                .max()?;
            Some(top as f64 / (r.window_ms as f64 / 1000.0).max(1e-3))
        })
        .collect();
    vec![
        ("deploy (ms)".to_owned(), deploy),
        ("blocks per second".to_owned(), block_rate),
        (
            "inclusion p50 (ms)".to_owned(),
            figure("tx-inclusion", "latency_p50_ms"),
        ),
        (
            "inclusion p99 (ms)".to_owned(),
            figure("tx-inclusion", "latency_p99_ms"),
        ),
        (
            "recovery (ms)".to_owned(),
            figure("recovery", "recovery_ms"),
        ),
    ]
}
