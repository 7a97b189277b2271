//! `testbed reap`: clean up what runs killed by SIGKILL left behind, locally
//! and on Docker (`testbed_cli::reap`).

use crate::exit;

pub(crate) fn run() -> u8 {
    // Where runs started here write (TESTBED_ARTIFACTS_DIR, else the
    // enclosing workspace's target/testbed); runs elsewhere are in the
    // per-user registry.
    let roots = [testbed::default_artifacts_root()];
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("testbed: cannot start the async runtime: {error}");
            return exit::ENVIRONMENT;
        }
    };
    match runtime.block_on(testbed_cli::reap::reap(&roots)) {
        Ok(reaped) => {
            print!("{reaped}");
            match &reaped.docker {
                Err(why) if !why.starts_with("skipped") => exit::ENVIRONMENT,
                _ => exit::PASSED,
            }
        }
        Err(error) => {
            eprintln!("testbed: reaping local runs failed: {error}");
            exit::ENVIRONMENT
        }
    }
}
