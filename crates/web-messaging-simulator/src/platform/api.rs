//! The HTTP side of the simulated Platform API.

use super::{conversation_id, entity_id, session_of};
use crate::conversation::platform::{EndedBy, Event, Ids};
use crate::frames;
use crate::query::query_value;
use crate::session::{Notice, SharedSession, lock};
use crate::shared::{PlatformState, Shared};
use base64::Engine;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use std::sync::atomic::Ordering;
use tokio::time::Instant;

/// Tokens remembered (the oldest are forgotten, and then answer 401).
const MAX_TOKENS: usize = 4096;
/// The largest request body read (queries and PATCHes are small).
const MAX_BODY: usize = 64 * 1024;

type HttpResponse = Response<Full<Bytes>>;

/// Whether this request is the Platform API's (the guest history is not).
pub(crate) fn handles(segments: &[&str]) -> bool {
    matches!(
        segments,
        ["oauth", "token"]
            | ["api", "v2", "conversations", "messages", _, ..]
            | ["api", "v2", "analytics", "conversations", _, "details"]
            | ["api", "v2", "analytics", "flows", "aggregates", "query"]
            | ["api", "v2", "routing", "queues", ..]
            | ["api", "v2", "flows", ..]
    )
}

fn json_response(status: StatusCode, body: &Value) -> HttpResponse {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// A Platform API error body (Genesys' Platform API documentation).
fn error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    json_response(
        status,
        &json!({"message": message, "code": code, "status": status.as_u16(),
                "contextId": uuid::Uuid::new_v4().to_string(), "details": [], "errors": []}),
    )
}

fn not_found() -> HttpResponse {
    error(
        StatusCode::NOT_FOUND,
        "not.found",
        "The requested operation failed with status 404",
    )
}

/// Serves one Platform API request.
// One flat route table (method + path → handler) reads best whole: splitting it would hide
// which paths the simulator answers.
#[allow(clippy::too_many_lines)]
pub(crate) async fn serve(request: Request<Incoming>, shared: &Shared) -> HttpResponse {
    let path = request.uri().path().to_string();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = request.method().clone();
    // Form and query encodings write spaces as `+`.
    let query = request
        .uri()
        .query()
        .unwrap_or_default()
        .replace('+', "%20");
    let authorization = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request.too.large",
                "The request body is too large",
            );
        }
    };
    if segments == ["oauth", "token"] {
        if method != Method::POST {
            return method_not_allowed();
        }
        return token(shared, authorization.as_deref(), &body);
    }
    let config = &shared.flow.platform;
    // Authentication first, as Genesys: no token, an unknown one, or an expired one is 401.
    let Some(bearer) = authorization.as_deref().and_then(bearer) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "authentication.required",
            "No authentication bearer token specified in authorization header.",
        );
    };
    if !shared
        .platform
        .use_token(&bearer, config.expire_tokens_after)
    {
        return error(
            StatusCode::UNAUTHORIZED,
            "bad.credentials",
            "Invalid login credentials.",
        );
    }
    let n = shared.platform.requests.fetch_add(1, Ordering::Relaxed) + 1;
    if let Some((every, retry_after)) = config.too_many_requests
        && n.is_multiple_of(every)
    {
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "too.many.requests.retry.after",
            &format!(
                "Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds"
            ),
        );
        if let Ok(value) = retry_after.to_string().parse() {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        return response;
    }
    let Some(permission) = permission(&method, &segments) else {
        return method_not_allowed();
    };
    if config.missing_permissions.contains(permission) {
        return error(
            StatusCode::FORBIDDEN,
            "missing.any.permissions",
            &format!("You are missing the following permission(s): {permission}"),
        );
    }
    let now = Instant::now();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["api", "v2", "conversations", "messages", id, "details"]) => {
            message_details(shared, id)
        }
        ("GET", ["api", "v2", "conversations", "messages", id]) => {
            with_conversation(shared, id, |state, ids| {
                json_response(
                    StatusCode::OK,
                    &state.record.platform.live(ids, config, now),
                )
            })
        }
        ("PATCH", ["api", "v2", "conversations", "messages", id]) => {
            disconnect(shared, id, &body, now)
        }
        ("GET", ["api", "v2", "analytics", "conversations", id, "details"]) => {
            with_conversation(shared, id, |state, ids| {
                match state.record.platform.analytics(ids, config, now) {
                    Some(details) => json_response(StatusCode::OK, &details),
                    None => not_found(),
                }
            })
        }
        ("POST", ["api", "v2", "analytics", "flows", "aggregates", "query"]) => {
            aggregates(shared, &body, now)
        }
        ("GET", ["api", "v2", "routing", "queues"]) => listing(&config.queues, "queue", &query),
        ("GET", ["api", "v2", "routing", "queues", id]) => one(&config.queues, "queue", id),
        ("GET", ["api", "v2", "flows", "outcomes"]) => listing(&config.outcomes, "outcome", &query),
        ("GET", ["api", "v2", "flows", "outcomes", id]) => one(&config.outcomes, "outcome", id),
        ("GET", ["api", "v2", "flows", "milestones"]) => {
            listing(&config.milestones, "milestone", &query)
        }
        ("GET", ["api", "v2", "flows", "milestones", id]) => {
            one(&config.milestones, "milestone", id)
        }
        ("GET", ["api", "v2", "flows"]) => flows(shared, &query, None),
        ("GET", ["api", "v2", "flows", id]) => flows(shared, &query, Some(id)),
        _ => method_not_allowed(),
    }
}

fn method_not_allowed() -> HttpResponse {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method.not.allowed",
        "The method is not allowed for this resource",
    )
}

/// The permission an endpoint needs (Genesys' Platform API documentation); `None`: no such endpoint.
fn permission(method: &Method, segments: &[&str]) -> Option<&'static str> {
    Some(match (method.as_str(), segments) {
        ("GET", ["api", "v2", "conversations", "messages", _, "details"]) => {
            "conversation:webmessaging:view"
        }
        ("GET", ["api", "v2", "conversations", "messages", _]) => "conversation:message:view",
        ("PATCH", ["api", "v2", "conversations", "messages", _]) => {
            "conversation:communication:disconnect"
        }
        ("GET", ["api", "v2", "analytics", "conversations", _, "details"]) => {
            "analytics:conversationDetail:view"
        }
        ("POST", ["api", "v2", "analytics", "flows", "aggregates", "query"]) => {
            "analytics:flowAggregate:view"
        }
        ("GET", ["api", "v2", "routing", "queues", ..]) => "routing:queue:view",
        ("GET", ["api", "v2", "flows", "outcomes", ..]) => "architect:flowOutcome:view",
        ("GET", ["api", "v2", "flows", "milestones", ..]) => "architect:flowMilestone:view",
        ("GET", ["api", "v2", "flows", ..]) => "architect:flow:view",
        _ => return None,
    })
}

fn bearer(header: &str) -> Option<String> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}

impl PlatformState {
    fn issue(&self) -> String {
        let token = format!("sim-{}", uuid::Uuid::new_v4().simple());
        let mut guard = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, order) = &mut *guard;
        while order.len() >= MAX_TOKENS {
            if let Some(old) = order.pop_front() {
                tokens.remove(&old);
            }
        }
        tokens.insert(token.clone(), 0);
        order.push_back(token.clone());
        token
    }

    /// Counts one use of `token`; `false` when it is unknown or used up.
    fn use_token(&self, token: &str, limit: Option<u64>) -> bool {
        let mut guard = self.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let Some(uses) = guard.0.get_mut(token) else {
            return false;
        };
        *uses += 1;
        limit.is_none_or(|limit| *uses <= limit)
    }
}

/// `POST /oauth/token` (client credentials): any client, unless the flow names one.
fn token(shared: &Shared, authorization: Option<&str>, body: &[u8]) -> HttpResponse {
    let form = String::from_utf8_lossy(body);
    let grant = query_value(&form.replace('+', "%20"), "grant_type");
    if grant.as_deref() != Some("client_credentials") {
        return json_response(
            StatusCode::BAD_REQUEST,
            &json!({"error": "unsupported_grant_type", "description": "grant_type must be client_credentials"}),
        );
    }
    let given = authorization.and_then(|h| {
        let (scheme, encoded) = h.trim().split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (id, secret) = text.split_once(':')?;
        Some((id.to_string(), secret.to_string()))
    });
    let Some((id, secret)) = given else {
        return json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"error": "invalid_client", "description": "client authentication is required"}),
        );
    };
    let config = &shared.flow.platform;
    if let Some((expected_id, expected_secret)) = &config.credentials
        && (id != *expected_id || secret != *expected_secret)
    {
        return json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"error": "invalid_client", "description": "client not found"}),
        );
    }
    json_response(
        StatusCode::OK,
        &json!({"access_token": shared.platform.issue(), "token_type": "bearer",
                "expires_in": config.token_lifetime}),
    )
}

/// The session of a simulated conversation id.
fn find_session(shared: &Shared, conversation: &str) -> Option<SharedSession> {
    let number = session_of(conversation)?;
    shared
        .sessions
        .all()
        .into_iter()
        .find(|s| lock(s).id == number)
}

fn with_conversation(
    shared: &Shared,
    id: &str,
    view: impl FnOnce(&mut crate::session::SessionState, &Ids<'_>) -> HttpResponse,
) -> HttpResponse {
    let Some(session) = find_session(shared, id) else {
        return not_found();
    };
    let mut state = lock(&session);
    notice_agent_disconnect(&mut state);
    let ids = Ids { conversation: id };
    view(&mut state, &ids)
}

/// The agent's `transfer.disconnect` ended the conversation (it turned read-only).
fn notice_agent_disconnect(state: &mut crate::session::SessionState) {
    let now = Instant::now();
    let agent_ends = state
        .record
        .handover
        .as_ref()
        .is_some_and(|h| h.transfer.disconnect);
    if agent_ends && state.read_only && !state.record.platform.ended(now) {
        state
            .record
            .platform
            .push(now, Event::Ended(EndedBy::Agent));
    }
}

/// `GET /api/v2/conversations/messages/{messageId}/details`: the message's conversation.
fn message_details(shared: &Shared, message_id: &str) -> HttpResponse {
    for session in shared.sessions.all() {
        let state = lock(&session);
        let found = state.history.iter().find_map(|body| {
            if !body.contains(message_id) {
                return None;
            }
            let value: Value = serde_json::from_str(body).ok()?;
            (value.get("id").and_then(Value::as_str) == Some(message_id)).then_some(value)
        });
        if let Some(message) = found {
            let direction = message
                .get("direction")
                .and_then(Value::as_str)
                .unwrap_or("Outbound")
                .to_lowercase();
            return json_response(
                StatusCode::OK,
                &json!({
                    "id": message_id,
                    "conversationId": conversation_id(state.id),
                    "direction": direction,
                    "messageStatus": if direction == "inbound" { "received" } else { "delivered" },
                    "messageTime": message.pointer("/channel/time").cloned().unwrap_or(Value::Null),
                    "textBody": message.get("text").cloned().unwrap_or(Value::Null),
                    "selfUri": format!("/api/v2/conversations/messages/{message_id}/details"),
                }),
            );
        }
    }
    not_found()
}

/// `PATCH /api/v2/conversations/messages/{id}` `{"state":"disconnected"}`.
fn disconnect(shared: &Shared, id: &str, body: &[u8], now: Instant) -> HttpResponse {
    let asked: Option<Value> = serde_json::from_slice(body).ok();
    let state_asked = asked
        .as_ref()
        .and_then(|v| v.get("state"))
        .and_then(Value::as_str);
    if state_asked.map(str::to_ascii_lowercase).as_deref() != Some("disconnected") {
        return error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "The body must be {\"state\":\"disconnected\"}",
        );
    }
    let Some(session) = find_session(shared, id) else {
        return not_found();
    };
    let mut state = lock(&session);
    notice_agent_disconnect(&mut state);
    if !state.record.platform.ended(now) {
        state.record.platform.push(now, Event::Ended(EndedBy::Api));
        // The guest sees the conversation end, as when an agent disconnects (§4).
        state.read_only = true;
        let body = json!({
            "direction": "Outbound",
            "id": uuid::Uuid::new_v4().to_string(),
            "channel": {"time": frames::timestamp_now(), "messageId": uuid::Uuid::new_v4().to_string()},
            "type": "Event",
            "metadata": {"readOnly": "true"},
            "events": [{"eventType": "Presence", "presence": {"type": "Disconnect"}}],
        });
        let frame = frames::message("StructuredMessage", &body, None);
        for (_, socket) in &state.sockets {
            let _ = socket.send(Notice::Frame(frame.clone()));
        }
    }
    let ids = Ids { conversation: id };
    json_response(
        StatusCode::ACCEPTED,
        &state.record.platform.live(&ids, &shared.flow.platform, now),
    )
}

/// `POST /api/v2/analytics/flows/aggregates/query` grouped by `flowMilestoneId` and
/// filtered on one `conversationId`.
fn aggregates(shared: &Shared, body: &[u8], now: Instant) -> HttpResponse {
    let Ok(query) = serde_json::from_slice::<Value>(body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "The body is not JSON",
        );
    };
    let Some(interval) = query.get("interval").and_then(Value::as_str) else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "interval is required",
        );
    };
    let conversation = query
        .pointer("/filter/predicates")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| p.get("dimension").and_then(Value::as_str) == Some("conversationId"))
        .and_then(|p| p.get("value"))
        .and_then(Value::as_str);
    let grouped = query
        .get("groupBy")
        .and_then(Value::as_array)
        .is_some_and(|g| g.iter().any(|d| d.as_str() == Some("flowMilestoneId")));
    let mut results = Vec::new();
    if let (Some(conversation), true) = (conversation, grouped)
        && let Some(session) = find_session(shared, conversation)
    {
        let counts = lock(&session)
            .record
            .platform
            .milestones(shared.flow.platform.aggregates_delay, now);
        for (name, count) in counts {
            results.push(json!({
                "group": {"flowMilestoneId": entity_id("milestone", &name)},
                "data": [{"interval": interval, "metrics": [
                    {"metric": "nFlowMilestone", "stats": {"count": count}}
                ]}],
            }));
        }
    }
    json_response(StatusCode::OK, &json!({"results": results}))
}

/// Whether `name` matches a Genesys `name=` filter: case-insensitive, with `*` allowed at
/// either end.
fn name_matches(filter: &str, name: &str) -> bool {
    let filter = filter.to_lowercase();
    let name = name.to_lowercase();
    match (filter.strip_prefix('*'), filter.strip_suffix('*')) {
        (Some(rest), _) if rest.ends_with('*') => name.contains(rest.trim_end_matches('*')),
        (Some(rest), _) => name.ends_with(rest),
        (None, Some(rest)) => name.starts_with(rest),
        (None, None) => name == filter,
    }
}

fn page(entities: Vec<Value>, query: &str) -> HttpResponse {
    let size = query_value(query, "pageSize")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(25)
        .clamp(1, 100);
    let number = query_value(query, "pageNumber")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let total = entities.len();
    let entities: Vec<Value> = entities
        .into_iter()
        .skip(size.saturating_mul(number - 1))
        .take(size)
        .collect();
    json_response(
        StatusCode::OK,
        &json!({"entities": entities, "pageSize": size, "pageNumber": number,
                "total": total, "pageCount": total.div_ceil(size)}),
    )
}

fn listing(names: &[String], kind: &str, query: &str) -> HttpResponse {
    let filter = query_value(query, "name");
    let entities = names
        .iter()
        .filter(|n| filter.as_deref().is_none_or(|f| name_matches(f, n)))
        .map(|n| json!({"id": entity_id(kind, n), "name": n}))
        .collect();
    page(entities, query)
}

fn one(names: &[String], kind: &str, id: &str) -> HttpResponse {
    match names.iter().find(|n| entity_id(kind, n) == id) {
        Some(name) => json_response(StatusCode::OK, &json!({"id": id, "name": name})),
        None => not_found(),
    }
}

fn flows(shared: &Shared, query: &str, id: Option<&str>) -> HttpResponse {
    let config = &shared.flow.platform;
    let kind = |name: &str| {
        if config.bot_flow.as_deref() == Some(name) {
            "BOT"
        } else if name == config.message_flow {
            "INBOUNDSHORTMESSAGE"
        } else {
            "BOT"
        }
    };
    let entity = |n: &String| json!({"id": entity_id("flow", n), "name": n, "type": kind(n)});
    if let Some(id) = id {
        return match config.flows.iter().find(|n| entity_id("flow", n) == id) {
            Some(name) => json_response(StatusCode::OK, &entity(name)),
            None => not_found(),
        };
    }
    let filter = query_value(query, "name");
    let entities = config
        .flows
        .iter()
        .filter(|n| filter.as_deref().is_none_or(|f| name_matches(f, n)))
        .map(entity)
        .collect();
    page(entities, query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_filters_are_case_insensitive_with_wildcards() {
        assert!(name_matches("billing", "Billing"));
        assert!(name_matches("Bill*", "Billing"));
        assert!(name_matches("*ing", "Billing"));
        assert!(name_matches("*ill*", "Billing"));
        assert!(!name_matches("Bill", "Billing"));
    }
}
