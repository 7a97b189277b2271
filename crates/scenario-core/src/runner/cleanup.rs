//! The cleanup guard: actions a deployer registers while it creates
//! resources, run exactly once, newest first, on every exit path. The runner
//! runs them explicitly; if the run is dropped before that (its future was
//! cancelled, its runtime shut down), `Drop` runs them on a dedicated thread.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

use crate::error::BoxError;

type Action = Box<dyn FnOnce() -> BoxFuture<'static, Result<(), BoxError>> + Send>;

struct Registered {
    label: String,
    action: Action,
}

/// Where a deployer registers how to undo what it created. Cheap to clone.
///
/// Register each resource right after creating it, so that a deploy that
/// fails half-way still has everything it started removed. An action
/// registered after cleanup already ran is run at once.
#[derive(Clone, Default)]
pub struct CleanupRegistry {
    actions: Arc<Mutex<Option<Vec<Registered>>>>,
}

/// How one cleanup action went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CleanupOutcome {
    /// The label it was registered with.
    pub label: String,
    /// How long it took.
    pub duration_ms: u64,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

impl CleanupRegistry {
    pub(crate) fn new() -> Self {
        Self {
            actions: Arc::new(Mutex::new(Some(Vec::new()))),
        }
    }

    /// Register an action; `label` names it in the report (e.g. `stop validator-0`).
    pub fn register<F, Fut>(&self, label: impl Into<String>, action: F)
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        let registered = Registered {
            label: label.into(),
            action: Box::new(move || action().boxed()),
        };
        let late = {
            let mut actions = self.actions.lock().unwrap_or_else(PoisonError::into_inner);
            match actions.as_mut() {
                Some(list) => {
                    list.push(registered);
                    None
                }
                None => Some(registered),
            }
        };
        if let Some(registered) = late {
            tracing::warn!(label = %registered.label, "cleanup already ran; running a late cleanup action now");
            run_detached(vec![registered]);
        }
    }

    /// Take every action out; the second call gets `None`.
    fn take(&self) -> Option<Vec<Registered>> {
        self.actions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

/// Runs the registered actions exactly once: explicitly through
/// [`CleanupGuard::run`], or on drop as a fallback.
pub(crate) struct CleanupGuard {
    registry: CleanupRegistry,
    per_action_timeout: Duration,
}

impl CleanupGuard {
    pub(crate) fn new(registry: CleanupRegistry, per_action_timeout: Duration) -> Self {
        Self {
            registry,
            per_action_timeout,
        }
    }

    /// Run every action, newest first. Later calls do nothing.
    pub(crate) async fn run(&self) -> Vec<CleanupOutcome> {
        match self.registry.take() {
            Some(actions) => run_all(actions, self.per_action_timeout).await,
            None => Vec::new(),
        }
    }
}

impl Drop for CleanupGuard {
    fn drop(&mut self) {
        if let Some(actions) = self.registry.take()
            && !actions.is_empty()
        {
            let timeout = self.per_action_timeout;
            let (done, finished) = std::sync::mpsc::channel();
            let worker = std::thread::spawn(move || {
                block_on_fresh_runtime(run_all(actions, timeout));
                let _ = done.send(());
            });
            let current_thread = tokio::runtime::Handle::try_current().is_ok_and(|handle| {
                handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread
            });
            if current_thread {
                // Blocking here for good would freeze the only thread of the
                // runtime whose tasks (node supervisors, the network's tasks)
                // a cleanup may wait for: it would hang until every action
                // timed out. So wait a little (what needs no such task is
                // done by then), then let the runtime go on while the
                // cleanup finishes beside it.
                if finished.recv_timeout(CURRENT_THREAD_WAIT).is_err() {
                    tracing::warn!(
                        "the run was dropped on a current-thread runtime; its cleanup goes on on a dedicated thread while the runtime runs"
                    );
                }
                return;
            }
            tracing::warn!("the run was dropped before cleanup; cleaned up on a dedicated thread");
            if worker.join().is_err() {
                tracing::error!("the cleanup thread panicked");
            }
        }
    }
}

/// How long dropping a run on a current-thread runtime waits for its
/// cleanup before letting the runtime go on.
const CURRENT_THREAD_WAIT: Duration = Duration::from_secs(2);

async fn run_all(mut actions: Vec<Registered>, timeout: Duration) -> Vec<CleanupOutcome> {
    let mut outcomes = Vec::with_capacity(actions.len());
    while let Some(Registered { label, action }) = actions.pop() {
        let started = tokio::time::Instant::now();
        let run = AssertUnwindSafe(async move { action().await }).catch_unwind();
        let error = match tokio::time::timeout(timeout, run).await {
            Ok(Ok(Ok(()))) => None,
            Ok(Ok(Err(error))) => Some(error.to_string()),
            Ok(Err(payload)) => Some(format!("panicked: {}", super::panic::message(&*payload))),
            Err(_) => Some(format!("did not finish within {timeout:?}")),
        };
        if let Some(error) = &error {
            tracing::error!(%label, %error, "cleanup action failed");
        }
        outcomes.push(CleanupOutcome {
            label,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            error,
        });
    }
    outcomes
}

fn run_detached(actions: Vec<Registered>) {
    let run = run_all(actions, Duration::from_secs(60));
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.spawn(run);
        }
        Err(_) => {
            std::thread::spawn(move || block_on_fresh_runtime(run));
        }
    }
}

fn block_on_fresh_runtime<F: Future>(future: F) -> Option<F::Output> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => Some(runtime.block_on(future)),
        Err(error) => {
            tracing::error!(%error, "could not start a runtime for cleanup");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn counting(registry: &CleanupRegistry, label: &str, order: &Arc<Mutex<Vec<String>>>) {
        let order = Arc::clone(order);
        let label_owned = label.to_owned();
        registry.register(label, move || async move {
            order.lock().unwrap().push(label_owned);
            Ok(())
        });
    }

    #[tokio::test]
    async fn actions_run_once_newest_first() {
        let registry = CleanupRegistry::new();
        let order = Arc::new(Mutex::new(Vec::new()));
        counting(&registry, "first", &order);
        counting(&registry, "second", &order);
        let guard = CleanupGuard::new(registry, Duration::from_secs(5));
        let outcomes = guard.run().await;
        assert_eq!(outcomes.len(), 2);
        assert!(guard.run().await.is_empty());
        drop(guard);
        assert_eq!(*order.lock().unwrap(), ["second", "first"]);
    }

    #[tokio::test]
    async fn a_failing_or_panicking_action_does_not_stop_the_others() {
        let registry = CleanupRegistry::new();
        let ran = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&ran);
        registry.register("survivor", move || async move {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        registry.register("fails", || async { Err("disk full".into()) });
        registry.register("panics", || async { panic!("boom") });
        let outcomes = CleanupGuard::new(registry, Duration::from_secs(5))
            .run()
            .await;
        assert_eq!(outcomes[0].error.as_deref(), Some("panicked: boom"));
        assert_eq!(outcomes[1].error.as_deref(), Some("disk full"));
        assert_eq!(outcomes[2].error, None);
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn dropping_the_guard_runs_pending_actions_once() {
        let registry = CleanupRegistry::new();
        let ran = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&ran);
        registry.register("pending", move || async move {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        drop(CleanupGuard::new(registry.clone(), Duration::from_secs(5)));
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        assert!(registry.take().is_none());
    }
}
