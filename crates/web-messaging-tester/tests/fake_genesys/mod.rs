//! A fake Genesys Cloud login and Platform API on a real local HTTP server (wiremock): the
//! paths `--associate-id` calls and the answers Genesys documents for them.

#![allow(dead_code, reason = "each test file uses its own part of the helpers")]

use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{MockBuilder, ResponseTemplate};

/// The message the association's preflight asks about (it never exists).
pub const PREFLIGHT: &str = "/api/v2/conversations/messages/wm-tester-preflight-check/details";
/// A message's details, by its ID.
pub const DETAILS: &str = r"^/api/v2/conversations/messages/[0-9a-f-]{32,36}/details$";

/// `POST /oauth/token`, to add matchers to and answer.
pub fn login() -> MockBuilder {
    wiremock::Mock::given(method("POST")).and(path("/oauth/token"))
}

/// `GET` of the preflight's message.
pub fn preflight() -> MockBuilder {
    wiremock::Mock::given(method("GET")).and(path(PREFLIGHT))
}

/// `GET` of any message's details.
pub fn details() -> MockBuilder {
    wiremock::Mock::given(method("GET")).and(path_regex(DETAILS))
}

/// A login granting `token` for `expires_in` seconds.
pub fn token(token: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": token, "token_type": "bearer", "expires_in": expires_in
    }))
}

/// A Platform API error in Genesys' shape (status, code, message).
pub fn error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "status": status, "code": code, "message": message
    }))
}

/// The three variables `--associate-id` reads: the region (a fake server's URI) and the client.
pub fn associate_env<'a>(
    region: &'a str,
    client_id: &'a str,
    secret: &'a str,
) -> [(&'static str, &'a str); 3] {
    [
        ("GENESYS_REGION", region),
        ("GENESYSCLOUD_OAUTHCLIENT_ID", client_id),
        ("GENESYSCLOUD_OAUTHCLIENT_SECRET", secret),
    ]
}
