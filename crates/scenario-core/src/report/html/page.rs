//! The page of `report.html`: the header with the verdict and how the run
//! was set up, then verdicts, the charts, fault windows, nodes, phases and
//! workloads, each a plain table or an inline SVG.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::chart::{COLORS, Plot, Series, lanes, plot};
use super::{Timeframe, seconds};
use crate::report::{PhaseStatus, Report};
use crate::scenario::human;

const STYLE: &str = "\
body{font-family:system-ui,sans-serif;color:#222;max-width:960px;margin:2em auto;padding:0 1em}\
h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}h3{margin-bottom:.3em}\
table{border-collapse:collapse;margin:.5em 0}\
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#f4f4f4}td.num{text-align:right}\
.pass{color:#2ca02c}.fail{color:#d62728;font-weight:bold}.meta{color:#555}\
pre{white-space:pre-wrap;margin:0}\
.legend{list-style:none;padding:0;margin:.2em 0 0 64px}\
.legend li{display:inline-block;margin-right:1.2em;font-size:.9em}\
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.35em;vertical-align:middle}\
svg.chart{font-family:system-ui,sans-serif;font-size:11px;display:block}\
svg .grid{stroke:#eee}svg .axis{stroke:#333}svg .mark{stroke:#555;stroke-dasharray:3,3}\
svg .lane{font-size:10.5px}";

/// The whole page.
pub(super) fn page(report: &Report, frame: &Timeframe) -> Markup {
    let verdict = if report.passed { "PASSED" } else { "FAILED" };
    let class = if report.passed { "pass" } else { "fail" };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { (report.scenario) " " (verdict) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                h1 { (report.scenario) " " span class=(class) { (verdict) } }
                (header(report))
                @if !report.failures.is_empty() {
                    h2 { "Failures" }
                    ul { @for failure in &report.failures { li { pre { (failure) } } } }
                }
                (verdicts(report))
                (over_time(report, frame))
                (nodes(report))
                (phases(report))
                (workloads(report))
                p class="meta" { "Machine-readable: " code { "report.json" } ", " code { "junit.xml" } "." }
            }
        }
    }
}

fn header(report: &Report) -> Markup {
    let ms = |ms: u64| human(std::time::Duration::from_millis(ms));
    html! {
        p class="meta" {
            "run " code { (report.run_id) } " on " (report.deployer)
            " · seed " code { (report.seed) } " · started " (report.started_at)
        }
        p class="meta" {
            "window " (ms(report.window_ms)) " · cooldown " (ms(report.cooldown_ms))
            " · deadline " (ms(report.deadline_ms)) " · " (report.nodes.len()) " nodes"
        }
        @if !report.passed {
            p { "replay: " code { (report.replay) } }
        }
    }
}

fn verdicts(report: &Report) -> Markup {
    html! {
        h2 { "Verdicts" }
        table {
            tr { th { "expectation" } th { "verdict" } th { "why" } th { "figures" } }
            @for e in &report.expectations {
                tr {
                    td { (e.name) }
                    @if e.passed { td class="pass" { "pass" } } @else { td class="fail" { "FAIL" } }
                    td { (e.message) }
                    td {
                        @for (index, (name, value)) in e.figures.iter().enumerate() {
                            @if index > 0 { ", " }
                            (name) " = " (value)
                        }
                    }
                }
            }
        }
    }
}

fn over_time(report: &Report, frame: &Timeframe) -> Markup {
    let heights: Vec<Series> = report
        .heights
        .iter()
        .map(|(node, points)| {
            let points = points
                .iter()
                .map(|p| [seconds(p[0]), p[1] as f64])
                .collect();
            (node.to_string(), points)
        })
        .collect();
    html! {
        h2 { "Over time" }
        p class="meta" {
            "Shaded: network faults (red) and nodes down or paused (grey); "
            "dashed: node actions. Hover for details."
        }
        h3 { "Finalized height per node" }
        @if heights.is_empty() {
            p { "(no block feed: add " code { ".block_feed(blockfeed::Feed::new())" } " to plot heights)" }
        } @else {
            (plot(frame, &Plot { y_label: "height", lines: &heights, scatter: false }))
            (legend(&heights))
        }
        @for e in &report.expectations {
            @for (name, points) in &e.series {
                h3 { (e.name) ": " (name) }
                (plot(frame, &Plot { y_label: name, lines: &[(name.clone(), points.clone())], scatter: true }))
            }
        }
        h3 { "Fault windows" }
        @if frame.windows.is_empty() {
            p { "No network fault was applied and no node was down." }
        } @else {
            (lanes(frame))
            table {
                tr { th { "from" } th { "until" } th { "what" } }
                @for window in &frame.windows {
                    tr {
                        td class="num" { (format!("{:.1} s", seconds(window.from_ms))) }
                        td class="num" {
                            @match window.until_ms {
                                Some(until) => (format!("{:.1} s", seconds(until))),
                                None => "the end",
                            }
                        }
                        td { (window.disruption) }
                    }
                }
            }
        }
    }
}

fn legend(lines: &[Series]) -> Markup {
    html! {
        ul class="legend" {
            @for (index, (label, _)) in lines.iter().enumerate() {
                li {
                    span class="swatch" style={"background:" (COLORS[index % COLORS.len()])} {}
                    (label)
                }
            }
        }
    }
}

fn nodes(report: &Report) -> Markup {
    html! {
        h2 { "Nodes" }
        table {
            tr { th { "node" } th { "role" } th { "joined" } }
            @for node in &report.nodes {
                tr {
                    td { (node.id) }
                    td { (node.role) }
                    td {
                        @if let Some(at) = node.joined_at_ms {
                            (format!("at {:.1} s", seconds(at)))
                        } @else {
                            "at deploy"
                        }
                    }
                }
            }
        }
    }
}

fn phases(report: &Report) -> Markup {
    html! {
        h2 { "Phases" }
        table {
            tr { th { "phase" } th { "ms" } th { "status" } }
            @for p in &report.phases {
                tr {
                    td { (p.name) }
                    td class="num" { (p.duration_ms) }
                    @let failed = matches!(p.status, PhaseStatus::Failed | PhaseStatus::CutShort);
                    td class=[failed.then_some("fail")] { (status(p.status)) }
                }
            }
        }
    }
}

fn status(status: PhaseStatus) -> &'static str {
    match status {
        PhaseStatus::Completed => "completed",
        PhaseStatus::Failed => "failed",
        PhaseStatus::CutShort => "cut short",
        PhaseStatus::Skipped => "skipped",
    }
}

fn workloads(report: &Report) -> Markup {
    html! {
        h2 { "Workloads" }
        table {
            tr {
                th { "workload" } th { "submitted" } th { "accepted" } th { "failed" } th { "error" }
            }
            @for w in &report.workloads {
                tr {
                    td { (w.name) }
                    td class="num" { (w.stats.submitted) }
                    td class="num" { (w.stats.accepted) }
                    td class="num" { (w.stats.failed) }
                    td { (w.error.as_deref().unwrap_or("")) }
                }
            }
        }
    }
}
