//! Every output of a run, each an adapter of the result model worded by [`crate::results`]:
//! the terminal text and live progress, the JSON, JUnit and HTML reports, the `ai` output
//! files and the `load` report. Files are written by the one atomic writer in [`mod@write`].

pub mod ai;
pub mod html;
pub mod json;
pub mod junit;
pub mod load;
pub mod load_progress;
pub mod progress;
pub mod terminal;
pub mod write;

pub use json::{
    ConversationReport, FORMAT_VERSION, FailureReport, LineReport, RunReport, ScenarioContext,
    ScenarioReport, ShardInfo, StepReport, Summary, TargetReport, Tool, record_options, wall_span,
};

use crate::secrets::redact;
use std::path::PathBuf;

/// Where to write the reports.
#[derive(Debug, Clone, Default)]
pub struct Destinations {
    /// `--report-junit <file>`.
    pub junit: Option<PathBuf>,
    /// `--report-json <file>`.
    pub json: Option<PathBuf>,
    /// `--report-html <dir>`: `<dir>/index.html`.
    pub html: Option<PathBuf>,
}

impl Destinations {
    fn files(&self) -> Vec<(&'static str, PathBuf)> {
        let mut files = Vec::new();
        if let Some(path) = &self.junit {
            files.push(("--report-junit", path.clone()));
        }
        if let Some(path) = &self.json {
            files.push(("--report-json", path.clone()));
        }
        if let Some(dir) = &self.html {
            files.push(("--report-html", dir.join("index.html")));
        }
        files
    }

    /// Checks, before anything runs, that every report can be written: its folder exists (it
    /// is created if missing) and a file can be created in it. Nothing is left behind.
    pub fn check(&self) -> Result<(), String> {
        if let Some(dir) = &self.html
            && dir.is_file()
        {
            return Err(format!(
                "--report-html {}: is a file; give a folder (index.html is written in it)",
                dir.display()
            ));
        }
        for (flag, path) in self.files() {
            if path.is_dir() {
                return Err(format!(
                    "{flag} {}: is a folder; give a file name",
                    path.display()
                ));
            }
            let folder = write::folder_of(&path);
            std::fs::create_dir_all(&folder)
                .and_then(|()| tempfile::NamedTempFile::new_in(&folder).map(drop))
                .map_err(|e| format!("{flag} {}: cannot write there: {e}", path.display()))?;
        }
        Ok(())
    }

    /// Writes every report, each atomically (a temporary file renamed into place). Either all
    /// are written or none is renamed into place.
    pub fn write(&self, report: &RunReport) -> Result<(), String> {
        let mut staged = Vec::new();
        for (flag, path) in self.files() {
            let text = match flag {
                "--report-junit" => junit::render(report)
                    .map_err(|e| format!("{flag}: cannot render the JUnit XML: {e}"))?,
                "--report-json" => report.to_json(),
                _ => html::render(report),
            };
            // The last net: no secret, in any form, in any report file.
            let text = redact(&text);
            std::fs::create_dir_all(write::folder_of(&path))
                .map_err(|e| format!("{flag} {}: cannot write it: {e}", path.display()))?;
            let staged_file = write::stage(&path, text.as_bytes())
                .map_err(|e| format!("{flag} {}: cannot write it: {e}", path.display()))?;
            staged.push((flag, path, staged_file));
        }
        for (flag, path, file) in staged {
            file.persist(&path)
                .map_err(|e| format!("{flag} {}: cannot write it: {}", path.display(), e.error))?;
        }
        Ok(())
    }
}
