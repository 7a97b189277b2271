//! The `testbed` command line's library half: scenario files (TOML) read
//! into the same builder the Rust API uses. The binary (`src/main.rs`) runs
//! them; see `docs/src/scenario-files.md`.

pub mod file;
pub mod history;
pub mod reap;

/// The JSON Schema of scenario files, pretty-printed, as `testbed schema`
/// prints it and `examples/scenarios/scenario.schema.json` holds it.
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(file::ScenarioFile);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
