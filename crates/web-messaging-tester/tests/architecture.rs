//! ARCHITECTURE.md stays true: its code map names every crate, every top-level folder and
//! every layer of this crate, and the layers of this crate import only from the layers above
//! them (the sources are scanned), with clap confined to the binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn architecture() -> String {
    std::fs::read_to_string(repository().join("ARCHITECTURE.md"))
        .expect("ARCHITECTURE.md at the repository root")
}

fn folders(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("a readable folder")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn the_code_map_names_every_crate_and_top_level_folder() {
    let map = architecture();
    let mut missing = Vec::new();
    for krate in folders(&repository().join("crates")) {
        if !map.contains(&format!("`crates/{krate}`")) {
            missing.push(format!("crates/{krate}"));
        }
    }
    // What git ignores (`target/`) and git's own folder are not part of the tree.
    for folder in folders(&repository()) {
        if folder == "target" || folder == ".git" {
            continue;
        }
        if !map.contains(&format!("`{folder}/`")) {
            missing.push(format!("{folder}/"));
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map misses: {}",
        missing.join(", ")
    );
}

/// The library's layers, in order: a module may import from its own layer and the ones
/// before it. `ai` and `load` sit beside `run` but may not import each other.
const LAYERS: &[(&str, u8)] = &[
    ("secrets", 0),
    ("interrupt", 0),
    ("logging", 0),
    ("retry_after", 0),
    ("text", 0),
    ("format", 1),
    ("plan", 2),
    ("run", 3),
    ("ai", 3),
    ("load", 3),
    ("results", 4),
    ("reports", 5),
    ("commands", 6),
];

fn rank(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A source without its comments and its `#[cfg(test)]` tail (tests may reach anywhere).
fn code(text: &str) -> String {
    let body = text.split("#[cfg(test)]").next().unwrap_or_default();
    body.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The crate's top-level modules named as `crate::<module>` in `code`.
fn crate_modules(code: &str) -> Vec<String> {
    code.match_indices("crate::")
        .filter(|(at, _)| {
            // Not the tail of another path (`web_messaging_tester::crate::` does not exist,
            // but `$crate::` in a macro would be a different thing).
            !code[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '$')
        })
        .map(|(at, _)| {
            code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn the_code_map_names_every_layer_of_the_cli_crate() {
    let map = architecture();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut missing: Vec<String> = folders(&src)
        .into_iter()
        .filter(|folder| !map.contains(&format!("`{folder}/`")))
        .collect();
    for (module, _) in LAYERS {
        let folder = src.join(module);
        let file = src.join(format!("{module}.rs"));
        assert!(
            folder.is_dir() || file.is_file(),
            "the layer {module} of the test's list is not in src/: update LAYERS and the code map"
        );
        if file.is_file() && !map.contains(&format!("`{module}.rs`")) {
            missing.push(format!("{module}.rs"));
        }
    }
    // Every folder of the library is a layer the rule below knows.
    for folder in folders(&src) {
        assert!(
            folder == "cli" || rank(&folder).is_some(),
            "src/{folder}/ is in no layer: add it to LAYERS and to ARCHITECTURE.md"
        );
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map misses: {}",
        missing.join(", ")
    );
}

#[test]
fn layers_import_only_from_the_layers_above_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut violations: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in files {
        let relative = path
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        let top = relative
            .split('/')
            .next()
            .unwrap_or_default()
            .trim_end_matches(".rs")
            .to_string();
        let text = std::fs::read_to_string(&path).expect("a readable source");
        let code = code(&text);
        if top == "cli" || top == "main" {
            continue;
        }
        if code.contains("clap::") || code.contains("use clap") {
            violations
                .entry(relative.clone())
                .or_default()
                .push("uses clap (clap types live in the binary, src/cli/)".into());
        }
        let Some(own) = rank(&top) else {
            continue;
        };
        for module in crate_modules(&code) {
            let Some(theirs) = rank(&module) else {
                continue;
            };
            let sideways = ["ai", "load"].contains(&top.as_str())
                && ["ai", "load"].contains(&module.as_str())
                && module != top;
            if theirs > own || sideways {
                violations
                    .entry(relative.clone())
                    .or_default()
                    .push(format!("imports crate::{module} from the {top} layer"));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports against the one-way flow (see ARCHITECTURE.md):\n{}",
        violations
            .iter()
            .map(|(file, problems)| format!("  {file}: {}", problems.join("; ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_layer_check_sees_an_upward_import() {
    // The scanner itself: an import from a later layer is found, a comment is not, a test
    // module is not.
    let source = "use crate::format::script::Scenario;\n\
                  // crate::commands in a comment\n\
                  fn f() { crate::reports::write::folder_of(p); }\n\
                  #[cfg(test)]\nmod tests { use crate::commands::x; }\n";
    assert_eq!(crate_modules(&code(source)), ["format", "reports"]);
}
