//! `configureSession` and `configureAuthenticatedSession`: the checks Genesys makes before a
//! session is configured (token, deployment, messenger, authentication), then the session
//! found or made and the `SessionResponse`.

use super::machine::{Attached, Machine, Out};
use super::outgoing::{bad_request, session_expired, string_error};
use super::schedule::Action;
use crate::frames;
use crate::session::{Lookup, lock};
use crate::shared::far_future;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

impl Machine {
    /// `configureSession` / `configureAuthenticatedSession`: the checks Genesys makes before
    /// a session is configured.
    pub(super) fn configure_request(
        &mut self,
        request: &Map<String, Value>,
        authenticated: bool,
        tracing: Option<&str>,
        now: Instant,
    ) -> Vec<Out> {
        if !self.flow().session.respond {
            self.silent = true;
            self.configured = true;
            return Vec::new();
        }
        let (Some(token), Some(deployment)) = (
            request.get("token").and_then(Value::as_str),
            request.get("deploymentId").and_then(Value::as_str),
        ) else {
            return vec![bad_request(tracing)];
        };
        // Genesys: "the token cannot exceed 2048 characters". What the real service answers
        // is not documented: a 400 string error, as for other malformed requests. The token is
        // never stored, and the socket stays unconfigured.
        let max = self.shared.limits.max_token_chars;
        if token.is_empty() || token.chars().take(max.saturating_add(1)).count() > max {
            return vec![string_error(
                400,
                &format!("token must be 1 to {max} characters"),
                tracing,
            )];
        }
        // The answer to a mismatch is inferred (Genesys documents none for the socket).
        if let Some(expected) = &self.deployment_id
            && expected != deployment
        {
            return vec![string_error(
                400,
                "Deployment Id in the request does not match the deployment Id of the connection",
                tracing,
            )];
        }
        let messenger = &self.shared.flow.messenger;
        if !messenger.enabled || !messenger.active {
            return vec![string_error(
                403,
                "Messenger is not enabled or the deployment is not active",
                tracing,
            )];
        }
        if authenticated {
            let auth = &self.shared.flow.auth;
            let code = request
                .get("data")
                .and_then(|d| d.get("code"))
                .and_then(Value::as_str);
            let valid =
                auth.enabled && code.is_some_and(|c| auth.valid_codes.iter().any(|v| v == c));
            if !valid {
                return vec![string_error(401, "User is unauthorized", tracing)];
            }
        }
        let start_new = request
            .get("startNew")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        self.configured = true;
        let after = self.flow().session.respond_after;
        let token = token.to_string();
        let tracing_id = tracing.map(str::to_string);
        if after > Duration::ZERO {
            self.schedule.push(
                now.checked_add(after).unwrap_or_else(far_future),
                Action::Configure {
                    token,
                    start_new,
                    tracing_id,
                },
            );
            return Vec::new();
        }
        self.configure_now(token, start_new, tracing, now)
    }

    /// Configures the socket: the session of `token` found (resumed, or restarted with
    /// `start_new`) or made, and the `SessionResponse`.
    pub(super) fn configure_now(
        &mut self,
        token: String,
        start_new: bool,
        tracing: Option<&str>,
        now: Instant,
    ) -> Vec<Out> {
        let shared = Arc::clone(&self.shared);
        let flow = &shared.flow;
        let (session, existed) = match shared.sessions.get_or_create(&token, flow.start, now) {
            Lookup::New(session) => (session, false),
            Lookup::Existing(session) => (session, true),
            Lookup::Expired => return vec![session_expired(tracing)],
        };
        let mut state = lock(&session);
        if existed && self.has_expired(&mut state, now) {
            return vec![session_expired(tracing)];
        }
        let new_session = !existed || start_new;
        if existed && start_new {
            state.restart(flow.start);
        }
        state.last_activity = now;
        let same = self
            .session
            .as_ref()
            .is_some_and(|a| Arc::ptr_eq(&a.session, &session));
        if !same {
            drop(state);
            self.detach();
            state = lock(&session);
            state.sockets.push((self.id, self.notices_tx.clone()));
            self.session = Some(Attached {
                session: Arc::clone(&session),
                token,
            });
        }
        self.expiry_notified = false;
        // The fields of the rich capture. No welcome here: Genesys runs no
        // inbound flow before the guest's first message, or its Presence Join with auto-start.
        let mut body = Map::new();
        body.insert("connected".into(), true.into());
        body.insert("newSession".into(), new_session.into());
        body.insert("readOnly".into(), (!new_session && state.read_only).into());
        drop(state);
        body.extend(self.media_fields());
        body.insert("clearedExistingSession".into(), false.into());
        if let Some((duration, expiration)) = self.expiry() {
            body.insert("durationSeconds".into(), duration.into());
            body.insert("expirationDate".into(), expiration.into());
        }
        vec![Out::Frame(frames::response(
            "SessionResponse",
            200,
            &Value::Object(body),
            tracing,
        ))]
    }
}
