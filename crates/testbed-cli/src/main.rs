//! `testbed`: run a network test from a scenario file, without writing Rust.
//! `testbed check FILE` validates a file and prints the resolved plan;
//! `testbed run FILE --on local|compose|k8s` runs it; `testbed doctor` checks the
//! machine; `testbed reap` cleans up after killed runs; `testbed schema`
//! prints the JSON Schema of the file format for editors.
//!
//! Exit codes: 0 the scenario passed, 1 it failed, 2 the file or plan is bad,
//! 3 the environment could not run it (no Docker, no privileges, …).

#![allow(clippy::print_stdout, clippy::print_stderr)] // A program: it talks to its user.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod command;

/// The exit codes, documented in `--help` and the guide.
pub(crate) mod exit {
    /// The scenario ran and passed.
    pub(crate) const PASSED: u8 = 0;
    /// The scenario ran and failed.
    pub(crate) const FAILED: u8 = 1;
    /// The file or the plan is bad; nothing was started.
    pub(crate) const BAD_PLAN: u8 = 2;
    /// The machine could not run it.
    pub(crate) const ENVIRONMENT: u8 = 3;
}

#[derive(Parser)]
#[command(
    name = "testbed",
    version,
    about = "Run network tests from scenario files.",
    after_help = "Exit codes: 0 passed, 1 failed, 2 bad file or plan (nothing started), 3 the environment could not run it."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a scenario file and print the resolved plan; starts nothing.
    Check {
        /// The scenario file (TOML).
        file: PathBuf,
        /// The seed to resolve the fault schedule with (default: the file's,
        /// or a random one, printed).
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Run a scenario file and print the verdicts and where the reports are.
    Run {
        /// The scenario file (TOML).
        file: PathBuf,
        /// Where to run it.
        #[arg(long, value_enum, default_value_t = Backend::Local)]
        on: Backend,
        /// The seed (default: the file's, or a random one, printed).
        #[arg(long)]
        seed: Option<u64>,
        /// Keep every node's data and log after the run, passed or not.
        #[arg(long)]
        keep: bool,
    },
    /// Check this machine before a run, with a fix for each problem.
    Doctor {
        /// The backend to check for.
        #[arg(long, value_enum, default_value_t = Backend::Local)]
        on: Backend,
        /// A scenario file, to check its topology and node software too.
        file: Option<PathBuf>,
    },
    /// A run's summary, or a query over its recorded history.
    Show {
        /// A run id from `testbed runs`, or a run's artifact directory.
        run: String,
        /// Each node's block at this height.
        #[arg(long, conflicts_with_all = ["tx", "heights"])]
        block: Option<u64>,
        /// A transaction's path: where and when it was sent, where included.
        #[arg(long, conflicts_with = "heights")]
        tx: Option<String>,
        /// A node's finalized height over time.
        #[arg(long)]
        heights: Option<String>,
    },
    /// The runs started with `testbed run`, with their key figures.
    Runs,
    /// Run a recorded run again: its scenario file, seed and backend.
    Replay {
        /// A run id from `testbed runs`, or a run's artifact directory.
        run: String,
        /// Keep every node's data and log after the run, passed or not.
        #[arg(long)]
        keep: bool,
    },
    /// Clean up what killed runs left behind (their runner is gone).
    Reap,
    /// Run one scenario on several backends with one seed and compare
    /// verdicts and key figures side by side.
    Parity {
        /// The scenario file (TOML).
        file: PathBuf,
        /// The backends, in order: the first is the one others are compared to.
        #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Backend::Local, Backend::Compose])]
        on: Vec<Backend>,
        /// The seed for every backend (default: the file's, or one random one).
        #[arg(long)]
        seed: Option<u64>,
        /// How far a figure may be off the first backend's, as a share (0.5 = 50 %).
        #[arg(long, default_value_t = 0.5)]
        tolerance: f64,
    },
    /// Print the JSON Schema of scenario files, for editors.
    Schema,
}

/// Where a scenario runs.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Backend {
    /// Local processes on this machine.
    Local,
    /// Docker containers, through the engine's API.
    Compose,
    /// Pods on the Kubernetes cluster `KUBECONFIG` names.
    K8s,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check { file, seed } => command::check::run(&file, seed),
        Command::Run {
            file,
            on,
            seed,
            keep,
        } => command::run::run(&file, on, seed, keep),
        Command::Doctor { on, file } => command::doctor::run(on, file.as_deref()),
        Command::Show {
            run,
            block,
            tx,
            heights,
        } => command::show::run(&run, &command::show::Query { block, tx, heights }),
        Command::Runs => command::runs::run(),
        Command::Replay { run, keep } => command::replay::run(&run, keep),
        Command::Reap => command::reap::run(),
        Command::Parity {
            file,
            on,
            seed,
            tolerance,
        } => command::parity::run(&file, &on, seed, tolerance),
        Command::Schema => command::schema::run(),
    };
    ExitCode::from(code)
}
