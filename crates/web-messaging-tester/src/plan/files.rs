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
/// that is not there, is an error naming it (exit 2: nothing runs). A folder means every
/// `*.yml` and `*.yaml` file in it and its subfolders, sorted.
pub fn expand(arguments: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    expand_with(arguments, |_| true)
}

/// As [`expand`], keeping of the files found in folders only those `keep` accepts (a folder of
/// test-scripts may hold their bot flows too).
pub fn expand_with(
    arguments: &[PathBuf],
    keep: impl Fn(&Path) -> bool,
) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    let mut seen = HashSet::new();
    for argument in arguments {
        let text = argument.to_string_lossy();
        // A real file whose name contains glob characters is taken as it is.
        let matches = if argument.is_dir() {
            let mut found = Vec::new();
            yaml_files_in(argument, &mut found, 0)?;
            found.sort();
            found.retain(|p| keep(p));
            if found.is_empty() {
                return Err(format!(
                    "the folder '{text}' holds no test-script (*.yml or *.yaml)"
                ));
            }
            found
        } else if is_pattern(&text) && !argument.exists() {
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

/// Most folder levels walked below a folder argument (a guard against link loops).
const MAX_DEPTH: usize = 32;

/// Every `*.yml`/`*.yaml` file under `dir`; an unreadable folder is an error naming it.
fn yaml_files_in(dir: &Path, found: &mut Vec<PathBuf>, depth: usize) -> Result<(), String> {
    let unreadable = |e: std::io::Error| format!("cannot read the folder '{}': {e}", dir.display());
    if depth > MAX_DEPTH {
        return Err(format!(
            "the folder '{}' is more than {MAX_DEPTH} levels deep",
            dir.display()
        ));
    }
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let path = entry.map_err(unreadable)?.path();
        if path.is_dir() {
            yaml_files_in(&path, found, depth + 1)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
        {
            found.push(path);
        }
    }
    Ok(())
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

    /// The files' paths below `root`, with `/` on every platform.
    fn relative(files: &[PathBuf], root: &Path) -> Vec<String> {
        files
            .iter()
            .map(|p| {
                p.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect()
    }

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
        let names = relative(&files, root);
        assert_eq!(names, ["a/2.yml", "a/1.yml", "a/b/3.yml"]);
        let none = expand(&[root.join("*.json")]).unwrap_err();
        assert!(none.starts_with("no file matches"), "{none}");
    }

    #[test]
    fn a_folder_means_its_yaml_files_recursively_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("t/sub")).unwrap();
        for f in [
            "t/b.yaml",
            "t/a.yml",
            "t/sub/c.yml",
            "t/notes.txt",
            "t/bot.yml",
        ] {
            std::fs::write(root.join(f), "x").unwrap();
        }
        let files = expand_with(&[root.join("t")], |p| !p.ends_with("bot.yml")).unwrap();
        let names = relative(&files, root);
        assert_eq!(names, ["t/a.yml", "t/b.yaml", "t/sub/c.yml"]);
        std::fs::create_dir_all(root.join("empty")).unwrap();
        let e = expand(&[root.join("empty")]).unwrap_err();
        assert!(e.contains("holds no test-script"), "{e}");
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
