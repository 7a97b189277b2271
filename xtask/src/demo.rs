//! `cargo xtask demo`: builds demo-node and runs the demo scenario on local
//! processes (`examples/examples/demo.rs`), passing its flags through. Exits
//! non-zero unless the scenario passed.

use crate::ci::cargo;

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    cargo(&["build", "-p", "demo-node"], &[])?;
    let mut command = vec!["run", "-p", "examples", "--example", "demo", "--"];
    command.extend(args.iter().map(String::as_str));
    cargo(&command, &[])
}
