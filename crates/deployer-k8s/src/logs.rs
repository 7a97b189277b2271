//! Following a node's pod log into `nodes/<id>/node.log` across container
//! restarts and pod recreation, without duplicates: the log is read with
//! timestamps, each stream resumes from the last line written, and a line
//! not newer than it is skipped.

use std::path::PathBuf;
use std::time::Duration;

use futures::{AsyncBufReadExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, LogParams};
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

use crate::manifest::CONTAINER;

/// How long to wait before asking again for a log that has no stream yet.
const AGAIN_AFTER: Duration = Duration::from_millis(250);

/// Split a timestamped log line into its time and text.
pub(crate) fn split(line: &str) -> Option<(Timestamp, &str)> {
    let (stamp, text) = line.split_once(' ').unwrap_or((line, ""));
    Some((stamp.parse().ok()?, text))
}

/// Follow `pod`'s log into `path` until `closing` (cleanup cancels it once
/// the pods are gone, so the last lines are in).
pub(crate) fn follow(
    pods: Api<Pod>,
    pod: String,
    path: PathBuf,
    closing: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut file = match tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await
        {
            Ok(file) => file,
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cannot write the node log");
                return;
            }
        };
        let mut last: Option<Timestamp> = None;
        while !closing.is_cancelled() {
            let params = LogParams {
                container: Some(CONTAINER.to_owned()),
                follow: true,
                timestamps: true,
                since_time: last,
                ..LogParams::default()
            };
            if let Ok(stream) = pods.log_stream(&pod, &params).await {
                let mut lines = stream.lines();
                loop {
                    let line = tokio::select! {
                        () = closing.cancelled() => break,
                        line = lines.try_next() => line,
                    };
                    let Ok(Some(line)) = line else { break };
                    let Some((stamp, text)) = split(&line) else {
                        continue;
                    };
                    if last.is_some_and(|last| stamp <= last) {
                        continue;
                    }
                    last = Some(stamp);
                    let _ = file.write_all(format!("{text}\n").as_bytes()).await;
                }
                let _ = file.flush().await;
            }
            tokio::select! {
                () = closing.cancelled() => {}
                () = tokio::time::sleep(AGAIN_AFTER) => {}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_splits_into_its_time_and_text() {
        let (stamp, text) =
            split("2026-12-03T17:10:00.123456789Z node started at 0.0.0.0:8080").unwrap();
        assert_eq!(text, "node started at 0.0.0.0:8080");
        assert_eq!(stamp.as_nanosecond() % 1_000_000_000, 123_456_789);
        assert_eq!(split("2026-12-03T17:10:00Z").unwrap().1, "");
        assert!(split("no stamp here").is_none());
    }
}
