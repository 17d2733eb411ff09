//! The small requests: `echo`, `closeSession`, `getJwt`, `getConfiguration`.

use super::machine::{Machine, Out};
use crate::frames;
use crate::rest;
use crate::session::{Notice, SessionState, SharedSession};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use uuid::Uuid;

impl Machine {
    /// `echo`: the heartbeat, answered with an Inbound text (and the session's lifetime).
    pub(super) fn echo_request(
        &self,
        request: &Map<String, Value>,
        tracing: Option<&str>,
    ) -> Vec<Out> {
        let text = request
            .get("message")
            .and_then(|m| m.get("text"))
            .and_then(Value::as_str)
            .unwrap_or("ping");
        let mut body = json!({
            "id": Uuid::new_v4().to_string(),
            "type": "Text",
            "direction": "Inbound",
            "text": text,
        });
        let metadata = self.expiry_metadata();
        if !metadata.is_empty() {
            body["metadata"] = Value::Object(metadata);
        }
        vec![Out::Frame(frames::response(
            "StructuredMessage",
            200,
            &body,
            tracing,
        ))]
    }

    /// `closeSession`: the conversation becomes read-only; with `closeAllConnections`, every
    /// other socket of the session is closed.
    pub(super) fn close_session(
        &self,
        state: &mut SessionState,
        request: &Map<String, Value>,
        tracing: Option<&str>,
    ) -> Vec<Out> {
        state.read_only = true;
        let close_all = request
            .get("closeAllConnections")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if close_all {
            for (id, socket) in &state.sockets {
                if *id != self.id {
                    let _ = socket.send(Notice::ConnectionClosed);
                }
            }
        }
        // The mobile SDK's fixture of this reply.
        let body = json!({
            "connected": false,
            "newSession": true,
            "readOnly": true,
            "maxCustomDataBytes": self.flow().limits.max_custom_attributes_bytes,
            "clearedExistingSession": false,
        });
        vec![Out::Frame(frames::response(
            "SessionResponse",
            200,
            &body,
            tracing,
        ))]
    }

    /// `getJwt`: a guest JWT for the REST API, valid for this session.
    pub(super) fn get_jwt(&self, session: &SharedSession, tracing: Option<&str>) -> Vec<Out> {
        let now_s = jiff::Timestamp::now().as_second();
        let exp = now_s.saturating_add(rest::JWT_LIFETIME_SECONDS);
        let deployment = self.deployment_id.as_deref().unwrap_or_default();
        let jwt = rest::make_jwt(exp, now_s, deployment);
        self.shared
            .jwts
            .insert(jwt.clone(), Arc::downgrade(session), exp);
        vec![Out::Frame(frames::jwt_response(&jwt, exp, tracing))]
    }

    /// `getConfiguration`: the deployment's media settings and session lifetime.
    pub(super) fn get_configuration(&self, tracing: Option<&str>) -> Vec<Out> {
        let mut body = self.media_fields();
        body.insert("messageRoutingEnabled".into(), true.into());
        if let Some(ttl) = self.flow().session.ttl {
            body.insert("sessionDurationSeconds".into(), ttl.as_secs().into());
        }
        vec![Out::Frame(frames::response(
            "GetConfigurationResponse",
            200,
            &Value::Object(body),
            tracing,
        ))]
    }

    /// `maxCustomDataBytes`, `allowedMedia` (with file uploads) and `blockedExtensions`, as
    /// `SessionResponse` and `GetConfigurationResponse` carry them.
    pub(super) fn media_fields(&self) -> Map<String, Value> {
        let flow = self.flow();
        let messenger = &flow.messenger;
        let mut body = Map::new();
        body.insert(
            "maxCustomDataBytes".into(),
            flow.limits.max_custom_attributes_bytes.into(),
        );
        if !messenger.upload_modes.is_empty() {
            let mut types: Vec<&str> = Vec::new();
            for mode in &messenger.upload_modes {
                for kind in &mode.file_types {
                    if !types.contains(&kind.as_str()) {
                        types.push(kind);
                    }
                }
            }
            let file_types: Vec<Value> = types.iter().map(|t| json!({"type": t})).collect();
            body.insert(
                "allowedMedia".into(),
                json!({"inbound": {"fileTypes": file_types, "maxFileSizeKB": messenger.max_kb()}}),
            );
        }
        body.insert(
            "blockedExtensions".into(),
            messenger.blocked_extensions.clone().into(),
        );
        body
    }
}
