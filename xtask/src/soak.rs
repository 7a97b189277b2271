//! `cargo xtask soak`: builds demo-node (and, for `--on compose`, its
//! image), then runs the soak scenario (`examples/examples/soak.rs`) with
//! the flags given: `--duration 1h`, `--on local|compose`, `--seed`,
//! `--tx-rate`. Exits non-zero unless the scenario passed and the runner
//! stayed bounded.

use crate::ci::cargo;

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let on_docker = args
        .windows(2)
        .any(|pair| pair[0] == "--on" && pair[1] == "compose")
        || args.iter().any(|arg| arg == "--on=compose");
    if on_docker {
        crate::image::run(false, None)?;
    } else {
        cargo(&["build", "-p", "demo-node"], &[])?;
    }
    let mut command = vec!["run", "-p", "examples", "--example", "soak", "--"];
    command.extend(args.iter().map(String::as_str));
    cargo(&command, &[])
}
