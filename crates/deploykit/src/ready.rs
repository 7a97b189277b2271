//! The readiness wait, the same on every backend: probe each starting node
//! until it answers within the deadline; a node that stops meanwhile fails
//! at once with how it ended and its last output; when several nodes fail,
//! the error names every one of them.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use scenario_core::{BoxError, HostPort, NodeId, Readiness};
use tokio::time::Instant;

use crate::probe::{Prober, READY_TIMEOUT_ENV, describe};

/// A node being brought up, as the readiness wait sees it: what a backend
/// implements for its process, container or pod.
#[async_trait::async_trait]
pub trait Starting: Send + Sync {
    /// The node.
    fn node(&self) -> &NodeId;
    /// Its readiness probe.
    fn readiness(&self) -> &Readiness;
    /// Where the probe reaches it, per port name.
    fn probe_endpoints(&self) -> BTreeMap<String, HostPort>;
    /// Its log file (for log-line probes).
    fn log_path(&self) -> &Path;
    /// How it ended, as a phrase (`exited with exit status: 2`), if it is
    /// not running any more; an error when the backend cannot tell.
    async fn ended(&self) -> Result<Option<String>, BoxError>;
    /// The last lines of its output, for error messages.
    async fn last_output(&self) -> String;
    /// It is ready: from now on an exit no fault caused fails the run.
    fn supervise(&self);

    /// A TCP probe of the named port made the backend's own way, when a
    /// plain connect to its probe endpoint would not tell (e.g. a front
    /// that accepts before the node listens). `None`: connect plainly.
    async fn probe_tcp(&self, port: &str) -> Option<Result<(), String>> {
        let _ = port;
        None
    }
}

/// Why a node did not become ready.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotReady {
    /// The node stopped before it answered its probe.
    #[error("{node} {ended} before it was ready; its last output:\n{last_lines}")]
    ExitedBeforeReady {
        /// The node.
        node: NodeId,
        /// How it ended.
        ended: String,
        /// The end of its output.
        last_lines: String,
    },
    /// The node did not answer its probe in time.
    #[error(
        "{node} was not ready after {waited:.1?}: {probe}; its last output:\n{last_lines}\n(raise the limit with {READY_TIMEOUT_ENV})"
    )]
    ReadinessTimedOut {
        /// The node.
        node: NodeId,
        /// How long the deployer waited.
        waited: Duration,
        /// What the probe was waiting for.
        probe: String,
        /// The end of its output.
        last_lines: String,
    },
    /// The backend could not tell whether the node runs.
    #[error("could not tell whether {node} is running: {source}")]
    StateUnknown {
        /// The node.
        node: NodeId,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// Several nodes did not become ready.
    #[error("{} nodes did not become ready:\n{}", .0.len(), list(.0))]
    Several(Vec<NotReady>),
}

fn list(errors: &[NotReady]) -> String {
    errors
        .iter()
        .map(|error| format!("- {error}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Wait until `node` answers its probe, at most `limit`, probing every
/// `every`.
pub async fn wait_ready(
    node: &dyn Starting,
    limit: Duration,
    every: Duration,
) -> Result<(), NotReady> {
    let started = Instant::now();
    let prober = Prober::default();
    loop {
        let ended = node
            .ended()
            .await
            .map_err(|source| NotReady::StateUnknown {
                node: node.node().clone(),
                source,
            })?;
        if let Some(ended) = ended {
            return Err(NotReady::ExitedBeforeReady {
                node: node.node().clone(),
                ended,
                last_lines: node.last_output().await,
            });
        }
        let own_way = match node.readiness() {
            Readiness::Tcp { port } => node.probe_tcp(port).await,
            _ => None,
        };
        let answer = match own_way {
            Some(answer) => answer,
            None => {
                prober
                    .probe(node.readiness(), &node.probe_endpoints(), node.log_path())
                    .await
            }
        };
        let last = match answer {
            Ok(()) => {
                node.supervise();
                return Ok(());
            }
            Err(instead) => instead,
        };
        if started.elapsed() >= limit {
            return Err(NotReady::ReadinessTimedOut {
                node: node.node().clone(),
                waited: started.elapsed(),
                probe: format!("{} (last probe: {last})", describe(node.readiness())),
                last_lines: node.last_output().await,
            });
        }
        tokio::time::sleep(every).await;
    }
}

/// Wait for every node at once; the error names every node that failed.
pub async fn wait_all_ready<'a>(
    nodes: impl IntoIterator<Item = &'a dyn Starting>,
    limit: Duration,
    every: Duration,
) -> Result<(), NotReady> {
    let waits = nodes.into_iter().map(|node| wait_ready(node, limit, every));
    let mut failed: Vec<NotReady> = futures::future::join_all(waits)
        .await
        .into_iter()
        .filter_map(Result::err)
        .collect();
    match failed.len() {
        0 => Ok(()),
        1 => Err(failed.remove(0)),
        _ => Err(NotReady::Several(failed)),
    }
}

/// The last `count` lines of the file at `path` (a node's log), or a note
/// that it has none.
pub fn last_lines(path: &Path, count: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    if lines.is_empty() {
        return "(no output)".to_owned();
    }
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// How many log lines a readiness error shows.
pub const LOG_LINES: usize = 20;

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;

    /// A node that never answers and stops after `stops_after` state checks
    /// (never, with `usize::MAX`).
    struct Silent {
        id: NodeId,
        checks: AtomicUsize,
        stops_after: usize,
        supervised: AtomicBool,
    }

    impl Silent {
        fn new(id: &str, stops_after: usize) -> Self {
            Self {
                id: NodeId::new(id),
                checks: AtomicUsize::new(0),
                stops_after,
                supervised: AtomicBool::new(false),
            }
        }
    }

    #[async_trait::async_trait]
    impl Starting for Silent {
        fn node(&self) -> &NodeId {
            &self.id
        }
        fn readiness(&self) -> &Readiness {
            static PROBE: std::sync::OnceLock<Readiness> = std::sync::OnceLock::new();
            PROBE.get_or_init(|| Readiness::log_line("never printed"))
        }
        fn probe_endpoints(&self) -> BTreeMap<String, HostPort> {
            BTreeMap::new()
        }
        fn log_path(&self) -> &Path {
            Path::new("/nonexistent/node.log")
        }
        async fn ended(&self) -> Result<Option<String>, BoxError> {
            let checks = self.checks.fetch_add(1, Ordering::SeqCst);
            Ok((checks >= self.stops_after).then(|| "exited with code 3".to_owned()))
        }
        async fn last_output(&self) -> String {
            "boom".to_owned()
        }
        fn supervise(&self) {
            self.supervised.store(true, Ordering::SeqCst);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_node_that_fails_is_named_with_how() {
        let (a, b, c) = (
            Silent::new("validator-0", 2),
            Silent::new("validator-1", usize::MAX),
            Silent::new("validator-2", usize::MAX),
        );
        let nodes: [&dyn Starting; 3] = [&a, &b, &c];
        let error = wait_all_ready(nodes, Duration::from_secs(1), Duration::from_millis(50))
            .await
            .unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("3 nodes did not become ready:"), "{text}");
        assert!(
            text.contains(
                "- validator-0 exited with code 3 before it was ready; its last output:\nboom"
            ),
            "{text}"
        );
        assert!(text.contains("- validator-1 was not ready after"), "{text}");
        assert!(text.contains("validator-2"), "{text}");
        assert!(!a.supervised.load(Ordering::SeqCst));
    }

    #[test]
    fn last_lines_keeps_the_end_of_the_log() {
        let dir = std::env::temp_dir().join(format!("deploykit-lines-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("node.log");
        std::fs::write(&log, "1\n2\n3\n").unwrap();
        assert_eq!(last_lines(&log, 2), "2\n3");
        assert_eq!(last_lines(&dir.join("none"), 2), "(no output)");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
