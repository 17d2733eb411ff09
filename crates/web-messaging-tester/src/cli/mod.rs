//! The command line: clap's types, and their mapping to the library's plain settings
//! (`settings.rs`). This layer only parses: every rule about merging and validating lives in
//! the library's commands.

pub mod chat;
pub mod completions;
pub mod load;
pub mod settings;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;
use web_messaging_tester::format::duration::{
    parse_say_delay, parse_scenario_timeout, parse_timeout,
};
use web_messaging_tester::format::variables;
use web_messaging_tester::plan::select::Pattern;

const LEGACY_SPELLINGS: &str = "\
Upstream's spellings work too: -id <deploymentId> (same as --deployment-id) and -fo (same as --failures-only).

Exit codes: 0 every scenario passed, 1 a scenario failed for a bot reason (a step failed), 2 invalid input (nothing was run), 3 the deployment could not be tested (DNS, connect, TLS, upgrade refused, deployment not found or inactive, session never started) and no scenario failed for a bot reason, 130 interrupted (SIGINT/SIGTERM; the reports are still written).";

/// Tests Genesys Cloud Web Messenger deployments (bots and Architect flows) by acting as a
/// guest: it says what a test-script tells it to and checks what the bot answers.
#[derive(Debug, Parser)]
#[command(name = "web-messaging-tester", version, after_help = LEGACY_SPELLINGS)]
pub struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
    /// When to colour the output.
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto, env = "WMT_COLOR")]
    pub color: ColorWhen,
}

/// When to use colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Test a WM Deployment against a scenario (a YAML test-script).
    Scripted(ScriptedArgs),
    /// Serve a simulated Web Messenger deployment driven by a bot-flow file.
    Simulate(SimulateArgs),
    /// Perform testing using Generative AI: a model plays the customer, a judge can read the
    /// conversation.
    Ai(AiArgs),
    /// Check test-scripts and bot flows without connecting (exit 2 if one is invalid).
    Validate(ValidateArgs),
    /// Print the JSON Schema of a file format, for editors (yaml-language-server).
    Schema(SchemaArgs),
    /// Work with the JSON reports of `scripted --report-json`.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Load-test a deployment: replay the test-script's scenarios as many concurrent guests.
    Load(load::LoadArgs),
    /// Talk to a deployment from the terminal as a guest; --record or /save freeze the
    /// conversation into a test-script.
    Chat(chat::ChatArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) on stdout.
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout, or write one page per command to a folder.
    Man(ManArgs),
}

/// Options of `completions`.
#[derive(Debug, Args)]
#[command(after_help = COMPLETIONS_HELP)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "shell")]
    pub shell: clap_complete::Shell,
}

const COMPLETIONS_HELP: &str = "\
Examples:
  bash        web-messaging-tester completions bash > ~/.local/share/bash-completion/completions/web-messaging-tester
  zsh         web-messaging-tester completions zsh > ~/.zfunc/_web-messaging-tester   (with fpath+=~/.zfunc)
  fish        web-messaging-tester completions fish > ~/.config/fish/completions/web-messaging-tester.fish
  powershell  web-messaging-tester completions powershell >> $PROFILE
  elvish      web-messaging-tester completions elvish >> ~/.config/elvish/rc.elv";

/// Options of `man`.
#[derive(Debug, Args)]
#[command(after_help = "Example: web-messaging-tester man | man -l -")]
pub struct ManArgs {
    /// Write web-messaging-tester.1 and a page per command (web-messaging-tester-scripted.1,
    /// ...) into this folder instead of printing the main page.
    #[arg(long = "out-dir", value_name = "dir")]
    pub out_dir: Option<PathBuf>,
}

/// Options of `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Test-scripts and bot flows (a file with a top-level `states:` is a bot flow); globs
    /// such as 'tests/**/*.yml' are expanded.
    #[arg(value_name = "files", required = true)]
    pub files: Vec<PathBuf>,
    /// `${NAME}` values.
    #[command(flatten)]
    pub variables: VariableArgs,
}

/// Options of `schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which format.
    #[arg(value_enum, value_name = "format")]
    pub kind: SchemaKind,
}

/// The file formats with a schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// Test-scripts (`scripted`).
    Scripted,
    /// Bot flows (`--simulate`, `simulate`).
    Bot,
}

/// `report` subcommands.
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Merge the JSON reports of sharded runs into one set of reports.
    Merge(MergeArgs),
}

/// Options of `report merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The JSON reports to merge: all of `scripted --report-json`, or all of the shards of
    /// one `load --shard K/N --report-json`.
    #[arg(value_name = "json", required = true)]
    pub reports: Vec<PathBuf>,
    /// Write the merged JUnit XML report to this file.
    #[arg(long = "report-junit", value_name = "file")]
    pub report_junit: Option<PathBuf>,
    /// Write the merged JSON report to this file.
    #[arg(long = "report-json", value_name = "file")]
    pub report_json: Option<PathBuf>,
    /// Write the merged HTML report to <dir>/index.html.
    #[arg(long = "report-html", value_name = "dir")]
    pub report_html: Option<PathBuf>,
    /// Load reports: check this threshold on the merged numbers instead of the recorded
    /// ones, e.g. 'p95<2s' (repeatable).
    #[arg(long = "threshold", value_name = "expr", value_parser = web_messaging_tester::format::threshold::parse)]
    pub thresholds: Vec<web_messaging_tester::format::threshold::Threshold>,
}

/// Where guest sessions go: shared by `scripted`, `ai` and `load` (each adds `--origin`,
/// whose short form differs between upstream's commands).
#[derive(Debug, Args)]
pub struct SessionArgs {
    /// Web Messenger Deployment's ID (overrides config.deploymentId).
    #[arg(
        long = "deployment-id",
        visible_alias = "id",
        value_name = "deploymentId"
    )]
    pub deployment_id: Option<String>,
    /// Region of Genesys instance that hosts the Web Messenger Deployment, e.g. mypurecloud.ie.
    #[arg(short = 'r', long, value_name = "region")]
    pub region: Option<String>,
    /// WebSocket URL (ws:// or wss://) to use instead of the region's; region is then optional.
    #[arg(long, value_name = "url", conflicts_with = "simulate")]
    pub endpoint: Option<String>,
    /// Run against a simulated deployment driven by this bot-flow file (no network needed).
    #[arg(long, value_name = "bot.yml")]
    pub simulate: Option<PathBuf>,
    /// Trust the certificates in this PEM file for wss:// (e.g. a simulator's exported one).
    #[arg(long = "ca-cert", value_name = "pem")]
    pub ca_cert: Option<PathBuf>,
    /// Send the Presence Join when each new session starts (the deployment's auto-start),
    /// whatever the deployment configuration or config.autostart says.
    #[arg(long, conflicts_with = "no_autostart")]
    pub autostart: bool,
    /// Never send the auto-start Presence Join, whatever the deployment configuration or
    /// config.autostart says.
    #[arg(long = "no-autostart")]
    pub no_autostart: bool,
    /// Do not fetch the deployment configuration (config.json) before the first session: its
    /// defaults apply (no auto-start, no sending after a disconnect).
    #[arg(long = "no-deployment-config")]
    pub no_deployment_config: bool,
    /// Largest message accepted from the server, in bytes (suffixes KiB, MiB); a bigger one
    /// fails the scenario. Default 1MiB.
    #[arg(long = "max-message-size", value_name = "bytes", value_parser = parse_size)]
    pub max_message_size: Option<usize>,
    /// Start authenticated sessions (configureAuthenticatedSession) with the code held in this
    /// environment variable (overrides config.auth.codeVariable). The code is never printed.
    #[arg(long = "auth-code-variable", value_name = "NAME")]
    pub auth_code_variable: Option<String>,
}

/// A size in bytes: `65536`, `512KiB`, `4MiB` (K/KB/KiB and M/MB/MiB are all binary). At least
/// 1 KiB, at most 1 GiB.
fn parse_size(value: &str) -> Result<usize, String> {
    let text = value.trim();
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit: u64 = match text[digits.len()..].to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        other => return Err(format!("unknown unit '{other}': use bytes, KiB or MiB")),
    };
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("'{value}' is not a size such as 1048576, 512KiB or 4MiB"))?;
    match n.checked_mul(unit) {
        Some(bytes) if (1 << 10..=1 << 30).contains(&bytes) => {
            usize::try_from(bytes).map_err(|_| "must be between 1KiB and 1024MiB".into())
        }
        _ => Err("must be between 1KiB and 1024MiB".into()),
    }
}

/// What `scripted` and `ai` produce for CI: reports and conversation IDs.
#[derive(Debug, Args)]
pub struct CiArgs {
    /// Associate tests with their conversation ID. This requires the following environment
    /// variables to be set for an OAuth client with the permission
    /// conversation:webmessaging:view: GENESYS_REGION, GENESYSCLOUD_OAUTHCLIENT_ID,
    /// GENESYSCLOUD_OAUTHCLIENT_SECRET.
    #[arg(short = 'a', long = "associate-id")]
    pub associate_id: bool,
    /// Write a JUnit XML report to this file.
    #[arg(long = "report-junit", value_name = "file", env = "WMT_REPORT_JUNIT")]
    pub report_junit: Option<PathBuf>,
    /// Write a JSON report to this file (`report merge` combines shards' ones).
    #[arg(long = "report-json", value_name = "file", env = "WMT_REPORT_JSON")]
    pub report_json: Option<PathBuf>,
    /// Write an HTML report to <dir>/index.html.
    #[arg(long = "report-html", value_name = "dir", env = "WMT_REPORT_HTML")]
    pub report_html: Option<PathBuf>,
}

impl SessionArgs {
    /// `--autostart` (true), `--no-autostart` (false), or neither.
    pub fn autostart(&self) -> Option<bool> {
        if self.autostart {
            Some(true)
        } else if self.no_autostart {
            Some(false)
        } else {
            None
        }
    }
}

/// Options of `ai`.
#[derive(Debug, Args)]
#[command(after_help = AI_HELP)]
pub struct AiArgs {
    /// Path of the YAML test-script file.
    #[arg(value_name = "filePath")]
    pub file: PathBuf,
    /// Where the guest sessions go.
    #[command(flatten)]
    pub session: SessionArgs,
    /// Directory to store output: one JSON file per scenario.
    #[arg(short = 'o', long = "out-dir", value_name = "outDir")]
    pub out_dir: Option<PathBuf>,
    /// Origin domain used for restricting Web Messenger Deployment (-o is --out-dir, as upstream).
    #[arg(long, value_name = "origin")]
    pub origin: Option<String>,
    /// Maximum scenarios to run in parallel.
    #[arg(short = 'p', long, value_name = "number", default_value = "1", value_parser = parse_parallel, env = "WMT_PARALLEL")]
    pub parallel: usize,
    /// Seed for choosing placeholder values (the same seed chooses the same values).
    #[arg(long, value_name = "number")]
    pub seed: Option<u64>,
    /// Most messages the AI may send to the bot per scenario [default: config.ai.maxTurns, else 10].
    #[arg(long = "max-turns", value_name = "number", value_parser = parse_max_turns)]
    pub max_turns: Option<u32>,
    /// Bot silence that ends the bot's turn, e.g. 3s or 500ms.
    #[arg(long, value_name = "duration", default_value = "3s", value_parser = parse_timeout)]
    pub silence: Duration,
    /// Most time each scenario's conversation may take, e.g. 5m or 90s (1s to 24h).
    #[arg(long = "time-limit", value_name = "duration", default_value = "5m", value_parser = parse_scenario_timeout)]
    pub time_limit: Duration,
    /// Log every frame and every model request (never their keys), with timestamps, on stderr.
    #[arg(short = 'v', long, env = "WMT_VERBOSE")]
    pub verbose: bool,
    /// The environment variable holding the openai-compatible server's API key. A file's
    /// config.ai.config.apiKeyVariable is only read when it names this same variable.
    #[arg(long = "api-key-variable", value_name = "NAME", value_parser = parse_variable_name)]
    pub api_key_variable: Option<String>,
    /// Reports and conversation IDs.
    #[command(flatten)]
    pub ci: CiArgs,
    /// `${NAME}` values.
    #[command(flatten)]
    pub variables: VariableArgs,
}

fn parse_variable_name(value: &str) -> Result<String, String> {
    let valid = !value.is_empty()
        && !value.starts_with(|c: char| c.is_ascii_digit())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(value.to_string())
    } else {
        Err(format!(
            "'{value}' is not an environment variable name (letters, digits and _)"
        ))
    }
}

const AI_HELP: &str = "\
Providers (config.ai.provider) and the environment variables they read:
  chatgpt            OPENAI_API_KEY (required), OPENAI_BASE_URL
  openai-compatible  OPENAI_BASE_URL with OPENAI_API_KEY, unless the file gives baseUrl;
                     then the variable given with --api-key-variable NAME (a file's
                     apiKeyVariable must name that same variable)
  google-gemini      GEMINI_API_KEY or GOOGLE_API_KEY, GEMINI_BASE_URL
  google-vertex-ai   GOOGLE_APPLICATION_CREDENTIALS, VERTEX_AI_PROJECT,
                     VERTEX_AI_LOCATION, VERTEX_AI_BASE_URL

Exit codes: 0 every scenario passed, 1 a scenario failed for a bot reason (a step failed), 2 invalid input (nothing was run), 3 the deployment could not be tested (DNS, connect, TLS, upgrade refused, deployment not found or inactive, session never started) and no scenario failed for a bot reason, 130 interrupted (SIGINT/SIGTERM; the reports are still written).";

/// Options of `scripted`.
#[derive(Debug, Args)]
#[command(after_help = LEGACY_SPELLINGS)]
pub struct ScriptedArgs {
    /// Paths of the YAML test-script files; globs such as 'tests/**/*.yml' are expanded.
    #[arg(value_name = "filePath", required = true)]
    pub files: Vec<PathBuf>,
    /// Where the guest sessions go.
    #[command(flatten)]
    pub session: SessionArgs,
    /// Origin domain used for restricting Web Messenger Deployment.
    #[arg(short = 'o', long, value_name = "origin")]
    pub origin: Option<String>,
    /// Maximum scenarios to run in parallel.
    #[arg(short = 'p', long, value_name = "number", default_value = "1", value_parser = parse_parallel, env = "WMT_PARALLEL")]
    pub parallel: usize,
    /// Only output failures.
    #[arg(long = "failures-only", env = "WMT_FAILURES_ONLY")]
    pub failures_only: bool,
    /// Seconds to wait for a response before failing the test (also bounds connecting and the
    /// session start), 1ms to 1h [default: 10].
    #[arg(short = 't', long, value_name = "number", value_parser = parse_timeout, env = "WMT_TIMEOUT")]
    pub timeout: Option<Duration>,
    /// Quiet time before each `say`, e.g. 2s or 500ms, 0 to 60s [default: 2s; 0 with
    /// --simulate].
    #[arg(long = "say-delay", value_name = "duration", value_parser = parse_say_delay, env = "WMT_SAY_DELAY")]
    pub say_delay: Option<Duration>,
    /// Most time each scenario may take, e.g. 10m, 1s to 24h [default: 10m, or more for long
    /// scenarios: 2 × (steps + 1) × (timeout + say delay + 1s)].
    #[arg(long = "scenario-timeout", value_name = "duration", value_parser = parse_scenario_timeout, env = "WMT_SCENARIO_TIMEOUT")]
    pub scenario_timeout: Option<Duration>,
    /// Log every frame sent and received, with timestamps, on stderr.
    #[arg(short = 'v', long, env = "WMT_VERBOSE")]
    pub verbose: bool,
    /// Reports and conversation IDs.
    #[command(flatten)]
    pub ci: CiArgs,
    /// With --associate-id or expect… steps: leave each scenario's conversation as it is,
    /// instead of disconnecting it when it is still connected or waiting in a queue.
    #[arg(long = "keep-conversations")]
    pub keep_conversations: bool,
    /// Run only this job's share of the scenarios: K of N jobs, e.g. 2/4.
    #[arg(long, value_name = "K/N", value_parser = web_messaging_tester::plan::shard::parse_shard, env = "WMT_SHARD")]
    pub shard: Option<web_messaging_tester::plan::shard::Shard>,
    /// Run only the scenarios whose `file › scenario` name this regular expression matches
    /// (repeatable: any match selects).
    #[arg(long, value_name = "regex", value_parser = Pattern::parse, env = "WMT_FILTER")]
    pub filter: Vec<Pattern>,
    /// Leave out the scenarios whose `file › scenario` name this regular expression matches
    /// (repeatable).
    #[arg(long, value_name = "regex", value_parser = Pattern::parse, env = "WMT_SKIP")]
    pub skip: Vec<Pattern>,
    /// `${NAME}` values.
    #[command(flatten)]
    pub variables: VariableArgs,
}

/// `${NAME}` in test-scripts: where the values come from (after the environment).
#[derive(Debug, Args)]
pub struct VariableArgs {
    /// Fill ${NAME} in the test-script with VALUE (repeatable; beats --variables-file and the
    /// environment).
    #[arg(long = "variable", value_name = "NAME=VALUE", value_parser = variables::parse_assignment)]
    pub variables: Vec<(String, String)>,
    /// Read NAME=VALUE lines (# comments and blank lines allowed) for ${NAME} (repeatable).
    #[arg(
        long = "variables-file",
        value_name = "file",
        env = "WMT_VARIABLES_FILE"
    )]
    pub variables_files: Vec<PathBuf>,
    /// As --variable, but the value is never printed in any output or report; NAME alone takes
    /// the value of the environment variable NAME (repeatable).
    #[arg(long = "secret", value_name = "NAME=VALUE", value_parser = variables::parse_secret)]
    pub secrets: Vec<(String, Option<String>)>,
}

/// Options of `simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// The bot-flow file.
    #[arg(value_name = "bot.yml")]
    pub bot: PathBuf,
    /// The port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// Log every frame on stderr.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Serve wss:// with a self-signed certificate made at start-up (for localhost and
    /// 127.0.0.1); clients trust it with --ca-cert.
    #[arg(long)]
    pub tls: bool,
    /// Write the self-signed certificate (PEM) to this file before printing the URL.
    #[arg(long = "export-cert", value_name = "cert.pem", requires = "tls")]
    pub export_cert: Option<PathBuf>,
    /// Seed of the random choices (reply jitter, faults), instead of the bot flow's `seed`.
    #[arg(long, value_name = "number")]
    pub seed: Option<u64>,
    /// Open connections at once; more are closed as soon as they are accepted.
    #[arg(long, value_name = "N", default_value_t = 50_000, value_parser = parse_positive)]
    pub max_connections: usize,
    /// Guest sessions kept; beyond it expired, then least recently active sessions go.
    #[arg(long, value_name = "N", default_value_t = 100_000, value_parser = parse_positive)]
    pub max_sessions: usize,
    /// Close a socket that sends no valid configureSession within this many seconds
    /// (0: never).
    #[arg(long, value_name = "seconds", default_value_t = 10)]
    pub configure_timeout: u64,
    /// Close a configured socket that sends nothing (not even a heartbeat) for this many
    /// seconds (0: never).
    #[arg(long, value_name = "seconds", default_value_t = 600)]
    pub idle_timeout: u64,
    /// Largest WebSocket frame or message from a guest, in bytes.
    #[arg(long, value_name = "bytes", default_value_t = 1 << 20, value_parser = parse_positive)]
    pub max_frame_bytes: usize,
    /// Frames read per second from one socket (bursts of twice as many); a faster guest is
    /// read more slowly (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub frames_per_second: u32,
}

fn parse_positive(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        Ok(_) => Err("must be greater than 0".into()),
        Err(_) => Err(format!("'{value}' is not a whole number")),
    }
}

fn parse_max_turns(value: &str) -> Result<u32, String> {
    match value.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        Ok(_) => Err("must be greater than 0".into()),
        Err(_) => Err(format!("'{value}' is not a whole number")),
    }
}

fn parse_parallel(value: &str) -> Result<usize, String> {
    match value.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        Ok(_) => Err("must be greater than 0".into()),
        Err(_) => Err(format!("'{value}' is not a whole number")),
    }
}

/// Every spelling of every option that takes a value, in any command (`-p`, `--parallel`,
/// `--id`, ...), derived from the clap definitions so it never drifts from them, plus
/// upstream's `-id`: the token after one of them is a value, never rewritten.
fn takes_value() -> &'static std::collections::HashSet<String> {
    static SPELLINGS: std::sync::OnceLock<std::collections::HashSet<String>> =
        std::sync::OnceLock::new();
    SPELLINGS.get_or_init(|| {
        let mut spellings = std::collections::HashSet::from(["-id".to_string()]);
        collect_value_options(&<Cli as clap::CommandFactory>::command(), &mut spellings);
        spellings
    })
}

fn collect_value_options(
    command: &clap::Command,
    spellings: &mut std::collections::HashSet<String>,
) {
    for arg in command.get_arguments() {
        if arg.is_positional() || !arg.get_action().takes_values() {
            continue;
        }
        for short in arg.get_short_and_visible_aliases().into_iter().flatten() {
            spellings.insert(format!("-{short}"));
        }
        for long in arg.get_long_and_visible_aliases().into_iter().flatten() {
            spellings.insert(format!("--{long}"));
        }
        for long in arg.get_all_aliases().into_iter().flatten() {
            spellings.insert(format!("--{long}"));
        }
        for short in arg.get_all_short_aliases().into_iter().flatten() {
            spellings.insert(format!("-{short}"));
        }
    }
    for sub in command.get_subcommands() {
        collect_value_options(sub, spellings);
    }
}

/// Rewrites upstream's multi-letter short options (`-id`, `-fo`), which clap cannot declare,
/// into their long forms. Only exact tokens before `--`, and never a value of an option.
pub fn rewrite_legacy_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut previous_takes_value = false;
    let mut after_double_dash = false;
    for arg in args {
        let rewritten = if after_double_dash || previous_takes_value {
            arg.clone()
        } else if arg == "--" {
            after_double_dash = true;
            arg.clone()
        } else if arg == "-id" {
            "--deployment-id".to_string()
        } else if let Some(value) = arg.strip_prefix("-id=") {
            format!("--deployment-id={value}")
        } else if arg == "-fo" {
            "--failures-only".to_string()
        } else {
            arg.clone()
        };
        previous_takes_value =
            !after_double_dash && !previous_takes_value && takes_value().contains(arg.as_str());
        out.push(rewritten);
    }
    out
}

/// The arguments after the command's name (after `report merge` for a nested one), as the
/// reports record them: `["tests/", "-p", "3", ...]` for `web-messaging-tester --color never
/// scripted tests/ -p 3 ...`. `args` is the whole command line, program name first.
pub fn options_after_command(args: &[String]) -> Vec<String> {
    let mut command = <Cli as clap::CommandFactory>::command();
    let mut rest = args.iter().skip(1);
    let mut previous_takes_value = false;
    while let Some(arg) = rest.next() {
        if std::mem::take(&mut previous_takes_value) {
            continue;
        }
        if let Some(sub) = command.find_subcommand(arg) {
            if sub.has_subcommands() {
                // `report merge`: the options are the nested command's.
                command = sub.clone();
                continue;
            }
            return rest.cloned().collect();
        }
        previous_takes_value = takes_value().contains(arg.as_str());
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_options_after_the_command() {
        let options = |line: &str| options_after_command(&args(line));
        assert_eq!(
            options("wmt --color never scripted a.yml -p 3"),
            args("a.yml -p 3")
        );
        assert_eq!(
            options("wmt report merge a.json b.json"),
            args("a.json b.json")
        );
        assert_eq!(options("wmt ai t.yml"), args("t.yml"));
        assert!(options("wmt --help").is_empty());
    }

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn the_value_options_come_from_the_clap_definitions() {
        // The list once copied by hand, and options it missed.
        for spelling in [
            "-id",
            "--deployment-id",
            "--id",
            "-r",
            "--region",
            "-o",
            "--origin",
            "--endpoint",
            "--simulate",
            "-p",
            "--parallel",
            "-t",
            "--timeout",
            "--say-delay",
            "--scenario-timeout",
            "--ca-cert",
            "--report-junit",
            "--report-json",
            "--report-html",
            "--shard",
            "--out-dir",
            "--seed",
            "--max-turns",
            "--silence",
            "--time-limit",
            "--api-key-variable",
            "-u",
            "--users",
            "--ramp-up",
            "--duration",
            "-n",
            "--iterations",
            "--arrival-rate",
            "--threshold",
            "--color",
            "--port",
            "--host",
            "--auth-code-variable",
            "--max-message-size",
            "--export-cert",
            "--max-connections",
        ] {
            assert!(takes_value().contains(spelling), "{spelling}");
        }
        for flag in [
            "-fo",
            "--failures-only",
            "-v",
            "--verbose",
            "--tls",
            "-a",
            "--autostart",
        ] {
            assert!(!takes_value().contains(flag), "{flag}");
        }
        // A value that looks like a legacy option stays a value after any value option.
        assert_eq!(
            rewrite_legacy_args(args("x scripted f.yml --auth-code-variable -fo")),
            args("x scripted f.yml --auth-code-variable -fo")
        );
    }

    #[test]
    fn rewrites_legacy_short_options_only_where_they_are_options() {
        assert_eq!(
            rewrite_legacy_args(args("x scripted -id abc -fo f.yml")),
            args("x scripted --deployment-id abc --failures-only f.yml")
        );
        assert_eq!(
            rewrite_legacy_args(args("x scripted --origin -id f.yml")),
            args("x scripted --origin -id f.yml")
        );
        assert_eq!(
            rewrite_legacy_args(args("x scripted -id=abc -- -fo")),
            args("x scripted --deployment-id=abc -- -fo")
        );
    }

    #[test]
    fn parses_upstream_flags() {
        let cli = Cli::try_parse_from(rewrite_legacy_args(args(
            "web-messaging-tester scripted f.yml -id d -r r -o o -p 3 -fo -t 5",
        )))
        .unwrap();
        let Command::Scripted(a) = cli.command else {
            panic!("not scripted")
        };
        assert_eq!(a.session.deployment_id.as_deref(), Some("d"));
        assert_eq!(a.parallel, 3);
        assert!(a.failures_only);
        assert_eq!(a.timeout, Some(Duration::from_secs(5)));
    }

    #[test]
    fn parses_the_ci_flags_and_several_files() {
        let cli = Cli::try_parse_from(rewrite_legacy_args(args(
            "web-messaging-tester scripted a.yml b.yml -a --shard 2/3 --report-json r.json --report-junit j.xml --report-html out",
        )))
        .unwrap();
        let Command::Scripted(a) = cli.command else {
            panic!("not scripted")
        };
        assert_eq!(a.files, [PathBuf::from("a.yml"), PathBuf::from("b.yml")]);
        assert!(a.ci.associate_id);
        assert_eq!(a.shard.map(|s| (s.index, s.total)), Some((2, 3)));
        assert_eq!(a.ci.report_json, Some(PathBuf::from("r.json")));
        assert_eq!(a.ci.report_junit, Some(PathBuf::from("j.xml")));
        assert_eq!(a.ci.report_html, Some(PathBuf::from("out")));
    }

    #[test]
    fn parses_the_ai_ci_flags() {
        let cli = Cli::try_parse_from(rewrite_legacy_args(args(
            "web-messaging-tester ai t.yml -a --report-json r.json --report-junit j.xml --report-html out",
        )))
        .unwrap();
        let Command::Ai(a) = cli.command else {
            panic!("not ai")
        };
        assert!(a.ci.associate_id);
        assert_eq!(a.ci.report_json, Some(PathBuf::from("r.json")));
        assert_eq!(a.ci.report_junit, Some(PathBuf::from("j.xml")));
        assert_eq!(a.ci.report_html, Some(PathBuf::from("out")));
    }

    #[test]
    fn parses_the_deployment_configuration_flags() {
        let parse = |line: &str| {
            let cli = Cli::try_parse_from(rewrite_legacy_args(args(line))).unwrap();
            let Command::Scripted(a) = cli.command else {
                panic!("not scripted")
            };
            a.session
        };
        let session = parse("x scripted f.yml");
        assert_eq!(session.autostart(), None);
        assert!(!session.no_deployment_config);
        assert_eq!(
            parse("x scripted f.yml --autostart").autostart(),
            Some(true)
        );
        assert_eq!(
            parse("x scripted f.yml --no-autostart").autostart(),
            Some(false)
        );
        assert!(parse("x scripted f.yml --no-deployment-config").no_deployment_config);
        assert!(Cli::try_parse_from(args("x scripted f.yml --autostart --no-autostart")).is_err());
        for command in ["ai t.yml", "load t.yml"] {
            let line = format!("x {command} --no-autostart --no-deployment-config");
            assert!(Cli::try_parse_from(args(&line)).is_ok(), "{line}");
        }
    }

    #[test]
    fn refuses_bad_numbers() {
        for bad in [
            "-p 0",
            "-p x",
            "-t abc",
            "-t 0",
            "-t -1",
            "-t 1ns",
            "-t 2h",
            "-t 1e400",
            "--say-delay 100y",
            "--say-delay 61s",
            "--scenario-timeout 0",
            "--scenario-timeout 25h",
        ] {
            let line = format!("web-messaging-tester scripted f.yml {bad}");
            assert!(
                Cli::try_parse_from(rewrite_legacy_args(args(&line))).is_err(),
                "{bad}"
            );
        }
    }
}
