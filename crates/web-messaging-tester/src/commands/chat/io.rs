//! Where lines come from and where the conversation goes.
//!
//! On a terminal, rustyline reads each line (editing, history, Ctrl-C clears the line) on a
//! thread of its own, and everything shown goes through its external printer, also on a
//! thread of its own: a bot message arriving while the guest types is printed above the
//! prompt, which is drawn again with what was typed so far. Without a terminal, lines are
//! read from stdin (each at most [`MAX_LINE_BYTES`]) and the transcript is written plainly to
//! stdout.
//!
//! Lines are read one at a time, when asked for: what the chat asks next (a line to say, a
//! scenario's name) decides the prompt.

use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Config, Editor, ExternalPrinter};
use std::io::{BufRead, Read, Write};
use std::time::Duration;
use tokio::sync::mpsc;

/// The longest line read from stdin; a longer one is skipped with a message.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Lines kept in the history (Up/Down) on a terminal.
const HISTORY_LINES: usize = 1000;

/// Lines waiting to be printed at most (a slow terminal slows the chat rather than growing).
const PRINT_QUEUE: usize = 256;

/// Most time the end of the chat waits for what is still being printed.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// What reading a line gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A line (without its line break).
    Line(String),
    /// The input ended (Ctrl-D, or the end of stdin).
    Eof,
    /// Ctrl-C at the prompt (the line was cleared).
    Interrupted,
    /// A line longer than [`MAX_LINE_BYTES`] (this many bytes): skipped.
    TooLong(usize),
}

struct Request {
    prompt: String,
    history: bool,
}

/// Reads lines, one per request, on a thread of its own.
pub struct Reader {
    requests: std::sync::mpsc::Sender<Request>,
    responses: mpsc::Receiver<Input>,
    pending: bool,
}

impl Reader {
    /// Asks for the next line, shown with `prompt` on a terminal (`history`: whether it goes
    /// into the history). Nothing happens when a line is already asked for.
    pub fn request(&mut self, prompt: &str, history: bool) {
        if self.pending {
            return;
        }
        let asked = self.requests.send(Request {
            prompt: prompt.to_string(),
            history,
        });
        self.pending = asked.is_ok();
    }

    /// The line asked for ([`Input::Eof`] when the reading thread is gone). Cancel-safe: a
    /// line not yet received is still received by the next call.
    pub async fn next(&mut self) -> Input {
        if !self.pending {
            return Input::Eof;
        }
        let input = self.responses.recv().await.unwrap_or(Input::Eof);
        self.pending = false;
        input
    }

    /// Asks for a line and waits for it.
    pub async fn read(&mut self, prompt: &str, history: bool) -> Input {
        self.request(prompt, history);
        self.next().await
    }
}

enum Printed {
    Line(String),
    Flush(std::sync::mpsc::Sender<()>),
}

/// Where the conversation is shown. Clones share one ordered output.
#[derive(Clone)]
pub struct Out {
    sink: Sink,
}

#[derive(Clone)]
enum Sink {
    Printer(mpsc::Sender<Printed>),
    Stdout,
}

impl Out {
    /// Shows one line (or several, separated by line breaks).
    pub async fn line(&self, text: impl Into<String>) {
        let text = text.into();
        match &self.sink {
            Sink::Printer(sender) => {
                let _ = sender.send(Printed::Line(text)).await;
            }
            Sink::Stdout => {
                let mut stdout = std::io::stdout().lock();
                let _ = writeln!(stdout, "{text}");
                let _ = stdout.flush();
            }
        }
    }

    /// Shows several lines, in order.
    pub async fn lines(&self, lines: Vec<String>) {
        for line in lines {
            self.line(line).await;
        }
    }

    /// Waits (a bounded time) until everything sent so far is on the screen.
    pub async fn flush(&self) {
        if let Sink::Printer(sender) = &self.sink {
            let (done, printed) = std::sync::mpsc::channel();
            if sender.send(Printed::Flush(done)).await.is_ok() {
                let _ =
                    tokio::task::spawn_blocking(move || printed.recv_timeout(FLUSH_TIMEOUT)).await;
            }
        }
    }
}

/// The terminal: rustyline reading, its external printer showing. Fails when rustyline
/// cannot drive this terminal.
pub fn terminal() -> Result<(Reader, Out), String> {
    let config = Config::builder()
        .max_history_size(HISTORY_LINES)
        .map_err(|e| e.to_string())?
        .auto_add_history(false)
        .build();
    let mut editor: Editor<(), DefaultHistory> =
        Editor::with_config(config).map_err(|e| format!("cannot use the terminal: {e}"))?;
    let mut printer = editor
        .create_external_printer()
        .map_err(|e| format!("cannot print to the terminal: {e}"))?;
    let (print, mut to_print) = mpsc::channel::<Printed>(PRINT_QUEUE);
    std::thread::Builder::new()
        .name("chat-printer".into())
        .spawn(move || {
            while let Some(item) = to_print.blocking_recv() {
                match item {
                    Printed::Line(text) => {
                        let _ = printer.print(format!("{text}\n"));
                    }
                    Printed::Flush(done) => {
                        let _ = done.send(());
                    }
                }
            }
        })
        .map_err(|e| format!("cannot start the printer: {e}"))?;
    let (requests, asked) = std::sync::mpsc::channel::<Request>();
    let (respond, responses) = mpsc::channel(1);
    std::thread::Builder::new()
        .name("chat-reader".into())
        .spawn(move || {
            while let Ok(request) = asked.recv() {
                let input = match editor.readline(&request.prompt) {
                    Ok(line) => {
                        if request.history && !line.trim().is_empty() {
                            let _ = editor.add_history_entry(line.as_str());
                        }
                        Input::Line(line)
                    }
                    Err(ReadlineError::Interrupted) => Input::Interrupted,
                    Err(_) => Input::Eof,
                };
                if respond.blocking_send(input).is_err() {
                    break;
                }
            }
        })
        .map_err(|e| format!("cannot start the reader: {e}"))?;
    let reader = Reader {
        requests,
        responses,
        pending: false,
    };
    Ok((
        reader,
        Out {
            sink: Sink::Printer(print),
        },
    ))
}

/// Stdin and stdout, plainly.
pub fn plain() -> (Reader, Out) {
    let (requests, asked) = std::sync::mpsc::channel::<Request>();
    let (respond, responses) = mpsc::channel(1);
    let spawned = std::thread::Builder::new()
        .name("chat-stdin".into())
        .spawn(move || {
            let stdin = std::io::stdin();
            let mut stdin = stdin.lock();
            while asked.recv().is_ok() {
                let input = match read_line(&mut stdin, MAX_LINE_BYTES) {
                    Ok(input) => input,
                    Err(_) => Input::Eof,
                };
                let end = input == Input::Eof;
                if respond.blocking_send(input).is_err() || end {
                    break;
                }
            }
        });
    // Without the thread every read says the input ended.
    drop(spawned);
    (
        Reader {
            requests,
            responses,
            pending: false,
        },
        Out { sink: Sink::Stdout },
    )
}

/// Reads one line of at most `max` bytes (a longer one is read to its end and reported as
/// [`Input::TooLong`]); a line break (`\n` or `\r\n`) is removed.
pub fn read_line(reader: &mut impl BufRead, max: usize) -> std::io::Result<Input> {
    let mut buffer = Vec::new();
    let read = Read::take(&mut *reader, max as u64 + 1).read_until(b'\n', &mut buffer)?;
    if read == 0 {
        return Ok(Input::Eof);
    }
    if buffer.last() == Some(&b'\n') {
        buffer.pop();
        if buffer.last() == Some(&b'\r') {
            buffer.pop();
        }
    } else if buffer.len() > max {
        let mut skipped = buffer.len();
        loop {
            buffer.clear();
            let more = Read::take(&mut *reader, max as u64).read_until(b'\n', &mut buffer)?;
            skipped += more;
            if more == 0 || buffer.last() == Some(&b'\n') {
                break;
            }
        }
        return Ok(Input::TooLong(skipped));
    }
    Ok(Input::Line(String::from_utf8_lossy(&buffer).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bounded_lines() {
        let mut input = std::io::Cursor::new(b"hi\r\nabcdefghij\nlast".to_vec());
        assert_eq!(read_line(&mut input, 5).unwrap(), Input::Line("hi".into()));
        assert_eq!(read_line(&mut input, 5).unwrap(), Input::TooLong(11));
        assert_eq!(
            read_line(&mut input, 5).unwrap(),
            Input::Line("last".into())
        );
        assert_eq!(read_line(&mut input, 5).unwrap(), Input::Eof);
    }
}
