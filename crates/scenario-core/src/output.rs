//! What a run tells the person watching it, and where that goes: the one
//! place the library "prints". A run's banners (what runs where, the final
//! verdict), its live progress line and signal notices are [`OutputEvent`]s
//! handed to the scenario's [`Output`]: the terminal (default), nothing, or
//! a closure of yours.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use scenario_core::output::{Output, OutputEvent};
//!
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let sink = Arc::clone(&seen);
//! let output = Output::custom(move |event: &OutputEvent| {
//!     if !matches!(event, OutputEvent::Progress(_)) {
//!         sink.lock().unwrap().push(event.to_string());
//!     }
//! });
//! // Scenario::builder("smoke").output(output)…
//! # drop(output);
//! ```

mod console;
mod event;

use std::fmt;
use std::sync::Arc;

pub(crate) use self::console::Console;
pub use self::event::{OutputEvent, ProgressUpdate, RunStarted};

/// The environment variable that silences every run whose scenario did not
/// choose an [`Output`] itself: `TESTBED_QUIET=1`.
pub const QUIET_ENV: &str = "TESTBED_QUIET";

/// Where a run's [`OutputEvent`]s go. Chosen with
/// `ScenarioBuilder::output`; without that, [`Output::from_env`].
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Output {
    /// Banners and notices on stderr, one line each; the progress line on
    /// stderr, rewritten in place, only when stderr is a terminal and `CI`
    /// is unset.
    #[default]
    Terminal,
    /// Nothing at all.
    Quiet,
    /// Every event to this function, progress included (about once a
    /// second while the window runs), from the run's task or, for signal
    /// notices, from the signal thread.
    Custom(Arc<dyn Fn(&OutputEvent) + Send + Sync>),
}

impl Output {
    /// Every event to `sink`.
    pub fn custom(sink: impl Fn(&OutputEvent) + Send + Sync + 'static) -> Self {
        Self::Custom(Arc::new(sink))
    }

    /// [`Output::Quiet`] when `TESTBED_QUIET` is set to anything but empty
    /// or `0`, else [`Output::Terminal`].
    pub fn from_env() -> Self {
        Self::from_quiet_var(std::env::var_os(QUIET_ENV).as_deref())
    }

    fn from_quiet_var(value: Option<&std::ffi::OsStr>) -> Self {
        match value {
            Some(value) if !value.is_empty() && value != "0" => Self::Quiet,
            _ => Self::Terminal,
        }
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Terminal => "Terminal",
            Self::Quiet => "Quiet",
            Self::Custom(_) => "Custom(..)",
        })
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::Output;

    #[test]
    fn testbed_quiet_silences_unless_empty_or_zero() {
        let quiet = |value: Option<&str>| {
            matches!(Output::from_quiet_var(value.map(OsStr::new)), Output::Quiet)
        };
        assert!(quiet(Some("1")));
        assert!(quiet(Some("yes")));
        assert!(!quiet(Some("0")));
        assert!(!quiet(Some("")));
        assert!(!quiet(None));
    }
}
