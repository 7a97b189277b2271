//! `cargo xtask ci` and `cargo xtask lint`: the checks a submission must pass,
//! run in the order that fails fastest.

use std::process::Command;

use anyhow::{Context, bail};

/// Formatting, clippy with `-D warnings`, and docs without warnings.
pub(crate) fn lint() -> anyhow::Result<()> {
    cargo(&["fmt", "--all", "--", "--check"], &[])?;
    cargo(
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    cargo(
        &["doc", "--workspace", "--no-deps", "--all-features"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )
}

/// The whole test suite, as the README tells a newcomer to run it.
pub(crate) fn test() -> anyhow::Result<()> {
    cargo(&["test", "--workspace"], &[])
}

pub(crate) fn cargo(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    println!("$ cargo {}", args.join(" "));
    let status = Command::new(&cargo)
        .args(args)
        .envs(env.iter().copied())
        .status()
        .with_context(|| format!("could not start {cargo}"))?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}
