//! Scenario files: TOML read into [`model::ScenarioFile`], with errors that
//! name the file, the line and the column and what was expected, then turned
//! into the Rust API's builder by [`build::builder`].

use std::fmt;
use std::path::{Path, PathBuf};

pub mod build;
pub mod command_node;
pub mod model;
pub mod template;

pub use model::ScenarioFile;

/// Why a scenario file could not be read.
#[derive(Debug)]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// Where in it, 1-based, when known.
    pub line_column: Option<(usize, usize)>,
    /// What was wrong, and what was expected.
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line_column {
            Some((line, column)) => write!(
                f,
                "{}:{line}:{column}: {}",
                self.path.display(),
                self.message
            ),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for FileError {}

/// Read and check the shape of a scenario file.
pub fn load(path: &Path) -> Result<ScenarioFile, FileError> {
    let text = std::fs::read_to_string(path).map_err(|error| FileError {
        path: path.to_owned(),
        line_column: None,
        message: format!("cannot read it: {error}"),
    })?;
    parse(path, &text)
}

/// Parse a scenario file's text; `path` names it in errors.
pub fn parse(path: &Path, text: &str) -> Result<ScenarioFile, FileError> {
    toml::from_str(text).map_err(|error: toml::de::Error| FileError {
        path: path.to_owned(),
        line_column: error.span().map(|span| line_column(text, span.start)),
        message: error.message().trim_end().to_owned(),
    })
}

/// The 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "t"
window = "20s"
[topology]
validators = 3
[node]
kind = "demo-node"
"#;

    #[test]
    fn a_good_file_parses() {
        let file = parse(Path::new("t.toml"), GOOD).unwrap();
        assert_eq!(file.name, "t");
        assert_eq!(file.window.0, std::time::Duration::from_secs(20));
    }

    #[test]
    fn an_unknown_key_is_an_error_with_its_line_and_column() {
        let text = GOOD.replace("validators = 3", "validators = 3\n  valdiators = 4");
        let error = parse(Path::new("t.toml"), &text).unwrap_err();
        assert_eq!(error.line_column, Some((6, 3)), "{error}");
        assert!(
            error.message.contains("unknown field `valdiators`"),
            "{error}"
        );
        assert!(
            error
                .message
                .contains("expected one of `validators`, `executors`, `nodes`"),
            "{error}"
        );
        assert!(error.to_string().starts_with("t.toml:6:3: "), "{error}");
    }

    #[test]
    fn a_bad_duration_says_what_a_duration_looks_like() {
        let text = GOOD.replace("\"20s\"", "\"twenty\"");
        let error = parse(Path::new("t.toml"), &text).unwrap_err();
        assert_eq!(error.line_column.map(|(line, _)| line), Some(3), "{error}");
        assert!(
            error.message.contains("write a duration such as"),
            "{error}"
        );
    }

    /// The TOML blocks of the guide's chapter, in order.
    fn guide_examples() -> Vec<String> {
        let guide = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/src/scenario-files.md"),
        )
        .unwrap();
        guide
            .split("```toml\n")
            .skip(1)
            .map(|rest| rest.split("```").next().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn the_guides_examples_are_valid_files_and_build() {
        let examples = guide_examples();
        assert_eq!(
            examples.len(),
            3,
            "the format, the command node, one without the testing API"
        );
        let format = parse(Path::new("guide-format.toml"), &examples[0]).unwrap();
        assert_eq!(format.chaos.len(), 4);
        // The command node's table, in a file of its own.
        let node = format!(
            "name = \"x\"\nwindow = \"10s\"\n[topology]\nvalidators = 3\n{}",
            examples[1]
        );
        let file = parse(Path::new("guide-node.toml"), &node).unwrap();
        let dir = Path::new("/");
        let (plan, _) = build::builder(&file, dir).unwrap();
        plan.build().unwrap();
        let silent = node.replace(&examples[1], &examples[2]);
        let file = parse(Path::new("guide-silent.toml"), &silent).unwrap();
        let (plan, _) = build::builder(&file, dir).unwrap();
        plan.build().unwrap();
    }
}
