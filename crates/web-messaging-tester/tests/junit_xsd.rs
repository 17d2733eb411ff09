//! The JUnit report against Jenkins' JUnit schema, checked by a real XML Schema validator.
//!
//! The schema is `junit-10.xsd`, the one Jenkins' xunit plugin validates JUnit files with. It is
//! not copied into this repository: the test takes it from a package on PyPI that ships it (the
//! source distribution of pytest, whose own tests validate pytest's JUnit output against it),
//! and validates with the Python package `xmlschema`. Both are installed by pip into this
//! build's target folder the first time (pinned versions, so the check does not drift) and
//! reused afterwards. The test fails, saying why, when python3 or pip cannot install them.

mod common;

use common::{ECHO_BOT, echo_script, run, run_survey, write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The pinned packages: the validator, and the source distribution that ships the schema.
const XMLSCHEMA: &str = "xmlschema==4.3.2";
const SCHEMA_PACKAGE: &str = "pytest==9.2.0";
const SCHEMA_IN_PACKAGE: &str = "pytest-9.2.0/testing/example_scripts/junit-10.xsd";

/// Runs `python3` with `args`; panics with everything it printed when it fails.
fn python(args: &[&str], env: &[(&str, &Path)], what: &str) -> String {
    let mut command = Command::new("python3");
    command.args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap_or_else(|e| {
        panic!("this test needs python3 (with pip) to {what}: {e}");
    });
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "this test could not {what}: `python3 {}` failed ({}):\n{stdout}{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr),
    );
    stdout
}

/// Installs the validator and extracts the schema into the target folder, once; returns the
/// folder (`site/` holds the packages, `junit-10.xsd` the schema).
fn validator() -> PathBuf {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let ready = root.join("jenkins-junit-xsd");
    if ready.join("junit-10.xsd").is_file() {
        return ready;
    }
    std::fs::create_dir_all(root).unwrap();
    let work = tempfile::tempdir_in(root).unwrap();
    let site = work.path().join("site");
    let sdist = work.path().join("sdist");
    python(
        &[
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--target",
            &site.display().to_string(),
            XMLSCHEMA,
        ],
        &[],
        &format!("install {XMLSCHEMA} (the XML Schema validator) with pip"),
    );
    python(
        &[
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--dest",
            &sdist.display().to_string(),
            SCHEMA_PACKAGE,
        ],
        &[],
        &format!("download {SCHEMA_PACKAGE}'s source distribution (it ships junit-10.xsd)"),
    );
    let extract = "import glob, sys, tarfile\n\
         archive = glob.glob(sys.argv[1] + '/*.tar.gz')[0]\n\
         with tarfile.open(archive) as tar:\n\
         \x20   data = tar.extractfile(sys.argv[2]).read()\n\
         open(sys.argv[3], 'wb').write(data)\n";
    let schema = work.path().join("junit-10.xsd");
    python(
        &[
            "-c",
            extract,
            &sdist.display().to_string(),
            SCHEMA_IN_PACKAGE,
            &schema.display().to_string(),
        ],
        &[],
        "extract junit-10.xsd from the source distribution",
    );
    let text = std::fs::read_to_string(&schema).unwrap();
    assert!(
        text.contains("<xs:element name=\"testsuites\">") && text.contains("SUREFIRE_TIME"),
        "{SCHEMA_IN_PACKAGE} is not Jenkins' JUnit schema:\n{text}"
    );
    let _ = std::fs::remove_dir_all(&sdist);
    // Another test binary may have finished first: either copy is the same.
    let kept = work.keep();
    if std::fs::rename(&kept, &ready).is_err() {
        let _ = std::fs::remove_dir_all(&kept);
    }
    assert!(ready.join("junit-10.xsd").is_file());
    ready
}

/// Validates every file against the schema; returns the validator's complaints, if any.
fn validate(files: &[&Path]) -> Result<(), String> {
    const CHECK: &str = "import sys, xmlschema\n\
        schema = xmlschema.XMLSchema(sys.argv[1])\n\
        bad = 0\n\
        for path in sys.argv[2:]:\n\
        \x20   for error in schema.iter_errors(path):\n\
        \x20       bad += 1\n\
        \x20       print(path + ': ' + str(error.reason) + ' at ' + str(error.path))\n\
        print('invalid' if bad else 'valid')\n";
    let dir = validator();
    let mut args = vec![
        "-c".to_string(),
        CHECK.to_string(),
        dir.join("junit-10.xsd").display().to_string(),
    ];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = python(
        &args,
        &[("PYTHONPATH", &dir.join("site"))],
        "run the XML Schema validator",
    );
    if out.trim_end().ends_with("\nvalid") || out.trim() == "valid" {
        Ok(())
    } else {
        Err(out)
    }
}

#[test]
fn the_junit_report_is_valid_against_jenkins_junit_schema() {
    let dir = tempfile::tempdir().unwrap();

    // Passes and failures from two files, in parallel.
    let survey = dir.path().join("survey.xml");
    let survey_json = dir.path().join("survey.json");
    let result = run_survey(&[
        "--report-junit",
        &survey.display().to_string(),
        "--report-json",
        &survey_json.display().to_string(),
    ]);
    assert_eq!(result.code, 1, "{}", result.stderr);

    // A scenario that cannot connect (nobody listens on the port), with awkward text.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let script = write(
        dir.path(),
        "awkward <&> \"names\".yml",
        "scenarios:\n  \"<b>&amp; ]]> \\u0007 bell\":\n    - say: hi\n    - waitForReplyContaining: x\n",
    );
    let unreachable = dir.path().join("unreachable.xml");
    let unreachable_json = dir.path().join("unreachable.json");
    let result = run(&[
        "scripted",
        &script,
        "--deployment-id",
        "d-1",
        "--endpoint",
        &format!("ws://127.0.0.1:{port}/v1"),
        // Nothing listens there, so not even the deployment configuration can be read.
        "--no-deployment-config",
        "-t",
        "1",
        "--report-junit",
        &unreachable.display().to_string(),
        "--report-json",
        &unreachable_json.display().to_string(),
    ]);
    assert!(result.code != 0 && result.code != 2, "{}", result.stderr);

    // Everything passes (no failure element at all).
    let bot = write(dir.path(), "bot.yml", ECHO_BOT);
    let echo = write(dir.path(), "echo.yml", &echo_script("E", 2));
    let passing = dir.path().join("passing.xml");
    let result = run(&[
        "scripted",
        &echo,
        "--simulate",
        &bot,
        "--report-junit",
        &passing.display().to_string(),
    ]);
    assert_eq!(result.code, 0, "{}", result.stderr);

    // The merge of the first two runs.
    let merged = dir.path().join("merged.xml");
    let result = run(&[
        "report",
        "merge",
        &survey_json.display().to_string(),
        &unreachable_json.display().to_string(),
        "--report-junit",
        &merged.display().to_string(),
    ]);
    assert_eq!(result.code, 1, "{}", result.stderr);

    let files = [
        survey.as_path(),
        unreachable.as_path(),
        passing.as_path(),
        merged.as_path(),
    ];
    validate(&files).unwrap_or_else(|problems| {
        let texts: Vec<String> = files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect();
        panic!("{problems}\n{}", texts.join("\n"))
    });
}

#[test]
fn the_validator_does_reject_what_jenkins_schema_forbids() {
    let dir = tempfile::tempdir().unwrap();
    // What the JUnit report used to write: `timestamp` on <testcase> and on <testsuites>,
    // `skipped` on <testsuites>.
    let old = write(
        dir.path(),
        "old.xml",
        "<testsuites name=\"w\" tests=\"1\" skipped=\"0\" failures=\"0\" errors=\"0\" timestamp=\"2026-01-01T00:00:00Z\" time=\"1.000\">\
         <testsuite name=\"s\" tests=\"1\" failures=\"0\" errors=\"0\" time=\"1.000\">\
         <testcase name=\"a\" classname=\"s\" timestamp=\"2026-01-01T00:00:00Z\" time=\"1.000\"/>\
         </testsuite></testsuites>",
    );
    let problems = validate(&[Path::new(&old)]).expect_err("the old shape is invalid");
    for attribute in ["skipped", "timestamp"] {
        assert!(problems.contains(attribute), "{problems}");
    }
    let fine = write(
        dir.path(),
        "fine.xml",
        "<testsuites name=\"w\" tests=\"1\" failures=\"0\" errors=\"0\" time=\"1.000\">\
         <testsuite name=\"s\" tests=\"1\" failures=\"0\" errors=\"0\" timestamp=\"2026-01-01T00:00:00Z\" time=\"1.000\">\
         <properties><property name=\"k\" value=\"v\"/></properties>\
         <testcase name=\"a\" classname=\"s\" time=\"1.000\"/>\
         </testsuite></testsuites>",
    );
    validate(&[Path::new(&fine)]).unwrap();
}
