//! `chat`: talk to a deployment from the terminal as a guest, then freeze the conversation
//! into a test-script.
//!
//! The target is resolved exactly as `scripted` resolves it ([`TargetPlan`]: flags over a
//! test-script's `config`, `--simulate`, `--ca-cert`, the deployment configuration), and the
//! guest speaks through the library's [`Conversation`], so pacing (2 messages a second, the
//! say delay) and delivery (ordered, lossless; a 429 sent again while the chat waits) are
//! `scripted`'s own.
//!
//! On a terminal ([`io::terminal`]) bot and agent messages are printed as they arrive, above
//! the prompt; without one, lines come from stdin and, after each, the chat waits for the
//! bot's answer (the first reply within `--timeout`, then until the bot has been quiet for
//! `--silence`) so the transcript on stdout is in conversation order and a number always
//! means an option already offered.
//!
//! Exit codes: 0 a session started, 2 invalid input (nothing opened) or a recording that
//! could not be written at the end, 3 no session could be started.

mod commands;
mod io;
mod record;
mod render;

use crate::Outcome;
use crate::format::script::TestScript;
use crate::plan::target::{SessionSettings, TargetPlan, TargetSettings};
use crate::secrets;
use commands::Command;
use genesys_web_messaging::{
    Conversation, ConversationOptions, Expectation, SessionConfig, SessionLog, WaitFailure,
};
use io::{Input, Out, Reader};
use record::{Action, Done, TargetConfig};
use render::{Choice, Display, Styles};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Exit code: a session started.
pub const EXIT_STARTED: u8 = 0;
/// Exit code: invalid input, nothing was opened (or the recording could not be written).
pub const EXIT_INVALID: u8 = 2;
/// Exit code: no session could be started (the deployment could not be reached, or refused).
pub const EXIT_NOT_STARTED: u8 = 3;

/// Default time the bot must stay quiet, without a terminal, before the next line is read.
pub const DEFAULT_SILENCE: Duration = Duration::from_secs(2);

/// How long one idle wait (on a terminal, while the guest types) lasts before the next.
const IDLE_WAIT: Duration = Duration::from_secs(3600);

/// Most time closing a session may take.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// The prompt on a terminal.
const PROMPT: &str = "You: ";

/// Everything `chat` needs, free of the command line's types.
#[derive(Debug, Clone, Default)]
pub struct ChatSettings {
    /// Where the sessions go, as the command line gives them (each setting wins over the
    /// `config` file's).
    pub session: SessionSettings,
    /// `--config`: a test-script whose `config` gives the target (default: the `--record`
    /// file, when it exists).
    pub config_file: Option<PathBuf>,
    /// `--timeout`: connecting, the session start, and (without a terminal) each reply.
    pub timeout: Option<Duration>,
    /// `--say-delay`.
    pub say_delay: Option<Duration>,
    /// `--silence` (without a terminal).
    pub silence: Option<Duration>,
    /// `--record`: append each session to this test-script.
    pub record: Option<PathBuf>,
    /// `--name`: the recorded scenario's name.
    pub name: Option<String>,
    /// `--verbose`.
    pub verbose: bool,
    /// Whether to use the terminal; `None`: when stdin is one.
    pub interactive: Option<bool>,
}

/// Runs `chat`: [`Outcome::Passed`] (exit 0) once a session started, [`Outcome::Invalid`]
/// for bad input (nothing opened), [`Outcome::Code`] 3 when no session could be started (or 2
/// when the recording could not be written at the end).
pub async fn run(settings: ChatSettings, colour_allowed: bool) -> Outcome {
    crate::logging::init(settings.verbose, colour_allowed);
    let interactive = settings
        .interactive
        .unwrap_or_else(|| std::io::stdin().is_terminal());
    let prepared = match prepare(&settings) {
        Ok(prepared) => prepared,
        Err(message) => return Outcome::Invalid(message),
    };
    let Prepared {
        plan,
        timeout,
        say_delay,
        target,
    } = prepared;
    let started = match plan.start().await {
        Ok(started) => started,
        Err(e) => {
            eprintln!(
                "error: no session could be started: {}",
                secrets::terminal(e.message())
            );
            return Outcome::Code(EXIT_NOT_STARTED);
        }
    };
    let (reader, out, interactive) = if interactive {
        match io::terminal() {
            Ok((reader, out)) => (reader, out, true),
            Err(message) => {
                eprintln!("note: {message}: reading lines plainly");
                let (reader, out) = io::plain();
                (reader, out, false)
            }
        }
    } else {
        let (reader, out) = io::plain();
        (reader, out, false)
    };
    if interactive {
        // At the prompt the terminal is raw and Ctrl-C reaches rustyline as a key. While a
        // message is being sent it would be SIGINT and end the chat without its recording:
        // it is answered with a note instead.
        let out = out.clone();
        let note =
            Styles::new(colour_allowed).note("(Ctrl-C at the prompt, Ctrl-D or /quit to leave)");
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                out.line(note.clone()).await;
            }
        });
    }
    let options = ConversationOptions {
        say_delay,
        // A bot that never goes quiet gets the message anyway after the timeout.
        max_quiet_wait: timeout,
        ..ConversationOptions::default()
    };
    let mut chat = Chat {
        config: started.session.clone(),
        options,
        timeout,
        silence: settings.silence.unwrap_or(DEFAULT_SILENCE),
        interactive,
        reader,
        out,
        styles: Styles::new(interactive && colour_allowed),
        live: None,
        ever_started: false,
        record: settings.record.clone(),
        name: settings.name.clone(),
        target,
        record_failed: false,
    };
    let code = chat.run().await;
    chat.out.flush().await;
    started.shutdown().await;
    match code {
        EXIT_STARTED => Outcome::Passed,
        code => Outcome::Code(code),
    }
}

/// The checked input: nothing opened yet.
struct Prepared {
    plan: TargetPlan,
    timeout: Duration,
    say_delay: Duration,
    target: TargetConfig,
}

/// Checks everything before anything opens: the name, the record destination, the config
/// file, the target.
fn prepare(settings: &ChatSettings) -> Result<Prepared, String> {
    if settings.name.as_ref().is_some_and(|n| n.trim().is_empty()) {
        return Err("--name is not allowed to be empty".into());
    }
    if let Some(path) = &settings.record {
        record::check_destination(path).map_err(|e| format!("--record: {e}"))?;
    }
    let config_file = settings
        .config_file
        .clone()
        .or_else(|| settings.record.clone().filter(|p| p.is_file()));
    let file = match &config_file {
        Some(path) => TestScript::load(path).map_err(|e| e.to_string())?.config,
        None => Default::default(),
    };
    let plan = TargetPlan::prepare(&settings.session, &file.target)?;
    let timeout = plan.timeout(settings.timeout, file.timeout);
    let say_delay = plan.say_delay(settings.say_delay, file.say_delay);
    let cli = &settings.session.target;
    let given_id = cli
        .deployment_id
        .clone()
        .or_else(|| file.target.deployment_id.clone());
    let target = TargetConfig {
        settings: TargetSettings {
            deployment_id: given_id,
            region: plan.target.region.clone(),
            region_at: None,
            endpoint: if plan.simulated() {
                None
            } else {
                plan.target.endpoint.clone()
            },
            origin: plan.target.origin.clone(),
            autostart: plan.target.autostart,
            auth_code_variable: cli
                .auth_code_variable
                .clone()
                .or_else(|| file.target.auth_code_variable.clone()),
        },
        simulate: settings.session.simulate.clone(),
    };
    Ok(Prepared {
        plan,
        timeout,
        say_delay,
        target,
    })
}

/// The chat: its settings, where lines come from and go, the open session.
struct Chat {
    config: SessionConfig,
    options: ConversationOptions,
    timeout: Duration,
    silence: Duration,
    interactive: bool,
    reader: Reader,
    out: Out,
    styles: Styles,
    live: Option<Live>,
    ever_started: bool,
    record: Option<PathBuf>,
    name: Option<String>,
    target: TargetConfig,
    record_failed: bool,
}

/// The open session and what the guest did in it.
struct Live {
    conversation: Conversation,
    actions: Vec<Done>,
    narrowed: HashMap<u64, String>,
    started: Instant,
    /// Without a terminal: what has been printed.
    display: Display,
    /// On a terminal: the task printing messages as they arrive.
    watcher: Option<tokio::task::JoinHandle<()>>,
    /// Whether waiting for replies while the guest types is useful (not after the bot left
    /// or the socket closed).
    idle: bool,
}

impl Live {
    fn log(&self) -> &Arc<SessionLog> {
        self.conversation.session().log()
    }

    fn steps(&self, replay_timeout: Duration) -> Vec<record::RecStep> {
        record::steps(
            &self.log().snapshot().messages,
            &self.actions,
            &self.narrowed,
            self.started,
            replay_timeout,
        )
    }
}

impl Chat {
    async fn note(&self, text: impl AsRef<str>) {
        self.out.line(self.styles.note(text.as_ref())).await;
    }

    async fn failure(&self, text: impl AsRef<str>) {
        self.out.line(self.styles.failure(text.as_ref())).await;
    }

    async fn run(&mut self) -> u8 {
        if !self.open().await {
            return EXIT_NOT_STARTED;
        }
        let mut interrupted = false;
        loop {
            self.reader.request(PROMPT, true);
            let input = self.next_input().await;
            match input {
                Input::Eof => break,
                Input::Interrupted if interrupted => break,
                Input::Interrupted => {
                    interrupted = true;
                    self.note("(Ctrl-C again, Ctrl-D or /quit to leave)").await;
                }
                Input::TooLong(bytes) => {
                    self.failure(format!(
                        "A line of {bytes} bytes is over the limit of {} bytes: skipped",
                        io::MAX_LINE_BYTES
                    ))
                    .await;
                }
                Input::Line(line) => {
                    interrupted = false;
                    if !self.handle(&line).await {
                        break;
                    }
                }
            }
        }
        self.end_session().await;
        if self.record_failed {
            EXIT_INVALID
        } else {
            EXIT_STARTED
        }
    }

    /// The next line. On a terminal, meanwhile, the session waits for replies, so a 429
    /// refusal is answered by sending again (the library does it inside its waits).
    async fn next_input(&mut self) -> Input {
        if !self.interactive {
            return self.reader.next().await;
        }
        loop {
            let Chat { reader, live, .. } = self;
            let Some(live) = live.as_mut().filter(|l| l.idle) else {
                return reader.next().await;
            };
            tokio::select! {
                input = reader.next() => return input,
                waited = live.conversation.wait_for_reply(&Expectation::Any, IDLE_WAIT) => {
                    if let Err(e) = waited
                        && matches!(e.reason, WaitFailure::BotDisconnected | WaitFailure::Closed(_) | WaitFailure::SessionNotStarted)
                    {
                        live.idle = false;
                    }
                }
            }
        }
    }

    /// Handles one line; `false` ends the chat.
    async fn handle(&mut self, line: &str) -> bool {
        match commands::parse(line) {
            Command::Nothing => {}
            Command::Help => self.out.line(commands::HELP).await,
            Command::Quit => return false,
            Command::Restart => {
                self.end_session().await;
                self.note("--- new session ---").await;
                self.open().await;
            }
            Command::Unknown(word) => {
                self.failure(format!(
                    "Unknown command {}. Commands: {}",
                    secrets::terminal_line(&word),
                    commands::NAMES
                ))
                .await;
            }
            Command::Usage(usage) => self.note(format!("Usage: {usage}")).await,
            Command::Say(text) => self.act(Action::Say(text)).await,
            Command::Click(label) => self.act(Action::Click(label)).await,
            Command::Choose(number) => self.choose(number).await,
            Command::Expect(text) => self.expect(&text).await,
            Command::Save(file) => {
                if let Some(live) = self.live.take() {
                    let saved = self.save(&live, Path::new(&file)).await;
                    self.live = Some(live);
                    let _ = saved;
                } else {
                    self.failure("No session to save: /restart opens a new one")
                        .await;
                }
            }
        }
        true
    }

    /// Says why a session could not be opened: in the conversation, or, without a terminal
    /// and before any session started (exit 3, no transcript), as an error on stderr.
    async fn open_failed(&self, message: String) {
        if self.ever_started || self.interactive {
            self.failure(format!("*** {message}")).await;
        } else {
            eprintln!("error: {message}");
        }
    }

    /// Opens a new session and waits for it to start; says why when it cannot.
    async fn open(&mut self) -> bool {
        let mut config = self.config.clone();
        config.connect_timeout = self.timeout;
        let mut conversation = match Conversation::connect(config, self.options.clone()).await {
            Ok(conversation) => conversation,
            Err(e) => {
                self.open_failed(format!(
                    "Could not open a session: {}",
                    secrets::terminal_line(&e.to_string())
                ))
                .await;
                return false;
            }
        };
        if let Err(e) = conversation.wait_for_start(self.timeout).await {
            let why = e.to_string();
            let first = why.lines().next().unwrap_or_default();
            self.open_failed(format!(
                "The session did not start: {}",
                secrets::terminal_line(first)
            ))
            .await;
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, conversation.close()).await;
            return false;
        }
        let watcher = self.interactive.then(|| {
            watch(
                Arc::clone(conversation.session().log()),
                self.out.clone(),
                self.styles,
            )
        });
        self.live = Some(Live {
            conversation,
            actions: Vec::new(),
            narrowed: HashMap::new(),
            started: Instant::now(),
            display: Display::new(self.styles, false),
            watcher,
            idle: true,
        });
        if !self.ever_started && self.interactive {
            self.note("Connected. Type to talk, /help for the commands, Ctrl-D to leave.")
                .await;
        }
        self.ever_started = true;
        if !self.interactive {
            // An auto-started conversation may greet before the guest speaks.
            if let Some(live) = self.live.as_mut() {
                live.conversation
                    .wait_for_replies_until_silence(self.silence, self.timeout)
                    .await;
            }
            self.show_new().await;
        }
        true
    }

    /// Without a terminal: prints what arrived since the last time.
    async fn show_new(&mut self) {
        if let Some(live) = self.live.as_mut() {
            let snapshot = live.log().snapshot();
            let lines = live.display.new_lines(&snapshot);
            self.out.lines(lines).await;
        }
    }

    /// Clicks option `number` of the latest message offering options.
    async fn choose(&mut self, number: usize) {
        let Some(live) = &self.live else {
            self.failure("No session is open: /restart opens a new one")
                .await;
            return;
        };
        let choices = render::latest_choices(&live.log().snapshot());
        match number.checked_sub(1).and_then(|i| choices.get(i)).cloned() {
            Some(Choice::Label(label)) => self.act(Action::Click(label)).await,
            Some(Choice::Slot(slot)) => self.act(Action::PickDate(slot)).await,
            None if choices.is_empty() => {
                self.failure(format!(
                    "There is no option {number}: no message has offered options (/say {number} says it)"
                ))
                .await;
            }
            None => {
                let listed: Vec<String> = choices
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{} {}", i + 1, secrets::terminal_line(c.shown())))
                    .collect();
                self.failure(format!(
                    "There is no option {number}: the latest options are {}",
                    listed.join(", ")
                ))
                .await;
            }
        }
    }

    /// Sends what the guest did (paced by the library) and remembers it for the recording.
    /// Without a terminal, shows it and waits for the bot's answer.
    async fn act(&mut self, action: Action) {
        let Some(live) = self.live.as_mut() else {
            self.failure("No session is open: /restart opens a new one")
                .await;
            return;
        };
        let shown = match &action {
            Action::Say(text) => secrets::terminal(text),
            Action::Click(label) => format!("[{}]", secrets::terminal_line(label)),
            Action::PickDate(at) => format!("[{}]", secrets::terminal_line(at)),
        };
        if !self.interactive {
            self.out.line(format!("You: {shown}")).await;
        } else if !matches!(action, Action::Say(_)) {
            self.out
                .line(self.styles.note(&format!("(clicked {shown})")))
                .await;
        }
        let sent = match &action {
            Action::Say(text) => live.conversation.say(text).await,
            Action::Click(label) => live.conversation.click(label).await,
            Action::PickDate(at) => live.conversation.pick_date(at).await,
        };
        match sent {
            Ok(()) => {
                // When the session wrote it (recorded before it read anything more), not when
                // this task woke up: a busy machine must not put a reply before its question.
                let sent_at = live
                    .log()
                    .on_message_writes()
                    .last()
                    .copied()
                    .unwrap_or_else(Instant::now);
                live.actions.push(Done { action, sent_at });
                live.idle = true;
                if !self.interactive {
                    self.settle().await;
                }
            }
            Err(e) => {
                let hint = match e {
                    genesys_web_messaging::SayError::Disconnected
                    | genesys_web_messaging::SayError::ReadOnly { .. }
                    | genesys_web_messaging::SayError::Send(_) => " (/restart opens a new session)",
                    _ => "",
                };
                if !self.interactive {
                    self.show_new().await;
                }
                self.failure(format!(
                    "*** {}{hint}",
                    secrets::terminal_line(&e.to_string())
                ))
                .await;
            }
        }
    }

    /// Without a terminal: waits for the bot's answer (its first reply within the timeout,
    /// then more until it has been quiet for the silence) and prints it.
    async fn settle(&mut self) {
        let Some(live) = self.live.as_mut() else {
            return;
        };
        let first = live.conversation.wait_for_next_reply(self.timeout).await;
        let timed_out = match &first {
            Ok(_) => {
                live.conversation
                    .wait_for_replies_until_silence(self.silence, self.timeout)
                    .await;
                false
            }
            Err(e) => e.reason == WaitFailure::TimedOut,
        };
        self.show_new().await;
        if timed_out {
            self.note(format!(
                "(no reply within {})",
                humantime::format_duration(self.timeout)
            ))
            .await;
        }
    }

    /// `/expect <text>`: the recorded wait for the last reply checks only `text`.
    async fn expect(&mut self, text: &str) {
        let Some(live) = self.live.as_mut() else {
            self.failure("No session is open: /restart opens a new one")
                .await;
            return;
        };
        let snapshot = live.log().snapshot();
        let last = snapshot
            .messages
            .iter()
            .filter(|r| r.message.is_reply())
            .max_by_key(|r| r.arrival);
        let Some(last) = last else {
            self.failure(
                "No reply yet: /expect chooses what the recorded wait for the last reply checks",
            )
            .await;
            return;
        };
        let said = last.message.text.clone().unwrap_or_default();
        if !said.to_lowercase().contains(&text.to_lowercase()) {
            self.failure(format!(
                "The last reply does not contain '{}' (ignoring case): it says '{}'",
                secrets::terminal_line(text),
                secrets::terminal_line(&secrets::bound(&said))
            ))
            .await;
            return;
        }
        live.narrowed.insert(last.arrival, text.to_string());
        self.note(format!(
            "The recorded wait for the last reply checks only that it contains '{}'",
            secrets::terminal_line(text)
        ))
        .await;
    }

    /// The recorded scenario's name: `--name`, else asked for on a terminal, else generated.
    async fn scenario_name(&mut self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        let generated = format!(
            "chat {}",
            jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M:%S")
        );
        if !self.interactive {
            return generated;
        }
        self.out.flush().await;
        match self
            .reader
            .read(&format!("Scenario name [{generated}]: "), false)
            .await
        {
            Input::Line(name) if !name.trim().is_empty() => name.trim().to_string(),
            _ => generated,
        }
    }

    /// Appends `live`'s conversation to `path` as a new scenario; says what it did. Returns
    /// whether it was written (nothing to record counts as written).
    async fn save(&mut self, live: &Live, path: &Path) -> bool {
        let steps = live.steps(self.timeout);
        if steps.is_empty() {
            self.note("Nothing to record: nothing was said in this session")
                .await;
            return true;
        }
        if !live.log().snapshot().faults.is_empty() {
            self.failure(
                "*** The session had server errors: replaying the recording will fail the same way",
            )
            .await;
        }
        if let Err(e) = record::check_destination(path) {
            self.failure(format!("*** {}", secrets::terminal_line(&e)))
                .await;
            return false;
        }
        let name = self.scenario_name().await;
        match record::save(path, &name, &steps, &self.target) {
            Ok(saved) => {
                self.note(format!(
                    "Recorded scenario \"{}\" ({} steps) in {}{}",
                    secrets::terminal_line(&saved.name),
                    saved.steps,
                    secrets::terminal_line(&path.display().to_string()),
                    if saved.created { " (new file)" } else { "" }
                ))
                .await;
                if saved.masked {
                    self.failure("*** A secret in the conversation was masked in the recording: that step will not match when replayed")
                        .await;
                }
                true
            }
            Err(e) => {
                self.failure(format!("*** {}", secrets::terminal_line(&e)))
                    .await;
                let mut masked = false;
                let yaml = record::scenario_yaml(&name, &steps, 2, &mut masked);
                self.note("The scenario, to keep by hand:").await;
                self.out.line(secrets::terminal(&yaml)).await;
                false
            }
        }
    }

    /// Ends the open session: waits (bounded) for replies still coming without a terminal,
    /// records it with `--record`, closes it.
    async fn end_session(&mut self) {
        let Some(mut live) = self.live.take() else {
            return;
        };
        if !self.interactive {
            live.conversation
                .wait_for_replies_until_silence(self.silence, self.timeout)
                .await;
            let snapshot = live.log().snapshot();
            let lines = live.display.new_lines(&snapshot);
            self.out.lines(lines).await;
        }
        if let Some(path) = self.record.clone()
            && !self.save(&live, &path).await
        {
            self.record_failed = true;
        }
        if let Some(watcher) = live.watcher.take() {
            watcher.abort();
        }
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, live.conversation.close()).await;
    }
}

/// On a terminal: prints the session's messages as they arrive, until the socket ends.
fn watch(log: Arc<SessionLog>, out: Out, styles: Styles) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut display = Display::new(styles, true);
        loop {
            let changed = log.changed();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let lines = display.new_lines(&log.snapshot());
            out.lines(lines).await;
            if display.finished() {
                break;
            }
            changed.await;
        }
    })
}
