//! `completions <shell>` and `man`: both generated from the clap definitions of [`crate::cli`],
//! so they always offer exactly the commands and options `--help` shows. (Upstream's legacy
//! spellings `-id` and `-fo` are rewritten before clap sees them and are not completed.)

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use clap::CommandFactory;
use std::io::Write;
use web_messaging_tester::Outcome;

/// The name the shells complete and the man page is titled with.
const BIN: &str = "web-messaging-tester";

/// Prints the completion script for `args.shell` on stdout.
pub fn run_completions(args: &CompletionsArgs) -> Outcome {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, BIN, &mut script);
    if args.shell == clap_complete::Shell::Bash {
        script = fix_bash_state_names(&String::from_utf8_lossy(&script)).into_bytes();
    }
    print(&script)
}

/// clap_complete's bash script (4.6.11) spells a subcommand's state two ways when the binary's
/// name has a hyphen: the loop that finds the subcommand arrives at
/// `web__messaging__tester__subcmd__scripted`, the `case` arms that offer its options are
/// labelled `web__subcmd__messaging__subcmd__tester__subcmd__scripted`, so no option of any
/// subcommand would complete (clap issue 6421). The arms get the loop's spelling.
fn fix_bash_state_names(script: &str) -> String {
    let escaped_once = BIN.replace('-', "__");
    let escaped_twice = BIN.replace('-', "__subcmd__");
    script.replace(
        &format!("{escaped_twice}__subcmd__"),
        &format!("{escaped_once}__subcmd__"),
    )
}

/// Prints the main man page on stdout, or writes every command's page into `--out-dir`.
pub fn run_man(args: ManArgs) -> Outcome {
    let command = Cli::command();
    match args.out_dir {
        Some(dir) => {
            let written = std::fs::create_dir_all(&dir)
                .and_then(|()| clap_mangen::generate_to(command, &dir));
            match written {
                Ok(()) => {
                    println!("man pages written to {}", dir.display());
                    Outcome::Passed
                }
                Err(e) => Outcome::Invalid(format!(
                    "--out-dir {}: cannot write the man pages there: {e}",
                    dir.display()
                )),
            }
        }
        None => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(command).render(&mut page) {
                Ok(()) => print(&page),
                Err(e) => Outcome::Invalid(format!("cannot render the man page: {e}")),
            }
        }
    }
}

/// Writes `bytes` to stdout; a closed pipe (`| head`) is not an error.
fn print(bytes: &[u8]) -> Outcome {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(bytes).and_then(|()| stdout.flush());
    Outcome::Passed
}
