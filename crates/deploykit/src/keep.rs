//! What a run keeps after cleanup, the same on every backend: node data
//! with `TESTBED_KEEP=1`, node logs of passing runs with
//! `TESTBED_KEEP_LOGS=1` (logs of failed runs are always kept).

use scenario_core::environment;

/// Keep every node's data and log, whatever the outcome.
pub const KEEP_ENV: &str = environment::KEEP;
/// Keep logs of passing runs too.
pub const KEEP_LOGS_ENV: &str = environment::KEEP_LOGS;

/// What cleanup keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Keep {
    /// Keep node data.
    pub data: bool,
    /// Keep node logs even when the run passed.
    pub logs: bool,
}

impl Keep {
    /// Read `TESTBED_KEEP` and `TESTBED_KEEP_LOGS` (`1` or `true`); keeping
    /// data keeps logs too. Invalid values were refused when the plan was
    /// built; read here they keep nothing.
    pub fn from_env() -> Self {
        let data = environment::keep().unwrap_or(false);
        Self {
            data,
            logs: data || environment::keep_logs().unwrap_or(false),
        }
    }
}
