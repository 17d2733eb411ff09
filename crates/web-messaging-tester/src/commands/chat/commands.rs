//! What a typed line means: text to say, an option's number, or a `/command`.

/// One typed line, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Say this text (a plain line, `/say <text>`, or `//text` for text starting with `/`).
    Say(String),
    /// Click option N (1-based) of the latest message offering options.
    Choose(usize),
    /// `/click <label>`: click the quick reply or button with this label.
    Click(String),
    /// `/expect <text>`: the recorded wait for the last reply checks only this text.
    Expect(String),
    /// `/save <file.yml>`: append this session, so far, to a test-script.
    Save(String),
    /// `/restart`: end this session and open a new one.
    Restart,
    /// `/quit` (or `/exit`): end the chat.
    Quit,
    /// `/help` (or `/?`).
    Help,
    /// An empty line: nothing to do.
    Nothing,
    /// A known command without its argument: how to use it.
    Usage(&'static str),
    /// An unknown `/command`.
    Unknown(String),
}

/// The commands, as `/help` and an unknown command list them.
pub const HELP: &str = "\
Type a line to say it. Commands:
  <number>          click that option of the latest message offering some
  /click <label>    click the quick reply or button with this label
  /say <text>       say text as it is (a number, or text starting with /)
  /expect <text>    the recorded wait for the last reply checks only this text
  /save <file.yml>  append this session so far to a test-script as a new scenario
  /restart          end this session and open a new one
  /quit             end the chat (also Ctrl-D, or Ctrl-C twice)
  /help             this list";

/// The names of the commands, for the message about an unknown one.
pub const NAMES: &str =
    "/help, /click <label>, /say <text>, /expect <text>, /save <file.yml>, /restart, /quit";

/// Most digits an option number may have: longer numbers are text, not options.
const MAX_OPTION_DIGITS: usize = 4;

/// Understands one typed line.
pub fn parse(line: &str) -> Command {
    let line = line.trim();
    if line.is_empty() {
        return Command::Nothing;
    }
    if line.len() <= MAX_OPTION_DIGITS && line.bytes().all(|b| b.is_ascii_digit()) {
        // Fits: at most four digits.
        return Command::Choose(line.parse().unwrap_or(0));
    }
    if let Some(text) = line.strip_prefix("//") {
        return Command::Say(format!("/{text}"));
    }
    let Some(command) = line.strip_prefix('/') else {
        return Command::Say(line.to_string());
    };
    let (word, rest) = match command.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, rest.trim()),
        None => (command, ""),
    };
    let needs = |usage: &'static str, make: fn(String) -> Command| {
        if rest.is_empty() {
            Command::Usage(usage)
        } else {
            make(rest.to_string())
        }
    };
    match word.to_ascii_lowercase().as_str() {
        "help" | "?" => Command::Help,
        "quit" | "exit" => Command::Quit,
        "restart" => Command::Restart,
        "click" => needs(
            "/click <label>: the label of a quick reply or button",
            Command::Click,
        ),
        "say" => needs("/say <text>: the text to say", Command::Say),
        "expect" => needs(
            "/expect <text>: a part of the last reply that the recorded wait checks",
            Command::Expect,
        ),
        "save" => needs(
            "/save <file.yml>: the test-script to append to",
            Command::Save,
        ),
        _ => Command::Unknown(format!("/{word}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn understands_lines() {
        assert_eq!(parse("  hi there "), Command::Say("hi there".into()));
        assert_eq!(parse("2"), Command::Choose(2));
        assert_eq!(parse("0"), Command::Choose(0));
        assert_eq!(parse("123456"), Command::Say("123456".into()));
        assert_eq!(parse("//etc"), Command::Say("/etc".into()));
        assert_eq!(parse("/say 42"), Command::Say("42".into()));
        assert_eq!(
            parse("/click Order Funghi"),
            Command::Click("Order Funghi".into())
        );
        assert_eq!(
            parse("/CLICK"),
            Command::Usage("/click <label>: the label of a quick reply or button")
        );
        assert_eq!(
            parse("/expect  coming up "),
            Command::Expect("coming up".into())
        );
        assert_eq!(parse("/save a.yml"), Command::Save("a.yml".into()));
        assert_eq!(parse("/restart"), Command::Restart);
        assert_eq!(parse("/exit"), Command::Quit);
        assert_eq!(parse("/?"), Command::Help);
        assert_eq!(
            parse("/frobnicate now"),
            Command::Unknown("/frobnicate".into())
        );
        assert_eq!(parse("   "), Command::Nothing);
    }
}
