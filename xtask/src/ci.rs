//! `cargo xtask ci`, `cargo xtask lint` and `cargo xtask deny`: the checks a
//! submission must pass, run in the order that fails fastest.

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

/// The cargo-deny version deny.toml is written for; .ci/run installs the
/// same one.
const CARGO_DENY_VERSION: &str = "0.20.2";

/// Where cargo-deny fetches the RustSec advisory database from.
const ADVISORY_DB: &str = "https://github.com/RustSec/advisory-db";

/// cargo-deny against deny.toml, as .ci/run runs it: installed from
/// crates.io when missing; licences, bans and sources always; advisories
/// only where the advisory database (a git repository on github.com) can be
/// fetched, otherwise skipped with the reason.
pub(crate) fn deny() -> anyhow::Result<()> {
    let installed = Command::new(cargo_program())
        .args(["deny", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !installed {
        println!("cargo-deny is not installed: installing {CARGO_DENY_VERSION} from crates.io");
        cargo(
            &[
                "install",
                "--locked",
                "cargo-deny",
                "--version",
                CARGO_DENY_VERSION,
            ],
            &[],
        )?;
    }
    cargo(&["deny", "check", "licenses", "bans", "sources"], &[])?;
    let reachable = Command::new("git")
        .args(["ls-remote", ADVISORY_DB, "HEAD"])
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .is_ok_and(|output| output.status.success());
    if reachable {
        cargo(&["deny", "check", "advisories"], &[])
    } else {
        println!(
            "skipping cargo deny check advisories: the RustSec advisory database \
             ({ADVISORY_DB}) cannot be fetched from this machine"
        );
        Ok(())
    }
}

/// The whole test suite, as the README tells a newcomer to run it.
pub(crate) fn test() -> anyhow::Result<()> {
    cargo(&["test", "--workspace"], &[])
}

/// The cargo that runs xtask, so tasks use the same toolchain.
fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

pub(crate) fn cargo(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<()> {
    let cargo = cargo_program();
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
