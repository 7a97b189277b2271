//! Ctrl-C and SIGTERM handling that guarantees cleanup: a process-wide
//! supervisor thread, installed on the first run, turns the first signal into
//! a cancellation of every active run, waits for them to finish cleaning up,
//! then lets the signal take its default effect (the process ends by that
//! signal). A second signal ends the process at once. Users install nothing.
//! What it does is told to each active run's output, not printed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tokio::sync::watch;

use crate::output::Console;

/// The longest the supervisor waits for active runs to clean up after a
/// signal before letting the signal end the process anyway.
const CLEANUP_WAIT: Duration = Duration::from_secs(120);

/// An active run: how to tell it about a signal, and where its output goes.
struct ActiveRun {
    signal: watch::Sender<Option<i32>>,
    console: Arc<Console>,
}

struct Supervisor {
    runs: Mutex<BTreeMap<u64, ActiveRun>>,
    idle: Condvar,
    next_id: AtomicU64,
}

static SUPERVISOR: OnceLock<Supervisor> = OnceLock::new();
static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();

/// An active run's registration. Dropping it tells the supervisor this run
/// has finished cleaning up.
pub(crate) struct Registration {
    id: u64,
    signal: watch::Receiver<Option<i32>>,
}

impl Registration {
    /// Resolves with the signal's name once Ctrl-C or SIGTERM arrives.
    pub(crate) async fn interrupted(&self) -> &'static str {
        let mut signal = self.signal.clone();
        match signal.wait_for(Option::is_some).await {
            Ok(value) => signal_name(value.unwrap_or(SIGINT)),
            // The supervisor never drops its senders while the run is
            // registered; if it did, no signal can arrive any more.
            Err(_) => std::future::pending().await,
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let supervisor = supervisor();
        let mut runs = supervisor
            .runs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        runs.remove(&self.id);
        if runs.is_empty() {
            supervisor.idle.notify_all();
        }
    }
}

fn supervisor() -> &'static Supervisor {
    SUPERVISOR.get_or_init(|| Supervisor {
        runs: Mutex::new(BTreeMap::new()),
        idle: Condvar::new(),
        next_id: AtomicU64::new(0),
    })
}

/// Register a run, installing the signal supervisor on first use.
pub(crate) fn register(console: Arc<Console>) -> std::io::Result<Registration> {
    let installed = INSTALLED.get_or_init(|| install().map_err(|error| error.to_string()));
    if let Err(error) = installed {
        return Err(std::io::Error::other(error.clone()));
    }
    let supervisor = supervisor();
    let (sender, receiver) = watch::channel(None);
    let id = supervisor.next_id.fetch_add(1, Ordering::Relaxed);
    supervisor
        .runs
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(
            id,
            ActiveRun {
                signal: sender,
                console,
            },
        );
    Ok(Registration {
        id,
        signal: receiver,
    })
}

fn install() -> std::io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("testbed-signals".to_owned())
        .spawn(move || {
            let mut received_before = false;
            for signal in signals.forever() {
                if received_before {
                    let consoles = consoles();
                    let message = format!(
                        "second {}, stopping without finishing cleanup",
                        signal_name(signal)
                    );
                    for console in &consoles {
                        console.notice(message.clone());
                    }
                    end_by(signal, &consoles);
                }
                received_before = true;
                std::thread::spawn(move || drain_then_end(signal));
            }
        })?;
    Ok(())
}

/// Cancel every active run, wait until they have all cleaned up, then end
/// the process by `signal`.
fn drain_then_end(signal: i32) {
    let supervisor = supervisor();
    let runs = supervisor
        .runs
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let consoles: Vec<Arc<Console>> = runs.values().map(|run| Arc::clone(&run.console)).collect();
    for run in runs.values() {
        run.console.notice(format!(
            "{} received, cleaning up; send it again to stop at once",
            signal_name(signal)
        ));
        run.signal.send_replace(Some(signal));
    }
    let (runs, wait) = supervisor
        .idle
        .wait_timeout_while(runs, CLEANUP_WAIT, |runs| !runs.is_empty())
        .unwrap_or_else(PoisonError::into_inner);
    if wait.timed_out() {
        for run in runs.values() {
            run.console.notice(format!(
                "still cleaning up after {CLEANUP_WAIT:?}; stopping anyway"
            ));
        }
    }
    drop(runs);
    end_by(signal, &consoles);
}

/// The consoles of the runs active now.
fn consoles() -> Vec<Arc<Console>> {
    supervisor()
        .runs
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .values()
        .map(|run| Arc::clone(&run.console))
        .collect()
}

/// End the process by `signal`, telling `consoles` if that fails.
fn end_by(signal: i32, consoles: &[Arc<Console>]) -> ! {
    // Restores the default disposition and re-raises, so the parent sees the
    // process ended by the signal, as it would have without us.
    if let Err(error) = signal_hook::low_level::emulate_default_handler(signal) {
        for console in consoles {
            console.notice(format!(
                "could not re-raise {}: {error}",
                signal_name(signal)
            ));
        }
    }
    std::process::exit(128 + signal);
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        _ => "signal",
    }
}
