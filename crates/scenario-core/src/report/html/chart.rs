//! The SVG charts of `report.html`, all on one time axis: a line or scatter
//! chart of values over time with fault windows shaded behind and node
//! actions marked, and a lane chart with one row per fault window.

use maud::{Markup, html};

use super::Timeframe;
use crate::faults::Disruption;

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 32.0;
const LANE: f64 = 20.0;
pub(super) const COLORS: [&str; 8] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
];
const NETWORK_FILL: &str = "#d62728";
const NODE_FILL: &str = "#7f7f7f";
const QUORUM_FILL: &str = "#000000";

/// One plotted series: its label and `[seconds, value]` points.
pub(super) type Series = (String, Vec<[f64; 2]>);

/// What to plot and how.
pub(super) struct Plot<'a> {
    pub(super) y_label: &'a str,
    pub(super) lines: &'a [Series],
    /// Dots instead of lines (for values sampled per event, e.g. latency).
    pub(super) scatter: bool,
}

/// The x position of `s` seconds.
fn x(frame: &Timeframe, s: f64) -> f64 {
    LEFT + (s / frame.end_s).clamp(0.0, 1.0) * (WIDTH - LEFT - RIGHT)
}

/// A coordinate as written into the SVG: one decimal.
fn n(v: f64) -> String {
    format!("{v:.1}")
}

/// Round steps for an axis from 0 to `max`: about five, each 1, 2 or 5 × 10ⁿ.
fn step_for(max: f64) -> f64 {
    let raw = (max / 5.0).max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powi(raw.log10().floor() as i32);
    // A little slack so that 0.2 / 0.1 counts as 2.
    let norm = raw / magnitude * (1.0 - 1e-9);
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// A tick label: as many decimals as the step needs.
fn tick_label(value: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{value:.decimals$}")
}

/// Values over time, fault windows shaded behind them.
pub(super) fn plot(frame: &Timeframe, plot: &Plot<'_>) -> Markup {
    let top_value = plot
        .lines
        .iter()
        .flat_map(|(_, points)| points.iter().map(|p| p[1]))
        .fold(0.0_f64, f64::max);
    let y_step = step_for(top_value.max(1.0));
    let y_max = (top_value / y_step).floor() * y_step + y_step;
    let y = |v: f64| TOP + (1.0 - v / y_max) * (HEIGHT - TOP - BOTTOM);
    let y_ticks = (0..)
        .map(|i| f64::from(i) * y_step)
        .take_while(|v| *v <= y_max + y_step / 2.0);
    let bottom = HEIGHT - BOTTOM;
    html! {
        svg class="chart" viewBox={"0 0 " (WIDTH) " " (HEIGHT)} width=(WIDTH) height=(HEIGHT)
            xmlns="http://www.w3.org/2000/svg" role="img" {
            (shading(frame, TOP, bottom))
            @for v in y_ticks {
                line class="grid" x1=(LEFT) x2=(WIDTH - RIGHT) y1=(n(y(v))) y2=(n(y(v))) {}
                text x=(LEFT - 6.0) y=(n(y(v) + 4.0)) text-anchor="end" { (tick_label(v, y_step)) }
            }
            (time_axis(frame, bottom))
            text x="14" y=(n(HEIGHT / 2.0)) transform={"rotate(-90 14 " (n(HEIGHT / 2.0)) ")"}
                text-anchor="middle" { (plot.y_label) }
            @for (index, (label, points)) in plot.lines.iter().enumerate() {
                @let color = COLORS[index % COLORS.len()];
                g {
                    title { (label) }
                    @if plot.scatter {
                        @for p in points {
                            circle cx=(n(x(frame, p[0]))) cy=(n(y(p[1]))) r="2" fill=(color) {}
                        }
                    } @else {
                        polyline fill="none" stroke=(color) stroke-width="1.5" points=(
                            points.iter().map(|p| format!("{},{}", n(x(frame, p[0])), n(y(p[1])))).collect::<Vec<_>>().join(" ")
                        ) {}
                    }
                }
            }
            (marks(frame, TOP, bottom))
        }
    }
}

/// One row per fault window (and one for quorum lost), on the time axis.
pub(super) fn lanes(frame: &Timeframe) -> Markup {
    let rows = frame.windows.len() + usize::from(!frame.no_quorum.is_empty());
    let bottom = TOP + LANE * rows as f64;
    let height = bottom + BOTTOM;
    let row_y = |row: usize| TOP + LANE * row as f64;
    html! {
        svg class="chart" viewBox={"0 0 " (WIDTH) " " (n(height))} width=(WIDTH) height=(n(height))
            xmlns="http://www.w3.org/2000/svg" role="img" {
            @if !frame.no_quorum.is_empty() {
                text class="lane" x=(LEFT - 6.0) y=(n(row_y(0) + 14.0)) text-anchor="end" { "no quorum" }
                @for period in &frame.no_quorum {
                    @let (from, to) = (x(frame, period.from_ms as f64 / 1000.0), x(frame, frame.until_s(period.until_ms)));
                    rect x=(n(from)) y=(n(row_y(0) + 3.0)) width=(n((to - from).max(2.0))) height=(n(LANE - 6.0))
                        fill=(QUORUM_FILL) fill-opacity="0.6" {
                        title { "no quorum of validators" }
                    }
                }
            }
            @for (index, window) in frame.windows.iter().enumerate() {
                @let row = index + usize::from(!frame.no_quorum.is_empty());
                @let (from, to) = (x(frame, window.from_ms as f64 / 1000.0), x(frame, frame.until_s(window.until_ms)));
                @let label = window.disruption.to_string();
                @let (label_x, anchor) = label_place(from, to, &label);
                rect x=(n(from)) y=(n(row_y(row) + 3.0)) width=(n((to - from).max(2.0))) height=(n(LANE - 6.0))
                    fill=(fill(&window.disruption)) fill-opacity="0.55" {
                    title { (label) }
                }
                text class="lane" x=(n(label_x)) y=(n(row_y(row) + 14.0)) text-anchor=(anchor) { (label) }
            }
            (time_axis(frame, bottom))
        }
    }
}

/// Where a lane's label goes so that it does not cover its bar: after the
/// bar when it fits there, else before it, else inside from its start.
fn label_place(from: f64, to: f64, label: &str) -> (f64, &'static str) {
    // About 6 px per character at the lanes' font size.
    let width = 6.0 * label.chars().count() as f64;
    if to + 4.0 + width <= WIDTH - RIGHT {
        (to + 4.0, "start")
    } else if from - 4.0 - width >= LEFT {
        (from - 4.0, "end")
    } else {
        (from + 4.0, "start")
    }
}

fn fill(disruption: &Disruption) -> &'static str {
    match disruption {
        Disruption::Network { .. } => NETWORK_FILL,
        _ => NODE_FILL,
    }
}

/// Fault windows as translucent bands from `top` to `bottom`.
fn shading(frame: &Timeframe, top: f64, bottom: f64) -> Markup {
    html! {
        @for window in &frame.windows {
            @let (from, to) = (x(frame, window.from_ms as f64 / 1000.0), x(frame, frame.until_s(window.until_ms)));
            rect x=(n(from)) y=(n(top)) width=(n((to - from).max(1.0))) height=(n(bottom - top))
                fill=(fill(&window.disruption)) fill-opacity="0.10" {
                title { (window.disruption) }
            }
        }
    }
}

/// Instant node actions as dashed vertical lines.
fn marks(frame: &Timeframe, top: f64, bottom: f64) -> Markup {
    html! {
        @for (at, what) in &frame.marks {
            line class="mark" x1=(n(x(frame, *at))) x2=(n(x(frame, *at))) y1=(n(top)) y2=(n(bottom)) {
                title { (what) }
            }
        }
    }
}

/// The time axis along `y`, ticks in seconds.
fn time_axis(frame: &Timeframe, y: f64) -> Markup {
    let step = step_for(frame.end_s);
    let ticks = (0..)
        .map(|i| f64::from(i) * step)
        .take_while(|s| *s <= frame.end_s + step / 100.0);
    html! {
        line class="axis" x1=(LEFT) x2=(WIDTH - RIGHT) y1=(n(y)) y2=(n(y)) {}
        line class="axis" x1=(LEFT) x2=(LEFT) y1=(TOP) y2=(n(y)) {}
        @for s in ticks {
            line class="axis" x1=(n(x(frame, s))) x2=(n(x(frame, s))) y1=(n(y)) y2=(n(y + 4.0)) {}
            text x=(n(x(frame, s))) y=(n(y + 16.0)) text-anchor="middle" { (tick_label(s, step)) "s" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{step_for, tick_label};

    #[test]
    fn axis_steps_are_round_and_labels_carry_the_decimals_they_need() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9 * b;
        assert!(close(step_for(60.0), 20.0));
        assert!(close(step_for(47.0), 10.0));
        assert!(close(step_for(1.0), 0.2));
        assert!(close(step_for(3000.0), 1000.0));
        assert_eq!(tick_label(0.4, 0.2), "0.4");
        assert_eq!(tick_label(40.0, 10.0), "40");
    }
}
