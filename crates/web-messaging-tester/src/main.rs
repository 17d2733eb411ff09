//! `web-messaging-tester`: tests Genesys Cloud Web Messenger deployments by acting as a guest.
//!
//! The thin binary over the library: parse the command line (clap's types live in `cli/`), map
//! the arguments to the library's plain settings, run the command, map its outcome to the exit
//! code (0 passed, 1 a scenario failed, 2 invalid input, 3 the deployment could not be
//! tested, 130 interrupted by SIGINT or SIGTERM).

mod cli;

/// mimalloc rather than glibc's malloc: under load, allocation was about 30 % of the client's
/// CPU, and glibc's per-thread arenas kept freed memory (BENCHMARKS.md, "ceiling").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use std::process::ExitCode;
use web_messaging_tester::{Outcome, commands, interrupt, load, reports, secrets};

/// The deployment could not be tested (see [`Outcome::Untestable`]).
const UNTESTABLE: u8 = 3;

fn main() -> ExitCode {
    let args = cli::rewrite_legacy_args(std::env::args());
    // Every report records the options it was made with (redacted when written).
    reports::record_options(cli::options_after_command(&args));
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints usage errors to stderr (exit 2) and --help/--version to stdout (exit 0).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let colour_allowed = apply_colour_choice(cli.color);
    // The known secret variables are masked in every output, whatever the command.
    secrets::register_from_env([]);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            cli::Command::Scripted(args) => {
                commands::scripted::run(args.into(), colour_allowed).await
            }
            cli::Command::Simulate(args) => {
                // Thousands of guests may connect: one open file each.
                let _ = load::raise_open_files_limit();
                commands::simulate::run(args.into(), colour_allowed).await
            }
            cli::Command::Ai(args) => commands::ai::run(args.into(), colour_allowed).await,
            cli::Command::Validate(args) => {
                commands::validate::run(&args.files, &args.variables.into())
            }
            cli::Command::Schema(args) => commands::schema::run(args.kind.into()),
            cli::Command::Report(cli::ReportCommand::Merge(args)) => {
                commands::merge::run(&args.reports, &args.destinations(), &args.thresholds)
            }
            cli::Command::Load(args) => commands::load::run(args.into(), colour_allowed).await,
            cli::Command::Chat(args) => commands::chat::run(args.into(), colour_allowed).await,
            cli::Command::Completions(args) => cli::completions::run_completions(&args),
            cli::Command::Man(args) => cli::completions::run_man(args),
        }
    });
    match outcome {
        Outcome::Passed => ExitCode::SUCCESS,
        Outcome::Failed => ExitCode::from(1),
        Outcome::Interrupted => ExitCode::from(interrupt::EXIT_CODE),
        Outcome::Code(code) => ExitCode::from(code),
        Outcome::Invalid(message) => {
            eprintln!("error: {}", secrets::terminal(&message));
            ExitCode::from(2)
        }
        Outcome::Untestable(message) => {
            if let Some(message) = message {
                eprintln!("error: {}", secrets::terminal(&message));
            }
            ExitCode::from(UNTESTABLE)
        }
    }
}

/// Applies `--color` to every writer; returns whether colour may be used at all.
fn apply_colour_choice(choice: cli::ColorWhen) -> bool {
    let no_color = std::env::var("NO_COLOR").is_ok_and(|v| !v.is_empty());
    let choice = match choice {
        cli::ColorWhen::Always => anstream::ColorChoice::Always,
        cli::ColorWhen::Never => anstream::ColorChoice::Never,
        cli::ColorWhen::Auto if no_color => anstream::ColorChoice::Never,
        cli::ColorWhen::Auto => anstream::ColorChoice::Auto,
    };
    choice.write_global();
    console_colours(choice != anstream::ColorChoice::Never);
    choice != anstream::ColorChoice::Never
}

fn console_colours(enabled: bool) {
    // indicatif styles through `console`, which keeps its own switch.
    console::set_colors_enabled(enabled);
    console::set_colors_enabled_stderr(enabled);
}
