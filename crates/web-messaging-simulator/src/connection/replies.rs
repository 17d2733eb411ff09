//! What the bot does and when: a matched rule's replies and actions put on the schedule, and
//! every action run once it falls due (with `faults.latencyMs` holding frames back).

use super::machine::{Machine, Out};
use super::outgoing::{Outgoing, render, string_error};
use super::schedule::Action;
use crate::flow::{Captures, Reply, Rule};
use crate::session::lock;
use crate::shared::far_future;
use genesys_web_messaging::protocol::{EventKind, MessageEvent};
use std::sync::Arc;
use tokio::time::Instant;
use uuid::Uuid;

impl Machine {
    /// Queues the flow's welcome messages from `at`; returns when the last is due.
    pub(super) fn schedule_welcome(&mut self, at: Instant, captures: &Captures) -> Instant {
        let shared = Arc::clone(&self.shared);
        let correlation_id = Uuid::new_v4().to_string();
        self.schedule_replies(
            &shared.flow.session.welcome,
            at,
            &correlation_id,
            false,
            captures,
        )
    }

    /// Queues a matched rule's actions, timed from `start`; returns when its last reply is due.
    pub(super) fn schedule_rule(
        &mut self,
        rule: &Rule,
        start: Instant,
        correlation_id: &str,
        captures: &Captures,
    ) -> Instant {
        let at = self.schedule_replies(
            &rule.replies,
            start,
            correlation_id,
            rule.out_of_order,
            captures,
        );
        if rule.disconnect {
            self.schedule.push(
                at,
                Action::Disconnect {
                    correlation_id: correlation_id.to_string(),
                },
            );
        }
        if let Some(error) = &rule.error {
            self.schedule.push(
                at,
                Action::Error {
                    code: error.code,
                    body: error.body.clone(),
                },
            );
        }
        for raw in &rule.raw {
            self.schedule.push(at, Action::Raw(raw.clone()));
        }
        if rule.close_socket {
            self.schedule.push(at, Action::Close);
        }
        if rule.drop_socket {
            self.schedule.push(at, Action::Drop);
        }
        at
    }

    /// Queues replies one after the other from `start`; returns when the last is due.
    /// `reverse_all`: they are written latest first, all at once after the total delay.
    /// Otherwise `faults.outOfOrder` may swap adjacent pairs.
    pub(super) fn schedule_replies(
        &mut self,
        replies: &[Reply],
        start: Instant,
        correlation_id: &str,
        reverse_all: bool,
        captures: &Captures,
    ) -> Instant {
        let swap = self.flow().faults.out_of_order;
        let mut at = start;
        // `reverse_all`: every message, written at the end.
        let mut all = Vec::new();
        // A message waiting to go out after the next one (a swapped pair).
        let mut held: Option<Outgoing> = None;
        for (index, reply) in replies.iter().enumerate() {
            let delay = self.dice.jittered(reply.delay, reply.jitter);
            if reply.typing {
                let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
                self.schedule.push(
                    at,
                    Action::Typing {
                        duration_ms: (ms > 0).then_some(ms),
                        correlation_id: correlation_id.to_string(),
                    },
                );
            }
            at = at.checked_add(delay).unwrap_or_else(far_future);
            let item = render(reply, captures, correlation_id);
            if reverse_all {
                all.push(item);
            } else if let Some(first) = held.take() {
                self.schedule.push(
                    at,
                    Action::Messages {
                        items: vec![first, item],
                        reversed: true,
                    },
                );
            } else if index + 1 < replies.len() && self.dice.fault(swap) {
                held = Some(item);
            } else {
                self.schedule.push(
                    at,
                    Action::Messages {
                        items: vec![item],
                        reversed: false,
                    },
                );
            }
        }
        if !all.is_empty() {
            self.schedule.push(
                at,
                Action::Messages {
                    items: all,
                    reversed: true,
                },
            );
        }
        at
    }

    /// Runs every action due at `now`, in order.
    pub(crate) fn run_due(&mut self, now: Instant) -> Vec<Out> {
        let mut out = Vec::new();
        while let Some(action) = self.schedule.pop_due(now) {
            if self.run_action(action, &mut out, now) {
                self.schedule.clear();
                break;
            }
        }
        out
    }

    /// Runs one action that fell due; true when it ended the connection.
    pub(super) fn run_action(&mut self, action: Action, out: &mut Vec<Out>, now: Instant) -> bool {
        match action {
            Action::Configure {
                token,
                start_new,
                tracing_id,
            } => out.extend(self.configure_now(token, start_new, tracing_id.as_deref(), now)),
            Action::Messages { items, reversed } => {
                let mut frames: Vec<Out> = items
                    .into_iter()
                    .map(|item| self.bot_message(item))
                    .collect();
                if reversed {
                    frames.reverse();
                }
                self.emit(out, frames, true, now);
            }
            Action::Typing {
                duration_ms,
                correlation_id,
            } => {
                let event = MessageEvent {
                    event_type: "Typing".into(),
                    presence: None,
                    typing: Some(EventKind {
                        kind: "On".into(),
                        duration: duration_ms,
                    }),
                };
                let frame = self.event_message(event, &correlation_id, false);
                self.emit(out, vec![frame], false, now);
            }
            Action::Disconnect { correlation_id } => {
                let frame = self.disconnect(&correlation_id);
                self.emit(out, vec![frame], false, now);
            }
            Action::Error { code, body } => {
                let frame = string_error(code, &body, None);
                self.emit(out, vec![frame], false, now);
            }
            Action::Raw(text) => self.emit(out, vec![Out::Frame(text)], false, now),
            Action::Close => {
                return self.end(Out::Close("The bot closed the connection"), out, now);
            }
            Action::Drop => return self.end(Out::Drop, out, now),
            Action::Deliver {
                out: item,
                bot_message,
            } => {
                if bot_message {
                    self.last_bot_message = Some(now);
                }
                let ends = !matches!(item, Out::Frame(_));
                out.push(item);
                return ends;
            }
        }
        false
    }

    /// The bot's Presence Disconnect; `conversationDisconnect.type: Send` leaves the
    /// conversation writable.
    pub(super) fn disconnect(&mut self, correlation_id: &str) -> Out {
        let read_only = self.flow().messenger.disconnect_read_only;
        if read_only && let Some(attached) = &self.session {
            lock(&attached.session).read_only = true;
        }
        let event = MessageEvent {
            event_type: "Presence".into(),
            presence: Some(EventKind {
                kind: "Disconnect".into(),
                duration: None,
            }),
            typing: None,
        };
        self.event_message(event, correlation_id, read_only)
    }

    /// The bot closes or drops the socket: now, or (with `faults.latencyMs`) after every frame
    /// still held back, with nothing else running any more. True when it ends now.
    pub(super) fn end(&mut self, end: Out, out: &mut Vec<Out>, now: Instant) -> bool {
        if self.flow().faults.latency.is_none() {
            out.push(end);
            return true;
        }
        let at = self.last_delivery.map_or(now, |t| t.max(now));
        self.schedule
            .retain(|action| matches!(action, Action::Deliver { .. }));
        self.schedule.push(
            at,
            Action::Deliver {
                out: end,
                bot_message: false,
            },
        );
        false
    }

    /// Writes frames now, or (with `faults.latencyMs`) holds each back by a random delay,
    /// keeping their order.
    pub(super) fn emit(
        &mut self,
        out: &mut Vec<Out>,
        frames: Vec<Out>,
        bot_message: bool,
        now: Instant,
    ) {
        let Some((min, max)) = self.flow().faults.latency else {
            if bot_message && !frames.is_empty() {
                self.last_bot_message = Some(now);
            }
            out.extend(frames);
            return;
        };
        for frame in frames {
            let latency = self.dice.latency(min, max);
            let at = now
                .checked_add(latency)
                .unwrap_or_else(far_future)
                .max(self.last_delivery.unwrap_or(now));
            self.last_delivery = Some(at);
            self.schedule.push(
                at,
                Action::Deliver {
                    out: frame,
                    bot_message,
                },
            );
        }
    }
}
