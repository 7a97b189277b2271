//! `cargo xtask`: the project's automation, one module per task.

// A command-line tool: printing to stdout is its job.
#![allow(clippy::print_stdout)]

mod bench;
mod ci;
mod demo;
mod reap;
mod tidy;

use clap::{Parser, Subcommand};

/// testbed's project tasks.
#[derive(Parser)]
#[command(name = "cargo xtask", about = "testbed's project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Everything CI checks: formatting, clippy (-D warnings), docs without
    /// warnings, the tidy rules and the whole test suite.
    Ci,
    /// Formatting, clippy (-D warnings) and docs without warnings.
    Lint,
    /// The architecture and hygiene rules of the workspace (also a #[test]).
    Tidy,
    /// Run the demo scenario on local processes (flags: --duration, --validators,
    /// --executors, --seed, --tx-rate).
    Demo {
        /// Passed to the demo as they are.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Kill what local runs killed by SIGKILL left behind, and only that.
    Reap,
    /// Benchmarks, each reported as a ratio to a floor measured in the same run.
    Bench {
        /// What to measure.
        #[arg(value_enum)]
        area: bench::Area,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().task {
        Task::Ci => {
            ci::lint()?;
            tidy::run()?;
            ci::test()
        }
        Task::Lint => ci::lint(),
        Task::Tidy => tidy::run(),
        Task::Bench { area } => bench::run(area),
        Task::Reap => reap::run(),
        Task::Demo { args } => demo::run(&args),
    }
}
