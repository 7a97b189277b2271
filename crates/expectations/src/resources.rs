//! The runner's own footprint over a run, for soaks: resident memory, open
//! descriptors and CPU, read from `/proc/self` every few seconds, written
//! one line each to `runner-resources.ndjson` in the run's artifacts and
//! plotted in `report.html` on the faults' time axis. It holds when the
//! runner stayed bounded: descriptors never above a multiple of the first
//! minute's peak, and resident memory growing less than a share from a
//! settling point (5 minutes in) to the end of the run (the start of
//! evaluation: judging is not the run).

use std::io::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use scenario_core::{BoxError, EventKind, Expectation, RunContext, Verdict, async_trait};
use serde::Serialize;
use tokio_util::sync::CancellationToken as Token;

/// The file the samples go to, in the run's artifact directory.
pub const RESOURCES_FILE: &str = "runner-resources.ndjson";

/// Samples kept in memory at most; beyond it every other one is dropped (the
/// file keeps them all), so an hour costs what ten minutes cost.
const KEPT: usize = 2048;

/// Clock ticks per second of `/proc/<pid>/stat` times (Linux's USER_HZ,
/// fixed at 100 for user space on every architecture it supports).
const TICKS_PER_SECOND: f64 = 100.0;

/// One reading of the runner process.
#[derive(Clone, Copy, Debug, Serialize)]
struct Sample {
    /// Milliseconds since the run started.
    at_ms: u64,
    /// Resident memory, KiB.
    rss_kib: u64,
    /// Of it, anonymous memory (heap and stacks, not the program's own
    /// pages), KiB.
    anon_kib: u64,
    /// Open file descriptors.
    descriptors: u64,
    /// User plus system CPU time so far, in clock ticks.
    cpu_ticks: u64,
}

/// Judges the runner's own resources over the run (see the module docs).
pub struct RunnerResources {
    every: Duration,
    descriptor_factor: f64,
    settle: Duration,
    max_growth: f64,
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: Token,
}

impl Default for RunnerResources {
    fn default() -> Self {
        Self::new()
    }
}

impl RunnerResources {
    /// Sample every 5 s; descriptors at most 3× the first minute's peak;
    /// resident memory growing less than 10 % from minute 5 to the end.
    pub fn new() -> Self {
        Self {
            every: Duration::from_secs(5),
            descriptor_factor: 3.0,
            settle: Duration::from_secs(300),
            max_growth: 0.10,
            samples: Arc::default(),
            stop: Token::new(),
        }
    }

    /// How often to sample.
    pub fn every(mut self, every: Duration) -> Self {
        self.every = every.max(Duration::from_millis(100));
        self
    }

    /// Descriptors may reach at most `factor` times the first minute's peak.
    pub fn descriptors_at_most(mut self, factor: f64) -> Self {
        self.descriptor_factor = factor;
        self
    }

    /// Resident memory may grow by less than `share` (0.1: 10 %) from
    /// `settle` into the run to its end. A run shorter than `settle` is not
    /// judged on memory (the verdict says so).
    pub fn memory_growth_below(mut self, share: f64, settle: Duration) -> Self {
        self.max_growth = share;
        self.settle = settle;
        self
    }
}

/// This process now, or `None` where `/proc` cannot tell.
fn read_self(at_ms: u64) -> Option<Sample> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib = |field: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|line| line.strip_prefix(field))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    let rss_kib = kib("VmRSS:")?;
    let anon_kib = kib("RssAnon:").unwrap_or(0);
    let descriptors = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |index: usize| fields.get(index)?.parse::<u64>().ok();
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after the name.
    let cpu_ticks = ticks(11)? + ticks(12)?;
    Some(Sample {
        at_ms,
        rss_kib,
        anon_kib,
        descriptors,
        cpu_ticks,
    })
}

/// Keep `samples` at most [`KEPT`] long by halving its resolution.
fn keep_bounded(samples: &mut Vec<Sample>) {
    if samples.len() > KEPT {
        let mut index = 0;
        samples.retain(|_| {
            index += 1;
            index % 2 == 1
        });
    }
}

#[async_trait]
impl Expectation for RunnerResources {
    fn name(&self) -> &str {
        "runner-resources"
    }

    async fn capture(&self, ctx: &RunContext) -> Result<(), BoxError> {
        let mut file = std::fs::File::create(ctx.artifacts_dir().join(RESOURCES_FILE))?;
        let (timeline, samples, stop, every) = (
            ctx.timeline().clone(),
            Arc::clone(&self.samples),
            self.stop.clone(),
            self.every,
        );
        tokio::spawn(async move {
            loop {
                if let Some(sample) = read_self(timeline.elapsed_ms()) {
                    if let Ok(line) = serde_json::to_string(&sample) {
                        let _ = writeln!(file, "{line}");
                    }
                    let mut kept = samples.lock().unwrap_or_else(PoisonError::into_inner);
                    kept.push(sample);
                    keep_bounded(&mut kept);
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(every) => {}
                }
            }
        });
        Ok(())
    }

    async fn evaluate(&self, ctx: &RunContext) -> Result<Verdict, BoxError> {
        self.stop.cancel();
        let mut samples = self
            .samples
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        // The footprint of the run, not of judging it: other expectations
        // evaluated before this one may have grown the heap for a moment.
        let evaluation_began = ctx
            .timeline()
            .events()
            .iter()
            .rev()
            .find(|e| e.kind == EventKind::PhaseStarted && e.detail == "evaluate")
            .map(|e| e.at_ms);
        match evaluation_began {
            Some(began) => samples.retain(|s| s.at_ms <= began),
            None => samples.extend(read_self(ctx.timeline().elapsed_ms())),
        }
        Ok(judge(self, &samples))
    }
}

#[allow(clippy::cast_precision_loss)] // KiB, descriptor counts, ticks, ms: exact far past any run.
fn judge(limits: &RunnerResources, samples: &[Sample]) -> Verdict {
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        return Verdict::fail("the runner's resources could not be read from /proc/self");
    };
    let first_minute = samples
        .iter()
        .take_while(|s| s.at_ms <= first.at_ms + 60_000)
        .map(|s| s.descriptors)
        .max()
        .unwrap_or(first.descriptors);
    let most = samples.iter().max_by_key(|s| s.descriptors).unwrap_or(last);
    let allowed = limits.descriptor_factor * first_minute as f64;
    let seconds = last.at_ms.saturating_sub(first.at_ms) as f64 / 1000.0;
    let cpu = if seconds > 0.0 {
        100.0 * last.cpu_ticks.saturating_sub(first.cpu_ticks) as f64 / TICKS_PER_SECOND / seconds
    } else {
        0.0
    };
    let mib = |s: &Sample| s.rss_kib as f64 / 1024.0;
    let settle_ms = u64::try_from(limits.settle.as_millis()).unwrap_or(u64::MAX);
    let settled = samples
        .iter()
        .find(|s| s.at_ms >= first.at_ms.saturating_add(settle_ms));
    let mut problems = Vec::new();
    if most.descriptors as f64 > allowed {
        problems.push(format!(
            "open descriptors reached {} at {:.0} s, more than {}× the first minute's {first_minute}",
            most.descriptors,
            most.at_ms as f64 / 1000.0,
            limits.descriptor_factor
        ));
    }
    let memory = match settled {
        Some(settled) => {
            let growth = (mib(last) - mib(settled)) / mib(settled);
            if growth >= limits.max_growth {
                problems.push(format!(
                    "resident memory grew {:.1} % from {:.1} MiB at {:.0} s to {:.1} MiB at the end (limit {:.0} %)",
                    100.0 * growth,
                    mib(settled),
                    settled.at_ms as f64 / 1000.0,
                    mib(last),
                    100.0 * limits.max_growth
                ));
            }
            format!(
                "resident memory {:.1} MiB at {:.0} s, {:.1} MiB at the end ({:+.1} %)",
                mib(settled),
                settled.at_ms as f64 / 1000.0,
                mib(last),
                100.0 * growth
            )
        }
        None => format!(
            "resident memory {:.1} → {:.1} MiB (growth not judged: the run was shorter than {:.0} s)",
            mib(first),
            mib(last),
            limits.settle.as_secs_f64()
        ),
    };
    let summary = format!(
        "{memory}; open descriptors at most {} (first minute {first_minute}); CPU {cpu:.1} % of a core on average",
        most.descriptors
    );
    let verdict = if problems.is_empty() {
        Verdict::pass(summary)
    } else {
        Verdict::fail(format!("{}; {summary}", problems.join("; ")))
    };
    let points = |value: &dyn Fn(&Sample) -> f64| -> Vec<[f64; 2]> {
        samples
            .iter()
            .map(|s| [s.at_ms as f64 / 1000.0, value(s)])
            .collect()
    };
    let mut cpu_points = Vec::new();
    for pair in samples.windows(2) {
        let span = pair[1].at_ms.saturating_sub(pair[0].at_ms) as f64 / 1000.0;
        if span > 0.0 {
            let used = pair[1].cpu_ticks.saturating_sub(pair[0].cpu_ticks) as f64;
            cpu_points.push([
                pair[1].at_ms as f64 / 1000.0,
                100.0 * used / TICKS_PER_SECOND / span,
            ]);
        }
    }
    let mut verdict = verdict
        .figure("rss_mib_end", mib(last))
        .figure("anon_mib_end", last.anon_kib as f64 / 1024.0)
        .figure("descriptors_first_minute", first_minute as f64)
        .figure("descriptors_max", most.descriptors as f64)
        .figure("descriptors_end", last.descriptors as f64)
        .figure("cpu_percent_mean", cpu)
        .series("runner resident memory (MiB)", points(&mib))
        .series("runner open descriptors", points(&|s| s.descriptors as f64))
        .series("runner CPU (% of a core)", cpu_points);
    if let Some(settled) = settled {
        verdict = verdict
            .figure("rss_mib_settled", mib(settled))
            .figure("anon_mib_settled", settled.anon_kib as f64 / 1024.0)
            .figure("descriptors_settled", settled.descriptors as f64)
            .figure(
                "rss_growth_percent",
                100.0 * (mib(last) - mib(settled)) / mib(settled),
            );
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64, rss_mib: u64, descriptors: u64) -> Sample {
        Sample {
            at_ms: seconds * 1000,
            rss_kib: rss_mib * 1024,
            anon_kib: rss_mib * 512,
            descriptors,
            cpu_ticks: seconds * 10,
        }
    }

    #[test]
    fn a_flat_runner_passes_with_its_figures() {
        let samples: Vec<Sample> = (0..=700).step_by(5).map(|s| at(s, 30, 90)).collect();
        let verdict = judge(&RunnerResources::new(), &samples);
        assert!(verdict.passed, "{}", verdict.message);
        assert_eq!(verdict.figures["rss_growth_percent"], 0.0);
        assert_eq!(verdict.figures["descriptors_max"], 90.0);
        assert!((verdict.figures["cpu_percent_mean"] - 10.0).abs() < 1e-9);
        assert_eq!(
            verdict.series["runner open descriptors"].len(),
            samples.len()
        );
    }

    #[test]
    fn memory_that_keeps_growing_after_the_settling_point_fails() {
        let samples: Vec<Sample> = (0..=700)
            .step_by(5)
            .map(|s| at(s, 20 + s / 20, 90))
            .collect();
        let verdict = judge(&RunnerResources::new(), &samples);
        assert!(!verdict.passed);
        assert!(
            verdict.message.contains("resident memory grew"),
            "{}",
            verdict.message
        );
    }

    #[test]
    fn descriptors_that_grow_with_a_fault_fail() {
        let mut samples: Vec<Sample> = (0..=120).step_by(5).map(|s| at(s, 30, 90)).collect();
        samples.push(at(125, 30, 1400));
        let verdict = judge(&RunnerResources::new(), &samples);
        assert!(!verdict.passed);
        assert!(
            verdict.message.contains("reached 1400"),
            "{}",
            verdict.message
        );
        assert!(
            verdict.message.contains("not judged"),
            "{}",
            verdict.message
        );
    }

    #[test]
    fn this_process_can_be_read_and_kept_bounded() {
        let sample = read_self(0).expect("/proc/self is readable");
        assert!(sample.rss_kib > 0 && sample.descriptors > 0);
        let mut samples = vec![sample; KEPT + 1];
        keep_bounded(&mut samples);
        assert!(samples.len() <= KEPT / 2 + 1);
    }
}
