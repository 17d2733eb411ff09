//! SIGINT (Ctrl-C) and SIGTERM: the first one stops the run gracefully (unfinished scenarios
//! are marked interrupted, every report is still printed and written, exit code 130); a second
//! one exits at once with 130.

use std::fmt;
use std::sync::Arc;
use tokio::sync::watch;

/// Exit code of an interrupted run (128 + SIGINT, as shells report it).
pub const EXIT_CODE: u8 = 130;

/// The signal that stopped the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Int,
    /// SIGTERM.
    Term,
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Int => "SIGINT",
            Signal::Term => "SIGTERM",
        })
    }
}

/// Whether (and by which signal) the run was asked to stop. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Interrupt(Arc<watch::Sender<Option<Signal>>>);

impl Interrupt {
    /// Starts listening for SIGINT and SIGTERM (Ctrl-C elsewhere than unix). From now on the
    /// first signal no longer kills the process: it fires this; a second one exits with 130.
    pub fn listen() -> Interrupt {
        let sender = Arc::new(watch::channel(None).0);
        let interrupt = Interrupt(Arc::clone(&sender));
        let mut signals = Signals::install();
        tokio::spawn(async move {
            let Some(first) = signals.next().await else {
                return;
            };
            eprintln!(
                "\nInterrupted ({first}): stopping; the results so far will be reported. Press Ctrl-C again to quit at once."
            );
            sender.send_replace(Some(first));
            if signals.next().await.is_some() {
                eprintln!("Interrupted again: quitting without reports");
                std::process::exit(i32::from(EXIT_CODE));
            }
        });
        interrupt
    }

    /// The signal received, if any.
    pub fn signal(&self) -> Option<Signal> {
        *self.0.borrow()
    }

    /// Waits for the signal (at once if it already came).
    pub async fn wait(&self) -> Signal {
        let mut receiver = self.0.subscribe();
        loop {
            if let Some(signal) = *receiver.borrow_and_update() {
                return signal;
            }
            // The sender lives in `self`: the channel cannot close while this waits.
            if receiver.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

#[cfg(unix)]
struct Signals {
    int: Option<tokio::signal::unix::Signal>,
    term: Option<tokio::signal::unix::Signal>,
}

#[cfg(unix)]
impl Signals {
    fn install() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        Signals {
            int: signal(SignalKind::interrupt()).ok(),
            term: signal(SignalKind::terminate()).ok(),
        }
    }

    async fn next(&mut self) -> Option<Signal> {
        async fn recv(s: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
            match s {
                Some(s) => s.recv().await,
                None => std::future::pending().await,
            }
        }
        if self.int.is_none() && self.term.is_none() {
            return None;
        }
        tokio::select! {
            Some(()) = recv(&mut self.int) => Some(Signal::Int),
            Some(()) = recv(&mut self.term) => Some(Signal::Term),
            else => None,
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn install() -> Signals {
        Signals
    }

    async fn next(&mut self) -> Option<Signal> {
        tokio::signal::ctrl_c().await.ok().map(|()| Signal::Int)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wait_returns_the_signal_once_sent() {
        let sender = Arc::new(watch::channel(None).0);
        let interrupt = Interrupt(Arc::clone(&sender));
        assert_eq!(interrupt.signal(), None);
        let waiter = tokio::spawn({
            let interrupt = interrupt.clone();
            async move { interrupt.wait().await }
        });
        sender.send_replace(Some(Signal::Term));
        assert_eq!(waiter.await.unwrap(), Signal::Term);
        assert_eq!(interrupt.wait().await, Signal::Term);
        assert_eq!(Signal::Int.to_string(), "SIGINT");
    }
}
