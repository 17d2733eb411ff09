//! `validate` and `schema`, and the schemas themselves: every YAML file of the repository that
//! the tool accepts must validate against its JSON Schema (so editors never flag a good file).

mod common;

use common::{repo, run};
use std::path::{Path, PathBuf};

fn schema(kind: &str) -> serde_json::Value {
    let result = run(&["schema", kind]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    serde_json::from_str(&result.stdout).expect("the schema is JSON")
}

fn yaml_to_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_saphyr::from_str::<serde_json::Value>(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                yaml_files(&path, out);
            }
        } else if name.ends_with(".yml") || name.ends_with(".yaml") {
            out.push(path);
        }
    }
}

#[test]
fn validate_accepts_the_examples_through_a_quoted_glob() {
    let pattern = repo().join("examples/*/*.yml").display().to_string();
    let result = run(&["validate", &pattern]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    let oks: Vec<_> = result
        .stdout
        .lines()
        .filter(|l| l.starts_with("ok: "))
        .collect();
    assert!(
        result
            .stdout
            .lines()
            .all(|l| l.starts_with("ok: ") || l.starts_with("skipped: ")),
        "{}",
        result.stdout
    );
    assert!(oks.len() >= 3, "{}", result.stdout);
    assert!(
        oks.iter().any(|l| l.ends_with("survey/bot.yml")),
        "bot flows are recognised"
    );
    assert!(result.stderr.is_empty(), "{}", result.stderr);
}

#[test]
fn schema_prints_each_format_and_refuses_others() {
    for (kind, file) in [("scripted", "test-script"), ("bot", "bot-flow")] {
        let printed = run(&["schema", kind]).stdout;
        let on_disk = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("schemas/{file}.schema.json")),
        )
        .unwrap();
        assert_eq!(printed, on_disk, "{kind}");
        let value: serde_json::Value = serde_json::from_str(&printed).unwrap();
        assert_eq!(
            value["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert!(
            jsonschema::meta::is_valid(&value),
            "{kind} is a valid schema"
        );
    }
    // An unknown format is refused: the case tests/cases/arch-schema-unknown-format.
}

#[test]
fn every_yaml_file_the_tool_accepts_validates_against_its_schema() {
    let mut files = Vec::new();
    yaml_files(&repo().join("examples"), &mut files);
    yaml_files(&repo().join("crates"), &mut files);
    files.sort();
    assert!(files.len() > 20, "found only {files:?}");
    let args: Vec<String> = std::iter::once("validate".to_string())
        .chain(files.iter().map(|f| f.display().to_string()))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = run(&args);
    let accepted: Vec<PathBuf> = result
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ok: "))
        .map(PathBuf::from)
        .collect();
    let skipped: Vec<PathBuf> = result
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("skipped: "))
        .filter_map(|l| l.split(" (").next())
        .map(PathBuf::from)
        .collect();
    for example in files
        .iter()
        .filter(|f| f.starts_with(repo().join("examples")))
    {
        assert!(
            accepted.contains(example) || skipped.contains(example),
            "{} is refused:\n{}",
            example.display(),
            result.stderr
        );
    }
    let scripted = jsonschema::validator_for(&schema("scripted")).unwrap();
    let bot = jsonschema::validator_for(&schema("bot")).unwrap();
    let mut problems = Vec::new();
    let (mut scripts, mut bots) = (0, 0);
    for file in &accepted {
        let document = yaml_to_json(file);
        // `ai` test files are checked by `validate` too, but have no schema (yet).
        if document.get("config").and_then(|c| c.get("ai")).is_some() {
            continue;
        }
        let validator = if document.get("states").is_some() {
            bots += 1;
            &bot
        } else {
            scripts += 1;
            &scripted
        };
        for error in validator.iter_errors(&document) {
            problems.push(format!(
                "{}: {} at {}",
                file.display(),
                error,
                error.instance_path()
            ));
        }
    }
    assert!(
        scripts >= 10 && bots >= 10,
        "{scripts} test-scripts, {bots} bot flows"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_schemas_refuse_what_the_tool_refuses() {
    let scripted = jsonschema::validator_for(&schema("scripted")).unwrap();
    let bot = jsonschema::validator_for(&schema("bot")).unwrap();
    let yaml = |text: &str| serde_saphyr::from_str::<serde_json::Value>(text).unwrap();
    for bad in [
        "config: {}\n",
        "scenarios: {}\n",
        "scenarios:\n  a:\n    - sayy: hi\n",
        "scenarios:\n  a:\n    - say: hi\n      waitForReplyContaining: x\n",
        "scenarios:\n  a:\n    - say: hi\n      timeout: 2\n",
        "scenarios:\n  a:\n    - waitForDisconnect: false\n",
        "scenarios:\n  a:\n    - waitForQuickReplies: []\n",
        "scenarios:\n  a:\n    - say: ''\n",
        "config:\n  foo: 1\nscenarios:\n  a: []\n",
        "config:\n  endpoint: http://x\nscenarios:\n  a: []\n",
        "other: 1\nscenarios:\n  a: []\n",
        "scenarios:\n  a:\n    - reconnect: false\n",
        "scenarios:\n  a:\n    - sendAttachment: {path: a.png, pth: x}\n",
        "scenarios:\n  a:\n    - sendAttachment: {path: a.png, mediaType: png}\n",
        "config:\n  auth:\n    codeVariable: ''\nscenarios:\n  a: []\n",
        "scenarios:\n  a:\n    - waitForAgent: false\n",
        "scenarios:\n  a:\n    - waitForAgent: true\n      from: bot\n",
        "scenarios:\n  a:\n    - say: hi\n      from: bot\n",
        "scenarios:\n  a:\n    - waitForReplyContaining: x\n      from: human\n",
        "scenarios:\n  a:\n    - waitForDatePicker: []\n",
        "scenarios:\n  a:\n    - waitForDatePicker: [tomorrow]\n",
        "scenarios:\n  a:\n    - pickDate: 2025-01-31\n",
        "scenarios:\n  a:\n    - waitForAttachment: {size: 3}\n",
        "scenarios:\n  a:\n    - waitForAttachment: {mediaType: Pdf}\n",
    ] {
        assert!(
            !scripted.is_valid(&yaml(bad)),
            "scripted schema accepts {bad:?}"
        );
    }
    for good in [
        "scenarios:\n  a: []\n",
        "config:\n  deploymentId: d\n  region: mypurecloud.ie\n  timeout: 2.5\n  sayDelay: 500ms\nscenarios:\n  a:\n    - say: Yes\n    - say: 0755\n    - waitForQuickReplies: [Yes, No]\n      timeout: 2s\n    - click: Yes\n    - waitForButtons: [Book]\n    - waitForReplyMatching: ^a$\n    - waitForDisconnect: true\n",
        "config:\n  auth:\n    codeVariable: CODE\nscenarios:\n  a:\n    - sendAttachment: a.png\n    - sendAttachment: {path: a.png, text: hi, mediaType: image/png}\n      timeout: 2s\n    - clearConversation: true\n    - reconnect: true\n    - startNew: true\n    - closeSession: true\n      timeout: 1\n",
        "scenarios:\n  a:\n    - waitForAgent: true\n    - waitForAgent: Anna\n      timeout: 5\n    - waitForReplyContaining: hi\n      from: agent\n    - waitForDatePicker: true\n      from: bot\n    - waitForDatePicker: ['2025-01-31T09:00:00Z']\n    - pickDate: '2025-01-31T09:00:00.000+01:00'\n    - waitForAttachment: true\n    - waitForAttachment: {filename: a.pdf, mediaType: File}\n",
    ] {
        let errors: Vec<String> = scripted
            .iter_errors(&yaml(good))
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{good:?}: {errors:?}");
    }
    for bad in [
        "states: {}\n",
        "states:\n  main:\n    - replyy: hi\n",
        "replyDelayMs: -1\nstates:\n  main: []\n",
        "states:\n  main:\n    - when: sometimes\n",
        "unknown: 1\nstates:\n  main: []\n",
        "states:\n  main:\n    - transfer: { agent: A }\n",
        "states:\n  main:\n    - transfer: { queue: Q, after: soon }\n",
        "states:\n  main:\n    - transfer: { queue: Q, say: [{ text: a, quickReplies: [x] }] }\n",
        "states:\n  main:\n    - transfer: { queue: Q }\n      disconnect: true\n",
        "states:\n  main:\n    - when: { datePicked: tomorrow }\n",
        "states:\n  main:\n    - reply: { datePicker: { title: T, availableTimes: [] } }\n",
        "states:\n  main:\n    - reply: { datePicker: { title: T, availableTimes: [{ dateTime: \"2030-01-01 09:00\", duration: 60 }] } }\n",
        "states:\n  main:\n    - reply: { attachment: { filename: a.png, mediaType: Image } }\n",
        "states:\n  main:\n    - reply: { attachment: { filename: a.png, mediaType: Picture, mime: image/png } }\n",
        "states:\n  main:\n    - reply: { text: t, quickReplies: [a], attachment: { filename: a, mediaType: Link } }\n",
    ] {
        assert!(!bot.is_valid(&yaml(bad)), "bot schema accepts {bad:?}");
    }
    for good in [
        "states:\n  main:\n    - when: { datePicked: any }\n      transfer: { queue: Q, after: 3s, agent: Anna, say: [hi, { attachment: { filename: a.png, mediaType: Image, mime: image/png } }], answers: ok, disconnect: true }\n",
        "states:\n  main:\n    - when: { datePicked: \"2030-01-01T09:00:00+01:00\" }\n      reply: { text: t, datePicker: { title: T, availableTimes: [{ dateTime: \"2030-01-01T09:00:00Z\", duration: 60 }] } }\n",
        "states:\n  main:\n    - reply: { attachment: { filename: site, mediaType: Link, url: \"https://example.com\" } }\n      transfer: { queue: Q, after: 2.5, agent: { nickname: N, image: \"https://x.example/n.png\" } }\n",
    ] {
        let errors: Vec<String> = bot
            .iter_errors(&yaml(good))
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{good:?}: {errors:?}");
    }
}
