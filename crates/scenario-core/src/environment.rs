//! Every `TESTBED_*` environment variable the framework reads, in one table
//! with its parser: the plan is rejected at build when one holds a value
//! that is not of its accepted form (naming the variable and the form),
//! instead of the value being ignored or failing after the nodes started.
//! Deployers and the runner read the variables through this module.

use std::time::Duration;

/// The seed of the run (replays a run).
pub const SEED: &str = "TESTBED_SEED";
/// Where run directories go.
pub const ARTIFACTS_DIR: &str = "TESTBED_ARTIFACTS_DIR";
/// Keep every node's data and log, whatever the outcome.
pub const KEEP: &str = "TESTBED_KEEP";
/// Keep node logs of passing runs too.
pub const KEEP_LOGS: &str = "TESTBED_KEEP_LOGS";
/// How long each node may take to become ready, in seconds.
pub const READY_TIMEOUT_SECS: &str = "TESTBED_READY_TIMEOUT_SECS";

/// The longest readiness deadline accepted from the environment.
const MAX_READY_TIMEOUT_SECS: f64 = 24.0 * 3600.0;

/// A `TESTBED_*` variable whose value is not of its accepted form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{variable}={value:?} is not valid: expected {accepted}")]
pub struct EnvProblem {
    /// The variable.
    pub variable: &'static str,
    /// Its value.
    pub value: String,
    /// What it accepts.
    pub accepted: &'static str,
}

/// One known variable: its name, what it accepts, and a check of a value.
struct Known {
    name: &'static str,
    accepted: &'static str,
    valid: fn(&str) -> bool,
}

const KNOWN: [Known; 5] = [
    Known {
        name: SEED,
        accepted: "a whole number from 0 to 18446744073709551615",
        valid: |text| parse_seed(text).is_some(),
    },
    Known {
        name: ARTIFACTS_DIR,
        accepted: "a directory path",
        valid: |text| !text.trim().is_empty(),
    },
    Known {
        name: KEEP,
        accepted: "1, true, 0 or false",
        valid: |text| parse_flag(text).is_some(),
    },
    Known {
        name: KEEP_LOGS,
        accepted: "1, true, 0 or false",
        valid: |text| parse_flag(text).is_some(),
    },
    Known {
        name: READY_TIMEOUT_SECS,
        accepted: "a number of seconds above 0 and at most 86400 (e.g. 30 or 2.5)",
        valid: |text| parse_secs(text).is_some(),
    },
];

fn parse_seed(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

fn parse_flag(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" => Some(true),
        "0" | "false" | "" => Some(false),
        _ => None,
    }
}

fn parse_secs(text: &str) -> Option<Duration> {
    let secs: f64 = text.trim().parse().ok()?;
    (secs.is_finite() && secs > 0.0 && secs <= MAX_READY_TIMEOUT_SECS)
        .then(|| Duration::from_secs_f64(secs))
}

/// Every known variable that is set to a value it does not accept, read
/// through `lookup` (the process environment in [`problems`]).
pub fn problems_in(lookup: impl Fn(&str) -> Option<String>) -> Vec<EnvProblem> {
    KNOWN
        .iter()
        .filter_map(|known| {
            let value = lookup(known.name)?;
            let valid = (known.valid)(&value);
            (!valid).then_some(EnvProblem {
                variable: known.name,
                value,
                accepted: known.accepted,
            })
        })
        .collect()
}

/// Every known variable of the process environment with an invalid value.
pub fn problems() -> Vec<EnvProblem> {
    problems_in(|name| std::env::var(name).ok())
}

fn read<T>(name: &'static str, parse: fn(&str) -> Option<T>) -> Result<Option<T>, EnvProblem> {
    let Ok(value) = std::env::var(name) else {
        return Ok(None);
    };
    match parse(&value) {
        Some(parsed) => Ok(Some(parsed)),
        None => Err(problems_in(|n| (n == name).then(|| value.clone())).remove(0)),
    }
}

/// `TESTBED_SEED`, if set.
pub fn seed() -> Result<Option<u64>, EnvProblem> {
    read(SEED, parse_seed)
}

/// `TESTBED_KEEP` (false when unset).
pub fn keep() -> Result<bool, EnvProblem> {
    Ok(read(KEEP, parse_flag)?.unwrap_or(false))
}

/// `TESTBED_KEEP_LOGS` (false when unset).
pub fn keep_logs() -> Result<bool, EnvProblem> {
    Ok(read(KEEP_LOGS, parse_flag)?.unwrap_or(false))
}

/// `TESTBED_READY_TIMEOUT_SECS`, if set.
pub fn ready_timeout() -> Result<Option<Duration>, EnvProblem> {
    read(READY_TIMEOUT_SECS, parse_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_with(name: &str, value: &str) -> Vec<EnvProblem> {
        problems_in(|asked| (asked == name).then(|| value.to_owned()))
    }

    #[test]
    fn bad_values_are_named_with_the_form_they_must_have() {
        for bad in ["inf", "1e20", "abc", "-3", "0", "NaN", ""] {
            let found = problems_with(READY_TIMEOUT_SECS, bad);
            assert_eq!(found.len(), 1, "{bad:?} must be refused");
            assert!(
                found[0].to_string().starts_with(&format!(
                    "TESTBED_READY_TIMEOUT_SECS={bad:?} is not valid: expected a number of seconds"
                )),
                "{}",
                found[0]
            );
        }
        for bad in ["-1", "abc", "1.5", "99999999999999999999999"] {
            assert_eq!(problems_with(SEED, bad).len(), 1, "{bad:?}");
        }
        assert_eq!(problems_with(KEEP, "yes").len(), 1);
        assert_eq!(problems_with(ARTIFACTS_DIR, " ").len(), 1);
    }

    #[test]
    fn good_values_pass() {
        for good in ["30", "2.5", " 10 ", "86400"] {
            assert!(
                problems_with(READY_TIMEOUT_SECS, good).is_empty(),
                "{good:?}"
            );
        }
        assert!(problems_with(SEED, "18446744073709551615").is_empty());
        for flag in ["1", "true", "TRUE", "0", "false"] {
            assert!(problems_with(KEEP_LOGS, flag).is_empty(), "{flag:?}");
        }
        assert!(problems_in(|_| None).is_empty());
    }
}
