//! `testbed runs`: the runs this user started with `testbed run` or
//! `replay` whose artifacts still exist, with their key figures.

use testbed::Report;
use testbed_cli::history;

use crate::exit;

pub(crate) fn run() -> u8 {
    let runs = history::runs();
    if runs.is_empty() {
        println!("no runs yet (runs started with `testbed run` are listed here)");
    }
    for entry in runs {
        let Ok(report) = Report::read(&entry.artifacts_dir.join(testbed::report::REPORT_FILE))
        else {
            continue;
        };
        let failed: Vec<&str> = report
            .expectations
            .iter()
            .filter(|v| !v.passed)
            .map(|v| v.name.as_str())
            .collect();
        let figure = |judge: &str, name: &str| {
            report
                .expectations
                .iter()
                .find(|v| v.name == judge)
                .and_then(|v| v.figures.get(name))
                .map_or_else(|| "-".to_owned(), |value| format!("{value:.0}"))
        };
        println!(
            "{}  {:<7}  {:<6}  {}  seed {}  inclusion p50 {} ms p99 {} ms{}  {}",
            report.run_id,
            report.deployer,
            if report.passed { "passed" } else { "FAILED" },
            report.started_at,
            report.seed,
            figure("tx-inclusion", "latency_p50_ms"),
            figure("tx-inclusion", "latency_p99_ms"),
            if failed.is_empty() {
                String::new()
            } else {
                format!("  failed: {}", failed.join(", "))
            },
            entry.artifacts_dir.display()
        );
    }
    exit::PASSED
}
