//! Writing a run's report files into its artifact directory: `report.json`
//! (atomically, through a partial file), `junit.xml` and `report.html`.

use std::path::PathBuf;

use super::{HTML_FILE, JUNIT_FILE, Report, html};

impl Report {
    pub(crate) fn write(&self) -> std::io::Result<PathBuf> {
        let path = self.path();
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        let partial = path.with_extension("json.partial");
        std::fs::write(&partial, text)?;
        std::fs::rename(&partial, &path)?;
        std::fs::write(self.artifacts_dir.join(JUNIT_FILE), self.junit())?;
        std::fs::write(self.artifacts_dir.join(HTML_FILE), html::render(self))?;
        Ok(path)
    }
}
