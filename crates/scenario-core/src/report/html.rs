//! `report.html`: the run as one self-contained page (inline SVG, no script,
//! nothing fetched): the verdicts, each node's finalized height over time,
//! every series an expectation plotted (e.g. inclusion latency), fault
//! windows shaded on the same time axis, phases and workloads.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::report::Report;
use crate::timeline::EventKind;

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 40.0;
const COLORS: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Network fault windows `(from_s, to_s, what)` and node actions `(at_s, what)`.
type Faults = (Vec<(f64, f64, String)>, Vec<(f64, String)>);

fn faults(report: &Report, end_s: f64) -> Faults {
    let mut open: BTreeMap<String, (f64, String)> = BTreeMap::new();
    let mut windows = Vec::new();
    let mut marks = Vec::new();
    for event in &report.events {
        let at = event.at_ms as f64 / 1000.0;
        match event.kind {
            EventKind::FaultApplied => {
                let (id, what) = event.detail.split_once(": ").unwrap_or(("", &event.detail));
                open.insert(id.to_owned(), (at, what.to_owned()));
            }
            EventKind::FaultHealed => {
                let id = event.detail.trim_end_matches(" healed");
                let healed: Vec<String> = if open.contains_key(id) {
                    vec![id.to_owned()]
                } else {
                    open.keys().cloned().collect()
                };
                for key in healed {
                    if let Some((from, what)) = open.remove(&key) {
                        windows.push((from, at, what));
                    }
                }
            }
            EventKind::NodeRestarted
            | EventKind::NodeStopped
            | EventKind::NodeStarted
            | EventKind::NodeKilled
            | EventKind::NodePaused
            | EventKind::NodeResumed
            | EventKind::NodeExited
            | EventKind::NodeJoined
                if event.detail != "fake node started" && !event.detail.starts_with("pid ") =>
            {
                let node = event
                    .node
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                marks.push((at, format!("{} {node}", event.kind)));
            }
            _ => {}
        }
    }
    for (from, what) in open.into_values() {
        windows.push((from, end_s, what));
    }
    (windows, marks)
}

struct Chart<'a> {
    title: &'a str,
    y_label: &'a str,
    end_s: f64,
    scatter: bool,
}

fn chart(out: &mut String, chart: &Chart<'_>, lines: &[(String, Vec<[f64; 2]>)], faults: &Faults) {
    let y_max = lines
        .iter()
        .flat_map(|(_, p)| p.iter().map(|p| p[1]))
        .fold(1.0_f64, f64::max)
        * 1.05;
    let x_max = chart.end_s.max(1.0);
    let x = |s: f64| LEFT + (s / x_max) * (WIDTH - LEFT - RIGHT);
    let y = |v: f64| TOP + (1.0 - v / y_max) * (HEIGHT - TOP - BOTTOM);
    let _ = writeln!(out, "<h3>{}</h3>", escape(chart.title));
    let _ = writeln!(
        out,
        "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" xmlns=\"http://www.w3.org/2000/svg\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    for (from, to, what) in &faults.0 {
        let _ = writeln!(
            out,
            "<rect x=\"{:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#d62728\" fill-opacity=\"0.12\"><title>{}</title></rect>",
            x(*from),
            (x(*to) - x(*from)).max(1.0),
            HEIGHT - TOP - BOTTOM,
            escape(what)
        );
    }
    for (at, what) in &faults.1 {
        let _ = writeln!(
            out,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{TOP}\" y2=\"{1:.1}\" stroke=\"#555\" stroke-dasharray=\"3,3\"><title>{2}</title></line>",
            x(*at),
            HEIGHT - BOTTOM,
            escape(what)
        );
    }
    let _ = writeln!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#000\"/>",
        HEIGHT - BOTTOM,
        WIDTH - RIGHT
    );
    let _ = writeln!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{}\" stroke=\"#000\"/>",
        HEIGHT - BOTTOM
    );
    for tick in 0..=5 {
        let fraction = f64::from(tick) / 5.0;
        let (tx, ty) = (x(x_max * fraction), y(y_max * fraction));
        let _ = writeln!(
            out,
            "<text x=\"{tx:.1}\" y=\"{}\" text-anchor=\"middle\">{:.0}s</text>",
            HEIGHT - BOTTOM + 15.0,
            x_max * fraction
        );
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{:.0}</text>",
            LEFT - 5.0,
            ty + 4.0,
            y_max * fraction
        );
    }
    let _ = writeln!(
        out,
        "<text x=\"12\" y=\"{}\" transform=\"rotate(-90 12 {0})\" text-anchor=\"middle\">{}</text>",
        HEIGHT / 2.0,
        escape(chart.y_label)
    );
    for (index, (label, points)) in lines.iter().enumerate() {
        let color = COLORS[index % COLORS.len()];
        if chart.scatter {
            for point in points {
                let _ = writeln!(
                    out,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"1.8\" fill=\"{color}\"/>",
                    x(point[0]),
                    y(point[1])
                );
            }
        } else {
            let path: Vec<String> = points
                .iter()
                .map(|p| format!("{:.1},{:.1}", x(p[0]), y(p[1])))
                .collect();
            let _ = writeln!(
                out,
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{}\"/>",
                path.join(" ")
            );
        }
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"{color}\">{}</text>",
            WIDTH - RIGHT - 110.0,
            TOP + 12.0 + 13.0 * index as f64,
            escape(label)
        );
    }
    let _ = writeln!(out, "</svg>");
}

/// The report as a self-contained HTML page.
pub(crate) fn render(report: &Report) -> String {
    let end_ms = report.events.iter().map(|e| e.at_ms).max().unwrap_or(0);
    let end_s = end_ms as f64 / 1000.0;
    let fault_marks = faults(report, end_s);
    let verdict = if report.passed { "PASSED" } else { "FAILED" };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{} {verdict}</title>",
        escape(&report.scenario)
    );
    let _ = writeln!(
        out,
        "<style>body{{font-family:sans-serif;max-width:960px;margin:2em auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}}.pass{{color:#2ca02c}}.fail{{color:#d62728;font-weight:bold}}</style></head><body>"
    );
    let _ = writeln!(
        out,
        "<h1>{} <span class=\"{}\">{verdict}</span></h1><p>run <code>{}</code> on {} · seed <code>{}</code> · started {}</p>",
        escape(&report.scenario),
        if report.passed { "pass" } else { "fail" },
        escape(&report.run_id),
        escape(&report.deployer),
        report.seed,
        escape(&report.started_at)
    );
    if !report.passed {
        let _ = writeln!(
            out,
            "<p>replay: <code>{}</code></p>",
            escape(&report.replay)
        );
    }
    if !report.failures.is_empty() {
        let _ = writeln!(out, "<h2>Failures</h2><ul>");
        for failure in &report.failures {
            let _ = writeln!(out, "<li><pre>{}</pre></li>", escape(failure));
        }
        let _ = writeln!(out, "</ul>");
    }
    let _ = writeln!(
        out,
        "<h2>Verdicts</h2><table><tr><th>expectation</th><th>verdict</th><th>why</th></tr>"
    );
    for e in &report.expectations {
        let (class, word) = if e.passed {
            ("pass", "pass")
        } else {
            ("fail", "FAIL")
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"{class}\">{word}</td><td>{}</td></tr>",
            escape(&e.name),
            escape(&e.message)
        );
    }
    let _ = writeln!(out, "</table>");
    let _ = writeln!(
        out,
        "<h2>Over time</h2><p>Shaded: network faults. Dashed: node actions (hover for details).</p>"
    );
    let heights: Vec<(String, Vec<[f64; 2]>)> = report
        .heights
        .iter()
        .map(|(node, points)| {
            (
                node.to_string(),
                points
                    .iter()
                    .map(|p| [p[0] as f64 / 1000.0, p[1] as f64])
                    .collect(),
            )
        })
        .collect();
    if heights.is_empty() {
        let _ = writeln!(
            out,
            "<p>(no block feed: add <code>.block_feed(blockfeed::Feed::new())</code> to plot heights)</p>"
        );
    } else {
        let spec = Chart {
            title: "Finalized height per node",
            y_label: "height",
            end_s,
            scatter: false,
        };
        chart(&mut out, &spec, &heights, &fault_marks);
    }
    for e in &report.expectations {
        for (name, points) in &e.series {
            let spec = Chart {
                title: &format!("{}: {name}", e.name),
                y_label: name,
                end_s,
                scatter: true,
            };
            chart(
                &mut out,
                &spec,
                &[(name.clone(), points.clone())],
                &fault_marks,
            );
        }
    }
    let _ = writeln!(
        out,
        "<h2>Phases</h2><table><tr><th>phase</th><th>ms</th><th>status</th></tr>"
    );
    for p in &report.phases {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{:?}</td></tr>",
            p.name, p.duration_ms, p.status
        );
    }
    let _ = writeln!(
        out,
        "</table><h2>Workloads</h2><table><tr><th>workload</th><th>submitted</th><th>accepted</th><th>failed</th><th>error</th></tr>"
    );
    for w in &report.workloads {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&w.name),
            w.stats.submitted,
            w.stats.accepted,
            w.stats.failed,
            escape(w.error.as_deref().unwrap_or(""))
        );
    }
    let _ = writeln!(
        out,
        "</table><p>Machine-readable: <code>report.json</code>, <code>junit.xml</code>.</p></body></html>"
    );
    out
}
