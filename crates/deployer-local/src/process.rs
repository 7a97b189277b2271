//! One node as a child process: its own process group, output appended to
//! its log file, a supervisor task that reaps it and reports an exit no
//! fault action caused, and stop / signal helpers acting on the group.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::os::unix::process::ExitStatusExt;

use scenario_core::{EventKind, FailureReporter, NodeCause, NodeId, Timeline};
use tokio::process::Command;
use tokio::sync::watch;

use deploykit::ready::{LOG_LINES, last_lines};
use netplane::NodeNamespace;

use crate::error::{Error, Result, io};

/// Everything needed to (re)start one node.
pub(crate) struct NodeProcess {
    pub(crate) id: NodeId,
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<String>,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) data_dir: PathBuf,
    pub(crate) log_path: PathBuf,
    /// The network namespace it runs in (on the network plane).
    pub(crate) namespace: Option<NodeNamespace>,
    pid: AtomicI32,
    expected_exit: AtomicBool,
    /// Set once the node was ready: from then on an exit no fault action
    /// caused fails the run (before, the readiness wait reports it).
    supervised: AtomicBool,
    exit: watch::Sender<Option<ExitStatus>>,
    timeline: Timeline,
    failures: FailureReporter,
}

impl NodeProcess {
    #[allow(clippy::too_many_arguments)] // One node's launch, and where to report about it.
    pub(crate) fn new(
        id: NodeId,
        program: PathBuf,
        args: Vec<String>,
        env: BTreeMap<String, String>,
        data_dir: PathBuf,
        log_path: PathBuf,
        namespace: Option<NodeNamespace>,
        timeline: Timeline,
        failures: FailureReporter,
    ) -> Arc<Self> {
        Arc::new(Self {
            id,
            program,
            args,
            env,
            data_dir,
            log_path,
            namespace,
            pid: AtomicI32::new(0),
            expected_exit: AtomicBool::new(false),
            supervised: AtomicBool::new(false),
            exit: watch::channel(None).0,
            timeline,
            failures,
        })
    }

    /// The pid of the running process (0 when none ran yet).
    pub(crate) fn pid(&self) -> i32 {
        self.pid.load(Ordering::SeqCst)
    }

    /// The node is ready: report any exit no fault action caused.
    pub(crate) fn supervise(&self) {
        self.supervised.store(true, Ordering::SeqCst);
    }

    /// Whether the current process has exited.
    pub(crate) fn exited(&self) -> Option<ExitStatus> {
        *self.exit.borrow()
    }

    /// Start the process in its own group; a supervisor reaps it.
    pub(crate) fn spawn(self: &Arc<Self>) -> Result<i32> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(io(format!("open the log of {}", self.id)))?;
        let log_err = log
            .try_clone()
            .map_err(io(format!("open the log of {}", self.id)))?;
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .envs(&self.env)
            .current_dir(&self.data_dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(0)
            .kill_on_drop(true);
        let spawn_failed = |source| Error::SpawnFailed {
            node: self.id.clone(),
            program: self.program.clone(),
            source,
        };
        let mut child = match &self.namespace {
            // Started inside the node's namespace: its one address, its
            // packets through the switch.
            Some(namespace) => namespace.spawn(&mut command).map_err(|error| match error {
                netplane::Error::SpawnFailed { source, .. } => spawn_failed(source),
                other => Error::NetworkPlane {
                    node: Some(self.id.clone()),
                    source: Box::new(other),
                },
            })?,
            None => command.spawn().map_err(spawn_failed)?,
        };
        let pid = child
            .id()
            .and_then(|pid| i32::try_from(pid).ok())
            .unwrap_or(0);
        self.expected_exit.store(false, Ordering::SeqCst);
        self.supervised.store(false, Ordering::SeqCst);
        self.exit.send_replace(None);
        self.pid.store(pid, Ordering::SeqCst);
        self.timeline
            .record_node(&self.id, NodeCause::Launched, format!("pid {pid}"));
        let node = Arc::clone(self);
        tokio::spawn(async move {
            let status = child.wait().await;
            let Ok(status) = status else { return };
            // The group may hold children of the node: take them down too.
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            node.exit.send_replace(Some(status));
            if node.supervised.load(Ordering::SeqCst) && !node.expected_exit.load(Ordering::SeqCst)
            {
                let lines = last_lines(&node.log_path, LOG_LINES);
                let reason = format!(
                    "{} exited on its own with {status}; its last output:\n{lines}",
                    node.id
                );
                let cause = NodeCause::Exited {
                    code: status.code(),
                    signal: status.signal(),
                };
                node.timeline.record_node(
                    &node.id,
                    cause,
                    format!("exited on its own with {status}"),
                );
                node.failures.fail(reason);
            }
        });
        Ok(pid)
    }

    /// Send a signal to the node's process group; the exit it may cause is
    /// expected (no failure is reported).
    pub(crate) fn signal(&self, signal: Signal, expect_exit: bool) -> std::io::Result<()> {
        if expect_exit {
            self.expected_exit.store(true, Ordering::SeqCst);
        }
        let pid = self.pid();
        if pid <= 0 || self.exited().is_some() {
            return Ok(());
        }
        match killpg(Pid::from_raw(pid), signal) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
            Err(errno) => Err(std::io::Error::from(errno)),
        }
    }

    /// Wait until the process exited, at most `limit`.
    pub(crate) async fn wait_exit(&self, limit: Duration) -> Option<ExitStatus> {
        let mut exit = self.exit.subscribe();
        let waited = tokio::time::timeout(limit, exit.wait_for(Option::is_some)).await;
        match waited {
            Ok(Ok(status)) => *status,
            _ => None,
        }
    }

    /// Stop gracefully (SIGTERM), then force (SIGKILL) after `grace`.
    pub(crate) async fn stop(&self, grace: Duration) -> std::io::Result<ExitStatus> {
        if self.pid() <= 0 {
            return Err(std::io::Error::other(format!(
                "{} was never started",
                self.id
            )));
        }
        self.signal(Signal::SIGTERM, true)?;
        // A paused node must run to handle SIGTERM.
        self.signal(Signal::SIGCONT, true)?;
        if let Some(status) = self.wait_exit(grace).await {
            return Ok(status);
        }
        // Said on the timeline (and so in the report): a node that ignores
        // SIGTERM may lose what it should have flushed.
        self.timeline.record(
            EventKind::Note,
            Some(&self.id),
            format!("did not stop within {grace:?} of SIGTERM: killed with SIGKILL"),
        );
        self.signal(Signal::SIGKILL, true)?;
        self.wait_exit(Duration::from_secs(10))
            .await
            .ok_or_else(|| std::io::Error::other(format!("{} survived SIGKILL for 10 s", self.id)))
    }
}
