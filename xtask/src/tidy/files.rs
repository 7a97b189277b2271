//! Per-file hygiene: a `//!` line first, no unfinished-code or test-skipping
//! markers, and no file longer than [`MAX_LINES`] without saying why.

use std::path::Path;

use super::{Violation, rust_files};

/// Directories whose `.rs` files are checked.
const SOURCE_DIRS: [&str; 3] = ["crates", "xtask", "examples"];

/// A file longer than this many lines must say why, in a line holding
/// [`LONG_BECAUSE`] followed by the reason. Past it a file usually holds two
/// things that would read better apart (a type and its tests, a protocol and
/// its transport).
pub(crate) const MAX_LINES: usize = 500;

/// The marker that explains a long file, followed by its reason. Built from
/// pieces so that this file does not explain itself by accident.
const LONG_BECAUSE: &str = concat!("// tidy", ": long because ");

pub(super) fn check(root: &Path) -> anyhow::Result<Vec<Violation>> {
    let mut found = Vec::new();
    for dir in SOURCE_DIRS {
        for file in rust_files(root, &root.join(dir))? {
            found.extend(file_violations(&file.shown, &file.text));
        }
    }
    Ok(found)
}

/// The per-file hygiene rules.
pub(crate) fn file_violations(shown: &str, text: &str) -> Vec<Violation> {
    let mut found = Vec::new();
    if !text.trim_start().starts_with("//!") {
        found.push(Violation(format!(
            "{shown} does not start with a `//!` line saying what it is for"
        )));
    }
    found.extend(length_violation(shown, text));
    // Built from pieces so that this file does not trip its own rule.
    let macros = [
        (concat!("todo", "!("), "unfinished code (todo!)"),
        (
            concat!("unimplemented", "!("),
            "unfinished code (unimplemented!)",
        ),
    ];
    let attributes = [
        (
            concat!("#[", "ignore"),
            "#[ignore]: skip with a printed reason instead",
        ),
        (
            concat!("#[", "should_panic"),
            "#[should_panic]: assert on the error instead",
        ),
    ];
    for (number, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let broken = macros
            .iter()
            .filter(|(pattern, _)| code.contains(pattern))
            .chain(
                attributes
                    .iter()
                    .filter(|(pattern, _)| code.starts_with(pattern)),
            );
        for (_, why) in broken {
            found.push(Violation(format!("{shown}:{}: {why}", number + 1)));
        }
    }
    found
}

/// A file over [`MAX_LINES`] lines without a line that starts with
/// [`LONG_BECAUSE`] and gives a reason.
fn length_violation(shown: &str, text: &str) -> Option<Violation> {
    let lines = text.lines().count();
    if lines <= MAX_LINES {
        return None;
    }
    let explained = text.lines().any(|line| {
        line.trim_start()
            .strip_prefix(LONG_BECAUSE)
            .is_some_and(|reason| !reason.trim().is_empty())
    });
    (!explained).then(|| {
        Violation(format!(
            "{shown} has {lines} lines (more than {MAX_LINES}): split it along a seam, \
             or say why it is long in a `{}…` line",
            LONG_BECAUSE.trim_end()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_without_a_module_doc_or_with_banned_markers_is_reported() {
        let text = format!(
            "fn f() {{ {}\"x\") }}\n    {}]\nfn g() {{}}\n",
            concat!("todo", "!("),
            concat!("#[", "ignore")
        );
        let found = file_violations("crates/x/src/lib.rs", &text);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(file_violations("ok.rs", "//! Fine.\nfn f() {}\n").is_empty());
    }

    fn lines(count: usize) -> String {
        let mut text = String::from("//! A file.\n");
        for number in 1..count {
            text.push_str(&format!("const C{number}: u32 = {number};\n"));
        }
        text
    }

    #[test]
    fn a_file_over_the_limit_without_a_reason_is_reported() {
        let long = lines(MAX_LINES + 1);
        let found = file_violations("crates/x/src/big.rs", &long);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].0.starts_with("crates/x/src/big.rs has 501 lines"));
        // A marker without a reason explains nothing.
        let empty_reason = format!("{long}{}\n", LONG_BECAUSE.trim_end());
        assert_eq!(file_violations("big.rs", &empty_reason).len(), 1);
    }

    #[test]
    fn a_file_at_the_limit_or_explained_is_fine() {
        assert!(file_violations("at.rs", &lines(MAX_LINES)).is_empty());
        let explained = format!(
            "{}\n{LONG_BECAUSE}the protocol reads as one\n",
            lines(MAX_LINES + 10)
        );
        assert!(file_violations("long.rs", &explained).is_empty());
    }
}
