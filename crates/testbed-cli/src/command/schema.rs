//! `testbed schema`: the scenario files' JSON Schema on stdout.

use crate::exit;

pub(crate) fn run() -> u8 {
    print!("{}", testbed_cli::schema_json());
    exit::PASSED
}
