//! Each container's output streamed into the run's artifacts
//! (`<run>/nodes/<id>/node.log`), across restarts without repeating lines,
//! and the supervisor that notices a container exiting on its own: when the
//! output ends, the container stopped; unless a fault action or cleanup
//! stopped it, that fails the run.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use futures::StreamExt;
use scenario_core::NodeCause;
use tokio_util::sync::CancellationToken;

use deploykit::ready::{LOG_LINES, last_lines};

use crate::container::{NodeContainer, describe_exit, is_up};

/// The last `count` lines of a container's output, asked from the engine
/// (for a container that stopped before its output was followed).
pub(crate) async fn engine_tail(node: &NodeContainer, count: usize) -> String {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail(&count.to_string())
        .build();
    let mut output = node.docker.logs(&node.name, Some(options));
    let mut text = String::new();
    while let Some(Ok(chunk)) = output.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    if text.trim().is_empty() {
        "(no output)".to_owned()
    } else {
        text.trim_end().to_owned()
    }
}

/// A line's engine timestamp, comparable: `(date and time to the second,
/// nanoseconds)`. The engine trims trailing zeros of the fraction, so the
/// text alone does not sort.
fn stamp(line: &str) -> Option<(String, u32)> {
    let (time, _) = line.split_once(' ')?;
    let seconds = time.get(..19)?.to_owned();
    let fraction = time.get(20..)?.trim_end_matches('Z');
    let nanos = format!("{fraction:0<9}").get(..9)?.parse().ok()?;
    Some((seconds, nanos))
}

/// Follow `node`'s output into its log file until `closing` fires and the
/// container has stopped, or `abort` fires.
pub(crate) fn follow(
    node: Arc<NodeContainer>,
    closing: CancellationToken,
    abort: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::select! {
            () = abort.cancelled() => {}
            () = follow_until_closed(&node, &closing) => {}
        }
    })
}

async fn follow_until_closed(node: &NodeContainer, closing: &CancellationToken) {
    let mut file = match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&node.log_path)
    {
        Ok(file) => file,
        Err(e) => {
            tracing::warn!(node = %node.id, error = %e, "cannot write the node's log");
            return;
        }
    };
    let mut starts = node.starts();
    let mut cursor: Option<(String, u32)> = None;
    loop {
        let generation = *starts.borrow_and_update();
        let since = i32::try_from(node.started_unix().saturating_sub(1)).unwrap_or(0);
        let options = LogsOptionsBuilder::default()
            .follow(true)
            .stdout(true)
            .stderr(true)
            .timestamps(true)
            .since(since)
            .build();
        let mut output = node.docker.logs(&node.name, Some(options));
        while let Some(Ok(chunk)) = output.next().await {
            let bytes = match chunk {
                LogOutput::StdOut { message }
                | LogOutput::StdErr { message }
                | LogOutput::Console { message } => message,
                LogOutput::StdIn { .. } => continue,
            };
            for line in String::from_utf8_lossy(&bytes).lines() {
                let when = stamp(line);
                if when.is_some() && when <= cursor {
                    continue;
                }
                let text = line.split_once(' ').map_or(line, |(_, text)| text);
                let _ = writeln!(file, "{text}");
                if when.is_some() {
                    cursor = when;
                }
            }
        }
        let _ = file.flush();
        let state = match node.state().await {
            Ok(state) => state,
            Err(_) if closing.is_cancelled() => return,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        if is_up(&state) {
            // The stream broke while the container runs: follow again.
            continue;
        }
        if closing.is_cancelled() {
            return;
        }
        // Read in this order: a start that begins after `expected` was read
        // shows in `starting` or in the generation; one that began before
        // cleared `expected` only after setting `starting`.
        let expected = node.exit_expected();
        if node.starting() || *starts.borrow() != generation {
            // A start is (or was) under way: this stop was the old run's.
            if node.starting() {
                tokio::select! {
                    () = closing.cancelled() => return,
                    changed = starts.changed() => if changed.is_err() { return },
                }
            }
            continue;
        }
        if node.supervised() && !expected {
            let status = describe_exit(&state);
            let cause = NodeCause::Exited {
                code: state.exit_code.and_then(|code| i32::try_from(code).ok()),
                signal: None,
            };
            node.timeline.record_node(&node.id, cause, status.clone());
            node.failures.fail(format!(
                "{} exited on its own ({status}); its last output:\n{}",
                node.id,
                last_lines(&node.log_path, LOG_LINES)
            ));
        }
        tokio::select! {
            () = closing.cancelled() => return,
            changed = starts.changed() => if changed.is_err() { return },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::stamp;

    #[test]
    fn stamps_compare_by_time_even_when_the_fraction_was_trimmed() {
        let early = stamp("2026-11-27T10:00:00.5Z a").unwrap();
        let late = stamp("2026-11-27T10:00:00.123456789Z b").unwrap();
        let later = stamp("2026-11-27T10:00:01Z c");
        assert_eq!(early, ("2026-11-27T10:00:00".to_owned(), 500_000_000));
        assert!(late < early);
        assert!(later.is_none_or(|later| later > early));
        assert!(stamp("no timestamp").is_none());
    }
}
