//! File arguments: several paths and globs in one run (`tests/**/*.yml`).
//!
//! Shells usually expand globs, but a quoted glob (or one on Windows) reaches us as written, so
//! we expand it ourselves: `*`, `?`, `[...]` and `**` (any number of folders). Matches are
//! sorted; a file named twice is run once, in its first place.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Whether an argument is a pattern rather than a path.
fn is_pattern(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

/// Expands the arguments into files, in order. A pattern that matches no file, or a path
/// that is not there, is an error naming it (exit 2: nothing runs).
pub fn expand(arguments: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let mut seen = HashSet::new();
    for argument in arguments {
        let text = argument.to_string_lossy();
        // A real file whose name contains glob characters is taken as it is.
        let matches = if is_pattern(&text) && !argument.exists() {
            let paths =
                glob::glob(&text).map_err(|e| format!("'{text}' is not a valid glob: {e}"))?;
            let mut found: Vec<PathBuf> = paths
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(format!("no file matches '{text}'"));
            }
            found
        } else {
            vec![argument.clone()]
        };
        for path in matches {
            if seen.insert(path.clone()) {
                files.push(path);
            }
        }
    }
    Ok(files)
}

/// How scenarios of each file are named in the output when a run has several files: the
/// file's name when that is unique in the run, else its path as given.
pub fn short_names(files: &[PathBuf]) -> Vec<String> {
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| p.display().to_string())
    };
    files
        .iter()
        .map(|file| {
            let short = name(file);
            let clashes = files.iter().filter(|other| name(other) == short).count() > 1;
            if clashes {
                file.display().to_string()
            } else {
                short
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_globs_recursively_sorted_and_deduplicated() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        for f in ["a/2.yml", "a/1.yml", "a/b/3.yml", "a/notes.txt"] {
            std::fs::write(root.join(f), "x").unwrap();
        }
        let pattern = root.join("a/**/*.yml");
        let files = expand(&[root.join("a/2.yml"), pattern]).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|p| {
                p.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect();
        assert_eq!(names, ["a/2.yml", "a/1.yml", "a/b/3.yml"]);
        let none = expand(&[root.join("*.json")]).unwrap_err();
        assert!(none.starts_with("no file matches"), "{none}");
    }

    #[test]
    fn short_names_fall_back_to_paths_when_names_clash() {
        let files = [
            PathBuf::from("x/survey.yml"),
            PathBuf::from("y/survey.yml"),
            PathBuf::from("y/other.yml"),
        ];
        assert_eq!(
            short_names(&files),
            ["x/survey.yml", "y/survey.yml", "other.yml"]
        );
    }
}
