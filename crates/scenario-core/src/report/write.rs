//! Writing a run's report files into its artifact directory: `report.json`
//! (atomically, through a partial file), `junit.xml` and `report.html`.

use std::path::PathBuf;

use super::{HTML_FILE, JUNIT_FILE, Report};

impl Report {
    /// The report as the pretty-printed JSON written to `report.json`.
    pub fn to_json(&self) -> std::io::Result<String> {
        serde_json::to_string_pretty(self).map_err(std::io::Error::other)
    }

    pub(crate) fn write(&self) -> std::io::Result<PathBuf> {
        let path = self.path();
        let text = self.to_json()?;
        let partial = path.with_extension("json.partial");
        std::fs::write(&partial, text)?;
        std::fs::rename(&partial, &path)?;
        std::fs::write(self.artifacts_dir.join(JUNIT_FILE), self.junit())?;
        std::fs::write(self.artifacts_dir.join(HTML_FILE), self.html())?;
        Ok(path)
    }
}
