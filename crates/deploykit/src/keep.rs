//! What a run keeps after cleanup, the same on every backend: node data
//! with `TESTBED_KEEP=1`, node logs of passing runs with
//! `TESTBED_KEEP_LOGS=1` (logs of failed runs are always kept).

/// Keep every node's data and log, whatever the outcome.
pub const KEEP_ENV: &str = "TESTBED_KEEP";
/// Keep logs of passing runs too.
pub const KEEP_LOGS_ENV: &str = "TESTBED_KEEP_LOGS";

/// What cleanup keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Keep {
    /// Keep node data.
    pub data: bool,
    /// Keep node logs even when the run passed.
    pub logs: bool,
}

fn flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

impl Keep {
    /// Read `TESTBED_KEEP` and `TESTBED_KEEP_LOGS` (`1` or `true`); keeping
    /// data keeps logs too.
    pub fn from_env() -> Self {
        let data = flag(KEEP_ENV);
        Self {
            data,
            logs: data || flag(KEEP_LOGS_ENV),
        }
    }
}
