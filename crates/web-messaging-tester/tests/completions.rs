//! `completions <shell>` and `man`: generated from the clap definitions, for every shell clap
//! knows, and usable as they are.

mod common;

use common::run;

#[test]
fn every_shell_gets_a_script_naming_the_commands_and_options() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let result = run(&["completions", shell]);
        assert_eq!(result.code, 0, "{shell}: {}", result.stderr);
        for word in [
            "web-messaging-tester",
            "scripted",
            "simulate",
            "report-junit",
        ] {
            assert!(
                result.stdout.contains(word),
                "{shell}: no {word} in\n{}",
                result.stdout
            );
        }
    }
}

#[test]
fn the_bash_script_is_valid_bash_and_completes_the_commands() {
    let script = run(&["completions", "bash"]).stdout;
    let dir = tempfile::tempdir().unwrap();
    let file = common::write(dir.path(), "completion.bash", &script);
    // Source it and ask for the completions of `web-messaging-tester sc` and of
    // `web-messaging-tester scripted --report-j`, as bash itself would.
    let probe = format!(
        "source '{file}'\n\
         fn=$(complete -p web-messaging-tester | sed -E 's/.* -F ([^ ]+) .*/\\1/') || exit 3\n\
         COMP_WORDS=(web-messaging-tester sc); COMP_CWORD=1; COMP_LINE='web-messaging-tester sc'; COMP_POINT=${{#COMP_LINE}}\n\
         \"$fn\" web-messaging-tester sc web-messaging-tester\n\
         echo \"commands: ${{COMPREPLY[*]}}\"\n\
         COMP_WORDS=(web-messaging-tester scripted --report-j); COMP_CWORD=2; COMP_LINE='web-messaging-tester scripted --report-j'; COMP_POINT=${{#COMP_LINE}}\n\
         \"$fn\" web-messaging-tester --report-j scripted\n\
         echo \"options: ${{COMPREPLY[*]}}\"\n"
    );
    let output = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &probe])
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("commands: scripted"), "{stdout}");
    assert!(
        stdout.contains("options: --report-junit --report-json"),
        "{stdout}"
    );
}

#[test]
fn the_man_page_is_roff_with_every_command() {
    let result = run(&["man"]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    let page = result.stdout;
    assert!(page.starts_with(".ie \\n(.g .ds Aq \\(aq"), "{page}");
    assert!(page.contains(".TH web-messaging-tester 1"), "{page}");
    for command in ["scripted", "simulate", "validate", "completions", "man"] {
        assert!(
            page.contains(&format!("web\\-messaging\\-tester\\-{command}(1)")),
            "{command}:\n{page}"
        );
    }
    assert!(page.contains("Exit codes"), "{page}");
}

#[test]
fn man_writes_one_page_per_command_into_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man/man1");
    let result = run(&["man", "--out-dir", &out.display().to_string()]);
    assert_eq!(result.code, 0, "{}", result.stderr);
    for page in [
        "web-messaging-tester.1",
        "web-messaging-tester-scripted.1",
        "web-messaging-tester-report-merge.1",
        "web-messaging-tester-completions.1",
    ] {
        let text =
            std::fs::read_to_string(out.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".SH NAME"), "{page}");
    }
    let scripted = std::fs::read_to_string(out.join("web-messaging-tester-scripted.1")).unwrap();
    assert!(scripted.contains("report\\-junit"), "{scripted}");
}
