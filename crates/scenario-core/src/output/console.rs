//! One run's end of its [`Output`]: decides whether progress is wanted and
//! writes terminal output, keeping the in-place progress line and the
//! banners from running into each other.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use super::{Output, OutputEvent};

/// A run's output, shared by the runner and the signal supervisor.
pub(crate) struct Console {
    output: Output,
    run_id: String,
    /// Whether the terminal shows progress (stderr is a terminal, no `CI`).
    live: bool,
    /// Whether a progress line is open on the terminal (no newline yet).
    line_open: AtomicBool,
}

impl Console {
    pub(crate) fn new(output: Output, run_id: &str) -> Self {
        let live = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        Self {
            output,
            run_id: run_id.to_owned(),
            live,
            line_open: AtomicBool::new(false),
        }
    }

    /// Whether progress updates go anywhere (so are worth computing).
    pub(crate) fn wants_progress(&self) -> bool {
        match self.output {
            Output::Terminal => self.live,
            Output::Quiet => false,
            Output::Custom(_) => true,
        }
    }

    /// Tell the watcher what the run does about a signal.
    pub(crate) fn notice(&self, message: String) {
        self.emit(&OutputEvent::Notice {
            run_id: self.run_id.clone(),
            message,
        });
    }

    pub(crate) fn emit(&self, event: &OutputEvent) {
        match &self.output {
            Output::Quiet => {}
            Output::Custom(sink) => sink(event),
            Output::Terminal => self.to_terminal(event),
        }
    }

    // The one place the library writes to the terminal. `eprint!` rather
    // than a raw stderr handle, so that libtest still captures it in tests.
    #[allow(clippy::print_stderr)]
    fn to_terminal(&self, event: &OutputEvent) {
        let close_line = || {
            if self.line_open.swap(false, Ordering::SeqCst) {
                eprintln!();
            }
        };
        match event {
            OutputEvent::Progress(_) if !self.live => {}
            OutputEvent::Progress(progress) => {
                eprint!("\r{:<110}", progress.to_string());
                let _ = std::io::stderr().flush();
                self.line_open.store(true, Ordering::SeqCst);
            }
            OutputEvent::ProgressEnded => close_line(),
            line => {
                close_line();
                eprintln!("{line}");
            }
        }
    }
}
