//! `cargo xtask`: the project's automation, one module per task.

// A command-line tool: printing to stdout is its job.
#![allow(clippy::print_stdout)]

mod bench;
mod ci;
mod demo;
mod image;
mod k8s;
mod reap;
mod soak;
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
    /// warnings, the tidy rules, cargo deny and the whole test suite.
    Ci,
    /// Formatting, clippy (-D warnings) and docs without warnings.
    Lint,
    /// The architecture and hygiene rules of the workspace (also a #[test]).
    Tidy,
    /// cargo deny against deny.toml: licences, bans, sources, and advisories
    /// where the RustSec database can be fetched (installs cargo-deny if
    /// missing).
    Deny,
    /// Run the demo scenario on local processes (flags: --duration, --validators,
    /// --executors, --seed, --tx-rate).
    Demo {
        /// Passed to the demo as they are.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// A long run of the demo network under repeated chaos, judged on the
    /// runner's own footprint too (flags: --duration 1h, --on local|compose,
    /// --seed, --tx-rate).
    Soak {
        /// Passed to the soak as they are.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Build the demo-node and fault-agent container images through the
    /// Docker engine API (`FROM scratch`, nothing pulled).
    Image {
        /// Use the release builds.
        #[arg(long)]
        release: bool,
        /// The demo-node image's tag (default `testbed/demo-node:dev`).
        #[arg(long)]
        tag: Option<String>,
    },
    /// Remove what runs killed by SIGKILL left behind (local processes, and
    /// Docker resources when an engine answers), and only that.
    Reap,
    /// A real single-node Kubernetes 1.20 on 127.0.0.1 (built once per
    /// machine from Debian's source package): up, down or status.
    K8s {
        #[command(subcommand)]
        action: k8s::Action,
    },
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
            ci::deny()?;
            ci::test()
        }
        Task::Lint => ci::lint(),
        Task::Tidy => tidy::run(),
        Task::Deny => ci::deny(),
        Task::Bench { area } => bench::run(area),
        Task::Image { release, tag } => image::run(release, tag),
        Task::Reap => reap::run(),
        Task::Demo { args } => demo::run(&args),
        Task::K8s { action } => k8s::run(&action),
        Task::Soak { args } => soak::run(&args),
    }
}
