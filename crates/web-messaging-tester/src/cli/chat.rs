//! Options of `chat`. Parsing only: the chat itself is `commands::chat`.

use clap::Args;
use std::path::PathBuf;
use std::time::Duration;
use web_messaging_tester::format::duration::{parse_say_delay, parse_timeout};

const CHAT_HELP: &str = "\
Type a line to say it. A number clicks that option of the latest message offering some.
Commands: /help, /click <label>, /say <text>, /expect <text>, /save <file.yml>, /restart, /quit
(or Ctrl-D). Without a terminal, lines are read from stdin and the transcript is printed plainly.

Exit codes: 0 a session started, 2 invalid input (nothing was opened), 3 no session could be started.";

/// Options of `chat`.
#[derive(Debug, Args)]
#[command(after_help = CHAT_HELP)]
pub struct ChatArgs {
    /// Where the guest sessions go.
    #[command(flatten)]
    pub session: crate::cli::SessionArgs,
    /// Origin domain used for restricting Web Messenger Deployment.
    #[arg(short = 'o', long, value_name = "origin")]
    pub origin: Option<String>,
    /// A test-script whose `config` gives the target (its scenarios are not run); default: the
    /// --record file, when it exists.
    #[arg(long, value_name = "file.yml")]
    pub config: Option<PathBuf>,
    /// Seconds to wait for the session to start (and, without a terminal, for each reply),
    /// 1ms to 1h [default: 10].
    #[arg(short = 't', long, value_name = "number", value_parser = parse_timeout)]
    pub timeout: Option<Duration>,
    /// Quiet time before each message, e.g. 2s or 500ms [default: 2s; 0 with --simulate].
    #[arg(long = "say-delay", value_name = "duration", value_parser = parse_say_delay)]
    pub say_delay: Option<Duration>,
    /// Without a terminal: after a reply, how long the bot must stay quiet before the next
    /// line is read, e.g. 2s or 300ms [default: 2s].
    #[arg(long, value_name = "duration", value_parser = parse_timeout)]
    pub silence: Option<Duration>,
    /// Append each session to this test-script as a new scenario (checked before any session
    /// opens).
    #[arg(long, value_name = "file.yml")]
    pub record: Option<PathBuf>,
    /// The recorded scenario's name [default: asked on a terminal, else generated].
    #[arg(long, value_name = "name")]
    pub name: Option<String>,
    /// Log every frame sent and received, with timestamps, on stderr.
    #[arg(short = 'v', long)]
    pub verbose: bool,
}
